"""The marketer's dashboard's figures, tables and CSV rows: campaigns, traffic, the
attribution models, journeys, messages, top products and segment growth."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.dashboards.figures_manager import ROAS_COLUMNS
from analytics.dashboards.format import DASH, MODEL_LABELS, count, multiple
from analytics.dashboards.plotting import (
    ACCENT,
    BRAND,
    GRID,
    MUTED,
    PALETTE,
    TOP,
    axis,
    count_axis,
    date_axis,
    f,
    figure,
    pct_value,
)
from analytics.dashboards.tables import Cell, Column, Table
from analytics.models import AttributionModel
from growth.shipped import shipped_text

# Campaigns (ROAS by channel, per campaign)

CAMPAIGN_COLUMNS = (
    Column("channel", gettext_lazy("Channel"), "text"),
    Column("campaign", gettext_lazy("Campaign"), "text"),
    *ROAS_COLUMNS[1:],
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
        y=[f(r["spend"]) for r in shown],
        name=_("Ad spend (%(currency)s)") % {"currency": currency},
        marker_color=MUTED,
        hovertemplate="%{x}: %{y:,.2f}<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=[f(r["revenue"]) for r in shown],
        name=_("Attributed revenue (%(currency)s)") % {"currency": currency},
        marker_color=BRAND,
        customdata=[multiple(r["roas"]) for r in shown],
        hovertemplate="%{x}: %{y:,.2f} (ROAS %{customdata})<extra></extra>",
    )
    return figure(
        fig, barmode="group", xaxis={"type": "category", "automargin": True}, yaxis=axis(currency)
    )


def _campaign_label(row: dict[str, Any]) -> str:
    campaign = row.get("campaign") or _("(no campaign)")
    return f"{campaign} · {row['channel']}"


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
        y=[pct_value(r["bounce_rate"]) for r in records],
        name=_("Bounce rate (%)"),
        mode="lines+markers",
        yaxis="y2",
        connectgaps=False,
        line={"color": ACCENT, "width": 2},
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return figure(
        fig,
        xaxis=date_axis(),
        yaxis=count_axis(_("Sessions"), [r["sessions"] for r in records]),
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
            y=[f(r[model]) for r in shown],
            name=str(MODEL_LABELS[model]) + (" ✓" if model == chosen else ""),
            marker={
                "color": PALETTE[i % len(PALETTE)],
                "line": {"width": 2 if model == chosen else 0, "color": "#1d2430"},
            },
            hovertemplate="%{x}: %{y:,.2f}<extra>" + str(MODEL_LABELS[model]) + "</extra>",
        )
    return figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=axis(currency))


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
            "name": shipped_text(r.name),
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
        y=[pct_value(r["conversion_rate"]) for r in shown],
        marker_color=BRAND,
        customdata=[[r["converted"], r["started"]] for r in shown],
        name=_("Runs that reached the goal (%)"),
        hovertemplate=_("%{x}: %{y} % (%{customdata[0]} of %{customdata[1]})") + "<extra></extra>",
    )
    return figure(fig, showlegend=False, xaxis={"type": "category"}, yaxis=axis("%"))


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
            y=[pct_value(record[key]) for key, _label in RATES_SHOWN],
            name=record["label"],
            marker_color=PALETTE[i % len(PALETTE)],
            hovertemplate="%{x}: %{y} %<extra>" + record["label"] + "</extra>",
        )
    return figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=axis("%"))


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
        fig.update_xaxes(**count_axis("", [item[value] for item in items]), row=1, col=col)
    return figure(fig, showlegend=False, height=360, margin={"l": 140, "r": 24, "t": 40, "b": 40})


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
    return [
        {**r, "name": shipped_text(r["name"]), "net_change": int(r["entered"]) - int(r["exited"])}
        for r in rows
    ]


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
    return figure(
        fig,
        barmode="relative",
        xaxis={"type": "category"},
        yaxis={
            "title": {"text": _("Contacts in the period")},
            "gridcolor": GRID,
            "tickformat": "d",
        },
        yaxis2={
            **count_axis(_("Members now"), [r["members"] for r in records]),
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
    )
