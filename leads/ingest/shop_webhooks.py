"""Shopify and WooCommerce webhooks: verify on the raw bytes, store, acknowledge.

Nothing else happens in the request, so the shop's 5-second timeout is never at risk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leads.ingest.http import Rejected, read_body, signature_matches
from leads.models import Source
from leads.services.inbound import Incoming, inbound_store_many

WEBHOOK_LIMIT = 2 * 1024 * 1024  # large orders with many lines stay well below this


def _source(slug: str, kind: str) -> Source:
    source = Source.objects.filter(slug=slug, kind=kind, is_active=True).first()
    if source is None:
        # Same answer as a bad signature: an unknown URL reveals nothing.
        raise Rejected(401, "signature does not match")
    return source


def _store(
    source: Source, topic: str, delivery_id: str, body: bytes, headers: dict[str, str]
) -> HttpResponse:
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(400, f"body is not valid JSON: {exc}") from exc
    inbound_store_many(source=source, items=[Incoming(topic, delivery_id, body)], headers=headers)
    return JsonResponse({"success": True})


def _answer(
    view: Callable[[HttpRequest, str], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """Refusals become their 4xx; a database that is down becomes 503 so the shop retries."""

    @wraps(view)
    def wrapped(request: HttpRequest, slug: str) -> HttpResponse:
        try:
            return view(request, slug)
        except Rejected as rejected:
            return rejected.response()
        except DatabaseError:
            return JsonResponse(
                {"success": False, "error": "storage unavailable, retry"}, status=503
            )

    return wrapped


def _prefixed_headers(request: HttpRequest, prefix: str) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower().startswith(prefix)}


@csrf_exempt
@require_POST
@_answer
def shopify(request: HttpRequest, slug: str) -> HttpResponse:
    body = read_body(request, limit=WEBHOOK_LIMIT)
    source = _source(slug, Source.Kind.SHOPIFY)
    if not signature_matches(source.secret, body, request.headers.get("X-Shopify-Hmac-Sha256")):
        raise Rejected(401, "signature does not match")
    topic = request.headers.get("X-Shopify-Topic", "")
    delivery_id = request.headers.get("X-Shopify-Webhook-Id", "")
    _require_headers(("X-Shopify-Topic", topic), ("X-Shopify-Webhook-Id", delivery_id))
    return _store(source, topic, delivery_id, body, _prefixed_headers(request, "x-shopify-"))


@csrf_exempt
@require_POST
@_answer
def woocommerce(request: HttpRequest, slug: str) -> HttpResponse:
    body = read_body(request, limit=WEBHOOK_LIMIT)
    source = _source(slug, Source.Kind.WOOCOMMERCE)
    signature = request.headers.get("X-WC-Webhook-Signature")
    topic = request.headers.get("X-WC-Webhook-Topic", "")
    # WooCommerce pings a new webhook with a form body "webhook_id=N" to check the URL.
    if not topic and body.startswith(b"webhook_id="):
        if signature and not signature_matches(source.secret, body, signature):
            raise Rejected(401, "signature does not match")
        return JsonResponse({"success": True})
    if not signature_matches(source.secret, body, signature):
        raise Rejected(401, "signature does not match")
    delivery_id = request.headers.get("X-WC-Webhook-Delivery-ID", "")
    _require_headers(("X-WC-Webhook-Topic", topic), ("X-WC-Webhook-Delivery-ID", delivery_id))
    return _store(source, topic, delivery_id, body, _prefixed_headers(request, "x-wc-"))


def _require_headers(*pairs: tuple[str, str]) -> None:
    missing = [name for name, value in pairs if not value]
    if missing:
        raise Rejected(400, f"missing header {', '.join(missing)}")
