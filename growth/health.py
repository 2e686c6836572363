"""Liveness of the parts Growth needs: the database, Redis and a Celery worker.

Heartbeats are timestamps in Redis written by the worker's own timer (`WorkerHeartbeat`)
and by the beat tick task, so a health probe costs one query and one Redis round trip.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import cache

import redis
from django.conf import settings
from django.db import connection

HEARTBEAT_KEY = "growth:heartbeat:{}"


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
