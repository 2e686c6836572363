"""The KPIs through the API: the same figures as the dashboards on the hand-computed shop of
tests.analytics.test_dashboard_pages (read through the very selectors the pages read), the
previous period, the dashboards' filters, refusals that name the parameter, and a query
count that does not grow with the data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics import selectors_sales as S
from analytics.dashboards.manager import manager_read
from analytics.dashboards.parts import paid_roas
from analytics.filters import Filters, today
from analytics.selectors_engagement import speed_to_lead
from analytics.services.rollups import rollups_refresh
from leads.models import Segment, SegmentMembership
from tests.analytics.test_dashboard_pages import at, build_shop
from tests.api.conftest import bearer
from tests.leads.factories import ContactFactory, OrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/kpis/"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
PERIOD = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))


def kpis(client, key, **params):  # type: ignore[no-untyped-def]
    response = client.get(URL, params, headers=bearer(key))
    assert response.status_code == 200, response.content
    return response.json()


def money(value):  # type: ignore[no-untyped-def]
    return None if value is None else Decimal(value)


def test_the_figures_are_the_hand_computed_ones(client, key):
    build_shop()
    body = kpis(client, key, **MARCH)
    assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31", "days": 31}
    assert (body["compared_with"], body["previous"], body["model"]) == (None, None, "first")
    now = body["current"]
    assert now["revenue"] == {"gross": "275.00", "refunds": "90.00", "net": "185.00"}
    assert (now["orders"], now["aov"], now["new_customers"]) == (4, "68.75", 2)
    assert (now["returned_orders"], now["returns_rate"]) == (2, 0.5)
    assert now["spend"] == {"ads": "50.00", "other": "0.00", "total": "50.00"}
    assert (now["cac"], now["clv"], now["clv_to_cac"]) == ("25.00", "92.50", pytest.approx(3.7))
    assert now["roas"] == {
        "ad_spend": "50.00",
        "attributed_revenue": "155.00",
        "roas": pytest.approx(3.1),
    }
    assert now["predictive_clv"]["value"] is None  # no fit yet
    assert now["traffic"] == {"sessions": 2, "visitors": 2, "bounces": 1, "bounce_rate": 0.5}
    assert now["time_to_purchase"]["customers"] == 2
    assert now["time_to_purchase"]["median_days"] == pytest.approx(4.52, abs=0.01)
    assert [s["count"] for s in now["funnels"]["shop"]] == [2, 2, 1, 0, 0]
    assert [(s["step"], s["count"]) for s in now["funnels"]["lead"]] == [
        ("lead", 1),
        ("mql", 1),
        ("sql", 1),
        ("customer", 1),
    ]
    assert [r["channel"] for r in now["conversion"]["by_source"]] == [
        "direct",
        "facebook / paid-social",
    ]
    assert (now["conversion"]["contacts"], now["conversion"]["customers"]) == (1, 1)
    last_touch = kpis(client, key, **MARCH, model="last")["current"]["roas"]
    assert (last_touch["attributed_revenue"], last_touch["roas"]) == ("100.00", 2.0)


def test_the_figures_are_the_dashboard_selectors(client, key):
    """Field by field against what the manager's page reads (`manager_read`): one source."""
    build_shop()
    now = kpis(client, key, **MARCH)["current"]
    page = manager_read(PERIOD)
    sales, acquisition = page["sales"], page["acquisition"]
    assert money(now["revenue"]["net"]) == sales.net and money(now["aov"]) == sales.aov
    assert (now["orders"], now["new_customers"]) == (sales.orders, sales.new_customers)
    assert now["returns_rate"] == pytest.approx(float(sales.returns_rate))
    assert money(now["cac"]) == acquisition.cac and money(now["clv"]) == acquisition.clv
    assert money(now["spend"]["total"]) == acquisition.spend.total
    spend, revenue, roas = paid_roas(page["roas"])
    assert (money(now["roas"]["ad_spend"]), money(now["roas"]["attributed_revenue"])) == (
        spend,
        revenue,
    )
    assert now["roas"]["roas"] == pytest.approx(float(roas))
    assert now["traffic"]["sessions"] == page["traffic"]["sessions"]
    for name in ("shop_funnel", "lead_funnel"):
        steps = now["funnels"][name.split("_")[0]]
        assert [(s["step"], s["count"]) for s in steps] == [
            (s["step"], s["count"]) for s in page[name]
        ]
        assert [s["from_previous"] for s in steps] == [
            None if s["from_previous"] is None else pytest.approx(float(s["from_previous"]))
            for s in page[name]
        ]
    assert [
        (r["channel"], r["sessions"], r["customers"]) for r in now["conversion"]["by_source"]
    ] == [(r["channel"], r["sessions"], r["customers"]) for r in page["conversion"]]
    assert now["time_to_purchase"]["p90_days"] == pytest.approx(page["ttp"]["p90"])
    speed = speed_to_lead(PERIOD)
    assert (now["speed_to_lead"]["qualified"], now["speed_to_lead"]["sla_hit"]) == (
        speed.qualified,
        speed.sla_hit,
    )


