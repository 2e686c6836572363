"""Recording what contacts did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from growth.sql import bound_cursor
from leads import signals
from leads.models import Contact, Event, Session, Source


@dataclass
class Touched:
    """Contacts and events a batch wrote, for the after-batch reactions."""

    contact_ids: set[int] = field(default_factory=set)
    event_ids: set[int] = field(default_factory=set)


_touched: ContextVar[Touched | None] = ContextVar("touched", default=None)


@contextmanager
def collecting_touched() -> Iterator[Touched]:
    """Collect what `event_record` / `touched_add` record inside the block."""
    touched = Touched()
    token = _touched.set(touched)
    try:
        yield touched
    finally:
        _touched.reset(token)


def touched_add(*, contact_ids: Iterator[int] | list[int] | set[int], event_ids: Any = ()) -> None:
    touched = _touched.get()
    if touched is not None:
        touched.contact_ids.update(contact_ids)
        touched.event_ids.update(event_ids)


def event_record(
    *,
    contact: Contact,
    source: Source | None,
    name: str,
    properties: dict[str, Any],
    occurred_at: datetime,
    message_id: str = "",
    session: Session | None = None,
) -> int | None:
    """Insert one event; a repeat of (source, message id) is ignored. Returns the new id, or
    None for a repeat. `events_recorded` goes out on commit for new events only."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_event
                (contact_id, source_id, session_id, name, properties, occurred_at, received_at, message_id)
            VALUES (%s, %s, %s, %s, %s::jsonb, %s, now(), %s)
            ON CONFLICT (source_id, message_id) WHERE NOT (message_id = '') DO NOTHING
            RETURNING id
            """,
            [
                contact.pk,
                source.pk if source else None,
                session.pk if session else None,
                name[:200],
                json.dumps(properties, cls=DjangoJSONEncoder),
                occurred_at,
                message_id[:200],
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    contact_id, event_id = contact.pk, row[0]
    touched_add(contact_ids=[contact_id], event_ids=[event_id])
    transaction.on_commit(
        lambda: signals.events_recorded.send(
            sender=Event, contact_ids=[contact_id], event_ids=[event_id]
        )
    )
    return event_id


@dataclass(frozen=True)
class NewEvent:
    contact_id: int
    source_id: int | None
    session_id: int | None
    name: str
    properties: dict[str, Any]
    occurred_at: datetime
    message_id: str = ""


def events_record_many(events: list[NewEvent]) -> list[tuple[int, int]]:
    """Insert many events in one statement; repeats of (source, message id), also within
    the list, are ignored. Returns (event id, contact id) of the new ones and sends one
    `events_recorded` for them on commit."""
    if not events:
        return []
    with bound_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_event
                (contact_id, source_id, session_id, name, properties, occurred_at, received_at, message_id)
            SELECT contact_id, source_id, session_id, name, properties, occurred_at, now(), message_id
            FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::jsonb[],
                        %s::timestamptz[], %s::text[])
                AS e(contact_id, source_id, session_id, name, properties, occurred_at, message_id)
            ON CONFLICT (source_id, message_id) WHERE NOT (message_id = '') DO NOTHING
            RETURNING id, contact_id
            """,
            [
                [e.contact_id for e in events],
                [e.source_id for e in events],
                [e.session_id for e in events],
                [e.name[:200] for e in events],
                [json.dumps(e.properties, cls=DjangoJSONEncoder) for e in events],
                [e.occurred_at for e in events],
                [e.message_id[:200] for e in events],
            ],
            binary=True,
        )
        rows = [(event_id, contact_id) for event_id, contact_id in cursor.fetchall()]
    if rows:
        contact_ids = sorted({contact_id for _, contact_id in rows})
        event_ids = [event_id for event_id, _ in rows]
        touched_add(contact_ids=contact_ids, event_ids=event_ids)
        transaction.on_commit(
            lambda: signals.events_recorded.send(
                sender=Event, contact_ids=contact_ids, event_ids=event_ids
            )
        )
    return rows
