"""Data retention: processed raw inbound deliveries and old events are deleted, in batches.

Run nightly by beat (`growth.retention_run`) and by `manage.py retention_run`. Each batch is
one statement of at most `BATCH_SIZE` rows in its own transaction, so locks stay short and a
run that reaches its time budget stops between batches; the next run carries on where the
data now starts. Batches walk the time index (`inbound_status_recent`, `event_time`) from the
oldest row and never go back behind the last one deleted, so the index entries of rows just
deleted (dead until vacuum) are not walked again.

What goes, and what stays:

- Inbound deliveries (the raw payloads, kept to reprocess or inspect): `processed` and
  `ignored` ones older than RETENTION_INBOUND_DAYS. `failed` ones are dead letters waiting
  for a person and always stay, as do `pending` and `processing` ones (not done yet).
  Nothing references an inbound delivery.
- Events older than RETENTION_EVENTS_DAYS (by `occurred_at`). What points at an event:
  - score ledger entries (`ScoreEntry.event`, no database constraint, DO_NOTHING): kept. The
    ledger is the record of points awarded; a score is the sum of its entries, so deleting
    them would silently lower scores (and move lifecycle stages). A kept entry's `event_id`
    then names a gone event, which the ledger allows by design. (A later full rebuild of a
    rule from events cannot re-award points for events older than the horizon.)
  - stage changes (`StageChange.event_id`) and journey runs (`entry_key`) hold plain ids and
    text on purpose: they stay readable after the event is gone.
  - sessions: an event points at its session, not the reverse; sessions stay (attribution and
    traffic read them) and are not touched by deleting events.
  - the dashboards' rollups: the analytics trigger on `leads_event` marks the day of every
    deleted funnel event for recomputation, which would empty old days' traffic figures.
    The batch deletes the marks its own statement made (same transaction, so same `now()`),
    and the rollups keep their history. (A later recompute of such a day, for example a full
    refresh, counts only the events still there.)
  Contacts, orders, sessions and deliveries are never deleted here.

`growth` does not import the other apps (ARCHITECTURE.md), so their tables are named through
the app registry and written with SQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000
TIME_BUDGET_SECONDS = 120.0  # well inside the task's soft time limit
INBOUND_GONE_STATUSES = ("processed", "ignored")  # never "failed", "pending", "processing"
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)


def _table(label: str) -> str:
    return str(apps.get_model(label)._meta.db_table)


@dataclass
class RetentionReport:
    inbound: int = 0  # rows deleted (or, on a dry run, that would be)
    events: int = 0
    batches: int = 0
    finished: bool = True  # False: the time budget ran out; the next run continues
    dry_run: bool = False
    cutoffs: dict[str, datetime | None] = field(default_factory=dict)


def cutoffs(now: datetime | None = None) -> dict[str, datetime | None]:
    """Rows older than these go; None keeps that kind for ever (its setting is 0)."""
    now = now or timezone.now()

    def before(days: int) -> datetime | None:
        return now - timedelta(days=days) if days > 0 else None

    return {
        "inbound": before(settings.RETENTION_INBOUND_DAYS),
        "events": before(settings.RETENTION_EVENTS_DAYS),
    }


def retention_counts(now: datetime | None = None) -> RetentionReport:
    """What a run would delete now, counted (for --dry-run)."""
    limits = cutoffs(now)
    report = RetentionReport(dry_run=True, cutoffs=limits)
    with connection.cursor() as cursor:
        if limits["inbound"] is not None:
            cursor.execute(
                f"SELECT count(*) FROM {_table('leads.InboundDelivery')} "  # noqa: S608
                "WHERE status = ANY(%s) AND received_at < %s",
                [list(INBOUND_GONE_STATUSES), limits["inbound"]],
            )
            report.inbound = cursor.fetchone()[0]
        if limits["events"] is not None:
            cursor.execute(
                f"SELECT count(*) FROM {_table('leads.Event')} WHERE occurred_at < %s",  # noqa: S608
                [limits["events"]],
            )
            report.events = cursor.fetchone()[0]
    return report


# `id = ANY(ARRAY(subquery))`: the batch's ids are chosen along the time index, then deleted
# through the primary key. (A join with the batch, `USING`, lets the planner hash-join it
# against a sequential scan of the whole table.)


def _inbound_batch(
    status: str, cutoff: datetime, floor: datetime, size: int
) -> tuple[int, datetime]:
    table = _table("leads.InboundDelivery")
    # The status is checked again on the row being deleted: a row that changed meanwhile
    # (it cannot, once processed, but the rule is cheap) is left alone.
    sql = f"""
        WITH gone AS (
            DELETE FROM {table} WHERE id = ANY(ARRAY(
                SELECT id FROM {table}
                WHERE status = %(status)s AND received_at < %(cutoff)s
                  AND received_at >= %(floor)s
                ORDER BY received_at LIMIT %(size)s
            )) AND status = %(status)s
            RETURNING received_at
        )
        SELECT count(*), max(received_at) FROM gone
    """  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"status": status, "cutoff": cutoff, "floor": floor, "size": size})
        count, last = cursor.fetchone()
    return count, last or floor


def _events_batch(cutoff: datetime, floor: datetime, size: int) -> tuple[int, datetime]:
    events = _table("leads.Event")
    marks = _table("analytics.DirtyDay")
    sql = f"""
        WITH gone AS (
            DELETE FROM {events} WHERE id = ANY(ARRAY(
                SELECT id FROM {events}
                WHERE occurred_at < %(cutoff)s AND occurred_at >= %(floor)s
                ORDER BY occurred_at LIMIT %(size)s
            ))
            RETURNING occurred_at
        )
        SELECT count(*), max(occurred_at) FROM gone
    """  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, {"cutoff": cutoff, "floor": floor, "size": size})
        count, last = cursor.fetchone()
        # The trigger's marks of this transaction (its now() is ours): the rollups of those
        # old days keep the figures they have.
        cursor.execute(
            f"DELETE FROM {marks} WHERE kind = 'traffic' AND marked_at = now() "  # noqa: S608
            "AND day <= %s",
            [cutoff.astimezone(UTC).date()],
        )
    return count, last or floor


def retention_run(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget: float = TIME_BUDGET_SECONDS,
) -> RetentionReport:
    """Delete what is past its retention, oldest first, until done or out of time (checked
    after each full batch, so every run makes progress)."""
    limits = cutoffs(now)
    report = RetentionReport(cutoffs=limits)
    started = time.monotonic()
    inbound_cutoff, events_cutoff = limits["inbound"], limits["events"]
    jobs: list[tuple[str, Callable[[datetime, int], tuple[int, datetime]]]] = []
    if inbound_cutoff is not None:
        for status in INBOUND_GONE_STATUSES:
            jobs.append(("inbound", partial(_inbound_batch, status, inbound_cutoff)))
    if events_cutoff is not None:
        jobs.append(("events", partial(_events_batch, events_cutoff)))

    for kind, batch in jobs:
        floor = BEGINNING
        while True:
            count, floor = batch(floor, batch_size)
            setattr(report, kind, getattr(report, kind) + count)
            report.batches += 1
            if count < batch_size:
                break  # this kind is done
            if time.monotonic() - started >= time_budget:
                report.finished = False
                break
        if not report.finished:
            break
    logger.info(
        "retention run: %d inbound deliveries and %d events deleted in %d batches%s",
        report.inbound,
        report.events,
        report.batches,
        "" if report.finished else " (time budget reached; the next run continues)",
        extra={
            "retention_inbound": report.inbound,
            "retention_events": report.events,
            "retention_batches": report.batches,
            "retention_finished": report.finished,
        },
    )
    return report
