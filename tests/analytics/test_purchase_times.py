"""Time to purchase of the shipped periods comes from the summary the refresh keeps, and says
what the customers say; any other period or filter is computed from the customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import time_machine
from django.db import connection

from analytics.filters import PERIODS, Filters
from analytics.selectors_sales import _purchase_times_summary, time_to_purchase
from analytics.services.rollups import rollups_refresh
from leads.models import Contact
from tests.leads.factories import ContactFactory, OrderFactory, SourceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 15, tzinfo=UTC)
CHANNELS = ["google / cpc", "email", ""]


def shop(rng: np.random.Generator) -> list[tuple[datetime, float, str]]:
    """Customers first seen, then buying after 0 to 200 days; returns (first order, days, channel)."""
    source = SourceFactory(kind="shopify")
    made = []
    for i in range(60):
        ordered = NOW - timedelta(hours=int(rng.integers(1, 24 * 400)))
        waited = timedelta(minutes=int(rng.integers(0, 60 * 24 * 200)))
        channel = CHANNELS[i % 3]
        contact = ContactFactory(source_channel=channel)
        Contact.objects.filter(pk=contact.pk).update(created_at=ordered - waited)
        OrderFactory(source=source, contact=contact, status="paid", placed_at=ordered)
        made.append((ordered, waited.total_seconds() / 86400, channel))
    return made


def expected(made: list[tuple[datetime, float, str]], filters: Filters) -> dict:
    days = [
        d
        for at, d, channel in made
        if filters.start <= at.date() <= filters.end
        and (not filters.channel or channel == filters.channel)
    ]
    quantiles = np.percentile(days, [50, 75, 90]) if days else [None] * 3  # = percentile_cont
    ranges = [(0, 1), (1, 8), (8, 31), (31, 91), (91, None)]
    return {
        "customers": len(days),
        "quantiles": quantiles,
        "buckets": [
            sum(1 for d in days if d >= lo and (hi is None or d < hi)) for lo, hi in ranges
        ],
    }


@time_machine.travel(NOW, tick=False)
def test_the_shipped_periods_read_the_summary_and_agree_with_the_customers(settings) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_REPORTING_TIME_ZONE = "UTC"
    made = shop(np.random.default_rng(5))
    rollups_refresh(full=True)

    today = NOW.date()
    for _label, days in PERIODS.values():
        for channel in ["", *CHANNELS[:2], "nobody / none"]:
            filters = Filters(start=today - timedelta(days=days - 1), end=today, channel=channel)
            got, want = time_to_purchase(filters), expected(made, filters)
            # Every channel with customers in the period has its row; all channels always do.
            summarised = _purchase_times_summary(filters) is not None
            assert summarised == (not channel or want["customers"] > 0), (days, channel)
            assert got["customers"] == want["customers"]
            assert [n for _label, n in got["buckets"]] == want["buckets"]
            for key, value in zip(("median", "p75", "p90"), want["quantiles"], strict=True):
                assert got[key] == (None if value is None else pytest.approx(value)), (days, key)


@time_machine.travel(NOW, tick=False)
def test_other_periods_and_filters_are_computed_from_the_customers(settings) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_REPORTING_TIME_ZONE = "UTC"
    made = shop(np.random.default_rng(9))
    rollups_refresh(full=True)
    today = NOW.date()

    custom = Filters(start=today - timedelta(days=44), end=today - timedelta(days=3))
    assert _purchase_times_summary(custom) is None
    with connection.cursor() as cursor:  # a summary of yesterday's periods is not today's
        cursor.execute("UPDATE analytics_purchasetimesummary SET end_day = end_day - 1")
    thirty = Filters(start=today - timedelta(days=29), end=today)
    assert _purchase_times_summary(thirty) is None
    for filters in (custom, thirty, Filters(start=thirty.start, end=today, campaign="spring")):
        got, want = time_to_purchase(filters), expected(made, filters)
        if filters.campaign:
            want = expected([], filters)  # nobody came from that campaign
        assert got["customers"] == want["customers"]
        assert got["median"] == (
            None if want["quantiles"][0] is None else pytest.approx(want["quantiles"][0])
        )
