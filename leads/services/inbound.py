"""Raw first, then process: store every inbound message, then turn batches into data.

The request path only calls `inbound_store*` (one INSERT … ON CONFLICT DO NOTHING) and
acknowledges. Workers call `inbound_process_batch`, which claims pending rows with
SKIP LOCKED so any number of workers share the work without doubling it; each delivery is
handled in its own savepoint, so one bad message is marked failed with its reason and the
rest of the batch goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg.errors import DeadlockDetected, SerializationFailure

from growth.sql import bound_cursor
from leads.models import InboundDelivery, Source
from leads.services.events import collecting_touched
from leads.services.reactions import batch_react

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
TRANSIENT_ATTEMPTS = 5
CLAIM_TIMEOUT = timedelta(minutes=10)

# (source kind, topic) → handler(delivery) returning True when it did something, False to
# mark the delivery ignored (a topic we accept but have no use for).
Handler = Callable[[InboundDelivery], bool]
_handlers: dict[tuple[str, str], Handler] = {}


def handles(kind: str, *topics: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for topic in topics:
            _handlers[(kind, topic)] = handler
        return handler

    return register


# source kind → handler(deliveries) that processes many deliveries at once and returns the
# ones it left for the one-by-one handlers above.
BatchHandler = Callable[[list[InboundDelivery]], list[InboundDelivery]]
_batch_handlers: dict[str, BatchHandler] = {}


def handles_batch(kind: str) -> Callable[[BatchHandler], BatchHandler]:
    def register(handler: BatchHandler) -> BatchHandler:
        _batch_handlers[kind] = handler
        return handler

    return register


@dataclass(frozen=True)
class Incoming:
    topic: str
    delivery_id: str
    body: bytes


def inbound_store_many(
    *, source: Source, items: Iterable[Incoming], headers: dict[str, str]
) -> int:
    """Store raw messages; duplicates (same source + delivery id) are stored once.

    One INSERT … ON CONFLICT DO NOTHING for the lot. Returns how many were new.
    Processing is enqueued when the transaction commits.
    """
    items = list(items)
    # One statement, so no transaction block of its own: in autocommit that saves the
    # BEGIN/COMMIT round trips; inside a caller's transaction it simply joins it.
    with bound_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_inbounddelivery
                (source_id, topic, delivery_id, headers, body, status, error, attempts, received_at)
            SELECT %s, topic, delivery_id, %s::jsonb, body, 'pending', '', 0, now()
            FROM unnest(%s::text[], %s::text[], %s::bytea[]) AS incoming(topic, delivery_id, body)
            ON CONFLICT (source_id, delivery_id) DO NOTHING
            RETURNING id
            """,
            [
                source.pk,
                json.dumps(headers),
                [i.topic for i in items],
                [i.delivery_id for i in items],
                [i.body for i in items],
            ],
            binary=True,
        )
        created = len(cursor.fetchall())
    transaction.on_commit(_enqueue_processing)  # at once in autocommit
    return created


KICK_KEY = "growth:inbound:kick"
# Short: if the draining worker dies, the next delivery after this wakes another one.
KICK_SECONDS = 5


def _enqueue_processing() -> None:
    """Wake a worker, at most once while one is already draining (a busy shop would
    otherwise publish a task per request)."""
    from growth.health import redis_client
    from leads.tasks import inbound_process

    try:
        if redis_client().set(KICK_KEY, 1, nx=True, ex=KICK_SECONDS):
            inbound_process.delay()
    except Exception:  # Redis down: stored rows wait for the beat sweep, nothing is lost
        logger.warning(
            "could not enqueue inbound processing; the sweep will pick it up", exc_info=True
        )


def inbound_drain() -> int:
    """Process until nothing is pending; then let the next request wake a worker again."""
    from growth.health import redis_client

    total = 0
    while True:
        handled = inbound_process_batch()
        total += handled
        if handled < BATCH_SIZE:
            # Clear the wake-up flag before the last look, so a delivery stored meanwhile
            # either is seen here or enqueues a new drain itself.
            redis_client().delete(KICK_KEY)
            handled = inbound_process_batch()
            total += handled
            if handled == 0:
                return total


