"""The team board: each figure against a small hand-computed fixture, the filters (and the
clear answer to ones that are not understood), the CSV exports, who may see the board, a
query count that does not grow with the data, and the empty board."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.selectors_journeys import two_proportion_p
from cadences import selectors_team as selectors
from cadences.forms_team import TeamBoardForm
from cadences.models import Cadence, Enrollment, Rep, Skip, Team, Touch
from cadences.selectors_team import BoardScope
from growth.roles import Role
from tests.cadences.helpers import NOW, mql, published, team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

E = Enrollment
BERLIN = ZoneInfo("Europe/Berlin")
Q = NOW - timedelta(days=2)  # Sunday 8 June 2025, 08:00 UTC: most leads qualify then
WEEK = BoardScope(start=NOW - timedelta(days=7), end=NOW, now=NOW)
MIN = timedelta(minutes=1)


@dataclass
class Board:
    """The fixture's handles: reps by short name, enrollments e1…e10, the two cadences."""

    reps: dict[str, Rep]
    e: dict[int, Enrollment]
    fast: Cadence
    slow: Cadence
    berlin: Team
    lisbon: Team
    touches: list[Touch] = field(default_factory=list)


def _rep(first: str, last: str, on: Team) -> Rep:
    return Rep.objects.create(user=UserFactory(first_name=first, last_name=last), team=on)


def build(offset: int = 0) -> Board:
    """3 reps, 10 enrollments with known qualification and first-touch times, their touches
    and skips. `offset` builds the same shapes again with new reps, leads and cadences (twice
    the data for the query-count test)."""
    berlin = team()
    lisbon = Team.objects.get_or_create(name="Lisbon", defaults={"time_zone": "Europe/Lisbon"})[0]
    reps = {
        "ann": _rep("Ann", f"Archer{offset or ''}", berlin),
        "bob": _rep("Bob", f"Baker{offset or ''}", berlin),
        "cy": _rep("Cy", f"Cole{offset or ''}", lisbon),
    }
    fast = published(f"Fast{offset or ''}", team=berlin)
    slow = published(f"Slow{offset or ''}")

    def enroll(n: int, who: str | None, cadence: Cadence, **fields: object) -> Enrollment:
        qualified = fields.pop("qualified_at", Q)
        assert isinstance(qualified, datetime)
        values: dict[str, object] = {
            "status": E.Status.ACTIVE,
            "kind": "call",
            "sla_due_at": qualified + 30 * MIN,
            "started_at": qualified,
            **fields,
        }
        if values["status"] == E.Status.ENDED:
            values["kind"] = ""
        return E.objects.create(
            contact=mql(offset + n),
            cadence=cadence,
            version=cadence.live,
            rep=reps[who] if who else None,
            qualified_at=qualified,
            key=f"team-{offset}-{n}",
            **values,
        )

    ended = {"status": E.Status.ENDED, "ended_at": NOW - timedelta(days=1)}
    e = {
        1: enroll(1, "ann", fast, first_touch_at=Q + 3 * MIN, due_at=NOW - timedelta(hours=2)),
        2: enroll(2, "ann", fast, first_touch_at=Q + 10 * MIN, due_at=NOW - 30 * MIN),
        3: enroll(3, "ann", slow, first_touch_at=Q + 45 * MIN, outcome="qualified", **ended),
        4: enroll(4, "bob", fast, first_touch_at=Q + 20 * MIN, outcome="qualified", **ended),
        5: enroll(
            5,
            "bob",
            slow,
            first_touch_at=Q + timedelta(hours=5),
            kind="email_auto",
            due_at=NOW - timedelta(hours=1),
        ),
        6: enroll(6, "bob", slow, due_at=NOW + timedelta(hours=1)),
        7: enroll(
            7,
            "cy",
            fast,
            first_touch_at=Q + timedelta(hours=25),
            status=E.Status.ENDED,
            outcome="not_interested",
            ended_at=NOW - timedelta(hours=2),
        ),
        8: enroll(8, "cy", slow, qualified_at=NOW - 10 * MIN, due_at=NOW - 10 * MIN),
        9: enroll(9, None, fast, qualified_at=NOW - 5 * MIN, due_at=NOW - 5 * MIN),
        10: enroll(
            10,
            "ann",
            fast,
            qualified_at=NOW - timedelta(days=20),
            first_touch_at=NOW - timedelta(days=20) + MIN,
            due_at=NOW - timedelta(hours=3),
        ),
    }
    board = Board(reps=reps, e=e, fast=fast, slow=slow, berlin=berlin, lisbon=lisbon)
    plan = [
        (1, "ann", "call", "connected", Q + 3 * MIN),
        (2, "ann", "call", "no_answer", Q + 10 * MIN),
        (2, "ann", "email_manual", "sent", NOW - timedelta(days=1)),
        (3, "ann", "call", "meeting", Q + 45 * MIN),
        (4, "bob", "call", "connected", Q + 20 * MIN),
        (4, "bob", "call", "meeting", NOW - timedelta(days=1)),
        (5, "bob", "call", "voicemail", Q + timedelta(hours=5)),
        (5, "bob", "email_auto", "automatic", Q + timedelta(days=1)),
        (7, "cy", "call", "no_answer", Q + timedelta(hours=25)),
        (7, "cy", "call", "not_interested", NOW - timedelta(hours=2)),
        (10, "ann", "call", "connected", NOW - timedelta(days=20) + MIN),
    ]
    for i, (n, who, kind, disposition, at) in enumerate(plan):
        board.touches.append(
            Touch.objects.create(
                enrollment=e[n],
                contact_id=e[n].contact_id,
                rep=reps[who],
                step=1,
                kind=kind,
                disposition=disposition,
                at=at,
                key=f"touch-{offset}-{i}",
            )
        )
    Skip.objects.create(
        enrollment=e[2], rep=reps["ann"], reason="busy", at=NOW - timedelta(hours=1)
    )
    Skip.objects.create(enrollment=e[8], rep=reps["cy"], reason="later", at=NOW - 5 * MIN)
    Skip.objects.create(enrollment=e[8], rep=reps["cy"], reason="old", at=NOW - timedelta(days=8))
    return board


