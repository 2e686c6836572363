"""Forms of the lead-quality loop: a rep's verdict, and the report's filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import LeadRating
from leads.models.scoring import MAX_POINTS
from leads.services.quality import NOTE_MAX_LENGTH


class RatingForm(forms.Form):
    verdict = forms.ChoiceField(label=_("This lead is"), choices=LeadRating.Verdict.choices)
    reason = forms.ChoiceField(
        label=_("Why bad?"),
        choices=[("", _("— choose for a bad lead —")), *LeadRating.Reason.choices],
        required=False,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX_LENGTH)


PERIODS = [
    (30, _("last 30 days")),
    (90, _("last 90 days")),
    (180, _("last 180 days")),
    (365, _("last 365 days")),
]


class QualityFilterForm(forms.Form):
    by = forms.ChoiceField(
        label=_("By"),
        choices=[("source", _("source")), ("campaign", _("campaign")), ("persona", _("persona"))],
        required=False,
    )
    days = forms.TypedChoiceField(label=_("Period"), choices=PERIODS, coerce=int, required=False)

    def window(self) -> tuple[datetime, datetime]:
        days = self.cleaned_data.get("days") or 90
        end = timezone.now()
        return end - timedelta(days=days), end

    @property
    def dimension(self) -> str:
        return self.cleaned_data.get("by") or "source"


class AcceptPointsForm(forms.Form):
    points = forms.IntegerField(min_value=-MAX_POINTS, max_value=MAX_POINTS)
    version = forms.IntegerField(min_value=1)


class AcceptAllForm(forms.Form):
    """Every suggestion shown, as "rule id:version:points" (hidden inputs of the report)."""

    rule = forms.CharField(required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.raw = data.getlist("rule") if data is not None else []

    def changes(self) -> list[tuple[int, int, int]]:
        changes = []
        for item in self.raw:
            try:
                pk, version, points = (int(part) for part in item.split(":"))
            except ValueError:
                raise forms.ValidationError(
                    _("The report's suggestions were garbled; reload it.")
                ) from None
            if not -MAX_POINTS <= points <= MAX_POINTS:
                raise forms.ValidationError(
                    _("Points go from -%(max)s to %(max)s.") % {"max": MAX_POINTS}
                )
            changes.append((pk, version, points))
        if not changes:
            raise forms.ValidationError(_("There is no suggestion to use."))
        return changes
