"""Selector results turned into what the dashboards show: plotly figures, tables and CSV rows.

The selectors (`analytics.selectors_*`) aggregate in SQL; nothing here adds up rows of the
database. A chart's table and its CSV come from the same records and the same `Column`s, so
the table view, the export and the bars always carry the same numbers: the table formatted
for people (grouping, currency, "42.4 %", a dash for "nothing to divide by"), the CSV plain
(ISO dates, money to the cent, rates as fractions to four places, empty for none).

Figures are built with plotly.graph_objects and handed to the page as JSON (the CSP allows
no inline script; static/js/charts.js draws them). Heatmaps have gaps and no colour bar:
under the CSP plotly.js may not set the style attributes those need.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.models import AttributionModel

BRAND, ACCENT, MUTED, GRID = "#0f766e", "#b45309", "#5f6b7a", "#dfe3e8"  # growth.css colours
PALETTE = ("#0f766e", "#b45309", "#4f46e5", "#be185d", "#5f6b7a", "#0369a1")
DASH = "\u2014"
CENT = Decimal("0.01")
TOP = 15  # bars per chart at most; the table and the CSV keep every row

SHOP_STEP_LABELS = {
    "sessions": gettext_lazy("Visit"),
    "product_views": gettext_lazy("Product view"),
    "carts": gettext_lazy("Cart"),
    "checkouts": gettext_lazy("Checkout"),
    "orders": gettext_lazy("Order"),
}
LEAD_STEP_LABELS = {
    "lead": gettext_lazy("Lead"),
    "mql": gettext_lazy("MQL"),
    "sql": gettext_lazy("SQL"),
    "customer": gettext_lazy("Customer"),
}
MODEL_LABELS = dict(AttributionModel.choices)


# --- Numbers for people ---------------------------------------------------------------------


def _rounded(value: Decimal | float | int, places: int) -> Decimal:
    """Rounded half up (Django's number_format cuts digits off instead of rounding)."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _number(value: Decimal | float | int, places: int, grouping: bool = True) -> str:
    return number_format(_rounded(value, places), decimal_pos=places, force_grouping=grouping)


def count(value: int | float | Decimal | None) -> str:
    if value is None:
        return DASH
    return number_format(int(_rounded(value, 0)), force_grouping=True)


def money(value: Decimal | float | None) -> str:
    """155 → "155.00"; the currency is named once, in the heading or the card."""
    if value is None:
        return DASH
    return _number(value, 2)


def pct(value: Decimal | float | None) -> str:
    """A share: 0.4237 → "42.4 %"; nothing to divide by → a dash."""
    if value is None:
        return DASH
    return _number(Decimal(str(value)) * 100, 1) + "\u00a0%"


def multiple(value: Decimal | float | None) -> str:
    """ROAS, CLV:CAC: 2.345 → "\u00d72.35" (times 2.35)."""
    if value is None:
        return DASH
    return "\u00d7" + _number(value, 2)


def days(value: Decimal | float | None) -> str:
    if value is None:
        return DASH
    return _("%(n)s d") % {"n": _number(value, 1)}


def decimal(value: Decimal | float | None, places: int = 2) -> str:
    if value is None:
        return DASH
    return _number(value, places)


def _f(value: Any) -> float | None:
    """For plotly: a float, or None (a gap)."""
    return None if value is None else float(value)


def _pct_value(value: Any) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


# --- Tables and CSV from one description ----------------------------------------------------

SHOW: dict[str, Callable[[Any], str]] = {
    "text": lambda v: DASH if v in (None, "") else str(v),
    "int": count,
    "maybe_int": count,
    "money": money,
    "rate": pct,
    "multiple": multiple,
    "days": days,
    "decimal": decimal,
    "date": lambda v: v.isoformat() if v else DASH,
}
RAW: dict[str, Callable[[Any], Any]] = {
    "text": lambda v: "" if v is None else str(v),
    "int": lambda v: 0 if v is None else int(v),
    "maybe_int": lambda v: "" if v is None else int(v),
    "money": lambda v: "" if v is None else str(_rounded(v, 2)),
    "rate": lambda v: "" if v is None else f"{float(v):.4f}",
    "multiple": lambda v: "" if v is None else f"{float(v):.4f}",
    "days": lambda v: "" if v is None else f"{float(v):.2f}",
    "decimal": lambda v: "" if v is None else f"{float(v):.4f}",
    "date": lambda v: v.isoformat() if v else "",
}


@dataclass(frozen=True)
class Column:
    name: str  # CSV header: plain English field names, stable from one export to the next
    label: Any  # table header, translated
    kind: str = "int"
    key: str = ""  # the record's key; the name when blank

    def value(self, record: dict[str, Any]) -> Any:
        return record.get(self.key or self.name)


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    tone: str = ""  # "good" / "bad": a target met or missed


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    foot: list[list[Cell]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)


@dataclass
class Csv:
    header: list[str]
    rows: Iterable[Sequence[Any]]


Links = dict[str, Callable[[dict[str, Any]], str]]


def table_of(
    columns: Sequence[Column], records: Iterable[dict[str, Any]], links: Links | None = None
) -> Table:
    links = links or {}
    rows = []
    for record in records:
        row = []
        for column in columns:
            value = column.value(record)
            link = links.get(column.name)
            row.append(Cell(SHOW[column.kind](value), link(record) if link else ""))
        rows.append(row)
    return Table(header=[str(c.label) for c in columns], rows=rows)


def csv_of(columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> Csv:
    return Csv(
        header=[c.name for c in columns],
        rows=[[RAW[c.kind](c.value(r)) for c in columns] for r in records],
    )


# --- Figures --------------------------------------------------------------------------------


def _figure(fig: go.Figure, **layout: Any) -> dict[str, Any]:
    """The figure as plotly.js takes it, in the dashboards' look (`layout` overrides it).
    The "none" template keeps each figure small on every 30-second refresh."""
    look: dict[str, Any] = {
        "template": "none",
        "height": 320,
        "margin": {"l": 64, "r": 64, "t": 24, "b": 64},
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1d2430"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.25},
    }
    fig.update_layout(**{**look, **layout})
    # to_json, not to_plotly_json: it turns numpy and dates into plain JSON json_script takes.
    result: dict[str, Any] = json.loads(fig.to_json())
    return result


def _axis(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "rangemode": "tozero", "gridcolor": GRID, **more}


def _count_axis(title: str, counts: Iterable[int | float], **more: Any) -> dict[str, Any]:
    """An axis of whole things: a small count gets a tick per unit, never "0.5 orders"."""
    small = max((float(c) for c in counts), default=0) <= 5
    return _axis(title, tickformat="d", **({"dtick": 1} if small else {}), **more)


# Revenue by day

REVENUE_COLUMNS = (
    Column("day", gettext_lazy("Day"), "date"),
    Column("orders", gettext_lazy("Orders")),
    Column("new_customers", gettext_lazy("New customers")),
    Column("gross", gettext_lazy("Gross revenue"), "money"),
    Column("net", gettext_lazy("Net revenue"), "money"),
)


def revenue_figure(
    rows: Sequence[dict[str, Any]], currency: str, previous: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Net revenue per day (bars) and orders (line, right axis); with a comparison, the
    previous period's net revenue on the same days, dotted."""
    x = [r["day"].isoformat() for r in rows]
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=[_f(r["net"]) for r in rows],
        name=_("Net revenue (%(currency)s)") % {"currency": currency},
        marker_color=BRAND,
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
    )
    if previous:
        fig.add_scatter(
            x=x[: len(previous)],
            y=[_f(r["net"]) for r in previous],
            customdata=[r["day"].isoformat() for r in previous],
            name=_("Net revenue, previous period"),
            mode="lines",
            line={"color": MUTED, "dash": "dot", "width": 2},
            hovertemplate="%{customdata}: %{y:,.2f}<extra></extra>",
        )
    fig.add_scatter(
        x=x,
        y=[int(r["orders"]) for r in rows],
        name=_("Orders"),
        mode="lines+markers",
        yaxis="y2",
        line={"color": ACCENT, "width": 2},
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    return _figure(
        fig,
        xaxis={"type": "date", "gridcolor": GRID},
        yaxis=_axis(currency),
        yaxis2={
            **_count_axis(_("Orders"), [r["orders"] for r in rows]),
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
        bargap=0.15,
    )


# ROAS by channel (and campaigns)

ROAS_COLUMNS = (
    Column("channel", gettext_lazy("Channel"), "text"),
    Column("spend", gettext_lazy("Ad spend"), "money"),
    Column("clicks", gettext_lazy("Clicks")),
    Column("impressions", gettext_lazy("Impressions")),
    Column("orders", gettext_lazy("Attributed orders"), "decimal"),
    Column("revenue", gettext_lazy("Attributed revenue"), "money"),
    Column("roas", gettext_lazy("ROAS"), "multiple"),
)
CAMPAIGN_COLUMNS = (
    Column("channel", gettext_lazy("Channel"), "text"),
    Column("campaign", gettext_lazy("Campaign"), "text"),
    *ROAS_COLUMNS[1:],
)


def roas_figure(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """ROAS per channel with ad spend (bars), against break-even at 1."""
    paid = [r for r in rows if r["roas"] is not None][:TOP]
    if not paid:
        return None
    fig = go.Figure()
    fig.add_bar(
        x=[r["channel"] for r in paid],
        y=[_f(r["roas"]) for r in paid],
        text=[multiple(r["roas"]) for r in paid],
        textposition="outside",
        marker_color=BRAND,
        name=_("ROAS"),
        hovertemplate="%{x}: %{text}<extra></extra>",
    )
    fig.add_hline(
        y=1,
        line={"color": ACCENT, "dash": "dash", "width": 2},
        annotation_text=_("break-even"),
        annotation_position="top right",
    )
    return _figure(
        fig,
        showlegend=False,
        xaxis={"type": "category"},
        yaxis=_axis(_("Attributed revenue ÷ ad spend")),
    )


def campaigns_figure(rows: Sequence[dict[str, Any]], currency: str) -> dict[str, Any] | None:
    """Spend and attributed revenue side by side for the campaigns that cost or earned most."""
    shown = sorted(rows, key=lambda r: -(float(r["spend"]) + float(r["revenue"])))[:TOP]
    if not shown:
        return None
    labels = [_campaign_label(r) for r in shown]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[_f(r["spend"]) for r in shown],
        name=_("Ad spend (%(currency)s)") % {"currency": currency},
        marker_color=MUTED,
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=[_f(r["revenue"]) for r in shown],
        name=_("Attributed revenue (%(currency)s)") % {"currency": currency},
        marker_color=BRAND,
        customdata=[multiple(r["roas"]) for r in shown],
        hovertemplate="%{x}: %{y:,.2f} (ROAS %{customdata})<extra></extra>",
    )
    return _figure(
        fig, barmode="group", xaxis={"type": "category", "automargin": True}, yaxis=_axis(currency)
    )


def _campaign_label(row: dict[str, Any]) -> str:
    campaign = row.get("campaign") or _("(no campaign)")
    return f"{campaign} · {row['channel']}"


# Conversion by source

CONVERSION_COLUMNS = (
    Column("channel", gettext_lazy("Source / channel"), "text"),
    Column("sessions", gettext_lazy("Sessions")),
    Column("ordering_sessions", gettext_lazy("Sessions with an order")),
    Column("session_conversion", gettext_lazy("Session conversion"), "rate"),
    Column("contacts", gettext_lazy("New contacts")),
    Column("customers", gettext_lazy("Became customers")),
    Column("contact_conversion", gettext_lazy("Contact conversion"), "rate"),
)


def conversion_figure(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    shown = [
        r
        for r in rows
        if r["session_conversion"] is not None or r["contact_conversion"] is not None
    ][:TOP]
    if not shown:
        return None
    x = [r["channel"] for r in shown]
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=[_pct_value(r["session_conversion"]) for r in shown],
        name=_("Sessions that ordered (%)"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=[_pct_value(r["contact_conversion"]) for r in shown],
        name=_("New contacts who became customers (%)"),
        marker_color=ACCENT,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return _figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=_axis("%"))


# Time to purchase

TIME_TO_PURCHASE_COLUMNS = (
    Column("range", gettext_lazy("First contact → first order"), "text"),
    Column("customers", gettext_lazy("New customers")),
)


def time_to_purchase_records(ttp: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"range": str(label), "customers": n} for label, n in ttp["buckets"]]


def time_to_purchase_figure(ttp: dict[str, Any]) -> dict[str, Any] | None:
    if not ttp["customers"]:
        return None
    labels = [str(label) for label, _n in ttp["buckets"]]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[int(n) for _label, n in ttp["buckets"]],
        marker_color=BRAND,
        name=_("New customers"),
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    counts = [int(n) for _label, n in ttp["buckets"]]
    return _figure(
        fig,
        showlegend=False,
        xaxis={"type": "category"},
        yaxis=_count_axis(_("New customers"), counts),
    )


def time_to_purchase_csv(ttp: dict[str, Any]) -> Csv:
    """The histogram, then the percentiles as rows of their own (in days)."""
    table = csv_of(TIME_TO_PURCHASE_COLUMNS, time_to_purchase_records(ttp))
    rows = list(table.rows)
    for name in ("median", "p75", "p90"):
        rows.append([f"{name}_days", RAW["days"](ttp[name])])
    return Csv(header=table.header, rows=rows)


# Funnels

FUNNEL_COLUMNS = (
    Column("label", gettext_lazy("Step"), "text"),
    Column("count", gettext_lazy("Count")),
    Column("from_previous", gettext_lazy("Conversion from the step before"), "rate"),
    Column("drop_off", gettext_lazy("Drop-off"), "rate"),
    Column("target", gettext_lazy("Target"), "rate"),
    Column("from_first", gettext_lazy("From the first step"), "rate"),
)
FUNNEL_CSV_COLUMNS = (
    Column("step", "", "text"),
    *FUNNEL_COLUMNS[1:4],
    Column("from_first", "", "rate"),
    Column("target", "", "rate"),
    Column("on_target", "", "text"),
)


def funnel_records(steps: Sequence[dict[str, Any]], labels: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **step,
            "target": step.get("target"),
            "on_target": {True: "yes", False: "no", None: ""}[step.get("on_target")],
            "label": str(labels.get(step["step"], step["step"])),
        }
        for step in steps
    ]


def funnel_table(records: Sequence[dict[str, Any]]) -> Table:
    table = table_of(FUNNEL_COLUMNS, records)
    # A conversion below its target shows as missed, at or above as met.
    for row, record in zip(table.rows, records, strict=True):
        on = record["on_target"]
        if on:
            row[2] = Cell(row[2].text, tone="good" if on == "yes" else "bad")
    return table


def funnel_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """One bar per step, the first on top, each labelled with its count and its conversion
    from the step before; a step with a target gets a mark at the count that would meet it
    (the step before's count x the target conversion)."""
    if not records or not records[0]["count"]:
        return None
    labels = [r["label"] for r in records]
    text = [
        count(r["count"])
        if r["from_previous"] is None
        else f"{count(r['count'])} ({pct(r['from_previous'])})"
        for r in records
    ]
    fig = go.Figure()
    fig.add_bar(
        x=[int(r["count"]) for r in records],
        y=labels,
        orientation="h",
        text=text,
        textposition="auto",
        marker_color=BRAND,
        name=_("Count (conversion from the step before)"),
        hovertemplate="%{y}: %{text}<extra></extra>",
    )
    targets_x, targets_y, targets_text = [], [], []
    for before, step in pairwise(records):
        if step.get("target") is not None:
            targets_x.append(float(before["count"]) * float(step["target"]))
            targets_y.append(step["label"])
            targets_text.append(pct(step["target"]))
    if targets_x:
        fig.add_scatter(
            x=targets_x,
            y=targets_y,
            customdata=targets_text,
            mode="markers",
            marker={"symbol": "line-ns", "size": 24, "line": {"width": 3, "color": ACCENT}},
            name=_("Target"),
            hovertemplate=_("%{y}: target %{customdata}, %{x:.0f}") + "<extra></extra>",
        )
    return _figure(
        fig,
        showlegend=True,
        margin={"l": 110, "r": 24, "t": 24, "b": 40},
        xaxis=_count_axis("", [r["count"] for r in records]),
        yaxis={"type": "category", "autorange": "reversed"},
    )


# Cohort retention


def cohort_records(cohorts: Sequence[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
    """(month offsets, one record per cohort with its size and the share per offset)."""
    months = sorted({m for c in cohorts for m, _share in c["retention"]})
    records = []
    for c in cohorts:
        shares = dict(c["retention"])
        record = {"cohort": c["cohort"].strftime("%Y-%m"), "size": c["size"]}
        record.update({f"m{m}": shares.get(m) for m in months})
        records.append(record)
    return months, records


def cohort_columns(months: Sequence[int]) -> list[Column]:
    return [
        Column("cohort", gettext_lazy("First order in"), "text"),
        Column("customers", gettext_lazy("Customers"), key="size"),
        *(Column(f"month_{m}", f"+{m}", "rate", key=f"m{m}") for m in months),
    ]


def cohort_figure(
    months: Sequence[int], records: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    if not records:
        return None
    z = [[_pct_value(r[f"m{m}"]) for m in months] for r in records]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"+{m}" for m in months],
            y=[f"{r['cohort']} ({r['size']})" for r in records],
            zmin=0,
            zmax=100,
            colorscale="Teal",
            showscale=False,
            xgap=2,
            ygap=2,
            texttemplate="%{z:.0f}",
            textfont={"size": 10},
            hoverongaps=False,
            hovertemplate=_("%{y}, month %{x}: %{z} %") + "<extra></extra>",
        )
    )
    return _figure(
        fig,
        height=max(240, 28 * len(records) + 90),
        margin={"l": 110, "r": 24, "t": 24, "b": 56},
        xaxis={"title": {"text": _("Months after the first order")}, "type": "category"},
        yaxis={"type": "category", "autorange": "reversed"},
    )


# RFM grid

RFM_COLUMNS = (
    Column("recency_score", "", key="r"),
    Column("frequency_score", "", key="f"),
    Column("customers", ""),
    Column("net_revenue", "", "money", key="net"),
)


def rfm_matrix(grid: dict[str, Any]) -> list[list[int]]:
    """Customers per cell: rows recency 5 (bought lately) to 1, columns frequency 1 to 5."""
    cells = {(int(c["r"]), int(c["f"])): int(c["customers"]) for c in grid["cells"]}
    return [[cells.get((r, f), 0) for f in range(1, 6)] for r in range(5, 0, -1)]


def rfm_table(grid: dict[str, Any]) -> Table:
    header = [_("Recency \\ frequency"), *(str(f) for f in range(1, 6))]
    rows = [
        [Cell(str(r)), *(Cell(count(n)) for n in line)]
        for r, line in zip(range(5, 0, -1), rfm_matrix(grid), strict=True)
    ]
    return Table(header=header, rows=rows)


def rfm_csv(grid: dict[str, Any]) -> Csv:
    cells = sorted(grid["cells"], key=lambda c: (-int(c["r"]), int(c["f"])))
    return csv_of(RFM_COLUMNS, cells)


def rfm_figure(grid: dict[str, Any]) -> dict[str, Any] | None:
    if not grid["customers"]:
        return None
    fig = go.Figure(
        go.Heatmap(
            z=rfm_matrix(grid),
            x=[str(f) for f in range(1, 6)],
            y=[str(r) for r in range(5, 0, -1)],
            colorscale="Teal",
            showscale=False,
            xgap=2,
            ygap=2,
            texttemplate="%{z}",
            hovertemplate=_("recency %{y}, frequency %{x}: %{z} customers") + "<extra></extra>",
        )
    )
    return _figure(
        fig,
        xaxis={"title": {"text": _("Frequency score (5: most orders)")}, "type": "category"},
        yaxis={"title": {"text": _("Recency score (5: bought lately)")}, "type": "category"},
    )


# Forecast

FORECAST_COLUMNS = (
    Column("start", gettext_lazy("From"), "date"),
    Column("end", gettext_lazy("To"), "date"),
    Column("kind", gettext_lazy("Figures"), "text"),
    Column("orders", gettext_lazy("Orders"), "decimal"),
    Column("orders_low", gettext_lazy("Orders, low"), "decimal"),
    Column("orders_high", gettext_lazy("Orders, high"), "decimal"),
    Column("net", gettext_lazy("Net revenue"), "money"),
    Column("net_low", gettext_lazy("Net revenue, low"), "money"),
    Column("net_high", gettext_lazy("Net revenue, high"), "money"),
)


def forecast_records(fc: Any) -> list[dict[str, Any]]:
    """The history, then the forecast period (when there is enough history)."""
    records: list[dict[str, Any]] = [
        {"start": p.start, "end": p.end, "kind": _("actual"), "orders": p.orders, "net": p.net}
        for p in fc.history
    ]
    if fc.orders is not None and fc.net is not None:
        records.append(
            {
                "start": fc.next_start,
                "end": fc.next_end,
                "kind": _("forecast"),
                "orders": fc.orders.value,
                "orders_low": fc.orders.low,
                "orders_high": fc.orders.high,
                "net": Decimal(str(fc.net.value)),
                "net_low": Decimal(str(fc.net.low)),
                "net_high": Decimal(str(fc.net.high)),
            }
        )
    return records


def forecast_figure(fc: Any, currency: str) -> dict[str, Any] | None:
    if fc.net is None or fc.orders is None:
        return None
    x = [p.end.isoformat() for p in fc.history]
    nxt = fc.next_end.isoformat()
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=[p.net for p in fc.history],
        name=_("Net revenue (%(currency)s)") % {"currency": currency},
        marker_color=BRAND,
        hovertemplate=_("period to %{x}: %{y:,.2f}") + "<extra></extra>",
    )
    fig.add_bar(
        x=[nxt],
        y=[fc.net.value],
        name=_("Forecast net revenue, 80 % interval"),
        marker_color="#99c9c3",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [fc.net.high - fc.net.value],
            "arrayminus": [fc.net.value - fc.net.low],
            "color": MUTED,
        },
        hovertemplate=_("forecast to %{x}: %{y:,.2f}") + "<extra></extra>",
    )
    fig.add_scatter(
        x=[*x, nxt],
        y=[*(p.orders for p in fc.history), fc.orders.value],
        name=_("Orders (forecast last)"),
        mode="lines+markers",
        yaxis="y2",
        line={"color": ACCENT, "width": 2},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [0.0] * len(x) + [fc.orders.high - fc.orders.value],
            "arrayminus": [0.0] * len(x) + [fc.orders.value - fc.orders.low],
            "color": ACCENT,
        },
        hovertemplate="%{x}: %{y:.0f}<extra></extra>",
    )
    return _figure(
        fig,
        xaxis={"type": "category", "title": {"text": _("Period ending")}},
        yaxis=_axis(currency),
        yaxis2={
            "title": {"text": _("Orders")},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )


# Traffic

TRAFFIC_COLUMNS = (
    Column("day", gettext_lazy("Day"), "date"),
    Column("sessions", gettext_lazy("Sessions")),
    Column("bounces", gettext_lazy("Bounces")),
    Column("bounce_rate", gettext_lazy("Bounce rate"), "rate"),
)


def traffic_records(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "bounce_rate": (r["bounces"] / r["sessions"]) if r["sessions"] else None}
        for r in rows
    ]


