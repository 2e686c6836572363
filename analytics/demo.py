"""The demo's numbers: ad spend that matches the demo's paid traffic, agency and tool costs,
funnel targets, the rollups built and predictive CLV fitted, so every dashboard has something
true to show. Idempotent: running it again replaces the same rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_noop

from analytics.filters import today
from analytics.models import AdSpend, FunnelTarget, OtherCost, TrafficDay
from analytics.services.clv import clv_fit
from analytics.services.rollups import rollups_refresh
from growth.currency import base_currency

# What an ad click costs on each demo channel (reporting currency), and impressions per click.
# Most clicks never show up as a tracked visit (consent banners, bounces before the page
# loads), so a tracked paid visit stands for several clicks: a believable ROAS of 3 to 6.
COST_PER_CLICK = {"google / cpc": Decimal("1.45"), "facebook / paid-social": Decimal("0.95")}
CLICKS_PER_VISIT = (3.0, 4.5)
IMPRESSIONS_PER_CLICK = {"google / cpc": 18, "facebook / paid-social": 55}
MONTHLY_COSTS = [
    ("agency", gettext_noop("Performance agency retainer"), "", Decimal("1500.00")),
    ("tools", gettext_noop("E-mail and SMS tools"), "", Decimal("300.00")),
]
TARGETS = {
    "shop": {"product_views": "0.60", "carts": "0.25", "checkouts": "0.60", "orders": "0.70"},
    "lead": {"mql": "0.30", "sql": "0.40", "customer": "0.35"},
}


def demo_analytics_load(advance: Callable[[int], None] = lambda n: None) -> None:
    rollups_refresh(full=True)
    advance(1)
    with transaction.atomic():
        _ad_spend()
        _other_costs()
        for funnel, steps in TARGETS.items():
            for step, rate in steps.items():
                FunnelTarget.objects.update_or_create(
                    funnel=funnel, step=step, defaults={"rate": Decimal(rate)}
                )
    advance(1)
    clv_fit()
    advance(1)


def _ad_spend() -> None:
    """A day's cost per paid campaign from the visits it brought, with some noise (seeded by
    the row, so a second run writes the same figures)."""
    rows = []
    for day, channel, campaign, sessions in TrafficDay.objects.filter(
        channel__in=COST_PER_CLICK
    ).values_list("day", "channel", "campaign", "sessions"):
        rng = random.Random(f"{day}|{channel}|{campaign}")  # noqa: S311 (demo numbers)
        clicks = max(1, round(sessions * rng.uniform(*CLICKS_PER_VISIT)))
        cost = (COST_PER_CLICK[channel] * clicks * Decimal(str(rng.uniform(0.85, 1.2)))).quantize(
            Decimal("0.01")
        )
        rows.append(
            AdSpend(
                day=day,
                channel=channel,
                campaign=campaign,
                currency=base_currency(),
                cost=cost,
                cost_base=cost,
                clicks=clicks,
                impressions=clicks * IMPRESSIONS_PER_CLICK[channel],
            )
        )
    AdSpend.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["day", "channel", "campaign"],
        update_fields=["currency", "cost", "cost_base", "clicks", "impressions"],
    )


def _other_costs() -> None:
    first = AdSpend.objects.order_by("day").values_list("day", flat=True).first()
    if first is None:
        return
    month = first.replace(day=1)
    last = today()
    OtherCost.objects.filter(description__in=[d for _k, d, _c, _a in MONTHLY_COSTS]).delete()
    while month <= last:
        ends = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        for kind, description, channel, amount in MONTHLY_COSTS:
            OtherCost.objects.create(
                kind=kind,
                description=description,
                starts_on=month,
                ends_on=ends,
                channel=channel,
                currency=base_currency(),
                amount=amount,
                amount_base=amount,
            )
        month = ends + timedelta(days=1)


def register_demo_step() -> None:
    from growth.demo import Step, register_step

    register_step(Step("dashboards", demo_analytics_load, total=3))
