"""Reads of the sales manager's team board (/team/): each rep's queue and work, speed to lead
against the seed's reach-rate curve, attempts per lead against the 5.9 average, connect rate
by hour and weekday, the cadence A/B comparison and rep activity per day.

Every function is a fixed number of aggregate queries (GROUP BY in PostgreSQL), whatever the
number of reps, leads or touches: the board polls every 30 seconds, so its cost must follow
the number of groups it shows, never the rows behind them. Python only merges the grouped
rows and divides, always guarding a zero denominator (shown as "no value", not 0 %).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import (
    Coalesce,
    Extract,
    ExtractHour,
    ExtractIsoWeekDay,
    TruncDate,
)
from django.utils.translation import gettext_lazy as _

from automations.selectors_journeys import two_proportion_p
from cadences.models import AUTOMATIC_KINDS, Enrollment, Rep, Skip, StepKind, Touch

E = Enrollment
D = Touch.Disposition

CONNECTS = (D.CONNECTED, D.MEETING)
# Reaching a lead live is what a call does; an e-mail sent at 3 a.m. cannot "connect" at 3
# a.m., so the hour-of-day grid counts calls only.
CALL_KINDS = (StepKind.CALL, StepKind.GHOST_CALL)
MANUAL_KINDS = tuple(kind for kind in StepKind if kind not in AUTOMATIC_KINDS)
OVERDUE_AFTER = timedelta(hours=1)
SIGNIFICANT = 0.05

# Seed 002: the chance to reach a lead live by how soon the first call came (130 million
# sales interactions), and the attempts a B2C lead needs on average.
SEED_ATTEMPTS = 5.9


@dataclass(frozen=True)
class SpeedBucket:
    key: str
    label: Any  # a lazy translation
    up_to: timedelta | None  # the bucket's upper edge; None: no edge (later, untouched)
    seed_reach_rate: float | None  # % from the seed, for the first five buckets


SPEED_BUCKETS = (
    SpeedBucket("m5", _("≤ 5 min"), timedelta(minutes=5), 7.1),
    SpeedBucket("m15", _("≤ 15 min"), timedelta(minutes=15), 12.3),
    SpeedBucket("m30", _("≤ 30 min"), timedelta(minutes=30), 14.3),
    SpeedBucket("m60", _("≤ 60 min"), timedelta(minutes=60), 13.0),
    SpeedBucket("d1", _("≤ 1 day"), timedelta(days=1), 5.4),
    SpeedBucket("later", _("later"), None, None),
    SpeedBucket("untouched", _("not touched yet"), None, None),
)


@dataclass(frozen=True)
class BoardScope:
    """What the board is about: a period [start, end), the instant "now" that queue ages and
    SLA deadlines are measured from, the time zone days and hours are read in, and the
    optional team, rep and cadence filters."""

    start: datetime
    end: datetime
    now: datetime
    time_zone: tzinfo = UTC
    team_id: int | None = None
    rep_id: int | None = None
    cadence_id: int | None = None


def _groups(qs: QuerySet[Any]) -> list[dict[str, Any]]:
    """A `.values().annotate()` queryset's rows, typed as the plain dicts they are."""
    return list(qs)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def in_period(name: str, scope: BoardScope) -> Q:
    return Q(**{f"{name}__gte": scope.start, f"{name}__lt": scope.end})


def _enrollments(scope: BoardScope) -> QuerySet[Enrollment]:
    """Enrollments the filters select. A team owns its reps' leads and the leads of its
    cadences still in the shared pool (no rep yet): those are the team's to pick up."""
    qs = E.objects.order_by()
    if scope.rep_id is not None:
        qs = qs.filter(rep_id=scope.rep_id)
    elif scope.team_id is not None:
        qs = qs.filter(
            Q(rep__team_id=scope.team_id) | Q(rep__isnull=True, cadence__team_id=scope.team_id)
        )
    if scope.cadence_id is not None:
        qs = qs.filter(cadence_id=scope.cadence_id)
    return qs


