"""Writes of the CSV import: upload, start, resume, and the chunked load.

The load reads the stored file from `rows_done` on, validates rows in Python, and writes
each chunk with set-based SQL in ONE transaction: the valid rows, deduplicated, are COPYed
into a temporary table, matched to contacts through their identities, inserted or updated,
their identities and e-mail consent written, the lifecycle stages a stage column names
applied (each move a `StageChange` caused by the import, announced by `stage_changed` on
commit), and the import's counts and cursor moved. A worker killed mid-chunk therefore
leaves the cursor at the last whole chunk, and the re-delivered task resumes there without
doubling anything.

Speed (bench/README.md, scenario `csv-import`): nearly all of a chunk's time is the writes
themselves (the rows and index entries of contacts, identities and consent, and the checks
of their foreign keys at commit), so the load keeps everything else small: one Python pass
per row, one COPY, one pass over the temporary table to match and number the rows, and
chunks large enough that the per-chunk statements do not matter.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from json.encoder import encode_basestring
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from leads import signals
from leads.csv_import import order_rows, parsing
from leads.models import Consent, Contact, ContactImport, ImportRowError, Source, StageChange
from leads.services.identity import contact_resolve, contact_save_changes
from leads.services.lifecycle import StageMove, stage_changes_apply
from leads.services.orders import order_upsert
from leads.services.reactions import batch_react

logger = logging.getLogger(__name__)

Status = ContactImport.Status
# Rows per transaction. Larger chunks spend less on the per-chunk statements; each one holds
# its new identities' locks (a webhook for the same person waits) for a second or two.
CHUNK_ROWS = 20_000
# Orders are loaded an order at a time through the ORM: smaller chunks keep each transaction
# (and the time between two time-budget checks) short.
ORDER_CHUNK_ROWS = 5_000
# A run hands over to a fresh task after this long, well inside Celery's time limits.
TIME_BUDGET_SECONDS = 120.0
# A running import that has not moved for this long lost its worker; it may be resumed.
STALLED_AFTER_SECONDS = 600
IMPORT_SOURCE_SLUG = "csv-import"
CONSENT_SOURCE = "import"


# --- Upload, start, resume ---------------------------------------------------------------------


@transaction.atomic
def contact_import_create(
    *, filename: str, data: bytes, uploaded_by: Any, kind: str = ContactImport.Kind.CONTACTS
) -> ContactImport:
    """Store an uploaded CSV, raw, once it is known to be readable. Nothing else happens."""
    described = parsing.read_file(data)
    return ContactImport.objects.create(
        kind=kind,
        file=data,
        filename=filename[:255],
        size=len(data),
        uploaded_by=uploaded_by,
        encoding=described.encoding,
        delimiter=described.delimiter,
        header=described.header,
        sample=described.sample,
        mapping=parsing.guess_mapping(described.header, kind),
        rows_total=described.rows_total,
    )


def _locked(contact_import: ContactImport) -> ContactImport:
    return ContactImport.objects.select_for_update().defer("file").get(pk=contact_import.pk)


def _enqueue(import_id: int) -> None:
    """Queue the load once the surrounding transaction commits."""
    transaction.on_commit(lambda: _send_task(import_id))


def _send_task(import_id: int) -> None:
    from leads.csv_import.tasks import contact_import_run  # the task calls back into here

    try:
        contact_import_run.delay(import_id)
    except Exception:  # the broker is down: say so on the page, and let the user resume
        logger.warning("could not enqueue contact import %s", import_id, exc_info=True)
        ContactImport.objects.filter(pk=import_id).update(
            status=Status.FAILED,
            error=_(
                "The import could not be queued: the task queue did not answer. Resume it in a moment."
            ),
            updated_at=timezone.now(),
        )


@transaction.atomic
def contact_import_start(
    *, contact_import: ContactImport, mapping: dict[str, str]
) -> ContactImport:
    """Fix the mapping and queue the load. ValidationError lists what to change."""
    locked = _locked(contact_import)
    if locked.status != Status.UPLOADED:
        raise ValidationError(_("This import has already been started."), code="started")
    errors = parsing.mapping_errors(locked.header, mapping, locked.kind)
    if errors:
        raise ValidationError(errors, code="mapping")
    locked.mapping = {column: mapping[column] for column in locked.header}
    locked.status = Status.MAPPED
    locked.save(update_fields=["mapping", "status", "updated_at"])
    _enqueue(locked.pk)
    return locked


def contact_import_resumable(contact_import: ContactImport) -> bool:
    """Failed, or running without progress for so long that its worker must be gone."""
    if contact_import.status == Status.FAILED:
        return True
    stalled_since = timezone.now().timestamp() - STALLED_AFTER_SECONDS
    return (
        contact_import.status == Status.RUNNING
        and contact_import.updated_at.timestamp() < stalled_since
    )


@transaction.atomic
def contact_import_resume(*, contact_import: ContactImport) -> ContactImport:
    """Queue the load again; it carries on from the last whole chunk."""
    locked = _locked(contact_import)
    if not contact_import_resumable(locked):
        raise ValidationError(_("This import is not stopped, so it cannot be resumed."))
    locked.status, locked.error = Status.MAPPED, ""
    locked.save(update_fields=["status", "error", "updated_at"])
    _enqueue(locked.pk)
    return locked


# --- The load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # the import's status afterwards, or "superseded" / "ignored"
    chunks: int


def contact_import_process(
    *, import_id: int, max_chunks: int | None = None, time_budget: float | None = None
) -> Outcome:
    """Load an import chunk by chunk from its cursor. Safe to call again at any point.

    Stops after `max_chunks` (tests) or when the time budget is spent, handing over to a
    fresh task then, so a large file never meets Celery's time limit.
    """
    budget = TIME_BUDGET_SECONDS if time_budget is None else time_budget
    with transaction.atomic():
        contact_import = ContactImport.objects.select_for_update().defer("file").get(pk=import_id)
        if contact_import.status not in (Status.MAPPED, Status.RUNNING):
            return Outcome("ignored", 0)  # done, failed, or not mapped yet
        if contact_import.status == Status.MAPPED:
            contact_import.status = Status.RUNNING
            contact_import.started_at = contact_import.started_at or timezone.now()
            contact_import.save(update_fields=["status", "started_at", "updated_at"])

    chunks = 0
    try:
        loader: _FileCursor[Any] = (
            _OrderLoader(contact_import)
            if contact_import.kind == ContactImport.Kind.ORDERS
            else _Loader(contact_import)
        )
        started = time.monotonic()
        for batch in loader.batches():
            if not loader.load(batch):
                return Outcome("superseded", chunks)  # another worker is ahead of us
            chunks += 1
            if loader.finished:
                break
            if (max_chunks is not None and chunks >= max_chunks) or (
                time.monotonic() - started > budget
            ):
                if max_chunks is None:
                    _enqueue(import_id)
                return Outcome(Status.RUNNING, chunks)
        ContactImport.objects.filter(pk=import_id, status=Status.RUNNING).update(
            status=Status.DONE, finished_at=timezone.now(), updated_at=timezone.now()
        )
        return Outcome(Status.DONE, chunks)
    except Exception as error:
        logger.exception("contact import %s failed", import_id)
        ContactImport.objects.filter(pk=import_id).update(
            status=Status.FAILED,
            error=_("The import stopped at row %(row)s: %(error)s")
            % {"row": _row_of(import_id), "error": error},
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return Outcome(Status.FAILED, chunks)


def _row_of(import_id: int) -> int:
    done = ContactImport.objects.filter(pk=import_id).values_list("rows_done", flat=True).first()
    return (done or 0) + 2  # the first row not loaded, as a spreadsheet numbers it


def _import_source() -> Source:
    source, _created = Source.objects.get_or_create(
        slug=IMPORT_SOURCE_SLUG,
        defaults={"name": "CSV import", "kind": Source.Kind.IMPORT},
    )
    return source


# Columns of the temporary table, in COPY order.
TMP_COLUMNS = (
    "row_no",
    *parsing.FIELDS,
    "consent",
    "consent_raw",
    "properties",
    "stage",
)
CREATE_TMP = f"""
CREATE TEMP TABLE tmp_import (
    row_no integer NOT NULL,
    {", ".join(f"{name} text" for name in parsing.FIELDS)},
    consent text,
    consent_raw text,
    properties jsonb,
    stage text,
    contact_id bigint,
    is_new boolean NOT NULL DEFAULT false
) ON COMMIT DROP
"""
# The chunk's commit need not wait for its WAL to reach the disk: the rows and the cursor
# commit together, so a database crash that lost the last chunks loses both, and the resume
# loads those chunks again. A chunk's sorts fit in memory.
CHUNK_SETTINGS = "SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '32MB'"
# Each row finds its contact by e-mail, else by phone; a row that finds none is numbered for
# a new contact. One pass, one index probe per key. (Statements reach big tables only through
# per-row subqueries or `= ANY(ARRAY(...))`, so each chunk reads its own rows by index
# whatever the planner's statistics say: a hash join over all contacts per chunk would make a
# large import quadratic.)
MATCH = """
UPDATE tmp_import t SET (contact_id, is_new) = (
    SELECT COALESCE(found, nextval(%(sequence)s::regclass)), found IS NULL FROM (
        SELECT COALESCE(
            (SELECT i.contact_id FROM leads_identity i
             WHERE i.kind = 'email' AND i.value = t.email),
            (SELECT i.contact_id FROM leads_identity i
             WHERE i.kind = 'phone' AND i.value = t.phone)
        ) AS found
        OFFSET 0  -- not inlined, so each probe runs once per row, not once per use
    ) matched
)
"""
# E-mails first, then phones of rows that have an e-mail: when two new rows share a phone,
# the contact with an e-mail keeps it. A new contact whose every identity went to someone
# else meanwhile (another row of this chunk, or a concurrent writer who committed first) is
# deleted again, and REMATCH makes its row update the contact that owns the identity
# instead: one person stays one contact.
INSERT_IDENTITIES = """
WITH inserted AS (
    INSERT INTO leads_identity (contact_id, kind, value, source_id, created_at)
    SELECT contact_id, kind, value, %(source)s, now() FROM (
        SELECT contact_id, 'email' AS kind, email AS value, 0 AS pass, row_no
        FROM tmp_import WHERE email IS NOT NULL
        UNION ALL
        SELECT contact_id, 'phone', phone, CASE WHEN email IS NULL THEN 2 ELSE 1 END, row_no
        FROM tmp_import WHERE phone IS NOT NULL
    ) keys
    ORDER BY pass, row_no
    ON CONFLICT (kind, value) DO NOTHING
    RETURNING contact_id
)
DELETE FROM leads_contact
WHERE id = ANY(ARRAY(
    SELECT contact_id FROM tmp_import WHERE is_new
    EXCEPT SELECT contact_id FROM inserted
))
RETURNING id
"""
REMATCH = """
UPDATE tmp_import t SET is_new = false, contact_id = COALESCE(
    (SELECT i.contact_id FROM leads_identity i WHERE i.kind = 'email' AND i.value = t.email),
    (SELECT i.contact_id FROM leads_identity i WHERE i.kind = 'phone' AND i.value = t.phone)
)
WHERE t.contact_id = ANY(%(removed)s)
"""
# Two rows that found the same existing contact (one by e-mail, one by phone): the last wins.
DEDUPE_CONTACTS = """
DELETE FROM tmp_import WHERE row_no IN (
    SELECT row_no FROM (
        SELECT row_no, row_number() OVER (PARTITION BY contact_id ORDER BY row_no DESC) AS n
        FROM tmp_import WHERE contact_id IS NOT NULL AND NOT is_new
    ) ranked WHERE n > 1
)
"""
# The rows that name a stage, one per contact (duplicates were deleted above), file order.
STAGE_ROWS = """
SELECT contact_id, stage, row_no FROM tmp_import
WHERE stage IS NOT NULL AND contact_id IS NOT NULL
ORDER BY row_no
"""
# Existing contacts: blank fields are filled, filled ones kept; existing properties win.
# A contact the row adds nothing to is not written at all.
# (S608: the column names come from code, every value is bound.)
UPDATE_CONTACTS = f"""
UPDATE leads_contact c SET
    {", ".join(f"{name} = CASE WHEN c.{name} = '' THEN COALESCE(t.{name}, '') ELSE c.{name} END" for name in parsing.FIELDS)},
    properties = COALESCE(t.properties, '{{}}'::jsonb) || c.properties,
    updated_at = now()
