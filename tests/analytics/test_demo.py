"""The demo's dashboards: spend matching its paid traffic, costs, targets, rollups and a CLV
fit, from the real demo shop; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.demo import demo_analytics_load
from analytics.models import AdSpend, ClvFit, FunnelTarget, OtherCost, SalesDay, TrafficDay
from leads.demo.loader import demo_shop_load

pytestmark = pytest.mark.django_db


def test_the_demo_fills_every_dashboard_input_once() -> None:
    demo_shop_load(contacts=120, days=40, seed=3, now=timezone.now() - timedelta(minutes=5))

    demo_analytics_load()

    assert SalesDay.objects.exists() and TrafficDay.objects.exists()
    paid = set(AdSpend.objects.values_list("channel", flat=True))
    assert paid == {"google / cpc", "facebook / paid-social"}
    # Spend only where the paid channel brought visits, every day of them.
    visited = set(
        TrafficDay.objects.filter(channel__in=paid).values_list("day", "channel", "campaign")
    )
    assert set(AdSpend.objects.values_list("day", "channel", "campaign")) == visited
    assert OtherCost.objects.exists() and FunnelTarget.objects.count() == 7
    assert ClvFit.objects.count() == 1
    before = (
        AdSpend.objects.count(),
        AdSpend.objects.aggregate(s=Sum("cost"))["s"],
        OtherCost.objects.count(),
    )

    demo_analytics_load()

    after = (
        AdSpend.objects.count(),
        AdSpend.objects.aggregate(s=Sum("cost"))["s"],
        OtherCost.objects.count(),
    )
    assert after == before
