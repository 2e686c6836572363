"""Signed links a contact uses without signing in: one-click unsubscribe (RFC 8058) and the
preferences page. The signature is the contact's id signed with the SECRET_KEY, so a link
cannot be forged for someone else, and it never expires (an old e-mail must still work)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from automations.models import Delivery
from automations.models.delivery import Channel, Purpose

_signer = signing.Signer(salt="growth.preferences")


def contact_token(contact_id: int) -> str:
    return _signer.sign(str(contact_id))


def contact_from_token(token: str) -> int | None:
    try:
        return int(_signer.unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def preferences_url(contact_id: int) -> str:
    return settings.PUBLIC_URL + reverse("preferences", args=[contact_token(contact_id)])


def one_click_url(contact_id: int) -> str:
    return settings.PUBLIC_URL + reverse("unsubscribe_one_click", args=[contact_token(contact_id)])


def unsubscribe_headers(delivery: Delivery) -> dict[str, str]:
    """RFC 8058 headers for marketing and sales e-mail: mail apps show an unsubscribe
    button that POSTs to the one-click URL."""
    if (
        delivery.channel != Channel.EMAIL
        or delivery.purpose == Purpose.TRANSACTIONAL
        or delivery.contact_id is None
    ):
        return {}
    return {
        "List-Unsubscribe": f"<{one_click_url(delivery.contact_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
