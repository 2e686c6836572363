"""The dashboards' filter bar: `DashboardFilters` as the bar sends it, the segments and
personas it offers and the channels and campaigns it suggests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext as _

from analytics import selectors_sales as S
from analytics.filters import DEFAULT_PERIOD, PERIODS, DashboardFilterForm, Filters, today
from analytics.models import AttributionModel
from growth.shipped import shipped_text
from leads.models import Segment

DATE_KEYS = ("from", "to", "start", "end")


# --- Filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentChoice:
    pk: int
    name: str
    persona: bool


def segment_choices() -> list[SegmentChoice]:
    rows = Segment.objects.order_by("kind", Lower("name")).values_list("pk", "name", "kind")[:500]
    return [
        SegmentChoice(pk, shipped_text(name), kind == Segment.Kind.PERSONA)
        for pk, name, kind in rows
    ]


class DashboardFilters(DashboardFilterForm):
    """`DashboardFilterForm` as the filter bar sends it.

    The bar has a period select and two dates. A preset picked while old dates are still
    filled in is the preset (the select changed from what the page showed, `period_was`);
    dates typed while the select was left alone are a custom period. A segment that does not
    exist is an error, named like any other; with errors, the dimensions that were
    understood are kept and the period falls back to the default.
    """

    period_was = forms.CharField(required=False)

    def __init__(self, data: Any = None, *, segments: list[SegmentChoice] | None = None) -> None:
        if data is not None:
            data = data.copy()
            period, was = data.get("period") or "", data.get("period_was") or ""
            if period and period != "custom" and period != was:
                for key in DATE_KEYS:
                    data.pop(key, None)
            elif any(data.get(key) for key in DATE_KEYS):
                data["period"] = "custom"
        super().__init__(data)
        self.segments = segments

    def clean_segment(self) -> int | None:
        value: int | None = self.cleaned_data.get("segment")
        if value is None:
            return None
        if self.segments is not None:
            known = any(s.pk == value for s in self.segments)
        else:
            known = Segment.objects.filter(pk=value).exists()
        if not known:
            raise ValidationError(
                _("There is no segment or persona number %(id)s (it may have been deleted).")
                % {"id": value}
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("period") == "custom"
            and not (data.get("start") or data.get("end"))
            and not ({"start", "end"} & set(self.errors))
        ):
            raise ValidationError(_("A custom period needs its first and last day."))
        return data

    def filters(self) -> Filters:
        """The filters asked for. With errors: the parts that were understood, and the
        default period when the period is what was not understood."""
        if not self.is_bound or self.is_valid():
            return super().filters()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        if self.period_dropped:
            for key in ("period", "start", "end"):
                data.pop(key, None)
        if data.get("start") and data.get("end"):
            start, end = data["start"], data["end"]
        else:
            _label, days = PERIODS.get(
                data.get("period") or DEFAULT_PERIOD, PERIODS[DEFAULT_PERIOD]
            )
            end = today()
            start = end - timedelta(days=days - 1)
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

    @property
    def period_key(self) -> str:
        """What the period select shows: "custom" for dates, else the preset in use."""
        if self.is_bound and not self.period_dropped:
            self.is_valid()
            if self.cleaned_data.get("start"):
                return "custom"
            period = self.cleaned_data.get("period")
            if period in PERIODS:
                return str(period)
        return DEFAULT_PERIOD

    def problems(self) -> list[str]:
        """Each error as "Field: what is wrong"."""
        if not self.is_bound or self.is_valid():
            return []
        labels = {"start": _("From"), "end": _("To")}
        found = []
        for name, errors in self.errors.items():
            label = labels.get(name) or (self.fields[name].label if name in self.fields else "")
            found += [f"{label}: {error}" if label else str(error) for error in errors]
        return found

    @property
    def period_dropped(self) -> bool:
        return bool({"__all__", "period", "start", "end"} & set(self.errors))


def filter_form(request: HttpRequest, *, full: bool) -> tuple[DashboardFilters, Filters]:
    segments = segment_choices() if full else None
    form = DashboardFilters(request.GET if request.GET else None, segments=segments)
    return form, form.filters()


def filter_choices(filters: Filters) -> dict[str, list[str]]:
    """Channels and campaigns the rollups know in the period, for the inputs' suggestions."""
    rows = S.sql_rows(
        """
        SELECT 'channel' AS kind, channel AS value FROM analytics_trafficday
         WHERE day BETWEEN %(start)s AND %(end)s
        UNION SELECT 'channel', channel FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s
        UNION SELECT 'channel', channel FROM analytics_adspend WHERE day BETWEEN %(start)s AND %(end)s
        UNION SELECT 'campaign', campaign FROM analytics_adspend WHERE day BETWEEN %(start)s AND %(end)s
        UNION SELECT 'campaign', campaign FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s
        UNION SELECT 'campaign', campaign FROM analytics_trafficday WHERE day BETWEEN %(start)s AND %(end)s
        ORDER BY 1, 2 LIMIT 1000
        """,
        {"start": filters.start, "end": filters.end},
    )
    channels = [r["value"] for r in rows if r["kind"] == "channel" and r["value"]]
    return {
        "channels": channels,
        "sources": sorted({c.split(" / ")[0] for c in channels}),
        "campaigns": [r["value"] for r in rows if r["kind"] == "campaign" and r["value"]],
    }
