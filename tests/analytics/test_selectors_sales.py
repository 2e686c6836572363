"""Every sales, cost, traffic and funnel figure against a small shop computed by hand.

The shop, all times UTC, period 1 to 2 March 2026:
- Ann (google / cpc, campaign "spring", first seen 20 Feb 08:00): sessions 20 Feb (google,
  3 pages, views product p1) and 28 Feb (facebook, 1 page); order A1 1 Mar 10:00, 100.00 paid,
  2 x p1.
- Bob (direct, first seen 1 Mar 07:00): session 1 Mar 08:00 (1 page) views, adds, checks out
  and orders p1; order B1 1 Mar 23:00 80.00 cancelled; order B2 2 Mar 12:00 40.00 with 10.00
  refunded, 1 x p2.
- Cat (facebook, first seen 2 Mar): session 2 Mar (5 pages) views and adds p2, no order.
- Spend: google 30.00 on 1 Mar, facebook 20.00 on 2 Mar; agency fees 100.00 over 1 to 10 Mar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.models import AdSpend, FunnelTarget, OtherCost
from analytics.selectors_products import segment_growth, top_products
from analytics.selectors_sales import (
    Spend,
    acquisition,
    cohort_retention,
    conversion_by_source,
    lead_funnel,
    rfm_grid,
    roas_by_channel,
    sales_totals,
    shop_funnel,
    spend_totals,
    time_to_purchase,
    traffic_totals,
)
from analytics.services.rollups import rollups_refresh
from leads.models import Contact, Event, OrderLine, Segment, SegmentMembership, Session, StageChange
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

PERIOD = Filters(start=date(2026, 3, 1), end=date(2026, 3, 2))


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def contact(channel: str, seen: datetime, campaign: str = "") -> Contact:
    person = ContactFactory(
        source_channel=channel, first_touch={"utm_campaign": campaign} if campaign else {}
    )
    Contact.objects.filter(pk=person.pk).update(created_at=seen)
    person.refresh_from_db()
    return person


def session(
    person: Contact, started: datetime, channel: str, pages: int, campaign: str = ""
) -> Session:
    return Session.objects.create(
        contact=person,
        started_at=started,
        last_activity_at=started,
        channel=channel,
        utm_campaign=campaign,
        page_views=pages,
    )


def events(person: Contact, visit: Session, *names_products: tuple[str, str]) -> None:
    for minute, (name, product) in enumerate(names_products, start=1):
        properties = {"product_id": product, "name": product.upper()} if product else {}
        Event.objects.create(
            contact=person,
            session=visit,
            name=name,
            properties=properties,
            occurred_at=visit.started_at.replace(minute=minute),
        )


@pytest.fixture
def shop() -> dict[str, Contact]:
    ann = contact("google / cpc", at(2, 20, 8), campaign="spring")
    bob = contact("direct", at(3, 1, 7))
    cat = contact("facebook / paid-social", at(3, 2, 9))
    events(ann, session(ann, at(2, 20, 9), "google / cpc", 3, "spring"), ("Product Viewed", "p1"))
    session(ann, at(2, 28, 10), "facebook / paid-social", 1, "retarget")
    events(
        bob,
        session(bob, at(3, 1, 8), "", 1),
        ("Product Viewed", "p1"),
        ("Product Added", "p1"),
        ("Checkout Started", ""),
        ("Order Completed", ""),
    )
    events(
        cat,
        session(cat, at(3, 2, 11), "facebook / paid-social", 5, "retarget"),
        ("Product Viewed", "p2"),
        ("Product Added", "p2"),
    )
    a1 = OrderFactory(contact=ann, placed_at=at(3, 1, 10), total=Decimal("100.00"), status="paid")
    OrderLine.objects.create(
        order=a1, external_id="l1", sku="p1", name="P1", quantity=2, total=Decimal("100.00")
    )
    OrderFactory(contact=bob, placed_at=at(3, 1, 23), total=Decimal("80.00"), status="cancelled")
    b2 = OrderFactory(
        contact=bob,
        placed_at=at(3, 2, 12),
        total=Decimal("40.00"),
        refunded_total=Decimal("10.00"),
        status="partially_refunded",
    )
    OrderLine.objects.create(
        order=b2, external_id="l2", sku="p2", name="P2", quantity=1, total=Decimal("40.00")
    )
    AdSpend.objects.create(
        day=date(2026, 3, 1),
        channel="google / cpc",
        campaign="spring",
        currency="USD",
        cost=Decimal("30.00"),
        cost_base=Decimal("30.00"),
        clicks=12,
        impressions=400,
    )
    AdSpend.objects.create(
        day=date(2026, 3, 2),
        channel="facebook / paid-social",
        campaign="retarget",
        currency="USD",
        cost=Decimal("20.00"),
        cost_base=Decimal("20.00"),
    )
    OtherCost.objects.create(
        kind="agency",
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 3, 10),
        currency="USD",
        amount=Decimal("100.00"),
        amount_base=Decimal("100.00"),
    )
    for person, stage, when in (
        (ann, "lead", at(2, 20, 9)),
        (ann, "mql", at(2, 25, 9)),
        (ann, "customer", at(3, 1, 10)),
        (bob, "customer", at(3, 2, 12)),
    ):
        StageChange.objects.create(contact=person, to_stage=stage, at=when, cause_kind="order")
    rollups_refresh()
    return {"ann": ann, "bob": bob, "cat": cat}


def test_sales_and_returns(shop) -> None:  # type: ignore[no-untyped-def]
    totals = sales_totals(PERIOD)

    assert (totals.orders, totals.new_customers, totals.returned_orders) == (3, 2, 2)
    assert (totals.gross, totals.refunds, totals.net) == (
        Decimal("220.00"),
        Decimal("90.00"),
        Decimal("130.00"),
    )
    assert totals.aov == Decimal("73.33")
    assert totals.returns_rate == Decimal(2) / Decimal(3)
    assert sales_totals(
        Filters(start=PERIOD.start, end=PERIOD.end, channel="google / cpc")
    ).net == Decimal("100.00")
    assert sales_totals(Filters(start=PERIOD.start, end=PERIOD.end, source="google")).orders == 1
    assert sales_totals(Filters(start=PERIOD.start, end=PERIOD.end, campaign="spring")).orders == 1


def test_cac_clv_and_their_ratio(shop) -> None:  # type: ignore[no-untyped-def]
    spend = spend_totals(PERIOD)
    assert (spend.ads, spend.other, spend.total) == (
        Decimal("50.00"),
        Decimal("20.00"),
        Decimal("70.00"),
    )

    result = acquisition(PERIOD, sales_totals(PERIOD))

    assert result.cac == Decimal("35.00")
    assert result.clv == Decimal("65.00")  # (100 + 30) / 2
    assert result.clv_to_cac == Decimal("65.00") / Decimal("35.00")
    # Fees booked to no channel are shared: a channel's CAC counts its own spend only.
    google = Filters(start=PERIOD.start, end=PERIOD.end, channel="google / cpc")
    assert spend_totals(google).total == Decimal("30.00")
    spring = Filters(start=PERIOD.start, end=PERIOD.end, campaign="spring")
    assert spend_totals(spring) == Spend(ads=Decimal("30.00"), other=Decimal("0"))


def test_no_new_customers_means_no_cac(shop) -> None:  # type: ignore[no-untyped-def]
    quiet = Filters(start=date(2026, 3, 5), end=date(2026, 3, 6))
    result = acquisition(quiet, sales_totals(quiet))
    assert result.spend.total == Decimal("20.00")
    assert (result.cac, result.clv, result.clv_to_cac) == (None, None, None)


def test_roas_by_channel_under_first_touch(shop) -> None:  # type: ignore[no-untyped-def]
    rows = {r["channel"]: r for r in roas_by_channel(PERIOD)}

    assert rows["google / cpc"]["revenue"] == Decimal("100.00")
    assert rows["google / cpc"]["roas"] == Decimal("100.00") / Decimal("30.00")
    assert rows["facebook / paid-social"]["roas"] == 0
    assert rows["direct"]["revenue"] == Decimal("30.00")
    assert rows["direct"]["roas"] is None  # no spend, no ratio
    last = {
        r["channel"]: r
        for r in roas_by_channel(Filters(start=PERIOD.start, end=PERIOD.end, model="last"))
    }
    assert last["facebook / paid-social"]["revenue"] == Decimal("100.00")


def test_traffic_and_the_shop_funnel(shop) -> None:  # type: ignore[no-untyped-def]
    FunnelTarget.objects.create(funnel="shop", step="carts", rate=Decimal("0.5"))
    FunnelTarget.objects.create(funnel="shop", step="orders", rate=Decimal("0.9"))
    traffic = traffic_totals(PERIOD)
    assert (traffic["sessions"], traffic["bounces"], traffic["bounce_rate"]) == (
        2,
        1,
        Decimal("0.5"),
    )

    steps = shop_funnel(PERIOD)

    assert [s["count"] for s in steps] == [2, 2, 2, 1, 1]
    assert steps[3]["drop_off"] == Decimal("0.5")
    assert (steps[2]["target"], steps[2]["on_target"]) == (Decimal("0.5"), True)
    assert steps[4]["on_target"] is True and steps[3]["target"] is None


def test_the_lead_funnel_counts_first_arrivals(shop) -> None:  # type: ignore[no-untyped-def]
    # Ann reached lead and MQL in February; on 1 March she first got as far as SQL (by
    # becoming a customer). Bob went straight to customer, passing every level at once.
    assert [(s["step"], s["count"]) for s in lead_funnel(PERIOD)] == [
        ("lead", 1),
        ("mql", 1),
        ("sql", 2),
        ("customer", 2),
    ]


def test_conversion_by_source(shop) -> None:  # type: ignore[no-untyped-def]
    rows = {r["channel"]: r for r in conversion_by_source(PERIOD)}

    assert (rows["direct"]["sessions"], rows["direct"]["ordering_sessions"]) == (1, 1)
    assert (rows["direct"]["contacts"], rows["direct"]["customers"]) == (1, 1)
    assert rows["facebook / paid-social"]["session_conversion"] == 0
    assert rows["facebook / paid-social"]["contact_conversion"] == 0
    assert "google / cpc" not in rows  # Ann's visit and sign-up were in February


def test_time_to_purchase(shop) -> None:  # type: ignore[no-untyped-def]
    result = time_to_purchase(PERIOD)

    ann_days, bob_days = (9 * 24 + 2) / 24, 29 / 24
    assert result["customers"] == 2
    assert result["median"] == pytest.approx((ann_days + bob_days) / 2)
    assert [count for _label, count in result["buckets"]] == [0, 1, 1, 0, 0]


def test_top_products(shop) -> None:  # type: ignore[no-untyped-def]
    top = top_products(PERIOD)

    assert [(r["product"], r["views"]) for r in top["viewed"]] == [("p1", 1), ("p2", 1)]
    assert [(r["product"], r["abandoned"]) for r in top["abandoned"]] == [("p2", 1)]
    assert [(r["product"], r["quantity"], r["revenue"]) for r in top["bought"]] == [
        ("p1", 2, Decimal("100.00")),
        ("p2", 1, Decimal("40.00")),
    ]


def test_cohorts(shop) -> None:  # type: ignore[no-untyped-def]
    [march] = cohort_retention(PERIOD)
    assert (march["cohort"], march["size"]) == (date(2026, 3, 1), 2)
    assert march["retention"] == [(0, Decimal(1))]


def test_segment_growth(shop) -> None:  # type: ignore[no-untyped-def]
    vip = Segment.objects.create(name="VIP", kind="static", member_count=1)
    SegmentMembership.objects.create(
        segment=vip, contact=shop["ann"], entered_at=at(3, 1, 9), via="hand"
    )
    SegmentMembership.objects.create(
        segment=vip,
        contact=shop["bob"],
        entered_at=at(2, 1, 9),
        exited_at=at(3, 2, 9),
        via="hand",
    )

    rows = {r["name"]: r for r in segment_growth(PERIOD)}  # the shipped RFM segments too
    row = rows["VIP"]

    assert (row["name"], row["members"], row["entered"], row["exited"]) == ("VIP", 1, 1, 1)


def test_a_segment_filter_reads_the_raw_tables(shop) -> None:  # type: ignore[no-untyped-def]
    vip = Segment.objects.create(name="Bob only", kind="static", member_count=1)
    SegmentMembership.objects.create(
        segment=vip, contact=shop["bob"], entered_at=at(2, 1, 9), via="hand"
    )
    only_bob = Filters(start=PERIOD.start, end=PERIOD.end, segment=vip.pk)

    assert sales_totals(only_bob).net == Decimal("30.00")
    assert time_to_purchase(only_bob)["customers"] == 1
    assert {r["channel"] for r in roas_by_channel(only_bob) if r["revenue"]} == {"direct"}


def test_the_rfm_grid_scores_against_the_cutoffs_even_when_there_are_few(shop) -> None:  # type: ignore[no-untyped-def]
    from leads.models import RfmCutoffs

    assert rfm_grid() == {"cells": [], "customers": 0}  # no cutoffs computed yet
    RfmCutoffs.objects.create(
        computed_at=at(3, 3, 0),
        customers=2,
        recency=[at(3, 1, 12)],
        frequency=[1],
        monetary=[Decimal("50")],
    )
    rollups_refresh()  # new cutoffs: the grid is scored again at once, not with the cohorts

    cells = {(c["r"], c["f"]): (c["customers"], c["net"]) for c in rfm_grid()["cells"]}

    # Ann last ordered before the one recency cutoff, Bob after it; both ordered once.
    assert cells == {(1, 1): (1, Decimal("100.00")), (2, 1): (1, Decimal("30.00"))}
