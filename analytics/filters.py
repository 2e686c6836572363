"""What a dashboard is asked for: a period, what to compare it with, and the dimensions.

Every selector in analytics takes one `Filters`. Pages build it from the query string with
`DashboardFilterForm`, so a link to a figure carries exactly the filters it was read with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import AttributionModel

PERIODS = {
    "7d": (_("Last 7 days"), 7),
    "30d": (_("Last 30 days"), 30),
    "90d": (_("Last 90 days"), 90),
    "365d": (_("Last 12 months"), 365),
}
DEFAULT_PERIOD = "30d"
MAX_DAYS = 3 * 366  # a longer period is refused with a message, not computed slowly


@dataclass(frozen=True)
class Filters:
    start: date  # first day, in the reporting time zone
    end: date  # last day, inclusive
    channel: str = ""  # e.g. "google / cpc"; blank: every channel
    source: str = (
        ""  # the part before " / ": "google" matches "google / cpc" and "google / organic"
    )
    campaign: str = ""
    segment: int | None = None  # a segment or persona (personas are segments)
    model: str = AttributionModel.FIRST_TOUCH
    compare: bool = False  # also compute the previous period of the same length

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one, same dimensions."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
            compare=False,
        )

    def query(self, **changes: Any) -> str:
        """The query string that asks for these filters (with `changes`), for links."""
        values = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "channel": self.channel,
            "source": self.source,
            "campaign": self.campaign,
            "segment": self.segment or "",
            "model": self.model,
            "compare": "1" if self.compare else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def today() -> date:
    from analytics.services.rollups import reporting_zone

    return timezone.now().astimezone(reporting_zone()).date()


class DashboardFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[(key, label) for key, (label, _days) in PERIODS.items()]
        + [("custom", _("Custom"))],
    )
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    compare = forms.BooleanField(label=_("Compare with the previous period"), required=False)
    channel = forms.CharField(label=_("Channel"), required=False, max_length=80)
    source = forms.CharField(label=_("Source"), required=False, max_length=80)
    campaign = forms.CharField(label=_("Campaign"), required=False, max_length=200)
    segment = forms.IntegerField(label=_("Segment or persona"), required=False, min_value=1)
    model = forms.ChoiceField(
        label=_("Attribution model"), required=False, choices=AttributionModel.choices
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # The query string says `from` / `to` (readable links); the fields are start / end.
        if data is not None:
            data = data.copy()
            for outer, inner in (("from", "start"), ("to", "end")):
                if outer in data and inner not in data:
                    data[inner] = data[outer]
        super().__init__(data, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    _("Choose a period of at most %(days)s days.") % {"days": MAX_DAYS}
                )
        elif start or end:
            raise forms.ValidationError(_("A custom period needs both a start and an end."))
        return data

    def filters(self) -> Filters:
        """The filters asked for; the default period where the form is empty or invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        last = today()
        if data.get("start") and data.get("end"):
            start, end = data["start"], data["end"]
        else:
            _label, days = PERIODS.get(
                data.get("period") or DEFAULT_PERIOD, PERIODS[DEFAULT_PERIOD]
            )
            start, end = last - timedelta(days=days - 1), last
        return Filters(
            start=start,
            end=end,
            channel=data.get("channel") or "",
            source=data.get("source") or "",
            campaign=data.get("campaign") or "",
            segment=data.get("segment"),
            model=data.get("model") or AttributionModel.FIRST_TOUCH,
            compare=bool(data.get("compare")),
        )
