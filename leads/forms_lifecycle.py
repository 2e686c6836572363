"""Forms of the lifecycle pages: an MQL/SQL definition with its criteria rows, the lifecycle
windows, a stage move by hand, recorded purchase intent."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from leads.models import LifecycleSettings, LifecycleStage, QualificationDefinition
from leads.services.lifecycle import REASON_MAX_LENGTH
from leads.services.qualification import CRITERIA, criterion_clean


def numeric(placeholder: Any = "", mode: str = "numeric") -> forms.TextInput:
    """A text box for numbers: styled like every other field, with the numeric keyboard."""
    attrs = {"inputmode": mode, **({"placeholder": placeholder} if placeholder else {})}
    return forms.TextInput(attrs=attrs)


# Which form field holds which stored parameter of a criterion.
AT_LEAST = {"product_views": "min_products", "time_on_page": "min_seconds", "score": "min_score"}
PARAM_FIELD = {
    "min_products": "at_least",
    "min_seconds": "at_least",
    "min_score": "at_least",
    "events": "events",
    "personas": "personas",
    "window_days": "window_days",
    "kind": "kind",
}


class DefinitionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Qualifies as"), choices=QualificationDefinition.Kind.choices, initial="mql"
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What this definition is for, in words sales and marketing both use."),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Only active definitions qualify contacts."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, fixed_kind: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if fixed_kind:
            self.fields["kind"].widget = forms.HiddenInput()


class CriterionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Criterion"),
        required=False,
        choices=[("", _("— choose —")), *((k.key, k.label) for k in CRITERIA.values())],
    )
    events = forms.CharField(
        label=_("Events"),
        required=False,
        max_length=4200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Content Downloaded, Product Added")}),
    )
    at_least = forms.IntegerField(
        label=_("At least"),
        required=False,
        widget=numeric(_("products / seconds / points")),
    )
    window_days = forms.IntegerField(
        label=_("Within days"),
        required=False,
        widget=numeric(_("any time")),
    )
    personas = forms.CharField(
        label=_("Personas"),
        required=False,
        max_length=4200,
        widget=forms.TextInput(attrs={"placeholder": _("any persona")}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if not kind or self.errors:
            return data
        raw: dict[str, Any] = {"kind": kind, "window_days": data.get("window_days")}
        if kind in AT_LEAST:
            raw[AT_LEAST[kind]] = data.get("at_least")
        raw["events"] = data.get("events") or ""
        raw["personas"] = data.get("personas") or ""
        try:
            data["criterion"] = criterion_clean(raw)
        except ValidationError as error:
            for param, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(PARAM_FIELD.get(param), message)
        return data

    @staticmethod
    def initial_from(criterion: dict[str, Any]) -> dict[str, Any]:
        kind = criterion.get("kind", "")
        return {
            "kind": kind,
            "events": ", ".join(criterion.get("events") or []),
            "personas": ", ".join(criterion.get("personas") or []),
            "at_least": criterion.get(AT_LEAST.get(kind, "")),
            "window_days": criterion.get("window_days"),
        }


class BaseCriterionFormSet(forms.BaseFormSet):
    def criteria(self) -> list[dict[str, Any]]:
        """The rows that hold a criterion and are not marked for removal, in order."""
        return [
            form.cleaned_data["criterion"]
            for form in self.forms
            if form.cleaned_data.get("criterion") and not self._should_delete_form(form)  # type: ignore[attr-defined]
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.criteria():
            raise ValidationError(_("Add at least one criterion: choose its kind in an empty row."))


CriterionFormSet = forms.formset_factory(
    CriterionForm, formset=BaseCriterionFormSet, extra=2, can_delete=True, max_num=20
)


class LifecycleSettingsForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = LifecycleSettings
        fields = [
            "vip_min_revenue",
            "at_risk_after_days",
            "churned_after_days",
            "mql_inactive_days",
            "sql_inactive_days",
        ]
        widgets = {
            "vip_min_revenue": numeric(mode="decimal"),
            "at_risk_after_days": numeric(),
            "churned_after_days": numeric(),
            "mql_inactive_days": numeric(),
            "sql_inactive_days": numeric(),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        at_risk, churned = data.get("at_risk_after_days"), data.get("churned_after_days")
        if at_risk and churned and churned <= at_risk:
            self.add_error(
                "churned_after_days",
                _("Churned must come after at risk: enter more than %(days)d days.")
                % {"days": at_risk},
            )
        return data


class StageMoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=LifecycleStage.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why you move this contact: others will read it.")},
    )


class PurchaseIntentForm(forms.Form):
    note = forms.CharField(
        label=_("What did they say?"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. wants a quote for 20 units")}),
    )