def _by_rep(qs: QuerySet[Any], scope: BoardScope) -> QuerySet[Any]:
    """Touches or skips of the reps the filters select, in the period."""
    if scope.rep_id is not None:
        qs = qs.filter(rep_id=scope.rep_id)
    elif scope.team_id is not None:
        qs = qs.filter(rep__team_id=scope.team_id)
    if scope.cadence_id is not None:
        qs = qs.filter(enrollment__cadence_id=scope.cadence_id)
    return qs.filter(in_period("at", scope)).order_by()


def _rep_touches(scope: BoardScope) -> QuerySet[Touch]:
    # A rep's work: an automatic step's message carries the rep's id but was not the rep's doing.
    return _by_rep(Touch.objects.exclude(disposition=D.AUTOMATIC), scope)


def _sla_owned(scope: BoardScope) -> QuerySet[Enrollment]:
    """Enrollments by whose SLA it was (`owner`): the rep who made the first touch in time
    or who held the lead when the deadline passed, else (not decided yet) the current rep.
    A lead reassigned after a miss leaves the miss with the rep who missed it."""
    qs = E.objects.order_by().annotate(owner=Coalesce("sla_rep_id", "rep_id"))
    if scope.rep_id is not None:
        qs = qs.filter(owner=scope.rep_id)
    elif scope.team_id is not None:
        qs = qs.filter(
            Q(owner__in=Rep.objects.filter(team_id=scope.team_id).values("pk"))
            | Q(owner__isnull=True, cadence__team_id=scope.team_id)
        )
    if scope.cadence_id is not None:
        qs = qs.filter(cadence_id=scope.cadence_id)
    return qs


def sla_counts(scope: BoardScope) -> dict[str, Count]:
    """Of the leads qualified in the period with an SLA: those whose SLA is decided (touched,
    or the deadline passed untouched) and those touched by the deadline."""
    sla = in_period("qualified_at", scope) & Q(sla_due_at__isnull=False)
    decided = sla & (Q(first_touch_at__isnull=False) | Q(sla_due_at__lte=scope.now))
    return {
        "sla_decided": Count("id", filter=decided),
        "sla_hit": Count("id", filter=sla & Q(first_touch_at__lte=F("sla_due_at"))),
    }


# --- Per rep ---------------------------------------------------------------------------------


@dataclass
class RepRow:
    rep_id: int | None  # None: the shared pool
    name: str
    team: str = ""
    queue: int = 0  # manual steps due now
    oldest_due_at: datetime | None = None
    overdue: int = 0  # due more than an hour ago
    active: int = 0
    touches: int = 0
    connects: int = 0
    meetings: int = 0
    skips: int = 0
    sla_hit: int = 0
    sla_decided: int = 0

    @property
    def sla_rate(self) -> float | None:
        return _ratio(self.sla_hit, self.sla_decided)

    @property
    def connect_rate(self) -> float | None:
        return _ratio(self.connects, self.touches)

    def oldest_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest_due_at if self.oldest_due_at else None


@dataclass
class RepTable:
    rows: list[RepRow]
    pool: RepRow | None  # leads no rep holds yet, when there are any
    total: RepRow


QUEUE_NUMBERS = ("queue", "overdue", "active")
ENROLLMENT_NUMBERS = (*QUEUE_NUMBERS, "sla_decided", "sla_hit")
TOUCH_NUMBERS = ("touches", "connects", "meetings")