@pytest.fixture
def board() -> Board:
    return build()


# --- Figures ---------------------------------------------------------------------------------


def test_per_rep_queue_work_and_sla(board: Board) -> None:
    table = selectors.rep_rows(WEEK)
    rows = {row.name.split()[0]: row for row in table.rows}
    ann, bob, cy = rows["Ann"], rows["Bob"], rows["Cy"]
    # Queue: manual steps due now. e5 is an automatic step, e6 is not due yet.
    assert (ann.queue, ann.overdue, ann.active) == (3, 2, 3)
    assert ann.oldest_due_at == NOW - timedelta(hours=3)
    assert ann.oldest_age(NOW) == timedelta(hours=3)
    assert (bob.queue, bob.overdue, bob.active, bob.oldest_due_at) == (0, 0, 2, None)
    assert (cy.queue, cy.overdue, cy.active) == (1, 0, 1)
    # The rep's own touches in the period: the automatic e-mail and the 20-day-old call are out.
    assert (ann.touches, ann.connects, ann.meetings, ann.skips) == (4, 2, 1, 1)
    assert (bob.touches, bob.connects, bob.meetings, bob.skips) == (3, 2, 1, 0)
    assert (cy.touches, cy.connects, cy.meetings, cy.skips) == (2, 0, 0, 1)
    # SLA: e1, e2 hit and e3 missed; e10 qualified before the period; e8 is still open.
    assert (ann.sla_hit, ann.sla_decided, ann.sla_rate) == (2, 3, pytest.approx(2 / 3))
    assert (bob.sla_hit, bob.sla_decided) == (1, 3)  # e6 untouched past its deadline: missed
    assert (cy.sla_hit, cy.sla_decided, cy.sla_rate) == (0, 1, 0.0)
    assert table.pool is not None
    assert (table.pool.queue, table.pool.active, table.pool.sla_decided) == (1, 1, 0)
    assert table.pool.sla_rate is None  # nothing decided: no rate, not a division by zero
    total = table.total
    assert (total.queue, total.overdue, total.active, total.touches, total.skips) == (5, 2, 7, 9, 2)
    assert (total.sla_hit, total.sla_decided) == (3, 7)


