"""Loads generated history through the raw-first path: store, then process in batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from leads.demo.catalogue import RATES
from leads.demo.generator import ShopGenerator
from leads.demo.sources import demo_sources
from leads.services.inbound import Incoming, inbound_process_batch, inbound_store_many

CHUNK = 2000


def demo_shop_load(
    *,
    contacts: int,
    days: int,
    seed: int,
    advance: Callable[[int], None] = lambda n: None,
    now: datetime | None = None,
) -> int:
    """Store and process the demo history. Returns how many messages were new.

    Progress: one unit per visitor generated and stored, one per visitor's worth processed.
    """
    demo_rates_save()
    tracking, shopify = demo_sources()
    by_kind = {"tracking": tracking, "shopify": shopify}
    generator = ShopGenerator(seed=seed, days=days, now=now or timezone.now())
    pending: list = []
    stored = 0

    def store() -> int:
        pending.sort(key=lambda item: item.at)  # the shop sent them in time order
        new = 0
        for kind, source in by_kind.items():
            items = [
                Incoming(i.topic, i.delivery_id, i.encoded()) for i in pending if i.kind == kind
            ]
            if items:
                new += inbound_store_many(
                    source=source, items=items, headers={"User-Agent": "growth-demo"}
                )
        pending.clear()
        return new

    for visitor_items in generator.visitors(contacts):
        pending.extend(visitor_items)
        advance(1)
        if len(pending) >= CHUNK:
            stored += store()
    stored += store()

    per_visitor = max(1, stored // max(1, contacts))
    done = 0
    while handled := inbound_process_batch(limit=500):
        done += handled
        advance(min(contacts, done // per_visitor) - min(contacts, (done - handled) // per_visitor))
    return stored


def demo_rates_save() -> None:
    """The demo's currencies, converted to the reporting currency as the generator prices them."""
    from growth.currency import forget_rates
    from growth.models import CurrencyRate

    for currency, rate in RATES.items():
        CurrencyRate.objects.update_or_create(currency=currency, defaults={"rate_to_base": rate})
    forget_rates()


def register_demo_step() -> None:
    """`make demo` loads the shop after the users (size: DEMO_CONTACTS, default 2,000)."""
    import os

    from growth.demo import Step, register_step

    contacts = int(os.environ.get("DEMO_CONTACTS", "2000"))
    register_step(
        Step(
            "shop",
            lambda advance: demo_shop_load(contacts=contacts, days=90, seed=1, advance=advance),
            total=contacts * 2,
        )
    )
    from leads.demo.ratings import demo_ratings_load

    register_step(
        Step("lead verdicts", lambda advance: demo_ratings_load(advance=advance), total=1)
    )
