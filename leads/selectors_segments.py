"""Reads for the segment pages: the list with growth, the live preview, members (with the
contact list's filters, keyset pages and CSV export), enter/exit history, a contact's
segments and "why is this contact in it?"."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from leads.models import Contact, Order, Segment, SegmentMembership
from leads.selectors import EXPORT_COLUMNS, LIST_COLUMNS, ContactFilters, contact_list
from leads.services.segment_rules import (
    PAID_STATUSES,
    Context,
    Scope,
    condition_text,
    conditions_explain_sql,
    matching_sql,
    rules_describe,
    walk,
)

PAGE_SIZE = 50
SAMPLE_SIZE = 10
GROWTH_DAYS = 7
# A preview is interactive: past this it answers "too slow" instead of holding a connection.
PREVIEW_TIMEOUT_MS = 10_000

# --- List -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    entered: int  # in the last GROWTH_DAYS days
    exited: int

    @property
    def growth(self) -> int:
        return self.entered - self.exited


def segment_list(*, kinds: list[str] | None = None) -> list[SegmentRow]:
    """Every segment of these kinds with its growth over the last week: two queries."""
    segments = Segment.objects.all().order_by("kind", "name", "pk")
    if kinds:
        segments = segments.filter(kind__in=kinds)
    since = timezone.now() - timedelta(days=GROWTH_DAYS)
    ids = [s.pk for s in segments]
    moves: dict[int, tuple[int, int]] = {}
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT s.id,
                    (SELECT count(*) FROM leads_segmentmembership m
                     WHERE m.segment_id = s.id AND m.entered_at >= %s),
                    (SELECT count(*) FROM leads_segmentmembership m
                     WHERE m.segment_id = s.id AND m.exited_at >= %s)
                FROM unnest(%s::bigint[]) AS s(id)
                """,
                [since, since, ids],
            )
            moves = {pk: (entered, exited) for pk, entered, exited in cursor.fetchall()}
    return [SegmentRow(s, *moves.get(s.pk, (0, 0))) for s in segments]


# --- Preview ----------------------------------------------------------------------------------


@dataclass
class Preview:
    count: int = 0
    sample: list[Contact] = field(default_factory=list)
    timed_out: bool = False
    milliseconds: int = 0


def segment_preview(*, rules: dict[str, Any], now: datetime | None = None) -> Preview:
    """How many live contacts match these (cleaned) rules now, and the newest ten of them.
    Reads only, under a statement timeout: one query for both, one for the ten's rows."""
    ctx = Context(now=now or timezone.now())
    match = matching_sql(rules, ctx)
    started = timezone.now()
    preview = Preview()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # JIT compiling these plans costs 0.1-0.3 s, more than it saves on a count.
            cursor.execute(
                "SELECT current_setting('statement_timeout'), current_setting('jit'), "
                "set_config('statement_timeout', %s, true), set_config('jit', 'off', true)",
                [str(PREVIEW_TIMEOUT_MS)],
            )
            before, jit = cursor.fetchone()[:2]
            # The rules are evaluated once: counting and picking the newest ten read the
            # same materialized ids (a separate ORDER BY id DESC LIMIT tempts the planner
            # into probing contacts one by one from the newest).
            cursor.execute(
                f"WITH m AS MATERIALIZED ({match.text}) "  # noqa: S608
                "SELECT (SELECT count(*) FROM m), "
                "ARRAY(SELECT id FROM m ORDER BY id DESC LIMIT %s)",
                [*match.params, SAMPLE_SIZE],
            )
            preview.count, ids = cursor.fetchone()
            cursor.execute(
                "SELECT set_config('statement_timeout', %s, true), set_config('jit', %s, true)",
                [before, jit],
            )
    except Exception as error:  # only the timeout is expected; the rest is re-raised
        if "statement timeout" not in str(error):
            raise
        preview.timed_out = True
        return preview
    contacts = Contact.objects.only(*LIST_COLUMNS).in_bulk(ids)
    preview.sample = [contacts[pk] for pk in ids if pk in contacts]
    preview.milliseconds = int((timezone.now() - started).total_seconds() * 1000)
    return preview


def segment_matching_ids(*, rules: dict[str, Any], now: datetime | None = None) -> set[int]:
    """Every live contact matching the rules (tests and small checks)."""
    match = matching_sql(rules, Context(now=now or timezone.now()))
    with connection.cursor() as cursor:
        cursor.execute(match.text, match.params)
        return {row[0] for row in cursor.fetchall()}


# --- Members ----------------------------------------------------------------------------------


def _current(segment: Segment) -> Q:
    return Q(
        Exists(
            SegmentMembership.objects.filter(
                segment=segment, contact=OuterRef("pk"), exited_at__isnull=True
            )
        )
    )


def segment_members(*, segment: Segment, filters: ContactFilters) -> QuerySet[Contact]:
    """The segment's current members that the contact list's filters keep."""
    return contact_list(filters=filters).filter(_current(segment))


MEMBER_SORTS = {"created": "created_at", "score": "score"}


@dataclass(frozen=True)
class MemberPage:
    contacts: list[Contact]
    next_cursor: str | None


def _encode(value: Any, pk: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str, sort: str) -> tuple[Any, int] | None:
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if sort == "created":
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int):
            return None
        if not isinstance(pk, int):
            return None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return value, pk