def test_speed_to_lead_buckets_median_and_sla(board: Board) -> None:
    speed = selectors.speed_to_lead(WEEK)
    counts = {b.bucket.key: b.leads for b in speed.buckets}
    assert counts == {
        "m5": 1,
        "m15": 1,
        "m30": 1,
        "m60": 1,
        "d1": 1,
        "later": 1,
        "untouched": 3,
    }
    assert speed.qualified == 9 and speed.touched == 6
    # Touched delays 3, 10, 20, 45 min, 5 h, 25 h: the median is (20 + 45) / 2 minutes.
    assert speed.median_seconds == pytest.approx(32.5 * 60)
    assert (speed.sla_hit, speed.sla_decided) == (3, 7)
    assert speed.buckets[0].share == pytest.approx(1 / 9)
    seed = [b.bucket.seed_reach_rate for b in speed.buckets]
    assert seed == [7.1, 12.3, 14.3, 13.0, 5.4, None, None]


def test_speed_to_lead_bucket_edges_are_inclusive(board: Board) -> None:
    """Exactly 5 minutes is "within 5 minutes"; a second more is the next bucket."""
    E.objects.filter(pk=board.e[1].pk).update(first_touch_at=Q + 5 * MIN)
    E.objects.filter(pk=board.e[2].pk).update(first_touch_at=Q + 5 * MIN + timedelta(seconds=1))
    counts = {b.bucket.key: b.leads for b in selectors.speed_to_lead(WEEK).buckets}
    assert (counts["m5"], counts["m15"]) == (1, 1)


def test_attempts_per_lead_ended_and_started(board: Board) -> None:
    ended = selectors.attempts_per_lead(WEEK)
    # e3 (1 touch), e4 (2) ended a day ago, e7 (2) two hours ago.
    assert ended.bins == [(1, 1), (2, 2)]
    assert ended.mean == pytest.approx(5 / 3)
    assert ended.benchmark == 5.9
    started = selectors.attempts_per_lead(WEEK, basis="started")
    # The automatic e-mail of e5 is an attempt too.
    assert started.bins == [(0, 3), (1, 2), (2, 4)]
    assert started.mean == pytest.approx(10 / 9)


def test_connect_rate_by_hour_in_utc_and_in_the_teams_zone(board: Board) -> None:
    grid = selectors.connect_rate_by_hour(WEEK)
    cells = {(c.weekday, c.hour): (c.calls, c.connects) for c in grid.cells}
    assert cells == {
        (7, 8): (4, 3),  # Sunday 08:00 UTC: e1, e2, e3, e4's first calls
        (7, 13): (1, 0),
        (1, 8): (1, 1),
        (1, 9): (1, 0),
        (2, 6): (1, 0),
    }
    assert (grid.calls, grid.connects) == (8, 4)
    assert grid.cells[0].weekday == 1  # Monday first
    berlin = BoardScope(
        start=WEEK.start, end=NOW, now=NOW, time_zone=BERLIN, team_id=board.berlin.pk
    )
    local = {
        (c.weekday, c.hour): (c.calls, c.connects)
        for c in selectors.connect_rate_by_hour(berlin).cells
    }
    assert local == {(7, 10): (4, 3), (7, 15): (1, 0), (1, 10): (1, 1)}


