"""The sales manager's team board (/team/) and its CSV exports. Needs VIEW_TEAM.

The page is the filter form and the board; the board alone is a partial that htmx fetches
again every 30 seconds (same URL, `HX-Request` header), so the numbers move while the
manager watches without the filters being re-rendered under their hands. Each chart is a
plotly figure built here from the selectors' numbers and handed to the browser as JSON
(`json_script`: the CSP allows no inline script); static/js/charts.js draws it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cadences import selectors_team as selectors
from cadences.forms_team import TeamBoardForm
from cadences.models import StepKind
from cadences.selectors_team import (
    SPEED_BUCKETS,
    Attempts,
    BoardScope,
    CadenceRow,
    ConnectGrid,
    RepRow,
    SpeedToLead,
)
from growth.csv_stream import csv_response
from growth.permissions import capability_required
from growth.roles import Capability

view_team = capability_required(Capability.VIEW_TEAM)

BRAND, ACCENT, MUTED = "#0f766e", "#b45309", "#5f6b7a"  # growth.css --brand, --warn, --muted
KIND_LABELS = dict(StepKind.choices)


def _delay(seconds: float | None) -> str:
    """A delay as people say it: "40 s", "12 min", "3 h 5 min", "2 d 4 h"; none: a dash."""
    if seconds is None:
        return "\u2013"
    seconds = max(seconds, 0)
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _weekday(iso: int) -> str:
    return str(WEEKDAYS_ABBR[iso - 1])


# --- Figures ---------------------------------------------------------------------------------


def _figure(fig: go.Figure, **layout: Any) -> dict[str, Any]:
    """The figure as the JSON plotly.js takes, with the board's look. The "none" template
    keeps each figure a few hundred bytes instead of the default template's 6 KB on every
    30-second refresh."""
    fig.update_layout(
        template="none",
        height=320,
        margin={"l": 56, "r": 56, "t": 24, "b": 56},
        font={"family": "system-ui, sans-serif", "size": 12, "color": "#1d2430"},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.22},
        **layout,
    )
    # to_json, not to_plotly_json: it turns numpy and dates into plain JSON json_script takes.
    result: dict[str, Any] = json.loads(fig.to_json())
    return result


def _count_axis(title: str, counts: Sequence[int]) -> dict[str, Any]:
    """An axis of whole leads: a small count gets a tick per lead, never "0.2 leads"."""
    axis: dict[str, Any] = {
        "title": {"text": title},
        "rangemode": "tozero",
        "gridcolor": "#dfe3e8",
        "tickformat": "d",
    }
    if max(counts, default=0) <= 5:
        axis["dtick"] = 1
    return axis


def speed_figure(speed: SpeedToLead) -> dict[str, Any]:
    """Leads per speed-to-lead bucket (bars) with the seed's reach rate (line, right axis):
    the manager sees how many leads fall where the odds are already low."""
    labels = [str(b.bucket.label) for b in speed.buckets]
    seeded = [b for b in SPEED_BUCKETS if b.seed_reach_rate is not None]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[b.leads for b in speed.buckets],
        name=_("Leads"),
        marker_color=BRAND,
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    fig.add_scatter(
        x=[str(b.label) for b in seeded],
        y=[b.seed_reach_rate for b in seeded],
        name=_("Chance to reach the lead live, seed study (%)"),
        mode="lines+markers",
        yaxis="y2",
        line={"color": ACCENT, "width": 2},
        hovertemplate="%{x}: %{y} %<extra></extra>",
    )
    return _figure(
        fig,
        xaxis={"type": "category"},
        yaxis=_count_axis(_("Leads"), [b.leads for b in speed.buckets]),
        yaxis2={
            "title": {"text": _("Reach rate (%)")},
            "overlaying": "y",
            "side": "right",
            "range": [0, 16],  # the seed's curve peaks at 14.3 %
            "dtick": 4,
            "showgrid": False,
        },
    )


def attempts_figure(attempts: Attempts) -> dict[str, Any]:
    """Leads per number of attempts, with the B2C average (5.9) and this board's mean as
    vertical lines: bars left of the benchmark are leads given up too early."""
    fig = go.Figure()
    fig.add_bar(
        x=[n for n, _leads in attempts.bins],
        y=[leads for _n, leads in attempts.bins],
        name=_("Leads"),
        marker_color=BRAND,
        hovertemplate=_("%{x} attempts: %{y} leads") + "<extra></extra>",
    )
    fig.add_vline(
        x=attempts.benchmark,
        line={"color": ACCENT, "dash": "dash", "width": 2},
        annotation_text=_("B2C average %(n)s") % {"n": attempts.benchmark},
        annotation_position="top right",
    )
    if attempts.mean is not None:
        fig.add_vline(
            x=attempts.mean,
            line={"color": MUTED, "dash": "dot", "width": 2},
            annotation_text=_("here %(n).1f") % {"n": attempts.mean},
            annotation_position="top left",
        )
    top = max([n for n, _leads in attempts.bins] + [int(attempts.benchmark) + 1])
    return _figure(
        fig,
        showlegend=False,
        xaxis={"title": {"text": _("Attempts per lead")}, "dtick": 1, "range": [-0.5, top + 0.5]},
        yaxis=_count_axis(_("Leads"), [leads for _n, leads in attempts.bins]),
    )


def connect_figure(grid: ConnectGrid) -> dict[str, Any]:
    """Connect rate per weekday (rows, Monday on top) and hour (columns); hours without
    calls stay blank rather than 0 %, which would read as "calls there never connect"."""
    rates: list[list[float | None]] = [[None] * 24 for _day in range(7)]
    calls: list[list[int]] = [[0] * 24 for _day in range(7)]
    for cell in grid.cells:
        rates[cell.weekday - 1][cell.hour] = _pct(cell.rate)
        calls[cell.weekday - 1][cell.hour] = cell.calls
    # Under the CSP, plotly.js may not set style attributes: a colour bar does (an empty one
    # per fill), and so does a gapless heatmap drawn as one pixelated image. So the cells
    # have gaps and carry their rate as text instead of a colour bar.
    fig = go.Figure(
        go.Heatmap(
            z=rates,
            x=list(range(24)),
            y=[_weekday(day) for day in range(1, 8)],
            customdata=calls,
            zmin=0,
            zmax=100,
            colorscale="Teal",
            showscale=False,
            xgap=2,
            ygap=2,
            texttemplate="%{z:.0f}",
            textfont={"size": 10},
            hoverongaps=False,
            hovertemplate=_("%{y} %{x}:00: %{z} % of %{customdata} calls") + "<extra></extra>",
        )
    )
    return _figure(
        fig,
        xaxis={"title": {"text": _("Hour of day")}, "dtick": 2},
        yaxis={"autorange": "reversed"},
    )


def cadence_figure(rows: Sequence[CadenceRow]) -> dict[str, Any]:
    names = [row.name for row in rows]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[_pct(row.qualified_rate) for row in rows],
        name=_("Qualified (SQL / meeting) %"),
        marker_color=BRAND,
    )
    fig.add_bar(
        x=names,
        y=[_pct(row.meeting_rate) for row in rows],
        name=_("With a meeting booked %"),
        marker_color=ACCENT,
    )
    return _figure(
        fig,
        barmode="group",
        xaxis={"type": "category"},
        yaxis={"title": {"text": "%"}, "rangemode": "tozero", "gridcolor": "#dfe3e8"},
    )


# --- The board -------------------------------------------------------------------------------


@dataclass
class Board:
    """Everything the board partial shows, read once per request."""

    scope: BoardScope
    reps: selectors.RepTable
    speed: SpeedToLead
    attempts: Attempts
    grid: ConnectGrid
    cadences: list[CadenceRow]
    activity: list[selectors.ActivityRow]

    @property
    def empty(self) -> bool:
        return not (
            self.reps.total.active
            or self.speed.qualified
            or self.attempts.leads
            or self.grid.calls
            or self.cadences
            or self.activity
        )


def board_read(form: TeamBoardForm) -> Board:
    scope = form.scope()
    return Board(
        scope=scope,
        reps=selectors.rep_rows(scope),
        speed=selectors.speed_to_lead(scope),
        attempts=selectors.attempts_per_lead(scope, basis=form.cleaned_data["attempts"]),
        grid=selectors.connect_rate_by_hour(scope),
        cadences=selectors.cadence_comparison(scope),
        activity=selectors.rep_activity(scope),
    )


def _board_context(board: Board) -> dict[str, Any]:
    kinds = selectors.activity_kinds(board.activity)
    return {
        "board": board,
        "now": board.scope.now,
        "median": _delay(board.speed.median_seconds),
        "speed_figure": speed_figure(board.speed) if board.speed.qualified else None,
        "attempts_figure": attempts_figure(board.attempts) if board.attempts.leads else None,
        "attempts_basis": selectors.ATTEMPT_BASES[board.attempts.basis],
        "connect_figure": connect_figure(board.grid) if board.grid.calls else None,
        "connect_cells": [(_weekday(c.weekday), c) for c in board.grid.cells],
        "cadence_figure": cadence_figure(board.cadences) if board.cadences else None,
        "activity_kinds": [KIND_LABELS[kind] for kind in kinds],
        "activity_rows": [
            (row, [row.by_kind.get(kind, 0) for kind in kinds]) for row in board.activity
        ],
    }


@view_team
@require_GET
def team_board(request: HttpRequest) -> HttpResponse:
    """The board; its body alone when htmx polls. Filters that are not understood are named
    and answered 400, with no board: numbers for filters other than the ones asked for
    would mislead."""
    form = TeamBoardForm(request.GET, now=timezone.now())
    context: dict[str, Any] = {"form": form}
    status = 400
    if form.is_valid():
        context.update(_board_context(board_read(form)))
        status = 200
    template = "cadences/team/_board.html" if request.htmx else "cadences/team/board.html"  # type: ignore[attr-defined]
    response = render(request, template, context, status=status)
    # The page and its partial share a URL: the browser's cache must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- CSV -------------------------------------------------------------------------------------

Table = tuple[list[str], Iterable[Sequence[Any]]]


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _p(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _rep_line(row: RepRow, now: datetime) -> list[Any]:
    age = row.oldest_age(now)
    return [
        row.name,
        row.team,
        row.queue,
        _iso(row.oldest_due_at),
        round(age.total_seconds() / 60) if age is not None else "",
        row.overdue,
        row.active,
        row.touches,
        row.connects,
        row.meetings,
        row.skips,
        row.sla_hit,
        row.sla_decided,
        _rate(row.sla_rate),
    ]


def reps_csv(form: TeamBoardForm) -> Table:
    scope = form.scope()
    table = selectors.rep_rows(scope)
    header = [
        "rep",
        "team",
        "queue_depth",
        "oldest_due_at",
        "oldest_due_minutes",
        "overdue_steps",
        "active_leads",
        "touches",
        "connects",
        "meetings",
        "skips",
        "sla_hits",
        "sla_decided",
        "sla_hit_rate",
    ]
    rows = [*table.rows, *([table.pool] if table.pool else []), table.total]
    return header, (_rep_line(row, scope.now) for row in rows)


def speed_csv(form: TeamBoardForm) -> Table:
    speed = selectors.speed_to_lead(form.scope())
    header = ["first_touch_after", "leads", "share", "seed_reach_rate_percent"]
    return header, (
        [b.bucket.key, b.leads, _rate(b.share), b.bucket.seed_reach_rate or ""]
        for b in speed.buckets
    )


def attempts_csv(form: TeamBoardForm) -> Table:
    attempts = selectors.attempts_per_lead(form.scope(), basis=form.cleaned_data["attempts"])
    return ["attempts", "leads"], ([n, leads] for n, leads in attempts.bins)


def connect_csv(form: TeamBoardForm) -> Table:
    grid = selectors.connect_rate_by_hour(form.scope())
    header = ["iso_weekday", "weekday", "hour", "calls", "connects", "connect_rate"]
    return header, (
        [c.weekday, _weekday(c.weekday), c.hour, c.calls, c.connects, _rate(c.rate)]
        for c in grid.cells
    )


def cadences_csv(form: TeamBoardForm) -> Table:
    rows = selectors.cadence_comparison(form.scope())
    header = [
        "cadence",
        "started",
        "qualified",
        "qualified_share",
        "with_meeting",
        "meeting_share",
        "reference",
        "p_qualified_vs_reference",
        "p_meeting_vs_reference",
    ]
    return header, (
        [
            r.name,
            r.started,
            r.qualified,
            _rate(r.qualified_rate),
            r.meetings,
            _rate(r.meeting_rate),
            "yes" if r.reference else "",
            _p(r.p_qualified),
            _p(r.p_meeting),
        ]
        for r in rows
    )


def activity_csv(form: TeamBoardForm) -> Table:
    activity = selectors.rep_activity(form.scope())
    # The manual kinds always, so the columns stay put from one export to the next.
    seen = selectors.activity_kinds(activity)
    kinds = [*selectors.MANUAL_KINDS, *(k for k in seen if k not in selectors.MANUAL_KINDS)]
    header = ["rep", "day", *kinds, "total"]
    return header, (
        [row.rep, row.day.isoformat(), *(row.by_kind.get(k, 0) for k in kinds), row.total]
        for row in activity
    )


EXPORTS: dict[str, Callable[[TeamBoardForm], Table]] = {
    "reps": reps_csv,
    "speed-to-lead": speed_csv,
    "attempts": attempts_csv,
    "connect-rate": connect_csv,
    "cadences": cadences_csv,
    "activity": activity_csv,
}


@view_team
@require_GET
def team_export(request: HttpRequest, table: str) -> HttpResponseBase:
    """One of the board's tables as CSV, for the same filters as the board."""
    export = EXPORTS.get(table)
    if export is None:
        raise Http404(_("There is no such table on the team board."))
    form = TeamBoardForm(request.GET, now=timezone.now())
    if not form.is_valid():
        return HttpResponse(
            _("The filters were not understood: %(errors)s") % {"errors": form.error_text()},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    header, rows = export(form)
    scope = form.scope()
    filename = f"team-{table}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv"
    return csv_response(filename=filename, header=header, rows=rows)
