"""The system page: who sees it, the figures against real rows and Redis keys, the hints,
and a bounded number of queries for a page that refreshes every 5 seconds."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from automations.models import Delivery, Journey, JourneyRun, JourneyVersion
from cadences.models import Enrollment
from growth import ops
from growth.celery import Queue
from growth.health import HEARTBEAT_KEY, WorkerBeat, record_worker, redis_client
from growth.roles import Role
from leads.models import InboundDelivery
from tests.cadences.helpers import mql, published
from tests.leads.factories import ContactFactory, SourceFactory

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
MINUTE = timedelta(minutes=1)


def delivery(status: str, due: datetime, **fields: Any) -> Delivery:
    return Delivery.objects.create(
        key=f"ops-test:{next(_serial)}",
        channel="email",
        purpose="marketing",
        status=status,
        scheduled_for=due,
        due_at=due,
        **fields,
    )


def journey_run(status: str, due: datetime) -> JourneyRun:
    journey = Journey.objects.create(name=f"Journey {next(_serial)}", status="active")
    version = JourneyVersion.objects.create(
        journey=journey, number=1, graph={}, trigger_kind="manual"
    )
    return JourneyRun.objects.create(
        journey=journey,
        version=version,
        contact=ContactFactory(),
        entry_key=f"ops-test:{next(_serial)}",
        status=status,
        node="wait",
        due_at=due,
    )


def enrollment(kind: str, due: datetime, status: str = "active") -> Enrollment:
    n = next(_serial)
    cadence = published(f"Cadence {n}")
    return Enrollment.objects.create(
        contact=mql(n),
        cadence=cadence,
        version=cadence.live,
        qualified_at=due,
        status=status,
        kind=kind,
        due_at=due,
        key=f"ops-test:{n}",
    )


def inbound(status: str, received: datetime, source: Any) -> InboundDelivery:
    row = InboundDelivery.objects.create(
        source=source, topic="track", delivery_id=f"ops-{next(_serial)}", body=b"{}", status=status
    )
    InboundDelivery.objects.filter(pk=row.pk).update(received_at=received)  # auto_now_add
    return row


def dirty_mark(marked: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_dirtyday; DELETE FROM analytics_dirtycontact")
        cursor.execute(
            "INSERT INTO analytics_dirtyday (kind, day, marked_at) VALUES ('sales', %s, %s)",
            [marked.date(), marked],
        )


@pytest.fixture
def shop_state() -> datetime:
    """Due, not-yet-due and done work of every kind, dead letters, queues, heartbeats."""
    now = timezone.now()
    dirty_mark(now - 12 * MINUTE)  # first: later rows add marks of their own
    delivery("scheduled", now - 10 * MINUTE)
    delivery("scheduled", now - 2 * MINUTE)
    delivery("scheduled", now + 60 * MINUTE)  # not due yet
    delivery("sent", now - 30 * MINUTE)
    delivery("failed", now - 5 * MINUTE)  # failed just now (updated_at)
    old_failure = delivery("failed", now - 3 * 24 * 60 * MINUTE)
    Delivery.objects.filter(pk=old_failure.pk).update(updated_at=now - timedelta(days=3))
    journey_run("waiting", now - 7 * MINUTE)
    journey_run("waiting", now + 5 * MINUTE)
    journey_run("done", now - 60 * MINUTE)
    enrollment("email_auto", now - 4 * MINUTE)
    enrollment("call", now - 50 * MINUTE)  # a rep's manual step: the queue, not the dispatcher
    enrollment("sms_auto", now - 50 * MINUTE, status="paused")
    source = SourceFactory()
    inbound("pending", now - 1 * MINUTE, source)
    inbound("processed", now - 20 * MINUTE, source)
    inbound("failed", now - 30 * MINUTE, source)
    inbound("failed", now - 2 * timedelta(days=1), source)
    inbound("failed", now - 3 * timedelta(days=1), source)
    pipe = redis_client().pipeline()
    pipe.lpush("messaging", "a", "b", "c")
    pipe.lpush("dispatch", "a")
    pipe.set(HEARTBEAT_KEY.format("worker"), time.time() - 3)
    pipe.execute()
    record_worker(
        WorkerBeat(
            hostname="celery@ops-test",
            pid=4242,
            queues=tuple(q.value for q in Queue),
            concurrency=4,
            started_at=time.time() - 600,
            last_seen=time.time() - 3,
        )
    )
    return now


def test_snapshot_counts_what_is_due_dead_and_queued(shop_state: datetime) -> None:
    snap = ops.snapshot()
    due = {b.kind: b for b in snap.backlogs}
    assert {k: b.count for k, b in due.items()} == {
        "deliveries": 2,
        "journeys": 1,
        "cadences": 1,
        "inbound": 1,
    }
    assert 600 <= due["deliveries"].oldest_seconds < 660
    assert 420 <= due["journeys"].oldest_seconds < 480
    assert 240 <= due["cadences"].oldest_seconds < 300
    assert not any(b.capped for b in snap.backlogs)
    dead = {d.kind: (d.last_day, d.total) for d in snap.dead_letters}
    assert dead == {"inbound": (1, 3), "deliveries": (1, 2)}
    assert {q.name: q.depth for q in snap.queues} == {
        "default": 0,
        "messaging": 3,
        "dispatch": 1,
        "long": 0,
        "analytics": 0,
    }
    assert snap.worker.ok and not snap.beat.ok and snap.database.ok and snap.redis.ok
    assert 12 * 60 <= snap.rollup_lag_seconds < 13 * 60
    assert snap.healthy


def test_nothing_due_reads_zero_and_no_age() -> None:
    snap = ops.snapshot()
    assert all(b.count == 0 and b.oldest_seconds is None for b in snap.backlogs)
    assert all(d.total == 0 for d in snap.dead_letters)
    assert not snap.worker.ok and "worker" in snap.hints


def test_counts_stop_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "COUNT_CAP", 2)
    now = timezone.now()
    for minutes in (1, 2, 3):
        delivery("scheduled", now - minutes * MINUTE)
        delivery("failed", now)
    due = {b.kind: b for b in ops.snapshot().backlogs}["deliveries"]
    assert (due.count, due.capped) == (2, True)
    dead = {d.kind: d for d in ops.snapshot().dead_letters}["deliveries"]
    assert (dead.total, dead.total_capped) == (2, True)


def test_due_queries_use_the_dispatchers_indexes() -> None:
    """EXPLAIN on tables made big enough that a sequential scan would be chosen if the
    predicate did not match the partial indexes."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + ops._due_sql(), {"now": timezone.now()})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("delivery_due", "journeyrun_due", "enrollment_auto_due", "inbound_pending"):
        assert index in plan, plan
    assert "Seq Scan" not in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + ops._dead_sql(), {"since": timezone.now()})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "inbound_status_recent" in plan and "delivery_status_recent" in plan, plan