def test_cadence_comparison_against_the_best(board: Board) -> None:
    rows = {r.name: r for r in selectors.cadence_comparison(WEEK)}
    fast, slow = rows["Fast"], rows["Slow"]
    assert (fast.started, fast.qualified, fast.meetings) == (5, 1, 1)
    assert (slow.started, slow.qualified, slow.meetings) == (4, 1, 1)
    assert slow.reference and not fast.reference  # 25 % beats 20 %
    assert slow.p_qualified is None and slow.p_meeting is None
    assert fast.p_qualified == pytest.approx(two_proportion_p(1, 4, 1, 5))
    assert fast.p_meeting == pytest.approx(two_proportion_p(1, 4, 1, 5))
    assert fast.p_qualified is not None and 0 < fast.p_qualified <= 1
    assert not fast.significant


def test_rep_activity_per_rep_day_and_kind(board: Board) -> None:
    rows = selectors.rep_activity(WEEK)
    got = [(r.rep, r.day.isoformat(), r.by_kind) for r in rows]
    assert got == [
        ("Cy Cole", "2025-06-10", {"call": 1}),
        ("Ann Archer", "2025-06-09", {"email_manual": 1}),
        ("Bob Baker", "2025-06-09", {"call": 1}),
        ("Cy Cole", "2025-06-09", {"call": 1}),
        ("Ann Archer", "2025-06-08", {"call": 3}),
        ("Bob Baker", "2025-06-08", {"call": 2}),
    ]
    assert selectors.activity_kinds(rows) == ["call", "email_manual"]


def test_filters_narrow_every_figure(board: Board) -> None:
    by_team = BoardScope(start=WEEK.start, end=NOW, now=NOW, team_id=board.berlin.pk)
    table = selectors.rep_rows(by_team)
    assert sorted(r.name for r in table.rows) == ["Ann Archer", "Bob Baker"]
    # The pool lead is on a Berlin cadence: the team's to pick up.
    assert table.pool is not None and table.pool.queue == 1
    assert selectors.speed_to_lead(by_team).qualified == 7  # e1 to e6 and the pool's e9
    by_rep = BoardScope(start=WEEK.start, end=NOW, now=NOW, rep_id=board.reps["cy"].pk)
    table = selectors.rep_rows(by_rep)
    assert [r.name for r in table.rows] == ["Cy Cole"] and table.pool is None
    assert {r.rep for r in selectors.rep_activity(by_rep)} == {"Cy Cole"}
    by_cadence = BoardScope(start=WEEK.start, end=NOW, now=NOW, cadence_id=board.fast.pk)
    assert [r.name for r in selectors.cadence_comparison(by_cadence)] == ["Fast"]
    assert selectors.connect_rate_by_hour(by_cadence).calls == 6  # e1, e2, e4 twice, e7 twice
    assert selectors.rep_rows(by_cadence).total.skips == 1  # ann's skip on e2


# --- The page --------------------------------------------------------------------------------


def test_the_board_shows_every_section_with_charts_and_tables(client_as, board: Board) -> None:
    client = client_as(Role.SALES_MANAGER)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("team"), {"period": "7"})
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("speed-figure", "attempts-figure", "connect-figure", "cadence-figure"):
        assert f'data-figure="{chart}"' in html
        assert f'<script id="{chart}" type="application/json">' in html
    assert 'src="/static/vendor/plotly-4.1.1.min.js"' in html
    assert html.index("js/charts.js") < html.index("plotly-4.1.1.min.js")  # the CSP shim first
    assert 'hx-trigger="every 30s"' in html
    board_ctx = response.context["board"]
    assert board_ctx.speed.qualified == 9
    assert 'data-testid="bucket-untouched">3<' in html
    assert response.context["median"] == "32 min"
    assert "42.9\u00a0%" in html  # SLA hit rate 3 / 7
    figure = response.context["speed_figure"]
    bars, line = figure["data"]
    assert bars["type"] == "bar" and bars["y"] == [1, 1, 1, 1, 1, 1, 3]
    assert line["yaxis"] == "y2" and line["y"] == [7.1, 12.3, 14.3, 13.0, 5.4]
    attempts = response.context["attempts_figure"]
    assert [s["x0"] for s in attempts["layout"]["shapes"]] == [5.9, pytest.approx(5 / 3)]
    heat = response.context["connect_figure"]["data"][0]
    assert heat["type"] == "heatmap" and heat["z"][6][8] == 75.0 and heat["z"][0][0] is None
    assert "reference (best)" in html


