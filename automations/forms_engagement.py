"""Forms of the engagement pages: surveys (and a contact's comment), discount campaigns
and pool uploads. The services check the rules; these shape the input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from automations.models import DiscountCampaign, Survey
from automations.services.codes import PLACEHOLDER, RANDOM_MAX, RANDOM_MIN
from automations.services.surveys import COMMENT_MAX

POOL_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
POOL_TEXT_MAX_CHARS = 200_000


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ["name", "kind", "question", "thank_you", "active"]
        widgets = {
            "question": forms.TextInput(
                attrs={"placeholder": _("How likely are you to recommend us to a friend?")}
            ),
            "thank_you": forms.TextInput(attrs={"placeholder": _("Thank you for your answer!")}),
        }


class AnswerCommentForm(forms.Form):
    score = forms.IntegerField()
    comment = forms.CharField(
        label=_("Anything you want to tell us?"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class CampaignForm(forms.ModelForm):
    class Meta:
        model = DiscountCampaign
        fields = ["name", "kind", "pattern", "code_length", "value", "valid_days"]
        help_texts = {
            "pattern": _(
                "Pattern campaigns only: {code} becomes random letters and digits, e.g. "
                "WELCOME-{code} gives WELCOME-K7QX3M9P."
            ),
        }
        widgets = {"pattern": forms.TextInput(attrs={"placeholder": "WELCOME-{code}"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        length = self.fields["code_length"]
        length.validators += [MinValueValidator(RANDOM_MIN), MaxValueValidator(RANDOM_MAX)]
        length.widget.attrs.update({"min": RANDOM_MIN, "max": RANDOM_MAX})

    def clean_pattern(self) -> str:
        # "welcome-{CODE}" means the same as "WELCOME-{code}".
        pattern: str = self.cleaned_data.get("pattern", "").strip()
        placeholder_any_case = pattern.upper().replace(PLACEHOLDER.upper(), PLACEHOLDER)
        return placeholder_any_case if PLACEHOLDER in placeholder_any_case else pattern.upper()


class PoolUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File with codes"),
        required=False,
        help_text=_("A CSV (codes in the first column) or a text file, one code per line."),
    )
    text = forms.CharField(
        label=_("Or paste codes"),
        required=False,
        max_length=POOL_TEXT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "SPRING-7KQ2\nSPRING-M4XT"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is None and not (data.get("text") or "").strip():
            raise forms.ValidationError(_("Choose a file or paste codes."))
        if upload is not None:
            if upload.size > POOL_UPLOAD_MAX_BYTES:
                raise forms.ValidationError(
                    _("The file is larger than %(mb)s MB: split it into several uploads.")
                    % {"mb": POOL_UPLOAD_MAX_BYTES // (1024 * 1024)}
                )
            raw = upload.read()
            try:
                data["content"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(
                    _("The file is not UTF-8 text: save it as CSV (UTF-8) and upload it again.")
                ) from None
        else:
            data["content"] = data.get("text", "")
        return data

    def lines(self) -> list[str]:
        return str(self.cleaned_data["content"]).splitlines()
