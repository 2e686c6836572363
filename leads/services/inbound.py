"""Raw first, then process: store every inbound message, then turn batches into data.

The request path only calls `inbound_store*` (one INSERT … ON CONFLICT DO NOTHING) and
acknowledges. Workers call `inbound_process_batch`, which claims pending rows with
SKIP LOCKED so any number of workers share the work without doubling it; each delivery is
handled in its own savepoint, so one bad message is marked failed with its reason and the
rest of the batch goes on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads.models import InboundDelivery, Source

logger = logging.getLogger(__name__)

BATCH_SIZE = 200

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


@dataclass(frozen=True)
class Incoming:
    topic: str
    delivery_id: str
    body: bytes


def inbound_store_many(
    *, source: Source, items: Iterable[Incoming], headers: dict[str, str]
) -> int:
    """Store raw messages; duplicates (same source + delivery id) are stored once.

    Returns how many were new. Processing is enqueued when the transaction commits.
    """
    rows = [
        InboundDelivery(
            source=source, topic=i.topic, delivery_id=i.delivery_id, headers=headers, body=i.body
        )
        for i in items
    ]
    with transaction.atomic():
        created = InboundDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(_enqueue_processing)
    return len(created)


def _enqueue_processing() -> None:
    from leads.tasks import inbound_process

    try:
        inbound_process.delay()
    except Exception:  # Redis down: stored rows wait for the beat sweep, nothing is lost
        logger.warning(
            "could not enqueue inbound processing; the sweep will pick it up", exc_info=True
        )


def inbound_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim and process up to `limit` pending deliveries. Returns how many were handled."""
    with transaction.atomic():
        deliveries = list(
            InboundDelivery.objects.select_for_update(skip_locked=True)
            .select_related("source")
            .filter(status=InboundDelivery.Status.PENDING)
            .order_by("received_at", "id")[:limit]
        )
        now = timezone.now()
        for delivery in deliveries:
            delivery.attempts += 1  # in memory for handlers; the UPDATE counts it in SQL
            handler = _handlers.get((delivery.source.kind, delivery.topic))
            if handler is None:
                delivery.status = InboundDelivery.Status.IGNORED
                delivery.error = f"no handler for topic {delivery.topic!r}"
                continue
            try:
                with transaction.atomic():
                    did = handler(delivery)
            except Exception as exc:
                logger.warning("inbound delivery %s failed", delivery.pk, exc_info=True)
                delivery.status = InboundDelivery.Status.FAILED
                delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
            else:
                delivery.status = (
                    InboundDelivery.Status.PROCESSED if did else InboundDelivery.Status.IGNORED
                )
                delivery.error = ""
        _record_outcomes(deliveries, now)
    return len(deliveries)


def _record_outcomes(deliveries: list[InboundDelivery], now: datetime) -> None:
    """One UPDATE per distinct outcome (almost always one: "processed"), not one per row."""
    by_outcome: dict[tuple[str, str], list[int]] = defaultdict(list)
    for delivery in deliveries:
        by_outcome[(delivery.status, delivery.error)].append(delivery.pk)
    for (status, error), ids in by_outcome.items():
        InboundDelivery.objects.filter(pk__in=ids).update(
            status=status, error=error, attempts=F("attempts") + 1, processed_at=now
        )


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
