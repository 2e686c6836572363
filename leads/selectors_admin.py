"""Reads for the admin pages: sources with their delivery stats, and the inbound log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.models import InboundDelivery, Source

PAGE_SIZE = 50
Status = InboundDelivery.Status


def source_list() -> QuerySet[Source]:
    """Every source with its last delivery time and delivery counts by status.

    One grouped query over the join, so the page costs the same for 3 sources or 300.
    """
    counts = {
        f"{status}_count": Count("deliveries", filter=Q(deliveries__status=status))
        for status in Status.values
    }
    return Source.objects.annotate(
        last_delivery_at=Max("deliveries__received_at"), **counts
    ).order_by("name", "id")


# --- Inbound log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (received_at, id) of the last row shown. Unlike OFFSET, the
    next page costs the same however deep it is, and new arrivals never shift it."""

    received_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.received_at.isoformat()}~{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        stamp, _, pk = (text or "").rpartition("~")
        moment = parse_datetime(stamp) if stamp else None
        if moment is None or not pk.isdigit():
            return None  # a mangled link just starts from the newest
        return cls(moment, int(pk))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(
    *,
    status: str = "",
    source: Source | None = None,
    topic: str = "",
    received_from: date | None = None,
    received_to: date | None = None,
) -> QuerySet[InboundDelivery]:
    deliveries = InboundDelivery.objects.all()
    if status:
        deliveries = deliveries.filter(status=status)
    if source is not None:
        deliveries = deliveries.filter(source=source)
    if topic:
        deliveries = deliveries.filter(topic=topic)
    # Whole days in the site's time zone, as ranges on the column so indexes still apply.
    if received_from:
        deliveries = deliveries.filter(received_at__gte=_day_start(received_from))
    if received_to:
        deliveries = deliveries.filter(received_at__lt=_day_start(received_to + timedelta(1)))
    return deliveries


def inbound_page(
    *, after: Cursor | None = None, limit: int = PAGE_SIZE, **filters: object
) -> tuple[list[InboundDelivery], Cursor | None]:
    """One page of deliveries, newest first, and the cursor of the next (older) page."""
    deliveries = _filtered(**filters)  # type: ignore[arg-type]
    if after is not None:
        deliveries = deliveries.filter(
            Q(received_at__lt=after.received_at) | Q(received_at=after.received_at, id__lt=after.id)
        )
    # Bodies and headers can be large and the table shows neither.
    rows = list(
        deliveries.select_related("source")
        .defer("body", "headers")
        .order_by("-received_at", "-id")[: limit + 1]
    )
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, Cursor(rows[-1].received_at, rows[-1].id)


def inbound_status_counts(*, source: Source | None = None) -> dict[str, int]:
    """Deliveries per status (every status present, zeros included), in one query."""
    rows = _filtered(source=source).values("status").annotate(n=Count("id")).order_by()
    found = {row["status"]: row["n"] for row in rows}
    return {status: found.get(status, 0) for status in Status.values}


def inbound_failed_ids(*, source: Source) -> list[int]:
    """The failed deliveries of one source, for a retry scoped to it."""
    return list(
        InboundDelivery.objects.filter(source=source, status=Status.FAILED).values_list(
            "id", flat=True
        )
    )


def inbound_detail(*, pk: int) -> InboundDelivery | None:
    return InboundDelivery.objects.select_related("source").filter(pk=pk).first()


def delivery_body_text(delivery: InboundDelivery) -> str:
    """The raw body as readable text: bad UTF-8 bytes become �, JSON is indented.

    The template escapes it; this never produces HTML.
    """
    text = bytes(delivery.body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        return text


def delivery_headers_text(delivery: InboundDelivery) -> str:
    return json.dumps(delivery.headers or {}, indent=2, ensure_ascii=False, sort_keys=True)