def rep_rows(scope: BoardScope) -> RepTable:
    """One row per rep the filters select (idle reps included: an empty queue is news too),
    the shared pool, and the total. Four queries: reps, enrollments, touches, skips, each
    grouped by rep."""
    reps = Rep.objects.select_related("user", "team").order_by(
        "user__first_name", "user__last_name", "user__username"
    )
    if scope.rep_id is not None:
        reps = reps.filter(pk=scope.rep_id)
    elif scope.team_id is not None:
        reps = reps.filter(team_id=scope.team_id)
    rows = {
        rep.pk: RepRow(rep_id=rep.pk, name=str(rep), team=rep.team.name if rep.team else "")
        for rep in reps
    }
    pool = RepRow(rep_id=None, name=str(_("Shared pool")))

    due = (
        Q(status=E.Status.ACTIVE, due_at__lte=scope.now)
        & ~Q(kind__in=sorted(AUTOMATIC_KINDS))
        & ~Q(kind="")
    )
    enrollments = (
        _enrollments(scope)
        .filter(Q(status=E.Status.ACTIVE) | in_period("qualified_at", scope))
        .values("rep_id")
        .annotate(
            queue=Count("id", filter=due),
            oldest_due_at=Min("due_at", filter=due),
            overdue=Count("id", filter=due & Q(due_at__lte=scope.now - OVERDUE_AFTER)),
            active=Count("id", filter=Q(status=E.Status.ACTIVE)),
        )
    )
    for group in _groups(enrollments):
        row = pool if group["rep_id"] is None else rows.get(group["rep_id"])
        if row is not None:
            for name in (*QUEUE_NUMBERS, "oldest_due_at"):
                setattr(row, name, group[name])
    sla = (
        _sla_owned(scope)
        .filter(in_period("qualified_at", scope))
        .values("owner")  # type: ignore[misc]  # an annotation, which the stubs do not see
        .annotate(**sla_counts(scope))
    )
    for group in _groups(sla):
        row = pool if group["owner"] is None else rows.get(group["owner"])
        if row is not None:
            row.sla_decided, row.sla_hit = group["sla_decided"], group["sla_hit"]

    touches = (
        _rep_touches(scope)
        .values("rep_id")
        .annotate(
            touches=Count("id"),
            connects=Count("id", filter=Q(disposition__in=CONNECTS)),
            meetings=Count("id", filter=Q(disposition=D.MEETING)),
        )
    )
    for group in _groups(touches):
        if (row := rows.get(group["rep_id"])) is not None:
            for name in TOUCH_NUMBERS:
                setattr(row, name, group[name])

    skips = _by_rep(Skip.objects.all(), scope).values("rep_id").annotate(n=Count("id"))
    for group in _groups(skips):
        if (row := rows.get(group["rep_id"])) is not None:
            row.skips = group["n"]

    listed = list(rows.values())
    has_pool = scope.rep_id is None and (pool.active or pool.sla_decided)
    every = [*listed, pool] if has_pool else listed
    total = RepRow(rep_id=None, name=str(_("Team")))
    for name in (*ENROLLMENT_NUMBERS, *TOUCH_NUMBERS, "skips"):
        setattr(total, name, sum(getattr(row, name) for row in every))
    total.oldest_due_at = min((r.oldest_due_at for r in every if r.oldest_due_at), default=None)
    return RepTable(rows=listed, pool=pool if has_pool else None, total=total)


# --- Speed to lead ---------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's exact median (an ordered-set aggregate): the database sorts, not Python."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass
class BucketCount:
    bucket: SpeedBucket
    leads: int
    share: float | None  # of the leads qualified in the period


@dataclass
class SpeedToLead:
    qualified: int
    buckets: list[BucketCount]
    median_seconds: float | None  # of the touched leads
    sla_hit: int
    sla_decided: int

    @property
    def touched(self) -> int:
        return self.qualified - self.buckets[-1].leads

    @property
    def sla_rate(self) -> float | None:
        return _ratio(self.sla_hit, self.sla_decided)


def speed_bucket_counts() -> dict[str, Count]:
    """One count per speed-to-lead bucket (first touch after qualification), for aggregate()."""
    touched = Q(first_touch_at__isnull=False)
    counts: dict[str, Count] = {}
    lower: timedelta | None = None
    for bucket in SPEED_BUCKETS:
        if bucket.key == "untouched":
            condition = ~touched
        else:
            condition = touched
            if lower is not None:
                condition &= Q(first_touch_at__gt=F("qualified_at") + Value(lower))
            if bucket.up_to is not None:
                condition &= Q(first_touch_at__lte=F("qualified_at") + Value(bucket.up_to))
            lower = bucket.up_to
        counts[bucket.key] = Count("id", filter=condition)
    return counts


