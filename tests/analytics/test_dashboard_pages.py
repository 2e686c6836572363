"""The dashboards (manager, marketing, sales), their CSV exports, the orders behind the
figures and the definitions page, against a small shop computed by hand.

The shop, March 2026 (UTC is the reporting time zone of the tests):
- Ann, first touch google / cpc (campaign "spring"), created 20 Feb; sessions on 28 Feb
  (google / cpc, spring) and 9 Mar 10:00 (facebook / paid-social, retarget; 3 pages; she
  views the "Blue mug"); orders 1 Mar 10:00 100.00 USD paid (2 mugs) and 10 Mar 50.00 EUR at
  1.10 = 55.00 paid.
- Bob, direct, created 2 Mar 09:00; a session at 10:00 (direct, 1 page: a bounce; he puts a
  "Tee" in his cart and leaves); orders 2 Mar 40.00 partly refunded 10.00 (net 30.00), 3 Mar
  80.00 cancelled (net 0), and 4 Mar a pending 999.00 (not placed: never counted); he
  becomes a lead and a customer on 2 Mar.
- Ad spend on google / cpc, spring: 1 Mar 30.00 and 2 Mar 20.00 (50 clicks, 500 views each).

For March: 4 placed orders, gross 275.00, net 185.00, refunds 90.00, AOV 275 / 4 = 68.75;
2 returned: 50.0 %; 2 new customers (Ann 1 Mar, Bob 2 Mar: his first order not cancelled);
CAC 50.00 / 2 = 25.00; historical CLV (155.00 + 30.00) / 2 = 92.50; CLV:CAC 92.50 / 25.00 =
3.70. First touch credits Ann's 155.00 to google / cpc: ROAS 155.00 / 50.00 = 3.10. Last
touch gives her 10 Mar order to facebook (9 Mar), so google keeps 100.00: ROAS 2.00.
Time to purchase: Ann 8 d 22 h (8.92 d), Bob 3 h (0.125 d): median 4.52 d.
Traffic: 2 sessions (Feb 28 is outside), 1 bounce: 50.0 %; both reached a product (view,
cart), one a cart.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.definitions import DEFINITIONS
from analytics.filters import today
from analytics.models import AdSpend, ClvFit, CustomerPrediction, FunnelTarget
from analytics.services.clv import predictions_roll_up
from analytics.services.rollups import rollups_refresh
from automations.models import Survey
from cadences.models import Touch
from growth.roles import Role
from leads.models import Contact, Event, OrderLine, Segment, SegmentMembership, Session, StageChange
from tests.analytics.test_selectors_engagement import (
    answer,
    enroll,
    journey,
    message,
    new_survey,
    run,
)
from tests.cadences.helpers import published
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
PAGES = ("dashboards", "dashboards_marketing", "dashboards_sales")
NBSP = "\u00a0"


def at(day: int, hour: int = 12, month: int = 3, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def session(
    contact: Contact, when: datetime, channel: str, campaign: str = "", pages: int = 2
) -> Session:
    return Session.objects.create(
        contact=contact,
        started_at=when,
        last_activity_at=when,
        channel=channel,
        utm_campaign=campaign,
        page_views=pages,
    )


def build_shop(campaign: str = "spring") -> dict[str, Any]:
    """The shop of this module's docstring, rolled up. Another `campaign` builds a second,
    identical shop beside the first (twice the data)."""
    ann = ContactFactory(
        first_name="Ann",
        last_name="Archer",
        source_channel="google / cpc",
        first_touch={"utm_campaign": campaign},
    )
    bob = ContactFactory(first_name="Bob", last_name="Baker", source_channel="direct")
    Contact.objects.filter(pk=ann.pk).update(created_at=at(20, month=2))
    Contact.objects.filter(pk=bob.pk).update(created_at=at(2, 9))
    session(ann, at(28, 10, month=2), "google / cpc", campaign)
    visit = session(ann, at(9, 10), "facebook / paid-social", "retarget", pages=3)
    mug = {"product_id": "mug", "name": "Blue mug"}
    Event.objects.create(
        contact=ann, session=visit, name="Product Viewed", properties=mug, occurred_at=at(9, 10)
    )
    cart = session(bob, at(2, 10), "direct", pages=1)
    Event.objects.create(
        contact=bob,
        session=cart,
        name="Product Added",
        properties={"product_id": "tee", "name": "Tee"},
        occurred_at=at(2, 10, minute=5),
    )
    first = OrderFactory(contact=ann, placed_at=at(1, 10), total=Decimal("100.00"), status="paid")
    OrderLine.objects.create(
        order=first, sku="mug", name="Blue mug", quantity=2, unit_price=50, total=100
    )
    OrderFactory(
        contact=ann,
        placed_at=at(10),
        total=Decimal("50.00"),
        currency="EUR",
        rate_to_base=Decimal("1.10"),
        status="paid",
    )
    OrderFactory(
        contact=bob,
        placed_at=at(2),
        total=Decimal("40.00"),
        refunded_total=Decimal("10.00"),
        status="partially_refunded",
    )
    OrderFactory(contact=bob, placed_at=at(3), total=Decimal("80.00"), status="cancelled")
    OrderFactory(contact=bob, placed_at=at(4), total=Decimal("999.00"), status="pending")
    for day, cost in ((1, "30.00"), (2, "20.00")):
        AdSpend.objects.create(
            day=date(2026, 3, day),
            channel="google / cpc",
            campaign=campaign,
            currency="USD",
            cost=Decimal(cost),
            cost_base=Decimal(cost),
            clicks=50,
            impressions=500,
        )
    for stage, when in (("lead", at(2, 9)), ("customer", at(2, 12))):
        StageChange.objects.create(contact=bob, to_stage=stage, at=when, cause_kind="order")
    rollups_refresh()
    return {"ann": ann, "bob": bob, "first": first}


@pytest.fixture
def shop() -> dict[str, Any]:
    return build_shop()


def page(client: Client, name: str, **params: Any) -> Any:
    response = client.get(reverse(name), params)
    assert response.status_code == 200, response.content[:3000]
    response.html = unescape(response.content.decode())
    return response


def values(response: Any) -> dict[str, str]:
    """The KPI cards' values, as the page shows them."""
    return dict(re.findall(r'data-testid="value-([\w-]+)">([^<]*)<', response.html))


