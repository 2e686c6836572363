"""What the ingest scenarios of bench/run.py need besides the driver.

- sources: created with the real service (`leads.services.sources.source_create`) in a
  `manage.py shell` subprocess with the server's environment;
- request bodies: Segment batches of e-commerce track messages and signed Shopify
  `orders/create` deliveries, each with ids unique to the run;
- the bench database: truncating the leads tables between scenarios and counting what was
  stored, processed, lost or doubled after the load (plain SQL through psycopg).

Every function that writes takes the benchmark's database URL and refuses a database whose
name does not say "bench" (see `guard_database`).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from leads.ingest.http import hmac_base64

REPO = Path(__file__).resolve().parent.parent

MESSAGES_PER_BATCH = 10  # Segment messages per POST /ingest/v1/batch
USER_POOL = 2_000  # distinct visitors the Segment messages come from
CUSTOMER_POOL = 2_000  # distinct customer e-mails on the Shopify orders
SOURCE_PREFIX = "Bench "  # names of the sources the harness creates (and later removes)


class SetupError(Exception):
    """The bench database or the sources cannot be prepared: stops the run with a message."""


# --- Sources ------------------------------------------------------------------------------

_SOURCES_SCRIPT = """
import json
from leads.services.sources import source_create
tracking, write_key = source_create(name={tracking!r}, kind="tracking")
shop, secret = source_create(name={shop!r}, kind="shopify")
print(json.dumps({{
    "tracking_id": tracking.pk, "write_key": write_key,
    "shopify_id": shop.pk, "shopify_slug": shop.slug, "shopify_secret": secret,
}}))
"""


@dataclass(frozen=True)
class Sources:
    run_id: str
    tracking_id: int
    write_key: str
    shopify_id: int
    shopify_slug: str
    shopify_secret: str


def create_sources(env: dict[str, str], run_id: str) -> Sources:
    """One tracking and one Shopify source for this run, made by the real service."""
    script = _SOURCES_SCRIPT.format(
        tracking=f"{SOURCE_PREFIX}tracking {run_id}", shop=f"{SOURCE_PREFIX}Shopify {run_id}"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "shell", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        output = (result.stdout + result.stderr).strip()
        raise SetupError(f"creating the bench sources failed (exit {result.returncode}):\n{output}")
    return Sources(run_id=run_id, **json.loads(lines[-1]))


# --- Request bodies -----------------------------------------------------------------------

# (event, weight): roughly the funnel of a small shop's storefront.
EVENTS = [
    ("Product Viewed", 45),
    ("Product List Viewed", 20),
    ("Product Added", 15),
    ("Cart Viewed", 8),
    ("Checkout Started", 6),
    ("Product Removed", 4),
    ("Order Completed", 2),
]
_EVENT_NAMES = [name for name, _ in EVENTS]
_EVENT_WEIGHTS = [weight for _, weight in EVENTS]

CATALOG = [
    ("p-1001", "TEE-BLK-M", "Organic tee, black", "Apparel", 29.0),
    ("p-1002", "TEE-WHT-L", "Organic tee, white", "Apparel", 29.0),
    ("p-1003", "HOOD-GRY-M", "Heavy hoodie, grey", "Apparel", 79.0),
    ("p-1004", "CAP-NVY", "Six-panel cap, navy", "Accessories", 24.0),
    ("p-1005", "BAG-CNV", "Canvas tote", "Accessories", 19.0),
    ("p-1006", "MUG-ENM", "Enamel mug", "Home", 16.0),
    ("p-1007", "CANDLE-CDR", "Cedar candle", "Home", 34.0),
    ("p-1008", "SOCK-3PK", "Wool socks, 3 pack", "Apparel", 22.0),
    ("p-1009", "BTL-STL", "Steel bottle", "Accessories", 32.0),
    ("p-1010", "BLKT-WOOL", "Wool blanket", "Home", 129.0),
]
REFERRERS = ["https://www.google.com/", "https://www.instagram.com/", "", "https://duckduckgo.com/"]
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
_ANONYMOUS_IDS = [str(uuid.UUID(int=(0xBE4C << 96) + n)) for n in range(USER_POOL)]
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emil", "Fatima", "Gus", "Hana", "Ivo", "Jun"]
LAST_NAMES = ["Silva", "Norman", "Dubois", "Patel", "Larsen", "Haddad", "Meyer", "Sato"]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _product(item: tuple[str, str, str, str, float], quantity: int = 1) -> dict[str, Any]:
    product_id, sku, name, category, price = item
    return {
        "product_id": product_id,
        "sku": sku,
        "name": name,
        "category": category,
        "price": price,
        "quantity": quantity,
        "currency": "USD",
        "url": f"https://shop.example.com/products/{sku.lower()}",
    }


def _properties(event: str, message_id: str, rng: random.Random) -> dict[str, Any]:
    if event == "Product List Viewed":
        category = rng.choice(["Apparel", "Accessories", "Home"])
        items = [_product(p) for p in CATALOG if p[3] == category][:4]
        return {"list_id": category.lower(), "category": category, "products": items}
    if event in ("Cart Viewed", "Checkout Started", "Order Completed"):
        items = [_product(p, rng.randint(1, 2)) for p in rng.sample(CATALOG, rng.randint(1, 3))]
        total = round(sum(i["price"] * i["quantity"] for i in items), 2)
        properties: dict[str, Any] = {"products": items, "currency": "USD", "value": total}
        if event == "Order Completed":
            properties.update(
                order_id=f"bench-{message_id}", total=total, revenue=total, shipping=4.9, tax=0
            )
        return properties
    return _product(rng.choice(CATALOG))


def segment_message(message_id: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    """One analytics.js-shaped track message from a visitor of the pool."""
    user = rng.randrange(USER_POOL)
    event = rng.choices(_EVENT_NAMES, _EVENT_WEIGHTS)[0]
    properties = _properties(event, message_id, rng)
    path = "/cart" if event in ("Cart Viewed", "Checkout Started") else "/products"
    return {
        "type": "track",
        "messageId": message_id,
        "userId": f"bench-user-{user:04d}",
        "anonymousId": _ANONYMOUS_IDS[user],
        "event": event,
        "properties": properties,
        "context": {
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
            "page": {
                "path": path,
                "url": f"https://shop.example.com{path}",
                "referrer": rng.choice(REFERRERS),
                "title": "Bench shop",
            },
            "userAgent": USER_AGENT,
            "locale": "en-US",
            "timezone": "Europe/Berlin",
            "ip": f"203.0.113.{user % 250 + 1}",
        },
        "originalTimestamp": _iso(now - timedelta(milliseconds=rng.randint(5, 400))),
        "timestamp": _iso(now),
    }


def segment_batch(first_id: str, count: int, rng: random.Random) -> tuple[bytes, list[str]]:
    """A /v1/batch body of `count` track messages; ids are `first_id` + "-0", "-1", …"""
    now = datetime.now(UTC)
    ids = [f"{first_id}-{i}" for i in range(count)]
    batch = [segment_message(message_id, rng, now) for message_id in ids]
    body = {"batch": batch, "sentAt": _iso(now), "context": {"library": {"name": "analytics.js"}}}
    return json.dumps(body, separators=(",", ":")).encode(), ids


def shopify_order(order_id: int, customer: int, rng: random.Random) -> dict[str, Any]:
    """An orders/create body shaped like Shopify's (as tests/leads/payloads.py)."""
    now = datetime.now(UTC).astimezone()
    email = f"customer{customer:04d}@example.com"
    first, last = FIRST_NAMES[customer % len(FIRST_NAMES)], LAST_NAMES[customer % len(LAST_NAMES)]
    lines = []
    subtotal = 0.0
    for n, item in enumerate(rng.sample(CATALOG, rng.randint(1, 3))):
        product_id, sku, name, _category, price = item
        quantity = rng.randint(1, 2)
        subtotal += price * quantity
        lines.append(
            {
                "id": order_id * 10 + n,
                "product_id": int(product_id[2:]),
                "variant_id": int(product_id[2:]) * 100 + 1,
                "sku": sku,
                "title": name,
                "quantity": quantity,
                "price": f"{price:.2f}",
            }
        )
    return {
        "id": order_id,
        "name": f"#{order_id % 1_000_000}",
        "order_number": order_id % 1_000_000,
        "email": email,
        "phone": None,
        "created_at": now.isoformat(timespec="seconds"),
        "updated_at": now.isoformat(timespec="seconds"),
        "currency": "USD",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "subtotal_price": f"{subtotal:.2f}",
        "total_discounts": "0.00",
        "total_tax": "0.00",
        "total_price": f"{subtotal + 4.9:.2f}",
        "total_shipping_price_set": {"shop_money": {"amount": "4.90", "currency_code": "USD"}},
        "discount_codes": [],
        "customer_locale": "en",
        "line_items": lines,
        "customer": {
            "id": 7_000_000 + customer,
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": None,
            "default_address": {"country_code": "DE", "company": ""},
            "email_marketing_consent": {
                "state": "subscribed" if customer % 3 else "not_subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": now.isoformat(timespec="seconds"),
            },
            "sms_marketing_consent": {"state": "not_subscribed"},
        },
        "refunds": [],
    }


