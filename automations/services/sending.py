"""Sending claimed deliveries: the limiter for a batch at once, then each provider call.

A send task gets a batch of deliveries the dispatcher claimed ("queued") and:

1. in one transaction: locks them, takes the contact-and-channel locks, reads every limiter
   input in one query, decides each in priority order, and writes all decisions in one
   statement: "ready" (let through; counts against the caps from here on), "scheduled"
   again with a later due_at (deferred, with why) or "suppressed" (never, with why);
2. for each ready delivery: one statement, its own small commit, writes the outcome of the
   message before it and marks this one "sending"; then the provider call. So a worker
   killed at any moment leaves at most one message in doubt: the one whose call it was
   making. The last outcome is written after the last call.

Exactly once in effect: only the task that moves a delivery from "ready" to "sending" calls
the provider. A worker killed in step 2 leaves the ones before it settled and the others
"ready"; the redelivered task (acks_late) sends them, or the lost-task sweep hands them back
to the dispatcher. The one left "sending" is failed visibly by the stuck-send sweep, never
sent twice. (The commit is synchronous: an outcome or a "sending" lost in a database crash
could otherwise send a message twice.)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from automations import providers, webhooks_out
from automations.consent_links import unsubscribe_headers
from automations.limiter import limiter_decide, limiter_inputs, policy
from automations.models import Delivery
from automations.models.delivery import Channel, Purpose

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
CHANNEL_LOCK_CODE: dict[str, int] = {Channel.EMAIL: 1, Channel.SMS: 2, Channel.WEBHOOK: 3}
S = Delivery.Status

# Every decision and every outcome is written with one of these: a row per delivery
# from arrays (unnest), so a batch costs one statement, whatever its size.
_DECIDED_SQL = """
UPDATE automations_delivery d
SET status = v.status, reason = v.reason, due_at = v.due_at, deferrals = v.deferrals,
    attempts = v.attempts, sent_at = v.sent_at, updated_at = %(now)s
FROM unnest(%(id)s::bigint[], %(status)s::text[], %(reason)s::text[],
            %(due_at)s::timestamptz[], %(deferrals)s::int[], %(attempts)s::int[],
            %(sent_at)s::timestamptz[])
    AS v(id, status, reason, due_at, deferrals, attempts, sent_at)
WHERE d.id = v.id
"""
# The outcomes of the messages just sent and "sending" for the next one, in one statement
# (one commit): a data-modifying CTE each; the ids each changed come back, tagged.
_SETTLE_AND_MARK_SQL = """
WITH recorded AS (
    UPDATE automations_delivery d
    SET status = v.status, reason = v.reason, due_at = coalesce(v.due_at, d.due_at),
        sent_at = CASE WHEN v.unsent THEN NULL ELSE d.sent_at END,
        provider_message_id = v.message_id, outbox = v.outbox, updated_at = %(now)s
    FROM unnest(%(id)s::bigint[], %(status)s::text[], %(reason)s::text[],
                %(due_at)s::timestamptz[], %(unsent)s::bool[], %(message_id)s::text[],
                %(outbox)s::bool[])
        AS v(id, status, reason, due_at, unsent, message_id, outbox)
    WHERE d.id = v.id AND d.status = 'sending'
    RETURNING d.id
),
marked AS (
    UPDATE automations_delivery SET status = 'sending', updated_at = %(now)s
    WHERE id = %(next)s AND status = 'ready'
    RETURNING id
)
SELECT false, id FROM recorded UNION ALL SELECT true, id FROM marked
"""


def deliveries_send(delivery_ids: Sequence[int], *, now: datetime | None = None) -> list[Delivery]:
    """Send these claimed deliveries (see the module's doc). Returns those whose provider
    call was made, with their outcome; the others were deferred, suppressed, or are no
    longer this task's to send (already handled: a duplicate task does nothing)."""
    now = now or timezone.now()
    ready = _decide(delivery_ids, now)
    # delivery.sent / delivery.failed for outbound webhooks: asked once for the batch.
    hooks = bool(ready) and webhooks_out.delivery_events_wanted()
    sent: list[Delivery] = []
    just_sent: list[tuple[Delivery, dict[str, Any]]] = []  # called, outcome not written yet
    for delivery in ready:
        marked = _settle(just_sent, then_mark=delivery, hooks=hooks)
        just_sent = [(delivery, _call(delivery, now))] if marked else []
        sent += [delivery] if marked else []
    _settle(just_sent, hooks=hooks)
    return sent


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send one claimed delivery: the delivery after its provider call, or None when
    nothing was sent now (deferred, suppressed, or handled already)."""
    sent = deliveries_send([delivery_id], now=now)
    return sent[0] if sent else None


def _decide(delivery_ids: Sequence[int], now: datetime) -> list[Delivery]:
    """Step 1: the limiter for the whole batch, in one transaction. The deliveries let
    through, now "ready", in the order to send them; redelivered ones already ready come
    along as they are."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(of=("self",))
            .select_related("template")
            .filter(pk__in=list(delivery_ids), status__in=[S.QUEUED, S.READY])
            .order_by("pk")  # rows locked in one order: two tasks never deadlock
        )
        if not batch:
            return []
        ready = [d for d in batch if d.status == S.READY]  # a redelivered task's
        queued = [d for d in batch if d.status == S.QUEUED]
        # The most important first: of two capped messages to one contact, it takes the slot.
        queued.sort(key=lambda d: (-d.priority, d.due_at, d.pk))
        if queued:
            ready += _apply_limiter(queued, now)
    return ready


