"""The dashboards: manager (/dashboards/), marketer (/dashboards/marketing/) and sales
manager (/dashboards/sales/), their CSV exports and the page of definitions. Needs
VIEW_DASHBOARDS.

Each page is the filter bar and a body; the body alone is a partial htmx fetches again every
30 seconds from the same URL (`HX-Request`), like the team board, so the numbers move
without a reload. Every page reads each selector once and builds its cards and charts from
those results (the query count does not grow with the data). Filters that are not understood
are named on the page, and the page shows the default period instead: never an error page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from analytics import figures as F
from analytics import selectors_sales as S
from analytics.definitions import DEFINITIONS, Definition
from analytics.filters import DEFAULT_PERIOD, PERIODS, DashboardFilterForm, Filters, today
from analytics.models import AttributionModel, RefreshState
from analytics.services.rollups import reporting_zone
from automations.models.delivery import MESSAGE_CHANNELS
from growth.csv_stream import csv_response
from growth.currency import base_currency
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models import Segment

view_dashboards = capability_required(Capability.VIEW_DASHBOARDS)

DATE_KEYS = ("from", "to", "start", "end")


# --- Filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentChoice:
    pk: int
    name: str
    persona: bool


def segment_choices() -> list[SegmentChoice]:
    rows = Segment.objects.order_by("kind", Lower("name")).values_list("pk", "name", "kind")[:500]
    return [SegmentChoice(pk, name, kind == Segment.Kind.PERSONA) for pk, name, kind in rows]


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


def _form(request: HttpRequest, *, full: bool) -> tuple[DashboardFilters, Filters]:
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


# --- Cards and charts -----------------------------------------------------------------------


@dataclass
class Change:
    text: str
    direction: str  # "up", "down", "flat"
    tone: str  # "good", "bad", "" (neither)


@dataclass
class Card:
    key: str
    label: str
    value: str
    unit: str = ""
    note: str = ""
    previous: str | None = None  # None: no comparison asked for
    change: Change | None = None
    url: str = ""
    url_label: str = ""
    definition: Definition | None = None


@dataclass
class Chart:
    key: str  # the CSV's name and the element ids
    title: str
    definition: Definition
    figure: dict[str, Any] | None = None
    table: F.Table | None = None
    intro: str = ""
    note: str = ""
    empty_what: str = ""
    empty_how: str = ""
    csv_url: str = ""
    drill_url: str = ""
    drill_label: str = ""
    label: str = ""  # what the chart shows, for screen readers
    facts: list[tuple[str, str]] = field(default_factory=list)  # small figures over the chart
    wide: bool = False  # across the whole page, not half of it

    @property
    def figure_id(self) -> str:
        return f"figure-{self.key}"

    def empty(self, what_how: tuple[str, str]) -> None:
        self.empty_what, self.empty_how = what_how


def change(
    current: Decimal | float | int | None,
    previous: Decimal | float | int | None,
    *,
    rate: bool = False,
    better: str = "up",
) -> Change | None:
    """current against previous: the relative change ("+12.3 %"), or for a share the
    difference in percentage points ("+1.2 pp"). None when either is missing."""
    if current is None or previous is None:
        return None
    cur, prev = Decimal(str(current)), Decimal(str(previous))
    diff = cur - prev
    direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    tone = "" if direction == "flat" else "good" if direction == better else "bad"
    sign = {"up": "+", "down": "\u2212", "flat": "\u00b1"}[direction]
    if rate:
        return Change(
            _("%(sign)s%(n)s pp") % {"sign": sign, "n": F.decimal(abs(diff) * 100, 1)},
            direction,
            tone,
        )
    if prev == 0:
        return Change(_("new"), direction, tone) if cur else Change("\u00b10", "flat", "")
    return Change(f"{sign}{F.pct(abs(diff) / abs(prev))}", direction, tone)


class Kpis:
    """The cards of a page; with the comparison on, each shows the previous period too."""

    def __init__(self, compare: bool) -> None:
        self.compare = compare
        self.cards: list[Card] = []

    def add(
        self,
        key: str,
        label: Any,
        current: Any,
        previous: Any,
        show: Callable[[Any], str],
        *,
        rate: bool = False,
        better: str = "up",
        comparable: bool = True,
        **more: Any,
    ) -> None:
        compared = self.compare and comparable
        self.cards.append(
            Card(
                key=key,
                label=str(label),
                value=show(current),
                previous=show(previous) if compared else None,
                change=change(current, previous, rate=rate, better=better) if compared else None,
                **more,
            )
        )


@dataclass(frozen=True)
class Can:
    """Which pages the reader may open, so links lead only where they are let in."""

    spend: bool = False
    team: bool = False
    journeys: bool = False
    cadences: bool = False
    segments: bool = False
    outbox: bool = False

    @classmethod
    def of(cls, user: Any) -> Can:
        def has(capability: Capability) -> bool:
            return bool(user.has_perm(f"growth.{capability.value}"))

        return cls(
            spend=has(Capability.MANAGE_AD_SPEND),
            team=has(Capability.VIEW_TEAM),
            journeys=has(Capability.MANAGE_JOURNEYS),
            cadences=has(Capability.MANAGE_CADENCES),
            segments=has(Capability.MANAGE_SEGMENTS),
            outbox=has(Capability.MANAGE_JOURNEYS) or has(Capability.MANAGE_TEMPLATES),
        )


def _url(name: str, query: str = "", args: Sequence[Any] = ()) -> str:
    path = reverse(name, args=args)
    return f"{path}?{query}" if query else path


def orders_url(filters: Filters, kind: str = "all") -> str:
    return _url("dashboards_orders", filters.query(compare="", model="", kind=kind))


def contacts_url(filters: Filters, source: str = "") -> str:
    query = {"created_from": filters.start.isoformat(), "created_to": filters.end.isoformat()}
    if source:
        query["source"] = source
    return _url("contacts", urlencode(query))


def spend_url(filters: Filters) -> str:
    query = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    query.update(
        {k: v for k, v in (("channel", filters.channel), ("campaign", filters.campaign)) if v}
    )
    return _url("ad_spend", urlencode(query))


def team_url(filters: Filters) -> str:
    query = {
        "period": "custom",
        "date_from": filters.start.isoformat(),
        "date_to": filters.end.isoformat(),
    }
    return _url("team", urlencode(query))


def _chart(key: str, title: str, definition: str, filters: Filters, **more: Any) -> Chart:
    return Chart(
        key=key,
        title=title,
        definition=DEFINITIONS[definition],
        csv_url=_url("dashboards_export", filters.query(), args=[key]),
        **more,
    )


def paid_roas(rows: Sequence[dict[str, Any]]) -> tuple[Decimal, Decimal, Decimal | None]:
    """(ad spend, attributed revenue of the channels with spend, ROAS) from `roas_by_channel`:
    the manager's and the marketer's ROAS are this one figure."""
    spend = sum((Decimal(r["spend"]) for r in rows if r["spend"]), Decimal("0"))
    revenue = sum((Decimal(r["revenue"]) for r in rows if r["spend"]), Decimal("0"))
    return spend, revenue, S.ratio(revenue, spend)


def _delay(minutes: float | None) -> str:
    """Minutes as people say them: "40 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if minutes is None:
        return F.DASH
    seconds = max(float(minutes) * 60, 0)
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    whole = int(seconds // 60)
    if whole < 60:
        return _("%(n)d min") % {"n": whole}
    hours, rest = divmod(whole, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def _signed(value: float | None) -> str:
    if value is None:
        return F.DASH
    rounded = round(value)
    return f"+{rounded}" if rounded > 0 else "\u2212" + str(-rounded) if rounded < 0 else "0"


# --- Empty states: what to do to get data in ------------------------------------------------


def _no_orders() -> tuple[str, str]:
    return (
        _("No orders in this period."),
        _(
            "Orders arrive from your shop: connect it under Sources (Shopify or WooCommerce "
            "webhooks), or widen the period and clear the filters."
        ),
    )


def _no_sessions() -> tuple[str, str]:
    return (
        _("No visits recorded in this period."),
        _(
            "Put the tracking snippet on your shop (Sources → a tracking source) so sessions, "
            "their sources and product views are recorded; or widen the period."
        ),
    )


def _no_spend() -> tuple[str, str]:
    return (
        _("No ad spend in this period, so no ROAS."),
        _(
            "Import ad spend under Ad spend (a Google Ads or Meta Ads export, or any CSV with "
            "a date and a cost), or send it through the API."
        ),
    )


# --- Manager --------------------------------------------------------------------------------


def manager_read(filters: Filters) -> dict[str, Any]:
    """Every selector the manager's page needs, each once."""
    from analytics.selectors_clv import predictive_clv
    from analytics.selectors_forecast import forecast

    sales = S.sales_totals(filters)
    traffic = S.traffic_totals(filters)
    data: dict[str, Any] = {
        "sales": sales,
        "acquisition": S.acquisition(filters, sales.new_customers),
        "roas": S.roas_by_channel(filters),
        "by_day": S.sales_by_day(filters),
        "conversion": S.conversion_by_source(filters),
        "ttp": S.time_to_purchase(filters),
        "traffic": traffic,
        "shop_funnel": S.shop_funnel(filters, traffic),
        "lead_funnel": S.lead_funnel(filters),
        "cohorts": S.cohort_retention(filters),
        "rfm": S.rfm_grid(),
        "forecast": forecast(filters),
        "clv": predictive_clv(filters),
        "previous": None,
    }
    if filters.compare:
        before = filters.previous()
        prev_sales = S.sales_totals(before)
        data["previous"] = {
            "sales": prev_sales,
            "acquisition": S.acquisition(before, prev_sales.new_customers),
            "roas": S.roas_by_channel(before),
            "by_day": S.sales_by_day(before),
        }
    return data


def _clv_note(clv: dict[str, Any]) -> str:
    fit = clv["fit"]
    if fit is None:
        return _(
            "Not fitted yet: the models are fitted every night once there are enough customers."
        )
    if fit.error:
        return _("No prediction: %(why)s") % {"why": fit.error}
    weeks = round(fit.unit_days * fit.horizon / 7)
    return _("over the next %(weeks)s weeks; alive %(alive)s, %(orders)s orders expected") % {
        "weeks": weeks,
        "alive": F.pct(clv["new_alive"]),
        "orders": F.decimal(clv["new_orders"], 1),
    }


def manager_cards(data: dict[str, Any], filters: Filters, currency: str) -> list[Card]:
    sales, acq = data["sales"], data["acquisition"]
    spend, paid_revenue, roas = paid_roas(data["roas"])
    prev = data["previous"] or {}
    p_sales, p_acq = prev.get("sales"), prev.get("acquisition")
    p_roas = paid_roas(prev["roas"])[2] if prev else None

    def was(obj: Any, name: str) -> Any:
        return getattr(obj, name) if obj is not None else None

    d = DEFINITIONS
    all_orders: dict[str, Any] = {"url": orders_url(filters), "url_label": _("See the orders")}
    new_orders: dict[str, Any] = {
        "url": orders_url(filters, "new"),
        "url_label": _("See the new customers"),
    }
    money: dict[str, Any] = {"unit": currency}
    kpis = Kpis(bool(prev))
    kpis.add(
        "net_revenue",
        d["net_revenue"].title,
        sales.net,
        was(p_sales, "net"),
        F.money,
        note=_("gross %(gross)s, refunds %(refunds)s")
        % {"gross": F.money(sales.gross), "refunds": F.money(sales.refunds)},
        definition=d["net_revenue"],
        **money,
        **all_orders,
    )
    kpis.add(
        "orders",
        d["orders"].title,
        sales.orders,
        was(p_sales, "orders"),
        F.count,
        definition=d["orders"],
        **all_orders,
    )
    kpis.add(
        "aov",
        d["aov"].title,
        sales.aov,
        was(p_sales, "aov"),
        F.money,
        definition=d["aov"],
        **money,
        **all_orders,
    )
    kpis.add(
        "new_customers",
        d["new_customers"].title,
        sales.new_customers,
        was(p_sales, "new_customers"),
        F.count,
        definition=d["new_customers"],
        **new_orders,
    )
    kpis.add(
        "cac",
        d["cac"].title,
        acq.cac,
        was(p_acq, "cac"),
        F.money,
        better="down",
        note=_("%(cost)s spent (ads %(ads)s, other %(other)s) for %(n)s new customers")
        % {
            "cost": F.money(acq.spend.total),
            "ads": F.money(acq.spend.ads),
            "other": F.money(acq.spend.other),
            "n": F.count(acq.new_customers),
        },
        definition=d["cac"],
        **money,
        **new_orders,
    )
    kpis.add(
        "clv",
        d["clv"].title,
        acq.clv,
        was(p_acq, "clv"),
        F.money,
        note=_("net revenue to date per new customer of the period"),
        definition=d["clv"],
        **money,
        **new_orders,
    )
    clv = data["clv"]
    kpis.add(
        "predictive_clv",
        d["predictive_clv"].title,
        clv["new_clv"],
        None,
        F.money,
        comparable=False,
        note=_clv_note(clv),
        definition=d["predictive_clv"],
        url="#chart-p-alive",
        url_label=_("See the customers by probability alive"),
        **money,
    )
    kpis.add(
        "clv_to_cac",
        d["clv_to_cac"].title,
        acq.clv_to_cac,
        was(p_acq, "clv_to_cac"),
        F.multiple,
        definition=d["clv_to_cac"],
        **new_orders,
    )
    kpis.add(
        "roas",
        d["roas"].title,
        roas,
        p_roas,
        F.multiple,
        note=_("%(revenue)s attributed (%(model)s) on %(spend)s of ad spend")
        % {
            "revenue": F.money(paid_revenue),
            "model": F.MODEL_LABELS[filters.model],
            "spend": F.money(spend),
        },
        definition=d["roas"],
        url="#chart-roas-by-channel",
        url_label=_("See ROAS by channel"),
    )
    kpis.add(
        "returns_rate",
        d["returns_rate"].title,
        sales.returns_rate,
        was(p_sales, "returns_rate"),
        F.pct,
        rate=True,
        better="down",
        note=_("%(n)s of %(orders)s orders")
        % {"n": F.count(sales.returned_orders), "orders": F.count(sales.orders)},
        definition=d["returns_rate"],
        url=orders_url(filters, "returned"),
        url_label=_("See the returned orders"),
    )
    return kpis.cards


def manager_charts(data: dict[str, Any], filters: Filters, currency: str) -> list[Chart]:
    sales = data["sales"]
    prev = data["previous"]
    charts = []

    chart = _chart(
        "revenue",
        _("Revenue by day (%(currency)s)") % {"currency": currency},
        "revenue",
        filters,
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
        label=_("Net revenue and orders per day"),
        wide=True,
    )
    if sales.orders:
        chart.figure = F.revenue_figure(data["by_day"], currency, prev and prev["by_day"])
        chart.table = F.table_of(F.REVENUE_COLUMNS, data["by_day"])
        totals = (sales.orders, sales.new_customers)
        chart.table.foot = [
            [
                F.Cell(_("Total")),
                *(F.Cell(F.count(n)) for n in totals),
                F.Cell(F.money(sales.gross)),
                F.Cell(F.money(sales.net)),
            ]
        ]
    else:
        chart.empty(_no_orders())
    charts.append(chart)

    rows = data["roas"]
    chart = _chart(
        "roas-by-channel",
        _("ROAS by channel"),
        "roas",
        filters,
        intro=_("Attribution model: %(model)s. Amounts in %(currency)s.")
        % {"model": F.MODEL_LABELS[filters.model], "currency": currency},
        label=_("Return on ad spend per channel"),
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
    )
    if rows:
        chart.table = F.table_of(F.ROAS_COLUMNS, rows)
        chart.figure = F.roas_figure(rows)
    if chart.figure is None:
        chart.empty(_no_spend())
    charts.append(chart)

    rows = data["conversion"]
    chart = _chart(
        "conversion-by-source",
        _("Conversion rate by source"),
        "conversion",
        filters,
        drill_url=contacts_url(filters),
        drill_label=_("See the new contacts"),
        intro=_("Each source in the table links to its new contacts of the period."),
        label=_("Session and contact conversion per source"),
    )
    if rows:
        links = {"channel": lambda r: contacts_url(filters, r["channel"])}
        chart.table = F.table_of(F.CONVERSION_COLUMNS, rows, links=links)
        chart.figure = F.conversion_figure(rows)
    if chart.figure is None:
        chart.empty(_no_sessions())
    charts.append(chart)

    ttp = data["ttp"]
    chart = _chart(
        "time-to-purchase",
        _("Time to purchase"),
        "time_to_purchase",
        filters,
        drill_url=orders_url(filters, "new"),
        drill_label=_("See the new customers"),
        label=_("New customers by time from first contact to first order"),
    )
    if ttp["customers"]:
        chart.facts = [
            (_("median"), F.days(ttp["median"])),
            (_("p75"), F.days(ttp["p75"])),
            (_("p90"), F.days(ttp["p90"])),
            (_("new customers"), F.count(ttp["customers"])),
        ]
        chart.figure = F.time_to_purchase_figure(ttp)
        chart.table = F.table_of(F.TIME_TO_PURCHASE_COLUMNS, F.time_to_purchase_records(ttp))
        chart.table.foot = [[F.Cell(label), F.Cell(value)] for label, value in chart.facts[:3]]
    else:
        chart.empty((_("No new customers in this period."), _no_orders()[1]))
    charts.append(chart)

    no_stages = (
        _("No contact reached a lifecycle stage in this period."),
        _(
            "Contacts become leads, MQLs and SQLs by the definitions under Scoring, and "
            "customers by ordering; capture sign-ups with the tracking snippet or import contacts."
        ),
    )
    funnels = (
        (
            "shop-funnel",
            _("Shop funnel"),
            "shop_funnel",
            data["shop_funnel"],
            F.SHOP_STEP_LABELS,
            _no_sessions(),
        ),
        (
            "lead-funnel",
            _("Lead funnel"),
            "lead_funnel",
            data["lead_funnel"],
            F.LEAD_STEP_LABELS,
            no_stages,
        ),
    )
    for key, title, definition, steps, labels, empty in funnels:
        records = F.funnel_records(steps, labels)
        chart = _chart(key, title, definition, filters, label=title)
        chart.figure = F.funnel_figure(records)
        if chart.figure is not None:
            chart.table = F.funnel_table(records)
            if not any(r["target"] is not None for r in records):
                chart.note = _("No targets are set for this funnel's steps.")
            else:
                chart.intro = _(
                    "The marks are the counts each step needs to meet its target conversion."
                )
        else:
            chart.empty(empty)
        charts.append(chart)

    months, records = F.cohort_records(data["cohorts"])
    chart = _chart(
        "cohort-retention",
        _("Cohort retention"),
        "cohort_retention",
        filters,
        wide=True,
        intro=_(
            "Share of each month's new customers who ordered again 1, 2, … months later (%); "
            "the number after the month is the cohort's size."
        ),
        label=_("Retention per first-order month"),
    )
    chart.figure = F.cohort_figure(months, records)
    if chart.figure is not None:
        chart.table = F.table_of(F.cohort_columns(months), records)
    else:
        chart.empty(
            (_("No customers in the twelve months up to this period's end."), _no_orders()[1])
        )
    charts.append(chart)

    grid = data["rfm"]
    chart = _chart(
        "rfm-grid",
        _("RFM grid"),
        "rfm_grid",
        filters,
        intro=_("All customers, whatever the period and filters."),
        label=_("Customers per recency and frequency score"),
    )
    chart.figure = F.rfm_figure(grid)
    if chart.figure is not None:
        chart.table = F.rfm_table(grid)
    else:
        chart.empty(
            (
                _("No customer has an RFM score yet."),
                _(
                    "Scores are computed from customers' orders by the regular RFM computation; they appear once orders have arrived and it has run."
                ),
            )
        )
    charts.append(chart)

    clv = data["clv"]
    records = F.alive_records(clv)
    chart = _chart(
        "p-alive",
        _("Customers by probability alive"),
        "predictive_clv",
        filters,
        label=_("Customers per probability of still being a customer"),
    )
    chart.figure = F.alive_figure(records) if clv["fit"] is not None else None
    if chart.figure is not None:
        chart.facts = [
            (_("customers with a prediction"), F.count(clv["customers"])),
            (_("mean predicted CLV (%(currency)s)") % {"currency": currency}, F.money(clv["clv"])),
            (_("mean probability alive"), F.pct(clv["alive"])),
            (_("orders expected"), F.decimal(clv["orders"], 1)),
        ]
        chart.intro = _("Fitted %(at)s on %(n)s customers.") % {
            "at": timezone.localtime(clv["fit"].fitted_at).strftime("%Y-%m-%d %H:%M"),
            "n": F.count(clv["fit"].customers),
        }
        chart.table = F.table_of(F.ALIVE_COLUMNS, records)
    else:
        chart.empty(
            (
                _("No predictions yet."),
                _clv_note(clv)
                if clv["fit"] is not None and clv["fit"].error
                else _(
                    "Predictive CLV is fitted every night from customers' orders (or run manage.py "
                    "analytics_clv_fit); it needs repeat buyers."
                ),
            )
        )
    charts.append(chart)

    fc = data["forecast"]
    chart = _chart(
        "forecast",
        _("Forecast for the next period"),
        "forecast",
        filters,
        label=_("Net revenue and orders per period, with the next period's forecast"),
    )
    chart.figure = F.forecast_figure(fc, currency)
    if chart.figure is not None:
        between = _("%(value)s (%(low)s to %(high)s)")
        chart.facts = [
            (
                _("orders, %(start)s to %(end)s")
                % {"start": fc.next_start.isoformat(), "end": fc.next_end.isoformat()},
                between
                % {
                    "value": F.count(round(fc.orders.value)),
                    "low": F.count(round(fc.orders.low)),
                    "high": F.count(round(fc.orders.high)),
                },
            ),
            (
                _("net revenue (%(currency)s)") % {"currency": currency},
                between
                % {
                    "value": F.money(fc.net.value),
                    "low": F.money(fc.net.low),
                    "high": F.money(fc.net.high),
                },
            ),
        ]
        chart.table = F.table_of(F.FORECAST_COLUMNS, F.forecast_records(fc))
    else:
        chart.empty(
            (
                _("Too little history for a forecast."),
                _(
                    "The forecast needs orders in at least three periods as long as this one; choose a shorter period, or wait for more orders."
                ),
            )
        )
    charts.append(chart)
    return charts


# --- Marketer -------------------------------------------------------------------------------


def marketing_read(filters: Filters) -> dict[str, Any]:
    from analytics import selectors_engagement as E
    from analytics import selectors_products as P

    data: dict[str, Any] = {
        "campaigns": S.roas_by_channel(filters, by_campaign=True),
        "channels": S.roas_by_channel(filters),
        "traffic": S.traffic_totals(filters),
        "traffic_by_day": S.traffic_by_day(filters),
        "attribution": S.attribution_comparison(filters),
        "journeys": E.journey_performance(filters),
        "messages": E.message_rates(filters),
        "surveys": E.survey_scores(filters),
        "top": P.top_products(filters),
        "segments": P.segment_growth(filters),
        "previous": None,
    }
    if filters.compare:
        before = filters.previous()
        data["previous"] = {
            "channels": S.roas_by_channel(before),
            "traffic": S.traffic_totals(before),
            "surveys": E.survey_scores(before),
        }
    return data


def marketing_cards(data: dict[str, Any], filters: Filters, currency: str, can: Can) -> list[Card]:
    spend, revenue, roas = paid_roas(data["channels"])
    traffic, surveys = data["traffic"], data["surveys"]
    prev = data["previous"] or {}
    p_spend, p_revenue, p_roas = paid_roas(prev["channels"]) if prev else (None, None, None)
    p_traffic, p_surveys = prev.get("traffic") or {}, prev.get("surveys")
    d = DEFINITIONS
    campaigns: dict[str, Any] = {"url": "#chart-campaigns", "url_label": _("See the campaigns")}
    traffic_link: dict[str, Any] = {"url": "#chart-traffic", "url_label": _("See traffic by day")}
    spend_link: dict[str, Any] = (
        {"url": spend_url(filters), "url_label": _("See the ad spend")} if can.spend else {}
    )
    clicks = sum(int(r["clicks"]) for r in data["channels"])
    kpis = Kpis(bool(prev))
    kpis.add(
        "spend",
        _("Ad spend"),
        spend,
        p_spend,
        F.money,
        better="down",
        unit=currency,
        note=_("%(clicks)s clicks") % {"clicks": F.count(clicks)},
        definition=d["campaigns"],
        **spend_link,
    )
    kpis.add(
        "attributed_revenue",
        _("Attributed revenue"),
        revenue,
        p_revenue,
        F.money,
        unit=currency,
        note=_("on the channels with ad spend, %(model)s")
        % {"model": F.MODEL_LABELS[filters.model]},
        definition=d["roas"],
        **campaigns,
    )
    kpis.add("roas", d["roas"].title, roas, p_roas, F.multiple, definition=d["roas"], **campaigns)
    kpis.add(
        "sessions",
        _("Sessions"),
        traffic["sessions"],
        p_traffic.get("sessions"),
        F.count,
        note=_("%(n)s visitor-days") % {"n": F.count(traffic["visitors"])},
        definition=d["traffic"],
        **traffic_link,
    )
    kpis.add(
        "bounce_rate",
        _("Bounce rate"),
        traffic["bounce_rate"],
        p_traffic.get("bounce_rate"),
        F.pct,
        rate=True,
        better="down",
        note=_("%(n)s single-page sessions") % {"n": F.count(traffic["bounces"])},
        definition=d["traffic"],
        **traffic_link,
    )
    kpis.add(
        "nps",
        d["nps"].title,
        surveys.nps.nps,
        p_surveys and p_surveys.nps.nps,
        _signed,
        note=_("%(n)s answers: %(p)s promoters, %(d)s detractors")
        % {
            "n": F.count(surveys.nps.answers),
            "p": F.count(surveys.nps.promoters),
            "d": F.count(surveys.nps.detractors),
        },
        definition=d["nps"],
    )
    csat = surveys.csat.csat
    kpis.add(
        "csat",
        d["csat"].title,
        None if csat is None else csat / 100,
        None if p_surveys is None or p_surveys.csat.csat is None else p_surveys.csat.csat / 100,
        F.pct,
        rate=True,
        note=_("%(n)s answers") % {"n": F.count(surveys.csat.answers)},
        definition=d["csat"],
    )
    return kpis.cards


def marketing_charts(
    data: dict[str, Any], filters: Filters, currency: str, can: Can
) -> list[Chart]:
    charts = []
    model = F.MODEL_LABELS[filters.model]

    rows = data["campaigns"]
    chart = _chart(
        "campaigns",
        _("Campaign performance"),
        "campaigns",
        filters,
        wide=True,
        intro=_("Attribution model: %(model)s. Amounts in %(currency)s.")
        % {"model": model, "currency": currency},
        label=_("Ad spend and attributed revenue per campaign"),
        **(
            {"drill_url": spend_url(filters), "drill_label": _("See the ad spend")}
            if can.spend
            else {}
        ),
    )
    if rows:
        chart.table = F.table_of(F.CAMPAIGN_COLUMNS, rows)
        chart.figure = F.campaigns_figure(rows, currency)
        if not any(r["spend"] for r in rows):
            chart.note = " ".join(_no_spend())
    else:
        chart.empty((_("No ad spend and no attributed orders in this period."), _no_spend()[1]))
    charts.append(chart)

    records = F.journey_records(data["journeys"])
    chart = _chart(
        "journeys",
        _("Journey performance"),
        "journeys",
        filters,
        intro=_("Runs started in the period and the share that reached the journey's goal so far."),
        label=_("Goal conversion per journey"),
        **(
            {"drill_url": _url("journeys"), "drill_label": _("See the journeys")}
            if can.journeys
            else {}
        ),
    )
    chart.figure = F.journey_figure(records)
    if records:
        links = (
            {"journey": lambda r: _url("journey_results", args=[r["id"]])} if can.journeys else {}
        )
        chart.table = F.table_of(F.JOURNEY_COLUMNS, records, links=links)
    if chart.figure is None:
        chart.empty(
            (
                _("No journey run started in this period."),
                _(
                    "Publish a trigger journey under Journeys (abandoned cart, welcome series …); runs start as contacts do what triggers it."
                ),
            )
        )
    charts.append(chart)

    records = F.message_records(data["messages"], dict(MESSAGE_CHANNELS))
    chart = _chart(
        "messages",
        _("E-mail and SMS metrics"),
        "messages",
        filters,
        intro=_(
            "Rates of the messages sent in the period; SMS report no opens, clicks or bounces."
        ),
        label=_("Delivery, open, click, unsubscribe and bounce rates per channel"),
        **(
            {"drill_url": _url("deliveries"), "drill_label": _("See the outbox")}
            if can.outbox
            else {}
        ),
    )
    chart.figure = F.message_figure(records)
    if chart.figure is not None:
        links = (
            {"channel": lambda r: _url("deliveries", urlencode({"channel": r["channel"]}))}
            if can.outbox
            else {}
        )
        chart.table = F.table_of(F.MESSAGE_COLUMNS, records, links=links)
    else:
        chart.empty(
            (
                _("No e-mail or SMS sent in this period."),
                _(
                    "Journeys and cadences send messages once a provider is set up (or to the local outbox without one)."
                ),
            )
        )
    charts.append(chart)

    records = F.traffic_records(data["traffic_by_day"])
    traffic = data["traffic"]
    chart = _chart(
        "traffic",
        _("Traffic and bounce rate"),
        "traffic",
        filters,
        wide=True,
        label=_("Sessions and bounce rate per day"),
    )
    chart.figure = F.traffic_figure(records)
    if chart.figure is not None:
        chart.table = F.table_of(F.TRAFFIC_COLUMNS, records)
        totals = (traffic["sessions"], traffic["bounces"])
        chart.table.foot = [
            [
                F.Cell(_("Total")),
                *(F.Cell(F.count(n)) for n in totals),
                F.Cell(F.pct(traffic["bounce_rate"])),
            ]
        ]
    else:
        chart.empty(_no_sessions())
    charts.append(chart)

    records = F.attribution_records(data["attribution"])
    chart = _chart(
        "attribution-models",
        _("Attribution model comparison"),
        "attribution",
        filters,
        wide=True,
        intro=_(
            "Net revenue credited to each channel under every model (%(currency)s); ✓ marks the model the other figures use."
        )
        % {"currency": currency},
        label=_("Attributed revenue per channel, one bar per model"),
        drill_url=orders_url(filters),
        drill_label=_("See the orders"),
    )
    chart.figure = F.attribution_figure(records, filters.model, currency)
    if chart.figure is not None:
        chart.table = F.table_of(F.attribution_columns(), records)
    else:
        chart.empty(_no_orders())
    charts.append(chart)

    top = data["top"]
    chart = _chart(
        "top-products",
        _("Top products"),
        "top_products",
        filters,
        wide=True,
        label=_("Most viewed, most bought and most abandoned products"),
    )
    chart.figure = F.top_products_figure(top)
    if chart.figure is not None:
        chart.table = F.top_products_table(top)
    else:
        chart.empty(
            (
                _("No product viewed, added to a cart or bought in this period."),
                _(
                    "Product views and carts come from the tracking snippet's Product Viewed and Product Added events; purchases from the shop's orders."
                ),
            )
        )
    charts.append(chart)

    records = F.segment_records(data["segments"])
    chart = _chart(
        "segment-growth",
        _("Segment growth"),
        "segment_growth",
        filters,
        intro=_("The ten largest segments and personas: who entered and who left in the period."),
        label=_("Contacts entering and leaving each segment"),
        **(
            {"drill_url": _url("segments"), "drill_label": _("See the segments")}
            if can.segments
            else {}
        ),
    )
    chart.figure = F.segment_figure(records)
    if chart.figure is not None:
        links = (
            {"segment": lambda r: _url("segment_detail", args=[r["id"]])} if can.segments else {}
        )
        chart.table = F.table_of(F.SEGMENT_COLUMNS, records, links=links)
    else:
        chart.empty(
            (
                _("No segment has members yet."),
                _(
                    "Marketers build segments and personas under Segments; the RFM segments fill themselves from orders."
                ),
            )
        )
    charts.append(chart)
    return charts


# --- Sales manager --------------------------------------------------------------------------


def sales_read(filters: Filters) -> dict[str, Any]:
    from analytics import selectors_engagement as E

    data: dict[str, Any] = {
        "speed": E.speed_to_lead(filters),
        "cadences": E.cadence_performance(filters),
        "previous": None,
    }
    if filters.compare:
        data["previous"] = {"speed": E.speed_to_lead(filters.previous())}
    return data


def sales_cards(data: dict[str, Any], filters: Filters, can: Can) -> list[Card]:
    speed = data["speed"]
    prev = (data["previous"] or {}).get("speed")

    def was(name: str) -> Any:
        return getattr(prev, name) if prev is not None else None

    more: dict[str, Any] = {"definition": DEFINITIONS["speed_to_lead"]}
    if can.team:
        more.update(url=team_url(filters), url_label=_("Open the team board"))
    kpis = Kpis(prev is not None)
    kpis.add(
        "qualified", _("Leads qualified (MQL)"), speed.qualified, was("qualified"), F.count, **more
    )
    kpis.add(
        "touched",
        _("Touched by a rep"),
        speed.touched,
        was("touched"),
        F.count,
        note=_("%(n)s not touched yet") % {"n": F.count(speed.untouched)},
        **more,
    )
    kpis.add(
        "median_speed",
        _("Median speed to lead"),
        speed.median_minutes,
        was("median_minutes"),
        _delay,
        better="down",
        note=_("p75 %(p75)s, p90 %(p90)s")
        % {"p75": _delay(speed.p75_minutes), "p90": _delay(speed.p90_minutes)},
        **more,
    )
    kpis.add(
        "sla_rate",
        _("SLA hit rate"),
        speed.sla_rate,
        was("sla_rate"),
        F.pct,
        rate=True,
        note=_("%(hit)s of %(decided)s decided SLAs; %(missed)s missed")
        % {
            "hit": F.count(speed.sla_hit),
            "decided": F.count(speed.sla_decided),
            "missed": F.count(speed.sla_missed),
        },
        **more,
    )
    return kpis.cards


def sales_charts(data: dict[str, Any], filters: Filters, can: Can) -> list[Chart]:
    speed = data["speed"]
    charts = []
    chart = _chart(
        "speed-to-lead",
        _("Speed to lead"),
        "speed_to_lead",
        filters,
        intro=_(
            "Time from qualification (MQL) to the first rep touch. The line is the chance to "
            "reach a lead live by how soon it was called (seed study of over 130 million "
            "sales interactions)."
        ),
        label=_("Leads by speed to lead, with the reach-rate curve"),
        **(
            {"drill_url": team_url(filters), "drill_label": _("Open the team board")}
            if can.team
            else {}
        ),
    )
    chart.figure = F.speed_figure(speed)
    if chart.figure is not None:
        chart.table = F.table_of(F.SPEED_COLUMNS, F.speed_records(speed))
    else:
        chart.empty(
            (
                _("No lead qualified in this period."),
                _(
                    "Leads enter a cadence the moment they become MQLs (the definitions under Scoring), and the time to their first touch is counted here. Widen the period."
                ),
            )
        )
    charts.append(chart)

    records = F.cadence_records(data["cadences"])
    chart = _chart(
        "cadences",
        _("Cadence performance"),
        "cadences",
        filters,
        intro=_("Leads that entered each cadence in the period, followed to today."),
        label=_("Conversion and meeting shares per cadence"),
        **(
            {"drill_url": _url("cadences"), "drill_label": _("See the cadences")}
            if can.cadences
            else {}
        ),
    )
    chart.figure = F.cadence_figure(records)
    if records:
        links = (
            {"cadence": lambda r: _url("cadence_detail", args=[r["id"]])} if can.cadences else {}
        )
        chart.table = F.table_of(F.CADENCE_COLUMNS, records, links=links)
    if chart.figure is None:
        chart.empty(
            (
                _("No lead entered a cadence in this period."),
                _(
                    "Publish cadences under Cadences: every new MQL enters one, and cadences with the same rules split the leads for an A/B test."
                ),
            )
        )
    charts.append(chart)
    return charts


# --- Pages ----------------------------------------------------------------------------------

TITLES = {
    "manager": _lazy("Manager dashboard"),
    "marketing": _lazy("Marketing dashboard"),
    "sales": _lazy("Sales dashboard"),
}


def _page_context(request: HttpRequest, page: str) -> dict[str, Any]:
    full = not request.htmx  # type: ignore[attr-defined]
    form, filters = _form(request, full=full)
    currency = base_currency()
    can = Can.of(request.user)
    if page == "manager":
        data = manager_read(filters)
        cards = manager_cards(data, filters, currency)
        charts = manager_charts(data, filters, currency)
        empty = not (data["sales"].orders or data["traffic"]["sessions"])
    elif page == "marketing":
        data = marketing_read(filters)
        cards = marketing_cards(data, filters, currency, can)
        charts = marketing_charts(data, filters, currency, can)
        empty = not (
            data["campaigns"]
            or data["traffic"]["sessions"]
            or any(r.started for r in data["journeys"])
            or any(r.sent for r in data["messages"])
        )
    else:
        data = sales_read(filters)
        cards = sales_cards(data, filters, can)
        charts = sales_charts(data, filters, can)
        empty = not (data["speed"].qualified or any(r.started for r in data["cadences"]))
    refreshed = (
        RefreshState.objects.filter(name="rollups").values_list("refreshed_at", flat=True).first()
    )
    context: dict[str, Any] = {
        "page": page,
        "title": str(TITLES[page]),
        "filters": filters,
        "cards": cards,
        "charts": charts,
        "empty": empty,
        "currency": currency,
        "zone": reporting_zone().key,
        "refreshed_at": refreshed,
        "now": timezone.now(),
        "previous": filters.previous() if filters.compare else None,
    }
    if full:
        context.update(
            {
                "form": form,
                "problems": form.problems(),
                "period_dropped": form.period_dropped,
                "period_key": form.period_key,
                "periods": [(key, label) for key, (label, _days) in PERIODS.items()],
                "models": AttributionModel.choices,
                "segments": form.segments or [],
                "choices": filter_choices(filters),
                "uses_model": page != "sales",
                "uses_dimensions": True,
            }
        )
    return context


def _render(request: HttpRequest, page: str) -> HttpResponse:
    context = _page_context(request, page)
    partial = request.htmx  # type: ignore[attr-defined]
    template = "analytics/dashboards/_body.html" if partial else "analytics/dashboards/page.html"
    response = render(request, template, context)
    # The page and its partial share a URL: the browser's cache must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@view_dashboards
@require_GET
def manager_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "manager")


@view_dashboards
@require_GET
def marketing_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "marketing")


