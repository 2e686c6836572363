"""Sources: where data comes from, and the keys and secrets that prove it."""

from __future__ import annotations

import secrets
import time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from leads.models import Source

KEY_BYTES = 24
# write-key hash → (source, looked up at). Saves a query on every tracking request; a key
# rotated or deactivated in another process stops working within KEY_CACHE_SECONDS.
KEY_CACHE_SECONDS = 5.0
_key_cache: dict[str, tuple[Source, float]] = {}


def source_for_write_key(write_key: str) -> Source | None:
    """The active tracking source of this key. Looked up by the key's SHA-256, so no
    comparison ever touches the key itself."""
    key_hash = Source.hash_key(write_key)
    cached = _key_cache.get(key_hash)
    if cached and time.monotonic() - cached[1] < KEY_CACHE_SECONDS:
        return cached[0]
    source = Source.objects.filter(
        write_key_hash=key_hash, kind=Source.Kind.TRACKING, is_active=True
    ).first()
    if source is None:
        _key_cache.pop(key_hash, None)
    else:
        _key_cache[key_hash] = (source, time.monotonic())
    return source


def _forget_keys() -> None:
    _key_cache.clear()


def _new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "source"
    slug, n = base, 1
    while Source.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _apply_new_credential(source: Source) -> str:
    """Give the source a fresh write key (tracking) or signing secret (shops); return it.

    A write key is stored only as its hash, so this is the one moment it can be shown.
    """
    credential = _new_key()
    if source.kind == Source.Kind.TRACKING:
        source.write_key_hash = Source.hash_key(credential)
        source.write_key_hint = credential[:6]
    else:
        source.secret = credential
    return credential


@transaction.atomic
def source_create(
    *, name: str, kind: str, allowed_origins: list[str] | None = None, secret: str = ""
) -> tuple[Source, str]:
    """Create a source. Returns it with its write key or secret, to be shown once.

    Shopify generates its own webhook secret (the app's client secret): pass it as `secret`
    and it is used instead of a generated one.
    """
    source = Source(
        name=name, kind=kind, slug=_unique_slug(name), allowed_origins=allowed_origins or []
    )
    credential = _apply_new_credential(source)
    if secret and kind != Source.Kind.TRACKING:
        source.secret = credential = secret
    source.full_clean()
    source.save()
    return source, credential


@transaction.atomic
def source_rotate(*, source: Source, actor: Any = None, ip: str | None = None) -> str:
    """Replace the write key or secret; the old one stops working at once. Audited."""
    from growth import audit
    from growth.models import AuditEvent

    credential = _apply_new_credential(source)
    source.rotated_at = timezone.now()
    source.save(update_fields=["write_key_hash", "write_key_hint", "secret", "rotated_at"])
    transaction.on_commit(_forget_keys)
    audit.record(
        AuditEvent.Action.SOURCE_CREDENTIAL_ROTATED,
        actor=actor,
        actor_label="" if actor else "system",
        target=f"{source.name} ({source.kind})",
        ip=ip,
        source=source.pk,
    )
    return credential


def source_update(
    *, source: Source, name: str, allowed_origins: list[str], is_active: bool
) -> Source:
    source.name, source.allowed_origins, source.is_active = name, allowed_origins, is_active
    source.full_clean()
    source.save(update_fields=["name", "allowed_origins", "is_active"])
    _forget_keys()
    return source
