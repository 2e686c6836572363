"""Outbound webhook subscriptions: domain events become one row per subscription that wants
them (never twice), the dispatcher claims due rows, the send task POSTs them signed to a
real receiver (the provider stand-in, taught a webhook route here) and records the answer:
delivered, retried with backoff and Retry-After, failed after the last attempt, a 410 turns
the subscription off; redelivery by hand; a real worker end to end."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from automations import webhooks_out
from automations.models import Delivery, WebhookDelivery, WebhookSubscription
from automations.services import webhooks as services
from automations.services.deliveries import deliveries_dispatch, delivery_schedule
from automations.services.sending import delivery_send
from automations.services.surveys import survey_answer, survey_create
from automations.signals import reply_received, survey_answered
from leads import signals
from leads.models import Consent, SegmentMembership, Source
from leads.services.consent import consent_set
from leads.services.identity import contact_merge
from leads.services.lifecycle import StageMove, stage_changes_apply
from leads.services.orders import OrderData, order_upsert
from tests.leads.factories import ContactFactory, SourceFactory
from tests.polling import poll
from tests.standin import StandIn

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status
T0 = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _t0() -> None:
    """Rows are due from the moment they are written (the wall clock): "now" in each test
    is a little later than its start, so what it just enqueued is due."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


# --- A receiver: the provider stand-in with a webhook route -------------------------------


@dataclass(frozen=True)
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool  # one of the signatures matched one of the receiver's secrets

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers.get("X-Growth-Delivery", "")


def verify(body: bytes, header: str, secret: str) -> bool:
    """What the README tells integrators to do."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given.strip()) for given in header.split(","))


class HookStandIn(StandIn):
    """Answers POST /hooks/… like a careful receiver: 401 unless the X-Growth-Signature
    verifies with one of `secrets`, else 200, or the next fault (`fail_next(status=…,
    retry_after=…)`, `lose_response_next()`). Every request that arrived is in `hooks`."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self._hooks: list[ReceivedHook] = []

    @property
    def hooks(self) -> list[ReceivedHook]:
        with self._lock:
            return list(self._hooks)

    def hook_url(self, name: str = "a") -> str:
        return f"{self.url}/hooks/{name}"

    def _handle(self, handler: Any) -> None:
        path = urlsplit(handler.path).path
        if not path.startswith("/hooks/"):
            super()._handle(handler)
            return
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items()}
        signature = headers.get("X-Growth-Signature", "")
        verified = any(verify(raw, signature, secret) for secret in self.secrets)
        with self._lock:
            self._hooks.append(ReceivedHook(path, headers, raw, verified))
            self._lock.notify_all()
        fault = self._take_fault("webhook")
        if fault is not None and fault.status is not None:
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            self._reply(handler, "webhook", fault.status, {"error": fault.status}, extra)
            return
        if fault is not None:  # take it, then drop the connection without an answer
            handler.close_connection = True
            return
        status = 200 if verified else 401
        self._reply(handler, "webhook", status, {"ok": verified}, {})


@pytest.fixture
def receiver() -> Iterator[HookStandIn]:
    server = HookStandIn()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def subscribe(url: str, *types: str, name: str = "ERP") -> WebhookSubscription:
    return services.subscription_create(name=name, url=url, event_types=types, actor=None)


def rows(**filters: Any) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(**filters).order_by("pk"))


def send_due(now: datetime) -> list[WebhookDelivery]:
    """What the beat and a worker do: claim what is due, send it."""
    return services.webhook_deliveries_send(services.webhook_deliveries_dispatch(now=now), now=now)


# --- Enqueue: one row per subscription that wants the event, never twice ------------------


@pytest.fixture
def three(receiver):  # type: ignore[no-untyped-def]
    """Two subscriptions that want contact events, one that does not."""
    return (
        subscribe(receiver.hook_url("crm"), "contact.stage_changed", "contact.merged", name="CRM"),
        subscribe(
            receiver.hook_url("dwh"),
            "contact.stage_changed",
            "contact.consent_changed",
            "order.created",
            name="Warehouse",
        ),
        subscribe(receiver.hook_url("ops"), "delivery.*", "survey.answered", name="Ops"),
    )


