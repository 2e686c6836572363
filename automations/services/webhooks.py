"""Outbound webhook subscriptions and their deliveries: create, edit, rotate the secret
(audited), delete (audited), send a test event, dispatch due rows, send them, redeliver by
hand.

The flow (ARCHITECTURE.md, data flow 4 and 5, and automations.webhooks_out for the
enqueue side):

1. A domain event writes one `WebhookDelivery` per subscription that wants it, pending and
   due now; (subscription, event id) is unique, so an event is never enqueued twice.
2. The dispatcher (beat, every 2 s) claims due rows of active subscriptions with SKIP
   LOCKED and moves their `next_attempt_at` on by a lease; the send tasks go out on commit.
   A send task that is lost leaves its rows due again when the lease ends.
3. The send task POSTs each row, signed with the subscription's secret(s), with
   X-Growth-Delivery (the row id) as idempotency key, and records the answer: 2xx →
   delivered; 410 → failed and the subscription turned off; 429/5xx/network → retrying
   with exponential backoff and jitter, never sooner than Retry-After, up to
   WEBHOOK_MAX_ATTEMPTS attempts, then failed (the dead letter, redeliverable by hand);
   any other answer → failed.

At least once: a worker killed during a POST leaves its row pending or retrying, and the
redelivered task (acks_late) or the next claim sends the same row again, with the same
X-Growth-Delivery, which receivers use to drop the repeat.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from automations import providers, webhooks_out
from automations.models import WebhookDelivery, WebhookSubscription
from automations.models.webhooks import SUBSCRIBABLE, EventType
from growth import audit
from growth.models import AuditEvent

log = logging.getLogger(__name__)

S = WebhookDelivery.Status
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
ROTATION_GRACE = timedelta(hours=24)  # the previous secret still signs this long
LEASE = timedelta(minutes=10)  # a claimed row is due again after this (its task was lost)
DISPATCH_BATCH = 200
SEND_BATCH_MAX = 10  # rows per send task: at most ~100 s of 10 s timeouts
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_FACTOR = 4
BACKOFF_MAX = timedelta(hours=8)  # 1, 4, 16, 64 min, 4.3 h, 8 h, 8 h: 8 attempts in ~22 h
JITTER = 0.2  # ± this share of the wait, so a receiver back up is not hit all at once
RETRY_AFTER_MAX = timedelta(days=1)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


# --- Subscriptions ------------------------------------------------------------------------


def secret_new() -> str:
    """32 random bytes, URL-safe base64, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _local(host: str) -> bool:
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_check(url: str) -> str:
    """The URL, stripped, or ValidationError({"url": …}): https, or http for this machine
    (localhost, 127.0.0.1) or when DEBUG is on."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(
            {"url": _("Enter a full URL, such as https://example.com/growth-events.")}
        ) from None
    parts = urlsplit(url)
    if parts.scheme == "http" and not (settings.DEBUG or _local(parts.hostname or "")):
        raise ValidationError(
            {
                "url": _(
                    "Use an https:// URL: events carry personal data and must be encrypted "
                    "on the way (http:// is allowed only for localhost)."
                )
            }
        )
    return url


def _clean(name: str, url: str, event_types: Sequence[str]) -> tuple[str, str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the subscription a name, e.g. the system it feeds.")]
    try:
        url = webhook_url_check(url)
    except ValidationError as problem:
        errors.update(problem.message_dict)
    chosen = sorted({str(t) for t in event_types})
    unknown = [t for t in chosen if t not in SUBSCRIBABLE]
    if unknown:
        errors["event_types"] = [
            _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}
        ]
    elif not chosen:
        errors["event_types"] = [_("Choose at least one event.")]
    if errors:
        raise ValidationError(errors)
    return name, url, chosen


def _types_changed() -> None:
    transaction.on_commit(webhooks_out.wanted_types_refresh)


@transaction.atomic
def subscription_create(
    *, name: str, url: str, event_types: Sequence[str], actor: Any, is_active: bool = True
) -> WebhookSubscription:
    name, url, chosen = _clean(name, url, event_types)
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        event_types=chosen,
        is_active=is_active,
        secret=secret_new(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _types_changed()
    return subscription


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    name: str,
    url: str,
    event_types: Sequence[str],
    is_active: bool,
) -> WebhookSubscription:
    name, url, chosen = _clean(name, url, event_types)
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    locked.name, locked.url, locked.event_types = name, url, chosen
    if is_active and not locked.is_active:
        locked.deactivated_reason = ""
    locked.is_active = is_active
    locked.save()
    _types_changed()
    return locked


@transaction.atomic
def subscription_rotate_secret(
    *,
    subscription: WebhookSubscription,
    actor: Any,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> WebhookSubscription:
    """A new secret signs from now on; the current one keeps signing as well (a second
    signature) for ROTATION_GRACE, so the receiver can switch without losing an event.
    Recorded in the audit log."""
    now = now or timezone.now()
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = now + ROTATION_GRACE
    locked.secret = secret_new()
    locked.rotated_at = now
    locked.save()
    audit.record(
        AuditEvent.Action.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        target=f"webhook {locked.pk}: {locked.name}"[:300],
        request=request,
        subscription_id=locked.pk,
        url=locked.url,
        previous_valid_until=locked.previous_secret_expires_at.isoformat(),
    )
    return locked


def subscription_usage(*, subscription: WebhookSubscription) -> dict[str, int]:
    """How many of its delivery rows are in each status (every status present, 0 or more):
    what deleting it takes away, asked before and recorded after."""
    counts = dict(
        WebhookDelivery.objects.filter(subscription=subscription)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: int(counts.get(status, 0)) for status in S.values}


@transaction.atomic
def subscription_delete(
    *, subscription: WebhookSubscription, actor: Any, request: HttpRequest | None = None
) -> dict[str, int]:
    """Delete the subscription with its delivery log; recorded in the audit log (who, which
    receiver, its events, how many rows of each status went). The rows per status.

    The log goes with it rather than staying behind: its rows are event payloads (contacts'
    ids and e-mail addresses) whose one use was reaching this receiver and explaining why it
    did not, and nothing can be redelivered to a subscription that is gone; the audit entry
    keeps the account. Rows still pending or retrying go too, so nothing more is sent: the
    dispatcher finds no row, a send task already queued finds none, and one halfway through
    its rows checks each before its POST (`webhook_deliveries_send`). Only a POST already on
    the wire when this commits cannot be called back.

    The deliveries table is locked first (SHARE ROW EXCLUSIVE: readers go on, writers wait
    the few milliseconds this takes): an event being enqueued for this subscription right
    now either commits first, and its row is deleted here, or starts after and no longer
    finds the subscription. Without it, its foreign key would fail on one side or the
    other. Table first, then the row: the order every enqueue takes them in."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {WebhookDelivery._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    locked = WebhookSubscription.objects.select_for_update().filter(pk=subscription.pk).first()
    if locked is None:
        raise ValidationError(_("This subscription was deleted already."), code="gone")
    counts = subscription_usage(subscription=locked)
    audit.record(
        AuditEvent.Action.WEBHOOK_DELETED,
        actor=actor,
        target=f"webhook {locked.pk}: {locked.name}"[:300],
        request=request,
        subscription_id=locked.pk,
        url=locked.url,
        event_types=list(locked.event_types),
        deliveries=counts,
    )
    WebhookDelivery.objects.filter(subscription=locked).delete()
    locked.delete()
    _types_changed()
    return counts