# --- The page -------------------------------------------------------------------------------


def test_the_admin_sees_every_figure_and_what_to_do(
    client_as: Any, shop_state: datetime, django_assert_max_num_queries: Any
) -> None:
    client = client_as(Role.ADMIN)
    with django_assert_max_num_queries(
        10
    ):  # 8 today: session, user, 2 permissions, 3 figures, roles
        response = client.get(reverse("system"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<tr data-queue="messaging">' in body  # a live worker consumes it: not flagged
    assert 'data-worker="celery@ops-test:4242" data-status="ok"' in body
    assert "No beat tick" in body  # beat never ticked: the hint says what to start
    assert "No worker heartbeat" not in body
    # Dead letters link to the lists they are retried from (inbound: this admin may open it;
    # the outbox needs the marketer role, which the row says instead of a dead link).
    assert f'href="{reverse("inbound")}?status=failed"' in body
    assert f'href="{reverse("deliveries")}?status=failed"' not in body
    assert "Marketer" in body


def test_the_htmx_refresh_is_the_fragment_only(client_as: Any, shop_state: datetime) -> None:
    response = client_as(Role.ADMIN).get(reverse("system"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'data-testid="system-due"' in body


def test_an_admin_who_is_also_a_marketer_gets_the_outbox_link(
    client: Any, user_with_role: Any, shop_state: datetime
) -> None:
    client.force_login(user_with_role(Role.ADMIN, Role.MARKETER))
    body = client.get(reverse("system")).content.decode()
    assert f'href="{reverse("deliveries")}?status=failed"' in body


@pytest.mark.parametrize(
    "role", [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER], ids=str
)
def test_other_roles_are_refused(client_as: Any, role: Role) -> None:
    assert client_as(role).get(reverse("system")).status_code == 403


def test_signed_out_goes_to_sign_in(client: Any) -> None:
    response = client.get(reverse("system"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_redis_down_reads_as_down_with_unknown_queues(client_as: Any, settings: Any) -> None:
    client = client_as(Role.ADMIN)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    snap = ops.snapshot()
    assert not snap.redis.ok and "redis" in snap.hints
    assert all(q.depth is None for q in snap.queues)
    assert snap.database.ok and snap.backlogs  # the database figures still read
    body = client.get(reverse("system")).content.decode()
    assert "Redis does not answer" in body