@view_dashboards
@require_GET
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "sales")


@view_dashboards
@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    context = {
        "items": [(d, d.computed_text()) for d in DEFINITIONS.values()],
        "currency": base_currency(),
        "zone": reporting_zone().key,
        "page": "definitions",
    }
    return render(request, "analytics/dashboards/definitions.html", context)


# --- CSV ------------------------------------------------------------------------------------


def _export_funnel(steps: list[dict[str, Any]], labels: dict[str, Any]) -> F.Csv:
    return F.csv_of(F.FUNNEL_CSV_COLUMNS, F.funnel_records(steps, labels))


def _export_cohorts(filters: Filters) -> F.Csv:
    months, records = F.cohort_records(S.cohort_retention(filters))
    return F.csv_of(F.cohort_columns(months), records)


def _export_forecast(filters: Filters) -> F.Csv:
    from analytics.selectors_forecast import forecast

    return F.csv_of(F.FORECAST_COLUMNS, F.forecast_records(forecast(filters)))


def _export_alive(filters: Filters) -> F.Csv:
    from analytics.selectors_clv import predictive_clv

    return F.csv_of(F.ALIVE_COLUMNS, F.alive_records(predictive_clv(filters)))


def _engagement(name: str) -> Callable[[Filters], Any]:
    def read(filters: Filters) -> Any:
        from analytics import selectors_engagement

        return getattr(selectors_engagement, name)(filters)

    return read


