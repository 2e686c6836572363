from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from leads import signals
from leads.models import Consent, Contact


def consent_set(
    *,
    contact: Contact,
    channel: str,
    status: str,
    source: str,
    at: datetime,
    proof: dict[str, Any] | None = None,
) -> Consent:
    """Record consent on one channel. An older statement never overwrites a newer one."""
    consent, created = Consent.objects.select_for_update().get_or_create(
        contact=contact,
        channel=channel,
        defaults={"status": status, "source": source, "changed_at": at, "proof": proof or {}},
    )
    if not created:
        if at < consent.changed_at or consent.status == status:
            return consent
        consent.status, consent.source, consent.changed_at = status, source, at
        consent.proof = proof or {}
        consent.save(update_fields=["status", "source", "changed_at", "proof"])
    contact_id = contact.pk
    transaction.on_commit(
        lambda: signals.consent_changed.send(
            sender=Consent, contact_id=contact_id, channel=channel, status=status
        )
    )
    return consent
