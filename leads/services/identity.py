"""Identity stitching: every signal finds its one contact, and contacts merge when two of
their identities meet."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, Q
from django.forms.models import model_to_dict

from growth.sql import bound_cursor
from leads import signals
from leads.models import (
    Consent,
    Contact,
    ContactMerge,
    Event,
    Identity,
    Note,
    Order,
    Session,
    Source,
    StageChange,
)
from leads.services.lifecycle import lifecycle_merge
from leads.services.quality import ratings_merge
from leads.services.scoring import scoring_merge

Kind = Identity.Kind
KNOWN_KINDS = {Kind.EMAIL, Kind.USER_ID, Kind.PHONE, Kind.SHOP_CUSTOMER}
# Fields a merge fills on the survivor when the survivor has none.
PROFILE_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "time_zone",
    "locale",
    "company",
]


def normalise(kind: str, value: object) -> str:
    text = str(value).strip()
    if kind == Kind.EMAIL:
        return text.lower()
    if kind == Kind.PHONE:
        return ("+" if text.startswith("+") else "") + re.sub(r"\D", "", text)
    return text


# Identity locks live in their own key space (the two-int advisory lock form) and are
# hashed into a fixed number of buckets: a batch of thousands of identities then takes at
# most this many locks, well inside PostgreSQL's shared lock table, at the price of now and
# then serialising two unrelated visitors that share a bucket.
IDENTITY_LOCK_SPACE = 7301
IDENTITY_LOCK_BUCKETS = 1024


def lock_keys(keys: Iterable[tuple[str, str]]) -> None:
    """Serialise resolution per identity so two workers never create two contacts for one
    person. One statement, locks taken in bucket order: every resolver (one message, a
    batch, a CSV chunk) takes them in the same order, so resolvers cannot deadlock."""
    names = sorted({f"{kind}:{value}" for kind, value in keys})
    if not names:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_advisory_xact_lock(%s, b) FROM (
                SELECT DISTINCT (hashtextextended(name, 0) & %s)::int AS b
                FROM unnest(%s::text[]) AS name
                ORDER BY b
            ) AS ordered
            """,
            [IDENTITY_LOCK_SPACE, IDENTITY_LOCK_BUCKETS - 1, names],
        )