def test_compare_adds_the_previous_period(client, key):
    build_shop()
    carl = ContactFactory(source_channel="direct")
    OrderFactory(contact=carl, placed_at=at(10, month=2), total=Decimal("20.00"), status="paid")
    rollups_refresh()
    body = kpis(client, key, **MARCH, compare="true")
    assert body["compared_with"] == {"from": "2026-01-29", "to": "2026-02-28", "days": 31}
    before = body["previous"]
    assert (before["revenue"]["net"], before["orders"], before["new_customers"]) == ("20.00", 1, 1)
    assert before["cac"] == "0.00" and before["predictive_clv"] is None
    assert money(before["revenue"]["net"]) == S.sales_totals(PERIOD.previous()).net
    assert body["current"]["revenue"]["net"] == "185.00"


def test_the_dashboards_filters(client, key):
    shop = build_shop()
    persona = Segment.objects.create(name="Mug lovers", kind=Segment.Kind.PERSONA)
    SegmentMembership.objects.create(segment=persona, contact=shop["ann"], entered_at=at(1))
    members = kpis(client, key, **MARCH, segment=persona.pk)["current"]
    assert (members["revenue"]["net"], members["orders"]) == ("155.00", 2)
    google = kpis(client, key, **MARCH, source="google")["current"]
    assert (google["revenue"]["net"], google["spend"]["ads"]) == ("155.00", "50.00")
    direct = kpis(client, key, **MARCH, channel="direct")["current"]
    assert (direct["revenue"]["net"], direct["spend"]["ads"]) == ("30.00", "0.00")
    assert kpis(client, key, **MARCH, campaign="nope")["current"]["orders"] == 0
    week = kpis(client, key, days=7)
    assert week["period"] == {
        "from": (today() - timedelta(days=6)).isoformat(),
        "to": today().isoformat(),
        "days": 7,
    }
    assert kpis(client, key)["period"]["days"] == 30  # the dashboards' default


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-01"}, "to"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-31", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "to"),
        ({**MARCH, "days": 7}, "days"),
        ({"days": 0}, "days"),
        ({"days": "week"}, "days"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-31", "compare": "true"}, "from"),
        ({"from": "9999-12-01", "to": "9999-12-31"}, "from"),
        ({"segment": 999999}, "segment"),
        ({"model": "magic"}, "model"),
        ({"compare": "maybe"}, "compare"),
        ({"chanel": "direct"}, "chanel"),
    ],
)
def test_filters_that_are_not_understood_are_named(client, key, params, field):
    response = client.get(URL, params, headers=bearer(key))
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_the_query_count_does_not_grow_with_the_data(client, key, django_assert_max_num_queries):
    build_shop()

    def count(**params: str) -> int:
        kpis(client, key, **params)  # warm: the key's last use, the cached CLV figure
        with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(24):
            kpis(client, key, **params)
        return len(queries)

    small, compared = count(**MARCH), count(**MARCH, compare="1")
    assert small <= 13  # the key, then each selector once (predictive CLV from the cache)
    build_shop("autumn")  # the same shop again beside it: twice the data
    assert (count(**MARCH), count(**MARCH, compare="1")) == (small, compared)
