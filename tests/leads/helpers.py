"""Helpers for ingestion tests: post as the real senders do, then process for real."""

from __future__ import annotations

import base64
import json
from typing import Any

from leads.ingest.http import hmac_base64
from leads.models import Source
from leads.services.inbound import inbound_process_batch


def process_all() -> int:
    """Run the real batch processor until nothing is pending."""
    total = 0
    while handled := inbound_process_batch():
        total += handled
    return total


def basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def post_segment(client, write_key: str, kind: str, payload: dict[str, Any], **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(
        f"/ingest/v1/{kind}",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(write_key),
        **extra,
    )


def _post_signed(client, url: str, payload: dict[str, Any], secret: str, **headers: str):  # type: ignore[no-untyped-def]
    """POST the JSON body with `headers`, and the shops' signature of it as SIGNATURE."""
    body = json.dumps(payload).encode()
    signature = headers.pop("SIGNATURE")
    return client.post(
        url,
        data=body,
        content_type="application/json",
        **{signature: hmac_base64(secret, body)},
        **headers,
    )


def post_shopify(
    client,
    source: Source,
    topic: str,
    payload: dict[str, Any],
    *,
    webhook_id: str,
    secret: str | None = None,
):  # type: ignore[no-untyped-def]
    return _post_signed(
        client,
        f"/webhooks/shopify/{source.slug}/",
        payload,
        secret or source.secret,
        SIGNATURE="HTTP_X_SHOPIFY_HMAC_SHA256",
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
        HTTP_X_SHOPIFY_SHOP_DOMAIN="demo.myshopify.com",
    )


def post_woo(
    client,
    source: Source,
    topic: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    secret: str | None = None,
):  # type: ignore[no-untyped-def]
    return _post_signed(
        client,
        f"/webhooks/woocommerce/{source.slug}/",
        payload,
        secret or source.secret,
        SIGNATURE="HTTP_X_WC_WEBHOOK_SIGNATURE",
        HTTP_X_WC_WEBHOOK_TOPIC=topic,
        HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery_id,
    )
