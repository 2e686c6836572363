"""Reads for the contact pages: the filtered list (keyset pages and CSV export) and one
contact's record and timeline. Each function runs a fixed number of queries, however many
contacts, events or orders there are."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Exists, F, Func, Model, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.text import Truncator

from growth.formats.localized import local_datetime
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
    StageChange,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

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


# --- Contact search ---------------------------------------------------------------------
#
# "Every word is contained in the name, e-mail or phone" is answered by the trigram index
# over SEARCH_TEXT. At a million contacts two things make it slow, and the planner sees
# neither (it costs the text expression per row at almost nothing):
#
# 1. A trigram nearly every contact has ("com" of ".com", or "las"/"ast" when everyone is
#    called Last-something) makes the index read a list as long as the table: 15-20 ms for a
#    word whose other trigrams are rare. Such dense trigrams are left out of the index
#    condition when the word has rarer ones.
# 2. With ORDER BY created_at LIMIT 51 the planner likes to walk the created_at index and
#    test every row, which is right when 1 contact in 100 matches and takes half a second
#    when 1 in 5,000 does: its estimate comes from the same 1-in-1,000 sample as ours, too
#    coarse to tell those apart. A rare word is therefore read from the trigram index and
#    sorted (see `_index_walk_off`); a common one is left to the planner.
#
# Both use the sample ANALYZE keeps of the index expression (pg_stats, 1,000 values: see
# migration 0009). Whatever is decided, the whole word is still tested on every row found,
# so the rows are exactly those of `search LIKE '%word%'`; only the plan changes.
DENSE_SHARE = 0.05  # a trigram in more of the contacts than this is dense
COMMON_SHARE = 0.005  # a word in more of the contacts than this is common: walk the sort index
SAMPLE_TTL = 600.0  # seconds a process keeps the sample (ANALYZE refreshes it)
MIN_SAMPLE = 100
_SAMPLE_SQL = """
    SELECT most_common_vals::text::text[], most_common_freqs, histogram_bounds::text::text[]
    FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'contact_search_trgm'
