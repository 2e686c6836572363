"""API keys: create (the plain key is returned once), revoke, and check a presented key.

A key reads `grw_AbCd1234_<43 characters>`: the first 12 characters are its public prefix,
shown in lists and used to find the row; the rest is 32 random bytes. Only the SHA-256 of
the whole key is stored, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from growth import audit
from growth.api import scopes as api_scopes
from growth.models import ApiKey, AuditEvent

PREFIX = "grw_"
PREFIX_LENGTH = len(PREFIX) + 8
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_ALPHABET = string.ascii_letters + string.digits


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plain: str  # shown to its creator once, never stored


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: dict[str, str],
    created_by: Any,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
    request: HttpRequest | None = None,
) -> NewKey:
    cleaned = api_scopes.clean(scopes)
    prefix = PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    fields: dict[str, Any] = {}
    if rate_limit_per_minute:
        fields["rate_limit_per_minute"] = rate_limit_per_minute
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(plain),
        scopes=cleaned,
        created_by=created_by,
        expires_at=expires_at,
        **fields,
    )
    audit.record(
        AuditEvent.Action.API_KEY_CREATED,
        actor=created_by,
        target=str(key),
        request=request,
        key_id=key.pk,
        scopes=cleaned,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return NewKey(key, plain)


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any, request: HttpRequest | None = None) -> ApiKey:
    """Stops the key at once. Revoking a revoked key changes nothing and records nothing."""
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(
            AuditEvent.Action.API_KEY_REVOKED,
            actor=actor,
            target=str(locked),
            request=request,
            key_id=locked.pk,
        )
    return locked


class KeyRefused(Exception):
    """The presented key is unknown, revoked or expired; the message says which."""


def api_key_check(plain: str, now: datetime | None = None) -> ApiKey:
    """The active key `plain` is, with its creator; raises KeyRefused. One query, and one
    UPDATE at most once a minute per key for last_used_at."""
    now = now or timezone.now()
    prefix = plain[:PREFIX_LENGTH]
    key = None
    if plain.startswith(PREFIX) and plain[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_":
        key = ApiKey.objects.select_related("created_by").filter(prefix=prefix).first()
    # Compared even without a row, so timing does not tell a known prefix from an unknown one.
    expected = key.secret_hash if key is not None else _hash("")
    if not hmac.compare_digest(expected, _hash(plain)) or key is None:
        raise KeyRefused("unknown")
    status = key.status(now)
    if status != "active":
        raise KeyRefused(status)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so a burst of requests writes the row once, not once each.
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key
