"""Send tasks decide a whole batch with the limiter at once: the same answers as deciding
each delivery on its own in priority order, a fixed number of statements per batch, and
exactly one provider call per delivery when a worker dies halfway or a task runs twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from automations.limiter import policy
from automations.models import Delivery
from automations.services import sending
from automations.services.deliveries import (
    deliveries_dispatch,
    deliveries_requeue_lost,
    delivery_schedule,
    suppression_add,
)
from automations.services.sending import deliveries_send, delivery_send
from automations.webhooks_out import wanted_types_refresh
from leads.models import Consent
from tests.leads.factories import ConsentFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 6, 10, 10, tzinfo=UTC)  # noon in Berlin, night in Auckland and New York
ZONES = ["Europe/Berlin", "Europe/Berlin", "Pacific/Auckland", "America/New_York"]
S = Delivery.Status


def _shop(seed: int) -> list[int]:
    """Contacts with every combination the limiter weighs, several messages each (some to
    one contact on one channel, with different priorities and purposes). Returns the
    deliveries, claimed."""
    rng = random.Random(seed)
    for n in range(10):
        contact = ContactFactory(
            email=f"c{n}@example.com", phone=f"+49151000{n:04d}", time_zone=rng.choice(ZONES)
        )
        for channel in ("email", "sms"):
            status = rng.choice(["granted", "granted", "granted", "denied", None])
            if status:
                ConsentFactory(contact=contact, channel=channel, status=status)
        if rng.random() < 0.15:
            suppression_add(channel="email", address=contact.email, reason="hard_bounce")
        if rng.random() < 0.3:  # already had a marketing e-mail today
            Delivery.objects.create(
                key=f"earlier-{n}",
                contact=contact,
                channel="email",
                purpose="marketing",
                status=S.SENT,
                scheduled_for=NOON - timedelta(hours=3),
                due_at=NOON - timedelta(hours=3),
                sent_at=NOON - timedelta(hours=3),
                to_address=contact.email,
            )
        for m in range(rng.randint(1, 4)):
            delivery_schedule(
                key=f"s{seed}-c{n}-m{m}",
                contact=contact,
                channel=rng.choice(["email", "email", "sms"]),
                purpose=rng.choice(["marketing", "marketing", "sales", "transactional"]),
                priority=rng.randint(0, 3),
                due_at=NOON - timedelta(minutes=rng.randint(0, 30)),
                subject="Hello",
                text="Hello there",
            )
    return deliveries_dispatch(now=NOON)


def _outcomes(seed: int, *, together: bool) -> dict[str, tuple[Any, ...]]:
    with transaction.atomic():
        claimed = _shop(seed)
        if together:
            deliveries_send(claimed, now=NOON)
        else:  # one task per delivery, the most important first
            for delivery in Delivery.objects.filter(pk__in=claimed).order_by(
                "-priority", "due_at", "pk"
            ):
                delivery_send(delivery_id=delivery.pk, now=NOON)
        result = {
            row[0]: row[1:]
            for row in Delivery.objects.filter(pk__in=claimed).values_list(
                "key", "status", "reason", "due_at", "deferrals", "attempts"
            )
        }
        transaction.set_rollback(True)
    return result


@pytest.mark.parametrize("seed", range(6))
def test_a_batch_gets_the_answers_each_delivery_would_get_on_its_own(standin_settings, seed):
    together = _outcomes(seed, together=True)
    keys_together = sorted(m.key for m in standin_settings.emails + standin_settings.sms)
    standin_settings.reset()
    alone = _outcomes(seed, together=False)
    keys_alone = sorted(m.key for m in standin_settings.emails + standin_settings.sms)
    assert together == alone
    assert keys_together == keys_alone
    statuses = {row[0] for row in together.values()}
    assert S.SENT in statuses and (S.SUPPRESSED in statuses or S.SCHEDULED in statuses)


def _reachable(n: int) -> Any:
    contact = ContactFactory(email=f"r{n}@example.com", time_zone="Europe/Berlin")
    ConsentFactory(contact=contact, channel="email", status=Consent.Status.GRANTED)
    return contact


def _claimed(count: int, offset: int = 0) -> list[int]:
    for n in range(offset, offset + count):
        delivery_schedule(
            key=f"q{n}",
            contact=_reachable(n),
            channel="email",
            purpose="marketing",
            due_at=NOON,
            subject="Hi",
            text="Hi",
        )
    return deliveries_dispatch(now=NOON)


def test_the_statements_of_a_batch_do_not_grow_with_it_but_for_one_mark_per_send(
    standin_settings,
):
    def statements(ids: list[int]) -> int:
        with CaptureQueriesContext(connection) as queries:
            deliveries_send(ids, now=NOON)
        return len(queries)

    policy()  # the sending policy's row exists, as it does after the first send
    wanted_types_refresh()  # as every webhook dispatcher run does: no subscription here
    small = statements(_claimed(3))
    large = statements(_claimed(15, offset=3))
    # Before each provider call one statement (the outcome before it, "sending" for it),
    # nothing else per message.
    assert large - small == 12
    assert Delivery.objects.filter(status=S.SENT).count() == 18
    assert len(standin_settings.emails) == 18


def test_a_worker_killed_after_the_limiter_leaves_the_rest_ready_and_the_redelivered_task_sends_each_once(
    standin_settings,
):
    claimed = _claimed(4)
    # The worker decided the batch, sent the first message, and died before recording it.
    ready = sending._decide(claimed, NOW := NOON)
    assert [d.status for d in ready] == [S.READY] * 4
    assert sending._settle([], then_mark=ready[0])  # "sending", committed
    sending._call(ready[0], NOW)
    # The broker hands the task to another worker (acks_late).
    sent = deliveries_send(claimed, now=NOW)
    assert sorted(d.pk for d in sent) == sorted(d.pk for d in ready[1:])
    assert len(standin_settings.emails) == 4 and standin_settings.duplicates() == []
    # The first stays "sending": the stuck-send sweep fails it visibly, never sends it again.
    assert Delivery.objects.get(pk=ready[0].pk).status == S.SENDING


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside the batch: nothing after it runs."""


