"""Deliveries: scheduled once per key, dispatched when due, sent at most once in effect.

The flow (ARCHITECTURE.md, data flow 4 and 5): `delivery_schedule` writes a row with a due_at;
the dispatcher claims due rows (SKIP LOCKED) and enqueues one send task per row on commit;
`delivery_send` re-checks the limiter at send time, records "sending" before the provider
call and the outcome after it. A provider that is busy (429/5xx) gets the message again
later with backoff (its Retry-After honoured); a refusal fails the delivery with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from automations import providers
from automations.consent_links import unsubscribe_headers
from automations.limiter import Verdict, limiter_check, policy
from automations.models import Delivery, Suppression
from automations.models.delivery import Channel, Purpose
from leads.models import Contact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=10)
OUTRANKED_WAIT = timedelta(minutes=1)
LOST_AFTER = timedelta(minutes=5)  # queued this long: its send task was lost
DISPATCH_BATCH = 500
SEND_BATCH = 20  # deliveries per send task
CHANNEL_LOCK_CODE: dict[str, int] = {Channel.EMAIL: 1, Channel.SMS: 2, Channel.WEBHOOK: 3}


def _address(contact: Contact | None, channel: str) -> str:
    if contact is None:
        return ""
    return (contact.email.strip().lower() if channel == Channel.EMAIL else contact.phone) or ""


def delivery_schedule(
    *,
    key: str,
    contact: Contact | None,
    channel: str,
    purpose: str,
    due_at: datetime,
    subject: str = "",
    text: str = "",
    html: str = "",
    priority: int = 0,
    origin: str = "",
    tags: list[str] | None = None,
    template: Any = None,
    to_address: str | None = None,
    journey_id: int | None = None,
) -> Delivery:
    """The delivery for `key`: created once; a second call with the same key (a retried
    journey step, a doubled beat) returns the first one unchanged."""
    existing = Delivery.objects.filter(key=key).first()
    if existing is not None:
        return existing
    row = Delivery(
        key=key,
        contact=contact,
        channel=channel,
        purpose=purpose,
        priority=priority,
        origin=origin,
        scheduled_for=due_at,
        due_at=due_at,
        to_address=to_address if to_address is not None else _address(contact, channel),
        template=template,
        journey_id=journey_id,
        subject=subject,
        body_text=text,
        body_html=html,
        tags=tags or [],
    )
    # ON CONFLICT DO NOTHING: of two concurrent schedules of one key, one row survives.
    Delivery.objects.bulk_create([row], ignore_conflicts=True)
    return Delivery.objects.get(key=key)


def deliveries_dispatch(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> list[int]:
    """Claim due deliveries, highest priority first, and enqueue their sends on commit.
    Safe to run from several beats or workers at once: a claimed row is skipped by the
    others, and a claimed row leaves "scheduled", so it is never claimed twice."""
    from automations.tasks import deliveries_send_task

    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE automations_delivery d SET status = 'queued', updated_at = %(now)s
            WHERE d.id IN (
                SELECT id FROM automations_delivery
                WHERE status = 'scheduled' AND due_at <= %(now)s
                ORDER BY due_at, priority DESC
                LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.due_at, d.priority
            """,
            {"now": now, "limit": limit},
        )
        # RETURNING has no order: enqueue the most urgent first.
        rows = sorted(cursor.fetchall(), key=lambda row: (row[1], -row[2], row[0]))
        claimed = [row[0] for row in rows]
        # A task per few deliveries, not per delivery: the broker round trip and the task
        # set-up were a good part of a send's cost. Each delivery is still claimed, checked
        # and recorded on its own, so a task redelivered halfway sends nothing twice.
        for start in range(0, len(claimed), SEND_BATCH):
            batch = claimed[start : start + SEND_BATCH]
            transaction.on_commit(partial(deliveries_send_task.delay, batch))
    return claimed


def _lock_contact_channel(contact_id: int, channel: str) -> None:
    """Serialise the limiter for one contact on one channel: of two sends due together,
    the second sees the first as sent and the cap holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [contact_id * 4 + CHANNEL_LOCK_CODE[channel]]
        )


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


def _outranked(delivery: Delivery, now: datetime) -> bool:
    """Another capped message to the same contact on the same channel is due too and
    matters more: it takes the slot (send tasks run in any order on several workers)."""
    if delivery.purpose == Purpose.TRANSACTIONAL or delivery.contact_id is None:
        return False
    return (
        Delivery.objects.filter(
            contact_id=delivery.contact_id,
            channel=delivery.channel,
            status__in=[Delivery.Status.SCHEDULED, Delivery.Status.QUEUED],
            due_at__lte=now,
            priority__gt=delivery.priority,
        )
        .exclude(purpose=Purpose.TRANSACTIONAL)
        .exists()
    )


def _claim_for_sending(delivery_id: int, now: datetime) -> Delivery | None:
    """Check the limiter and mark the delivery "sending", in one transaction. None when
    there is nothing to send now (already handled, deferred, or never to be sent)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("contact", "template__topic")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.Status.QUEUED:
            return None  # a duplicate task, or handled already: exactly one effect
        if delivery.contact_id is not None:
            _lock_contact_channel(delivery.contact_id, delivery.channel)
        verdict = limiter_check(delivery, now, policy())
        if verdict.send and _outranked(delivery, now):
            verdict = Verdict(
                send=False,
                later=now + OUTRANKED_WAIT,
                reason=_("A more important message to this contact goes first."),
            )
        if not verdict.send:
            delivery.reason = verdict.reason
            if verdict.never:
                delivery.status = Delivery.Status.SUPPRESSED
            else:
                delivery.status = Delivery.Status.SCHEDULED
                delivery.due_at = verdict.later or now
                delivery.deferrals += 1
            delivery.save(update_fields=["status", "reason", "due_at", "deferrals", "updated_at"])
            return None
        delivery.status = Delivery.Status.SENDING
        delivery.sent_at = now
        delivery.attempts += 1
        delivery.save(update_fields=["status", "sent_at", "attempts", "updated_at"])
        return delivery