def _send_now(rows: Sequence[int], now: datetime) -> None:
    """Hand rows to a send task at once (on commit), leased like a claim, so the
    dispatcher does not send them a second time meanwhile."""
    from automations.tasks import webhook_deliveries_send_task

    WebhookDelivery.objects.filter(pk__in=list(rows)).update(next_attempt_at=now + LEASE)
    transaction.on_commit(partial(webhook_deliveries_send_task.delay, list(rows)))


@transaction.atomic
def subscription_send_test(
    *, subscription: WebhookSubscription, now: datetime | None = None
) -> WebhookDelivery:
    """A `ping` event for this subscription alone, sent now (whatever events it wants)."""
    now = now or timezone.now()
    event_id = f"ping:{uuid.uuid4().hex}"
    row = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type=EventType.PING,
        event_id=event_id,
        payload={
            "id": event_id,
            "type": EventType.PING.value,
            "created_at": now.isoformat(),
            "data": {
                "subscription": {"id": subscription.pk, "name": subscription.name},
                "message": "A test event from Growth.",
            },
        },
        status=S.PENDING,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    _send_now([row.pk], now)
    return row


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send this row again now, whatever its status: pending again with a fresh count of
    attempts (retried as usual if the receiver is busy). Same row, so the same
    X-Growth-Delivery: a receiver that processed it already may drop it."""
    now = now or timezone.now()
    locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    locked.status = S.PENDING
    locked.attempts = 0
    locked.next_attempt_at = now
    locked.updated_at = now
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    _send_now([locked.pk], now)
    locked.next_attempt_at = now + LEASE
    return locked


# --- Dispatch -----------------------------------------------------------------------------


def webhook_deliveries_dispatch(
    *, now: datetime | None = None, limit: int = DISPATCH_BATCH
) -> list[int]:
    """Claim due rows of active subscriptions (SKIP LOCKED: several dispatchers never take
    the same row), lease them, and enqueue their send tasks on commit, a few rows of one
    subscription per task (a slow receiver holds up only its own)."""
    from automations.tasks import webhook_deliveries_send_task

    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE automations_webhookdelivery w
            SET next_attempt_at = %(lease)s, updated_at = %(now)s
            WHERE w.id IN (
                SELECT d.id FROM automations_webhookdelivery d
                JOIN automations_webhooksubscription s ON s.id = d.subscription_id
                WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= %(now)s
                  AND s.is_active
                ORDER BY d.next_attempt_at
                LIMIT %(limit)s
                FOR UPDATE OF d SKIP LOCKED)
            RETURNING w.id, w.subscription_id
            """,
            {"now": now, "lease": now + LEASE, "limit": limit},
        )
        rows = sorted(cursor.fetchall())
        by_subscription: dict[int, list[int]] = {}
        for row_id, subscription_id in rows:
            by_subscription.setdefault(subscription_id, []).append(row_id)
        for ids in by_subscription.values():
            for start in range(0, len(ids), SEND_BATCH_MAX):
                batch = ids[start : start + SEND_BATCH_MAX]
                transaction.on_commit(partial(webhook_deliveries_send_task.delay, batch))
    return [row_id for row_id, _sub in rows]


