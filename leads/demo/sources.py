"""The demo's two sources, with credentials derived from SECRET_KEY so the demo storefront
page and the live trickle can use them without storing a key in clear."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.utils.translation import gettext_noop

from leads.models import Source

TRACKING_SLUG = "demo-storefront"
SHOPIFY_SLUG = "demo-shopify"


def _derived(purpose: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).hexdigest()[:32]


def demo_write_key() -> str:
    return _derived("growth-demo-write-key")


def demo_shopify_secret() -> str:
    return _derived("growth-demo-shopify-secret")


# Shown in the reader's language while nobody renamed them (growth/shipped.py).
DEMO_SOURCE_NAMES = (gettext_noop("Demo storefront"), gettext_noop("Demo Shopify store"))


def demo_sources() -> tuple[Source, Source]:
    """(tracking, shopify), created or brought in line with the current SECRET_KEY."""
    key = demo_write_key()
    tracking, _ = Source.objects.update_or_create(
        slug=TRACKING_SLUG,
        defaults={
            "name": DEMO_SOURCE_NAMES[0],
            "kind": Source.Kind.TRACKING,
            "write_key_hash": Source.hash_key(key),
            "write_key_hint": key[:6],
            "is_active": True,
        },
    )
    shopify, _ = Source.objects.update_or_create(
        slug=SHOPIFY_SLUG,
        defaults={
            "name": DEMO_SOURCE_NAMES[1],
            "kind": Source.Kind.SHOPIFY,
            "secret": demo_shopify_secret(),
            "is_active": True,
        },
    )
    return tracking, shopify