def speed_to_lead(scope: BoardScope) -> SpeedToLead:
    """First touch minus qualification of the leads qualified in the period, counted per bucket,
    with the median and the SLA hit rate: one aggregate query."""
    counts = speed_bucket_counts()
    delay = ExpressionWrapper(F("first_touch_at") - F("qualified_at"), output_field=DurationField())
    result = (
        _enrollments(scope)
        .filter(in_period("qualified_at", scope))
        .aggregate(
            qualified=Count("id"),
            # Untouched leads have no delay: NULL, which the median leaves out.
            median=Median(Extract(delay, "epoch")),
            **counts,
            **sla_counts(scope),
        )
    )
    qualified = result["qualified"]
    return SpeedToLead(
        qualified=qualified,
        buckets=[
            BucketCount(b, result[b.key], _ratio(result[b.key], qualified)) for b in SPEED_BUCKETS
        ],
        median_seconds=result["median"],
        sla_hit=result["sla_hit"],
        sla_decided=result["sla_decided"],
    )


# --- Attempts per lead -----------------------------------------------------------------------

ATTEMPT_BASES = {
    "ended": _("leads whose cadence ended in the period"),
    "started": _("leads who entered a cadence in the period"),
}


@dataclass
class Attempts:
    basis: str
    bins: list[tuple[int, int]]  # (touches, leads), ascending
    benchmark: float = SEED_ATTEMPTS

    @property
    def leads(self) -> int:
        return sum(leads for _attempts, leads in self.bins)

    @property
    def mean(self) -> float | None:
        # A weighted mean over the grouped rows (one per distinct count), not over the leads.
        return _ratio(sum(n * leads for n, leads in self.bins), self.leads)


def attempts_per_lead(scope: BoardScope, *, basis: str = "ended") -> Attempts:
    """How many leads got 0, 1, 2, … touches (every touch, automatic ones included: an
    attempt is an attempt), of the leads that ended in the period or entered it. One query:
    a correlated count per lead, grouped by that count."""
    if basis not in ATTEMPT_BASES:
        raise ValueError(f"unknown basis {basis!r}")
    leads = _enrollments(scope)
    if basis == "ended":
        leads = leads.filter(in_period("ended_at", scope), status=E.Status.ENDED)
    else:
        leads = leads.filter(in_period("started_at", scope))
    touches = (
        Touch.objects.filter(enrollment_id=OuterRef("pk"))
        .order_by()
        .values("enrollment_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (
        leads.annotate(touch_count=Coalesce(Subquery(touches), 0))
        .values("touch_count")
        .annotate(leads=Count("id"))
        .order_by("touch_count")
    )
    return Attempts(basis=basis, bins=[(row["touch_count"], row["leads"]) for row in rows])


# --- Connect rate by hour and weekday --------------------------------------------------------


@dataclass(frozen=True)
class ConnectCell:
    weekday: int  # ISO: 1 = Monday
    hour: int
    calls: int
    connects: int

    @property
    def rate(self) -> float | None:
        return _ratio(self.connects, self.calls)


@dataclass
class ConnectGrid:
    cells: list[ConnectCell]  # only hours with calls, Monday 0:00 first

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.cells)

    @property
    def connects(self) -> int:
        return sum(c.connects for c in self.cells)

    @property
    def rate(self) -> float | None:
        return _ratio(self.connects, self.calls)


def connect_rate_by_hour(scope: BoardScope) -> ConnectGrid:
    """Calls and the calls that reached the lead (connected or meeting booked), per weekday
    and hour in the board's time zone. One query of at most 168 groups."""
    rows = (
        _rep_touches(scope)
        .filter(kind__in=CALL_KINDS)
        .annotate(
            weekday=ExtractIsoWeekDay("at", tzinfo=scope.time_zone),
            hour=ExtractHour("at", tzinfo=scope.time_zone),
        )
        .values("weekday", "hour")
        .annotate(calls=Count("id"), connects=Count("id", filter=Q(disposition__in=CONNECTS)))
        .order_by("weekday", "hour")
    )
    return ConnectGrid(
        [ConnectCell(r["weekday"], r["hour"], r["calls"], r["connects"]) for r in rows]
    )


