"""Deliveries: scheduled once per key, dispatched when due, sent at most once in effect.

The flow (ARCHITECTURE.md, data flow 4 and 5): `delivery_schedule` writes a row with a due_at;
the dispatcher claims due rows (SKIP LOCKED) and enqueues a send task per few rows on commit;
`automations.services.sending` re-checks the limiter at send time, records "sending" before
the provider call and the outcome after it. The sweeps here settle what a dead worker or a
lost task left half done.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models import Delivery, Suppression
from automations.models.delivery import Channel
from leads.models import Contact

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=10)
LOST_AFTER = timedelta(minutes=5)  # queued or ready this long: its send task was lost
DISPATCH_BATCH = 500
SEND_BATCH_MAX = 50  # deliveries per send task, at most
SEND_SPREAD = 8  # a claim is spread over this many tasks (all worker processes get a share)


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
        # A task per few deliveries, not per delivery: the broker round trip, the task
        # set-up and the limiter's reads and writes are paid once per batch. A task
        # redelivered halfway sends nothing twice (see automations.services.sending).
        size = min(SEND_BATCH_MAX, max(1, -(-len(claimed) // SEND_SPREAD)))
        for start in range(0, len(claimed), size):
            batch = claimed[start : start + size]
            transaction.on_commit(partial(deliveries_send_task.delay, batch))
    return claimed


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
    """Deliveries claimed, or let through by the limiter, whose send task never ran or died
    before their provider call (Redis lost it, or was down when the dispatcher enqueued
    it) go back to the dispatcher, and through the limiter again. Safe: a send task that
    does run later finds the row neither queued nor ready and does nothing."""
    now = now or timezone.now()
    stale = now - LOST_AFTER
    queued = Delivery.objects.filter(status=Delivery.Status.QUEUED, updated_at__lt=stale).update(
        status=Delivery.Status.SCHEDULED, updated_at=now
    )
    ready = Delivery.objects.filter(status=Delivery.Status.READY, updated_at__lt=stale).update(
        status=Delivery.Status.SCHEDULED,
        sent_at=None,  # never sent: it no longer counts against the caps
        attempts=F("attempts") - 1,
        updated_at=now,
    )
    return queued + ready


def suppression_add(*, channel: str, address: str, reason: str, detail: str = "") -> Suppression:
    """Stop every later send to this address on this channel (effective at the next send)."""
    address = address.strip().lower() if channel == Channel.EMAIL else address.strip()
    row, _created = Suppression.objects.get_or_create(
        channel=channel, address=address, defaults={"reason": reason, "detail": detail}
    )
    return row
