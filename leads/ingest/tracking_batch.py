"""Tracking messages in bulk: a claimed batch becomes contacts, sessions and events in one
transaction and a handful of statements, whatever its size.

Per batch: the identity locks in one statement, one read of the identities, the new
contacts and identities in one insert each, one read of the contacts and of their recent
sessions, then every message applied in memory in arrival order (the same `interpret` as
the one-message path), and one write each for sessions, contacts, events and the delivery
statuses. Messages the batch cannot take alone go back to the one-message path:
aliases, messages that do not parse, and every message of a visitor whose identities
belong to two contacts already (a merge, which moves rows of other tables).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from leads.ingest.handlers_segment import SessionBook, interpret, message_keys, message_time
from leads.models import Contact, Identity, InboundDelivery
from leads.services.events import NewEvent, events_record_many
from leads.services.identity import (
    contacts_save_changes,
    identities_insert,
    lock_keys,
    remember,
)
from leads.services.inbound import handles_batch

logger = logging.getLogger(__name__)

BATCH_TYPES = frozenset({"track", "identify", "page", "screen", "group"})
Key = tuple[str, str]


@dataclass
class Message:
    delivery: InboundDelivery
    body: dict[str, Any]
    at: datetime
    keys: list[Key]
    contact_id: int = 0  # 0 until _assign_contacts gives it one


@handles_batch("tracking")
def process_tracking_batch(deliveries: list[InboundDelivery]) -> list[InboundDelivery]:
    """Process what the batch can; return the deliveries left for the one-message path."""
    messages, left = _parse(deliveries)
    if not messages:
        return left
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:  # idempotent: a lost commit is only a redo
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            diverted = _apply(messages)
    except Exception:
        logger.warning("tracking batch failed; processing its messages one by one", exc_info=True)
        return left + [m.delivery for m in messages]
    return left + diverted


def _parse(deliveries: list[InboundDelivery]) -> tuple[list[Message], list[InboundDelivery]]:
    messages, left = [], []
    for delivery in deliveries:
        try:
            body = json.loads(bytes(delivery.body))
            keys = message_keys(body)
            if body.get("type") not in BATCH_TYPES or not keys:
                raise ValueError("not for the batch")
            if body["type"] == "track" and not body.get("event"):
                raise ValueError("track without event")
            if body["type"] == "group" and not body.get("groupId"):
                raise ValueError("group without groupId")
            messages.append(Message(delivery, body, message_time(delivery, body), keys))
        except Exception:  # the one-message path says what is wrong with it
            left.append(delivery)
    return messages, left


def _apply(messages: list[Message]) -> list[InboundDelivery]:
    all_keys = {key for m in messages for key in m.keys}
    lock_keys(all_keys)
    owners = _owners(all_keys)
    diverted = _assign_contacts(messages, owners)
    messages = [m for m in messages if m.contact_id]
    if not messages:
        return diverted

    contacts = Contact.objects.in_bulk({m.contact_id for m in messages})
    for contact in contacts.values():
        remember(contact)
    _add_identities(messages, owners, contacts)

    # Page views open or continue visits; tracked actions join the visit they happened in.
    visiting = {m.contact_id for m in messages if m.body["type"] in ("page", "track")}
    sessions = SessionBook(visiting, since=min(m.at for m in messages))
    pending: list[tuple[Message, str, dict[str, Any], Any]] = []
    for message in messages:
        contact = contacts[message.contact_id]
        source = message.delivery.source
        name, properties, session = interpret(contact, source, message.body, message.at, sessions)
        pending.append((message, name, properties, session))
    sessions.save()
    contacts_save_changes(contacts.values())
    events_record_many(
        [
            NewEvent(
                contact_id=message.contact_id,
                source_id=message.delivery.source_id,
                session_id=session.pk if session else None,
                name=name,
                properties=properties,
                occurred_at=message.at,
                message_id=str(message.body.get("messageId") or ""),
            )
            for message, name, properties, session in pending
        ]
    )
    InboundDelivery.objects.filter(pk__in=[m.delivery.pk for m in messages]).update(
        status=InboundDelivery.Status.PROCESSED,
        error="",
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),
    )
    return diverted


def _owners(keys: set[Key]) -> dict[Key, int]:
    """Which contact each known identity belongs to."""
    kinds, values = zip(*sorted(keys), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.kind, i.value, i.contact_id FROM leads_identity i
            JOIN unnest(%s::text[], %s::text[]) AS k(kind, value)
              ON i.kind = k.kind AND i.value = k.value
            """,
            [list(kinds), list(values)],
        )
        return {(kind, value): contact_id for kind, value, contact_id in cursor.fetchall()}


def _assign_contacts(messages: list[Message], owners: dict[Key, int]) -> list[InboundDelivery]:
    """Give each message its contact: messages sharing an identity are one visitor; a
    visitor known by one contact gets it, a new visitor gets a new contact, and a visitor
    whose identities belong to several contacts is left for the one-message path (merge)."""
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for message in messages:
        first = root(message.keys[0])
        for key in message.keys[1:]:
            parent[root(key)] = first

    visitors: dict[Key, list[Message]] = defaultdict(list)
    for message in messages:
        visitors[root(message.keys[0])].append(message)

    diverted: list[InboundDelivery] = []
    unknown: list[list[Message]] = []
    for group in visitors.values():
        known = {owners[key] for m in group for key in m.keys if key in owners}
        if len(known) > 1:
            diverted += [m.delivery for m in group]
        elif known:
            for message in group:
                message.contact_id = next(iter(known))
        else:
            unknown.append(group)
    created = Contact.objects.bulk_create([Contact() for _ in unknown])
    for group, contact in zip(unknown, created, strict=True):
        for message in group:
            message.contact_id = contact.pk
    return diverted


class IdentityTaken(Exception):
    """A writer that takes no identity locks (a CSV import) claimed a new identity first."""


def _add_identities(
    messages: list[Message], owners: dict[Key, int], contacts: dict[int, Contact]
) -> None:
    """Record the identities seen for the first time, and fill an empty e-mail or phone."""
    new: dict[Key, Message] = {}
    for message in messages:
        for key in message.keys:
            if key not in owners:
                new.setdefault(key, message)
    inserted = identities_insert(
        [(m.contact_id, kind, value, m.delivery.source_id) for (kind, value), m in new.items()]
    )
    if len(inserted) < len(new):
        # Rolls the batch back; its messages then go one by one, which merges as needed.
        raise IdentityTaken(sorted(set(new) - inserted)[:5])
    for (kind, value), message in new.items():
        contact = contacts[message.contact_id]
        if kind == Identity.Kind.EMAIL and not contact.email:
            contact.email = value
        elif kind == Identity.Kind.PHONE and not contact.phone:
            contact.phone = value
