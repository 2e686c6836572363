"""The rollups against a small shop computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from analytics.models import Attribution, AttributionDay, CustomerFact, DirtyDay, SalesDay
from analytics.services.rollups import rollups_refresh
from leads.models import Order, Session
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def sales(day: date) -> dict[str, tuple]:
    return {
        row.channel: (
            row.orders,
            row.new_customers,
            row.returned_orders,
            row.gross,
            row.refunds,
            row.net,
        )
        for row in SalesDay.objects.filter(day=day)
    }


@pytest.fixture
def shop() -> dict[str, object]:
    ann = ContactFactory(source_channel="google / cpc", first_touch={"utm_campaign": "spring"})
    bob = ContactFactory(source_channel="direct")
    Session.objects.create(
        contact=ann,
        started_at=at(20, 9, month=2),
        last_activity_at=at(20, 9, month=2),
        channel="google / cpc",
        utm_campaign="spring",
    )
    Session.objects.create(
        contact=ann,
        started_at=at(28, 10, month=2),
        last_activity_at=at(28, 10, month=2),
        channel="facebook / paid-social",
        utm_campaign="retarget",
    )
    first = OrderFactory(contact=ann, placed_at=at(1, 10), total=Decimal("100.00"), status="paid")
    OrderFactory(
        contact=ann,
        placed_at=at(5),
        total=Decimal("50.00"),
        currency="EUR",
        rate_to_base=Decimal("1.10"),
        status="paid",
    )
    OrderFactory(contact=bob, placed_at=at(1, 23), total=Decimal("80.00"), status="cancelled")
    OrderFactory(
        contact=bob,
        placed_at=at(2),
        total=Decimal("40.00"),
        refunded_total=Decimal("10.00"),
        status="partially_refunded",
    )
    OrderFactory(contact=bob, placed_at=at(3), total=Decimal("999.00"), status="pending")
    return {"ann": ann, "bob": bob, "first": first}


def test_sales_days_by_first_touch_channel(shop) -> None:  # type: ignore[no-untyped-def]
    rollups_refresh()

    assert sales(date(2026, 3, 1)) == {
        "google / cpc": (1, 1, 0, Decimal("100.00"), Decimal("0.00"), Decimal("100.00")),
        # A cancelled order is placed and returned; it makes nobody a customer.
        "direct": (1, 0, 1, Decimal("80.00"), Decimal("80.00"), Decimal("0.00")),
    }
    assert sales(date(2026, 3, 2)) == {
        "direct": (1, 1, 1, Decimal("40.00"), Decimal("10.00"), Decimal("30.00")),
    }
    # Converted at the rate stored with the order.
    assert sales(date(2026, 3, 5)) == {
        "google / cpc": (1, 0, 0, Decimal("55.00"), Decimal("0.00"), Decimal("55.00")),
    }
    assert sales(date(2026, 3, 3)) == {}  # pending orders are not placed
    assert not DirtyDay.objects.exists()
    ann = CustomerFact.objects.get(contact=shop["ann"])
    assert (ann.orders, ann.net, ann.first_order_id) == (2, Decimal("155.00"), shop["first"].pk)


def test_a_late_refund_changes_the_day_of_the_order(shop) -> None:  # type: ignore[no-untyped-def]
    rollups_refresh()
    Order.objects.filter(pk=shop["first"].pk).update(
        refunded_total=Decimal("20.00"), status="partially_refunded"
    )
    assert DirtyDay.objects.filter(kind="sales", day=date(2026, 3, 1)).exists()

    report = rollups_refresh()

    assert report.days == {"sales": 1, "traffic": 2}  # the order may complete a visit
    assert sales(date(2026, 3, 1))["google / cpc"][3:] == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("80.00"),
    )
    assert CustomerFact.objects.get(contact=shop["ann"]).net == Decimal("135.00")


def test_an_earlier_order_moves_the_new_customer(shop) -> None:  # type: ignore[no-untyped-def]
    rollups_refresh()
    OrderFactory(
        contact=shop["ann"], placed_at=at(25, month=2), total=Decimal("5.00"), status="paid"
    )

    rollups_refresh()

    assert sales(date(2026, 2, 25))["google / cpc"][:2] == (1, 1)
    assert sales(date(2026, 3, 1))["google / cpc"][:2] == (1, 0)


def test_attribution_models_split_the_order_between_its_touchpoints(shop) -> None:  # type: ignore[no-untyped-def]
    rollups_refresh()

    credits = {
        (a.model, a.channel): (a.credit, a.revenue)
        for a in Attribution.objects.filter(order=shop["first"])
    }
    google, meta = "google / cpc", "facebook / paid-social"
    assert credits[("first", google)] == (Decimal("1"), Decimal("100"))
    assert ("first", meta) not in credits
    assert credits[("last", meta)] == (Decimal("1"), Decimal("100"))
    assert credits[("linear", google)] == (Decimal("0.5"), Decimal("50"))
    assert credits[("position", meta)] == (Decimal("0.5"), Decimal("50"))
    # Time decay, half-life 7 days: the touch 9 d 1 h before counts 2^-(217/168), the one
    # 1 d before 2^-(24/168): shares w1/(w1+w2).
    w_google, w_meta = 0.5 ** (217 / 168), 0.5 ** (24 / 168)
    share = w_google / (w_google + w_meta)
    assert float(credits[("decay", google)][0]) == pytest.approx(share, abs=1e-6)
    # Orders with no touchpoint in the lookback go to direct, whole.
    bob_order = Order.objects.get(contact=shop["bob"], status="partially_refunded")
    assert {
        (a.model, a.channel, a.credit) for a in Attribution.objects.filter(order=bob_order)
    } == {(m, "direct", Decimal("1")) for m in ("first", "last", "linear", "position", "decay")}
    day = AttributionDay.objects.get(day=date(2026, 3, 1), model="first", channel=google)
    assert (day.orders, day.revenue) == (Decimal("1"), Decimal("100"))


def test_an_order_from_the_shop_completes_the_visit_it_was_placed_in() -> None:
    from analytics.models import TrafficDay

    buyer = ContactFactory()
    Session.objects.create(
        contact=buyer,
        started_at=at(9, 23),
        last_activity_at=at(9, 23, month=3).replace(minute=40),
        channel="direct",
    )
    later = ContactFactory()
    Session.objects.create(
        contact=later, started_at=at(9, 10), last_activity_at=at(9, 10), channel="direct"
    )
    rollups_refresh()
    assert TrafficDay.objects.get(day=date(2026, 3, 9)).orders == 0

    # Placed after midnight, 25 minutes after the visit's last page: it completes the visit of
    # the evening before. Another order an hour after a visit does not.
    OrderFactory(contact=buyer, placed_at=at(10, 0).replace(minute=5), status="paid")
    OrderFactory(contact=later, placed_at=at(9, 11).replace(minute=1), status="paid")
    rollups_refresh()

    assert TrafficDay.objects.get(day=date(2026, 3, 9)).orders == 1