"""


class SearchText(Func):
    """SEARCH_TEXT (leads.models.contacts), the expression the trigram index is built on,
    written out in one pass. Django builds Concat through nested, copied ConcatPairs: 1-2 ms
    of Python per use, and a search uses it twice. The SQL is the same text, so the index
    still answers it; tests/leads/test_contact_pages.py compares the two."""

    output_field = TextField()
    # COALESCE(a, '') || COALESCE(' ' || COALESCE(b, '') || … ), as ConcatPair nests it.
    template = (
        "LOWER((COALESCE({0}, %s) || COALESCE((COALESCE(%s, %s) || COALESCE((COALESCE({1}, %s)"
        " || COALESCE((COALESCE(%s, %s) || COALESCE((COALESCE({2}, %s) || COALESCE((COALESCE("
        "%s, %s) || COALESCE({3}, %s)), %s)), %s)), %s)), %s)), %s)))"
    )
    params = ("", " ", "", "", " ", "", "", " ", "", "", "", "", "", "", "")

    def __init__(self) -> None:
        super().__init__(F("first_name"), F("last_name"), F("email"), F("phone"))

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        columns = []
        for expression in self.get_source_expressions():
            sql, params = compiler.compile(expression)
            assert not params  # plain columns
            columns.append(sql)
        return self.template.format(*columns), self.params


def _trigrams(text: str) -> set[str]:
    """The unpadded trigrams pg_trgm indexes for `text`: three characters within a word."""
    return {w[i : i + 3] for w in re.findall(r"[^\W_]+", text) for i in range(len(w) - 2)}


@dataclass(frozen=True)
class SearchSample:
    """Search texts standing for all contacts, each with the share of contacts it stands for."""

    texts: tuple[tuple[str, float], ...] = ()
    dense: frozenset[str] = frozenset()
    _shares: dict[tuple[str, ...], float] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_stats(cls, common: list[str], freqs: list[float], bounds: list[str]) -> SearchSample:
        rest = (1.0 - sum(freqs)) / len(bounds) if bounds else 0.0
        texts = tuple(zip(common, freqs, strict=False)) + tuple((b, rest) for b in bounds)
        shares: dict[str, float] = {}
        for text, weight in texts:
            for gram in _trigrams(text):
                shares[gram] = shares.get(gram, 0.0) + weight
        return cls(texts, frozenset(g for g, share in shares.items() if share > DENSE_SHARE))

    def share(self, *parts: str) -> float:
        """Estimated share of contacts whose search text contains every one of `parts`."""
        if parts not in self._shares:  # a few per search, each a pass over the sample
            first, *others = parts
            self._shares[parts] = sum(
                weight
                for text, weight in self.texts
                if first in text and all(p in text for p in others)
            )
        return self._shares[parts]

    def is_rare(self, word: str) -> bool:
        return bool(self.texts) and self.share(word) < COMMON_SHARE

    def index_parts(self, word: str) -> list[str]:
        """What to look `word` up by in the trigram index: its longest pieces without a
        dense trigram ("last4321" with "las", "ast", "st4" dense: ["t4321"]), or the word
        itself when those pieces are missing or are not rare enough to narrow much."""
        if not word.isalnum() or not self.dense & _trigrams(word):
            return [word]
        parts, start = [], None
        for i in range(len(word) - 1):
            sparse = i < len(word) - 2 and word[i : i + 3] not in self.dense
            if sparse and start is None:
                start = i
            elif not sparse and start is not None:
                parts.append(word[start : i + 2])
                start = None
        return parts if parts and self.share(*parts) < COMMON_SHARE else [word]


_sample: tuple[float, SearchSample] = (float("-inf"), SearchSample())


def search_sample() -> SearchSample:
    """This process's copy of the search index's statistics. Empty without them (a new or
    small table, or no trigram index: pg_trgm missing), which leaves every search as it is."""
    global _sample
    read_at, sample = _sample
    if time.monotonic() - read_at < SAMPLE_TTL:
        return sample
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLE_SQL)
        row = cursor.fetchone()
    common, freqs, bounds = row or (None, None, None)
    sample = SearchSample()
    if bounds and len(bounds) >= MIN_SAMPLE:  # fewer: a table too small to need any of this
        sample = SearchSample.from_stats(common or [], freqs or [], bounds)
    _sample = (time.monotonic(), sample)
    return sample


def _search_words(q: str) -> list[str]:
    """What a search is made of: [] for none, the address for an e-mail search, else the words
    that must all be contained (a phone typed any way is its digits)."""
    q = q.strip().lower()
    if "@" in q or not q:
        return [q] if q else []
    if PHONE_LIKE.match(q) and sum(ch.isdigit() for ch in q) >= 3:
        # Phones are stored as E.164 digits; "(555) 123-4567" should find "+15551234567".
        return [re.sub(r"\D", "", q)]
    # Every word must appear somewhere in the name, e-mail or phone: "ada love" finds Ada Lovelace.
    return q.split()


def _search_is_rare(q: str) -> bool:
    words = _search_words(q)
    if not words or "@" in words[0]:
        return False
    sample = search_sample()
    return any(sample.is_rare(word) for word in words)


def _search(contacts: QuerySet[Contact], q: str) -> QuerySet[Contact]:
    words = _search_words(q)
    if not words:
        return contacts
    if "@" in words[0]:
        # An address typed in full or in part: a prefix of the stored e-mail, which the
        # Lower(email) pattern index answers as a range, however common the domain.
        return contacts.alias(email_ci=Lower("email")).filter(email_ci__startswith=words[0])
    contacts = contacts.alias(search=SearchText())
    sample = search_sample()
    if not any(sample.is_rare(word) for word in words):
        for word in words:
            contacts = contacts.filter(search__contains=word)
        return contacts
    for word in words:
        # Rare words narrow through the index; common ones are only tested on what they find.
        parts = sample.index_parts(word) if sample.is_rare(word) else []
        for part in parts:
            contacts = contacts.filter(search__contains=part)
        if parts != [word]:
            contacts = contacts.filter(GreaterThan(StrIndex(SearchText(), Value(word)), 0))
    return contacts


@contextmanager
def _index_walk_off(off: bool) -> Iterator[None]:
    """Within the block, PostgreSQL reads no index in order (no Index Scan, so no walking
    the sort index testing every row); bitmap scans still serve every other condition."""
    if not off:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        yield


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


LIST_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "lifecycle_stage",
    "score",
    "source_channel",
    "created_at",
    "last_seen_at",
)


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
    # The columns a list row shows (and the sort keys): the JSON documents stay unread.
    contacts = contact_list(filters=filters).only(*LIST_COLUMNS)
    with _index_walk_off(_search_is_rare(filters.q)):
        for segment in _segments(contacts, sort, descending, cursor):
            rows += segment[: size + 1 - len(rows)]
            if len(rows) > size:
                break
    if len(rows) <= size:
        return ContactPage(rows, None)
    last = rows[size - 1]
    return ContactPage(rows[:size], _cursor_encode(getattr(last, SORT_FIELDS[sort][0]), last.pk))


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
TIMELINE_KINDS = ("events", "sessions", "orders", "refunds", "stages")


def timeline_kinds() -> tuple[str, ...]:
    """The kinds of leads, then those other apps registered (`leads.timeline`)."""
    from leads import timeline

    return TIMELINE_KINDS + tuple(source.kind for source in timeline.registered())


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
        return cursor if kind in timeline_kinds() and cursor.at.tzinfo else None


@dataclass(frozen=True)
class TimelineItem:
    kind: str
    at: datetime
    obj: Model
    details: list[tuple[str, Any]] = field(default_factory=list)
    template: str = ""  # a kind another app registered draws itself

    @property
    def cursor(self) -> TimelineCursor:
        return TimelineCursor(self.at, self.kind, self.obj.pk)

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, timeline_kinds().index(self.kind), self.obj.pk)

    # Printed by the template as they are: cheaper than its date filter, 50 times a page.
    @property
    def iso(self) -> str:
        return timezone.localtime(self.at).isoformat()

    @property
    def minute(self) -> str:
        return local_datetime(self.at)


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
        "stages": (StageChange.objects.filter(contact=contact), "at"),
        **{s.kind: (s.rows(contact.pk), s.at_field) for s in _registered_timeline()},
    }


def _registered_timeline() -> list[Any]:
    from leads import timeline

    return timeline.registered()


def _older_than(kind: str, at_field: str, before: TimelineCursor | datetime) -> Q:
    if isinstance(before, datetime):
        return Q(**{f"{at_field}__lt": before})
    kinds = timeline_kinds()
    rank, cursor_rank = kinds.index(kind), kinds.index(before.kind)
    if rank < cursor_rank:  # sorts below the cursor kind at the same instant
        return Q(**{f"{at_field}__lte": before.at})
    if rank > cursor_rank:
        return Q(**{f"{at_field}__lt": before.at})
    return Q(**{f"{at_field}__lte": before.at}) & (
        Q(**{f"{at_field}__lt": before.at}) | Q(**{at_field: before.at, "pk__lt": before.pk})
    )


def _details(kind: str, obj: Any) -> list[tuple[str, Any]]:
    """A few scalar facts worth a glance, cut to 80 characters; the template labels the fixed
    fields itself."""
    if kind == "events":
        scalars = [(k, v) for k, v in obj.properties.items() if isinstance(v, str | int | float)]
        return [
            (k, v if len(str(v)) <= 80 else Truncator(str(v)).chars(80)) for k, v in scalars[:4]
        ]
    return []


def contact_timeline(
    *,
    contact: Contact,
    kinds: Sequence[str] | None = None,
    before: TimelineCursor | datetime | None = None,
    limit: int = PAGE_SIZE,
) -> Timeline:
    """Events, sessions, orders, refunds and stage changes of one contact (and the kinds
    other apps registered, such as sales touches), newest first, in one list.

    Two steps, however many kinds there are: one UNION ALL reads (kind, id, time) of at most
    limit + 1 rows per kind older than the cursor, each through its (contact, time) index;
    those are merged here and cut to `limit`; then each kind on the page is read whole by id.
    A contact with events only costs 2 queries instead of one per kind. Rows cut off sort
    after the last kept item, so the next page, read from that item's cursor, finds them."""
    kinds = kinds or timeline_kinds()
    sources = {k: v for k, v in _timeline_sources(contact).items() if k in kinds}
    heads = []
    for kind, (rows, at_field) in sources.items():
        if before is not None:
            rows = rows.filter(_older_than(kind, at_field, before))
        heads.append(
            rows.annotate(timeline_kind=Value(kind), timeline_at=F(at_field))
            .order_by("-timeline_at", "-pk")
            .values_list("timeline_kind", "pk", "timeline_at")[: limit + 1]
        )
    if not heads:
        return Timeline([], None)
    found = list(heads[0].union(*heads[1:], all=True)) if len(heads) > 1 else list(heads[0])
    order = timeline_kinds()
    found.sort(key=lambda row: (row[2], order.index(row[0]), row[1]), reverse=True)
    page = found[:limit]
    objects = {
        kind: sources[kind][0].in_bulk([pk for k, pk, _at in page if k == kind])
        for kind in {k for k, _pk, _at in page}
    }
    templates = {source.kind: source.template for source in _registered_timeline()}
    items = [
        TimelineItem(kind, at, obj, _details(kind, obj), templates.get(kind, ""))
        for kind, pk, at in page
        if (obj := objects[kind].get(pk)) is not None  # gone since the first read
    ]
    if len(found) <= limit:
        return Timeline(items, None)
    kind, pk, at = page[-1]
    return Timeline(items, TimelineCursor(at, kind, pk))
