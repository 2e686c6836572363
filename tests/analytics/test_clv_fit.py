"""Predictive CLV end to end: orders in, a fit and one prediction per customer out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
import time_machine

from analytics.filters import Filters
from analytics.models import ClvFit, CustomerPrediction
from analytics.selectors_clv import predictive_clv
from analytics.services.clv import clv_fit
from analytics.services.rollups import rollups_refresh
from leads.models import Contact, Order
from tests.leads.factories import SourceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


def shop(customers: int, seed: int = 7) -> None:
    """Customers who buy every few weeks for a while and then stop, at varied values."""
    rng = np.random.default_rng(seed)
    source = SourceFactory(kind="shopify")
    contacts = Contact.objects.bulk_create(
        Contact(email=f"c{i}@example.com", source_channel="direct") for i in range(customers)
    )
    orders = []
    for person in contacts:
        first = NOW - timedelta(days=int(rng.integers(30, 360)))
        at, value = first, float(rng.uniform(20, 120))
        while at < NOW:
            orders.append(
                Order(
                    source=source,
                    shop_order_id=f"{person.pk}-{len(orders)}",
                    contact=person,
                    currency="USD",
                    status="paid",
                    total=Decimal(f"{value * rng.uniform(0.8, 1.2):.2f}"),
                    placed_at=at,
                    shop_updated_at=at,
                )
            )
            if rng.random() < 0.35:  # this customer stops buying
                break
            at += timedelta(days=int(rng.integers(7, 60)))
    Order.objects.bulk_create(orders)


@time_machine.travel(NOW, tick=False)
def test_every_customer_gets_a_prediction() -> None:
    shop(150)
    rollups_refresh()

    fit = clv_fit()

    assert fit.error == ""
    assert fit.customers == 150 and fit.predicted == 150 and fit.repeat_buyers > 10
    assert set(fit.params) == {"r", "alpha", "a", "b", "p", "q", "v"}
    predictions = list(CustomerPrediction.objects.all())
    assert len(predictions) == 150
    assert all(0 <= p.p_alive <= 1 and p.expected_orders >= 0 for p in predictions)
    assert all(p.predicted_clv >= 0 for p in predictions)
    # Someone who bought often and lately is worth more than someone who bought once long ago.
    by_contact = {p.contact_id: p for p in predictions}
    facts = Order.objects.values_list("contact_id", flat=True)
    counts = {cid: list(facts).count(cid) for cid in set(facts)}
    loyal = max(counts, key=counts.get)  # type: ignore[arg-type]
    assert by_contact[loyal].expected_orders > np.median([p.expected_orders for p in predictions])

    figures = predictive_clv(Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)))
    assert figures["fit"] == fit and figures["customers"] == 150
    assert float(figures["clv"]) == pytest.approx(
        np.mean([float(p.predicted_clv) for p in predictions])
    )
    assert sum(count for _low, _high, count in figures["alive_spread"]) == 150


@time_machine.travel(NOW, tick=False)
def test_too_few_customers_say_so_and_keep_the_old_predictions() -> None:
    shop(4)
    rollups_refresh()

    fit = clv_fit()

    assert fit.error and fit.predicted == 0
    assert ClvFit.objects.count() == 1
    assert predictive_clv(Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)))["customers"] == 0


@time_machine.travel(NOW, tick=False)
def test_the_fits_rollup_says_what_the_predictions_say() -> None:
    """Without a segment the dashboards read the per-day rollup the fit writes; it must give
    the figures the predictions themselves give, for any period and channel."""
    from analytics.selectors_clv import _buckets_raw, _means, _spread

    shop(120, seed=11)
    Contact.objects.filter(pk__in=Contact.objects.order_by("pk")[:40].values("pk")).update(
        source_channel="google / cpc"
    )
    rollups_refresh()
    clv_fit()

    for filters in (
        Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)),
        Filters(start=date(2025, 9, 1), end=date(2025, 12, 31), channel="google / cpc"),
        Filters(start=date(2020, 1, 1), end=date(2020, 1, 31)),  # nobody new: None, not 0
    ):
        rolled = predictive_clv(filters)
        raw = _buckets_raw(filters)
        want = {**_means(raw), "alive_spread": _spread(raw)}
        for key, value in want.items():
            if isinstance(value, float):
                assert rolled[key] == pytest.approx(value)
            else:
                assert rolled[key] == value, key
    assert predictive_clv(filters)["new_customers"] == 0