def shopify_delivery(
    sources: Sources, webhook_id: str, order_id: int, rng: random.Random
) -> tuple[bytes, dict[str, str]]:
    """A signed orders/create delivery: (raw body, headers)."""
    body = json.dumps(shopify_order(order_id, rng.randrange(CUSTOMER_POOL), rng)).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": hmac_base64(sources.shopify_secret, body),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "bench.myshopify.com",
        "X-Shopify-API-Version": "2025-07",
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
    }
    return body, headers


# --- The bench database -------------------------------------------------------------------


def guard_database(database_url: str) -> None:
    """The ingest scenarios truncate tables: only ever on a database named for benchmarks."""
    name = urlsplit(database_url).path.lstrip("/")
    if "bench" not in name:
        raise SetupError(
            f"the ingest scenarios truncate the leads tables; refusing database {name!r} "
            "(its name must contain 'bench')"
        )


def _connect(database_url: str) -> Any:
    import psycopg

    guard_database(database_url)
    try:
        return psycopg.connect(database_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise SetupError(f"cannot reach the bench database: {exc}") from exc


def truncate_leads(
    database_url: str, *, drop_stale_sources: bool = False, keep: Iterable[int] = ()
) -> None:
    """Empty every leads_* table but leads_source (TRUNCATE … CASCADE), so scenarios do not
    see each other's rows. With `drop_stale_sources`, also delete the sources earlier runs of
    the harness created (all but `keep`)."""
    from psycopg import sql

    with _connect(database_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE 'leads\\_%%' AND tablename <> 'leads_source' ORDER BY 1"
            )
        ]
        if tables:
            conn.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )
        if drop_stale_sources:
            conn.execute(
                "DELETE FROM leads_source WHERE starts_with(name, %s) AND NOT (id = ANY(%s))",
                [SOURCE_PREFIX, list(keep)],
            )