def test_a_worker_killed_mid_batch_leaves_only_the_message_in_flight_in_doubt(
    standin_settings, monkeypatch
):
    claimed = _claimed(4)
    real = sending._provider_call
    calls: list[str] = []

    def provider_call(delivery: Delivery) -> Any:
        calls.append(delivery.key)
        if len(calls) == 3:
            raise WorkerKilled  # during the third message's provider call
        return real(delivery)

    monkeypatch.setattr(sending, "_provider_call", provider_call)
    with pytest.raises(WorkerKilled):
        deliveries_send(claimed, now=NOON)
    by_key = dict(Delivery.objects.filter(pk__in=claimed).values_list("key", "status"))
    statuses = [by_key[key] for key in calls] + [
        status for key, status in by_key.items() if key not in calls
    ]
    # The two sent before it are settled as sent: the third's "sending" was committed with
    # their outcomes. Only the one in flight is in doubt; the last was never started.
    assert statuses == [S.SENT, S.SENT, S.SENDING, S.READY]

    monkeypatch.setattr(sending, "_provider_call", real)
    again = deliveries_send(claimed, now=NOON)  # the broker redelivers the task
    assert [d.key for d in again] == [k for k in by_key if k not in calls]
    assert len(standin_settings.emails) == 3 and standin_settings.duplicates() == []


def test_ready_deliveries_whose_task_was_lost_go_back_through_the_limiter(standin_settings):
    claimed = _claimed(2)
    sending._decide(claimed, NOON)
    Delivery.objects.filter(pk__in=claimed).update(updated_at=NOON)
    assert deliveries_requeue_lost(now=NOON + timedelta(minutes=6)) == 2
    back = Delivery.objects.get(pk=claimed[0])
    assert (back.status, back.sent_at, back.attempts) == (S.SCHEDULED, None, 0)
    later = NOON + timedelta(minutes=7)
    deliveries_send(deliveries_dispatch(now=later), now=later)
    assert len(standin_settings.emails) == 2


def test_a_bug_in_one_send_fails_that_delivery_visibly_and_the_batch_goes_on(
    standin_settings, monkeypatch
):
    claimed = _claimed(3)
    real = sending._provider_call
    broken = Delivery.objects.get(pk=claimed[1]).key

    def provider_call(delivery: Delivery) -> Any:
        if delivery.key == broken:
            raise RuntimeError("template blew up")
        return real(delivery)

    monkeypatch.setattr(sending, "_provider_call", provider_call)
    deliveries_send(claimed, now=NOON)
    statuses = dict(Delivery.objects.filter(pk__in=claimed).values_list("key", "status"))
    assert statuses.pop(broken) == S.FAILED
    assert set(statuses.values()) == {S.SENT}
    assert "template blew up" in Delivery.objects.get(key=broken).reason


@pytest.mark.parametrize(("due", "tasks"), [(1, 1), (20, 7), (100, 8), (500, 10)])
def test_the_dispatcher_spreads_a_small_claim_over_workers_and_batches_a_large_one(
    django_capture_on_commit_callbacks, due, tasks
):
    contact = _reachable(0)
    Delivery.objects.bulk_create(
        Delivery(
            key=f"b{n}",
            contact=contact,
            channel="email",
            purpose="transactional",
            scheduled_for=NOON,
            due_at=NOON,
            to_address=contact.email,
        )
        for n in range(due)
    )
    with django_capture_on_commit_callbacks() as enqueued:
        claimed = deliveries_dispatch(now=NOON)
    assert len(claimed) == due and len(enqueued) == tasks
    batches = [callback.args[0] for callback in enqueued]  # type: ignore[attr-defined]
    assert [i for batch in batches for i in batch] == claimed  # each once, most urgent first
    assert max(len(batch) for batch in batches) <= 50