def test_a_stage_change_is_one_row_per_interested_subscription_and_never_twice(
    three, django_capture_on_commit_callbacks
):
    crm, dwh, ops = three
    anna = ContactFactory(email="anna@example.com", lifecycle_stage="lead")
    with django_capture_on_commit_callbacks(execute=True):
        [moved] = stage_changes_apply(
            moves=[StageMove(contact_id=anna.pk, to_stage="mql", cause_kind="rule")]
        )
    found = rows(event_type="contact.stage_changed")
    assert {r.subscription_id for r in found} == {crm.pk, dwh.pk}
    payload = found[0].payload
    assert payload["id"] == f"contact.stage_changed:{moved.change_id}"
    assert payload["type"] == "contact.stage_changed" and payload["created_at"]
    assert payload["data"]["contact"] == {"id": anna.pk, "email": "anna@example.com"}
    assert (payload["data"]["from_stage"], payload["data"]["to_stage"]) == ("lead", "mql")
    assert all(r.status == S.PENDING and r.next_attempt_at is not None for r in found)

    # The same signal again (a retried batch, a second receiver run): nothing more.
    signals.stage_changed.send(
        sender=None,
        contact_id=anna.pk,
        from_stage="lead",
        to_stage="mql",
        cause="rule",
        change_id=moved.change_id,
    )
    assert len(rows(event_type="contact.stage_changed")) == 2
    assert not rows(subscription=ops)