def traffic_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if not any(r["sessions"] for r in records):
        return None
    x = [r["day"].isoformat() for r in records]
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=[int(r["sessions"]) for r in records],
        name=_("Sessions"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=[_pct_value(r["bounce_rate"]) for r in records],
        name=_("Bounce rate (%)"),
        mode="lines+markers",
        yaxis="y2",
        connectgaps=False,
        line={"color": ACCENT, "width": 2},
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return _figure(
        fig,
        xaxis={"type": "date", "gridcolor": GRID},
        yaxis=_count_axis(_("Sessions"), [r["sessions"] for r in records]),
        yaxis2={
            "title": {"text": _("Bounce rate (%)")},
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "dtick": 25,
            "showgrid": False,
        },
    )


# Attribution model comparison

MODELS = [m for m, _label in AttributionModel.choices]


def attribution_records(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per channel with the revenue credited under each model, largest first."""
    by_channel: dict[str, dict[str, Any]] = {}
    for row in rows:
        record = by_channel.setdefault(row["channel"], {"channel": row["channel"]})
        record[row["model"]] = row["revenue"]
        record[f"{row['model']}_orders"] = row["orders"]
    records = list(by_channel.values())
    for record in records:
        for model in MODELS:
            record.setdefault(model, Decimal("0.00"))
            record.setdefault(f"{model}_orders", Decimal("0"))
    records.sort(key=lambda r: (-r[AttributionModel.FIRST_TOUCH], r["channel"]))
    return records


def attribution_columns(csv: bool = False) -> list[Column]:
    columns = [Column("channel", gettext_lazy("Channel"), "text")]
    for model in MODELS:
        columns.append(Column(f"revenue_{model}", MODEL_LABELS[model], "money", key=model))
        if csv:
            columns.append(Column(f"orders_{model}", "", "decimal", key=f"{model}_orders"))
    return columns


def attribution_figure(
    records: Sequence[dict[str, Any]], chosen: str, currency: str
) -> dict[str, Any] | None:
    shown = list(records)[:TOP]
    if not shown:
        return None
    fig = go.Figure()
    for i, model in enumerate(MODELS):
        fig.add_bar(
            x=[r["channel"] for r in shown],
            y=[_f(r[model]) for r in shown],
            name=str(MODEL_LABELS[model]) + (" ✓" if model == chosen else ""),
            marker={
                "color": PALETTE[i % len(PALETTE)],
                "line": {"width": 2 if model == chosen else 0, "color": "#1d2430"},
            },
            hovertemplate="%{x}: %{y:,.2f}<extra>" + str(MODEL_LABELS[model]) + "</extra>",
        )
    return _figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=_axis(currency))


# Predictive CLV: how the customers spread over the probability of being alive

ALIVE_COLUMNS = (
    Column("p_alive_from", gettext_lazy("Probability alive from"), "rate", key="low"),
    Column("p_alive_to", gettext_lazy("to"), "rate", key="high"),
    Column("customers", gettext_lazy("Customers")),
)


def alive_records(clv: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"low": low, "high": high, "customers": n} for low, high, n in clv["alive_spread"]]


def alive_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if not any(r["customers"] for r in records):
        return None
    fig = go.Figure()
    fig.add_bar(
        x=[f"{round(r['low'] * 100)}\u2013{round(r['high'] * 100)} %" for r in records],
        y=[int(r["customers"]) for r in records],
        marker_color=BRAND,
        name=_("Customers"),
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    return _figure(
        fig,
        showlegend=False,
        xaxis={"type": "category", "title": {"text": _("Probability the customer is alive")}},
        yaxis=_count_axis(_("Customers"), [r["customers"] for r in records]),
    )


# Speed to lead (the engagement selectors' buckets)

SPEED_COLUMNS = (
    Column("bucket", gettext_lazy("First touch"), "text", key="label"),
    Column("leads", gettext_lazy("Leads")),
    Column("share", gettext_lazy("Share"), "rate"),
    Column("seed_reach_rate", gettext_lazy("Reach rate in the seed study"), "text", key="seed"),
)
SPEED_CSV_COLUMNS = (
    Column("bucket", "", "text", key="key"),
    Column("leads", ""),
    Column("share", "", "rate"),
    Column("seed_reach_rate_percent", "", "text", key="seed_raw"),
)


def speed_records(speed: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": b.key,
            "label": b.label,
            "leads": b.leads,
            "share": b.share,
            "seed": f"{decimal(b.seed_reach_rate, 1)}\u00a0%" if b.seed_reach_rate else None,
            "seed_raw": b.seed_reach_rate if b.seed_reach_rate is not None else "",
        }
        for b in speed.buckets
    ]


def speed_figure(speed: Any) -> dict[str, Any] | None:
    """Leads per speed-to-lead range (bars) and the seed's chance to reach a lead live by how
    soon it was called (line, right axis), as on the team board."""
    if not speed.qualified:
        return None
    fig = go.Figure()
    fig.add_bar(
        x=[b.label for b in speed.buckets],
        y=[b.leads for b in speed.buckets],
        name=_("Leads"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    seeded = [b for b in speed.buckets if b.seed_reach_rate is not None]
    fig.add_scatter(
        x=[b.label for b in seeded],
        y=[b.seed_reach_rate for b in seeded],
        name=_("Chance to reach the lead live, seed study (%)"),
        mode="lines+markers",
        yaxis="y2",
        line={"color": ACCENT, "width": 2},
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    counts = [b.leads for b in speed.buckets]
    return _figure(
        fig,
        xaxis={"type": "category"},
        yaxis=_count_axis(_("Leads"), counts),
        yaxis2={
            "title": {"text": _("Reach rate (%)")},
            "overlaying": "y",
            "side": "right",
            "range": [0, 16],
            "dtick": 4,
            "showgrid": False,
        },
    )


# Cadences

CADENCE_COLUMNS = (
    Column("cadence", gettext_lazy("Cadence"), "text", key="name"),
    Column("status", gettext_lazy("Status"), "text"),
    Column("started", gettext_lazy("Leads")),
    Column("contacted_rate", gettext_lazy("Contacted"), "rate"),
    Column("reply_rate", gettext_lazy("Replied"), "rate"),
    Column("meeting_rate", gettext_lazy("With a meeting"), "rate"),
    Column("qualified", gettext_lazy("Qualified")),
    Column("ordered", gettext_lazy("Ordered")),
    Column("conversion_rate", gettext_lazy("Conversion"), "rate"),
    Column("p_value", gettext_lazy("p vs the best of its A/B group"), "decimal"),
)


def cadence_records(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.cadence_id,
            "name": r.name,
            "status": r.status,
            "started": r.started,
            "contacted_rate": r.contacted_rate,
            "reply_rate": r.reply_rate,
            "meeting_rate": r.meeting_rate,
            "qualified": r.qualified,
            "ordered": r.ordered,
            "conversion_rate": r.conversion_rate,
            "p_value": r.p_value,
            "reference": r.reference,
            "significant": r.significant,
        }
        for r in rows
    ]


def cadence_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    shown = [r for r in records if r["started"]][:TOP]
    if not shown:
        return None
    names = [r["name"] for r in shown]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[_pct_value(r["conversion_rate"]) for r in shown],
        name=_("Converted: qualified or ordered (%)"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    fig.add_bar(
        x=names,
        y=[_pct_value(r["meeting_rate"]) for r in shown],
        name=_("With a meeting booked (%)"),
        marker_color=ACCENT,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return _figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=_axis("%"))


# Journeys

JOURNEY_COLUMNS = (
    Column("journey", gettext_lazy("Journey"), "text", key="name"),
    Column("status", gettext_lazy("Status"), "text"),
    Column("started", gettext_lazy("Runs started")),
    Column("converted", gettext_lazy("Reached the goal")),
    Column("under_way", gettext_lazy("Under way")),
    Column("conversion_rate", gettext_lazy("Conversion"), "rate"),
    Column("sent", gettext_lazy("Messages sent")),
    Column("clicked", gettext_lazy("Clicked")),
    Column("orders", gettext_lazy("Orders during runs")),
    Column("revenue", gettext_lazy("Their net revenue"), "money"),
)


def journey_records(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.journey_id,
            "name": r.name,
            "status": r.status,
            "started": r.started,
            "converted": r.converted,
            "under_way": r.under_way,
            "conversion_rate": r.conversion_rate,
            "sent": r.sent,
            "clicked": r.clicked,
            "orders": r.orders,
            "revenue": r.revenue,
        }
        for r in rows
    ]


def journey_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    shown = [r for r in records if r["started"]][:TOP]
    if not shown:
        return None
    fig = go.Figure()
    fig.add_bar(
        x=[r["name"] for r in shown],
        y=[_pct_value(r["conversion_rate"]) for r in shown],
        marker_color=BRAND,
        customdata=[[r["converted"], r["started"]] for r in shown],
        name=_("Runs that reached the goal (%)"),
        hovertemplate=_("%{x}: %{y} % (%{customdata[0]} of %{customdata[1]})") + "<extra></extra>",
    )
    return _figure(fig, showlegend=False, xaxis={"type": "category"}, yaxis=_axis("%"))


# Message metrics

MESSAGE_COLUMNS = (
    Column("channel", gettext_lazy("Channel"), "text", key="label"),
    Column("sent", gettext_lazy("Sent")),
    Column("delivered", gettext_lazy("Delivered")),
    Column("delivered_rate", gettext_lazy("Delivery rate"), "rate"),
    Column("opened", gettext_lazy("Opened")),
    Column("open_rate", gettext_lazy("Open rate"), "rate"),
    Column("clicked", gettext_lazy("Clicked")),
    Column("click_rate", gettext_lazy("Click rate"), "rate"),
    Column("unsubscribed", gettext_lazy("Unsubscribed")),
    Column("unsubscribe_rate", gettext_lazy("Unsubscribe rate"), "rate"),
    Column("bounced", gettext_lazy("Bounced")),
    Column("bounce_rate", gettext_lazy("Bounce rate"), "rate"),
    Column("complained", gettext_lazy("Marked as spam")),
    Column("failed", gettext_lazy("Failed")),
)
# The CSV leaves a count the channel does not report empty, as the table shows a dash.
MESSAGE_CSV_COLUMNS = (
    Column("channel", "", "text"),
    *(Column(c.name, "", "rate" if c.kind == "rate" else "maybe_int") for c in MESSAGE_COLUMNS[1:]),
)
RATES_SHOWN = (
    ("delivered_rate", gettext_lazy("delivered")),
    ("open_rate", gettext_lazy("opened")),
    ("click_rate", gettext_lazy("clicked")),
    ("unsubscribe_rate", gettext_lazy("unsubscribed")),
    ("bounce_rate", gettext_lazy("bounced")),
)


def message_records(rows: Sequence[Any], labels: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**vars(r), "label": capfirst(str(labels.get(r.channel, r.channel)))} for r in rows]


def message_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Per rate (delivered, opened, …) one bar per channel; a rate a channel does not report
    (SMS opens) is left out, not drawn as 0."""
    if not any(r["sent"] for r in records):
        return None
    fig = go.Figure()
    for i, record in enumerate(records):
        fig.add_bar(
            x=[str(label) for _key, label in RATES_SHOWN],
            y=[_pct_value(record[key]) for key, _label in RATES_SHOWN],
            name=record["label"],
            marker_color=PALETTE[i % len(PALETTE)],
            hovertemplate="%{x}: %{y} %<extra>" + record["label"] + "</extra>",
        )
    return _figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=_axis("%"))


# Top products

TOP_PRODUCT_LISTS = (
    ("viewed", gettext_lazy("Most viewed"), "views", gettext_lazy("views")),
    ("bought", gettext_lazy("Most bought"), "quantity", gettext_lazy("units")),
    ("abandoned", gettext_lazy("Most abandoned"), "abandoned", gettext_lazy("carts left")),
)
TOP_PRODUCT_CSV_COLUMNS = (
    Column("list", "", "text"),
    Column("rank", ""),
    Column("product", "", "text"),
    Column("name", "", "text"),
    Column("count", ""),
    Column("revenue", "", "money"),
)


def top_product_records(top: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The three lists one after the other, ranked, in the CSV's long form."""
    return [
        {
            "list": key,
            "rank": rank,
            "product": row["product"],
            "name": row.get("name") or row["product"],
            "count": row[value],
            "revenue": row.get("revenue"),
        }
        for key, _title, value, _unit in TOP_PRODUCT_LISTS
        for rank, row in enumerate(top[key], start=1)
    ]


def top_products_table(top: dict[str, list[dict[str, Any]]]) -> Table:
    """Rank by rank, the three lists side by side."""
    depth = max((len(top[key]) for key, *_rest in TOP_PRODUCT_LISTS), default=0)
    rows = []
    for i in range(depth):
        row = [Cell(str(i + 1))]
        for key, _title, value, unit in TOP_PRODUCT_LISTS:
            items = top[key]
            if i < len(items):
                item = items[i]
                row.append(
                    Cell(f"{item.get('name') or item['product']} ({count(item[value])} {unit})")
                )
            else:
                row.append(Cell(DASH))
        rows.append(row)
    header = ["#", *(str(title) for _key, title, _value, _unit in TOP_PRODUCT_LISTS)]
    return Table(header=header, rows=rows)


def top_products_figure(top: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    from plotly.subplots import make_subplots

    if not any(top[key] for key, *_rest in TOP_PRODUCT_LISTS):
        return None
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=[str(title) for _key, title, _value, _unit in TOP_PRODUCT_LISTS],
        horizontal_spacing=0.12,
    )
    for col, (key, _title, value, unit) in enumerate(TOP_PRODUCT_LISTS, start=1):
        items = top[key][:TOP]
        fig.add_bar(
            x=[int(item[value]) for item in items],
            y=[str(item.get("name") or item["product"])[:28] for item in items],
            orientation="h",
            marker_color=PALETTE[col - 1],
            name=str(unit),
            hovertemplate="%{y}: %{x} " + str(unit) + "<extra></extra>",
            row=1,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=col)
        fig.update_xaxes(**_count_axis("", [item[value] for item in items]), row=1, col=col)
    return _figure(fig, showlegend=False, height=360, margin={"l": 140, "r": 24, "t": 40, "b": 40})


# Segment growth

SEGMENT_COLUMNS = (
    Column("segment", gettext_lazy("Segment or persona"), "text", key="name"),
    Column("kind", gettext_lazy("Kind"), "text"),
    Column("members", gettext_lazy("Members now")),
    Column("entered", gettext_lazy("Entered in the period")),
    Column("exited", gettext_lazy("Left in the period")),
    Column("net_change", gettext_lazy("Net change")),
)


def segment_records(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "net_change": int(r["entered"]) - int(r["exited"])} for r in rows]


def segment_figure(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if not any(r["members"] or r["entered"] or r["exited"] for r in records):
        return None
    names = [r["name"] for r in records]
    fig = go.Figure()
    fig.add_bar(
        x=names, y=[int(r["entered"]) for r in records], name=_("Entered"), marker_color=BRAND
    )
    fig.add_bar(
        x=names, y=[-int(r["exited"]) for r in records], name=_("Left"), marker_color=ACCENT
    )
    fig.add_scatter(
        x=names,
        y=[int(r["members"]) for r in records],
        name=_("Members now"),
        mode="markers",
        yaxis="y2",
        marker={"color": MUTED, "size": 10, "symbol": "diamond"},
    )
    return _figure(
        fig,
        barmode="relative",
        xaxis={"type": "category"},
        yaxis={
            "title": {"text": _("Contacts in the period")},
            "gridcolor": GRID,
            "tickformat": "d",
        },
        yaxis2={
            **_count_axis(_("Members now"), [r["members"] for r in records]),
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
    )
