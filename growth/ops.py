"""What the system page and /metrics show: one read of every operational figure.

Each figure is one cheap query over an index that exists for it (the dispatchers' partial
"due" indexes, the status indexes of the outbox and of inbound deliveries, the primary key
of the analytics marks), and counts stop at `COUNT_CAP` rows, so a page that refreshes every
5 seconds costs a few milliseconds however large a backlog grows. Redis (liveness, worker and
beat heartbeats, Celery queue depths, the index of worker processes) is one pipelined round
trip, and the workers' records a second one.

`growth` is the base of the import graph (ARCHITECTURE.md), so the other apps' tables are
named through the app registry and read with SQL, never imported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from growth.celery import Queue
from growth.health import (
    HEARTBEAT_KEY,
    WORKER_KEEP_SECONDS,
    WORKERS_KEY,
    Check,
    WorkerBeat,
    check_heartbeat,
    read_workers,
    redis_client,
)

# Counting stops here: past it the exact number no longer changes what to do, and the
# count stays an index range scan of bounded length.
COUNT_CAP = 100_000
# Rows read (not just index entries) to tell the last day's failed messages from older ones.
RECENT_WALK = 10_000
# When a figure turns from fine to "look at this".
QUEUE_DEPTH_WARN = 1_000
DUE_AGE_WARN_SECONDS = 300.0
ROLLUP_LAG_WARN_SECONDS = 300.0

HEARTBEATS = ("worker", "beat")

# How to start a worker for a queue that has none: README, "Running at larger scale".
QUEUE_CONCURRENCY: dict[str, int] = {
    Queue.DISPATCH: 2,
    Queue.MESSAGING: 8,
    Queue.DEFAULT: 4,
    Queue.ANALYTICS: 1,
    Queue.LONG: 2,
}


def worker_command(queue: str) -> str:
    return f"celery -A growth worker -Q {queue} -c {QUEUE_CONCURRENCY.get(queue, 2)}"


def _table(label: str) -> str:
    return str(apps.get_model(label)._meta.db_table)


class WorkerStatus:
    OK = "ok"
    LATE = "late"  # missed beats, not yet gone: busy (a solo pool beats between tasks) or dying
    GONE = "gone"  # no beat for longer than /healthz allows, and no clean shutdown


@dataclass(frozen=True)
class WorkerRow:
    """One worker process as the page shows it."""

    beat: WorkerBeat
    age_seconds: float

    @property
    def status(self) -> str:
        if self.age_seconds > settings.WORKER_HEARTBEAT_MAX_AGE:
            return WorkerStatus.GONE
        late = min(3 * settings.WORKER_HEARTBEAT_INTERVAL, settings.WORKER_HEARTBEAT_MAX_AGE)
        return WorkerStatus.LATE if self.age_seconds > late else WorkerStatus.OK

    @property
    def live(self) -> bool:
        # As /healthz: a late worker still counts, as long as its beat is not too old.
        return self.status != WorkerStatus.GONE

    @property
    def age_text(self) -> str:
        return age_text(self.age_seconds)

    @property
    def uptime_text(self) -> str:
        return age_text(max(0.0, self.beat.last_seen - self.beat.started_at))

    @property
    def hint(self) -> Promise | None:
        if self.status == WorkerStatus.GONE:
            return _(
                "Stopped beating without a clean shutdown (killed, out of memory, machine "
                "lost): read its logs and start it again. Shown for a day."
            )
        if self.status == WorkerStatus.LATE:
            return _(
                "Missed its last heartbeats: busy with a long task or stuck. Gone after "
                "WORKER_HEARTBEAT_MAX_AGE."
            )
        return None


@dataclass(frozen=True)
class QueueDepth:
    name: str
    depth: int | None  # None: Redis did not answer, or the broker is not this Redis
    consumers: int | None = None  # live workers consuming it; None: Redis did not answer

    @property
    def command(self) -> str:
        return worker_command(self.name)

    @property
    def unconsumed(self) -> bool:
        """Work waits here and no live worker takes it: it waits until one is started (the
        page says which command, with the queue's name)."""
        return bool(self.depth) and self.consumers == 0

    @property
    def hint(self) -> Promise | None:
        if self.depth is not None and self.depth >= QUEUE_DEPTH_WARN:
            return _(
                "Tasks pile up on this queue: add worker processes that consume it "
                "(README, Running at larger scale)."
            )
        return None


@dataclass(frozen=True)
class Backlog:
    """Timed work that is due and not done yet: rows whose time has come."""

    kind: str
    label: Promise
    count: int
    capped: bool
    oldest_seconds: float | None  # age of the oldest due row; None when nothing is due

    @property
    def oldest_text(self) -> str:
        return age_text(self.oldest_seconds)

    @property
    def hint(self) -> Promise | None:
        if self.oldest_seconds is not None and self.oldest_seconds >= DUE_AGE_WARN_SECONDS:
            return _(
                "Due work waits longer than 5 minutes: check that a worker and beat run "
                "(the heartbeats above) and that the queues above are not piling up."
            )
        return None


@dataclass(frozen=True)
class DeadLetters:
    """Work that failed for good and waits for a person: look at it, fix, retry."""

    kind: str
    label: Promise
    total: int
    total_capped: bool
    last_day: int
    url: str
    section: str  # the navigation section of `url`: who may open it

    @property
    def hint(self) -> Promise | None:
        if not self.total:
            return None
        if self.kind == "inbound":
            return _("Open the list, read the errors, fix the cause and retry them from there.")
        return _("Open the list, read why each failed and resend those that should still go.")


@dataclass(frozen=True)
class Snapshot:
    database: Check
    redis: Check
    worker: Check
    beat: Check
    queues: list[QueueDepth] = field(default_factory=list)
    workers: list[WorkerRow] = field(default_factory=list)
    backlogs: list[Backlog] = field(default_factory=list)
    dead_letters: list[DeadLetters] = field(default_factory=list)
    rollup_lag_seconds: float | None = None  # None: unknown (the database is down)

    @property
    def rollup_lag_text(self) -> str:
        return age_text(self.rollup_lag_seconds)

    @property
    def parts(self) -> dict[str, Check]:
        return {
            "database": self.database,
            "redis": self.redis,
            "worker": self.worker,
            "beat": self.beat,
        }

    @property
    def healthy(self) -> bool:
        # As /healthz: beat being down delays timed work but breaks nothing at once.
        return self.database.ok and self.redis.ok and self.worker.ok

    @property
    def hints(self) -> dict[str, Promise]:
        """What to do about each part that is down."""
        hints: dict[str, Promise] = {}
        if not self.database.ok:
            hints["database"] = _(
                "The database does not answer: check that PostgreSQL runs and that "
                "DATABASE_URL points at it."
            )
        if not self.redis.ok:
            hints["redis"] = _(
                "Redis does not answer: check that it runs and that REDIS_URL points at it. "
                "No task runs without it."
            )
        if self.redis.ok and not self.worker.ok:
            hints["worker"] = _(
                "No worker heartbeat: start “make run” or the worker service "
                "(“docker compose up -d worker”)."
            )
        if self.redis.ok and not self.beat.ok:
            hints["beat"] = _(
                "No beat tick: start exactly one beat (“make run” starts one, or "
                "“docker compose up -d beat”). Messages, journey waits and cadence steps "
                "wait until it runs."
            )
        return hints

    @property
    def rollup_hint(self) -> Promise | None:
        if self.rollup_lag_seconds is not None and (
            self.rollup_lag_seconds >= ROLLUP_LAG_WARN_SECONDS
        ):
            return _(
                "Dashboards are behind: the analytics queue or beat is not keeping up; check "
                "the worker that consumes the analytics queue."
            )
        return None


# --- Redis ----------------------------------------------------------------------------------


def _broker_is_our_redis() -> bool:
    """Queue depths are list lengths in the broker: only readable when the broker is the
    Redis of REDIS_URL (settings spell a Unix socket "redis+socket://" for kombu)."""
    broker, url = str(settings.CELERY_BROKER_URL), str(settings.REDIS_URL)
    return broker in (url, "redis+socket://" + url.removeprefix("unix://"))


def _read_redis() -> tuple[Check, dict[str, float | None], dict[str, int | None], list[WorkerRow]]:
    """PING, the heartbeats, every queue's length and the index of workers in one round
    trip; the workers' records in a second."""
    queues = [q.value for q in Queue]
    with_queues = _broker_is_our_redis()
    now = time.time()
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.ping()
        for name in HEARTBEATS:
            pipe.get(HEARTBEAT_KEY.format(name))
        pipe.zrangebyscore(WORKERS_KEY, now - WORKER_KEEP_SECONDS, "+inf")
        if with_queues:
            for queue in queues:
                pipe.llen(queue)  # kombu keeps a queue's messages in a list of its name
        _, *raw = pipe.execute()
        beats, worker_ids = raw[: len(HEARTBEATS)], raw[len(HEARTBEATS)]
        lengths = raw[len(HEARTBEATS) + 1 :]
        records = read_workers(worker_ids)
    except Exception as exc:  # redis-py raises more than RedisError (OSError, timeouts)
        return Check(False, f"unreachable: {type(exc).__name__}"), {}, dict.fromkeys(queues), []
    ages = {
        name: None if value is None else max(0.0, now - float(value))
        for name, value in zip(HEARTBEATS, beats, strict=True)
    }
    depths: dict[str, int | None] = dict.fromkeys(queues)
    if with_queues:
        depths = {q: int(n) for q, n in zip(queues, lengths, strict=True)}
    workers = sorted(
        (WorkerRow(beat, max(0.0, now - beat.last_seen)) for beat in records),
        key=lambda w: (w.beat.hostname, w.beat.pid),
    )
    return Check(True, "ok"), ages, depths, workers


# --- Database -------------------------------------------------------------------------------


def _capped(sql: str) -> str:
    """`count` and `min(t)` over at most COUNT_CAP + 1 rows of `sql` (which selects `t`)."""
    return f"SELECT count(*), min(t) FROM ({sql} LIMIT {COUNT_CAP + 1}) x"  # noqa: S608


def _due_sql() -> str:
    # Each branch repeats its partial index's predicate literally (the planner only uses a
    # partial index when the query implies its WHERE) and walks it oldest first.
    deliveries = _table("automations.Delivery")
    runs = _table("automations.JourneyRun")
    enrollments = _table("cadences.Enrollment")
    inbound = _table("leads.InboundDelivery")
    branches = [
        (
            "deliveries",
            f"SELECT due_at AS t FROM {deliveries} WHERE status = 'scheduled' "  # noqa: S608
            "AND due_at <= %(now)s ORDER BY due_at",
        ),
        (
            "journeys",
            f"SELECT due_at AS t FROM {runs} WHERE status = 'waiting' "  # noqa: S608
            "AND due_at <= %(now)s ORDER BY due_at",
        ),
        (
            "cadences",
            # enrollment_auto_due: automatic steps only; manual ones are the reps' queue.
            f"SELECT due_at AS t FROM {enrollments} WHERE status = 'active' "  # noqa: S608
            "AND kind IN ('email_auto', 'sms_auto') AND due_at <= %(now)s ORDER BY due_at",
        ),
        (
            "inbound",
            f"SELECT received_at AS t FROM {inbound} WHERE status = 'pending' "  # noqa: S608
            "ORDER BY received_at",
        ),
    ]
    return " UNION ALL ".join(
        f"SELECT '{kind}', * FROM ({_capped(sql)}) {kind}"  # noqa: S608 (constants only)
        for kind, sql in branches
    )


BACKLOG_LABELS = {
    "deliveries": _("Messages due, not sent"),
    "journeys": _("Journey waits that are over"),
    "cadences": _("Automatic cadence steps due"),
    "inbound": _("Inbound deliveries not processed yet"),
}


def _dead_sql() -> str:
    # Inbound: newest first along (status, -received_at), counted from the index alone.
    # Messages: (status, -id) counts them from the index too, but when they failed
    # (`updated_at`) is only in the row, so the last day is read from the newest
    # RECENT_WALK failures only: a long history of failures never turns into a long scan.
    inbound = _table("leads.InboundDelivery")
    deliveries = _table("automations.Delivery")
    cap = COUNT_CAP + 1
    return (
        "SELECT 'inbound', count(*), count(*) FILTER (WHERE t >= %(since)s) FROM ("  # noqa: S608
        f"SELECT received_at AS t FROM {inbound} WHERE status = 'failed' "
        f"ORDER BY received_at DESC LIMIT {cap}) i "
        "UNION ALL "
        "SELECT 'deliveries', "
        f"(SELECT count(*) FROM (SELECT 1 FROM {deliveries} WHERE status = 'failed' "
        f"LIMIT {cap}) a), "
        "(SELECT count(*) FILTER (WHERE t >= %(since)s) FROM ("
        f"SELECT updated_at AS t FROM {deliveries} WHERE status = 'failed' "
        f"ORDER BY id DESC LIMIT {RECENT_WALK}) d)"
    )


DEAD_LETTER_LABELS = {
    "inbound": _("Inbound deliveries that failed"),
    "deliveries": _("Messages that failed"),
}
# Where a person reads them and retries (inbound) or resends (messages): the section's
# URL name, filtered to the failed ones.
DEAD_LETTER_SECTIONS = {"inbound": "inbound", "deliveries": "deliveries"}


def _rollup_sql() -> str:
    # Marks are appended in id order, each with its transaction's start time: the oldest is
    # among the first few by id (a long transaction may insert an older time a little
    # later), read from the primary key even when a stalled refresh left millions.
    days = _table("analytics.DirtyDay")
    contacts = _table("analytics.DirtyContact")
    return (
        f"SELECT (SELECT min(marked_at) FROM (SELECT marked_at FROM {days} "  # noqa: S608
        "ORDER BY id LIMIT 100) d), "
        f"(SELECT min(marked_at) FROM (SELECT marked_at FROM {contacts} "
        "ORDER BY id LIMIT 100) c)"
    )


def _read_database(now: datetime) -> tuple[list[Backlog], list[DeadLetters], float | None]:
    with connection.cursor() as cursor:
        cursor.execute(_due_sql(), {"now": now})
        backlogs = [
            Backlog(
                kind=kind,
                label=BACKLOG_LABELS[kind],
                count=min(count, COUNT_CAP),
                capped=count > COUNT_CAP,
                oldest_seconds=_age(now, oldest),
            )
            for kind, count, oldest in cursor.fetchall()
        ]
        cursor.execute(_dead_sql(), {"since": now - timedelta(days=1)})
        dead: list[DeadLetters] = []
        for kind, total, last_day in cursor.fetchall():
            section = DEAD_LETTER_SECTIONS[kind]
            dead.append(
                DeadLetters(
                    kind=kind,
                    label=DEAD_LETTER_LABELS[kind],
                    total=min(total, COUNT_CAP),
                    total_capped=total > COUNT_CAP,
                    last_day=min(last_day, COUNT_CAP),
                    url=reverse(section) + "?status=failed",
                    section=section,
                )
            )
        cursor.execute(_rollup_sql())
        marks = [m for m in cursor.fetchone() or () if m is not None]
    lag = _age(now, min(marks)) if marks else 0.0
    return backlogs, dead, lag


def age_text(seconds: float | None) -> str:
    """ "42 s", "5 minutes", "3 hours, 2 minutes" in the user's language; a dash for none."""
    if seconds is None:
        return "\u2013"
    if seconds < 60:
        return gettext("%(seconds)d s") % {"seconds": seconds}
    now = timezone.now()
    return timesince(now - timedelta(seconds=seconds), now, depth=2)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def snapshot() -> Snapshot:
    """Every figure of the system page. Never raises for a part that is down: that part
    reads as down and its figures as unknown."""
    redis_check, ages, depths, workers = _read_redis()
    worker = check_heartbeat(ages.get("worker"), redis_ok=redis_check.ok)
    beat = check_heartbeat(ages.get("beat"), redis_ok=redis_check.ok)
    queues = [
        QueueDepth(
            name,
            depths.get(name),
            sum(1 for w in workers if w.live and name in w.beat.queues) if redis_check.ok else None,
        )
        for name in depths
    ]
    try:
        backlogs, dead, lag = _read_database(timezone.now())
    except DatabaseError as exc:
        return Snapshot(
            Check(False, f"unreachable: {type(exc).__name__}"),
            redis_check,
            worker,
            beat,
            queues,
            workers,
        )
    return Snapshot(
        Check(True, "ok"), redis_check, worker, beat, queues, workers, backlogs, dead, lag
    )


def as_dict(snap: Snapshot) -> dict[str, Any]:
    """The snapshot as plain data (for logs and tests)."""
    return {
        "healthy": snap.healthy,
        "parts": {name: check.ok for name, check in snap.parts.items()},
        "queues": {q.name: q.depth for q in snap.queues},
        "consumers": {q.name: q.consumers for q in snap.queues},
        "workers": {w.beat.id: w.status for w in snap.workers},
        "due": {b.kind: b.count for b in snap.backlogs},
        "dead_letters": {d.kind: d.total for d in snap.dead_letters},
        "rollup_lag_seconds": snap.rollup_lag_seconds,
    }