def test_merges_consent_orders_surveys_and_replies_reach_those_who_want_them(
    three, django_capture_on_commit_callbacks
):
    crm, dwh, ops = three
    survivor = ContactFactory(email="anna@example.com")
    other = ContactFactory(email="anna.old@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        contact_merge(survivor=survivor, merged=other, reason="same person")
    [merged] = rows(event_type="contact.merged")
    assert merged.subscription_id == crm.pk
    assert merged.payload["data"]["merged"] == {"id": other.pk, "email": "anna.old@example.com"}

    with django_capture_on_commit_callbacks(execute=True):
        consent_set(
            contact=survivor, channel="email", status=Consent.Status.GRANTED, source="form", at=T0
        )
    [consent] = rows(event_type="contact.consent_changed")
    assert consent.subscription_id == dwh.pk
    assert consent.payload["data"]["status"] == "granted"
    signals.consent_changed.send(
        sender=None, contact_id=survivor.pk, channel="email", status="granted"
    )
    assert len(rows(event_type="contact.consent_changed")) == 1  # the same change, once

    nps = survey_create(name="NPS", kind="nps", question="Recommend us?", thank_you="Thanks")
    with django_capture_on_commit_callbacks(execute=True):
        answer = survey_answer(survey=nps, contact=survivor, key="req-1", score=9)
    [answered] = rows(event_type="survey.answered")
    assert answered.subscription_id == ops.pk
    assert answered.payload["data"]["score"] == 9
    survey_answered.send(
        sender=None, survey_id=nps.pk, contact_id=survivor.pk, score=9, answer_id=answer.pk
    )
    assert len(rows(event_type="survey.answered")) == 1

    reply_received.send(sender=None, contact_id=survivor.pk, channel="sms", inbound_id=7)
    assert not rows(event_type="reply.received")  # nobody subscribed to replies
    listener = subscribe(dwh.url, "reply.received", name="Inbox bot")
    reply_received.send(sender=None, contact_id=survivor.pk, channel="sms", inbound_id=7)
    reply_received.send(sender=None, contact_id=survivor.pk, channel="sms", inbound_id=7)
    [reply] = rows(event_type="reply.received")
    assert reply.subscription_id == listener.pk and reply.payload["data"]["channel"] == "sms"


def _order(shop_id: str) -> OrderData:
    return OrderData(
        shop_order_id=shop_id,
        order_number=f"#{shop_id}",
        status="paid",
        currency="USD",
        subtotal=Decimal("40"),
        discount_total=Decimal("0"),
        shipping_total=Decimal("0"),
        tax_total=Decimal("0"),
        total=Decimal("40.00"),
        coupon_codes=["WELCOME"],
        placed_at=T0,
        updated_at=T0,
    )


def test_new_orders_are_one_signal_per_transaction_and_updates_are_no_event(
    three, django_capture_on_commit_callbacks
):
    _crm, dwh, _ops = three
    shop = SourceFactory(kind=Source.Kind.SHOPIFY)
    anna = ContactFactory(email="anna@example.com")
    announced: list[list[int]] = []

    def listen(sender: Any, order_ids: list[int], **kw: Any) -> None:
        announced.append(order_ids)

    signals.orders_created.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            first, created, _ = order_upsert(source=shop, contact=anna, data=_order("1"))
            second, _, _ = order_upsert(source=shop, contact=None, data=_order("2"))
            assert created
        assert announced == [[first.pk, second.pk]]
        later = _order("1")
        later.updated_at = T0 + timedelta(hours=1)
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            order_upsert(source=shop, contact=anna, data=later)  # an update, not a new order
        assert announced == [[first.pk, second.pk]]
    finally:
        signals.orders_created.disconnect(listen)

    found = {r.event_id: r for r in rows(event_type="order.created")}
    assert set(found) == {f"order.created:{first.pk}", f"order.created:{second.pk}"}
    assert {r.subscription_id for r in found.values()} == {dwh.pk}
    data = found[f"order.created:{first.pk}"].payload["data"]
    assert data["order"]["total"] == "40.00" and data["order"]["shop_order_id"] == "1"
    assert data["order"]["coupon_codes"] == ["WELCOME"]
    assert data["contact"] == {"id": anna.pk, "email": "anna@example.com"}
    assert found[f"order.created:{second.pk}"].payload["data"]["contact"] is None


def test_segment_entries_and_exits_are_one_event_per_contact_and_stay(receiver):
    from leads.models import Segment

    hook = subscribe(receiver.hook_url(), "segment.entered", "segment.exited")
    vip = Segment.objects.create(name="VIP", kind=Segment.Kind.STATIC)
    anna, bob = ContactFactory(), ContactFactory()
    stays = [
        SegmentMembership.objects.create(segment=vip, contact=c, entered_at=T0) for c in (anna, bob)
    ]
    for _ in range(2):  # a repeated signal adds nothing
        signals.segment_entered.send(sender=None, segment_id=vip.pk, contact_ids=[anna.pk, bob.pk])
    entered = rows(event_type="segment.entered")
    assert sorted(r.event_id for r in entered) == sorted(f"segment.entered:{s.pk}" for s in stays)
    assert entered[0].payload["data"]["segment"] == {"id": vip.pk, "name": "VIP"}
    SegmentMembership.objects.filter(pk=stays[0].pk).update(exited_at=T0 + timedelta(days=1))
    signals.segment_exited.send(sender=None, segment_id=vip.pk, contact_ids=[anna.pk])
    [left] = rows(event_type="segment.exited")
    assert left.subscription_id == hook.pk and left.payload["data"]["contact"]["id"] == anna.pk


def test_sends_and_provider_events_become_delivery_events_for_delivery_star(three, settings):
    _crm, _dwh, ops = three
    exact = subscribe(ops.url, "delivery.failed", name="Only failures")
    delivery_schedule(
        key="order-1:confirmation",
        contact=ContactFactory(email="anna@example.com"),
        channel="email",
        purpose="transactional",
        due_at=T0,
        subject="Thanks",
        text="Thanks",
    )
    [claimed] = deliveries_dispatch(now=T0)
    sent = delivery_send(delivery_id=claimed, now=T0)
    assert sent is not None and sent.status == Delivery.Status.SENT
    [event] = rows(event_type="delivery.sent")
    assert event.subscription_id == ops.pk  # delivery.* wants it, delivery.failed does not
    assert event.payload["data"]["delivery"]["id"] == sent.pk
    assert event.payload["data"]["contact"]["email"] == "anna@example.com"

    from automations.provider_events import twilio_status  # a status change from a provider

    Delivery.objects.filter(pk=sent.pk).update(provider_message_id="SM1")
    from leads.models import InboundDelivery

    inbound = InboundDelivery(
        source=SourceFactory(kind=Source.Kind.TWILIO),
        topic="status",
        delivery_id="cb-1",
        body=b"MessageSid=SM1&MessageStatus=failed&ErrorCode=30003",
        headers={},
    )
    assert twilio_status(inbound)
    failed = rows(event_type="delivery.failed")
    assert {r.subscription_id for r in failed} == {ops.pk, exact.pk}


def test_nobody_wanting_an_event_costs_no_query(receiver, django_assert_num_queries):
    subscribe(receiver.hook_url(), "order.created")
    assert webhooks_out.wanted_types_refresh() == {"order.created"}
    anna = ContactFactory()
    with django_assert_num_queries(0):
        webhooks_out.deliveries_changed([(1, "sent"), (2, "delivered")])
        webhooks_out.stage_changed(change_id=1)
        webhooks_out.consent_changed(contact_id=anna.pk, channel="email")
    # An unknown state (a flushed cache) never loses an event: the insert runs.
    from django.core.cache import cache

    cache.delete(webhooks_out.WANTED_KEY)
    with django_assert_num_queries(1):
        webhooks_out.stage_changed(change_id=1)


def test_a_subscription_is_validated_next_to_its_fields(settings):
    settings.DEBUG = False
    with pytest.raises(ValidationError) as problem:
        services.subscription_create(
            name=" ", url="http://erp.example.com/hook", event_types=["nope"], actor=None
        )
    errors = problem.value.message_dict
    assert set(errors) == {"name", "url", "event_types"}
    assert "https" in errors["url"][0]
    with pytest.raises(ValidationError, match="at least one"):
        subscribe("https://erp.example.com/hook")
    with pytest.raises(ValidationError, match="Unknown"):
        subscribe("https://erp.example.com/hook", "ping")  # the test event is not subscribable
    assert not WebhookSubscription.objects.exists()
    local = subscribe("http://127.0.0.1:9000/hook", "order.created")
    assert local.secret.startswith("whsec_") and len(local.secret) > 40
    settings.DEBUG = True
    assert subscribe("http://erp.example.com/hook", "order.created").url.startswith("http://")
    assert WebhookSubscription.objects.count() == 2


# --- Sending -------------------------------------------------------------------------------


def test_a_delivery_is_signed_with_the_secret_and_carries_its_headers(receiver):
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    anna = ContactFactory(email="anna@example.com")
    reply_received.send(sender=None, contact_id=anna.pk, channel="email", inbound_id=3)
    [done] = send_due(T0)
    assert done.status == S.DELIVERED and done.attempts == 1 and done.last_status_code == 200
    [got] = receiver.hooks
    assert got.verified
    assert got.headers["X-Growth-Event"] == "reply.received"
    assert got.delivery == str(done.pk)
    assert got.headers["Content-Type"] == "application/json"
    assert got.payload == done.payload
    assert got.payload["data"]["contact"]["email"] == "anna@example.com"
    assert send_due(T0 + timedelta(hours=1)) == []  # delivered: never sent again


def test_a_wrong_secret_is_refused_by_the_receiver_and_failed_visibly(receiver):
    subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = ["whsec_something_else"]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    [done] = send_due(T0)
    assert done.status == S.FAILED and done.last_status_code == 401
    assert "secret" in done.last_error


def test_during_a_rotation_both_secrets_sign_and_the_old_one_stops_after_a_day(
    receiver, user_with_role
):
    from growth.models import AuditEvent
    from growth.roles import Role

    hook = subscribe(receiver.hook_url(), "reply.received")
    old = hook.secret
    admin = user_with_role(Role.ADMIN)
    rotated = services.subscription_rotate_secret(subscription=hook, actor=admin, now=T0)
    assert rotated.secret != old and rotated.previous_secret == old
    [audit] = AuditEvent.objects.filter(action=AuditEvent.Action.WEBHOOK_SECRET_ROTATED)
    assert audit.actor == admin and audit.detail["subscription_id"] == hook.pk
    assert old not in json.dumps(audit.detail) and rotated.secret not in json.dumps(audit.detail)

    for receiver_knows in ([old], [rotated.secret]):  # not switched yet / switched already
        receiver.secrets = receiver_knows
        reply_received.send(
            sender=None,
            contact_id=ContactFactory().pk,
            channel="sms",
            inbound_id=len(receiver.hooks),
        )
        [done] = send_due(T0 + timedelta(hours=1))
        assert done.status == S.DELIVERED
    signatures = receiver.hooks[-1].headers["X-Growth-Signature"].split(",")
    assert len(signatures) == 2 and all(s.startswith("sha256=") for s in signatures)

    receiver.secrets = [old]  # a day later only the new one signs
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=99)
    [late] = send_due(T0 + timedelta(hours=25))
    assert late.status == S.FAILED and late.last_status_code == 401
    assert "," not in receiver.hooks[-1].headers["X-Growth-Signature"]


