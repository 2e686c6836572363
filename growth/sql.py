"""Raw SQL helpers for the set-based paths.

Django's psycopg backend binds parameters on the client (it writes them into the SQL
text), which for the large arrays of `unnest(...)` statements costs more Python time than
the statement itself. `bound_cursor` is a psycopg cursor with server-side binding on the
same connection, so it runs inside whatever Django transaction is open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection


@contextmanager
def bound_cursor() -> Iterator[psycopg.Cursor]:
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with psycopg.Cursor(raw) as cursor:
        yield cursor


def dict_rows(sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Run one query on Django's connection; each row as {column: value}."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
