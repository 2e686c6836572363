"""The rollups equal a direct query over the raw tables, exact to the cent, on generated shops.

Hypothesis writes orders (statuses, currencies, refunds, contacts with channels) and sessions
around day boundaries of a far-from-UTC reporting zone, then changes some of them (late
refunds, orders moved to another contact or day, deletions) with refreshes in between. After the
last refresh every figure read from the rollups must equal the same figure computed from raw
orders; attribution credits must equal a Python implementation of the five models.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from analytics.filters import Filters
from analytics.models import Attribution
from analytics.selectors_sales import sales_by_channel, sales_totals
from analytics.services.rollups import rollups_refresh
from leads.models import Order, Session
from tests.leads.factories import ContactFactory, OrderFactory, SourceFactory

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 5, 10, tzinfo=UTC)
CHANNELS = ["google / cpc", "facebook / paid-social", "direct", ""]
STATUSES = ["paid", "fulfilled", "pending", "cancelled", "refunded", "partially_refunded"]

order_st = st.fixed_dictionaries(
    {
        "contact": st.integers(0, 5),
        "hours": st.integers(0, 24 * 6),  # around six days of day boundaries
        "minutes": st.sampled_from([0, 1, 59]),
        "total": st.decimals(Decimal("0.01"), Decimal("999.99"), places=2),
        "refund_share": st.sampled_from([Decimal("0"), Decimal("0.33"), Decimal("1")]),
        "status": st.sampled_from(STATUSES),
        "rate": st.sampled_from([Decimal("1"), Decimal("1.0833"), Decimal("0.13715")]),
    }
)
change_st = st.tuples(
    st.sampled_from(["refund", "move_contact", "move_day", "delete"]),
    st.integers(0, 100),
    st.integers(0, 5),
)


def raw_and_rollup_agree(filters: Filters) -> None:
    assert sales_totals(filters) == sales_totals(filters, raw=True)
    rolled = {r["channel"]: r for r in sales_by_channel(filters)}
    raw = {r["channel"]: r for r in sales_by_channel(filters, raw=True)}
    assert rolled == raw


def expected_credits(order: Order, touches: list[tuple[datetime, str]]) -> dict:
    """The five models in plain Python: {(model, channel): credit}."""
    n = len(touches)
    credits: dict = defaultdict(float)
    if not n:
        for model in ("first", "last", "linear", "position", "decay"):
            credits[(model, "direct")] = 1.0
        return credits
    weights = [0.5 ** ((order.placed_at - at).total_seconds() / (7 * 86400)) for at, _c in touches]
    for pos, (_at, channel) in enumerate(touches):
        credits[("first", channel)] += pos == 0
        credits[("last", channel)] += pos == n - 1
        credits[("linear", channel)] += 1 / n
        if n <= 2:
            credits[("position", channel)] += 1 / n
        else:
            credits[("position", channel)] += 0.4 if pos in (0, n - 1) else 0.2 / (n - 2)
        credits[("decay", channel)] += weights[pos] / sum(weights)
    return {key: value for key, value in credits.items() if value > 0}


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=st.lists(order_st, min_size=1, max_size=14),
    sessions=st.lists(
        st.tuples(st.integers(0, 5), st.integers(-24 * 40, 24 * 6), st.integers(0, 3)), max_size=12
    ),
    changes=st.lists(change_st, max_size=5),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
)
def test_rollups_equal_raw_queries(settings, orders, sessions, changes, zone) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_REPORTING_TIME_ZONE = zone
    with transaction.atomic():
        source = SourceFactory(kind="shopify")
        contacts = [
            ContactFactory(
                source_channel=CHANNELS[i % len(CHANNELS)],
                first_touch={"utm_campaign": f"c{i % 2}"} if i % 3 else {},
            )
            for i in range(6)
        ]
        for contact_i, hours, channel_i in sessions:
            at = BASE + timedelta(hours=hours)
            Session.objects.create(
                contact=contacts[contact_i],
                started_at=at,
                last_activity_at=at,
                channel=CHANNELS[channel_i],
                utm_campaign="s",
            )
        made = []
        for spec in orders:
            total = spec["total"]
            refunded = (total * spec["refund_share"]).quantize(Decimal("0.01"))
            made.append(
                OrderFactory(
                    source=source,
                    contact=contacts[spec["contact"]],
                    placed_at=BASE + timedelta(hours=spec["hours"], minutes=spec["minutes"]),
                    total=total,
                    refunded_total=refunded,
                    status=spec["status"],
                    rate_to_base=spec["rate"],
                )
            )
        rollups_refresh()
        for kind, pick, other in changes:
            order = made[pick % len(made)]
            if kind == "refund":
                Order.objects.filter(pk=order.pk).update(
                    refunded_total=order.total, status="refunded"
                )
            elif kind == "move_contact":
                Order.objects.filter(pk=order.pk).update(contact=contacts[other])
            elif kind == "move_day":
                Order.objects.filter(pk=order.pk).update(
                    placed_at=order.placed_at + timedelta(days=other - 2)
                )
            else:
                Order.objects.filter(pk=order.pk).delete()
            rollups_refresh()

        whole = Filters(start=date(2026, 5, 1), end=date(2026, 5, 25))
        raw_and_rollup_agree(whole)
        for day in range(8, 18):  # single days: the zone's boundaries matter here
            raw_and_rollup_agree(Filters(start=date(2026, 5, day), end=date(2026, 5, day)))
        raw_and_rollup_agree(Filters(start=whole.start, end=whole.end, channel="google / cpc"))
        raw_and_rollup_agree(Filters(start=whole.start, end=whole.end, campaign="c1"))

        for order in Order.objects.exclude(status="pending"):
            touches = [
                (s.started_at, s.channel or "direct")
                for s in Session.objects.filter(
                    contact_id=order.contact_id,
                    started_at__lte=order.placed_at,
                    started_at__gt=order.placed_at - timedelta(days=30),
                ).order_by("started_at", "id")
            ]
            stored: dict = defaultdict(float)
            for a in Attribution.objects.filter(order=order):
                stored[(a.model, a.channel)] += float(a.credit)
            want = expected_credits(order, touches)
            assert stored.keys() == want.keys()
            for key, credit in want.items():
                assert stored[key] == pytest.approx(credit, abs=2e-6)
        transaction.set_rollback(True)


EVENT_NAMES = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Order Completed",
    "Page Viewed",
]
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "at_risk", "churned"]


@hsettings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    visits=st.lists(
        st.tuples(
            st.integers(0, 3),  # contact
            st.integers(0, 24 * 4),  # hours after BASE
            st.integers(0, 3),  # pages
            st.lists(st.tuples(st.sampled_from(EVENT_NAMES), st.integers(0, 30 * 60)), max_size=4),
        ),
        max_size=10,
    ),
    changes=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(STAGES), st.integers(0, 24 * 4)), max_size=10
    ),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
)
def test_traffic_and_lead_funnel_equal_their_definitions(settings, visits, changes, zone) -> None:  # type: ignore[no-untyped-def]
    """Sessions, bounces and funnel steps as the raw sessions and events say; the lead funnel
    counts each contact once per level, on the first change that took it that far."""
    from zoneinfo import ZoneInfo

    from analytics.selectors_sales import (
        LEAD_STEPS,
        SHOP_STEPS,
        lead_funnel,
        shop_funnel,
        traffic_totals,
    )
    from analytics.services.rollups import FUNNEL_LEVELS, STAGE_RANKS
    from leads.models import Event, StageChange

    settings.GROWTH_REPORTING_TIME_ZONE = zone
    local = ZoneInfo(zone)
    with transaction.atomic():
        contacts = [ContactFactory(source_channel=CHANNELS[i]) for i in range(4)]
        made = []
        for contact_i, hours, pages, events in visits:
            at = BASE + timedelta(hours=hours)
            visit = Session.objects.create(
                contact=contacts[contact_i],
                started_at=at,
                last_activity_at=at,
                channel="direct",
                page_views=pages,
            )
            steps = [0]
            for name, seconds in events:
                Event.objects.create(
                    contact=contacts[contact_i],
                    session=visit,
                    name=name,
                    occurred_at=at + timedelta(seconds=seconds),
                )
                if name in EVENT_NAMES[:4]:
                    steps.append(EVENT_NAMES.index(name) + 1)
            made.append((at.astimezone(local).date(), pages, max(steps)))
        for contact_i, stage, hours in changes:
            StageChange.objects.create(
                contact=contacts[contact_i],
                to_stage=stage,
                at=BASE + timedelta(hours=hours),
                cause_kind="rule",
            )
        rollups_refresh()

        for day in range(9, 16):
            one = Filters(start=date(2026, 5, day), end=date(2026, 5, day))
            that_day = [(pages, step) for d, pages, step in made if d == one.start]
            traffic = traffic_totals(one)
            assert traffic["sessions"] == len(that_day)
            assert traffic["bounces"] == sum(1 for pages, _s in that_day if pages <= 1)
            counts = [len(that_day)] + [sum(1 for _p, s in that_day if s >= k) for k in range(1, 5)]
            assert [s["count"] for s in shop_funnel(one)] == counts
            assert len(SHOP_STEPS) == 5

            # Reference lead funnel: per contact, the first change (by time, then id) reaching
            # at least each level.
            reached: dict[str, int] = dict.fromkeys(LEAD_STEPS, 0)
            ordered = sorted(StageChange.objects.all(), key=lambda c: (c.at, c.pk))
            for level in LEAD_STEPS:
                first: dict[int, datetime] = {}
                for change in ordered:
                    if STAGE_RANKS[change.to_stage] >= FUNNEL_LEVELS[level]:
                        first.setdefault(change.contact_id, change.at)
                reached[level] = sum(
                    1 for at in first.values() if at.astimezone(local).date() == one.start
                )
            assert {s["step"]: s["count"] for s in lead_funnel(one)} == reached
        transaction.set_rollback(True)