def pending_count(database_url: str, source_id: int) -> int:
    """Deliveries not yet done: waiting, or claimed by a worker and in progress."""
    with _connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM leads_inbounddelivery"
            " WHERE source_id = %s AND status IN ('pending', 'processing')",
            [source_id],
        ).fetchone()
    return int(row[0])


def delivery_integrity(database_url: str, prefix: str, accepted: list[str]) -> dict[str, int]:
    """Raw rows for the deliveries whose id starts with `prefix` vs the ids answered 2xx.

    lost: answered 2xx but not stored; doubled: ids stored more than once (the unique
    constraint should make it 0); unacknowledged: stored although the client saw no 2xx
    (a timeout after the commit, say): harmless, the sender would retry and be deduped.
    """
    with _connect(database_url) as conn:
        stored = dict(
            conn.execute(
                "SELECT delivery_id, count(*) FROM leads_inbounddelivery "
                "WHERE starts_with(delivery_id, %s) GROUP BY delivery_id",
                [prefix],
            ).fetchall()
        )
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT delivery_id FROM leads_inbounddelivery "
            "WHERE starts_with(delivery_id, %s) GROUP BY source_id, delivery_id "
            "HAVING count(*) > 1) AS d",
            [prefix],
        ).fetchone()[0]
    accepted_set = set(accepted)
    return {
        "accepted": len(accepted),
        "stored": sum(stored.values()),
        "lost": len(accepted_set - stored.keys()),
        "doubled": int(doubled),
        "unacknowledged": len(stored.keys() - accepted_set),
    }