def test_a_server_error_is_retried_with_backoff_then_delivered(receiver):
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    receiver.fail_next(status=500)
    [busy] = send_due(T0)
    assert busy.status == S.RETRYING and busy.attempts == 1 and busy.last_status_code == 500
    wait = busy.next_attempt_at - T0
    assert timedelta(seconds=48) <= wait <= timedelta(seconds=72)  # 1 min ± jitter
    assert send_due(T0 + timedelta(seconds=30)) == []  # not due yet
    [done] = send_due(busy.next_attempt_at)
    assert done.status == S.DELIVERED and done.attempts == 2 and done.last_error == ""
    first, second = receiver.requests[-2:]
    assert (first.status, second.status) == (500, 200)
    assert [h.delivery for h in receiver.hooks] == [str(done.pk)] * 2  # the same id each time


def test_retry_after_is_honoured(receiver):
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    receiver.fail_next(status=429, retry_after=3600)
    [busy] = send_due(T0)
    assert busy.status == S.RETRYING and busy.next_attempt_at == T0 + timedelta(hours=1)
    assert "limiting" in busy.last_error


def test_after_the_last_attempt_the_delivery_fails_and_stays_visible(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    receiver.fail_next(3, status=503)
    now = T0
    for expected in (S.RETRYING, S.RETRYING, S.FAILED):
        [row] = send_due(now)
        assert row.status == expected
        now = row.next_attempt_at or now
    assert row.attempts == 3 and row.next_attempt_at is None
    assert row.last_error.startswith("Gave up after 3 attempts")
    assert send_due(now + timedelta(days=2)) == []


def test_the_backoff_grows_to_about_a_day_over_eight_attempts():
    minutes = [1, 4, 16, 64, 256, 480, 480]  # after attempts 1…7; the 8th is the last
    for attempt, base in enumerate(minutes, start=1):
        for _ in range(20):
            wait = services.backoff(attempt)
            assert timedelta(minutes=base * 0.8) <= wait <= timedelta(minutes=base * 1.2)
    assert timedelta(hours=20) < timedelta(minutes=sum(minutes)) < timedelta(hours=24)
    # Retry-After wins when it is longer, and is capped at a day.
    assert services.backoff(1, retry_after=600) == timedelta(seconds=600)
    assert services.backoff(1, retry_after=10 * 86400) == timedelta(days=1)


def test_410_gone_turns_the_subscription_off(receiver):
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    anna = ContactFactory()
    for inbound in (1, 2):
        reply_received.send(sender=None, contact_id=anna.pk, channel="sms", inbound_id=inbound)
    receiver.fail_next(status=410)
    done = send_due(T0)
    assert [r.status for r in done] == [S.FAILED]  # the second row is not tried
    hook.refresh_from_db()
    assert not hook.is_active and "410" in hook.deactivated_reason
    assert send_due(T0 + timedelta(hours=1)) == []  # an inactive subscription's rows wait
    reply_received.send(sender=None, contact_id=anna.pk, channel="sms", inbound_id=3)
    assert WebhookDelivery.objects.count() == 2  # and it gets no new events


def test_a_receiver_that_is_down_holds_its_other_rows_without_spending_their_attempts(
    receiver,
):
    hook = subscribe(receiver.hook_url(), "reply.received")
    anna = ContactFactory()
    for inbound in (1, 2, 3):
        reply_received.send(sender=None, contact_id=anna.pk, channel="sms", inbound_id=inbound)
    receiver.stop()
    done = send_due(T0)
    assert len(done) == 1 and done[0].status == S.RETRYING
    assert "Could not connect" in done[0].last_error
    others = rows(subscription=hook, attempts=0)
    assert len(others) == 2
    assert all(r.next_attempt_at == done[0].next_attempt_at for r in others)


def test_the_dispatcher_claims_each_row_once_and_again_when_its_task_was_lost(receiver):
    subscribe(receiver.hook_url(), "reply.received")
    anna = ContactFactory()
    for inbound in range(5):
        reply_received.send(sender=None, contact_id=anna.pk, channel="sms", inbound_id=inbound)
    first = services.webhook_deliveries_dispatch(now=T0, limit=3)
    second = services.webhook_deliveries_dispatch(now=T0, limit=3)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert services.webhook_deliveries_dispatch(now=T0) == []
    # The send tasks never ran: when the lease ends, the rows are due again.
    later = T0 + services.LEASE + timedelta(seconds=1)
    assert sorted(services.webhook_deliveries_dispatch(now=later)) == sorted(first + second)


def test_a_redelivered_row_is_sent_again_with_the_same_delivery_id(receiver):
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    [done] = send_due(T0)
    again = services.webhook_redeliver(delivery=done, now=T0 + timedelta(hours=1))
    assert again.status == S.PENDING and again.attempts == 0
    assert services.webhook_deliveries_dispatch(now=T0 + timedelta(hours=1)) == []  # leased
    [resent] = services.webhook_deliveries_send([done.pk], now=T0 + timedelta(hours=1))
    assert resent.status == S.DELIVERED and resent.attempts == 1
    assert [h.delivery for h in receiver.hooks] == [str(done.pk)] * 2


def test_a_test_event_goes_to_that_subscription_alone(receiver):
    hook = subscribe(receiver.hook_url("one"), "order.created")
    subscribe(receiver.hook_url("two"), "order.created", name="Other")
    receiver.secrets = [hook.secret]
    ping = services.subscription_send_test(subscription=hook, now=T0)
    [sent] = services.webhook_deliveries_send([ping.pk], now=T0)
    assert sent.status == S.DELIVERED
    [got] = receiver.hooks
    assert got.path == "/hooks/one" and got.headers["X-Growth-Event"] == "ping"
    assert got.payload["type"] == "ping" and got.payload["data"]["subscription"]["id"] == hook.pk


def test_a_lost_answer_is_sent_again_under_the_same_delivery_id(receiver):
    """The receiver took it, the answer never came back (as with a worker killed mid-send):
    the row is retried, and the receiver recognises the repeat by X-Growth-Delivery."""
    hook = subscribe(receiver.hook_url(), "reply.received")
    receiver.secrets = [hook.secret]
    reply_received.send(sender=None, contact_id=ContactFactory().pk, channel="sms", inbound_id=1)
    receiver.lose_response_next()
    [busy] = send_due(T0)
    assert busy.status == S.RETRYING
    [done] = send_due(busy.next_attempt_at)
    assert done.status == S.DELIVERED
    assert [h.delivery for h in receiver.hooks] == [str(done.pk)] * 2


# --- A real worker --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_event_to_the_receiver_once(receiver, celery_worker):
    from automations.tasks import webhooks_dispatch_task

    hook = subscribe(receiver.hook_url(), "contact.consent_changed")
    receiver.secrets = [hook.secret]
    anna = ContactFactory(email="anna@example.com")
    with transaction.atomic():
        consent_set(
            contact=anna, channel="email", status=Consent.Status.GRANTED, source="form", at=T0
        )
    [row] = rows()
    webhooks_dispatch_task.delay()
    assert poll(lambda: len(receiver.hooks) == 1, timeout=30)
    assert poll(lambda: WebhookDelivery.objects.get(pk=row.pk).status == S.DELIVERED, timeout=10)
    [got] = receiver.hooks
    assert got.verified and got.payload["data"]["contact"]["email"] == "anna@example.com"
    webhooks_dispatch_task.delay()
    assert not poll(lambda: len(receiver.hooks) > 1, timeout=3)