# --- Send ---------------------------------------------------------------------------------


def webhook_body(payload: Any) -> bytes:
    """The exact bytes sent and signed."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: exponential with jitter,
    never less than the receiver's Retry-After (itself capped at a day)."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** max(0, attempts - 1))
    wait = base * (1 + random.uniform(-JITTER, JITTER))  # noqa: S311 (not security)
    if retry_after is not None:
        wait = max(wait, min(RETRY_AFTER_MAX, timedelta(seconds=retry_after)))
    return wait


def _attempt(row: WebhookDelivery, now: datetime) -> tuple[dict[str, Any], bool]:
    """POST one row; (fields to record, whether the receiver looks down)."""
    subscription = row.subscription
    attempts = row.attempts + 1
    fields: dict[str, Any] = {"attempts": attempts, "updated_at": timezone.now()}
    try:
        result = providers.webhook_signed_post(
            url=subscription.url,
            body=webhook_body(row.payload),
            secrets=subscription.signing_secrets(now),
            headers={"X-Growth-Event": row.event_type, "X-Growth-Delivery": str(row.pk)},
            credentials=_("the subscription's secret"),
        )
    except providers.ProviderRetry as busy:
        fields["last_status_code"] = busy.status_code
        if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            fields.update(
                status=S.FAILED,
                next_attempt_at=None,
                last_error=_("Gave up after %(n)s attempts: %(why)s")
                % {"n": attempts, "why": busy.reason},
            )
        else:
            fields.update(
                status=S.RETRYING,
                next_attempt_at=now + backoff(attempts, busy.retry_after),
                last_error=busy.reason,
            )
        return fields, True
    except providers.ProviderRejected as refused:
        fields.update(
            status=S.FAILED,
            next_attempt_at=None,
            last_status_code=refused.status_code,
            last_error=refused.reason,
        )
        if refused.status_code == 410:
            fields["last_error"] = _(
                "The receiver answered 410 Gone: it no longer wants these events, so the "
                "subscription was turned off."
            )
        return fields, False
    except Exception as error:  # a bug of ours: visible on the row, retried like a busy receiver
        log.exception("webhook delivery %s: unexpected error during the send", row.pk)
        fields.update(
            status=S.RETRYING if attempts < settings.WEBHOOK_MAX_ATTEMPTS else S.FAILED,
            next_attempt_at=now + backoff(attempts)
            if attempts < settings.WEBHOOK_MAX_ATTEMPTS
            else None,
            last_status_code=None,
            last_error=_("Unexpected error during the send: %(error)s") % {"error": error},
        )
        return fields, False
    fields.update(
        status=S.DELIVERED,
        next_attempt_at=None,
        last_status_code=int(result.status),
        last_error="",
        delivered_at=fields["updated_at"],
    )
    return fields, False


def _deactivate(subscription: WebhookSubscription, reason: str) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, deactivated_reason=reason, updated_at=timezone.now()
    )
    webhooks_out.wanted_types_refresh()


def _still_due(row: WebhookDelivery) -> bool:
    return WebhookDelivery.objects.filter(
        pk=row.pk, status__in=[S.PENDING, S.RETRYING], subscription__is_active=True
    ).exists()


def webhook_deliveries_send(
    delivery_ids: Sequence[int], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Send these rows (see the module's doc); the rows attempted, with their outcome.
    Rows delivered or failed meanwhile, or of a subscription turned off, are left alone.
    When a receiver is busy or down, the rest of its rows wait for the same time instead
    of each paying a timeout."""
    now = now or timezone.now()
    rows = list(
        WebhookDelivery.objects.select_related("subscription")
        .filter(
            pk__in=list(delivery_ids),
            status__in=[S.PENDING, S.RETRYING],
            subscription__is_active=True,
        )
        .order_by("pk")
    )
    done: list[WebhookDelivery] = []
    stopped: set[int] = set()  # subscriptions turned off, or whose receiver is down
    for index, row in enumerate(rows):
        if row.subscription_id in stopped:
            continue
        if index and not _still_due(row):
            # Deleted, turned off or sent by someone else since this task read its rows.
            continue
        fields, down = _attempt(row, now)
        # Each outcome in its own statement: a worker killed later loses none of them.
        updated = WebhookDelivery.objects.filter(
            pk=row.pk, status__in=[S.PENDING, S.RETRYING]
        ).update(**fields)
        if updated:
            for name, value in fields.items():
                setattr(row, name, value)
            done.append(row)
        if fields.get("last_status_code") == 410:
            _deactivate(row.subscription, fields["last_error"])
            stopped.add(row.subscription_id)
        elif down and fields["status"] == S.RETRYING:
            stopped.add(row.subscription_id)
            rest = [r.pk for r in rows[index + 1 :] if r.subscription_id == row.subscription_id]
            WebhookDelivery.objects.filter(pk__in=rest, status__in=[S.PENDING, S.RETRYING]).update(
                next_attempt_at=fields["next_attempt_at"], updated_at=timezone.now()
            )
    return done