def figure(response: Any, key: str) -> dict[str, Any]:
    """The plotly figure of a chart, as the page hands it to charts.js."""
    raw = response.content.decode()
    found = re.search(rf'<script id="figure-{key}" type="application/json">(.*?)</script>', raw)
    assert found, f"no figure {key}"
    result: dict[str, Any] = json.loads(found.group(1))
    return result


def chart(response: Any, key: str) -> Any:
    return next(c for c in response.context["charts"] if c.key == key)


def table(response: Any, key: str) -> list[list[str]]:
    return [[cell.text for cell in row] for row in chart(response, key).table.rows]


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def export(client: Client, key: str, **params: Any) -> list[list[str]]:
    return read_csv(client.get(reverse("dashboards_export", args=[key]), params))


# --- The manager -----------------------------------------------------------------------------


def test_the_manager_reads_the_hand_computed_figures(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    response = page(client_as(Role.MANAGER), "dashboards", **MARCH)

    assert values(response) == {
        "net_revenue": "185.00",
        "orders": "4",
        "aov": "68.75",
        "new_customers": "2",
        "cac": "25.00",
        "clv": "92.50",
        "predictive_clv": "\u2014",  # no fit yet
        "clv_to_cac": "\u00d73.70",
        "roas": "\u00d73.10",
        "returns_rate": f"50.0{NBSP}%",
    }
    html = response.html
    assert "gross 275.00, refunds 90.00" in html
    assert "50.00 spent (ads 50.00, other 0.00) for 2 new customers" in html
    assert "155.00 attributed (first touch) on 50.00 of ad spend" in html
    assert "From 2026-03-01 to 2026-03-31 (31 days, UTC)." in html
    for key in (
        "revenue",
        "roas-by-channel",
        "conversion-by-source",
        "time-to-purchase",
        "shop-funnel",
        "lead-funnel",
        "cohort-retention",
    ):
        assert f'data-figure="figure-{key}"' in html
        assert f'data-testid="table-{key}"' in html and f'data-testid="how-{key}"' in html
    for key in ("rfm-grid", "p-alive", "forecast"):  # no cutoffs, no fit, one period of history
        assert f'data-testid="empty-{key}"' in html
    assert 'data-testid="empty-dashboard"' not in html

    net = figure(response, "revenue")["data"][0]
    assert net["x"][:3] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert net["y"][:3] == [100.0, 30.0, 0.0] and net["y"][9] == 55.0 and sum(net["y"]) == 185.0
    revenue = table(response, "revenue")
    assert revenue[0] == ["2026-03-01", "1", "1", "100.00", "100.00"]
    assert [c.text for c in chart(response, "revenue").table.foot[0]] == [
        "Total",
        "4",
        "2",
        "275.00",
        "185.00",
    ]
    assert table(response, "roas-by-channel") == [
        ["google / cpc", "50.00", "100", "1,000", "2.00", "155.00", "\u00d73.10"],
        ["direct", "0.00", "0", "0", "2.00", "30.00", "\u2014"],
    ]
    assert table(response, "conversion-by-source") == [
        ["direct", "1", "0", f"0.0{NBSP}%", "1", "1", f"100.0{NBSP}%"],
        ["facebook / paid-social", "1", "0", f"0.0{NBSP}%", "0", "0", "\u2014"],
    ]
    assert chart(response, "conversion-by-source").table.rows[0][0].url == (
        "/contacts/?created_from=2026-03-01&created_to=2026-03-31&source=direct"
    )
    assert chart(response, "time-to-purchase").facts[:3] == [
        ("median", "4.5 d"),
        ("p75", "6.7 d"),
        ("p90", "8.0 d"),
    ]
    assert table(response, "time-to-purchase") == [
        ["same day", "1"],
        ["1 to 7 days", "0"],
        ["8 to 30 days", "1"],
        ["31 to 90 days", "0"],
        ["over 90 days", "0"],
    ]
    percent = [f"{n}{NBSP}%" for n in ("0.0", "50.0", "100.0")]
    assert table(response, "shop-funnel") == [
        ["Visit", "2", "\u2014", "\u2014", "\u2014", percent[2]],
        ["Product view", "2", percent[2], percent[0], "\u2014", percent[2]],
        ["Cart", "1", percent[1], percent[1], "\u2014", percent[1]],
        ["Checkout", "0", percent[0], percent[2], "\u2014", percent[0]],
        ["Order", "0", "\u2014", "\u2014", "\u2014", percent[0]],  # nothing to divide
    ]
    assert [row[:2] for row in table(response, "lead-funnel")] == [
        ["Lead", "1"],
        ["MQL", "1"],  # Bob skipped MQL and SQL: he reached them too
        ["SQL", "1"],
        ["Customer", "1"],
    ]
    assert table(response, "cohort-retention") == [["2026-03", "2", f"100.0{NBSP}%"]]
    assert "No targets are set for this funnel's steps." in html
    # The filter bar suggests the channels and campaigns the rollups know.
    assert '<option value="google / cpc">' in html and '<option value="spring">' in html
    assert '<option value="facebook">' in html  # a source: the part before " / "


def test_the_forecast_once_there_is_history(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    from analytics.filters import Filters
    from analytics.selectors_forecast import forecast

    # Three-day periods back from 10 Mar: 8-10 Mar (1 order), 5-7 (0), 2-4 (2), 27 Feb-1 Mar (1).
    days = {"from": "2026-03-08", "to": "2026-03-10"}
    client = client_as(Role.MANAGER)

    response = page(client, "dashboards", **days)

    expected = forecast(Filters(start=date(2026, 3, 8), end=date(2026, 3, 10)))
    assert [p.orders for p in expected.history] == [1, 2, 0, 1]
    assert expected.orders is not None and expected.net is not None
    facts = dict(chart(response, "forecast").facts)
    assert facts["orders, 2026-03-11 to 2026-03-13"].startswith(f"{round(expected.orders.value)} (")
    bars = figure(response, "forecast")["data"]
    assert bars[0]["y"] == [100.0, 30.0, 0.0, 55.0] and bars[1]["x"] == ["2026-03-13"]
    rows = export(client, "forecast", **days)
    assert [row[2] for row in rows[1:]] == ["actual"] * 4 + ["forecast"]
    assert rows[5][:2] == ["2026-03-11", "2026-03-13"]
    assert rows[5][6] == str(Decimal(str(expected.net.value)).quantize(Decimal("0.01")))


def test_links_lead_to_what_is_behind_each_figure_and_how_it_is_computed(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    response = page(client_as(Role.MANAGER), "dashboards", **MARCH)
    cards = {card.key: card for card in response.context["cards"]}
    behind = "/dashboards/orders/?from=2026-03-01&to=2026-03-31"
    assert cards["net_revenue"].url == f"{behind}&kind=all"
    assert cards["new_customers"].url == f"{behind}&kind=new"
    assert cards["cac"].url == f"{behind}&kind=new"
    assert cards["returns_rate"].url == f"{behind}&kind=returned"
    assert cards["roas"].url == "#chart-roas-by-channel"
    for card in cards.values():
        assert card.definition is not None
        assert f'href="/dashboards/definitions/#{card.definition.anchor}"' in response.html
    for item in response.context["charts"]:
        assert item.csv_url.startswith(f"/dashboards/export/{item.key}.csv?from=2026-03-01")
    assert chart(response, "revenue").drill_url == f"{behind}&kind=all"
    assert chart(response, "time-to-purchase").drill_url == f"{behind}&kind=new"

    definitions = page(client_as(Role.MANAGER), "dashboards_definitions").html
    for definition in DEFINITIONS.values():
        assert f'id="{definition.anchor}"' in definitions
    assert "(ad spend + other acquisition cost) ÷ new customers" in definitions.lower()
    assert "analytics_adspend.cost_base" in definitions


def test_compare_shows_the_previous_period_and_the_change(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    carl = ContactFactory(source_channel="direct")
    OrderFactory(contact=carl, placed_at=at(10, month=2), total=Decimal("20.00"), status="paid")
    rollups_refresh()

    response = page(client_as(Role.MANAGER), "dashboards", **MARCH, compare="1")

    cards = {card.key: card for card in response.context["cards"]}
    assert "Compared with 2026-01-29 to 2026-02-28." in response.html
    assert (cards["net_revenue"].previous, cards["net_revenue"].change.text) == (
        "20.00",
        f"+825.0{NBSP}%",  # (185 - 20) / 20
    )
    assert cards["net_revenue"].change.tone == "good"
    assert (cards["orders"].previous, cards["orders"].change.text) == ("1", f"+300.0{NBSP}%")
    # A share changes by percentage points; a returns rate going up is bad news.
    assert (cards["returns_rate"].previous, cards["returns_rate"].change.text) == (
        f"0.0{NBSP}%",
        "+50.0 pp",
    )
    assert cards["returns_rate"].change.tone == "bad"
    # Carl was February's new customer, and nothing was spent then: free.
    assert (cards["cac"].previous, cards["cac"].change.text) == ("0.00", "new")
    assert cards["predictive_clv"].previous is None  # not a figure of the period
    assert 'data-testid="compare-net_revenue"' in response.html
    previous = figure(response, "revenue")["data"][1]
    assert previous["name"] == "Net revenue, previous period"
    assert previous["customdata"][12] == "2026-02-10" and previous["y"][12] == 20.0


def test_a_segment_reads_its_members_orders(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    persona = Segment.objects.create(name="Mug lovers", kind=Segment.Kind.PERSONA)
    SegmentMembership.objects.create(segment=persona, contact=shop["ann"], entered_at=at(1))

    response = page(client_as(Role.MANAGER), "dashboards", **MARCH, segment=persona.pk)

    assert values(response)["net_revenue"] == "155.00"
    assert values(response)["orders"] == "2"
    assert f'<option value="{persona.pk}" selected>Mug lovers</option>' in response.html
    assert "traffic, ad spend, the lead funnel and cohorts are not split by segment" in (
        response.html
    )


def test_funnel_targets_are_shown_met_or_missed(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    FunnelTarget.objects.create(funnel="shop", step="carts", rate=Decimal("0.6"))
    FunnelTarget.objects.create(funnel="shop", step="product_views", rate=Decimal("0.9"))
    client = client_as(Role.MANAGER)

    response = page(client, "dashboards", **MARCH)

    rows = chart(response, "shop-funnel").table.rows
    assert [(r[0].text, r[2].text, r[2].tone, r[4].text) for r in rows[1:3]] == [
        ("Product view", f"100.0{NBSP}%", "good", f"90.0{NBSP}%"),
        ("Cart", f"50.0{NBSP}%", "bad", f"60.0{NBSP}%"),
    ]
    marks = figure(response, "shop-funnel")["data"][1]
    assert (marks["name"], marks["x"], marks["y"]) == (
        "Target",
        [1.8, 1.2],
        ["Product view", "Cart"],
    )
    assert export(client, "shop-funnel", **MARCH)[2:4] == [
        ["product_views", "2", "1.0000", "0.0000", "1.0000", "0.9000", "yes"],
        ["carts", "1", "0.5000", "0.5000", "0.5000", "0.6000", "no"],
    ]


def test_predictive_clv_once_fitted(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    ClvFit.objects.create(fitted_at=at(31), customers=2, repeat_buyers=1, predicted=2)
    for contact, alive, orders, clv in (
        (shop["ann"], 0.9, 2.5, "120.00"),
        (shop["bob"], 0.4, 0.5, "20.00"),
    ):
        CustomerPrediction.objects.create(
            contact=contact, p_alive=alive, expected_orders=orders, predicted_clv=Decimal(clv)
        )
    predictions_roll_up()  # as the fit does after storing its predictions
    client = client_as(Role.MANAGER)

    response = page(client, "dashboards", **MARCH)

    assert values(response)["predictive_clv"] == "70.00"
    assert f"over the next 52 weeks; alive 65.0{NBSP}%, 3.0 orders expected" in response.html
    assert figure(response, "p-alive")["data"][0]["y"] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    rows = export(client, "p-alive", **MARCH)
    assert rows[0] == ["p_alive_from", "p_alive_to", "customers"]
    assert rows[5] == ["0.4000", "0.5000", "1"] and rows[10] == ["0.9000", "1.0000", "1"]


# --- The marketer ----------------------------------------------------------------------------


def test_the_marketer_reads_campaigns_traffic_and_attribution(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MARKETER)

    response = page(client, "dashboards_marketing", **MARCH)

    assert values(response) == {
        "spend": "50.00",
        "attributed_revenue": "155.00",
        "roas": "\u00d73.10",
        "sessions": "2",
        "bounce_rate": f"50.0{NBSP}%",
        "nps": "\u2014",
        "csat": "\u2014",
    }
    assert table(response, "campaigns") == [
        ["google / cpc", "spring", "50.00", "100", "1,000", "2.00", "155.00", "\u00d73.10"],
        ["direct", "\u2014", "0.00", "0", "0", "2.00", "30.00", "\u2014"],
    ]
    # Time decay: Ann's 10 Mar order was touched 242 h (google) and 26 h (facebook) before;
    # with a 7-day half-life google gets 0.5^(242/168) / (0.5^(242/168) + 0.5^(26/168)) of
    # 55.00 = 16.00.
    assert table(response, "attribution-models") == [
        ["google / cpc", "155.00", "100.00", "127.50", "127.50", "116.00"],
        ["direct", "30.00", "30.00", "30.00", "30.00", "30.00"],
        ["facebook / paid-social", "0.00", "55.00", "27.50", "27.50", "39.00"],
    ]
    bars = figure(response, "attribution-models")["data"]
    assert [trace["name"] for trace in bars] == [
        "first touch ✓",
        "last touch",
        "linear",
        "position-based (40/20/40)",
        "time decay",
    ]
    traffic = table(response, "traffic")
    assert traffic[1] == ["2026-03-02", "1", "1", f"100.0{NBSP}%"]
    assert traffic[0] == ["2026-03-01", "0", "0", "\u2014"]  # no session: no rate
    assert table(response, "top-products") == [
        ["1", "Blue mug (1 views)", "Blue mug (2 units)", "Tee (1 carts left)"]
    ]
    for key in ("journeys", "messages", "segment-growth"):
        assert f'data-testid="empty-{key}"' in response.html
    # The marketer may open the ad spend behind the figures.
    assert chart(response, "campaigns").drill_url == "/ad-spend/?start=2026-03-01&end=2026-03-31"


def test_the_marketer_switches_the_attribution_model(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MARKETER)

    response = page(client, "dashboards_marketing", **MARCH, model="last")

    assert values(response)["roas"] == "\u00d72.00"
    assert values(response)["attributed_revenue"] == "100.00"
    assert [row[:2] + row[-2:] for row in table(response, "campaigns")] == [
        ["google / cpc", "spring", "100.00", "\u00d72.00"],
        ["facebook / paid-social", "retarget", "55.00", "\u2014"],
        ["direct", "\u2014", "30.00", "\u2014"],
    ]
    assert '<option value="last" selected>' in response.html
    assert [t["name"] for t in figure(response, "attribution-models")["data"]][1] == "last touch ✓"
    manager = page(client, "dashboards", **MARCH, model="last")
    assert values(manager)["roas"] == "\u00d72.00"  # one ROAS, on both dashboards


def test_journeys_messages_surveys_and_segments(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    ann, bob = shop["ann"], shop["bob"]
    welcome = journey("Welcome")
    run(welcome, ann, at(5), "converted", at(11))  # her 10 Mar order came during the run
    run(welcome, bob, at(5), "waiting")
    message(ann, at(5), "clicked", journey=welcome, delivered=True, opened=True, clicked=True)
    message(bob, at(5), "delivered", journey=welcome, delivered=True)
    message(bob, at(6), "bounced", journey=welcome)
    message(bob, at(6), "sent", channel="sms")
    nps = new_survey("After delivery", Survey.Kind.NPS)
    for score in (10, 9, 3):
        answer(nps, score, at(7))
    vip = Segment.objects.create(name="VIP", member_count=1)
    SegmentMembership.objects.create(segment=vip, contact=ann, entered_at=at(3))
    SegmentMembership.objects.create(segment=vip, contact=bob, entered_at=at(3), exited_at=at(4))
    client = client_as(Role.MARKETER)

    response = page(client, "dashboards_marketing", **MARCH)

    assert values(response)["nps"] == "+33"  # 2 promoters, 1 detractor of 3
    assert table(response, "journeys") == [
        ["Welcome", "active", "2", "1", "1", f"50.0{NBSP}%", "3", "1", "1", "55.00"]
    ]
    assert chart(response, "journeys").table.rows[0][0].url == f"/journeys/{welcome.pk}/results/"
    email, sms = table(response, "messages")
    assert email[:8] == [
        "E-mail",
        "3",
        "2",
        f"66.7{NBSP}%",
        "1",
        f"50.0{NBSP}%",
        "1",
        f"50.0{NBSP}%",
    ]
    assert sms[:6] == ["SMS", "1", "0", f"0.0{NBSP}%", "\u2014", "\u2014"]  # SMS: no opens
    assert export(client, "messages", **MARCH)[2][:6] == ["sms", "1", "0", "0.0000", "", ""]
    vip_row = next(row for row in table(response, "segment-growth") if row[0] == "VIP")
    assert vip_row == ["VIP", "dynamic", "1", "2", "1", "1"]
    assert 'data-figure="figure-journeys"' in response.html
    assert 'data-figure="figure-messages"' in response.html


# --- The sales manager -----------------------------------------------------------------------


def test_the_sales_manager_reads_speed_to_lead_and_cadences(client_as) -> None:  # type: ignore[no-untyped-def]
    fast = published("Fast")
    q = at(10, 9)
    quick = enroll(
        fast, q, "qualified", qualified_at=q, first_touch_at=q + timedelta(minutes=10),
        sla_due_at=q + timedelta(minutes=30),
    )  # fmt: skip
    enroll(fast, q, qualified_at=q, sla_due_at=q + timedelta(minutes=30))  # never touched
    Touch.objects.create(
        enrollment=quick, contact=quick.contact, step=1, kind="call",
        disposition=Touch.Disposition.MEETING, key="test:meeting",
    )  # fmt: skip
    client = client_as(Role.SALES_MANAGER)

    response = page(client, "dashboards_sales", **MARCH)

    assert values(response) == {
        "qualified": "2",
        "touched": "1",
        "median_speed": "10 min",
        "sla_rate": f"50.0{NBSP}%",
    }
    assert "1 of 2 decided SLAs; 1 missed" in response.html
    speed = table(response, "speed-to-lead")
    assert speed[1] == ["≤ 15 min", "1", f"50.0{NBSP}%", f"12.3{NBSP}%"]
    assert speed[-1] == ["not touched yet", "1", f"50.0{NBSP}%", "\u2014"]
    assert table(response, "cadences")[0][:9] == [
        "Fast",
        "active",
        "2",
        f"50.0{NBSP}%",
        f"0.0{NBSP}%",
        f"50.0{NBSP}%",
        "1",
        "0",
        f"50.0{NBSP}%",
    ]
    assert 'data-testid="team-link"' in response.html
    assert chart(response, "speed-to-lead").drill_url == (
        "/team/?period=custom&date_from=2026-03-01&date_to=2026-03-31"
    )
    assert export(client, "speed-to-lead", **MARCH)[:3] == [
        ["bucket", "leads", "share", "seed_reach_rate_percent"],
        ["m5", "0", "0.0000", "7.1"],
        ["m15", "1", "0.5000", "12.3"],
    ]


# --- Empty and wrong ------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_an_empty_shop_says_what_to_do(client_as, name) -> None:  # type: ignore[no-untyped-def]
    response = page(client_as(Role.MANAGER), name)

    html = response.html
    assert 'data-testid="empty-dashboard"' in html
    assert 'class="chart"' not in html  # no empty axes
    for item in response.context["charts"]:
        assert item.figure is None and item.empty_what and item.empty_how
        assert f'data-testid="empty-{item.key}"' in html
    assert "Connect your shop under Sources" in html or "Every MQL enters a cadence" in html
    assert 'hx-trigger="every 30s"' in html


def test_empty_cards_show_a_dash_never_a_division_by_zero(client_as) -> None:  # type: ignore[no-untyped-def]
    cards = values(page(client_as(Role.MANAGER), "dashboards", compare="1"))
    assert cards["aov"] == cards["cac"] == cards["roas"] == cards["returns_rate"] == "\u2014"
    assert cards["net_revenue"] == "0.00"
    empty_spend = page(client_as(Role.MANAGER), "dashboards")
    assert "Import ad spend under Ad spend" in empty_spend.html


def test_orders_without_ad_spend_ask_for_it(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    AdSpend.objects.all().delete()
    response = page(client_as(Role.MANAGER), "dashboards", **MARCH)
    assert values(response)["cac"] == "0.00"  # no cost at all: acquisition was free
    assert values(response)["roas"] == "\u2014"
    assert 'data-testid="empty-roas-by-channel"' in response.html
    assert table(response, "roas-by-channel")[0][0] == "google / cpc"  # revenue, no spend


BAD_FILTERS = [
    ({"from": "2026-03-31", "to": "2026-03-01"}, "The period ends before it starts.", True),
    ({"from": "2026-02-30", "to": "2026-03-31"}, "From: Enter a valid date.", True),
    ({"from": "yesterday", "to": "today"}, "Enter a valid date.", True),
    ({"from": "2020-01-01", "to": "2026-03-01"}, "Choose a period of at most 1098 days.", True),
    ({"from": "2026-03-01"}, "A custom period needs both a start and an end.", True),
    ({"period": "custom"}, "A custom period needs its first and last day.", True),
    ({"period": "5y"}, "Period: Select a valid choice.", True),
    ({"segment": "999999"}, "There is no segment or persona number 999999", False),
    ({"segment": "abc"}, "Segment or persona: Enter a whole number.", False),
    ({"model": "magic"}, "Attribution model: Select a valid choice.", False),
    ({"channel": "x" * 81}, "Channel: Ensure this value has at most 80 characters", False),
]


@pytest.mark.parametrize(("params", "message", "period_dropped"), BAD_FILTERS)
@pytest.mark.parametrize("name", PAGES)
def test_filters_that_are_not_understood_are_named(
    client_as, name, params, message, period_dropped
) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)
    response = page(client, name, **params)

    assert 'data-testid="filter-errors"' in response.html
    assert message in response.html
    filters = response.context["filters"]
    if period_dropped:
        assert (filters.start, filters.end) == (today() - timedelta(days=29), today())
        assert "The figures below are for the default period instead" in response.html
    else:
        assert "The figures below are for the default period instead" not in response.html
    # A CSV for other filters than the ones asked for would mislead: refused, and said why.
    refused = client.get(reverse("dashboards_export", args=["revenue"]), params)
    assert refused.status_code == 400 and message.split(": ")[-1] in refused.content.decode()


def test_the_understood_filters_are_kept(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    response = page(
        client_as(Role.MANAGER), "dashboards", channel="google / cpc", model="magic", **MARCH
    )
    filters = response.context["filters"]
    assert (filters.start, filters.end, filters.channel) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        "google / cpc",
    )
    assert values(response)["net_revenue"] == "155.00"


def test_a_preset_picked_while_dates_are_filled_in_wins(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)
    response = page(client, "dashboards", period="7d", period_was="custom", **MARCH)
    assert response.context["filters"].days == 7
    assert response.context["period_key"] == "7d"
    typed = page(client, "dashboards", period="30d", period_was="30d", **MARCH)
    assert typed.context["filters"].start == date(2026, 3, 1)
    assert typed.context["period_key"] == "custom"
    assert 'value="2026-03-01"' in typed.html


def test_unknown_export_is_404(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)
    assert client.get(reverse("dashboards_export", args=["salaries"])).status_code == 404


# --- CSV ------------------------------------------------------------------------------------


def test_csv_exports_carry_the_charts_numbers(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MARKETER)
    response = client.get(reverse("dashboards_export", args=["roas-by-channel"]), MARCH)
    assert response["Content-Disposition"] == (
        'attachment; filename="roas-by-channel-20260301-20260331.csv"'
    )
    assert read_csv(response) == [
        ["channel", "spend", "clicks", "impressions", "orders", "revenue", "roas"],
        ["google / cpc", "50.00", "100", "1000", "2.0000", "155.00", "3.1000"],
        ["direct", "0.00", "0", "0", "2.0000", "30.00", ""],
    ]
    revenue = export(client, "revenue", **MARCH)
    assert revenue[:4] == [
        ["day", "orders", "new_customers", "gross", "net"],
        ["2026-03-01", "1", "1", "100.00", "100.00"],
        ["2026-03-02", "1", "1", "40.00", "30.00"],
        ["2026-03-03", "1", "0", "80.00", "0.00"],
    ]
    assert len(revenue) == 32 and revenue[10] == ["2026-03-10", "1", "0", "55.00", "55.00"]
    assert export(client, "time-to-purchase", **MARCH) == [
        ["range", "customers"],
        ["same day", "1"],
        ["1 to 7 days", "0"],
        ["8 to 30 days", "1"],
        ["31 to 90 days", "0"],
        ["over 90 days", "0"],
        ["median_days", "4.52"],
        ["p75_days", "6.72"],
        ["p90_days", "8.04"],
    ]
    assert export(client, "campaigns", **MARCH, model="last") == [
        ["channel", "campaign", "spend", "clicks", "impressions", "orders", "revenue", "roas"],
        ["google / cpc", "spring", "50.00", "100", "1000", "1.0000", "100.00", "2.0000"],
        ["facebook / paid-social", "retarget", "0.00", "0", "0", "1.0000", "55.00", ""],
        ["direct", "", "0.00", "0", "0", "2.0000", "30.00", ""],
    ]
    attribution = export(client, "attribution-models", **MARCH)
    assert attribution[0] == [
        "channel",
        "revenue_first",
        "orders_first",
        "revenue_last",
        "orders_last",
        "revenue_linear",
        "orders_linear",
        "revenue_position",
        "orders_position",
        "revenue_decay",
        "orders_decay",
    ]
    assert attribution[1][:7] == [
        "google / cpc",
        "155.00",
        "2.0000",
        "100.00",
        "1.0000",
        "127.50",
        "1.5000",
    ]
    assert export(client, "shop-funnel", **MARCH) == [
        ["step", "count", "from_previous", "drop_off", "from_first", "target", "on_target"],
        ["sessions", "2", "", "", "1.0000", "", ""],
        ["product_views", "2", "1.0000", "0.0000", "1.0000", "", ""],
        ["carts", "1", "0.5000", "0.5000", "0.5000", "", ""],
        ["checkouts", "0", "0.0000", "1.0000", "0.0000", "", ""],
        ["orders", "0", "", "", "0.0000", "", ""],
    ]
    assert export(client, "conversion-by-source", **MARCH)[1] == [
        "direct",
        "1",
        "0",
        "0.0000",
        "1",
        "1",
        "1.0000",
    ]
    assert export(client, "cohort-retention", **MARCH) == [
        ["cohort", "customers", "month_0"],
        ["2026-03", "2", "1.0000"],
    ]
    assert export(client, "top-products", **MARCH) == [
        ["list", "rank", "product", "name", "count", "revenue"],
        ["viewed", "1", "mug", "Blue mug", "1", ""],
        ["bought", "1", "mug", "Blue mug", "2", "100.00"],
        ["abandoned", "1", "tee", "Tee", "1", ""],
    ]
    assert export(client, "forecast", **MARCH) == [
        [
            "start",
            "end",
            "kind",
            "orders",
            "orders_low",
            "orders_high",
            "net",
            "net_low",
            "net_high",
        ],
        ["2026-03-01", "2026-03-31", "actual", "4.0000", "", "", "185.00", "", ""],
    ]
    assert export(client, "rfm-grid") == [
        ["recency_score", "frequency_score", "customers", "net_revenue"]
    ]


# --- The orders behind the figures -----------------------------------------------------------


def test_the_orders_behind_the_cards(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)

    response = page(client, "dashboards_orders", **MARCH)
    assert [r["number"] for r in response.context["rows"]] == [
        o.shop_order_id
        for o in sorted(
            (
                o
                for o in shop["ann"].orders.all().union(shop["bob"].orders.all())
                if o.status != "pending"
            ),
            key=lambda o: o.placed_at,
            reverse=True,
        )
    ]
    assert response.context["totals"] == {"orders": "4", "gross": "275.00", "net": "185.00"}
    assert f'href="/contacts/{shop["ann"].pk}/">Ann Archer</a>' in response.html

    new = page(client, "dashboards_orders", **MARCH, kind="new")
    assert new.context["totals"]["orders"] == "2"  # as the new-customers card
    assert {r["contact"] for r in new.context["rows"]} == {"Ann Archer", "Bob Baker"}
    returned = page(client, "dashboards_orders", **MARCH, kind="returned")
    assert [r["status"] for r in returned.context["rows"]] == ["cancelled", "partially_refunded"]
    google = page(client, "dashboards_orders", **MARCH, channel="google / cpc")
    assert google.context["totals"] == {"orders": "2", "gross": "155.00", "net": "155.00"}
    by_source = page(client, "dashboards_orders", **MARCH, source="google")
    assert by_source.context["totals"]["orders"] == "2"


def test_the_orders_page_goes_by_keyset(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    many = ContactFactory(source_channel="email / newsletter")
    for i in range(55):
        OrderFactory(contact=many, placed_at=at(20) + timedelta(minutes=i), status="paid")
    client = client_as(Role.MANAGER)

    first = page(client, "dashboards_orders", **MARCH, channel="email / newsletter")
    assert len(first.context["rows"]) == 50
    cursor = first.context["page"].next_cursor
    assert cursor and 'rel="next"' in first.html
    second = page(client, "dashboards_orders", **MARCH, channel="email / newsletter", after=cursor)
    assert len(second.context["rows"]) == 5 and not second.context["page"].next_cursor
    numbers = [r["number"] for r in first.context["rows"] + second.context["rows"]]
    assert len(set(numbers)) == 55
    assert second.context["totals"]["orders"] == "55"

    broken = page(client, "dashboards_orders", **MARCH, after="nonsense", kind="everything")
    assert "The page link was not understood" in broken.html
    assert "choose all, new or returned" in broken.html
    assert len(broken.context["rows"]) == 50


def test_the_orders_page_with_bad_filters(client_as) -> None:  # type: ignore[no-untyped-def]
    response = page(client_as(Role.MANAGER), "dashboards_orders", **{"from": "garbage"})
    assert "Enter a valid date." in response.html
    assert 'data-testid="empty"' in response.html


# --- Refresh, roles and cost -----------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_htmx_gets_the_body_alone(client_as, shop, name) -> None:  # type: ignore[no-untyped-def]
    response = client_as(Role.MANAGER).get(reverse(name), MARCH, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" not in html and 'data-testid="filters"' not in html
    assert 'data-testid="kpis"' in html and 'data-testid="period"' in html
    assert "HX-Request" in response["Vary"]
    full = page(client_as(Role.MANAGER), name, **MARCH)
    assert f'hx-get="{reverse(name)}?from=2026-03-01&amp;to=2026-03-31"' in full.content.decode()


def _urls() -> list[str]:
    return [
        reverse("dashboards"),
        reverse("dashboards_marketing"),
        reverse("dashboards_sales"),
        reverse("dashboards_orders"),
        reverse("dashboards_definitions"),
        reverse("dashboards_export", args=["revenue"]),
        reverse("dashboards_export", args=["speed-to-lead"]),
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.MANAGER, 200),
        (Role.MARKETER, 200),
        (Role.SALES_MANAGER, 200),
        (Role.REP, 403),
        (Role.ADMIN, 403),
    ],
)
def test_who_may_read_the_dashboards(client_as, role, status) -> None:  # type: ignore[no-untyped-def]
    client = client_as(role)
    for url in _urls():
        assert client.get(url).status_code == status, url


def test_anonymous_is_sent_to_sign_in(client, db) -> None:  # type: ignore[no-untyped-def]
    for url in _urls():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_links_are_offered_only_where_the_reader_may_go(client_as, shop) -> None:  # type: ignore[no-untyped-def]
    manager = page(client_as(Role.MANAGER), "dashboards_marketing", **MARCH)
    assert chart(manager, "campaigns").drill_url == ""  # ad spend is the marketer's page
    assert 'data-testid="team-link"' in page(client_as(Role.MANAGER), "dashboards_sales").html
    marketer = page(client_as(Role.MARKETER), "dashboards_sales")
    assert 'data-testid="team-link"' not in marketer.html  # the team board is not theirs


def _count(client: Client, name: str, **params: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        page(client, name, **params)
    return len(queries.captured_queries)


@pytest.mark.parametrize(("name", "most"), [(PAGES[0], 32), (PAGES[1], 24), (PAGES[2], 14)])
def test_the_query_count_does_not_grow_with_the_data(
    client_as, name, most, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)
    build_shop()
    persona = Segment.objects.create(name="Everyone we know", kind=Segment.Kind.PERSONA)
    asked = {**MARCH, "compare": "1", "segment": persona.pk}
    once = _count(client, name, **asked)
    build_shop(campaign="summer")  # twice the contacts, orders, sessions and spend
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=persona, contact=c, entered_at=at(1))
        for c in Contact.objects.all()
    )
    assert _count(client, name, **asked) == once
    with django_assert_max_num_queries(most):
        page(client, name, **asked)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse(name), asked, HTTP_HX_REQUEST="true")
    assert len(queries.captured_queries) < once  # no filter bar to fill
    with CaptureQueriesContext(connection) as queries:
        read_csv(client.get(reverse("dashboards_export", args=["revenue"]), asked))
    assert len(queries.captured_queries) <= 8
