"""The team board's filters: team, rep, cadence, period (last 7 / 30 / 90 days or a date
range) and which leads the attempts histogram counts. Every field is optional, so an empty
query string is the default board; a value that is not understood is an error the page
names, never a guess."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cadences.models import Cadence, Rep, Team
from cadences.selectors_team import ATTEMPT_BASES, BoardScope

PERIODS = [
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("custom", _("From … to …")),
]
DEFAULT_PERIOD = "30"
# At most a leap year: enough for a year-on-year look, and a bound on what one request groups.
LONGEST_RANGE = timedelta(days=366)


class DateInput(forms.DateInput):
    input_type = "date"


class RepChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Rep) -> str:
        return f"{obj} ({obj.team})" if obj.team else str(obj)


def zone_of(team: Team | None) -> tzinfo:
    """The team's time zone; UTC for all teams, or when the stored name is unknown (a typo
    in the admin must not take the board down)."""
    if team is None:
        return UTC
    try:
        return ZoneInfo(team.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class TeamBoardForm(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("All teams"),
    )
    rep = RepChoiceField(
        label=_("Rep"),
        queryset=Rep.objects.select_related("user", "team").order_by(
            "user__first_name", "user__last_name", "user__username"
        ),
        required=False,
        empty_label=_("All reps"),
    )
    cadence = forms.ModelChoiceField(
        label=_("Cadence"),
        queryset=Cadence.objects.order_by("name"),
        required=False,
        empty_label=_("All cadences"),
    )
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("to"), required=False, widget=DateInput)
    attempts = forms.ChoiceField(
        label=_("Attempts of"), choices=list(ATTEMPT_BASES.items()), required=False
    )

    # The period the page was showing: tells "typed dates, left the select as it was" (the
    # dates are the wish) from "picked a preset while old dates were still filled in".
    period_was = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *, now: datetime | None = None, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            period, was = data.get("period") or "", data.get("period_was") or ""
            dated = bool(data.get("date_from") or data.get("date_to"))
            if dated and period != "custom" and period in ("", was):
                period = "custom"
            elif period != "custom":
                data.pop("date_from", None)
                data.pop("date_to", None)
            data["period"] = data["period_was"] = period or DEFAULT_PERIOD
        super().__init__(data, **kwargs)
        self.now = now or timezone.now()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        team, rep = data.get("team"), data.get("rep")
        if team is not None and rep is not None and rep.team_id != team.pk:
            self.add_error(
                "rep", _("%(rep)s is not on team %(team)s.") % {"rep": rep, "team": team}
            )
        data["attempts"] = data.get("attempts") or "ended"
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if data.get("period") == "custom":
            # An open end is today, where the team works.
            date_to = data["date_to"] = date_to or self.now.astimezone(zone_of(team)).date()
            if date_from is None:
                self.add_error("date_from", _("Choose the first day of the period."))
            elif date_from > date_to:
                self.add_error("date_to", _("The last day must not be before the first."))
            elif date_to - date_from >= LONGEST_RANGE:
                self.add_error("date_to", _("Choose a period of at most a year."))
        return data

    @property
    def time_zone(self) -> tzinfo:
        return zone_of(self.cleaned_data.get("team"))

    def scope(self) -> BoardScope:
        """The valid filters as the selectors take them. Days are the team's days: a period
        "from 1 June" starts at midnight where the team works."""
        data, now, zone = self.cleaned_data, self.now, self.time_zone
        if data["period"] == "custom":
            last: date = data["date_to"]
            start = datetime.combine(data["date_from"], time.min, tzinfo=zone)
            end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
        else:
            start, end = now - timedelta(days=int(data["period"])), now
        team, rep, cadence = data.get("team"), data.get("rep"), data.get("cadence")
        return BoardScope(
            start=start,
            end=end,
            now=now,
            time_zone=zone,
            team_id=team.pk if team else None,
            rep_id=rep.pk if rep else None,
            cadence_id=cadence.pk if cadence else None,
        )

    def error_text(self) -> str:
        """Every problem in one sentence each, for the CSV endpoint's plain-text answer."""
        parts = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            for error in errors:
                parts.append(f"{label}: {error}" if label else str(error))
        return " ".join(parts)
