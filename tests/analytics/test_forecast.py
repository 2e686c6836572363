"""The forecast against series whose next value is known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.selectors_forecast import forecast
from analytics.services.rollups import rollups_refresh
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

END = date(2026, 6, 30)


def orders_in_period(back: int, count: int, length: int = 10) -> None:
    """`count` orders of 10.00 in the period `back` periods before the one ending at END."""
    day = END - timedelta(days=length * back + 1)
    for i in range(count):
        OrderFactory(
            contact=ContactFactory(),
            placed_at=datetime(day.year, day.month, day.day, 12, i, tzinfo=UTC),
            total=Decimal("10.00"),
            status="paid",
        )


def test_a_straight_trend_goes_on_with_no_spread() -> None:
    for back, count in ((3, 1), (2, 2), (1, 3), (0, 4)):
        orders_in_period(back, count)
    rollups_refresh()

    result = forecast(Filters(start=END - timedelta(days=9), end=END))

    assert [p.orders for p in result.history] == [1, 2, 3, 4]
    assert (result.next_start, result.next_end) == (date(2026, 7, 1), date(2026, 7, 10))
    assert result.orders is not None and result.net is not None
    assert result.orders.value == pytest.approx(5)
    assert result.orders.high - result.orders.low == pytest.approx(0, abs=1e-9)
    assert result.net.value == pytest.approx(50)


def test_a_wobbling_history_widens_the_interval() -> None:
    for back, count in ((4, 2), (3, 6), (2, 1), (1, 7), (0, 3)):
        orders_in_period(back, count)
    rollups_refresh()

    result = forecast(Filters(start=END - timedelta(days=9), end=END))

    assert result.orders is not None
    assert result.orders.low < result.orders.value < result.orders.high
    assert result.orders.low >= 0


def test_too_little_history_gives_no_forecast() -> None:
    orders_in_period(1, 2)
    orders_in_period(0, 3)
    rollups_refresh()

    result = forecast(Filters(start=END - timedelta(days=9), end=END))

    assert len(result.history) == 2
    assert result.orders is None and result.net is None
    empty = forecast(Filters(start=date(2020, 1, 1), end=date(2020, 1, 10)))
    assert empty.history == [] and empty.orders is None