def _provider_call(delivery: Delivery) -> providers.ProviderResult:
    if delivery.channel == Channel.EMAIL:
        return providers.email_send(
            to=delivery.to_address,
            subject=delivery.subject,
            text=delivery.body_text,
            html=delivery.body_html or None,
            key=delivery.key,
            tags=delivery.tags or None,
            headers=unsubscribe_headers(delivery),
        )
    if delivery.channel == Channel.WEBHOOK:
        return providers.webhook_post(
            url=delivery.to_address, body=delivery.body_text.encode(), key=delivery.key
        )
    return providers.sms_send(
        to=delivery.to_address,
        body=delivery.body_text,
        key=delivery.key,
        status_callback=settings.PUBLIC_URL + reverse("webhook_twilio_status"),
    )


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send one claimed delivery. Returns it after the provider call, or None when nothing
    was sent now (see `_claim_for_sending`)."""
    now = now or timezone.now()
    delivery = _claim_for_sending(delivery_id, now)
    if delivery is None:
        return None
    fields: dict[str, Any]
    try:
        result = _provider_call(delivery)
    except providers.ProviderRetry as busy:
        if busy.maybe_sent:
            # The provider may have taken it (no answer came back): sending again could
            # reach the contact twice, so a person decides, as for a stuck send.
            fields = {
                "status": Delivery.Status.FAILED,
                "reason": _(
                    "No answer from the provider (%(why)s): the message may have gone out, "
                    "so it was not sent again. Check the provider's log and resend by hand."
                )
                % {"why": busy.reason},
            }
        elif delivery.attempts >= MAX_ATTEMPTS:
            fields = {
                "status": Delivery.Status.FAILED,
                "reason": _("Gave up after %(n)s attempts: %(why)s")
                % {"n": delivery.attempts, "why": busy.reason},
            }
        else:
            fields = {
                "status": Delivery.Status.SCHEDULED,
                "due_at": now + _backoff(delivery.attempts, busy.retry_after),
                "reason": _("The provider is busy (%(why)s); trying again.") % {"why": busy.reason},
                "sent_at": None,  # not sent: it does not count against the caps
            }
    except providers.ProviderRejected as refused:
        fields = {"status": Delivery.Status.FAILED, "reason": refused.reason}
    else:
        fields = {
            "status": Delivery.Status.SENT,
            "provider_message_id": result.message_id,
            "outbox": result.outbox,
            "reason": "",
        }
    stamp = timezone.now()
    updated = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
        updated_at=stamp, **fields
    )
    if updated:  # else someone else settled it meanwhile (the stuck-send sweep): read theirs
        for name, value in {**fields, "updated_at": stamp}.items():
            setattr(delivery, name, value)
    else:
        delivery.refresh_from_db()
    return delivery


def deliveries_recover_stuck(*, now: datetime | None = None) -> int:
    """Deliveries left "sending" by a worker that died during the provider call. Whether
    the provider took the message is unknown, and sending again could reach the contact
    twice, so they are failed with that reason for a person to decide."""
    now = now or timezone.now()
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING, sent_at__lt=now - STUCK_AFTER
    ).update(
        status=Delivery.Status.FAILED,
        reason=_(
            "The worker stopped during the provider call: the message may or may not have "
            "gone out, so it was not sent again. Check the provider's log and resend by hand."
        ),
        updated_at=now,
    )


def deliveries_requeue_lost(*, now: datetime | None = None) -> int:
    """Deliveries claimed but whose send task never ran (Redis lost it, or was down when
    the dispatcher enqueued it) go back to the dispatcher. Safe: a send task that does run
    later finds the row no longer queued and does nothing."""
    now = now or timezone.now()
    return Delivery.objects.filter(
        status=Delivery.Status.QUEUED, updated_at__lt=now - LOST_AFTER
    ).update(status=Delivery.Status.SCHEDULED, updated_at=now)


def suppression_add(*, channel: str, address: str, reason: str, detail: str = "") -> Suppression:
    """Stop every later send to this address on this channel (effective at the next send)."""
    address = address.strip().lower() if channel == Channel.EMAIL else address.strip()
    row, _created = Suppression.objects.get_or_create(
        channel=channel, address=address, defaults={"reason": reason, "detail": detail}
    )
    return row
