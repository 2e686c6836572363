"""Reads of the journey pages: the list with its run counts, and what happened at each node
of a journey's live version. Both in a fixed number of queries, however many runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q

from automations.journeys.graph import KINDS
from automations.models import Journey, JourneyRun, JourneyVersion, RunStep
from leads.order_money import BOUGHT, NET

ACTIVE = (JourneyRun.Status.WAITING, JourneyRun.Status.QUEUED)


@dataclass
class JourneyRow:
    journey: Journey
    runs_active: int = 0
    runs_total: int = 0
    converted: int = 0

    @property
    def live_number(self) -> int | None:
        return self.journey.live.number if self.journey.live else None

    @property
    def last_published(self) -> datetime | None:
        # Publishing always makes the new version live: the live one is the last published.
        return self.journey.live.published_at if self.journey.live else None


def journey_list_rows() -> list[JourneyRow]:
    """Every journey with its live version and run counts: two queries."""
    journeys = list(Journey.objects.select_related("live").order_by("name"))
    counts: dict[int, dict[str, Any]] = {
        row["journey_id"]: dict(row)
        for row in JourneyRun.objects.order_by()
        .values("journey_id")
        .annotate(
            total=Count("id"),
            active=Count("id", filter=Q(status__in=ACTIVE)),
            converted=Count("id", filter=Q(status=JourneyRun.Status.CONVERTED)),
        )
    }
    rows = []
    for journey in journeys:
        row = counts.get(journey.pk, {})
        rows.append(
            JourneyRow(
                journey=journey,
                runs_active=row.get("active", 0),
                runs_total=row.get("total", 0),
                converted=row.get("converted", 0),
            )
        )
    return rows


@dataclass
class NodeResult:
    id: str
    type: str
    label: str
    entered: int = 0  # runs that reached the node
    waiting: int = 0  # runs waiting in it now
    passed: int = 0
    dropped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "entered": self.entered,
            "waiting": self.waiting,
            "passed": self.passed,
            "dropped": self.dropped,
            "failed": self.failed,
        }


@dataclass
class JourneyResults:
    version: JourneyVersion | None
    nodes: list[NodeResult] = field(default_factory=list)
    started: int = 0
    converted: int = 0
    starting: int = 0  # entered, not yet at a node's wait (the dispatcher is on its way)

    @property
    def conversion(self) -> float | None:
        return self.converted / self.started if self.started else None

    def by_node(self) -> dict[str, dict[str, int]]:
        return {n.id: n.as_dict() for n in self.nodes}


# The step a run logged last tells where it waits: a wait node logs "waiting" and the run
# moves on to the next node only when it is due. Only active runs look up their last step.
_RUNS_SQL = """
SELECT s.node, s.outcome, r.status, count(*)
FROM automations_journeyrun r
LEFT JOIN LATERAL (
    SELECT node, outcome FROM automations_runstep
    WHERE run_id = r.id AND r.status IN ('waiting', 'queued')
    ORDER BY at DESC, id DESC LIMIT 1
) s ON true
WHERE r.version_id = %s
GROUP BY s.node, s.outcome, r.status
"""


def journey_results(journey: Journey) -> JourneyResults:
    """Per node of the live version: entered, waiting now, passed, dropped, failed; and the
    goal conversion of that version (runs converted / runs started). Two queries (the
    journey's `live` is expected loaded)."""
    version = journey.live
    if version is None:
        return JourneyResults(version=None)
    graph: dict[str, Any] = version.graph or {}
    nodes: dict[str, NodeResult] = {}
    for node in graph.get("nodes") or []:
        kind = KINDS.get(node.get("type"))
        nodes[str(node.get("id"))] = NodeResult(
            id=str(node.get("id")),
            type=str(node.get("type")),
            label=str(kind.label) if kind else str(node.get("type")),
        )
    steps = (
        RunStep.objects.filter(version=version)
        .order_by()
        .values("node")
        .annotate(
            entered=Count("run_id", distinct=True),
            passed=Count("run_id", distinct=True, filter=Q(outcome=RunStep.Outcome.PASSED)),
            dropped=Count("run_id", distinct=True, filter=Q(outcome=RunStep.Outcome.DROPPED)),
            failed=Count("run_id", distinct=True, filter=Q(outcome=RunStep.Outcome.FAILED)),
        )
    )
    for row in steps:
        result = nodes.get(row["node"])
        if result is not None:
            result.entered, result.passed = row["entered"], row["passed"]
            result.dropped, result.failed = row["dropped"], row["failed"]
    results = JourneyResults(version=version, nodes=list(nodes.values()))
    with connection.cursor() as cursor:
        cursor.execute(_RUNS_SQL, [version.pk])
        for node, outcome, status, count in cursor.fetchall():
            results.started += count
            if status == JourneyRun.Status.CONVERTED:
                results.converted += count
            if status in ACTIVE:
                if outcome == RunStep.Outcome.WAITING and node in nodes:
                    nodes[node].waiting += count
                else:
                    results.starting += count
    return results


# --- Split results, messages and revenue -----------------------------------------------------


@dataclass
class Arm:
    key: str
    runs: int
    converted: int
    p_value: float | None = None  # against the first path, two-proportion z-test

    @property
    def rate(self) -> float | None:
        return self.converted / self.runs if self.runs else None


@dataclass
class SplitResult:
    node: str
    arms: list[Arm]

    @property
    def best(self) -> Arm | None:
        """The path that converts best, when its lead is significant at 95 %: a later path
        against the first, or the first against every path it beats."""
        leader = max(self.arms, key=lambda a: a.rate or 0.0, default=None)
        if leader is None:
            return None
        if leader is self.arms[0]:
            others = self.arms[1:]
            significant = bool(others) and all(
                a.p_value is not None and a.p_value < 0.05 for a in others
            )
        else:
            significant = leader.p_value is not None and leader.p_value < 0.05
        return leader if significant else None


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of a difference between two conversion rates (pooled z-test)."""
    import math

    if not n1 or not n2:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def journey_splits(journey: Journey) -> list[SplitResult]:
    """For each split of the live version: runs down each path and how many reached the
    goal, with the significance of each path's difference from the first. One query."""
    version = journey.live
    if version is None:
        return []
    splits = {
        str(n["id"]): [b["key"] for b in (n.get("config") or {}).get("branches", [])]
        for n in (version.graph or {}).get("nodes", [])
        if n.get("type") == "split"
    }
    if not splits:
        return []
    rows = (
        RunStep.objects.filter(
            version=version, node__in=list(splits), outcome=RunStep.Outcome.PASSED
        )
        .order_by()
        .values("node", "branch")
        .annotate(
            runs=Count("run_id", distinct=True),
            converted=Count(
                "run_id", distinct=True, filter=Q(run__status=JourneyRun.Status.CONVERTED)
            ),
        )
    )
    counts = {(r["node"], r["branch"]): (r["runs"], r["converted"]) for r in rows}
    results = []
    for node, keys in splits.items():
        arms = [Arm(key, *counts.get((node, key), (0, 0))) for key in keys]
        for arm in arms[1:]:
            arm.p_value = two_proportion_p(arms[0].converted, arms[0].runs, arm.converted, arm.runs)
        results.append(SplitResult(node, arms))
    return results


@dataclass
class MessageFigures:
    by_status: dict[str, int]
    revenue: Any  # in the shop's base currency, from orders of converted runs

    @property
    def sent(self) -> int:
        gone = ("sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed")
        return sum(self.by_status.get(s, 0) for s in gone)

    def rate(self, *statuses: str) -> float | None:
        return sum(self.by_status.get(s, 0) for s in statuses) / self.sent if self.sent else None

    @property
    def not_sent(self) -> int:
        return self.by_status.get("suppressed", 0)

    @property
    def open_rate(self) -> float | None:
        return self.rate("opened", "clicked")

    @property
    def click_rate(self) -> float | None:
        return self.rate("clicked")


def journey_messages(journey: Journey) -> MessageFigures:
    """The journey's messages by status (all versions), and the net revenue (as the dashboards
    count it, `leads.order_money`) of the orders its converted contacts placed while on their
    way (started → goal, plus an hour for the order to arrive). Two queries."""
    from automations.models import Delivery

    by_status = dict(
        Delivery.objects.filter(journey=journey)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT coalesce(sum({NET}), 0)
            FROM automations_journeyrun r
            JOIN leads_order o ON o.contact_id = r.contact_id
             AND o.placed_at >= r.started_at AND o.placed_at <= r.ended_at + interval '1 hour'
            WHERE r.journey_id = %s AND r.status = 'converted' AND {BOUGHT}
            """,  # noqa: S608 (constants only)
            [journey.pk],
        )
        revenue = cursor.fetchone()[0]
    return MessageFigures(by_status=by_status, revenue=revenue)
