"""Per-worker heartbeats: each worker process keeps its own record in Redis; the system page
and /metrics list them with their queues, tell late and gone workers apart, and name a
queue that has work but no live worker to take it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from growth import ops
from growth.health import (
    WORKER_KEEP_SECONDS,
    WORKER_KEY,
    WORKERS_KEY,
    WorkerBeat,
    forget_worker,
    heartbeat_age,
    record_worker,
    redis_client,
)
from growth.roles import Role
from tests.polling import poll

TOKEN = "workers-test-token-77c1"


@contextmanager
def worker_on(*queues: str, hostname: str) -> Iterator[Any]:
    """A real Celery worker (solo pool, in a thread) consuming only `queues`."""
    from celery.contrib.testing.worker import start_worker

    from growth.celery import ALL_QUEUES, app

    app.control.purge()
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=10,
            queues=list(queues),
            hostname=hostname,
        ) as worker:
            yield worker
    finally:
        # start_worker selects the queues on the process-wide app: give the others back.
        app.amqp.queues.select(ALL_QUEUES.split(","))


def beat(hostname: str, pid: int, queues: tuple[str, ...], age: float) -> WorkerBeat:
    now = time.time()
    return WorkerBeat(
        hostname=hostname,
        pid=pid,
        queues=queues,
        concurrency=2,
        started_at=now - age - 3600,
        last_seen=now - age,
        processed=12,
        active=1,
    )


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def series(parsed: dict[Any, float], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (n, labels), value in parsed.items() if n == name}


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_appears_with_its_queues_and_leaves_on_shutdown(client_as: Any) -> None:
    admin = client_as(Role.ADMIN)
    metrics = Client()
    redis = redis_client()
    with worker_on("analytics", hostname="analytics-1@ops-test"):
        rows = poll(lambda: ops.snapshot().workers)
        assert len(rows) == 1
        row = rows[0]
        assert row.beat.hostname == "analytics-1@ops-test"
        assert row.beat.queues == ("analytics",)
        assert row.status == "ok" and row.live and row.age_seconds < 5
        assert 0 < redis.ttl(WORKER_KEY.format(row.beat.id)) <= WORKER_KEEP_SECONDS
        # The shared heartbeat /healthz reads is kept too: one live worker is enough.
        assert heartbeat_age("worker") is not None
        assert client_as(Role.ADMIN).get(reverse("healthz")).status_code == 200

        # Work for a queue nobody consumes: the page names it and the command to start.
        redis.lpush("messaging", *[f"task-{n}" for n in range(1200)])
        body = admin.get(reverse("system")).content.decode()
        assert f'data-worker="{row.beat.id}" data-status="ok"' in body
        assert "analytics-1@ops-test" in body
        assert (
            "The messaging queue has 1,200 tasks and no live worker consumes it: start "
            "<code>celery -A growth worker -Q messaging -c 8</code>."
        ) in body
        assert '<tr data-queue="messaging" data-unconsumed>' in body
        assert '<tr data-queue="analytics">' in body  # consumed: not flagged
        assert '<tr data-queue="long">' in body  # nothing waiting: not flagged

        parsed = scrape(metrics)
        labels = (
            ("pid", str(row.beat.pid)),
            ("queues", "analytics"),
            ("worker", row.beat.hostname),
        )
        assert 0 <= series(parsed, "growth_worker_last_seen_seconds")[labels] < 5
        assert series(parsed, "growth_worker_up")[labels] == 1
        consumers = series(parsed, "growth_queue_consumers")
        assert consumers[(("queue", "analytics"),)] == 1
        assert consumers[(("queue", "messaging"),)] == 0

    # A clean shutdown removes the record: the worker is not gone, it was stopped.
    assert ops.snapshot().workers == []
    assert redis.zcard(WORKERS_KEY) == 0
    parsed = scrape(metrics)
    assert not series(parsed, "growth_worker_last_seen_seconds")
    assert series(parsed, "growth_queue_consumers")[(("queue", "analytics"),)] == 0
    body = admin.get(reverse("system")).content.decode()
    assert 'data-testid="system-no-workers"' in body
    assert "-Q analytics" not in body  # nothing waits on analytics


@pytest.mark.django_db
def test_old_heartbeats_turn_late_then_gone_then_expire(client_as: Any, settings: Any) -> None:
    settings.WORKER_HEARTBEAT_INTERVAL = 10
    settings.WORKER_HEARTBEAT_MAX_AGE = 60
    record_worker(beat("fresh@a", 1, ("default",), age=2))
    record_worker(beat("late@a", 2, ("messaging",), age=45))
    record_worker(beat("killed@b", 3, ("dispatch",), age=600))
    # Older than the keep window: dropped from the index on the next write, never listed.
    record_worker(beat("ancient@c", 4, ("long",), age=WORKER_KEEP_SECONDS + 60))
    record_worker(beat("fresh@a", 5, ("default",), age=1))
    # A record that expired while its index entry stayed is left out as well.
    record_worker(beat("expired@d", 6, ("analytics",), age=30))
    redis_client().delete(WORKER_KEY.format("expired@d:6"))

    snap = ops.snapshot()
    assert {w.beat.id: w.status for w in snap.workers} == {
        "fresh@a:1": "ok",
        "fresh@a:5": "ok",  # two processes with one node name: both listed
        "late@a:2": "late",
        "killed@b:3": "gone",
    }
    assert redis_client().zscore(WORKERS_KEY, "ancient@c:4") is None
    consumers = {q.name: q.consumers for q in snap.queues}
    assert consumers == {"default": 2, "messaging": 1, "dispatch": 0, "long": 0, "analytics": 0}

    body = client_as(Role.ADMIN).get(reverse("system")).content.decode()
    assert 'data-worker="late@a:2" data-status="late"' in body
    assert 'data-worker="killed@b:3" data-status="gone"' in body
    assert "Stopped beating without a clean shutdown" in body
    assert "expired@d" not in body and "ancient@c" not in body

    parsed = scrape(Client())
    up = series(parsed, "growth_worker_up")
    assert up[(("pid", "3"), ("queues", "dispatch"), ("worker", "killed@b"))] == 0
    assert up[(("pid", "2"), ("queues", "messaging"), ("worker", "late@a"))] == 1
    seen = series(parsed, "growth_worker_last_seen_seconds")
    assert 600 <= seen[(("pid", "3"), ("queues", "dispatch"), ("worker", "killed@b"))] < 660

    forget_worker("killed@b:3")
    assert "killed@b" not in {w.beat.hostname for w in ops.snapshot().workers}


@pytest.mark.django_db
def test_a_gone_worker_does_not_count_as_a_consumer(client_as: Any) -> None:
    record_worker(beat("killed@b", 3, ("dispatch", "messaging"), age=600))
    redis_client().lpush("dispatch", "a", "b")
    queues = {q.name: q for q in ops.snapshot().queues}
    assert queues["dispatch"].consumers == 0 and queues["dispatch"].unconsumed
    assert not queues["messaging"].unconsumed  # no consumer, but nothing waits either
    body = client_as(Role.ADMIN).get(reverse("system")).content.decode()
    assert "<code>celery -A growth worker -Q dispatch -c 2</code>" in body


@pytest.mark.django_db
def test_redis_down_leaves_workers_and_consumers_unknown(client_as: Any, settings: Any) -> None:
    record_worker(beat("fresh@a", 1, ("default",), age=2))
    client = client_as(Role.ADMIN)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    snap = ops.snapshot()
    assert snap.workers == [] and all(q.consumers is None for q in snap.queues)
    assert not any(q.unconsumed for q in snap.queues)
    body = client.get(reverse("system")).content.decode()
    assert "Unknown while Redis does not answer." in body