def stage_lag_rows(database_url: str, source_id: int, prefix: str) -> list[float]:
    """Seconds from the raw row of the event that qualified a contact (MQL or SQL) to the
    recorded stage change, for the run's messages (issue #5: accepted → MQL recorded)."""
    with _connect(database_url) as conn:
        return sorted(
            float(row[0])
            for row in conn.execute(
                "SELECT EXTRACT(EPOCH FROM sc.at - d.received_at) FROM leads_stagechange sc "
                "JOIN leads_event e ON e.id = sc.event_id "
                "JOIN leads_inbounddelivery d "
                "ON d.source_id = e.source_id AND d.delivery_id = e.message_id "
                "WHERE sc.to_stage IN ('mql', 'sql') AND e.source_id = %s "
                "AND starts_with(e.message_id, %s)",
                [source_id, prefix],
            )
        )


def lag_rows(
    database_url: str, source_id: int, prefix: str
) -> tuple[dict[str, float], dict[str, int], dict[str, Any]]:
    """({message id: lag seconds}, delivery statuses, event counts) for the run's messages.

    Lag is the event row's insert time (leads_event.received_at, auto_now_add in the worker)
    minus the raw row's insert time (leads_inbounddelivery.received_at, in the request),
    joined on message_id = delivery_id within the source.
    """
    with _connect(database_url) as conn:
        lags = {
            str(row[0]): float(row[1])
            for row in conn.execute(
                "SELECT e.message_id, EXTRACT(EPOCH FROM e.received_at - d.received_at) "
                "FROM leads_event e JOIN leads_inbounddelivery d "
                "ON d.source_id = e.source_id AND d.delivery_id = e.message_id "
                "WHERE e.source_id = %s AND starts_with(e.message_id, %s)",
                [source_id, prefix],
            )
        }
        statuses = dict(
            conn.execute(
                "SELECT status, count(*) FROM leads_inbounddelivery "
                "WHERE source_id = %s AND starts_with(delivery_id, %s) GROUP BY status",
                [source_id, prefix],
            ).fetchall()
        )
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT message_id FROM leads_event "
            "WHERE source_id = %s AND starts_with(message_id, %s) "
            "GROUP BY message_id HAVING count(*) > 1) AS d",
            [source_id, prefix],
        ).fetchone()[0]
        events, first, last = conn.execute(
            "SELECT count(*), "
            "EXTRACT(EPOCH FROM min(received_at)), EXTRACT(EPOCH FROM max(received_at)) "
            "FROM leads_event WHERE source_id = %s AND starts_with(message_id, %s)",
            [source_id, prefix],
        ).fetchone()
        received_first, received_last = conn.execute(
            "SELECT EXTRACT(EPOCH FROM min(received_at)), EXTRACT(EPOCH FROM max(received_at)) "
            "FROM leads_inbounddelivery WHERE source_id = %s AND starts_with(delivery_id, %s)",
            [source_id, prefix],
        ).fetchone()
    counts = {
        "events": int(events),
        "events_doubled": int(doubled),
        "first_event": float(first) if first is not None else None,
        "last_event": float(last) if last is not None else None,
        "first_received": float(received_first) if received_first is not None else None,
        "last_received": float(received_last) if received_last is not None else None,
    }
    return lags, {str(k): int(v) for k, v in statuses.items()}, counts
