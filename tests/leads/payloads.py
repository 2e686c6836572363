"""Webhook bodies shaped like the real ones (trimmed to the fields Growth reads and a few it
ignores)."""

from __future__ import annotations

from typing import Any


def shopify_order(
    order_id: int = 450789469,
    *,
    updated_at: str = "2026-11-20T10:00:00-05:00",
    email: str = "bob.norman@example.com",
    financial_status: str = "paid",
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "name": f"#{order_id % 10000}",
        "order_number": order_id % 10000,
        "email": email,
        "phone": "+1 (555) 625-1199",
        "created_at": "2026-11-20T09:58:00-05:00",
        "updated_at": updated_at,
        "currency": "USD",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "cancelled_at": None,
        "subtotal_price": "398.00",
        "total_discounts": "10.00",
        "total_tax": "11.94",
        "total_price": "409.94",
        "total_shipping_price_set": {"shop_money": {"amount": "10.00", "currency_code": "USD"}},
        "discount_codes": [{"code": "TENOFF", "amount": "10.00", "type": "fixed_amount"}],
        "customer_locale": "en",
        "line_items": [
            {
                "id": 866550311766439020,
                "product_id": 632910392,
                "variant_id": 808950810,
                "sku": "IPOD2008PINK",
                "title": "IPod Nano - 8gb",
                "quantity": 1,
                "price": "199.00",
            },
            {
                "id": 141249953214522974,
                "product_id": 632910393,
                "sku": "CASE-RED",
                "title": "Red case",
                "quantity": 2,
                "price": "99.50",
            },
        ],
        "customer": {
            "id": 115310627314723954,
            "email": email,
            "first_name": "Bob",
            "last_name": "Norman",
            "phone": "+15556251199",
            "default_address": {"country_code": "CA", "company": "Norman Ltd"},
            "email_marketing_consent": {
                "state": "subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2026-11-01T10:00:00-05:00",
            },
            "sms_marketing_consent": {"state": "not_subscribed"},
        },
        "refunds": refunds or [],
    }


def shopify_refund(
    order_id: int = 450789469, refund_id: int = 509562969, amount: str = "99.50"
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": "2026-11-21T12:00:00-05:00",
        "note": "wrong colour",
        "transactions": [{"id": 1, "kind": "refund", "amount": amount, "status": "success"}],
    }


def woo_order(
    order_id: int = 727, *, modified: str = "2026-11-20T15:00:00", status: str = "processing"
) -> dict[str, Any]:
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "EUR",
        "date_created_gmt": "2026-11-20T14:55:00",
        "date_modified_gmt": modified,
        "discount_total": "0.00",
        "shipping_total": "4.90",
        "total_tax": "5.70",
        "total": "35.60",
        "customer_id": 26,
        "billing": {
            "first_name": "João",
            "last_name": "Silva",
            "email": "joao.silva@example.com",
            "phone": "+351 912 345 678",
            "country": "PT",
            "company": "",
        },
        "line_items": [
            {
                "id": 315,
                "name": "Woo Single #1",
                "product_id": 93,
                "sku": "WOO-1",
                "quantity": 2,
                "subtotal": "25.00",
                "total": "25.00",
                "price": 12.5,
            }
        ],
        "coupon_lines": [],
        "refunds": [],
    }
