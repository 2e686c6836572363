"""Orders are stored with their rate to the reporting currency."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from growth.models import CurrencyRate
from leads.services.orders import OrderData, order_upsert
from tests.leads.factories import ContactFactory, SourceFactory

pytestmark = pytest.mark.django_db


def upsert(currency: str, order_id: str) -> Decimal:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    data = OrderData(
        shop_order_id=order_id,
        order_number=order_id,
        status="paid",
        currency=currency,
        subtotal=Decimal("10"),
        discount_total=Decimal("0"),
        shipping_total=Decimal("0"),
        tax_total=Decimal("0"),
        total=Decimal("10"),
        coupon_codes=[],
        placed_at=now,
        updated_at=now,
    )
    with transaction.atomic():
        order, _created, _applied = order_upsert(
            source=SourceFactory(kind="shopify"), contact=ContactFactory(), data=data
        )
    return order.rate_to_base


def test_orders_keep_the_rate_of_their_currency(settings, caplog) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_BASE_CURRENCY = "USD"
    CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("1.08"))

    assert upsert("EUR", "1") == Decimal("1.08")
    assert upsert("usd", "2") == Decimal("1")
    with caplog.at_level(logging.WARNING, logger="growth.currency"):
        assert upsert("JPY", "3") == Decimal("1")
    assert "no rate from JPY to USD" in caplog.text
