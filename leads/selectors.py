"""Reads for the contact pages: the filtered list (keyset pages and CSV export) and one
contact's record and timeline. Each function runs a fixed number of queries, however many
contacts, events or orders there are."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from leads.models import (
    Consent,
    Contact,
    ContactMerge,
    Event,
    Identity,
    Note,
    Order,
    Refund,
    Session,
)
from leads.models.contacts import SEARCH_TEXT

PAGE_SIZE = 50

# --- Contact list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""
    stage: str = ""
    source: str = ""
    country: str = ""
    email_consent: str = ""  # granted / denied / unknown ("unknown" includes never asked)
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    seen_from: datetime | None = None
    seen_to: datetime | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


# Sort keys the list offers: the model field and whether it may be empty (never seen).
SORT_FIELDS = {
    "created": ("created_at", False),
    "last_seen": ("last_seen_at", True),
    "score": ("score", False),
}
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{3,}$")


def _search(contacts: QuerySet[Contact], q: str) -> QuerySet[Contact]:
    q = q.strip().lower()
    if not q:
        return contacts
    if "@" in q:
        # An address typed in full or in part: a prefix of the stored e-mail. The exact form
        # is answered by the Lower(email) index; the trigram condition lets the planner use
        # the search index for partial addresses too (it is implied by the prefix).
        return contacts.alias(email_ci=Lower("email"), search=SEARCH_TEXT).filter(
            Q(email_ci=q) | Q(email_ci__startswith=q, search__contains=q)
        )
    if PHONE_LIKE.match(q) and sum(ch.isdigit() for ch in q) >= 3:
        # Phones are stored as E.164 digits; "(555) 123-4567" should find "+15551234567".
        return contacts.alias(search=SEARCH_TEXT).filter(search__contains=re.sub(r"\D", "", q))
    # Every word must appear somewhere in the name, e-mail or phone: "ada love" finds Ada Lovelace.
    contacts = contacts.alias(search=SEARCH_TEXT)
    for word in q.split():
        contacts = contacts.filter(search__contains=word)
    return contacts


def _email_consent(status: str) -> Q:
    email_consents = Consent.objects.filter(contact=OuterRef("pk"), channel=Consent.Channel.EMAIL)
    if status == Consent.Status.UNKNOWN:
        # No statement either way: an explicit "unknown" row or no row at all.
        known = email_consents.exclude(status=Consent.Status.UNKNOWN)
        return ~Q(Exists(known))
    return Q(Exists(email_consents.filter(status=status)))


def contact_list(*, filters: ContactFilters) -> QuerySet[Contact]:
    """Live contacts matching the filters, unordered. Merged tombstones and erased people
    are not contacts any more, so they never show."""
    contacts = Contact.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    contacts = _search(contacts, filters.q)
    exact = {
        "lifecycle_stage": filters.stage,
        "source_channel": filters.source,
        "country": filters.country.upper(),
    }
    contacts = contacts.filter(**{name: value for name, value in exact.items() if value})
    if filters.email_consent:
        contacts = contacts.filter(_email_consent(filters.email_consent))
    ranges = {
        "created_at__gte": filters.created_from,
        "created_at__lt": filters.created_to,
        "last_seen_at__gte": filters.seen_from,
        "last_seen_at__lt": filters.seen_to,
    }
    return contacts.filter(**{name: value for name, value in ranges.items() if value})


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    next_cursor: str | None


def _cursor_encode(value: Any, pk: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(token: str, sort: str) -> tuple[Any, int] | None:
    """(sort value, id) from a "Next" link, or None when the token is not one of ours."""
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if sort != "score" and value is not None:
            value = datetime.fromisoformat(value)
        if not isinstance(pk, int) or (sort == "score" and not isinstance(value, int)):
            return None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return value, pk


def _segments(
    contacts: QuerySet[Contact], sort: str, descending: bool, cursor: tuple[Any, int] | None
) -> list[QuerySet[Contact]]:
    """The sorted list from just after the cursor, as consecutive ordered querysets.

    Contacts never seen (no last_seen_at) come last in both directions. Reading them as a
    second segment, instead of "NULLS LAST", keeps each part in plain (key, id) order, which
    the (-key, -id) indexes serve forwards and backwards."""
    name, nullable = SORT_FIELDS[sort]
    sign, beyond, bound = ("-", "lt", "lte") if descending else ("", "gt", "gte")
    value, pk = cursor or (None, 0)
    segments = []
    if cursor is None or value is not None:
        present = contacts.filter(**{f"{name}__isnull": False}) if nullable else contacts
        if cursor is not None:
            # The redundant "key <= value" (or >=) bound lets the index scan start at the
            # cursor instead of walking past every earlier row.
            present = present.filter(
                Q(**{f"{name}__{bound}": value}),
                Q(**{f"{name}__{beyond}": value}) | Q(**{name: value, f"id__{beyond}": pk}),
            )
        segments.append(present.order_by(f"{sign}{name}", f"{sign}id"))
    if nullable:
        missing = contacts.filter(**{f"{name}__isnull": True})
        if cursor is not None and value is None:
            missing = missing.filter(**{f"id__{beyond}": pk})
        segments.append(missing.order_by(f"{sign}id"))
    return segments


def contact_page(
    *,
    filters: ContactFilters,
    sort: str = "created",
    descending: bool = True,
    after: str = "",
    size: int = PAGE_SIZE,
) -> ContactPage:
    """One page of the list by keyset: rows after the cursor, never an OFFSET, so page 1000
    costs what page 1 costs and rows arriving meanwhile neither repeat nor vanish. One query,
    two when the page runs from seen into never-seen contacts."""
    cursor = _cursor_decode(after, sort) if after else None
    rows: list[Contact] = []
    for segment in _segments(contact_list(filters=filters), sort, descending, cursor):
        rows += segment[: size + 1 - len(rows)]
        if len(rows) > size:
            last = rows[size - 1]
            return ContactPage(
                rows[:size], _cursor_encode(getattr(last, SORT_FIELDS[sort][0]), last.pk)
            )
    return ContactPage(rows, None)


EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "country",
    "time_zone",
    "lifecycle_stage",
    "score",
    "source_channel",
    "created_at",
    "last_seen_at",
)


def contact_export_rows(
    *, filters: ContactFilters, sort: str = "created", descending: bool = True
) -> Iterator[tuple[Any, ...]]:
    """Every matching row in list order, read in chunks through server-side cursors so
    memory stays flat however large the export."""
    for segment in _segments(contact_list(filters=filters), sort, descending, None):
        yield from segment.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000)


# --- One contact ----------------------------------------------------------------------------


def contact_get(*, pk: int) -> Contact:
    """Any contact row, tombstones and erased ones included: the page decides what to show."""
    return Contact.objects.get(pk=pk)


@dataclass(frozen=True)
class ContactRecord:
    identities: list[Identity]
    consents: list[tuple[str, str, Consent | None]]  # (channel, label, consent) per channel
    merges: list[ContactMerge]
    notes: list[Note]


def contact_record(*, contact: Contact) -> ContactRecord:
    identities = list(contact.identities.select_related("source").order_by("kind", "value"))
    by_channel = {c.channel: c for c in contact.consents.all()}
    consents = [
        (value, str(label), by_channel.get(value)) for value, label in Consent.Channel.choices
    ]
    merges = list(contact.merges.order_by("-created_at"))
    notes = list(contact.notes.select_related("author").order_by("-created_at", "-id"))
    return ContactRecord(identities, consents, merges, notes)


# --- Timeline -------------------------------------------------------------------------------

# Order matters: it breaks ties between items of different kinds at the same instant.
TIMELINE_KINDS = ("events", "sessions", "orders", "refunds")


@dataclass(frozen=True)
class TimelineCursor:
    """Position in the timeline: (time, kind, id) is a total order, so equal times on a page
    boundary are neither repeated nor skipped."""

    at: datetime
    kind: str
    pk: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}~{self.kind}~{self.pk}"

    @classmethod
    def decode(cls, token: str) -> TimelineCursor | None:
        try:
            at, kind, pk = token.split("~")
            cursor = cls(datetime.fromisoformat(at), kind, int(pk))
        except ValueError:
            return None
        return cursor if kind in TIMELINE_KINDS and cursor.at.tzinfo else None


@dataclass(frozen=True)
class TimelineItem:
    kind: str
    at: datetime
    obj: Model
    details: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(self.at, self.kind, self.obj.pk)

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, TIMELINE_KINDS.index(self.kind), self.obj.pk)


@dataclass(frozen=True)
class Timeline:
    items: list[TimelineItem]
    next_cursor: TimelineCursor | None


def _timeline_sources(contact: Contact) -> dict[str, tuple[QuerySet[Any], str]]:
    """Per kind: newest-first rows of this contact (each read through its contact/time
    index) and the field that dates them."""
    return {
        "events": (Event.objects.filter(contact=contact), "occurred_at"),
        "sessions": (Session.objects.filter(contact=contact), "started_at"),
        "orders": (Order.objects.filter(contact=contact), "placed_at"),
        "refunds": (
            Refund.objects.filter(order__contact=contact).select_related("order"),
            "refunded_at",
        ),
    }


def _older_than(kind: str, at_field: str, before: TimelineCursor | datetime) -> Q:
    if isinstance(before, datetime):
        return Q(**{f"{at_field}__lt": before})
    rank, cursor_rank = TIMELINE_KINDS.index(kind), TIMELINE_KINDS.index(before.kind)
    if rank < cursor_rank:  # sorts below the cursor kind at the same instant
        return Q(**{f"{at_field}__lte": before.at})
    if rank > cursor_rank:
        return Q(**{f"{at_field}__lt": before.at})
    return Q(**{f"{at_field}__lte": before.at}) & (
        Q(**{f"{at_field}__lt": before.at}) | Q(**{at_field: before.at, "pk__lt": before.pk})
    )


def _details(kind: str, obj: Any) -> list[tuple[str, Any]]:
    """A few scalar facts worth a glance; the template labels the fixed fields itself."""
    if kind == "events":
        scalars = [(k, v) for k, v in obj.properties.items() if isinstance(v, str | int | float)]
        return scalars[:4]
    return []


def contact_timeline(
    *,
    contact: Contact,
    kinds: Sequence[str] = TIMELINE_KINDS,
    before: TimelineCursor | datetime | None = None,
    limit: int = PAGE_SIZE,
) -> Timeline:
    """Events, sessions, orders and refunds of one contact, newest first, in one list.

    One query per kind, each taking at most limit + 1 rows older than the cursor through
    its (contact, time) index; merged here and cut to `limit`. Rows cut off sort after the
    last kept item, so the next page, read from that item's cursor, finds them again."""
    items: list[TimelineItem] = []
    for kind, (rows, at_field) in _timeline_sources(contact).items():
        if kind not in kinds:
            continue
        if before is not None:
            rows = rows.filter(_older_than(kind, at_field, before))
        for obj in rows.order_by(f"-{at_field}", "-pk")[: limit + 1]:
            items.append(TimelineItem(kind, getattr(obj, at_field), obj, _details(kind, obj)))
    items.sort(key=lambda item: item.sort_key, reverse=True)
    if len(items) <= limit:
        return Timeline(items, None)
    return Timeline(items[:limit], items[limit - 1].cursor)
