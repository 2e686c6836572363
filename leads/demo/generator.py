"""Makes a believable shop's history as the raw messages a real storefront would send.

Visitors arrive from paid search, paid social, the newsletter, organic search, a blog and
direct; they browse, some sign up, fewer add to cart, fewer check out, fewer order, a few
refund or contact support: the funnel drops off as real ones do. Everything comes out as
Segment messages and signed-shop-shaped Shopify orders, so it goes in through the same
services as live traffic. Seeded: the same seed gives the same shop, and message ids are
derived from it, so loading twice changes nothing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from leads.demo.catalogue import (
    CAMPAIGNS,
    CHANNELS,
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    RATES,
)

SHOP = "https://shop.growth-demo.example"


@dataclass
class Item:
    at: datetime
    kind: str  # "tracking" or "shopify"
    topic: str  # message type or webhook topic
    delivery_id: str
    body: dict[str, Any]

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode()


class Visitor:
    def __init__(self, shop: ShopGenerator, n: int, start: datetime) -> None:
        self.shop, self.n, self.rng = shop, n, shop.rng
        self.anonymous_id = f"demo-{shop.seed}-a{n}"
        self.user_id: str | None = None
        self.email: str | None = None
        self.clock = start
        source, medium, referrer, _, lift = self.rng.choices(
            CHANNELS, weights=[c[3] for c in CHANNELS]
        )[0]
        self.utm_source, self.utm_medium, self.referrer, self.lift = source, medium, referrer, lift
        self.campaign = self.rng.choice(CAMPAIGNS.get(source, [""]))
        self.country, self.tz, self.currency, self.locale, _ = self.rng.choices(
            COUNTRIES, weights=[c[4] for c in COUNTRIES]
        )[0]
        self.first, self.last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def _msg(self, kind: str, **fields: Any) -> Item:
        self.clock += timedelta(seconds=self.rng.randint(5, 90))
        self.shop.counter += 1
        message_id = f"demo-{self.shop.seed}-m{self.shop.counter}"
        body = {
            "type": kind,
            "messageId": message_id,
            "anonymousId": self.anonymous_id,
            "timestamp": self.clock.isoformat(),
            "context": {
                "timezone": self.tz,
                "locale": self.locale,
                "library": {"name": "growth-demo"},
            },
            **fields,
        }
        if self.user_id:
            body["userId"] = self.user_id
        return Item(self.clock, "tracking", kind, message_id, body)

    def _page(self, path: str, title: str, *, landing: bool) -> Item:
        url = f"{SHOP}{path}"
        if landing and self.utm_source:
            url += f"?utm_source={self.utm_source}&utm_medium={self.utm_medium}&utm_campaign={self.campaign}"
            if self.utm_source == "google" and self.utm_medium == "cpc":
                url += f"&gclid=demo{self.n}"
        referrer = self.referrer if landing else SHOP + "/"
        return self._msg(
            "page",
            name=title,
            properties={"url": url, "path": path, "title": title, "referrer": referrer},
        )

    def _track(self, event: str, **properties: Any) -> Item:
        return self._msg("track", event=event, properties=properties)

    def journey(self) -> Iterator[Item]:
        rng = self.rng
        viewed: list[tuple[str, str, str, str]] = []
        for visit in range(rng.choices([1, 2, 3, 4], weights=[55, 25, 12, 8])[0]):
            if visit:
                self.clock += timedelta(hours=rng.randint(2, 24 * 6))
            yield self._page("/", "Home", landing=True)
            for product in rng.sample(
                PRODUCTS, rng.choices([0, 1, 2, 3, 5], weights=[20, 30, 25, 15, 10])[0]
            ):
                viewed.append(product)
                pid, name, category, price = product
                yield self._page(f"/products/{pid}", name, landing=False)
                yield self._track(
                    "Product Viewed",
                    product_id=pid,
                    name=name,
                    category=category,
                    price=float(price),
                    currency="USD",
                )
                if rng.random() < 0.25:
                    yield self._track(
                        "Time on Page", seconds=rng.randint(20, 240), url=f"{SHOP}/products/{pid}"
                    )
        if rng.random() < 0.05 * self.lift:
            yield self._track("Content Downloaded", title="Winter layering guide")
        if rng.random() < 0.3 * self.lift:
            yield from self._sign_up()
        if rng.random() < 0.12 * self.lift:
            yield from self._sign_up()
            yield self._track("Newsletter Subscribed", email=self.email, list="weekly")
        if not viewed or rng.random() > 0.4 * self.lift:
            return
        cart = rng.sample(viewed, min(len(viewed), rng.randint(1, 2)))
        for pid, name, _, price in cart:
            yield self._track(
                "Product Added", product_id=pid, name=name, price=float(price), quantity=1
            )
        yield self._track("Cart Viewed", products=[{"product_id": p[0]} for p in cart])
        if rng.random() > 0.6:
            return
        yield from self._sign_up()
        yield self._track(
            "Checkout Started",
            value=float(sum(Decimal(p[3]) for p in cart)),
            currency=self.currency,
        )
        if rng.random() < 0.04:
            yield self._track("Support Contacted", topic="shipping times")
        if rng.random() > 0.7 * self.lift:
            return
        yield from self._order(cart)
        if rng.random() < 0.3:  # repeat customers
            self.clock += timedelta(days=rng.randint(7, 45))
            yield from self._order(rng.sample(PRODUCTS, 1))

    def _sign_up(self) -> Iterator[Item]:
        if self.user_id:
            return
        self.user_id = f"demo-{self.shop.seed}-u{self.n}"
        self.email = (
            f"{self.first}.{self.last}.{self.n}@example.com".lower()
            .replace("é", "e")
            .replace("á", "a")
            .replace("ü", "u")
            .replace("í", "i")
        )
        traits = {
            "email": self.email,
            "firstName": self.first,
            "lastName": self.last,
            "address": {"country": self.country},
        }
        yield self._msg("identify", traits=traits)
        yield self._track("Signed Up", method="email")

    def _order(self, cart: list[tuple[str, str, str, str]]) -> Iterator[Item]:
        rng, shop = self.rng, self.shop
        shop.orders += 1
        order_id = 9_000_000 + shop.seed * 100_000 + shop.orders
        self.clock += timedelta(minutes=rng.randint(2, 20))
        rate = RATES[self.currency]
        lines = [(p, rng.choice([1, 1, 1, 2])) for p in cart]
        subtotal = sum((Decimal(p[3]) / rate * q for p, q in lines), Decimal("0")).quantize(
            Decimal("0.01")
        )
        coupon = rng.random() < 0.2
        discount = (subtotal * Decimal("0.1")).quantize(Decimal("0.01")) if coupon else Decimal("0")
        shipping = Decimal("0") if subtotal > 100 else Decimal("7.50")
        total = subtotal - discount + shipping
        at = self.clock.isoformat()
        payload = {
            "id": order_id,
            "name": f"#{order_id % 100000}",
            "email": self.email,
            "created_at": at,
            "updated_at": at,
            "currency": self.currency,
            "financial_status": "paid",
            "subtotal_price": str(subtotal),
            "total_discounts": str(discount),
            "total_tax": "0.00",
            "total_price": str(total),
            "total_shipping_price_set": {"shop_money": {"amount": str(shipping)}},
            "discount_codes": [{"code": "WELCOME10"}] if coupon else [],
            "line_items": [
                {
                    "id": order_id * 10 + i,
                    "product_id": p[0],
                    "sku": p[0].upper(),
                    "title": p[1],
                    "quantity": q,
                    "price": str((Decimal(p[3]) / rate).quantize(Decimal("0.01"))),
                }
                for i, (p, q) in enumerate(lines)
            ],
            "customer": {
                "id": 7_000_000 + self.n,
                "email": self.email,
                "first_name": self.first,
                "last_name": self.last,
                "default_address": {"country_code": self.country},
                "email_marketing_consent": {
                    "state": rng.choice(
                        ["subscribed", "subscribed", "unsubscribed", "not_subscribed"]
                    ),
                    "consent_updated_at": at,
                },
            },
        }
        yield Item(self.clock, "shopify", "orders/create", f"demo-{shop.seed}-o{order_id}", payload)
        if rng.random() < 0.08:
            self.clock += timedelta(days=rng.randint(2, 12))
            refund = {
                "id": order_id * 3,
                "order_id": order_id,
                "created_at": self.clock.isoformat(),
                "note": "did not fit",
                "transactions": [{"kind": "refund", "amount": str(total)}],
            }
            yield Item(
                self.clock, "shopify", "refunds/create", f"demo-{shop.seed}-r{order_id}", refund
            )


class ShopGenerator:
    def __init__(self, *, seed: int, days: int, now: datetime) -> None:
        self.seed, self.days, self.now = seed, days, now
        self.rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
        self.counter = 0
        self.orders = 0

    def visitors(self, count: int) -> Iterator[list[Item]]:
        """One list of items per visitor, in time order within the visitor; only what
        happened before `now`."""
        history = max(1, self.days - 2) * 86400  # leave two days for journeys to unfold
        for n in range(count):
            start = self.now - timedelta(days=self.days, seconds=-self.rng.randint(0, history))
            yield [item for item in Visitor(self, n, start).journey() if item.at < self.now]

    def live_visitors(self) -> Iterator[list[Item]]:
        """Endless visitors starting now, for live traffic (timestamps are the sender's)."""
        n = 0
        while True:
            n += 1
            yield list(Visitor(self, n, self.now).journey())