FROM tmp_import t
WHERE c.id = ANY(ARRAY(SELECT contact_id FROM tmp_import WHERE NOT is_new AND contact_id IS NOT NULL))
  AND c.id = t.contact_id AND NOT t.is_new AND (
    {" OR ".join(f"(c.{name} = '' AND t.{name} IS NOT NULL)" for name in parsing.FIELDS)}
    OR (COALESCE(t.properties, '{{}}'::jsonb) || c.properties) <> c.properties
)
"""  # noqa: S608
# An older statement never overwrites a newer one, and an unchanged one is left alone
# (the same rule as leads.services.consent.consent_set). A contact created in this chunk has
# no consent yet (no other transaction can see it to give it one): a plain insert does.
UPSERT_CONSENT = """
WITH fresh AS (
    INSERT INTO leads_consent (contact_id, channel, status, source, changed_at, proof)
    SELECT contact_id, %(channel)s, consent, %(source)s, %(at)s,
        jsonb_build_object('import_id', %(import_id)s, 'row', row_no, 'value', consent_raw)
    FROM tmp_import
    WHERE is_new AND consent IS NOT NULL
    RETURNING contact_id, status
), known AS (
    INSERT INTO leads_consent (contact_id, channel, status, source, changed_at, proof)
    SELECT DISTINCT ON (contact_id) contact_id, %(channel)s, consent, %(source)s, %(at)s,
        jsonb_build_object('import_id', %(import_id)s, 'row', row_no, 'value', consent_raw)
    FROM tmp_import
    WHERE NOT is_new AND consent IS NOT NULL AND contact_id IS NOT NULL
    ORDER BY contact_id, row_no DESC
    ON CONFLICT (contact_id, channel) DO UPDATE SET
        status = EXCLUDED.status, source = EXCLUDED.source,
        changed_at = EXCLUDED.changed_at, proof = EXCLUDED.proof
    WHERE leads_consent.changed_at < EXCLUDED.changed_at
      AND leads_consent.status <> EXCLUDED.status
    RETURNING contact_id, status
)
SELECT contact_id, status FROM fresh UNION ALL SELECT contact_id, status FROM known
"""
ADVANCE = """
UPDATE leads_contactimport SET
    rows_done = %(rows_done)s,
    created_count = created_count + (SELECT count(*) FROM tmp_import WHERE is_new),
    updated_count = updated_count
        + (SELECT count(*) FROM tmp_import WHERE NOT is_new AND contact_id IS NOT NULL),
    failed_count = failed_count + %(failed)s,
    skipped_count = skipped_count + %(blank)s + %(valid)s
        - (SELECT count(*) FROM tmp_import WHERE contact_id IS NOT NULL),
    updated_at = now()