# --- Cadence comparison ----------------------------------------------------------------------


@dataclass
class CadenceRow:
    cadence_id: int
    name: str
    started: int
    qualified: int
    meetings: int  # leads with at least one meeting booked
    reference: bool = False
    p_qualified: float | None = None  # against the reference, two-proportion z-test
    p_meeting: float | None = None

    @property
    def qualified_rate(self) -> float | None:
        return _ratio(self.qualified, self.started)

    @property
    def meeting_rate(self) -> float | None:
        return _ratio(self.meetings, self.started)

    @property
    def significant(self) -> bool:
        return any(p is not None and p < SIGNIFICANT for p in (self.p_qualified, self.p_meeting))


def cadence_comparison(scope: BoardScope) -> list[CadenceRow]:
    """Per cadence, the leads that entered it in the period, the share that ended qualified
    (SQL / meeting booked) and the share with a meeting touch, each tested against the cadence
    that qualifies best (the reference). One query."""
    meeting = Exists(Touch.objects.filter(enrollment_id=OuterRef("pk"), disposition=D.MEETING))
    groups = (
        _enrollments(scope)
        .filter(in_period("started_at", scope))
        .values("cadence_id", "cadence__name")
        .annotate(
            started=Count("id"),
            qualified=Count("id", filter=Q(outcome=E.Outcome.QUALIFIED)),
            meetings=Count("id", filter=Q(meeting)),
        )
        .order_by("cadence__name")
    )
    rows = [
        CadenceRow(g["cadence_id"], g["cadence__name"], g["started"], g["qualified"], g["meetings"])
        for g in groups
    ]
    if not rows:
        return rows
    # The best converter is what the others must beat; on a tie, the one with more leads
    # (a firmer rate), then the first by name.
    _rank, best = max(((r.qualified_rate or 0.0, r.started, -i), r) for i, r in enumerate(rows))
    best.reference = True
    for row in rows:
        if row is not best:
            row.p_qualified = two_proportion_p(
                best.qualified, best.started, row.qualified, row.started
            )
            row.p_meeting = two_proportion_p(best.meetings, best.started, row.meetings, row.started)
    return rows


# --- Rep activity ----------------------------------------------------------------------------


@dataclass
class ActivityRow:
    rep_id: int
    rep: str
    day: date
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def _rep_name(first: str, last: str, username: str) -> str:
    # As Rep.__str__ says it, without loading the user objects.
    return f"{first} {last}".strip() or username


def rep_activity(scope: BoardScope) -> list[ActivityRow]:
    """The reps' own touches per rep and day (in the board's time zone) and kind, newest day
    first. One query grouped by rep, day and kind."""
    groups = (
        _rep_touches(scope)
        .annotate(day=TruncDate("at", tzinfo=scope.time_zone))
        .values(
            "rep_id",
            "rep__user__first_name",
            "rep__user__last_name",
            "rep__user__username",
            "day",
            "kind",
        )
        .annotate(n=Count("id"))
        .filter(rep_id__isnull=False)
        .order_by("-day", "rep__user__first_name", "rep__user__last_name", "rep_id")
    )
    rows: dict[tuple[int, date], ActivityRow] = {}
    for g in groups:
        key = (g["rep_id"], g["day"])
        if key not in rows:
            name = _rep_name(
                g["rep__user__first_name"], g["rep__user__last_name"], g["rep__user__username"]
            )
            rows[key] = ActivityRow(rep_id=g["rep_id"], rep=name, day=g["day"])
        rows[key].by_kind[g["kind"]] = g["n"]
    return list(rows.values())


def activity_kinds(rows: Iterable[ActivityRow]) -> list[str]:
    """The kinds that occur, in the order of StepKind: the table's columns."""
    seen = {kind for row in rows for kind in row.by_kind}
    return [kind for kind in StepKind.values if kind in seen]