def inbound_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` pending deliveries and process them. Returns how many.

    The claim is one short statement (SKIP LOCKED, so workers share the queue without
    doubling it); then each delivery is processed in its own short transaction, so the
    identity locks it takes are released at once: workers never deadlock on each other and
    an ingest request never waits for a worker. A worker that dies leaves its claimed rows
    "processing"; the sweep hands them back after CLAIM_TIMEOUT.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE leads_inbounddelivery SET status = 'processing', processed_at = now()
            WHERE id IN (
                SELECT id FROM leads_inbounddelivery WHERE status = 'pending'
                ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """,
            [limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    # Handlers read the body, never the stored headers (kept for people, in the Inbound page).
    claimed = InboundDelivery.objects.select_related("source").defer("headers").filter(pk__in=ids)
    by_kind: dict[str, list[InboundDelivery]] = {}
    for delivery in sorted(claimed, key=lambda d: (d.received_at, d.pk)):
        by_kind.setdefault(delivery.source.kind, []).append(delivery)
    with collecting_touched() as touched:
        for kind, deliveries in by_kind.items():
            if handler := _batch_handlers.get(kind):
                deliveries = handler(deliveries)
            for delivery in deliveries:
                _process(delivery)
    batch_react(contact_ids=touched.contact_ids, event_ids=touched.event_ids)
    return len(ids)


def inbound_reclaim_stale() -> int:
    """Hand deliveries claimed by a worker that died back to the queue."""
    return InboundDelivery.objects.filter(
        status=InboundDelivery.Status.PROCESSING, processed_at__lt=timezone.now() - CLAIM_TIMEOUT
    ).update(status=InboundDelivery.Status.PENDING)


def _process(delivery: InboundDelivery) -> None:
    delivery.attempts += 1
    delivery.processed_at = timezone.now()
    delivery.status, delivery.error = InboundDelivery.Status.PROCESSED, ""
    handler = _handlers.get((delivery.source.kind, delivery.topic))
    try:
        with transaction.atomic():
            # Processing is idempotent, so a commit lost in a crash only means a redo.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            if handler is None:
                delivery.status = InboundDelivery.Status.IGNORED
                delivery.error = f"no handler for topic {delivery.topic!r}"
            elif not handler(delivery):
                delivery.status = InboundDelivery.Status.IGNORED
            _save_outcome(delivery)
    except OperationalError as exc:
        # A deadlock or serialisation failure: another worker touched the same contact.
        transient = isinstance(exc.__cause__, DeadlockDetected | SerializationFailure)
        retry = transient and delivery.attempts < TRANSIENT_ATTEMPTS
        _fail(delivery, exc, retry=retry)
    except Exception as exc:
        logger.warning("inbound delivery %s failed", delivery.pk, exc_info=True)
        _fail(delivery, exc, retry=False)


def _fail(delivery: InboundDelivery, exc: Exception, *, retry: bool) -> None:
    delivery.status = InboundDelivery.Status.PENDING if retry else InboundDelivery.Status.FAILED
    delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    _save_outcome(delivery)


def _save_outcome(delivery: InboundDelivery) -> None:
    delivery.save(update_fields=["status", "error", "attempts", "processed_at"])


def inbound_retry(*, delivery_ids: Iterable[int] | None = None) -> int:
    """Put failed deliveries back in the queue: the given ones, or every failed one."""
    failed = InboundDelivery.objects.filter(status=InboundDelivery.Status.FAILED)
    if delivery_ids is not None:
        failed = failed.filter(pk__in=list(delivery_ids))
    with transaction.atomic():
        count = failed.update(status=InboundDelivery.Status.PENDING, error="")
        if count:
            transaction.on_commit(_enqueue_processing)
    return count
