"""Export and erasure of one contact's data (GDPR, Shopify's redact topics)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.forms.models import model_to_dict
from django.utils import timezone

from growth import audit
from growth.models import AuditEvent
from leads.models import Contact, Event, LeadRating, PrivacyRequest, Session
from leads.services.quality import ratings_erase


def _rows(queryset: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [model_to_dict(row, exclude=list(exclude)) for row in queryset]


def contact_export_document(contact: Contact) -> dict[str, Any]:
    """Everything Growth holds about a contact, as plain JSON-able data."""
    document = {
        "contact": {
            **model_to_dict(contact),
            "created_at": contact.created_at,
            "last_seen_at": contact.last_seen_at,
        },
        "identities": _rows(contact.identities.all()),
        "consents": _rows(contact.consents.all()),
        "events": list(contact.events.values("name", "properties", "occurred_at", "message_id")),
        "sessions": list(contact.sessions.values()),
        "orders": [
            {
                **model_to_dict(o),
                "lines": list(o.lines.values("sku", "name", "quantity", "unit_price", "total")),
            }
            for o in contact.orders.prefetch_related("lines")
        ],
        "notes": list(contact.notes.values("body", "created_at")),
        "lead_ratings": list(
            LeadRating.objects.filter(contact=contact).values(
                "verdict", "reason", "note", "rated_at", "current"
            )
        ),
        "stage_changes": list(
            contact.stage_changes.values("from_stage", "to_stage", "at", "cause_kind", "reason")
        ),
        # Every stay, the closed ones too: which segments and lists held the person, when
        # and how. One query (joined to the segment for its name and kind).
        "segment_memberships": list(
            contact.segment_memberships.order_by("entered_at", "pk").values(
                "entered_at",
                "exited_at",
                "via",
                segment_name=F("segment__name"),
                segment_kind=F("segment__kind"),
            )
        ),
    }
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def _audit(
    action: str,
    contact: Contact,
    origin: str,
    requested_by: Any,
    ip: str | None,
    detail: dict[str, Any] | None,
) -> None:
    # In the same transaction as the work: an export or erasure is on record, or undone.
    audit.record(
        action,
        actor=requested_by,
        actor_label="" if requested_by is not None else origin,
        target=f"contact #{contact.pk}",
        ip=ip,
        **{"origin": origin, **(detail or {})},
    )


@transaction.atomic
def contact_export(
    *,
    contact: Contact,
    origin: str,
    requested_by: Any = None,
    ip: str | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> PrivacyRequest:
    """Everything about the contact, kept as a privacy request and in the audit log (`ip`:
    the caller's address when a person asked; `audit_detail`: more to record, e.g. the API
    key used)."""
    record = PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.EXPORT,
        contact_id=contact.pk,
        origin=origin,
        requested_by=requested_by,
        export=contact_export_document(contact),
    )
    _audit(AuditEvent.Action.EXPORT, contact, origin, requested_by, ip, audit_detail)
    return record


@transaction.atomic
def contact_erase(
    *,
    contact: Contact,
    origin: str,
    requested_by: Any = None,
    ip: str | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> PrivacyRequest:
    """Remove personal data. Orders stay, unlinked from any person, so revenue adds up. The
    audit log records who erased whom (by number: the name is what goes)."""
    contact.identities.all().delete()
    contact.notes.all().delete()
    contact.consents.all().delete()
    Event.objects.filter(contact=contact).update(properties={})
    # Stage history stays for the funnel; what people wrote about the person goes.
    contact.stage_changes.update(reason="", cause_detail="")
    ratings_erase(contact_id=contact.pk)  # the verdict stays for the statistics, the note goes
    Session.objects.filter(contact=contact).update(
        landing_url="", referrer="", anonymous_id="", click_ids={}
    )
    for field in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "locale",
        "time_zone",
        "country",
    ):
        setattr(contact, field, "")
    contact.properties, contact.first_touch, contact.last_touch = {}, {}, {}
    contact.erased_at = timezone.now()
    contact.save()
    _audit(AuditEvent.Action.ERASURE, contact, origin, requested_by, ip, audit_detail)
    return PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.ERASE,
        contact_id=contact.pk,
        origin=origin,
        requested_by=requested_by,
    )