WHERE id = %(import_id)s
"""


def _insert_contacts_sql() -> tuple[str, list[Any]]:
    """INSERT of the new contacts with every other column at the model's own default, so an
    imported contact looks exactly like one the app created (and a column added later with a
    default needs no change here)."""
    columns, values, params = [], [], []
    for model_field in Contact._meta.concrete_fields:
        name, column = model_field.name, model_field.column
        columns.append(connection.ops.quote_name(str(column)))
        if model_field.primary_key:
            values.append("contact_id")
        elif name in parsing.FIELDS:
            values.append(f"COALESCE({name}, '')")
        elif name == "properties":
            values.append("COALESCE(properties, '{}'::jsonb)")
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            values.append("now()")
        else:
            values.append("%s")
            params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    sql = (
        f"INSERT INTO leads_contact ({', '.join(columns)}) "  # noqa: S608 (model's columns)
        f"SELECT {', '.join(values)} FROM tmp_import WHERE is_new ORDER BY row_no"
    )
    return sql, params


Batch = TypeVar("Batch")


class _FileCursor(ABC, Generic[Batch]):
    """What both loaders share: the stored file, its mapping, and the resume cursor. A
    loader yields its batches from the cursor on and loads them one by one."""

    def __init__(self, contact_import: ContactImport) -> None:
        self.import_id = contact_import.pk
        self.rows_total = contact_import.rows_total
        self.cursor = contact_import.rows_done
        self.encoding, self.delimiter = contact_import.encoding, contact_import.delimiter
        self.plan = parsing.Plan.build(contact_import.header, contact_import.mapping)

    @property
    def finished(self) -> bool:
        return self.cursor >= self.rows_total

    def _rows(self) -> Iterator[list[str]]:
        """The data rows not loaded yet (header and earlier chunks skipped)."""
        data = ContactImport.objects.filter(pk=self.import_id).values_list("file", flat=True).get()
        reader = parsing.records(bytes(data), self.encoding, self.delimiter)
        next(reader, None)  # the header
        deque(islice(reader, self.cursor), maxlen=0)  # what earlier chunks loaded
        return reader

    @abstractmethod
    def batches(self) -> Iterator[Batch]:
        """The batches from the cursor on (each loader knows its own unit)."""

    @abstractmethod
    def load(self, batch: Batch) -> bool:
        """Load one batch in one transaction; False when the cursor moved under us."""


@dataclass(frozen=True)
class _Chunk:
    """One chunk of a contacts file, read and checked, ready for the database."""

    start: int  # the cursor before it
    size: int  # rows of the file it covers
    rows: list[tuple[Any, ...]]  # valid rows as COPYed, one per person
    errors: list[tuple[Any, ...]]  # its row errors as COPYed
    counts: dict[str, int]  # failed, blank and valid rows, for ADVANCE


_END = object()


def _prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """`items`, each one computed in a helper thread while the caller loads the one before.

    Checking a chunk is pure Python; loading one is mostly waiting for the database, which
    releases the GIL: the two overlap. The thread never touches the database, speaks the
    caller's language (row errors are translated as they are found), and stops when the
    caller stops iterating; whatever it raises is raised to the caller.
    """
    handoff: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def hand_over(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            with translation.override(language):
                for item in items:
                    if not hand_over(item):
                        return
        except BaseException as error:  # raised again in the caller
            hand_over(None, error)
        else:
            hand_over(_END)

    threading.Thread(target=produce, name="csv-import-read", daemon=True).start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()


class _Loader(_FileCursor[_Chunk]):
    """Reads one import's file from its cursor and loads it chunk by chunk."""

    def __init__(self, contact_import: ContactImport) -> None:
        super().__init__(contact_import)
        # Consent in the file speaks as of the upload: anything the contact said later wins.
        self.consent_at: datetime = contact_import.created_at
        self.source_id = _import_source().pk
        self.filename = contact_import.filename
        self.insert_contacts = _insert_contacts_sql()
        self.sequence = _contact_id_sequence()

    def batches(self) -> Iterator[_Chunk]:
        return _prefetched(self._chunks(self._rows()))  # the file is read here, in this thread

    def _chunks(self, reader: Iterator[list[str]]) -> Iterator[_Chunk]:
        start = self.cursor
        while batch := list(islice(reader, CHUNK_ROWS)):
            yield self._read(start, batch)
            start += len(batch)

    def _read(self, start: int, batch: list[list[str]]) -> _Chunk:
        """Check a chunk's rows; keep one row per person (the last)."""
        plan, import_id, fields_order = self.plan, self.import_id, parsing.FIELDS
        parse_row = parsing.parse_row
        people: dict[str, tuple[Any, ...]] = {}
        errors: list[tuple[Any, ...]] = []
        failed = blank = valid = 0
        for row_no, cells in enumerate(batch, start=start + 2):  # the header is row 1
            row, problems = parse_row(plan, cells)
            if row is not None:
                valid += 1
                fields = row.fields
                email = fields.get("email")
                # One person is one row: the last row wins for an e-mail, or for a phone on a
                # row without e-mail.
                key = "e:" + email if email else "p:" + fields["phone"]
                people.pop(key, None)  # keeps the rows in file order
                people[key] = (
                    row_no,
                    *map(fields.get, fields_order),
                    row.consent,
                    row.consent_raw or None,
                    _json_object(row.properties) if row.properties else None,
                    row.stage,
                )
            elif problems:
                failed += 1
                errors += [
                    (import_id, row_no, p.column[:255], p.value, p.message[:255]) for p in problems
                ]
            else:
                blank += 1
        counts = {"failed": failed, "blank": blank, "valid": valid}
        return _Chunk(start, len(batch), list(people.values()), errors, counts)

    def load(self, batch: _Chunk) -> bool:
        start = self.cursor
        if batch.start != start:
            return False
        changed: list[tuple[int, str]] = []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT rows_done, status FROM leads_contactimport WHERE id = %s FOR UPDATE",
                [self.import_id],
            )
            rows_done, status = cursor.fetchone()
            if rows_done != start or status != Status.RUNNING:
                return False
            cursor.execute(f"{CHUNK_SETTINGS}; {CREATE_TMP}")
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY tmp_import ({', '.join(TMP_COLUMNS)}) FROM STDIN") as copy:
                for values in batch.rows:
                    copy.write_row(values)
            if batch.errors:
                with raw.copy(
                    'COPY leads_importrowerror (contact_import_id, "row", "column", value, message) '
                    "FROM STDIN"
                ) as copy:
                    for values in batch.errors:
                        copy.write_row(values)
            cursor.execute(MATCH, {"sequence": self.sequence})
            sql, params = self.insert_contacts
            cursor.execute(sql, params)
            cursor.execute(INSERT_IDENTITIES, {"source": self.source_id})
            removed = [contact_id for (contact_id,) in cursor.fetchall()]
            if removed:
                cursor.execute(REMATCH, {"removed": removed})
            cursor.execute(DEDUPE_CONTACTS)
            cursor.execute(UPDATE_CONTACTS)
            cursor.execute(
                UPSERT_CONSENT,
                {
                    "channel": Consent.Channel.EMAIL.value,
                    "source": CONSENT_SOURCE,
                    "at": self.consent_at,
                    "import_id": self.import_id,
                },
            )
            changed = cursor.fetchall()
            if self.plan.has_stage:
                self._move_stages(cursor)
            cursor.execute(
                ADVANCE,
                {"rows_done": start + batch.size, "import_id": self.import_id, **batch.counts},
            )
            cursor.execute(
                "SELECT DISTINCT contact_id FROM tmp_import WHERE contact_id IS NOT NULL"
            )
            touched = [contact_id for (contact_id,) in cursor.fetchall()]
            cursor.execute("DROP TABLE tmp_import")  # now, not at commit: tests nest savepoints
            if changed:
                transaction.on_commit(lambda: _send_consent_changed(changed))
        self.cursor = start + batch.size
        # Imported contacts are scored, staged and put in their segments now, as ingested
        # ones are, not at the next nightly recompute.
        batch_react(contact_ids=touched)
        return True

    def _move_stages(self, cursor: Any) -> None:
        """The stages the chunk's rows name, set-based: one read of the temporary table,
        then `stage_changes_apply` moves them all at once (one statement), records each move
        with the import as its cause and sends `stage_changed` on commit. A contact already
        in the stage its row names is left alone; a row without a stage moves nobody."""
        cursor.execute(STAGE_ROWS)
        # The row first: a long file name is what the cause's 300 characters cut.
        detail = _("row %(row)s of CSV import #%(id)s (%(file)s)")
        names = {"id": self.import_id, "file": self.filename}
        moves = [
            StageMove(
                contact_id=contact_id,
                to_stage=stage,
                cause_kind=StageChange.Cause.IMPORT,
                detail=detail % {**names, "row": row_no},
            )
            for contact_id, stage, row_no in cursor.fetchall()
        ]
        stage_changes_apply(moves=moves)


