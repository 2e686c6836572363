"""Deliveries end to end through the real clients to the stand-in provider: scheduled once
per key, dispatched when due, sent once in effect, deferred (never dropped) by quiet hours
and caps, never sent without consent or to a suppressed address, retried when the provider
is busy, failed with the reason when it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from automations.models import Delivery
from automations.services.deliveries import (
    deliveries_dispatch,
    deliveries_recover_stuck,
    delivery_schedule,
    suppression_add,
)
from automations.services.sending import delivery_send
from leads.models import Consent, Contact
from tests.leads.factories import ConsentFactory, ContactFactory

pytestmark = pytest.mark.django_db

NOON_BERLIN = datetime(2025, 6, 10, 10, tzinfo=UTC)  # 12:00 in Berlin


def reachable(email: str = "anna@example.com", phone: str = "+4915112345678") -> Contact:
    contact = ContactFactory(email=email, phone=phone, time_zone="Europe/Berlin")
    for channel in ("email", "sms"):
        ConsentFactory(contact=contact, channel=channel, status=Consent.Status.GRANTED)
    return contact


def schedule(contact: Contact, key: str = "run-1:node-1", **fields) -> Delivery:  # type: ignore[no-untyped-def]
    values = {
        "channel": "email",
        "purpose": "marketing",
        "due_at": NOON_BERLIN,
        "subject": "Your cart",
        "text": "Still thinking?",
        "html": "<p>Still thinking?</p>",
        **fields,
    }
    return delivery_schedule(key=key, contact=contact, **values)


def send_due(now: datetime = NOON_BERLIN) -> list[Delivery | None]:
    """What the dispatcher and the send tasks do, in this process."""
    with time_machine.travel(now, tick=False):
        claimed = deliveries_dispatch(now=now)
        return [delivery_send(delivery_id=i, now=now) for i in claimed]


def test_a_key_schedules_one_delivery_however_often_it_is_asked():
    anna = reachable()
    first = schedule(anna)
    again = schedule(anna, subject="Something else")
    assert first.pk == again.pk and again.subject == "Your cart"
    assert Delivery.objects.count() == 1


def test_a_due_email_goes_through_sendgrid_once(standin_settings):
    anna = reachable()
    schedule(anna)
    schedule(reachable("later@example.com"), key="later", due_at=NOON_BERLIN + timedelta(hours=1))
    [sent] = send_due()
    assert sent is not None and sent.status == Delivery.Status.SENT
    assert sent.provider_message_id and not sent.outbox
    [mail] = standin_settings.emails
    assert (list(mail.to), mail.subject, mail.key) == (
        ["anna@example.com"],
        "Your cart",
        "run-1:node-1",
    )
    # A second dispatch, a duplicate task: nothing more goes out.
    assert send_due() == []
    assert delivery_send(delivery_id=sent.pk, now=NOON_BERLIN) is None
    assert len(standin_settings.emails) == 1


def test_an_sms_goes_through_twilio(standin_settings):
    anna = reachable()
    schedule(anna, channel="sms", text="Your cart misses you")
    [sent] = send_due()
    assert sent is not None and sent.status == Delivery.Status.SENT
    [sms] = standin_settings.sms
    assert (sms.to, sms.body, sms.key) == ("+4915112345678", "Your cart misses you", "run-1:node-1")
    assert sent.provider_message_id == sms.sid


def test_quiet_hours_defer_to_the_morning_in_the_contact_s_zone(standin_settings):
    anna = reachable()
    night = datetime(2025, 6, 10, 21, 30, tzinfo=UTC)  # 23:30 in Berlin
    schedule(anna, due_at=night)
    assert send_due(night) == [None]
    held = Delivery.objects.get()
    assert held.status == Delivery.Status.SCHEDULED and held.deferrals == 1
    assert held.due_at == datetime(2025, 6, 11, 6, tzinfo=UTC)  # 08:00 in Berlin
    assert "Quiet hours" in held.reason
    assert standin_settings.emails == []
    [sent] = send_due(held.due_at)
    assert sent is not None and sent.status == Delivery.Status.SENT


def test_a_journey_and_a_cadence_email_due_together_share_one_cap(standin_settings):
    anna = reachable()
    schedule(anna, key="journey", priority=0)
    schedule(anna, key="cadence", purpose="sales", priority=5)
    results = send_due()
    assert [r.key for r in results if r] == ["cadence"]  # the higher priority goes first
    journey = Delivery.objects.get(key="journey")
    assert journey.status == Delivery.Status.SCHEDULED
    assert journey.due_at == NOON_BERLIN + timedelta(days=1)
    assert "at most 1" in journey.reason
    assert len(standin_settings.emails) == 1


def test_no_consent_and_suppression_mean_never_with_the_reason(standin_settings):
    stranger = ContactFactory(email="who@example.com")
    schedule(stranger, key="no-consent")
    bounced = reachable("bounced@example.com")
    suppression_add(channel="email", address="Bounced@Example.com", reason="hard_bounce")
    schedule(bounced, key="suppressed")
    assert send_due() == [None, None]
    reasons = dict(Delivery.objects.values_list("key", "reason"))
    assert "No consent" in reasons["no-consent"]
    assert "hard bounce" in reasons["suppressed"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"suppressed"}
    assert standin_settings.emails == []


def test_an_opt_out_after_scheduling_is_obeyed_at_send_time(standin_settings):
    anna = reachable()
    schedule(anna)
    Consent.objects.filter(contact=anna, channel="email").update(status=Consent.Status.DENIED)
    assert send_due() == [None]
    assert Delivery.objects.get().status == Delivery.Status.SUPPRESSED
    assert standin_settings.emails == []


def test_a_busy_provider_gets_it_again_after_retry_after(standin_settings):
    anna = reachable()
    schedule(anna)
    standin_settings.fail_next(1, status=429, retry_after=120, provider="sendgrid")
    [busy] = send_due()
    assert busy is not None and busy.status == Delivery.Status.SCHEDULED
    assert busy.attempts == 1 and busy.sent_at is None
    assert busy.due_at == NOON_BERLIN + timedelta(seconds=120)  # Retry-After beats 30 s
    assert "busy" in busy.reason
    [sent] = send_due(busy.due_at)
    assert sent is not None and sent.status == Delivery.Status.SENT and sent.attempts == 2
    assert len(standin_settings.emails) == 1


def test_a_refusal_fails_the_delivery_with_the_provider_s_words(standin_settings):
    anna = reachable()
    schedule(anna)
    standin_settings.fail_next(1, status=400, provider="sendgrid")
    [failed] = send_due()
    assert failed is not None and failed.status == Delivery.Status.FAILED
    assert "SendGrid" in failed.reason


def test_a_lost_answer_is_not_sent_again(standin_settings):
    anna = reachable()
    schedule(anna)
    standin_settings.lose_response_next(1, provider="sendgrid")
    [unknown] = send_due()
    assert unknown is not None and unknown.status == Delivery.Status.FAILED
    assert "may have gone out" in unknown.reason
    assert len(standin_settings.emails) == 1  # it did arrive: a retry would have doubled it
    assert send_due(NOON_BERLIN + timedelta(hours=2)) == []


def test_a_send_left_half_done_by_a_dead_worker_is_failed_visibly_not_resent():
    anna = reachable()
    delivery = schedule(anna)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING, sent_at=NOON_BERLIN
    )
    assert deliveries_recover_stuck(now=NOON_BERLIN + timedelta(minutes=5)) == 0
    assert deliveries_recover_stuck(now=NOON_BERLIN + timedelta(minutes=11)) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "worker stopped" in delivery.reason


def test_without_credentials_sms_is_kept_in_the_outbox(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    anna = reachable()
    schedule(anna, channel="sms", text="Hi")
    [sent] = send_due()
    assert sent is not None and sent.status == Delivery.Status.SENT and sent.outbox


def test_the_dispatcher_claims_each_due_row_once(django_assert_num_queries):
    contacts = [reachable(f"c{n}@example.com") for n in range(5)]
    for n, contact in enumerate(contacts):
        schedule(contact, key=f"k{n}")
    with django_assert_num_queries(3):  # one UPDATE … RETURNING (+ the test's savepoint)
        first = deliveries_dispatch(now=NOON_BERLIN, limit=3)
    second = deliveries_dispatch(now=NOON_BERLIN, limit=3)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert deliveries_dispatch(now=NOON_BERLIN) == []


def test_a_more_important_message_due_at_once_takes_the_slot(standin_settings):
    anna = reachable()
    low = schedule(anna, key="journey", priority=0)
    schedule(anna, key="cadence", purpose="sales", priority=5)
    deliveries_dispatch(now=NOON_BERLIN)
    # A worker happens to take the less important one first.
    assert delivery_send(delivery_id=low.pk, now=NOON_BERLIN) is None
    low.refresh_from_db()
    assert low.status == Delivery.Status.SCHEDULED
    assert low.due_at == NOON_BERLIN + timedelta(minutes=1)
    assert "more important" in low.reason
    assert standin_settings.emails == []


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_what_the_dispatcher_claims(standin_settings, celery_worker):
    from automations.tasks import deliveries_dispatch_task
    from tests.polling import poll

    anna = reachable()
    now = datetime.now(UTC)
    for n in range(3):
        schedule(anna, key=f"order-{n}", purpose="transactional", due_at=now)
    deliveries_dispatch_task.delay()
    assert poll(lambda: len(standin_settings.emails) == 3, timeout=30)
    assert poll(
        lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3, timeout=10
    )
    assert standin_settings.duplicates() == []


def test_a_send_task_lost_with_redis_is_dispatched_again_and_sent_once(standin_settings):
    from automations.services.deliveries import deliveries_requeue_lost

    anna = reachable()
    schedule(anna, purpose="transactional")
    [claimed] = deliveries_dispatch(now=NOON_BERLIN)  # the task it enqueued is lost
    Delivery.objects.filter(pk=claimed).update(updated_at=NOON_BERLIN)
    assert deliveries_requeue_lost(now=NOON_BERLIN + timedelta(minutes=4)) == 0
    assert deliveries_requeue_lost(now=NOON_BERLIN + timedelta(minutes=6)) == 1
    later = NOON_BERLIN + timedelta(minutes=6)
    [again] = deliveries_dispatch(now=later)
    assert again == claimed
    assert delivery_send(delivery_id=claimed, now=later).status == Delivery.Status.SENT
    assert delivery_send(delivery_id=claimed, now=later) is None  # the lost task, late
    assert len(standin_settings.emails) == 1