def _products(name: str) -> Callable[[Filters], Any]:
    def read(filters: Filters) -> Any:
        from analytics import selectors_products

        return getattr(selectors_products, name)(filters)

    return read


EXPORTS: dict[str, Callable[[Filters], F.Csv]] = {
    "revenue": lambda f: F.csv_of(F.REVENUE_COLUMNS, S.sales_by_day(f)),
    "roas-by-channel": lambda f: F.csv_of(F.ROAS_COLUMNS, S.roas_by_channel(f)),
    "conversion-by-source": lambda f: F.csv_of(F.CONVERSION_COLUMNS, S.conversion_by_source(f)),
    "time-to-purchase": lambda f: F.time_to_purchase_csv(S.time_to_purchase(f)),
    "shop-funnel": lambda f: _export_funnel(S.shop_funnel(f), F.SHOP_STEP_LABELS),
    "lead-funnel": lambda f: _export_funnel(S.lead_funnel(f), F.LEAD_STEP_LABELS),
    "cohort-retention": _export_cohorts,
    "rfm-grid": lambda f: F.rfm_csv(S.rfm_grid()),
    "p-alive": _export_alive,
    "forecast": _export_forecast,
    "campaigns": lambda f: F.csv_of(F.CAMPAIGN_COLUMNS, S.roas_by_channel(f, by_campaign=True)),
    "journeys": lambda f: F.csv_of(
        F.JOURNEY_COLUMNS, F.journey_records(_engagement("journey_performance")(f))
    ),
    "messages": lambda f: F.csv_of(
        F.MESSAGE_CSV_COLUMNS, F.message_records(_engagement("message_rates")(f), {})
    ),
    "traffic": lambda f: F.csv_of(F.TRAFFIC_COLUMNS, F.traffic_records(S.traffic_by_day(f))),
    "attribution-models": lambda f: F.csv_of(
        F.attribution_columns(csv=True), F.attribution_records(S.attribution_comparison(f))
    ),
    "top-products": lambda f: F.csv_of(
        F.TOP_PRODUCT_CSV_COLUMNS, F.top_product_records(_products("top_products")(f))
    ),
    "segment-growth": lambda f: F.csv_of(
        F.SEGMENT_COLUMNS, F.segment_records(_products("segment_growth")(f))
    ),
    "speed-to-lead": lambda f: F.csv_of(
        F.SPEED_CSV_COLUMNS, F.speed_records(_engagement("speed_to_lead")(f))
    ),
    "cadences": lambda f: F.csv_of(
        F.CADENCE_COLUMNS, F.cadence_records(_engagement("cadence_performance")(f))
    ),
}


@view_dashboards
@require_GET
def export(request: HttpRequest, figure: str) -> HttpResponseBase:
    """One chart's numbers as CSV, for the same filters as the page it is on."""
    build = EXPORTS.get(figure)
    if build is None:
        raise Http404(_("There is no such figure on the dashboards."))
    form = DashboardFilters(request.GET if request.GET else None)
    if form.is_bound and not form.is_valid():
        # Numbers for other filters than the ones asked for would mislead in a file.
        return HttpResponse(
            _("The filters were not understood: %(errors)s")
            % {"errors": " ".join(form.problems())},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters()
    table = build(filters)
    filename = f"{figure}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    return csv_response(filename=filename, header=table.header, rows=table.rows)
