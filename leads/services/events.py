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