def test_the_htmx_poll_gets_the_board_alone(client_as, board: Board) -> None:
    client = client_as(Role.MANAGER)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("team"), {"period": "7"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="reps"' in html
    assert 'data-figure="speed-figure"' in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.SALES_MANAGER, 200), (Role.MANAGER, 200), (Role.REP, 403), (Role.MARKETER, 403)],
)
def test_who_may_see_the_board(client_as, role: Role, status: int) -> None:
    client = client_as(role)
    assert client.get(reverse("team")).status_code == status
    export = client.get(reverse("team_export", args=["reps"]))
    assert export.status_code == status


def test_anonymous_is_sent_to_sign_in(client, db) -> None:  # type: ignore[no-untyped-def]
    for url in (reverse("team"), reverse("team_export", args=["reps"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"team": "abc"}, "Select a valid choice"),
        ({"team": "999999"}, "Select a valid choice"),
        ({"period": "13"}, "Select a valid choice"),
        ({"date_from": "2025-13-01"}, "Enter a valid date"),
        ({"date_from": "2025-06-09", "date_to": "2025-06-01"}, "must not be before the first"),
        ({"period": "custom"}, "Choose the first day of the period"),
        ({"date_from": "2020-01-01", "date_to": "2025-06-01"}, "at most a year"),
        ({"attempts": "all"}, "Select a valid choice"),
    ],
)
def test_filters_that_are_not_understood_are_named(client_as, params, message) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.SALES_MANAGER)
    response = client.get(reverse("team"), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html and message in html
    assert "data-figure" not in html and 'hx-trigger="every 30s"' not in html
    export = client.get(reverse("team_export", args=["speed-to-lead"]), params)
    assert export.status_code == 400 and export["Content-Type"].startswith("text/plain")
    assert message in export.content.decode()


def test_a_rep_of_another_team_is_a_clear_error(client_as, board: Board) -> None:
    client = client_as(Role.SALES_MANAGER)
    response = client.get(reverse("team"), {"team": board.berlin.pk, "rep": board.reps["cy"].pk})
    assert response.status_code == 400
    assert "Cy Cole is not on team Berlin." in response.content.decode()


def test_a_date_range_is_read_in_the_teams_days(board: Board) -> None:
    form = TeamBoardForm(
        {"team": board.berlin.pk, "date_from": "2025-06-08", "date_to": "2025-06-08"}, now=NOW
    )
    assert form.is_valid(), form.errors
    scope = form.scope()
    assert scope.start == datetime(2025, 6, 7, 22, tzinfo=UTC)  # midnight in Berlin
    assert scope.end == datetime(2025, 6, 8, 22, tzinfo=UTC)
    assert scope.time_zone == BERLIN
    assert form.cleaned_data["period"] == "custom"
    open_end = TeamBoardForm({"date_from": "2025-06-01"}, now=NOW)
    assert open_end.is_valid() and open_end.scope().end == datetime(2025, 6, 11, tzinfo=UTC)
    default = TeamBoardForm({}, now=NOW)
    assert default.is_valid()
    assert default.scope().start == NOW - timedelta(days=30) and default.scope().end == NOW


@pytest.mark.parametrize(
    ("params", "period", "dated"),
    [
        ({"date_from": "2025-06-01"}, "custom", True),  # a hand-made link
        ({"period": "30", "period_was": "30", "date_from": "2025-06-01"}, "custom", True),
        ({"period": "7", "period_was": "custom", "date_from": "2025-06-01"}, "7", False),
        ({"period": "custom", "period_was": "7", "date_from": "2025-06-01"}, "custom", True),
        ({}, "30", False),
    ],
)
def test_typed_dates_win_unless_a_preset_was_just_picked(db, params, period, dated) -> None:  # type: ignore[no-untyped-def]
    form = TeamBoardForm(params, now=NOW)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["period"] == period
    assert (form.cleaned_data["date_from"] is not None) is dated
    assert form["period_was"].value() == period  # what the next submit compares with


# --- CSV -------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="team-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_follow_the_filters(client_as, board: Board) -> None:
    client = client_as(Role.SALES_MANAGER)

    def export(table: str, **params: object) -> list[list[str]]:
        with time_machine.travel(NOW, tick=False):
            return _csv(client.get(reverse("team_export", args=[table]), {"period": "7", **params}))

    reps = export("reps")
    assert reps[0][:4] == ["rep", "team", "queue_depth", "oldest_due_at"]
    ann = next(row for row in reps if row[0] == "Ann Archer")
    assert ann[2:4] == ["3", (NOW - timedelta(hours=3)).isoformat()]
    assert ann[4:] == ["180", "2", "3", "4", "2", "1", "1", "2", "3", "0.6667"]
    assert reps[-2][0] == "Shared pool" and reps[-1][0] == "Team"
    speed = export("speed-to-lead")
    assert speed[1] == ["m5", "1", "0.1111", "7.1"]
    assert speed[-1] == ["untouched", "3", "0.3333", ""]
    assert export("attempts") == [["attempts", "leads"], ["1", "1"], ["2", "2"]]
    assert export("attempts", attempts="started")[1] == ["0", "3"]
    connect = export("connect-rate")
    assert ["7", "Sun", "8", "4", "3", "0.7500"] in connect
    berlin = export("connect-rate", team=board.berlin.pk)
    assert ["7", "Sun", "10", "4", "3", "0.7500"] in berlin
    cadences = export("cadences")
    assert cadences[0][0] == "cadence" and len(cadences) == 3
    fast = next(row for row in cadences if row[0] == "Fast")
    assert fast[1:7] == ["5", "1", "0.2000", "1", "0.2000", ""] and fast[7] != ""
    activity = export("activity", rep=board.reps["ann"].pk)
    assert activity[0][:3] == ["rep", "day", "call"] and activity[0][-1] == "total"
    assert [row[:2] for row in activity[1:]] == [
        ["Ann Archer", "2025-06-09"],
        ["Ann Archer", "2025-06-08"],
    ]
    assert activity[2][2] == "3" and activity[2][-1] == "3"


def test_an_unknown_table_is_404(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.SALES_MANAGER)
    assert client.get(reverse("team_export", args=["salaries"])).status_code == 404


# --- Cost and emptiness ----------------------------------------------------------------------


def test_the_query_count_does_not_grow_with_the_data(
    client_as, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.SALES_MANAGER)
    build()

    def count(**params: object) -> int:
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("team"), {"period": "7", **params})
            assert response.status_code == 200
        return len(ctx.captured_queries)

    once = count()
    filtered_once = count(
        team=Team.objects.get(name="Berlin").pk, cadence=Cadence.objects.first().pk
    )
    build(offset=100)  # twice the reps, cadences, leads, touches and skips
    with django_assert_max_num_queries(once), time_machine.travel(NOW, tick=False):
        client.get(reverse("team"), {"period": "7"})
    assert count() == once
    assert (
        count(team=Team.objects.get(name="Berlin").pk, cadence=Cadence.objects.first().pk)
        == filtered_once
    )
    assert once <= 25
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
        b"".join(client.get(reverse("team_export", args=["reps"])).streaming_content)
    assert len(ctx.captured_queries) <= 10


def test_the_empty_board_says_what_to_do(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.SALES_MANAGER)
    response = client.get(reverse("team"))
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "Reps' touches appear here as they work the queue" in html
    assert 'data-testid="empty-board"' in html
    assert "data-figure" not in html
    assert response.context["median"] == "\u2013"
    for table in selectors_tables():
        export = client.get(reverse("team_export", args=[table]))
        rows = _csv(export)
        assert len(rows) >= 1  # the header, and for reps the team total


def selectors_tables() -> list[str]:
    from cadences.views_team import EXPORTS

    return list(EXPORTS)
