"""The sales manager's dashboard's figures, tables and CSV rows: speed to lead and the
cadences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.dashboards.format import decimal
from analytics.dashboards.plotting import (
    ACCENT,
    BRAND,
    TOP,
    axis,
    count_axis,
    figure,
    pct_value,
)
from analytics.dashboards.tables import Column
from growth.shipped import shipped_text

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
    return figure(
        fig,
        xaxis={"type": "category"},
        yaxis=count_axis(_("Leads"), counts),
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
            "name": shipped_text(r.name),
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
        y=[pct_value(r["conversion_rate"]) for r in shown],
        name=_("Converted: qualified or ordered (%)"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    fig.add_bar(
        x=names,
        y=[pct_value(r["meeting_rate"]) for r in shown],
        name=_("With a meeting booked (%)"),
        marker_color=ACCENT,
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return figure(fig, barmode="group", xaxis={"type": "category"}, yaxis=axis("%"))
