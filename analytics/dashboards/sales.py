"""The sales manager's dashboard (/dashboards/sales/): speed to lead and cadence
performance, each read once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from analytics.dashboards import figures_sales as F
from analytics.dashboards import format as fmt
from analytics.dashboards.parts import (
    Can,
    Card,
    Chart,
    Kpis,
    delay,
    new_chart,
    team_url,
    url,
)
from analytics.dashboards.tables import table_of
from analytics.definitions import DEFINITIONS
from analytics.filters import Filters

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
        "qualified",
        _("Leads qualified (MQL)"),
        speed.qualified,
        was("qualified"),
        fmt.count,
        **more,
    )
    kpis.add(
        "touched",
        _("Touched by a rep"),
        speed.touched,
        was("touched"),
        fmt.count,
        note=_("%(n)s not touched yet") % {"n": fmt.count(speed.untouched)},
        **more,
    )
    kpis.add(
        "median_speed",
        _("Median speed to lead"),
        speed.median_minutes,
        was("median_minutes"),
        delay,
        better="down",
        note=_("p75 %(p75)s, p90 %(p90)s")
        % {"p75": delay(speed.p75_minutes), "p90": delay(speed.p90_minutes)},
        **more,
    )
    kpis.add(
        "sla_rate",
        _("SLA hit rate"),
        speed.sla_rate,
        was("sla_rate"),
        fmt.pct,
        rate=True,
        note=_("%(hit)s of %(decided)s decided SLAs; %(missed)s missed")
        % {
            "hit": fmt.count(speed.sla_hit),
            "decided": fmt.count(speed.sla_decided),
            "missed": fmt.count(speed.sla_missed),
        },
        **more,
    )
    return kpis.cards


def sales_charts(data: dict[str, Any], filters: Filters, can: Can) -> list[Chart]:
    speed = data["speed"]
    charts = []
    chart = new_chart(
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
        chart.table = table_of(F.SPEED_COLUMNS, F.speed_records(speed))
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
    chart = new_chart(
        "cadences",
        _("Cadence performance"),
        "cadences",
        filters,
        intro=_("Leads that entered each cadence in the period, followed to today."),
        label=_("Conversion and meeting shares per cadence"),
        **(
            {"drill_url": url("cadences"), "drill_label": _("See the cadences")}
            if can.cadences
            else {}
        ),
    )
    chart.figure = F.cadence_figure(records)
    if records:
        links = {"cadence": lambda r: url("cadence_detail", args=[r["id"]])} if can.cadences else {}
        chart.table = table_of(F.CADENCE_COLUMNS, records, links=links)
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