def _apply_limiter(queued: list[Delivery], now: datetime) -> list[Delivery]:
    _lock_contact_channels(queued)
    rules = policy()
    inputs = limiter_inputs(queued, now, rules)
    let_through: list[Delivery] = []
    # Sends this batch lets through count against the caps of the rest of the batch.
    sent_here: dict[tuple[int, str], list[datetime]] = {}
    for delivery, read in zip(queued, inputs, strict=True):
        capped_key = (delivery.contact_id or 0, delivery.channel)
        if capped_key in sent_here:
            read = replace(read, sent=(*sent_here[capped_key], *read.sent))
        verdict = limiter_decide(delivery, read, now, rules)
        if verdict.send:
            delivery.status, delivery.sent_at, delivery.reason = S.READY, now, ""
            delivery.attempts += 1
            let_through.append(delivery)
            if delivery.purpose in (Purpose.MARKETING, Purpose.SALES):
                sent_here.setdefault(capped_key, []).insert(0, now)
        elif verdict.never:
            delivery.status, delivery.reason = S.SUPPRESSED, verdict.reason
        else:
            delivery.status, delivery.reason = S.SCHEDULED, verdict.reason
            delivery.due_at = verdict.later or now
            delivery.deferrals += 1
    with connection.cursor() as cursor:
        cursor.execute(
            _DECIDED_SQL,
            {
                "now": now,
                "id": [d.pk for d in queued],
                "status": [d.status for d in queued],
                "reason": [d.reason for d in queued],
                "due_at": [d.due_at for d in queued],
                "deferrals": [d.deferrals for d in queued],
                "attempts": [d.attempts for d in queued],
                "sent_at": [d.sent_at for d in queued],
            },
        )
    return let_through


def _lock_contact_channels(deliveries: list[Delivery]) -> None:
    """Serialise the limiter per contact and channel until the decisions are committed:
    of two sends due together in two tasks, the second sees the first as sent and the cap
    holds. Taken in one sorted order, so two batches never deadlock."""
    keys = sorted(
        {
            d.contact_id * 4 + CHANNEL_LOCK_CODE[d.channel]
            for d in deliveries
            if d.contact_id is not None
        }
    )
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS t(k)",
                [keys],
            )


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


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


def _call(delivery: Delivery, now: datetime) -> dict[str, Any]:
    """Step 2b: the provider call and what to record of it."""
    try:
        result = _provider_call(delivery)
    except providers.ProviderRetry as busy:
        if busy.maybe_sent:
            # The provider may have taken it (no answer came back): sending again could
            # reach the contact twice, so a person decides, as for a stuck send.
            return {
                "status": S.FAILED,
                "reason": _(
                    "No answer from the provider (%(why)s): the message may have gone out, "
                    "so it was not sent again. Check the provider's log and resend by hand."
                )
                % {"why": busy.reason},
            }
        if delivery.attempts >= MAX_ATTEMPTS:
            return {
                "status": S.FAILED,
                "reason": _("Gave up after %(n)s attempts: %(why)s")
                % {"n": delivery.attempts, "why": busy.reason},
            }
        return {
            "status": S.SCHEDULED,
            "due_at": now + _backoff(delivery.attempts, busy.retry_after),
            "reason": _("The provider is busy (%(why)s); trying again.") % {"why": busy.reason},
            "sent_at": None,  # not sent: it does not count against the caps
        }
    except providers.ProviderRejected as refused:
        return {"status": S.FAILED, "reason": refused.reason}
    except Exception as error:  # a bug of ours: visible on the delivery, the batch goes on
        log.exception("delivery %s: unexpected error during the send", delivery.pk)
        return {
            "status": S.FAILED,
            "reason": _(
                "Unexpected error during the send (%(error)s): the message may or may not "
                "have gone out, so it was not sent again."
            )
            % {"error": error},
        }
    return {
        "status": S.SENT,
        "provider_message_id": result.message_id,
        "outbox": result.outbox,
        "reason": "",
    }


def _settle(
    called: list[tuple[Delivery, dict[str, Any]]],
    *,
    then_mark: Delivery | None = None,
    hooks: bool = False,
) -> bool:
    """One statement, one commit: the outcomes of `called` (a delivery someone else settled
    meanwhile, the stuck-send sweep or a provider event that came first, keeps theirs, read
    back) and, given `then_mark`, that delivery "sending" if it is still "ready"; with
    `hooks`, the outbound webhook events of those outcomes in the same transaction. Returns
    whether it was marked: only then may this task call the provider for it."""
    if not called and then_mark is None:
        return False
    stamp = timezone.now()
    hooks = hooks and bool(called)
    together: AbstractContextManager[Any] = transaction.atomic() if hooks else nullcontext()
    with together, connection.cursor() as cursor:
        cursor.execute(
            _SETTLE_AND_MARK_SQL,
            {
                "now": stamp,
                "next": then_mark.pk if then_mark is not None else None,
                "id": [d.pk for d, _f in called],
                "status": [f["status"] for _d, f in called],
                "reason": [f["reason"] for _d, f in called],
                "due_at": [f.get("due_at") for _d, f in called],
                "unsent": ["sent_at" in f for _d, f in called],
                "message_id": [
                    f.get("provider_message_id", d.provider_message_id) for d, f in called
                ],
                "outbox": [f.get("outbox", d.outbox) for d, f in called],
            },
        )
        rows = cursor.fetchall()
        recorded = {pk for is_mark, pk in rows if not is_mark}
        marked = any(is_mark for is_mark, _pk in rows)
        if hooks:
            webhooks_out.deliveries_changed(
                [(d.pk, f["status"]) for d, f in called if d.pk in recorded], checked=True
            )
    for delivery, fields in called:
        if delivery.pk in recorded:
            for name, value in {**fields, "updated_at": stamp}.items():
                setattr(delivery, name, value)
        else:  # rare: read theirs
            delivery.refresh_from_db()
    if marked and then_mark is not None:
        then_mark.status = S.SENDING
    return marked