def _json_object(properties: dict[str, str]) -> str:
    """The properties as a JSON object (strings only): what json.dumps writes, minus its
    per-call overhead, which shows on a million rows."""
    return (
        "{"
        + ",".join(
            [f"{encode_basestring(k)}:{encode_basestring(v)}" for k, v in properties.items()]
        )
        + "}"
    )


def _contact_id_sequence() -> str:
    """The sequence behind Contact.id, looked up once per run rather than once per row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [Contact._meta.db_table, Contact._meta.pk.column],
        )
        return str(cursor.fetchone()[0])


def _send_consent_changed(changed: list[tuple[int, str]]) -> None:
    for contact_id, status in changed:
        signals.consent_changed.send(
            sender=Consent, contact_id=contact_id, channel=Consent.Channel.EMAIL, status=status
        )


class _OrderLoader(_FileCursor[list[list[str]]]):
    """Reads one orders import from its cursor and loads it chunk by chunk, one transaction
    per chunk, an order at a time (orders are far fewer than contacts; the ORM will do).

    A chunk is extended to the end of the order it stops in, so an order never straddles
    two chunks and the cursor always sits on an order boundary.
    """

    def __init__(self, contact_import: ContactImport) -> None:
        super().__init__(contact_import)
        # The file speaks as of the upload: a later upload of the same orders updates them,
        # a repeat within this import does not.
        self.updated_at: datetime = contact_import.created_at
        self.source = _import_source()

    def batches(self) -> Iterator[list[list[str]]]:
        reader = self._rows()
        carry: list[list[str]] = []  # the first row of the next order, read to find the end
        while batch := carry + list(islice(reader, max(ORDER_CHUNK_ROWS - len(carry), 1))):
            carry = []
            last = order_rows.order_key(self.plan, batch[-1])
            if last and len(batch) >= ORDER_CHUNK_ROWS:
                for cells in reader:
                    if order_rows.order_key(self.plan, cells) != last:
                        carry = [cells]
                        break
                    batch.append(cells)
            yield batch

    def load(self, batch: list[list[str]]) -> bool:
        """Load one chunk in one transaction; False when the cursor moved under us."""
        start = self.cursor
        numbered = [(start + offset + 2, cells) for offset, cells in enumerate(batch)]
        orders, blank = order_rows.read_orders(self.plan, numbered, self.updated_at)
        created = updated = skipped = failed = 0
        errors: list[ImportRowError] = []
        with transaction.atomic():
            rows_done, status = (
                ContactImport.objects.select_for_update()
                .filter(pk=self.import_id)
                .values_list("rows_done", "status")
                .get()
            )
            if rows_done != start or status != Status.RUNNING:
                return False
            for order in orders:
                if order.data is None:
                    failed += len(order.rows)
                    errors += [
                        ImportRowError(
                            contact_import_id=self.import_id,
                            row=row_no,
                            column=problem.column[:255],
                            value=problem.value,
                            message=problem.message[:255],
                        )
                        for row_no, problem in order.problems
                    ]
                    continue
                contact = self._contact(order.contact)
                _order, was_created, applied = order_upsert(
                    source=self.source, contact=contact, data=order.data
                )
                if was_created:
                    created += 1
                elif applied:
                    updated += 1
                else:
                    skipped += 1  # repeated further down this file
            ImportRowError.objects.bulk_create(errors)
            ContactImport.objects.filter(pk=self.import_id).update(
                rows_done=start + len(batch),
                created_count=F("created_count") + created,
                updated_count=F("updated_count") + updated,
                failed_count=F("failed_count") + failed,
                skipped_count=F("skipped_count") + skipped + blank,
                updated_at=timezone.now(),
            )
        self.cursor = start + len(batch)
        return True

    def _contact(self, fields: dict[str, str]) -> Contact | None:
        """The buyer, found or created by e-mail and phone; None when the order has neither."""
        keys = [(kind, fields[kind]) for kind in ("email", "phone") if fields.get(kind)]
        if not keys:
            return None
        contact = contact_resolve(keys=keys, source=self.source)
        for name in ("first_name", "last_name"):
            if fields.get(name) and not getattr(contact, name):
                setattr(contact, name, fields[name])
        contact_save_changes(contact)
        return contact