def identities_insert(rows: list[tuple[int, str, str, int | None]]) -> set[tuple[str, str]]:
    """Insert (contact id, kind, value, source id) identities; returns the (kind, value) of
    those inserted. One already taken (unique per kind + value) is skipped, not an error."""
    if not rows:
        return set()
    contact_ids, kinds, values, source_ids = (list(column) for column in zip(*rows, strict=True))
    with bound_cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_identity (contact_id, kind, value, source_id, created_at)
            SELECT contact_id, kind, value, source_id, now()
            FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[])
                AS i(contact_id, kind, value, source_id)
            ON CONFLICT (kind, value) DO NOTHING
            RETURNING kind, value
            """,
            [contact_ids, kinds, values, source_ids],
        )
        return {(kind, value) for kind, value in cursor.fetchall()}


def contact_resolve(*, keys: Iterable[tuple[str, object]], source: Source | None = None) -> Contact:
    """The contact these identities belong to: found, created, or merged from several.

    Must run inside a transaction (the advisory locks last until it ends).
    """
    keys = list(keys)
    wanted = [(kind, normalise(kind, value)) for kind, value in keys if value not in (None, "")]
    wanted = [(kind, value) for kind, value in wanted if value]
    if not wanted:
        raise ValueError("no identity to resolve: need an anonymous id, user id, e-mail or phone")
    lock_keys(wanted)
    query = Q()
    for kind, value in wanted:
        query |= Q(kind=kind, value=value)
    found = list(Identity.objects.filter(query).select_related("contact"))
    contacts = {identity.contact_id: identity.contact for identity in found}

    if not contacts:
        contact = Contact.objects.create()
    elif len(contacts) == 1:
        contact = next(iter(contacts.values()))
    else:
        contact = _pick_survivor(list(contacts.values()))
        for other in contacts.values():
            if other.pk != contact.pk:
                kinds = sorted({i.kind for i in found if i.contact_id == other.pk})
                contact_merge(
                    survivor=contact, merged=other, reason=f"identities met: {', '.join(kinds)}"
                )

    have = {(i.kind, i.value) for i in found}
    missing = [(k, v) for k, v in dict.fromkeys(wanted) if (k, v) not in have]
    source_id = source.pk if source else None
    inserted = identities_insert([(contact.pk, k, v, source_id) for k, v in missing])
    if len(inserted) < len(missing):
        # A writer that takes no identity locks (a CSV import chunk) claimed one of them
        # between our read and our insert. Resolve again: that finds its contact and merges.
        if not contacts and not inserted:
            contact.delete()  # created just now and left with no identity at all
        return contact_resolve(keys=keys, source=source)
    remember(contact)
    for kind, value in wanted:
        if kind == Kind.EMAIL and not contact.email:
            contact.email = value
        elif kind == Kind.PHONE and not contact.phone:
            contact.phone = value
    return contact


# Fields whose change is worth a write; updated_at follows any of them.
_TRACKED = [
    *PROFILE_FIELDS,
    "properties",
    "first_touch",
    "last_touch",
    "source_channel",
    "last_seen_at",
    "created_at",
]
_JSON_FIELDS = {"properties", "first_touch", "last_touch"}
_TIME_FIELDS = {"last_seen_at", "created_at"}
# Seeing a contact again within this long is not worth rewriting the row (and its indexes).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def remember(contact: Contact) -> None:
    """Note the contact's tracked fields now, so a later save writes only what changed."""
    contact._saved_state = {f: copy.copy(getattr(contact, f)) for f in _TRACKED}  # type: ignore[attr-defined]


def contact_changed_fields(contact: Contact) -> list[str]:
    """The tracked fields that changed since `remember`, or [] when nothing worth a write
    did: most events only move `last_seen_at`, and within a minute that is not worth
    rewriting the row (and its indexes)."""
    saved = getattr(contact, "_saved_state", None)
    if saved is None:
        return list(_TRACKED)
    changed = [f for f in _TRACKED if getattr(contact, f) != saved[f]]
    only_seen = changed == ["last_seen_at"] and saved["last_seen_at"] is not None
    if only_seen and contact.last_seen_at - saved["last_seen_at"] < LAST_SEEN_RESOLUTION:
        return []
    return changed


def contact_save_changes(contact: Contact) -> None:
    """Write only the fields that changed since the contact was resolved, or nothing."""
    if getattr(contact, "_saved_state", None) is None:
        contact.save()
    elif changed := contact_changed_fields(contact):
        contact.save(update_fields=[*changed, "updated_at"])
    else:
        return
    remember(contact)


def contacts_save_changes(contacts: Iterable[Contact]) -> int:
    """`contact_save_changes` for many contacts: one UPDATE … FROM unnest(…) of the union
    of the fields that changed. Returns how many contacts were written."""
    changed: list[Contact] = []
    names: set[str] = set()
    for contact in contacts:
        if changed_here := contact_changed_fields(contact):
            changed.append(contact)
            names.update(changed_here)
    if not changed:
        return 0
    fields = sorted(names)  # tracked fields are plain columns named as the field
    arrays: list[list[Any]] = [[c.pk for c in changed]]
    types = ["bigint"]
    for name in fields:
        values = [getattr(c, name) for c in changed]
        if name in _JSON_FIELDS:
            types.append("jsonb")
            values = [json.dumps(value, cls=DjangoJSONEncoder) for value in values]
        else:
            types.append("timestamptz" if name in _TIME_FIELDS else "text")
        arrays.append(values)
    columns = ", ".join(["id", *fields])
    assignments = ", ".join(f"{name} = u.{name}" for name in fields)
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    with bound_cursor() as cursor:
        cursor.execute(
            f"UPDATE leads_contact AS c SET {assignments}, updated_at = now() "  # noqa: S608 (column names from the model)
            f"FROM unnest({unnest}) AS u({columns}) WHERE c.id = u.id",
            arrays,
            binary=True,
        )
    for contact in changed:
        remember(contact)
    return len(changed)


