"""Where the dashboards read: a streaming read replica when `DATABASE_REPLICA_URL` is set.

Only the dashboard pages and their CSV exports read there, inside `dashboard_reads()`: a
context variable that the database router (`ReplicaRouter`, for the ORM) and `read_rows` /
`read_connection` (for the selectors' raw SQL) consult. Every write, the rollup refresh,
every task and every other page stay on the primary: people expect to see what they just
changed, and a replica is always a little behind. Without a replica the dashboards read
the primary as before.

The lag matters to one thing: the dashboards' cache (`analytics/cache.py`) keeps a figure
under the data version, which the rollup refresh moves on when it commits. `caught_up()`
asks whether the replica has replayed the primary's WAL up to where it is now, so a figure
cached under a version is computed from the replica only once the replica holds the data
that version counts, and from the primary in the moment before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

REPLICA = "replica"

logger = logging.getLogger(__name__)

# The alias reads go to inside `reads_from()`; None outside: Django's own choice (default).
_reads: ContextVar[str | None] = ContextVar("growth_reads", default=None)


def reading_alias() -> str:
    """The alias dashboards read from: the replica if one is configured, else default."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS


def current_alias() -> str:
    return _reads.get() or DEFAULT_DB_ALIAS


@contextmanager
def reads_from(alias: str) -> Iterator[None]:
    token = _reads.set(alias)
    try:
        yield
    finally:
        _reads.reset(token)


def dashboard_reads() -> Any:
    """`with dashboard_reads():` every read in the block goes to `reading_alias()`, or to
    the primary while the replica does not answer (a dashboard still beats an error page)."""
    alias = reading_alias()
    if alias != DEFAULT_DB_ALIAS:
        try:
            connections[alias].ensure_connection()
        except DatabaseError as exc:
            logger.warning("read replica unreachable, dashboards read the primary: %s", exc)
            alias = DEFAULT_DB_ALIAS
    return reads_from(alias)


def read_connection() -> BaseDatabaseWrapper:
    """The connection raw SQL reads through: the replica inside `dashboard_reads()`."""
    return connections[current_alias()]


def read_rows(sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Run one query on `read_connection()`; each row as {column: value}."""
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def primary_position() -> str:
    """The primary's WAL position now: every commit so far is at or before it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def replayed_past(alias: str, position: str) -> bool:
    """Whether `alias` has replayed the primary's WAL up to `position`. A server that is not
    in recovery (a test mirror, a promoted replica) answers with its own position."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn()) >= %s::pg_lsn",
            [position],
        )
        return bool(cursor.fetchone()[0])


def caught_up(alias: str) -> bool:
    """Whether a read on `alias` now sees everything committed on the primary before this
    call (two one-row queries; always true for the primary itself)."""
    return alias == DEFAULT_DB_ALIAS or replayed_past(alias, primary_position())


class ReplicaRouter:
    """Reads inside `reads_from()` go to its alias; writes always go to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return _reads.get()

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # The replica holds the primary's rows: an object read there may point at one
        # read here.
        same_data = {DEFAULT_DB_ALIAS, REPLICA}
        return True if {obj1._state.db, obj2._state.db} <= same_data else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None  # it replays the primary's migrations
