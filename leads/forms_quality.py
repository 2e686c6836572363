"""Forms of the lead-quality loop: a rep's verdict, and the report's filters."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import LeadRating
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
    points = forms.IntegerField(min_value=-1000, max_value=1000)
    version = forms.IntegerField(min_value=1)