def _pick_survivor(contacts: list[Contact]) -> Contact:
    """The contact with the most known identities survives; the oldest breaks ties."""
    known = dict(
        Identity.objects.filter(contact__in=contacts, kind__in=KNOWN_KINDS)
        .values_list("contact")
        .annotate(n=Count("id"))
    )
    return min(contacts, key=lambda c: (-known.get(c.pk, 0), c.pk))


@transaction.atomic
def contact_merge(*, survivor: Contact, merged: Contact, reason: str, actor: Any = None) -> Contact:
    """Move everything of `merged` onto `survivor`; nothing is lost and the merge is kept.

    Rows of other apps follow through the `contacts_merged` signal.
    """
    if survivor.pk == merged.pk:
        raise ValueError("a contact cannot be merged into itself")
    snapshot = model_to_dict(merged, exclude=["merged_into"])
    snapshot["created_at"] = merged.created_at.isoformat()
    snapshot["last_seen_at"] = merged.last_seen_at.isoformat() if merged.last_seen_at else None

    ratings_merge(survivor_id=survivor.pk, merged_id=merged.pk)  # newest verdict stays current
    for model in (Identity, Event, Session, Order, Note, StageChange):
        model.objects.filter(contact=merged).update(contact=survivor)
    ContactMerge.objects.filter(survivor=merged).update(survivor=survivor)
    Contact.objects.filter(merged_into=merged).update(merged_into=survivor)
    _merge_consents(survivor, merged)

    for field in PROFILE_FIELDS:
        if not getattr(survivor, field) and getattr(merged, field):
            setattr(survivor, field, getattr(merged, field))
    survivor.properties = {**merged.properties, **survivor.properties}
    if merged.first_touch and (not survivor.first_touch or merged.created_at < survivor.created_at):
        survivor.first_touch, survivor.source_channel = merged.first_touch, merged.source_channel
    if merged.last_seen_at and (
        not survivor.last_seen_at or merged.last_seen_at > survivor.last_seen_at
    ):
        survivor.last_seen_at, survivor.last_touch = (
            merged.last_seen_at,
            merged.last_touch or survivor.last_touch,
        )
    lifecycle_merge(survivor=survivor, merged=merged)  # the more advanced stage stays
    survivor.save()

    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    scoring_merge(survivor_id=survivor.pk, merged_id=merged.pk)  # the ledger follows
    ContactMerge.objects.create(
        survivor=survivor, merged_id=merged.pk, snapshot=snapshot, reason=reason, actor=actor
    )
    survivor_id, merged_id = survivor.pk, merged.pk
    transaction.on_commit(
        lambda: signals.contacts_merged.send(
            sender=Contact, survivor_id=survivor_id, merged_id=merged_id
        )
    )
    return survivor


def _merge_consents(survivor: Contact, merged: Contact) -> None:
    """Per channel, the most restrictive consent wins: a STOP on either record stands."""
    rank = Consent.RESTRICTIVENESS
    mine = {c.channel: c for c in survivor.consents.all()}
    for theirs in merged.consents.all():
        current = mine.get(theirs.channel)
        if current is None:
            theirs.contact = survivor
            theirs.save(update_fields=["contact"])
        elif rank[theirs.status] < rank[current.status]:
            current.status, current.source = theirs.status, theirs.source
            current.changed_at, current.proof = theirs.changed_at, theirs.proof
            current.save(update_fields=["status", "source", "changed_at", "proof"])
            theirs.delete()
        else:
            theirs.delete()