def _ordered(
    contacts: QuerySet[Contact], sort: str, descending: bool, cursor: tuple[Any, int] | None
) -> QuerySet[Contact]:
    name = MEMBER_SORTS[sort]
    sign, beyond = ("-", "lt") if descending else ("", "gt")
    if cursor is not None:
        value, pk = cursor
        contacts = contacts.filter(
            Q(**{f"{name}__{beyond}": value}) | Q(**{name: value, f"id__{beyond}": pk})
        )
    return contacts.order_by(f"{sign}{name}", f"{sign}id")


def segment_member_page(
    *,
    segment: Segment,
    filters: ContactFilters,
    sort: str = "created",
    descending: bool = True,
    after: str = "",
    size: int = PAGE_SIZE,
) -> MemberPage:
    """One keyset page of members (never an OFFSET): one query."""
    sort = sort if sort in MEMBER_SORTS else "created"
    cursor = _decode(after, sort) if after else None
    contacts = segment_members(segment=segment, filters=filters).only(*LIST_COLUMNS)
    rows = list(_ordered(contacts, sort, descending, cursor)[: size + 1])
    if len(rows) > size:
        last = rows[size - 1]
        return MemberPage(rows[:size], _encode(getattr(last, MEMBER_SORTS[sort]), last.pk))
    return MemberPage(rows, None)


def segment_member_export_rows(
    *, segment: Segment, filters: ContactFilters, sort: str = "created", descending: bool = True
) -> Iterator[tuple[Any, ...]]:
    """Every member the filters keep, in page order, through a server-side cursor."""
    sort = sort if sort in MEMBER_SORTS else "created"
    contacts = _ordered(segment_members(segment=segment, filters=filters), sort, descending, None)
    yield from contacts.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000)


def contact_count(*, filters: ContactFilters) -> int:
    """How many contacts the contact list shows for these filters."""
    return contact_list(filters=filters).count()


# --- History ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    at: datetime
    entered: bool
    contact_id: int
    name: str
    via: str


def segment_history(*, segment: Segment, limit: int = 30) -> list[Move]:
    """The latest entries and exits, newest first: two index reads, one query each."""
    entries = (
        SegmentMembership.objects.filter(segment=segment)
        .select_related("contact")
        .only(
            "entered_at",
            "via",
            "contact__first_name",
            "contact__last_name",
            "contact__email",
            "contact__phone",
        )
        .order_by("-entered_at")[:limit]
    )
    exits = (
        SegmentMembership.objects.filter(segment=segment, exited_at__isnull=False)
        .select_related("contact")
        .only(
            "exited_at",
            "via",
            "contact__first_name",
            "contact__last_name",
            "contact__email",
            "contact__phone",
        )
        .order_by("-exited_at")[:limit]
    )
    moves = [
        Move(m.entered_at, True, m.contact_id, m.contact.display_name, m.get_via_display())
        for m in entries
    ]
    moves += [
        Move(m.exited_at, False, m.contact_id, m.contact.display_name, m.get_via_display())
        for m in exits
        if m.exited_at
    ]
    moves.sort(key=lambda move: (move.at, move.entered), reverse=True)
    return moves[:limit]


# --- One contact --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSegments:
    memberships: list[SegmentMembership]
    lists: list[Segment]  # static lists the contact is not in, to add it to


def contact_segments(*, contact: Contact) -> ContactSegments:
    """The contact's current segments, and the static lists it could be added to."""
    memberships = list(
        SegmentMembership.objects.filter(contact=contact, exited_at__isnull=True)
        .select_related("segment")
        .order_by("segment__kind", "segment__name")
    )
    inside = {m.segment_id for m in memberships}
    lists = [
        s
        for s in Segment.objects.filter(kind=Segment.Kind.STATIC)
        .order_by("name")
        .only("pk", "name")
        if s.pk not in inside
    ]
    return ContactSegments(memberships, lists)


def contact_explain(*, segment: Segment, contact_id: int) -> list[tuple[str, bool]]:
    """Per condition of a rule-based segment, whether it holds for this contact now."""
    if not segment.rules:
        return []
    _paths, sql = conditions_explain_sql(
        segment.rules, Context(now=timezone.now(), scope=Scope.of([contact_id]))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        row = cursor.fetchone()
    if row is None:
        return []
    conditions = [c for _path, c in walk(segment.rules)]
    return [(condition_text(c), bool(held)) for c, held in zip(conditions, row[1:], strict=True)]


# --- Personas -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonaRow:
    segment: Segment
    customers: int  # members with a paid order

    @property
    def rules_text(self) -> str:
        return rules_describe(self.segment.rules) if self.segment.rules else ""

    @property
    def conversion(self) -> float | None:
        if not self.segment.member_count:
            return None
        return 100.0 * self.customers / self.segment.member_count


def persona_list() -> list[PersonaRow]:
    """Personas with their size and conversion (members who bought): two queries."""
    personas = list(Segment.objects.filter(kind=Segment.Kind.PERSONA).order_by("name"))
    paid = Order.objects.filter(contact=OuterRef("contact"), status__in=PAID_STATUSES)
    customers = dict(
        SegmentMembership.objects.filter(segment__in=personas, exited_at__isnull=True)
        .filter(Exists(paid))
        .values("segment")
        .annotate(n=Count("id"))
        .values_list("segment", "n")
    )
    return [PersonaRow(p, customers.get(p.pk, 0)) for p in personas]
