"""Liveness of the parts Growth needs: the database, Redis and a Celery worker.

Heartbeats are timestamps in Redis written by the worker's own timer (`WorkerHeartbeat`)
and by the beat tick task, so a health probe costs one query and one Redis round trip.
Every worker process also keeps its own record (`WorkerBeat`: host, pid, queues…) so the
system page can tell which of several workers died; the shared "worker" heartbeat, which
any live worker keeps fresh, is what /healthz reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache

import redis
from django.conf import settings
from django.db import connection

HEARTBEAT_KEY = "growth:heartbeat:{}"
# Per worker process: a sorted set of worker ids by last heartbeat (to list them without a
# SCAN over the cache's keys), and each worker's record, which expires.
WORKERS_KEY = "growth:workers"
WORKER_KEY = "growth:worker:{}"
# A worker that vanished without a clean shutdown (killed, out of memory, machine lost) is
# shown as gone this long, then its record expires.
WORKER_KEEP_SECONDS = 86400


@cache
def _redis_client(url: str) -> redis.Redis:
    # Short timeouts: a probe must answer fast even when Redis hangs.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def redis_client() -> redis.Redis:
    return _redis_client(settings.REDIS_URL)


def record_heartbeat(name: str) -> None:
    # Kept for a day: an old timestamp says "stopped at", a missing one "never ran".
    redis_client().set(HEARTBEAT_KEY.format(name), time.time(), ex=86400)


def heartbeat_age(name: str) -> float | None:
    """Seconds since `name` last beat, or None if it never has. Raises on Redis errors."""
    raw = redis_client().get(HEARTBEAT_KEY.format(name))
    return None if raw is None else max(0.0, time.time() - float(raw))


@dataclass(frozen=True)
class WorkerBeat:
    """One worker process's heartbeat, as it writes it."""

    hostname: str  # Celery's node name, e.g. celery@web-1 (`-n`)
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    started_at: float  # Unix time
    last_seen: float  # Unix time
    processed: int = 0  # tasks accepted since it started
    active: int = 0  # tasks running now
    # Two processes with the default node name on one machine differ by pid.
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.hostname}:{self.pid}")

    def to_json(self) -> str:
        data = asdict(self)
        del data["id"]
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerBeat:
        data = json.loads(raw)
        data["queues"] = tuple(data["queues"])
        return cls(**data)


def record_worker(beat: WorkerBeat) -> None:
    """Write one worker's record and its place in the index (one round trip). Index entries
    older than WORKER_KEEP_SECONDS are dropped on the way, so the set stays small."""
    pipe = redis_client().pipeline(transaction=False)
    pipe.set(WORKER_KEY.format(beat.id), beat.to_json(), ex=WORKER_KEEP_SECONDS)
    pipe.zadd(WORKERS_KEY, {beat.id: beat.last_seen})
    pipe.zremrangebyscore(WORKERS_KEY, "-inf", f"({beat.last_seen - WORKER_KEEP_SECONDS}")
    pipe.execute()


def forget_worker(worker_id: str) -> None:
    """A clean shutdown: the worker is not gone, it was stopped."""
    pipe = redis_client().pipeline(transaction=False)
    pipe.delete(WORKER_KEY.format(worker_id))
    pipe.zrem(WORKERS_KEY, worker_id)
    pipe.execute()


def read_workers(ids: Iterable[bytes | str]) -> list[WorkerBeat]:
    """The records of `ids` (from WORKERS_KEY); one whose record expired is left out."""
    keys = [WORKER_KEY.format(i.decode() if isinstance(i, bytes) else i) for i in ids]
    if not keys:
        return []
    return [WorkerBeat.from_json(raw) for raw in redis_client().mget(keys) if raw is not None]


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str
    age_seconds: float | None = None


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check(True, "ok")
    except Exception as exc:  # any driver error means "down" to a probe
        return Check(False, f"unreachable: {type(exc).__name__}")


def _read_redis(names: tuple[str, ...]) -> tuple[Check, dict[str, float | None]]:
    """PING and every heartbeat in one round trip."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.ping()
        for name in names:
            pipe.get(HEARTBEAT_KEY.format(name))
        _, *raw = pipe.execute()
    except Exception as exc:  # a probe answers "down", never 500 (redis-py can raise others)
        return Check(False, f"unreachable: {type(exc).__name__}"), {}
    now = time.time()
    ages = {
        n: None if r is None else max(0.0, now - float(r)) for n, r in zip(names, raw, strict=True)
    }
    return Check(True, "ok"), ages


def check_heartbeat(age: float | None, *, redis_ok: bool) -> Check:
    if not redis_ok:
        return Check(False, "unknown: Redis is down")
    if age is None:
        return Check(False, "no heartbeat yet")
    rounded = round(age, 1)
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return Check(False, f"last heartbeat {rounded:.0f}s ago", rounded)
    return Check(True, "ok", rounded)


def health_report() -> tuple[bool, dict[str, dict[str, object]]]:
    """(healthy, parts). Healthy means database, Redis and a worker all answer; the beat
    scheduler is reported too but does not fail the probe (timed work waits, nothing breaks)."""
    database = check_database()
    redis_check, ages = _read_redis(("worker", "beat"))
    worker = check_heartbeat(ages.get("worker"), redis_ok=redis_check.ok)
    beat = check_heartbeat(ages.get("beat"), redis_ok=redis_check.ok)
    healthy = database.ok and redis_check.ok and worker.ok
    parts = {"database": database, "redis": redis_check, "worker": worker, "beat": beat}
    return healthy, {name: asdict(check) for name, check in parts.items()}
