"""Reads of automations for the outbox pages: deliveries (a keyset page, counts by status,
one message), suppressions and the sending policy.

Built for a table of millions of deliveries: the list reads newest first by id (the primary
key's index, walked backwards from the cursor, never an OFFSET), and the counts by status
read at most the newest COUNT_WINDOW messages in one grouped query."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, QuerySet, Subquery, Value, When
from django.db.models.functions import Left

from automations.models import Delivery, Suppression
from automations.services.outbox import resend_key, resend_parts

PAGE_SIZE = 50
COUNT_WINDOW = 100_000

# What a list row needs: the message bodies stay unread.
LIST_COLUMNS = (
    "id",
    "key",
    "channel",
    "purpose",
    "origin",
    "status",
    "scheduled_for",
    "due_at",
    "deferrals",
    "attempts",
    "reason",
    "to_address",
    "subject",
    "outbox",
    "sent_at",
    "created_at",
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "contact__phone",
)


@dataclass(frozen=True)
class DeliveryFilters:
    status: str = ""
    channel: str = ""
    purpose: str = ""
    origin: str = ""
    q: str = ""  # the address starts with this

    @property
    def active(self) -> bool:
        return any((self.status, self.channel, self.purpose, self.origin, self.q))


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_cursor: str | None


@dataclass(frozen=True)
class StatusCounts:
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    capped: bool = False  # older messages than the newest `window` were not counted
    window: int = COUNT_WINDOW


def address_prefix(q: str) -> str:
    """What an address search matches the start of: e-mail addresses are stored lower-cased,
    phone numbers as E.164 (a typed "+49 151 …" finds "+49151…")."""
    q = q.strip()
    if q and "@" not in q and not any(c.isalpha() for c in q):
        return ("+" if q.startswith("+") else "") + "".join(c for c in q if c.isdigit())
    return q.lower()


def _deliveries(filters: DeliveryFilters, *, with_status: bool = True) -> QuerySet[Delivery]:
    rows = Delivery.objects.all()
    if with_status and filters.status:
        rows = rows.filter(status=filters.status)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.purpose:
        rows = rows.filter(purpose=filters.purpose)
    if filters.origin:
        rows = rows.filter(origin=filters.origin)
    prefix = address_prefix(filters.q)
    if prefix:
        rows = rows.filter(to_address__startswith=prefix)
    return rows


def _cursor(after: str) -> int | None:
    after = after.strip()
    return int(after) if after.isdigit() and len(after) < 19 else None


def delivery_page(
    *, filters: DeliveryFilters, after: str = "", size: int = PAGE_SIZE
) -> DeliveryPage:
    """One page, newest first, from just after the cursor (the last id of the page before):
    page 1000 costs what page 1 costs, and messages arriving meanwhile neither repeat nor
    vanish. One query, the contact joined for its name."""
    rows = (
        _deliveries(filters)
        .select_related("contact")
        .only(*LIST_COLUMNS)
        # The start of the text when there is no subject (an SMS); long bodies stay unread.
        .annotate(
            snippet=Case(
                When(subject="", then=Left("body_text", 80)),
                default=Value(""),
                output_field=CharField(),
            )
        )
    )
    cursor = _cursor(after)
    if cursor is not None:
        rows = rows.filter(id__lt=cursor)
    found: list[Delivery] = list(rows.order_by("-id")[: size + 1])
    if len(found) <= size:
        return DeliveryPage(found, None)
    return DeliveryPage(found[:size], str(found[size - 1].pk))


def delivery_status_counts(*, filters: DeliveryFilters) -> StatusCounts:
    """How many messages of each status match the other filters, among the newest
    COUNT_WINDOW messages (by id): one grouped query that reads at most that many rows
    through the primary key's index, however large the table and however rare the filter."""
    newest_id = Subquery(Delivery.objects.order_by("-id").values("id")[:1])
    groups = (
        _deliveries(filters, with_status=False)
        .filter(id__gt=newest_id - COUNT_WINDOW)
        .values("status")
        # The newest id rides along (evaluated once, the same on every row): it tells
        # whether older messages lie outside the window.
        .annotate(n=Count("id"), newest=newest_id)
        .order_by()
    )
    counts: dict[str, int] = {}
    newest = 0
    for group in groups:
        counts[group["status"]] = group["n"]
        newest = group["newest"]
    return StatusCounts(
        counts=counts,
        total=sum(counts.values()),
        capped=newest > COUNT_WINDOW,
        window=COUNT_WINDOW,
    )


def delivery_get(*, pk: int) -> Delivery:
    return Delivery.objects.select_related("contact", "template").get(pk=pk)


@dataclass(frozen=True)
class Resends:
    original: Delivery | None  # the message this one repeats
    copy: Delivery | None  # the copy of this one, when it was sent again


def delivery_resends(*, delivery: Delivery) -> Resends:
    """The message this one repeats and its own copy, if any: exact key lookups, one query."""
    root, number = resend_parts(delivery.key)
    copy_key = resend_key(delivery)
    original_key = (root if number == 1 else f"{root}:resend:{number - 1}") if number else ""
    found = {
        d.key: d
        for d in Delivery.objects.filter(key__in=[k for k in (copy_key, original_key) if k]).only(
            "id", "key", "status"
        )
    }
    return Resends(original=found.get(original_key), copy=found.get(copy_key))


# --- Suppressions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressionFilters:
    channel: str = ""
    reason: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return any((self.channel, self.reason, self.q))


@dataclass(frozen=True)
class SuppressionPage:
    suppressions: list[Suppression]
    next_cursor: str | None


def suppression_page(
    *, filters: SuppressionFilters, after: str = "", size: int = PAGE_SIZE
) -> SuppressionPage:
    """Suppressed addresses, newest first, by keyset like the deliveries."""
    rows = Suppression.objects.all()
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.reason:
        rows = rows.filter(reason=filters.reason)
    prefix = address_prefix(filters.q)
    if prefix:
        rows = rows.filter(address__startswith=prefix)
    cursor = _cursor(after)
    if cursor is not None:
        rows = rows.filter(id__lt=cursor)
    found = list(rows.order_by("-id")[: size + 1])
    if len(found) <= size:
        return SuppressionPage(found, None)
    return SuppressionPage(found[:size], str(found[size - 1].pk))


def suppression_find(*, channel: str, address: str) -> Suppression | None:
    return Suppression.objects.filter(channel=channel, address=address).first()
