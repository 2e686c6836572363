"""The manager dashboard's figures, tables and CSV rows: revenue, ROAS by channel,
conversion, time to purchase, the funnels, cohort retention, the RFM grid, the forecast and
the customers by probability alive."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.dashboards.format import count, multiple, pct
from analytics.dashboards.plotting import (
    ACCENT,
    BRAND,
    MUTED,
    TOP,
    axis,
    count_axis,
    date_axis,
    f,
    figure,
    pct_value,
)
from analytics.dashboards.tables import RAW, Cell, Column, Csv, Table, csv_of, table_of
from growth.formats.localized import local_date, local_month

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
        y=[f(r["net"]) for r in rows],
        name=_("Net revenue (%(currency)s)") % {"currency": currency},
        marker_color=BRAND,
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
    )
    if previous:
        fig.add_scatter(
            x=x[: len(previous)],
            y=[f(r["net"]) for r in previous],
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
    return figure(
        fig,
        xaxis=date_axis(),
        yaxis=axis(currency),
        yaxis2={
            **count_axis(_("Orders"), [r["orders"] for r in rows]),
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


def roas_figure(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """ROAS per channel with ad spend (bars), against break-even at 1."""
    paid = [r for r in rows if r["roas"] is not None][:TOP]
    if not paid:
        return None
    fig = go.Figure()
    fig.add_bar(
        x=[r["channel"] for r in paid],
        y=[f(r["roas"]) for r in paid],
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
    return figure(
        fig,
        showlegend=False,
        xaxis={"type": "category"},
        yaxis=axis(_("Attributed revenue ÷ ad spend")),
    )


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
        y=[pct_value(r["session_conversion"]) for r in shown],
        name=_("Sessions that ordered (%)"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=[pct_value(r["contact_conversion"]) for r in shown],
        name=_("New contacts who became customers (%)"),
        marker_color=ACCENT,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=axis("%"))


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
    return figure(
        fig,
        showlegend=False,
        xaxis={"type": "category"},
        yaxis=count_axis(_("New customers"), counts),
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
    return figure(
        fig,
        showlegend=True,
        margin={"l": 110, "r": 24, "t": 24, "b": 40},
        xaxis=count_axis("", [r["count"] for r in records]),
        yaxis={"type": "category", "autorange": "reversed"},
    )


# Cohort retention


def cohort_records(cohorts: Sequence[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
    """(month offsets, one record per cohort with its size and the share per offset)."""
    months = sorted({m for c in cohorts for m, _share in c["retention"]})
    records = []
    for c in cohorts:
        shares = dict(c["retention"])
        record = {"cohort": c["cohort"], "size": c["size"]}
        record.update({f"m{m}": shares.get(m) for m in months})
        records.append(record)
    return months, records


def cohort_columns(months: Sequence[int]) -> list[Column]:
    return [
        Column("cohort", gettext_lazy("First order in"), "month"),
        Column("customers", gettext_lazy("Customers"), key="size"),
        *(Column(f"month_{m}", f"+{m}", "rate", key=f"m{m}") for m in months),
    ]


def cohort_figure(
    months: Sequence[int], records: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    if not records:
        return None
    z = [[pct_value(r[f"m{m}"]) for m in months] for r in records]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"+{m}" for m in months],
            y=[f"{local_month(r['cohort'])} ({r['size']})" for r in records],
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
    return figure(
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
    return figure(
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
    # Category labels, not date data: the period ends as the reader writes dates.
    x = [local_date(p.end) for p in fc.history]
    nxt = local_date(fc.next_end)
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
        # xgettext:no-python-format
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
    return figure(
        fig,
        xaxis={"type": "category", "title": {"text": _("Period ending")}},
        yaxis=axis(currency),
        yaxis2={
            "title": {"text": _("Orders")},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )


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
    return figure(
        fig,
        showlegend=False,
        xaxis={"type": "category", "title": {"text": _("Probability the customer is alive")}},
        yaxis=count_axis(_("Customers"), [r["customers"] for r in records]),
    )
