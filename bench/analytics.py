"""The analytics scenarios of issue #8: `dashboards` and `rollup-lag`.

Both read one generated shop in a database of their own (`growth_bench_analytics` and Redis
database 8 unless `--database-url` / `--redis-url` name others), because generating it takes
minutes and nothing else may empty it.

**The shop** (`generate`, set-based SQL: `INSERT ... SELECT ... FROM generate_series`, ids
written explicitly so rows can refer to each other without look-ups): `--analytics-orders`
orders (1,000,000) and `--analytics-sessions` sessions (5,000,000) over `--analytics-days`
days (730), `--analytics-contacts` contacts (sessions / 5), each with its sessions within
RETURN_WINDOW_DAYS of its creation (the first one its first touch: `source_channel` and
`first_touch` with the UTM campaign), channels labelled as `leads.ingest.attribution.channel_of` labels
them ("google / cpc", "facebook / paid-social", "newsletter / email", "google / organic",
"direct", "referral: styleblog.example", ...), about `--analytics-events-per-session` (2)
funnel events a session named 'Product Viewed' / 'Product Added' / 'Checkout Started' /
'Order Completed' with their session, one order in the converting sessions (statuses mostly
paid / fulfilled, some refunded, partially refunded, cancelled, pending; USD, EUR, GBP, CAD,
AUD with their `rate_to_base`; 1-3 lines of 16 products), refunds after the order, the
lead -> MQL -> SQL -> customer -> repeat customer stage changes, ad spend per day x paid
channel x campaign from the sessions those campaigns brought (cost per click per channel)
and monthly agency and tool costs. Secondary indexes and foreign keys of the filled tables
are dropped during the load and made again (validated) afterwards in the same transaction,
the analytics triggers are off meanwhile; then VACUUM (ANALYZE). The rollups are then built
once by the app's own refresh (`analytics.services.rollups.rollups_refresh(full=True)`, the
`analytics_rebuild` command's call) in a `manage.py shell` subprocess. A shop whose size and
generator version match is kept between runs (`--no-analytics-reuse` generates it again);
its rollups are rebuilt when the refresh code or the analytics migrations changed since
(`--analytics-rebuild` forces it).

**dashboards**: every dashboard (`/dashboards/` as a manager, `/dashboards/marketing/` as a
marketer, sessions made server-side) under four filters (last 30 days, last 365 days, one
channel, 30 days compared with the previous 30), each against its baseline: the hand-written
SQL aggregate over the raw tables for the page's headline figures under the same query
string (`GET /bench/analytics-baseline`, bench/urls.py; see BASELINE_* below). Warm: closed
loop (`--analytics-concurrency` clients, 1) after a warm-up, at least MIN_SAMPLES requests.
Cold: `--analytics-cold-rounds` samples (5) per page and per baseline, each the first request
after gunicorn was restarted (new processes, new database connections: empty catalog and
plan caches, templates not compiled; readiness is checked on /bench/bare, which imports the
URLconf, as a load balancer would) and PostgreSQL's shared buffers were evicted (a scratch
table several times shared_buffers read through them with pg_prewarm, checked with
pg_buffercache). The operating system's page cache is NOT dropped (that needs root): the
database fits in RAM here, so blocks come back from memory, not from disk. A page not built
yet (no 200, or the section placeholder) is reported "not available".

**rollup-lag**: a Celery worker on every queue (2 processes) and beat, as `make run` starts
them, on top of the shop; signed Shopify `orders/create` webhooks (bench/ingest.py) at
`--analytics-lag-rate` orders/s for `--analytics-lag-duration` s. Per order: raw row stored
(`leads_inbounddelivery.received_at`) -> order row -> first seen in `analytics_attribution`
(written per order by the refresh; polled every POLL_S, so a lag is at most one poll late),
and, counted per day, in `analytics_salesday` (the dashboards' orders figure).

Goals (issue #8, Benchmarks), reported as met or not, never asserted: at 1,000,000 orders and
5,000,000 sessions each dashboard p95 <= 300 ms warm and <= 2 s cold; order accepted ->
visible in the dashboards p95 <= 60 s.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bench import ingest, messaging, reads

REPO = ingest.REPO
HOST = "127.0.0.1"
NAMES = ("dashboards", "rollup-lag")

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/growth_bench_analytics"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
# run.py's own defaults: when --database-url / --redis-url still say these, the analytics
# scenarios use their own database instead (a generated shop of a million orders must not be
# emptied by the ingest scenarios, nor empty theirs).
HARNESS_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/growth_bench"
HARNESS_REDIS_URL = "redis://127.0.0.1:6379/14"

GOAL_ORDERS = 1_000_000
GOAL_SESSIONS = 5_000_000
GOAL_WARM_P95_MS = 300.0
GOAL_COLD_P95_MS = 2_000.0
GOAL_LAG_P95_S = 60.0

GENERATOR_VERSION = 2  # bump when the generated shop changes: a kept shop is then made again
META_TABLE = "bench_analytics_shop"
EVICT_TABLE = "bench_analytics_evict"
MIN_SAMPLES = 20  # warm: at least this many requests per page (the time is stretched)
MAX_WARM_S = 60.0  # ... but no more than this long
POLL_S = 0.5  # rollup-lag: seconds between looks at the rollups
SHOPIFY_ORDER_BASE = 9_000_000_000  # Shopify ids of the webhook orders (the shop's are "g<n>")

# --- The shop's vocabulary ----------------------------------------------------------------------

# (label, utm_source, utm_medium, referrer, click id key, campaigns (4 slots), weight as first
# touch, weight on a returning visit, cost per click in USD or None when nobody pays per visit)
CHANNELS: list[tuple[str, str, str, str, str, list[str], int, int, float | None]] = [
    ("google / cpc", "google", "cpc", "https://www.google.com/", "gclid",
     ["brand", "shopping-all", "winter-sale", "summer-sale"], 24, 12, 0.95),
    ("facebook / paid-social", "facebook", "paid-social", "https://www.facebook.com/", "fbclid",
     ["lookalike-q4", "retargeting", "spring-drop", "retargeting"], 16, 8, 0.70),
    ("instagram / paid-social", "instagram", "paid-social", "https://www.instagram.com/", "",
     ["reels-launch", "influencer-collab", "reels-launch", "influencer-collab"], 6, 3, 0.80),
    ("tiktok / paid-social", "tiktok", "paid-social", "", "ttclid",
     ["ugc-test", "ugc-test", "spark-ads", "spark-ads"], 4, 2, 0.45),
    ("newsletter / email", "newsletter", "email", "", "",
     ["weekly-drop", "winback", "weekly-drop", "new-arrivals"], 4, 20, None),
    ("google / organic", "", "", "https://www.google.com/search", "", ["", "", "", ""], 20, 15, None),
    ("direct", "", "", "", "", ["", "", "", ""], 18, 35, None),
    ("referral: styleblog.example", "", "", "https://www.styleblog.example/best-sweaters", "",
     ["", "", "", ""], 8, 5, None),
]  # fmt: skip
# (country, time zone, locale, currency, rate to USD, weight)
COUNTRIES = [
    ("US", "America/New_York", "en-US", "USD", "1", 40),
    ("US", "America/Los_Angeles", "en-US", "USD", "1", 15),
    ("DE", "Europe/Berlin", "de-DE", "EUR", "1.08", 10),
    ("FR", "Europe/Paris", "fr-FR", "EUR", "1.08", 6),
    ("NL", "Europe/Amsterdam", "nl-NL", "EUR", "1.08", 4),
    ("GB", "Europe/London", "en-GB", "GBP", "1.27", 14),
    ("CA", "America/Toronto", "en-CA", "CAD", "0.73", 7),
    ("AU", "Australia/Sydney", "en-AU", "AUD", "0.66", 4),
]
PRODUCTS = [  # (external id, sku, name, category, price)
    ("p-100", "KNT-MER-CRW", "Merino Crew Sweater", "Knitwear", "89.00"),
    ("p-101", "KNT-CSH-BNE", "Cashmere Beanie", "Knitwear", "45.00"),
    ("p-102", "KNT-WOL-SCF", "Wool Scarf", "Knitwear", "39.00"),
    ("p-200", "FTW-TRL-RUN", "Trail Running Shoe", "Footwear", "129.00"),
    ("p-201", "FTW-EVD-SNK", "Everyday Sneaker", "Footwear", "95.00"),
    ("p-202", "FTW-LTH-CHB", "Leather Chelsea Boot", "Footwear", "189.00"),
    ("p-300", "BSC-ORG-TEE", "Organic Cotton Tee", "Basics", "25.00"),
    ("p-301", "BSC-RLX-CHN", "Relaxed Chino", "Basics", "69.00"),
    ("p-302", "BSC-LIN-SHT", "Linen Shirt", "Basics", "59.00"),
    ("p-400", "OUT-RAN-SHL", "Rain Shell Jacket", "Outerwear", "159.00"),
    ("p-401", "OUT-DWN-PRK", "Down Parka", "Outerwear", "279.00"),
    ("p-402", "OUT-QLT-VST", "Quilted Vest", "Outerwear", "99.00"),
    ("p-500", "BAG-CNV-WKD", "Canvas Weekender", "Bags", "119.00"),
    ("p-501", "BAG-EVD-BPK", "Everyday Backpack", "Bags", "85.00"),
    ("p-600", "ACC-WOL-SCK", "Wool Socks 3-pack", "Accessories", "24.00"),
    ("p-601", "ACC-LTH-BLT", "Leather Belt", "Accessories", "49.00"),
]
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Felix", "Grace", "Hiro", "Ines", "Jack",
               "Kai", "Lena", "Mateo", "Nora", "Omar", "Priya"]  # fmt: skip
# Order statuses out of 100: (status, share).
STATUSES = [
    ("pending", 2),
    ("cancelled", 3),
    ("refunded", 3),
    ("partially_refunded", 4),
    ("paid", 30),
    ("fulfilled", 58),
]
BOUNCE_PCT = 38  # sessions without an order that saw one page
# A contact's return visits fall within this many days of its first one (so traffic and
# orders spread over the whole history instead of piling up near today).
RETURN_WINDOW_DAYS = 120
# Funnel steps of a session without an order: bounced sessions 0 or 1 (half each); others
# 1 (55 %), 2 (25 %), 3 (20 %). Sessions with an order have all four.
NON_BOUNCE_STEPS = 0.55 * 1 + 0.25 * 2 + 0.20 * 3

FUNNEL = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"]


def _slots(weights: list[int]) -> list[int]:
    """100 slots of 1-based indexes, as many of each as its weight: pick by hash % 100."""
    slots = [n for n, weight in enumerate(weights, start=1) for _ in range(weight)]
    assert len(slots) == 100, weights
    return slots


def hx(expr: str, seed: int, modulo: int) -> str:
    """SQL: a deterministic, well-spread integer in [0, modulo) from a bigint expression."""
    return f"mod(hashint8extended(({expr})::bigint, {seed}) & 2147483647, {modulo})"


def ux(expr: str, seed: int) -> str:
    """SQL: a deterministic float in [0, 1) from a bigint expression."""
    return f"((hashint8extended(({expr})::bigint, {seed}) & 2147483647)::float8 / 2147483648.0)"


# --- Sizes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopSize:
    orders: int
    sessions: int
    contacts: int
    days: int
    events_per_session: float

    @property
    def at_goal(self) -> bool:
        return self.orders >= GOAL_ORDERS and self.sessions >= GOAL_SESSIONS

    def describe(self) -> str:
        return (
            f"{self.orders:,} orders / {self.sessions:,} sessions / {self.contacts:,} contacts "
            f"over {self.days} days"
        )


def size_from(args: argparse.Namespace) -> ShopSize:
    sessions = args.analytics_sessions
    return ShopSize(
        orders=args.analytics_orders,
        sessions=sessions,
        contacts=args.analytics_contacts or max(1, sessions // 5),
        days=args.analytics_days,
        events_per_session=args.analytics_events_per_session,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--analytics-orders",
        type=int,
        default=GOAL_ORDERS,
        help=f"analytics scenarios: orders of the generated shop (the issue's size: {GOAL_ORDERS:,})",
    )
    parser.add_argument(
        "--analytics-sessions",
        type=int,
        default=GOAL_SESSIONS,
        help=f"analytics scenarios: sessions of the generated shop (the issue's size: {GOAL_SESSIONS:,})",
    )
    parser.add_argument(
        "--analytics-contacts",
        type=int,
        default=None,
        help="analytics scenarios: contacts of the generated shop (default: sessions / 5)",
    )
    parser.add_argument(
        "--analytics-days",
        type=int,
        default=730,
        help="analytics scenarios: days of history the shop's sessions and orders span",
    )
    parser.add_argument(
        "--analytics-events-per-session",
        type=float,
        default=2.0,
        help="analytics scenarios: funnel events per session on average (at least the funnel "
        "itself, about 1.7; more adds repeated product views)",
    )
    parser.add_argument(
        "--analytics-reuse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="analytics scenarios: keep the shop an earlier run generated in the analytics "
        "database when its size matches (default), instead of generating it again",
    )
    parser.add_argument(
        "--analytics-rebuild",
        action="store_true",
        help="analytics scenarios: rebuild the rollups of a kept shop even if the refresh "
        "code and migrations did not change",
    )
    parser.add_argument(
        "--analytics-concurrency",
        type=int,
        default=1,
        help="dashboards: client threads of the warm closed loop (1: the latency one reader sees)",
    )
    parser.add_argument(
        "--analytics-cold-rounds",
        type=int,
        default=5,
        help="dashboards: cold samples per page and per baseline (each a gunicorn restart and "
        "a shared-buffer eviction; about 4 s each)",
    )
    parser.add_argument(
        "--analytics-lag-rate",
        type=float,
        default=10.0,
        help="rollup-lag: Shopify orders/create webhooks per second",
    )
    parser.add_argument(
        "--analytics-lag-duration",
        type=float,
        default=30.0,
        help="rollup-lag: seconds of load",
    )
    parser.add_argument(
        "--analytics-lag-timeout",
        type=float,
        default=300.0,
        help="rollup-lag: seconds to wait after the load for every order to be visible",
    )


def urls_from(args: argparse.Namespace) -> tuple[str, str]:
    """The analytics database and Redis: their own unless the harness was pointed elsewhere."""
    database = args.database_url
    if database == HARNESS_DATABASE_URL and not os.environ.get("BENCH_DATABASE_URL"):
        database = DEFAULT_DATABASE_URL
    redis_url = args.redis_url
    if redis_url == HARNESS_REDIS_URL and not os.environ.get("BENCH_REDIS_URL"):
        redis_url = DEFAULT_REDIS_URL
    return database, redis_url


class ScenarioError(Exception):
    """The setup or a process failed: the scenario stops with this message."""


# --- Database helpers -----------------------------------------------------------------------------


def _connect(database_url: str) -> Any:
    return ingest._connect(database_url)


def ensure_database(database_url: str) -> None:
    """Create the analytics database if it does not exist (connecting to `postgres`)."""
    import psycopg
    from psycopg import sql

    ingest.guard_database(database_url)
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"  created database {name}", flush=True)
    except psycopg.Error as exc:
        raise ScenarioError(f"cannot reach PostgreSQL at {parts.hostname}: {exc}") from exc


def manage(env: Mapping[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ScenarioError(
            f"manage.py {args[0]} failed (exit {result.returncode}):\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    return result.stdout


def manage_script(env: Mapping[str, str], script: str, timeout: float = 600) -> dict[str, Any]:
    """Run `script` in `manage.py shell`; it prints one `RESULT <json>` line."""
    output = manage(env, "shell", "-c", script, timeout=timeout)
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise ScenarioError(f"the script printed no result:\n{output[-3000:]}")
    return dict(json.loads(lines[-1][len("RESULT ") :]))


# --- The generator --------------------------------------------------------------------------------

# Tables the generator fills (their secondary indexes and foreign keys are rebuilt after).
FILLED = [
    "leads_contact",
    "leads_session",
    "leads_event",
    "leads_order",
    "leads_orderline",
    "leads_refund",
    "leads_stagechange",
]
# Analytics tables that are inputs, not rollups (every other analytics_* table is a rollup).
ANALYTICS_INPUTS = ("analytics_adspend", "analytics_othercost", "analytics_spendimport")


def _tables(conn: Any, prefix: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND starts_with(tablename, %s) ORDER BY 1",
            [prefix],
        )
    ]


def rollup_tables(conn: Any) -> list[str]:
    """The rollups the refresh writes: every analytics table but the inputs and the marks."""
    return [
        t
        for t in _tables(conn, "analytics_")
        if t not in ANALYTICS_INPUTS and not t.startswith("analytics_dirty")
    ]


def generator_params(size: ShopSize, now: datetime, tracking: int, shop: int) -> dict[str, Any]:
    orders, sessions, contacts = size.orders, size.sessions, size.contacts
    share = orders / sessions
    base_events = share * 4 + (1 - share) * (
        BOUNCE_PCT / 100 * 0.5 + (1 - BOUNCE_PCT / 100) * NON_BOUNCE_STEPS
    )
    non_bounce = share + (1 - share) * (1 - BOUNCE_PCT / 100)
    return {
        "now": now,
        "span": timedelta(days=size.days),
        "window": timedelta(days=RETURN_WINDOW_DAYS),
        "c": contacts,
        "s": sessions,
        "o": orders,
        "j": max(2, math.ceil(sessions / contacts)),
        "tracking": tracking,
        "shop": shop,
        "extra": max(0.0, size.events_per_session - base_events) / non_bounce,
        "first_slots": _slots([c[6] for c in CHANNELS]),
        "return_slots": _slots([c[7] for c in CHANNELS]),
        "labels": [c[0] for c in CHANNELS],
        "utm_sources": [c[1] for c in CHANNELS],
        "utm_mediums": [c[2] for c in CHANNELS],
        "referrers": [c[3] for c in CHANNELS],
        "click_keys": [c[4] for c in CHANNELS],
        "campaigns": [c[5] for c in CHANNELS],
        "country_slots": _slots([c[5] for c in COUNTRIES]),
        "countries": [c[0] for c in COUNTRIES],
        "zones": [c[1] for c in COUNTRIES],
        "locales": [c[2] for c in COUNTRIES],
        "currencies": [c[3] for c in COUNTRIES],
        "rates": [c[4] for c in COUNTRIES],
        "status_slots": _slots([c[1] for c in STATUSES]),
        "statuses": [c[0] for c in STATUSES],
        "skus": [p[1] for p in PRODUCTS],
        "product_names": [p[2] for p in PRODUCTS],
        "prices": [p[4] for p in PRODUCTS],
        "product_docs": [
            json.dumps({"product_id": p[0], "sku": p[1], "name": p[2], "price": float(p[4])})
            for p in PRODUCTS
        ],
        "first_names": FIRST_NAMES,
        "paid_labels": [c[0] for c in CHANNELS if c[8] is not None],
        "paid_cpc": [c[8] for c in CHANNELS if c[8] is not None],
    }


# The contact (0-based k) a session (0-based i) belongs to, its visit number, and when the
# contact was created: contacts arrive evenly over the span, in id order.
CREATED = "(%(now)s::timestamptz - %(span)s::interval + %(span)s::interval * ({k}::float8 / %(c)s))"
# An order is placed a few minutes into its session.
PLACED = "({started} + (3 + " + hx("{i}", 17, 25) + ") * interval '1 minute')"
# Lines of order n: 1 (55 %), 2 (30 %) or 3 (15 %); line l's product and quantity.
LINES = f"(1 + ({hx('{n}', 10, 100)} >= 55)::int + ({hx('{n}', 10, 100)} >= 85)::int)"
PRODUCT = f"(1 + {hx('{n} * 4 + {l}', 11, 16)})"
QUANTITY = f"(1 + ({hx('{n} * 4 + {l}', 12, 100)} < 15)::int)"

# Exactly o sessions end with an order: the o whose hash ranks lowest (pseudo-random, so a
# contact has 0, 1, 2, ... orders as its visits happen to convert).
CHOSEN_SQL = """
CREATE TEMP TABLE bench_chosen ON COMMIT DROP AS
SELECT g AS i FROM generate_series(0, %(s)s - 1) AS g
ORDER BY hashint8extended(g, 50), g LIMIT %(o)s
"""

# Every session once, in the order they happened (ids and the table's pages follow time, as
# in a shop whose rows arrive as they happen).
SESSIONS_TEMP_SQL = f"""
CREATE TEMP TABLE bench_s ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY x.started, x.i) AS id, x.*
FROM (
    SELECT b.i, b.k, b.ch, b.ordered, (%(utm_sources)s::text[])[b.ch] AS src,
        (%(campaigns)s::text[])[b.ch][1 + {hx("b.i", 4, 4)}] AS campaign,
        b.created + least(greatest(%(now)s::timestamptz - interval '1 hour' - b.created,
                                   interval '0'), %(window)s::interval)
            * CASE WHEN b.j = 0 THEN 0
                   ELSE power(least((b.j - 1 + {ux("b.i", 3)}) / greatest(%(j)s - 1, 1), 0.999), 1.7)
              END AS started,
        CASE WHEN b.ordered THEN 4 + {hx("b.i", 6, 12)}
             WHEN {hx("b.i", 7, 100)} < {BOUNCE_PCT} THEN 1
             ELSE 2 + {hx("b.i", 6, 10)} END AS pages
    FROM (
        SELECT g AS i, g %% %(c)s AS k, g / %(c)s AS j, {CREATED.format(k="(g %% %(c)s)")} AS created,
            CASE WHEN g < %(c)s THEN (%(first_slots)s::int[])[1 + {hx("g", 1, 100)}]
                 ELSE (%(return_slots)s::int[])[1 + {hx("g", 2, 100)}] END AS ch,
            c.i IS NOT NULL AS ordered
        FROM generate_series(0, %(s)s - 1) AS g
        LEFT JOIN bench_chosen c ON c.i = g
    ) b
) x
ORDER BY 1
"""  # noqa: S608 (constants only)

SESSIONS_SQL = f"""
INSERT INTO leads_session (id, contact_id, source_id, anonymous_id, started_at, last_activity_at,
    landing_url, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    click_ids, channel, page_views)
SELECT x.id, x.k + 1, %(tracking)s, 'anon-' || (x.k + 1), x.started,
    x.started + x.pages * interval '50 seconds',
    'https://shop.example.com/products/' || lower((%(skus)s::text[])[1 + {hx("x.i", 5, 16)}])
        || CASE WHEN x.src <> '' THEN '?utm_source=' || x.src || '&utm_medium='
           || (%(utm_mediums)s::text[])[x.ch] || '&utm_campaign=' || x.campaign ELSE '' END,
    (%(referrers)s::text[])[x.ch], x.src, (%(utm_mediums)s::text[])[x.ch],
    CASE WHEN x.src <> '' THEN x.campaign ELSE '' END, '', '',
    CASE WHEN (%(click_keys)s::text[])[x.ch] = '' THEN '{{}}'::jsonb
         ELSE jsonb_build_object((%(click_keys)s::text[])[x.ch], 'bench' || x.i) END,
    (%(labels)s::text[])[x.ch], x.pages
FROM bench_s x
"""  # noqa: S608 (constants only)

# The orders, numbered in the order they were placed.
ORDERS_TEMP_SQL = f"""
CREATE TEMP TABLE bench_o ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY p.placed, p.session_id) - 1 AS n, p.*
FROM (
    SELECT s.id AS session_id, s.k, {PLACED.format(started="s.started", i="s.i")} AS placed
    FROM bench_s s WHERE s.ordered
) p
ORDER BY 1
"""  # noqa: S608 (constants only)

ORDERS_SQL = f"""
INSERT INTO leads_order (id, source_id, shop_order_id, order_number, contact_id, status, currency,
    rate_to_base, subtotal, discount_total, shipping_total, tax_total, total, refunded_total,
    coupon_codes, placed_at, shop_updated_at, created_at)
SELECT y.n + 1, %(shop)s, 'g' || (y.n + 1), '#' || (100001 + y.n), y.k + 1, y.status,
    (%(currencies)s::text[])[y.country], (%(rates)s::numeric[])[y.country], y.subtotal,
    y.discount, y.shipping, 0, y.total, y.refunded,
    CASE WHEN y.discount > 0 THEN ARRAY['WELCOME10']::varchar[] ELSE '{{}}'::varchar[] END,
    y.placed, CASE WHEN y.refunded > 0 THEN y.refunded_at ELSE y.placed END, y.placed
FROM (
    SELECT z.*, z.subtotal - z.discount + z.shipping AS total,
        CASE z.status
            WHEN 'refunded' THEN z.subtotal - z.discount + z.shipping
            WHEN 'partially_refunded' THEN round((z.subtotal - z.discount + z.shipping) * 0.3, 2)
            WHEN 'cancelled' THEN CASE WHEN {hx("z.n", 15, 2)} = 0
                                       THEN z.subtotal - z.discount + z.shipping ELSE 0 END
            ELSE 0 END AS refunded,
        least(z.placed + (2 + {hx("z.n", 16, 20)}) * interval '1 day',
              %(now)s::timestamptz - interval '1 minute') AS refunded_at
    FROM (
        SELECT w.*, CASE WHEN {hx("w.n", 13, 100)} < 12 THEN round(w.subtotal * 0.10, 2) ELSE 0 END
                AS discount,
            CASE WHEN w.subtotal >= 100 THEN 0 ELSE 4.90 END AS shipping
        FROM (
            SELECT o.n, o.k, o.placed,
                (%(country_slots)s::int[])[1 + {hx("o.k", 40, 100)}] AS country,
                (%(statuses)s::text[])[(%(status_slots)s::int[])[1 + {hx("o.n", 14, 100)}]] AS status,
                (SELECT sum((%(prices)s::numeric[])[{PRODUCT.format(n="o.n", l="l")}]
                            * {QUANTITY.format(n="o.n", l="l")})
                 FROM generate_series(1, {LINES.format(n="o.n")}) AS l) AS subtotal
            FROM bench_o o
        ) w
    ) z
) y
"""  # noqa: S608 (constants only)

LINES_SQL = f"""
INSERT INTO leads_orderline (id, order_id, product_id, external_id, sku, name, quantity,
    unit_price, total)
SELECT (o.id - 1) * 3 + l, o.id, x.product, 'line-' || o.id || '-' || l,
    (%(skus)s::text[])[x.product], (%(product_names)s::text[])[x.product], x.quantity,
    (%(prices)s::numeric[])[x.product], (%(prices)s::numeric[])[x.product] * x.quantity
FROM leads_order o
CROSS JOIN LATERAL generate_series(1, {LINES.format(n="o.id - 1")}) AS l
CROSS JOIN LATERAL (
    SELECT {PRODUCT.format(n="o.id - 1", l="l")} AS product,
        {QUANTITY.format(n="o.id - 1", l="l")} AS quantity
) x
WHERE o.source_id = %(shop)s
"""  # noqa: S608 (constants only)

REFUNDS_SQL = """
INSERT INTO leads_refund (order_id, shop_refund_id, amount, reason, refunded_at)
SELECT o.id, 'r' || o.id, o.refunded_total,
    CASE o.status WHEN 'cancelled' THEN 'Order cancelled' ELSE 'Returned' END, o.shop_updated_at
FROM leads_order o
WHERE o.source_id = %(shop)s AND o.refunded_total > 0
ORDER BY o.shop_updated_at
"""

# Session i's funnel: sessions with an order have all four steps, bounced ones none or a
# product view, the others 1-3 steps; then repeated product views to reach the events knob.
EVENTS_SQL = f"""
INSERT INTO leads_event (contact_id, source_id, session_id, name, properties, occurred_at,
    received_at, message_id)
SELECT x.k + 1, %(tracking)s, x.id,
    CASE WHEN e <= x.steps THEN (%(funnel)s::text[])[e] ELSE 'Product Viewed' END,
    CASE WHEN x.ordered AND e = 4 THEN jsonb_build_object('order_id', 'g' || (x.n + 1))
         ELSE (%(product_docs)s::jsonb[])[1 + {hx("x.id * 8 + e", 21, 16)}] END,
    CASE WHEN x.ordered AND e <= 4 THEN x.placed - (4 - e) * interval '1 minute'
         ELSE x.started + e * interval '40 seconds' END,
    CASE WHEN x.ordered AND e <= 4 THEN x.placed - (4 - e) * interval '1 minute'
         ELSE x.started + e * interval '40 seconds' END,
    ''
FROM (
    SELECT s.id, s.k, s.started, s.ordered, o.n, o.placed,
        CASE WHEN s.ordered THEN 4
             WHEN s.pages <= 1 THEN {hx("s.i", 8, 2)}
             ELSE 1 + ({hx("s.i", 9, 100)} >= 55)::int + ({hx("s.i", 9, 100)} >= 80)::int
        END AS steps,
        CASE WHEN s.pages <= 1 THEN 0 ELSE floor(%(extra)s + {ux("s.i", 22)})::int END AS extra
    FROM bench_s s LEFT JOIN bench_o o ON o.session_id = s.id
    ORDER BY s.id
) x
CROSS JOIN LATERAL generate_series(1, x.steps + x.extra) AS e
"""  # noqa: S608 (constants only)

BUYERS_SQL = """
CREATE TEMP TABLE bench_buyers ON COMMIT DROP AS
SELECT contact_id, count(*) AS orders, min(placed_at) AS first_at,
    (array_agg(id ORDER BY placed_at, id))[1] AS first_id,
    (array_agg(placed_at ORDER BY placed_at, id))[2] AS second_at,
    (array_agg(id ORDER BY placed_at, id))[2] AS second_id
FROM leads_order
WHERE source_id = %(shop)s AND status NOT IN ('pending', 'cancelled')
GROUP BY contact_id
"""

# Per contact k: how far marketing took it (0 subscriber, 1 lead, 2 MQL, 3 SQL) and when,
# never after its first order; buyers were leads at least.
LEADS = f"""
SELECT q.*,
    CASE WHEN q.depth >= 1 OR q.first_at IS NOT NULL THEN q.created + interval '5 minutes' END
        AS lead_at,
    CASE WHEN q.depth >= 2 AND q.mql < least(q.first_at, %(now)s::timestamptz) THEN q.mql END
        AS mql_at,
    CASE WHEN q.depth >= 3 AND q.mql + (1 + {hx("q.k", 33, 7)}) * interval '1 day'
              < least(q.first_at, %(now)s::timestamptz)
         THEN q.mql + (1 + {hx("q.k", 33, 7)}) * interval '1 day' END AS sql_at
FROM (
    SELECT g AS k, {CREATED.format(k="g")} AS created,
        CASE WHEN {hx("g", 30, 100)} < 30 THEN 0 WHEN {hx("g", 30, 100)} < 65 THEN 1
             WHEN {hx("g", 30, 100)} < 85 THEN 2 ELSE 3 END AS depth,
        {CREATED.format(k="g")} + (1 + {hx("g", 32, 10)}) * interval '1 day' AS mql,
        b.orders, b.first_at, b.first_id, b.second_at, b.second_id
    FROM generate_series(0, %(c)s - 1) AS g
    LEFT JOIN bench_buyers b ON b.contact_id = g + 1
) q
"""  # noqa: S608 (constants only)

CONTACTS_SQL = f"""
INSERT INTO leads_contact (id, first_name, last_name, email, phone, country, time_zone, locale,
    company, properties, lifecycle_stage, score, first_touch, last_touch, source_channel,
    created_at, updated_at, last_seen_at)
SELECT m.k + 1, (%(first_names)s::text[])[1 + {hx("m.k", 41, 16)}], 'Shopper' || (m.k %% 5000),
    'shopper' || (m.k + 1) || '@example.com', '', (%(countries)s::text[])[m.country],
    (%(zones)s::text[])[m.country], (%(locales)s::text[])[m.country],
    CASE WHEN {hx("m.k", 42, 20)} = 0 THEN 'Company ' || (m.k %% 997) ELSE '' END, '{{}}',
    CASE WHEN m.orders >= 2 THEN 'repeat_customer' WHEN m.orders = 1 THEN 'customer'
         WHEN m.sql_at IS NOT NULL THEN 'sql' WHEN m.mql_at IS NOT NULL THEN 'mql'
         WHEN m.lead_at IS NOT NULL THEN 'lead' ELSE 'subscriber' END,
    {hx("m.k", 31, 100)},
    jsonb_strip_nulls(jsonb_build_object(
        'utm_source', NULLIF((%(utm_sources)s::text[])[m.ch], ''),
        'utm_medium', NULLIF((%(utm_mediums)s::text[])[m.ch], ''),
        'utm_campaign', NULLIF((%(campaigns)s::text[])[m.ch][1 + {hx("m.k", 4, 4)}], ''),
        'referrer', NULLIF((%(referrers)s::text[])[m.ch], ''),
        'landing_url', 'https://shop.example.com/')),
    '{{}}', (%(labels)s::text[])[m.ch], m.created, %(now)s::timestamptz,
    greatest(m.created, m.first_at)
FROM (
    SELECT l.*, (%(first_slots)s::int[])[1 + {hx("l.k", 1, 100)}] AS ch,
        (%(country_slots)s::int[])[1 + {hx("l.k", 40, 100)}] AS country
    FROM ({LEADS}) l
) m
"""  # noqa: S608 (constants only)

STAGES_SQL = f"""
INSERT INTO leads_stagechange (contact_id, from_stage, to_stage, at, cause_kind, cause_detail,
    criterion, event_id, order_id, definition_id, actor_id, reason, backward)
WITH l AS MATERIALIZED ({LEADS})
SELECT x.k + 1, x.from_stage, x.to_stage, x.at, x.cause, x.detail, x.criterion, NULL,
    x.order_id, NULL, NULL, '', false
FROM (
    SELECT l.k, 'subscriber' AS from_stage, 'lead' AS to_stage, l.lead_at AS at,
        'event' AS cause, 'Newsletter Subscribed' AS detail, '' AS criterion,
        NULL::bigint AS order_id
    FROM l WHERE l.lead_at IS NOT NULL
    UNION ALL
    SELECT l.k, 'lead', 'mql', l.mql_at, 'rule', 'Engaged shopper', 'product_views', NULL
    FROM l WHERE l.mql_at IS NOT NULL
    UNION ALL
    SELECT l.k, 'mql', 'sql', l.sql_at, 'rule', 'Asked for a call', 'event', NULL
    FROM l WHERE l.sql_at IS NOT NULL
    UNION ALL
    SELECT l.k, CASE WHEN l.sql_at IS NOT NULL THEN 'sql' WHEN l.mql_at IS NOT NULL THEN 'mql'
                     ELSE 'lead' END, 'customer', l.first_at, 'order', 'First order', '', l.first_id
    FROM l WHERE l.first_at IS NOT NULL
    UNION ALL
    SELECT l.k, 'customer', 'repeat_customer', l.second_at, 'order', 'Second order', '',
        l.second_id
    FROM l WHERE l.second_at IS NOT NULL
) x
ORDER BY x.at
"""  # noqa: S608 (constants only)

AD_SPEND_SQL = """
INSERT INTO analytics_adspend (day, channel, campaign, currency, cost, rate_to_base, cost_base,
    clicks, impressions, spend_import_id, updated_at)
SELECT (s.started_at AT TIME ZONE %(tz)s)::date, s.channel, s.utm_campaign, 'USD',
    round(count(*) * c.cpc, 2), 1, round(count(*) * c.cpc, 2), round(count(*) * 1.12),
    count(*) * 38, NULL, %(now)s
FROM leads_session s
JOIN unnest(%(paid_labels)s::text[], %(paid_cpc)s::numeric[]) AS c(label, cpc)
  ON c.label = s.channel
GROUP BY 1, 2, 3, c.cpc
"""

OTHER_COSTS_SQL = """
INSERT INTO analytics_othercost (kind, description, starts_on, ends_on, channel, currency, amount,
    amount_base, created_at)
SELECT k.kind, k.description, m::date, (m + interval '1 month' - interval '1 day')::date, '',
    'USD', k.amount, k.amount, %(now)s
FROM generate_series(date_trunc('month', %(now)s::timestamptz - %(span)s::interval),
                     date_trunc('month', %(now)s::timestamptz), interval '1 month') AS m
CROSS JOIN (VALUES ('agency', 'Performance agency retainer', 3500.00),
                   ('tools', 'Analytics and e-mail tools', 400.00)) AS k(kind, description, amount)
"""

PRODUCTS_SQL = """
INSERT INTO leads_product (id, source_id, external_id, sku, name, category, price, currency, url,
    image_url)
SELECT n, %(shop)s, p.external_id, p.sku, p.name, p.category, p.price, 'USD',
    'https://shop.example.com/products/' || lower(p.sku), ''
FROM unnest(%(ids)s::text[], %(skus)s::text[], %(names)s::text[], %(categories)s::text[],
            %(prices)s::numeric[]) WITH ORDINALITY AS p(external_id, sku, name, category, price, n)
"""


@dataclass(frozen=True)
class Shop:
    """A generated shop in the analytics database, as its meta row describes it."""

    size: ShopSize
    tracking_id: int
    shop_id: int
    generated_at: str
    generate_s: float
    steps: dict[str, float]
    rows: dict[str, int]
    build: dict[str, Any] | None
    reused: bool = False


def _step(steps: dict[str, float], name: str, began: float) -> float:
    now = time.monotonic()
    steps[name] = round(now - began, 1)
    print(f"    {name}: {steps[name]:.1f} s", flush=True)
    return now


def _truncate(conn: Any) -> None:
    from psycopg import sql

    tables = [t for t in _tables(conn, "leads_") if t != "leads_source"]
    tables += _tables(conn, "analytics_")
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        )
    )
    conn.execute("DELETE FROM leads_source WHERE starts_with(name, %s)", [ingest.SOURCE_PREFIX])


def _sources(conn: Any, now: datetime) -> tuple[int, int]:
    """The generated shop's tracking and Shopify sources (plain rows: no key, no secret used)."""
    ids = []
    for name, slug, kind in (
        ("Bench analytics tracking", "bench-analytics-tracking", "tracking"),
        ("Bench analytics shop", "bench-analytics-shop", "shopify"),
    ):
        ids.append(
            conn.execute(
                "INSERT INTO leads_source (name, slug, kind, write_key_hash, write_key_hint, "
                "secret, allowed_origins, is_active, created_at, rotated_at) "
                "VALUES (%s, %s, %s, NULL, '', '', '{}', true, %s, NULL) RETURNING id",
                [name, slug, kind, now],
            ).fetchone()[0]
        )
    return ids[0], ids[1]


def generate(database_url: str, size: ShopSize, *, tz: str = "UTC") -> Shop:
    """Empty the leads and analytics tables and load a shop of `size` (see the module doc)."""
    from psycopg import sql

    began = time.monotonic()
    steps: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    with _connect(database_url) as conn, conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute("SET LOCAL synchronous_commit = off")
        if size.sessions < 1_000_000:  # compiling the expressions costs seconds: worth it at size
            conn.execute("SET LOCAL jit = off")
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _truncate(conn)
        tracking, shop = _sources(conn, now)
        indexes = [index for table in FILLED for index in reads._secondary_indexes(conn, table)]
        for name, _statements in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        foreign_keys = [fk for table in FILLED for fk in reads._foreign_keys(conn, table)]
        for table, name, _definition in foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        # The rollups are built from scratch afterwards: nothing needs marking meanwhile.
        for table in FILLED:
            conn.execute(
                sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
            )
        params = generator_params(size, now, tracking, shop)
        params["funnel"] = FUNNEL
        params["tz"] = tz
        mark = _step(steps, "truncate and drop indexes", began)
        conn.execute(
            PRODUCTS_SQL,
            {
                "shop": shop,
                "ids": [p[0] for p in PRODUCTS],
                "skus": [p[1] for p in PRODUCTS],
                "names": [p[2] for p in PRODUCTS],
                "categories": [p[3] for p in PRODUCTS],
                "prices": [p[4] for p in PRODUCTS],
            },
        )
        conn.execute(CHOSEN_SQL, params)
        conn.execute(SESSIONS_TEMP_SQL, params)
        conn.execute("ANALYZE bench_s")
        conn.execute(SESSIONS_SQL, params)
        mark = _step(steps, f"{size.sessions:,} sessions", mark)
        conn.execute(ORDERS_TEMP_SQL, params)
        conn.execute("ANALYZE bench_o")
        conn.execute(ORDERS_SQL, params)
        conn.execute(LINES_SQL, params)
        conn.execute(REFUNDS_SQL, params)
        mark = _step(steps, f"{size.orders:,} orders, their lines and refunds", mark)
        conn.execute(EVENTS_SQL, params)
        mark = _step(steps, "funnel events", mark)
        conn.execute(BUYERS_SQL, params)
        conn.execute(CONTACTS_SQL, params)
        conn.execute(STAGES_SQL, params)
        for temp in ("bench_buyers", "bench_o", "bench_s", "bench_chosen"):
            conn.execute(f"DROP TABLE {temp}")
        mark = _step(steps, f"{size.contacts:,} contacts and their stage changes", mark)
        conn.execute(AD_SPEND_SQL, params)
        conn.execute(OTHER_COSTS_SQL, params)
        for table in ("leads_contact", "leads_session", "leads_order", "leads_orderline",
                      "leads_product"):  # fmt: skip
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM {i}), false)"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        mark = _step(steps, "ad spend and other costs", mark)
        for _name, statements in indexes:
            for statement in statements:
                conn.execute(statement)
        mark = _step(steps, f"{len(indexes)} secondary indexes", mark)
        for table, name, definition in foreign_keys:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
        for table in FILLED:
            conn.execute(
                sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table))
            )
        mark = _step(steps, f"{len(foreign_keys)} foreign keys (validated)", mark)
    with _connect(database_url) as conn:
        conn.execute(
            sql.SQL("VACUUM (ANALYZE) {}").format(
                sql.SQL(", ").join(
                    sql.Identifier(t) for t in [*FILLED, "leads_product", "analytics_adspend"]
                )
            )
        )
        _step(steps, "vacuum and analyze", mark)
        rows = _row_counts(conn)
    generate_s = round(time.monotonic() - began, 1)
    shop_row = Shop(
        size=size,
        tracking_id=tracking,
        shop_id=shop,
        generated_at=now.isoformat(),
        generate_s=generate_s,
        steps=steps,
        rows=rows,
        build=None,
    )
    _meta_save(database_url, shop_row)
    return shop_row


def _row_counts(conn: Any) -> dict[str, int]:
    """Rows per filled table (from the statistics ANALYZE just wrote, exact for small ones)."""
    counts = {}
    for table in [*FILLED, "analytics_adspend"]:
        estimate = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
        ).fetchone()[0]
        if estimate < 200_000:
            estimate = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        counts[table] = int(estimate)
    return counts


def _meta_save(database_url: str, shop: Shop) -> None:
    with _connect(database_url) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (id int PRIMARY KEY, doc jsonb NOT NULL)"
        )
        doc = asdict(shop)
        doc.pop("reused")
        doc["version"] = GENERATOR_VERSION
        doc["steps"] = list(shop.steps.items())  # jsonb keeps no key order: pairs do
        doc["rows"] = list(shop.rows.items())
        conn.execute(
            f"INSERT INTO {META_TABLE} (id, doc) VALUES (1, %s) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc",
            [json.dumps(doc)],
        )


def _meta_load(database_url: str) -> Shop | None:
    with _connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [META_TABLE]).fetchone()[0]
        if not exists:
            return None
        row = conn.execute(f"SELECT doc FROM {META_TABLE} WHERE id = 1").fetchone()  # noqa: S608
    if row is None or row[0].get("version") != GENERATOR_VERSION:
        return None
    doc = dict(row[0])
    doc.pop("version")
    doc["size"] = ShopSize(**doc["size"])
    doc["steps"], doc["rows"] = dict(doc["steps"]), dict(doc["rows"])
    return Shop(**doc)


def _still_there(database_url: str, shop: Shop) -> bool:
    """The kept shop's rows are all there (nothing emptied or regenerated the tables since)."""
    with _connect(database_url) as conn:
        orders = conn.execute(
            "SELECT count(*) FROM leads_order WHERE source_id = %s", [shop.shop_id]
        ).fetchone()[0]
        sessions = conn.execute(
            "SELECT count(*) FROM leads_session WHERE source_id = %s", [shop.tracking_id]
        ).fetchone()[0]
        contacts = conn.execute(
            "SELECT count(*) FROM leads_contact WHERE id <= %s", [shop.size.contacts]
        ).fetchone()[0]
    return (orders, sessions, contacts) == (
        shop.size.orders,
        shop.size.sessions,
        shop.size.contacts,
    )


# --- Building the rollups ---------------------------------------------------------------------------

BUILD_SCRIPT = r"""
import json, time
from django.utils import timezone
from analytics.services.rollups import rollups_refresh
began = time.perf_counter()
report = rollups_refresh(full=True)
seconds = time.perf_counter() - began
# The nightly segments job's RFM quintiles (the manager's RFM grid reads them).
rfm_began = time.perf_counter()
try:
    from leads.services.segments import rfm_cutoffs_compute
    rfm = rfm_cutoffs_compute(now=timezone.now()) is not None
except Exception as exc:  # reported, not fatal: the grid stays empty
    rfm = repr(exc)
rollups_refresh()  # the next beat tick: the RFM grid scored against the new cutoffs
rfm_s = time.perf_counter() - rfm_began
# The nightly CLV fit (the manager's predictive CLV reads its predictions).
clv_began = time.perf_counter()
from analytics.services.clv import clv_fit
fit = clv_fit()
print("RESULT " + json.dumps({"seconds": seconds, "took_ms": report.took_ms,
    "contacts": report.contacts, "days": report.days, "cohorts": report.cohorts,
    "rfm_cutoffs": rfm, "rfm_s": rfm_s, "clv_predicted": fit.predicted, "clv_error": fit.error,
    "clv_s": time.perf_counter() - clv_began}))
"""


def rollups_code() -> str:
    """What decides whether kept rollups are still right: the refresh code, the migrations and
    the build script."""
    digest = hashlib.sha256(BUILD_SCRIPT.encode())
    for path in sorted((REPO / "analytics").glob("services/rollups.py")) + sorted(
        (REPO / "analytics" / "migrations").glob("0*.py")
    ):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def refresh_available() -> bool:
    return (REPO / "analytics" / "services" / "rollups.py").exists()


def build_rollups(database_url: str, env: Mapping[str, str], shop: Shop) -> Shop:
    """The app's full refresh over the whole shop, timed, then the rollups analysed."""
    from psycopg import sql

    print("  building the rollups (rollups_refresh(full=True)) ...", flush=True)
    began = time.monotonic()
    outcome = manage_script(env, BUILD_SCRIPT, timeout=6 * 3600)
    with _connect(database_url) as conn:
        vacuum_began = time.monotonic()
        tables = rollup_tables(conn)
        conn.execute(
            sql.SQL("VACUUM (ANALYZE) {}").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)
            )
        )
        vacuum_s = time.monotonic() - vacuum_began
        rows = {
            table: int(
                conn.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
                ).fetchone()[0]
            )
            for table in tables
        }
    build = {
        "seconds": round(outcome["seconds"], 1),
        "wall_s": round(time.monotonic() - began, 1),
        "vacuum_s": round(vacuum_s, 1),
        "report": outcome,
        "rows": rows,
        "code": rollups_code(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"  rollups built in {build['seconds']:.1f} s (+ {vacuum_s:.1f} s analyse)", flush=True)
    built = Shop(**{**asdict(shop), "size": shop.size, "build": build})
    _meta_save(database_url, built)
    return built


def prepare(
    database_url: str,
    env: Mapping[str, str],
    size: ShopSize,
    *,
    reuse: bool = True,
    rebuild: bool = False,
    tz: str = "UTC",
) -> Shop:
    """The generated shop with its rollups built: kept when it matches, else made anew."""
    kept = _meta_load(database_url) if reuse else None
    if kept is not None and kept.size == size and _still_there(database_url, kept):
        print(f"  reusing the generated shop ({size.describe()}, made {kept.generated_at})")
        shop = Shop(**{**asdict(kept), "size": kept.size, "reused": True})
    else:
        print(f"  generating {size.describe()} ...", flush=True)
        shop = generate(database_url, size, tz=tz)
        print(f"  generated in {shop.generate_s:.0f} s", flush=True)
    if not refresh_available():
        return shop
    if rebuild or shop.build is None or shop.build.get("code") != rollups_code():
        shop = Shop(**{**asdict(build_rollups(database_url, env, shop)), "size": size,
                       "reused": shop.reused})  # fmt: skip
    return shop


# --- Baselines: the same headline figures, hand-written over the raw tables ---------------------

PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}  # as analytics.filters.PERIODS

# Manager: placed orders, new customers, returned orders, gross and net revenue per buyer's
# first-touch channel (MISSION.md's definitions, as analytics.services.rollups states them:
# each order converted to the reporting currency and rounded to the cent, then summed).
BASELINE_MANAGER_SQL = """
SELECT COALESCE(c.source_channel, '') AS channel,
    count(*) AS orders,
    count(*) FILTER (WHERE o.status <> 'cancelled' AND o.contact_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM leads_order p
        WHERE p.contact_id = o.contact_id AND p.status NOT IN ('pending', 'cancelled')
          AND (p.placed_at, p.id) < (o.placed_at, o.id))) AS new_customers,
    count(*) FILTER (WHERE o.status IN ('cancelled', 'refunded', 'partially_refunded')
                        OR o.refunded_total > 0) AS returned_orders,
    sum(round(o.total * o.rate_to_base, 2)) AS gross,
    sum(CASE WHEN o.status = 'cancelled' THEN 0
             ELSE round((o.total - o.refunded_total) * o.rate_to_base, 2) END) AS net
FROM leads_order o
LEFT JOIN leads_contact c ON c.id = o.contact_id
WHERE o.placed_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
  AND o.placed_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
  AND o.status <> 'pending'{channel}
GROUP BY 1
ORDER BY net DESC, 1
"""
BASELINE_MANAGER_CHANNEL = " AND COALESCE(c.source_channel, '') = %(channel)s"

BASELINE_SPEND_SQL = """
SELECT
  (SELECT COALESCE(sum(cost_base), 0) FROM analytics_adspend
   WHERE day BETWEEN %(start)s AND %(end)s{channel}) AS ads,
  (SELECT COALESCE(sum(amount_base * (least(ends_on, %(end)s::date)
                                      - greatest(starts_on, %(start)s::date) + 1)
                       / (ends_on - starts_on + 1)), 0)
   FROM analytics_othercost
   WHERE starts_on <= %(end)s AND ends_on >= %(start)s AND {other}) AS other
"""

# Marketer: sessions and bounces per channel and campaign; first-touch attributed orders and
# net revenue (the buyer's earliest session or message click in the lookback); ad spend.
BASELINE_TRAFFIC_SQL = """
SELECT COALESCE(NULLIF(s.channel, ''), 'direct') AS channel, s.utm_campaign AS campaign,
    count(*) AS sessions, count(*) FILTER (WHERE s.page_views <= 1) AS bounces
FROM leads_session s
WHERE s.started_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
  AND s.started_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s){channel}
GROUP BY 1, 2
"""
BASELINE_TRAFFIC_CHANNEL = " AND COALESCE(NULLIF(s.channel, ''), 'direct') = %(channel)s"

BASELINE_FIRST_TOUCH_SQL = """
SELECT COALESCE(t.channel, 'direct') AS channel, COALESCE(t.campaign, '') AS campaign,
    count(*) AS orders,
    sum(CASE WHEN o.status = 'cancelled' THEN 0
             ELSE round((o.total - o.refunded_total) * o.rate_to_base, 2) END) AS revenue
FROM leads_order o
LEFT JOIN LATERAL (
    SELECT x.channel, x.campaign FROM (
        SELECT COALESCE(NULLIF(s.channel, ''), 'direct') AS channel, s.utm_campaign AS campaign,
            s.started_at AS at, s.id AS tie
        FROM leads_session s
        WHERE s.contact_id = o.contact_id AND s.started_at <= o.placed_at
          AND s.started_at > o.placed_at - %(lookback)s
        UNION ALL
        SELECT m.channel || ' / growth', COALESCE(j.name, m.origin), m.clicked_at, -m.id
        FROM automations_delivery m LEFT JOIN automations_journey j ON j.id = m.journey_id
        WHERE m.contact_id = o.contact_id AND m.clicked_at <= o.placed_at
          AND m.clicked_at > o.placed_at - %(lookback)s
    ) x
    ORDER BY x.at, x.tie LIMIT 1
) t ON true
WHERE o.placed_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
  AND o.placed_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
  AND o.status <> 'pending'{channel}
GROUP BY 1, 2
"""
BASELINE_FIRST_TOUCH_CHANNEL = " AND COALESCE(t.channel, 'direct') = %(channel)s"

BASELINE_AD_SPEND_SQL = """
SELECT channel, campaign, sum(cost_base) AS spend FROM analytics_adspend
WHERE day BETWEEN %(start)s AND %(end)s{channel}
GROUP BY 1, 2
"""
BASELINE_SPEND_CHANNEL = " AND channel = %(channel)s"


def baseline_periods(query: Mapping[str, str], today: date) -> list[tuple[str, date, date]]:
    """The periods a dashboard query string asks for (analytics.filters' reading of it)."""
    try:
        start = date.fromisoformat(query["from"])
        end = date.fromisoformat(query["to"])
    except (KeyError, ValueError):
        days = PERIOD_DAYS.get(query.get("period", ""), 30)
        start, end = today - timedelta(days=days - 1), today
    periods = [("current", start, end)]
    if query.get("compare") in ("1", "on", "true"):
        days = (end - start).days + 1
        periods.append(("previous", start - timedelta(days=days), start - timedelta(days=1)))
    return periods


def _rows(cursor: Any, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    cursor.execute(sql, params)
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def baseline_figures(
    cursor: Any, query: Mapping[str, str], *, tz: str, lookback_days: int, today: date
) -> dict[str, Any]:
    """The headline figures of a dashboard under its query string, straight from the raw
    tables (a DB-API cursor: Django's in the baseline view, psycopg's in the checks)."""
    figure = query.get("figure", "manager")
    channel = query.get("channel", "")
    out: dict[str, Any] = {"figure": figure, "channel": channel, "periods": []}
    for name, start, end in baseline_periods(query, today):
        params = {
            "start": start,
            "end": end,
            "tz": tz,
            "channel": channel,
            "lookback": timedelta(days=lookback_days),
        }
        period: dict[str, Any] = {"period": name, "start": start, "end": end}
        if figure == "manager":
            rows = _rows(
                cursor,
                BASELINE_MANAGER_SQL.format(channel=BASELINE_MANAGER_CHANNEL if channel else ""),
                params,
            )
            spend = _rows(
                cursor,
                BASELINE_SPEND_SQL.format(
                    channel=BASELINE_SPEND_CHANNEL if channel else "",
                    other="channel = %(channel)s" if channel else "true",
                ),
                params,
            )[0]
            totals = {
                key: sum((row[key] for row in rows), start=0)
                for key in ("orders", "new_customers", "returned_orders", "gross", "net")
            }
            cost = spend["ads"] + spend["other"]
            period.update(
                by_channel=rows,
                totals=totals,
                spend=spend,
                cac=(cost / totals["new_customers"]) if totals["new_customers"] else None,
            )
        else:
            traffic = _rows(
                cursor,
                BASELINE_TRAFFIC_SQL.format(channel=BASELINE_TRAFFIC_CHANNEL if channel else ""),
                params,
            )
            attributed = _rows(
                cursor,
                BASELINE_FIRST_TOUCH_SQL.format(
                    channel=BASELINE_FIRST_TOUCH_CHANNEL if channel else ""
                ),
                params,
            )
            spend_rows = _rows(
                cursor,
                BASELINE_AD_SPEND_SQL.format(channel=BASELINE_SPEND_CHANNEL if channel else ""),
                params,
            )
            spend_of = {(r["channel"], r["campaign"]): r["spend"] for r in spend_rows}
            campaigns = []
            for row in attributed:
                paid = spend_of.get((row["channel"], row["campaign"]))
                campaigns.append(
                    {**row, "spend": paid, "roas": row["revenue"] / paid if paid else None}
                )
            sessions = sum(r["sessions"] for r in traffic)
            bounces = sum(r["bounces"] for r in traffic)
            period.update(
                traffic=traffic,
                campaigns=campaigns,
                totals={
                    "sessions": sessions,
                    "bounces": bounces,
                    "bounce_rate": bounces / sessions if sessions else None,
                    "attributed_orders": sum(r["orders"] for r in attributed),
                    "attributed_revenue": sum((r["revenue"] for r in attributed), start=0),
                    "spend": sum(spend_of.values(), start=0),
                },
            )
        out["periods"].append(period)
    return out


# Rollup totals for the same figures, to check the rollups against the raw tables.
ROLLUP_TOTALS_SQL = """
SELECT
  (SELECT COALESCE(sum(orders), 0) FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s) AS orders,
  (SELECT COALESCE(sum(new_customers), 0) FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s) AS new_customers,
  (SELECT COALESCE(sum(net), 0) FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s) AS net,
  (SELECT COALESCE(sum(sessions), 0) FROM analytics_trafficday WHERE day BETWEEN %(start)s AND %(end)s) AS sessions,
  (SELECT COALESCE(sum(revenue), 0) FROM analytics_attributionday
   WHERE day BETWEEN %(start)s AND %(end)s AND model = 'first') AS attributed_revenue,
  (SELECT count(*) FROM analytics_salesday WHERE day BETWEEN %(start)s AND %(end)s)
  + (SELECT count(*) FROM analytics_attributionday
     WHERE day BETWEEN %(start)s AND %(end)s AND model = 'first') AS rows
"""


def rollups_agree(
    database_url: str, *, tz: str, lookback_days: int, period: str = "365d"
) -> dict[str, Any]:
    """The rollups' totals next to the hand-written figures over the raw tables (same period)."""
    today = datetime.now(ZoneInfo(tz)).date()
    query = {"period": period}
    with _connect(database_url) as conn, conn.cursor() as cursor:
        manager = baseline_figures(cursor, {**query, "figure": "manager"}, tz=tz,
                                   lookback_days=lookback_days, today=today)  # fmt: skip
        marketer = baseline_figures(cursor, {**query, "figure": "marketer"}, tz=tz,
                                    lookback_days=lookback_days, today=today)  # fmt: skip
        start, end = manager["periods"][0]["start"], manager["periods"][0]["end"]
        rolled = _rows(cursor, ROLLUP_TOTALS_SQL, {"start": start, "end": end})[0]
    raw = {
        "orders": manager["periods"][0]["totals"]["orders"],
        "new_customers": manager["periods"][0]["totals"]["new_customers"],
        "net": manager["periods"][0]["totals"]["net"],
        "sessions": marketer["periods"][0]["totals"]["sessions"],
        "attributed_revenue": marketer["periods"][0]["totals"]["attributed_revenue"],
    }
    counts = ("orders", "new_customers", "sessions")
    differ = {
        key: {"raw": str(raw[key]), "rollups": str(rolled[key])}
        for key in counts
        if int(raw[key]) != int(rolled[key])
    }
    # Money to the cent: orders are converted and rounded per order on both sides.
    drift = {
        key: round(float(rolled[key]) - float(raw[key]), 4) for key in ("net", "attributed_revenue")
    }
    money_off = {k: v for k, v in drift.items() if abs(v) >= 0.005}
    return {
        "period": f"{start} to {end}",
        "raw": {k: str(v) for k, v in raw.items()},
        "agree": not differ and not money_off,
        "differ": {**differ, **{k: {"drift": v} for k, v in money_off.items()}},
        "money_drift": drift,
        "rollup_rows": int(rolled["rows"]),
    }


# --- Signed-in readers, server restarts, eviction ----------------------------------------------

SIGN_IN_SCRIPT = r"""
import json
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from growth.models import User
from growth.services import roles_sync
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
roles_sync()
cookies = {}
for role in ("manager", "marketer"):
    user, _ = User.objects.get_or_create(username=f"bench-analytics-{role}")
    user.is_active = True
    user.save(update_fields=["is_active"])
    user.groups.set(Group.objects.filter(name=role))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    cookies[role] = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
print("RESULT " + json.dumps({"cookies": cookies, "tz": settings.GROWTH_REPORTING_TIME_ZONE,
    "lookback": settings.GROWTH_ATTRIBUTION_LOOKBACK_DAYS}))
"""


@dataclass(frozen=True)
class HttpRequest:
    """What run.drive sends (the harness's Request, duck-typed)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None = None
    ids: tuple[str, ...] = ()


def get(
    port: int, path: str, headers: Mapping[str, str], timeout: float = 120.0
) -> tuple[int | None, bytes, float, str | None]:
    """One GET on a fresh connection: (status, body, seconds, error)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    began = time.perf_counter()
    try:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - began, None
    except (OSError, http.client.HTTPException) as exc:
        return None, b"", time.perf_counter() - began, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def start_server(server: Any) -> None:
    """Start gunicorn and wait for /bench/bare; a server that does not come up (run.py's
    BenchError) fails this scenario, not the whole run."""
    try:
        server.start()
        server.wait_until_up("/bench/bare")
    except Exception as exc:
        raise ScenarioError(f"gunicorn did not start: {exc}") from exc


def restart(server: Any, drive: Callable[..., Any]) -> float:
    """Stop gunicorn, start it again, wait until it answers /bench/bare, then send a burst of
    bare requests from several connections so that both workers have imported the URLconf.
    Returns the seconds it took."""
    began = time.monotonic()
    server.stop()
    start_server(server)
    bare = HttpRequest("GET", "/bench/bare", {"Host": "localhost"})
    drive(
        server.port,
        lambda: bare,
        label="bare",
        duration=0.5,
        concurrency=4,
        max_requests=16,
    )
    return time.monotonic() - began


class Evictor:
    """Empties PostgreSQL's shared buffers of the shop: reads a scratch table of several times
    shared_buffers through them (pg_prewarm's 'buffer' mode uses the normal replacement, unlike
    a sequential scan's small ring). pg_buffercache then tells what of the database is left.
    The operating system's page cache is not touched (that needs root)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.method = "none"
        self.verified = False
        self.buffers = 0
        self.table_mb = 0

    def prepare(self) -> None:
        with _connect(self.database_url) as conn:
            self.buffers = int(
                conn.execute(
                    "SELECT setting::int FROM pg_settings WHERE name = 'shared_buffers'"
                ).fetchone()[0]
            )
            block = int(conn.execute("SELECT current_setting('block_size')::int").fetchone()[0])
            # Five times shared_buffers: every buffer's usage count (at most 5) runs down to 0.
            want_mb = max(256, min(8192, 5 * self.buffers * block // 2**20))
            for extension in ("pg_prewarm", "pg_buffercache"):
                with contextlib.suppress(Exception):
                    conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
            extensions = {
                row[0] for row in conn.execute("SELECT extname FROM pg_extension").fetchall()
            }
            self.method = "pg_prewarm" if "pg_prewarm" in extensions else "index scan"
            self.verified = "pg_buffercache" in extensions
            have = conn.execute(
                "SELECT COALESCE(pg_relation_size(to_regclass(%s)), 0) / 1048576", [EVICT_TABLE]
            ).fetchone()[0]
            if have < want_mb:
                rows = want_mb * 2**20 // 1100  # about 1,100 bytes a row
                conn.execute(f"DROP TABLE IF EXISTS {EVICT_TABLE}")
                conn.execute(
                    f"CREATE UNLOGGED TABLE {EVICT_TABLE} (id bigint PRIMARY KEY, filler text) "
                    "WITH (autovacuum_enabled = off)"
                )
                conn.execute(
                    f"INSERT INTO {EVICT_TABLE} SELECT g, repeat(md5(g::text), 32) "  # noqa: S608
                    "FROM generate_series(1, %s) AS g",
                    [rows],
                )
                conn.execute(f"ALTER TABLE {EVICT_TABLE} ALTER COLUMN filler SET STORAGE PLAIN")
            self.table_mb = int(
                conn.execute("SELECT pg_relation_size(%s) / 1048576", [EVICT_TABLE]).fetchone()[0]
            )

    def evict(self) -> int | None:
        """Evict; return the buffers still holding this database's other relations (None when
        pg_buffercache is missing)."""
        with _connect(self.database_url) as conn:
            if self.method == "pg_prewarm":
                conn.execute("SELECT pg_prewarm(%s, 'buffer')", [EVICT_TABLE])
            else:
                conn.execute("SET enable_seqscan = off")
                conn.execute("SET enable_bitmapscan = off")
                conn.execute(f"SELECT count(filler) FROM {EVICT_TABLE} WHERE id > 0")  # noqa: S608
            if not self.verified:
                return None
            # Buffers of this database's own tables and indexes (catalogs aside: the eviction's
            # own queries read them) other than the scratch table.
            return int(
                conn.execute(
                    "SELECT count(*) FROM pg_buffercache b "
                    "JOIN pg_database d ON d.oid = b.reldatabase AND d.datname = current_database() "
                    "JOIN pg_class c ON c.relfilenode = b.relfilenode AND c.oid >= 16384 "
                    "WHERE c.oid NOT IN (to_regclass(%s), to_regclass(%s))",
                    [EVICT_TABLE, f"{EVICT_TABLE}_pkey"],
                ).fetchone()[0]
            )


# --- dashboards ---------------------------------------------------------------------------------

DASHBOARDS = [  # (name, path, role)
    ("manager", "/dashboards/", "manager"),
    ("marketer", "/dashboards/marketing/", "marketer"),
]
VARIANTS = [  # (label, query string)
    ("last 30 days", "period=30d"),
    ("last 365 days", "period=365d"),
    ("30 days, google / cpc", "period=30d&channel=" + quote("google / cpc", safe="")),
    ("30 days vs previous", "period=30d&compare=1"),
]
# analytics.cache keeps a page's figures in Redis for up to a minute under a data version that
# every rollup refresh moves on. Under Django's key scheme (KEY_PREFIX "growth", version 1):
FIGURE_CACHE_VERSION_KEY = "growth:1:analytics:data-version"


class FigureCache:
    """Moves the app's figure-cache version on, as a rollup refresh does, so the next request
    computes its figures from the rollups instead of reading the page's cached ones."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(redis_url)
        self.exists = (REPO / "analytics" / "cache.py").exists()

    def bump(self) -> None:
        if self.exists:
            self.client.incr(FIGURE_CACHE_VERSION_KEY)

    def seen(self) -> bool:
        """The app wrote the version key (so the bump reaches the cache it reads)."""
        return bool(self.client.exists(FIGURE_CACHE_VERSION_KEY))

    def close(self) -> None:
        self.client.close()


# The section placeholder (growth.views.SectionView) answers 200 before a dashboard exists.
PLACEHOLDER_MARK = b"Figures appear once orders arrive from your shop"


def _availability(port: int, path: str, cookie: str) -> tuple[bool, str]:
    status, body, _seconds, error = get(port, path, {"Host": "localhost", "Cookie": cookie})
    if status == 200 and PLACEHOLDER_MARK not in body:
        return True, "200"
    if status == 200:
        return False, "the section placeholder (dashboard not built yet)"
    if status is None:
        return False, error or "no answer"
    if status in (301, 302):
        return False, f"HTTP {status} (redirected: not signed in?)"
    return False, f"HTTP {status}"


def _percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": _ms(messaging.pct(ordered, 0.50)),
        "p95_ms": _ms(messaging.pct(ordered, 0.95)),
        "max_ms": _ms(ordered[-1] if ordered else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _warm(
    port: int,
    request: HttpRequest,
    args: argparse.Namespace,
    drive: Callable[..., Any],
    label: str,
    before: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Closed loop after a warm-up; stretched to MIN_SAMPLES requests (at most MAX_WARM_S).
    `before` runs before each request, outside its clock (the driver builds each request
    before timing it)."""
    concurrency = args.analytics_concurrency
    if before is not None:
        plain = request

        def request_after() -> HttpRequest:
            before()
            return plain

        make: Callable[[], HttpRequest] = request_after
    else:
        make = lambda: request  # noqa: E731
    if args.warmup:
        drive(port, make, label=label, duration=args.warmup, concurrency=concurrency,
              max_requests=args.max_requests)  # fmt: skip
    measured = drive(port, make, label=label, duration=args.duration,
                     concurrency=concurrency, max_requests=args.max_requests)  # fmt: skip
    if measured.requests < MIN_SAMPLES and not measured.errors:
        measured = drive(port, make, label=label, duration=MAX_WARM_S,
                         concurrency=concurrency, max_requests=MIN_SAMPLES)  # fmt: skip
    report: dict[str, Any] = measured.report()
    return report


def run_dashboards(
    args: argparse.Namespace,
    env: dict[str, str],
    shop: Shop,
    server: Any,
    drive: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    signed = manage_script(env, SIGN_IN_SCRIPT)
    cookies, tz, lookback = signed["cookies"], signed["tz"], int(signed["lookback"])
    database_url = env["DATABASE_URL"]
    agreement = rollups_agree(database_url, tz=tz, lookback_days=lookback) if shop.build else None
    if agreement and not agreement["agree"]:
        problems.append(
            f"dashboards: the rollups differ from the raw tables ({agreement['period']}): "
            f"{agreement['differ']}"
        )
    evictor = Evictor(database_url)
    evictor.prepare()
    figures = FigureCache(env["REDIS_URL"])
    start_server(server)
    port = server.port

    pages: list[dict[str, Any]] = []
    for name, path, role in DASHBOARDS:
        available, why = _availability(port, path, cookies[role])
        headers = {"Host": "localhost", "Cookie": cookies[role]}
        for label, query in VARIANTS:
            page: dict[str, Any] = {
                "dashboard": name,
                "variant": label,
                "path": f"{path}?{query}",
                "baseline_path": f"/bench/analytics-baseline?figure={name}&{query}",
                "available": available,
                "why": why,
            }
            pages.append(page)
            target = HttpRequest("GET", page["path"], headers)
            base = HttpRequest("GET", page["baseline_path"], {"Host": "localhost"})
            status, body, _s, error = get(port, base.path, base.headers)
            if status != 200:
                raise ScenarioError(
                    f"dashboards: {base.path} answered {error or status}: {body[:500]!r}"
                )
            if available:
                status, body, _s, error = get(port, target.path, target.headers)
                if status != 200:
                    page["available"] = False
                    page["why"] = error or f"HTTP {status}: {body[:200]!r}"
            print(f"  {name}, {label}: warm ...", flush=True)
            page["warm_baseline"] = _warm(port, base, args, drive, base.path)
            if page["available"]:
                # The goal's figure: every request computes the page's figures from the rollups
                # (the app's figure cache moved on first, as after each refresh, which runs
                # every 10 s while orders arrive); then, for information, the cached page.
                page["warm"] = _warm(port, target, args, drive, target.path, figures.bump)
                if figures.exists:
                    page["warm_cached"] = _warm(port, target, args, drive, target.path)
            for key in ("warm", "warm_cached", "warm_baseline"):
                if key in page and page[key]["errors"]:
                    problems.append(
                        f"dashboards: {page[key]['path']}: {page[key]['errors']} errors"
                    )

    # Cold: one request per restart and eviction, pages and baselines alternating.
    role_of = {d[0]: d[2] for d in DASHBOARDS}
    restarts: list[float] = []
    left: list[int] = []
    samples: dict[tuple[int, str], list[float]] = {}
    rounds = args.analytics_cold_rounds
    if rounds > 0:
        count = sum(2 if p["available"] else 1 for p in pages)
        print(f"  cold: {rounds} round(s) of {count} requests ...", flush=True)
    for _round in range(rounds):
        for n, page in enumerate(pages):
            for key in ("target", "baseline") if page["available"] else ("baseline",):
                if key == "target":
                    path = page["path"]
                    headers = {"Host": "localhost", "Cookie": cookies[role_of[page["dashboard"]]]}
                else:
                    path, headers = page["baseline_path"], {"Host": "localhost"}
                server.stop()
                figures.bump()
                remaining = evictor.evict()
                if remaining is not None:
                    left.append(remaining)
                # The restart reads no table (/bench/bare touches neither database nor Redis).
                restarts.append(restart(server, drive))
                status, _body, seconds, error = get(server.port, path, headers)
                if status != 200:
                    problems.append(f"dashboards: cold {path}: {error or f'HTTP {status}'}")
                    continue
                samples.setdefault((n, key), []).append(seconds)
    for n, page in enumerate(pages):
        page["cold_baseline"] = _percentiles(samples.get((n, "baseline"), []))
        if page["available"]:
            page["cold"] = _percentiles(samples.get((n, "target"), []))
    server.stop()
    figure_cache_seen = figures.seen()
    figures.close()

    for page in pages:
        if not page["available"]:
            page["met"] = None
            continue
        warm_p95 = page["warm"]["p95_ms"]
        cold_p95 = page["cold"]["p95_ms"]
        base_warm, base_cold = page["warm_baseline"]["p95_ms"], page["cold_baseline"]["p95_ms"]
        page["ratio_warm_p95"] = round(warm_p95 / base_warm, 3) if base_warm else None
        page["ratio_cold_p95"] = (
            round(cold_p95 / base_cold, 3) if cold_p95 is not None and base_cold else None
        )
        within = warm_p95 <= GOAL_WARM_P95_MS and (cold_p95 is None or cold_p95 <= GOAL_COLD_P95_MS)
        page["met"] = within if (shop.size.at_goal or not within) else None

    dashboards = []
    for name, path, _role in DASHBOARDS:
        mine = [p for p in pages if p["dashboard"] == name]
        if not any(p["available"] for p in mine):
            met: bool | None = None
            detail = "not available: " + mine[0]["why"]
        else:
            verdicts = [p["met"] for p in mine if p["available"]]
            met = False if False in verdicts else (None if None in verdicts else True)
            worst_warm = max(p["warm"]["p95_ms"] for p in mine if p["available"])
            colds = [p["cold"]["p95_ms"] for p in mine if p["available"] and p["cold"]["p95_ms"]]
            detail = f"worst warm p95 {worst_warm:.0f} ms" + (
                f", worst cold p95 {max(colds):.0f} ms" if colds else ", cold not measured"
            )
            if met is None:
                detail += f" at {shop.size.describe()}; the goal is stated at {GOAL_ORDERS:,} orders / {GOAL_SESSIONS:,} sessions"
        dashboards.append({"dashboard": name, "path": path, "met": met, "detail": detail})

    result = {
        "scenario": "dashboards",
        "analytics": "dashboards",
        "description": "Each dashboard under four filters, warm (closed loop) and cold (gunicorn "
        "restarted, shared buffers evicted), vs the hand-written SQL over the raw tables.",
        "shop": _shop_report(shop),
        "rollups_agree": agreement,
        "concurrency": args.analytics_concurrency,
        "figure_cache": {
            "present": figures.exists,
            "version_key": FIGURE_CACHE_VERSION_KEY,
            "key_seen": figure_cache_seen,
            "how": "warm and cold: the version moved on before each request (figures computed "
            "from the rollups, as after each refresh); warm_cached: not moved (the page's "
            "figures from Redis, for up to a minute while no refresh changes anything)",
        },
        "cold": {
            "rounds": args.analytics_cold_rounds,
            "definition": "first request after a gunicorn restart (new processes and database "
            "connections; /bench/bare answered first), PostgreSQL's shared buffers evicted and "
            "the app's figure cache moved on; the OS page cache is not dropped (needs root), so "
            "data comes from RAM, not disk",
            "eviction": evictor.method,
            "eviction_table_mb": evictor.table_mb,
            "shared_buffers": evictor.buffers,
            "buffers_left_max": max(left) if left else None,
            "restart_s": _spread_s(restarts),
        },
        "pages": pages,
        "dashboards": dashboards,
        "goal": {
            "goal": f"each dashboard p95 <= {GOAL_WARM_P95_MS:g} ms warm and <= "
            f"{GOAL_COLD_P95_MS / 1000:g} s cold at {GOAL_ORDERS:,} orders / {GOAL_SESSIONS:,} sessions",
            "met": _all_met([d["met"] for d in dashboards if "not available" not in d["detail"]]),
            "detail": "; ".join(f"{d['dashboard']}: {d['detail']}" for d in dashboards),
        },
    }
    return result, problems


def _all_met(verdicts: list[bool | None]) -> bool | None:
    if not verdicts or False in verdicts:
        return False if verdicts else None
    return None if None in verdicts else True


def _spread_s(values: list[float]) -> dict[str, Any] | None:
    return messaging.spread(values) if values else None


def _shop_report(shop: Shop) -> dict[str, Any]:
    return {
        "size": asdict(shop.size),
        "at_goal_size": shop.size.at_goal,
        "reused": shop.reused,
        "generated_at": shop.generated_at,
        "generate_s": shop.generate_s,
        "generate_steps_s": shop.steps,
        "rows": shop.rows,
        "build": shop.build,
    }


# --- rollup-lag ---------------------------------------------------------------------------------


def order_requests(sources: ingest.Sources, prefix: str, first: int) -> Callable[[], HttpRequest]:
    """Signed Shopify orders/create deliveries: webhook id `prefix<n>`, order id first + n."""
    import random

    lock = threading.Lock()
    counter = iter(range(10**9))
    rng = random.Random(prefix)
    path = f"/webhooks/shopify/{sources.shopify_slug}/"

    def make() -> HttpRequest:
        with lock:
            n = next(counter)
            webhook_id = f"{prefix}{n}"
            body, headers = ingest.shopify_delivery(sources, webhook_id, first + n, rng)
        return HttpRequest("POST", path, {"Host": "localhost", **headers}, body, (webhook_id,))

    return make


def lag_workers(env: Mapping[str, str], tmp: Path) -> list[messaging.Proc]:
    """As `make run` starts them: one worker on every queue with 2 processes, and beat."""
    command = [
        sys.executable, "-m", "celery", "-A", "growth", "worker", "-Q", messaging.QUEUES,
        "-c", "2", "-n", "bench-analytics@%h", "--loglevel", "WARNING", "--purge",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    return [
        messaging.Proc("celery worker (every queue, -c 2)", command, env, tmp / "worker.log"),
        messaging.celery_beat(env, tmp / "beat.log", tmp / "celerybeat-schedule"),
    ]


VISIBLE_SQL = """
SELECT statement_timestamp(), o.shop_order_id FROM leads_order o
WHERE o.source_id = %(source)s
  AND EXISTS (SELECT 1 FROM analytics_attribution a WHERE a.order_id = o.id)
"""
SALES_NOW_SQL = """
SELECT statement_timestamp(), COALESCE(sum(orders), 0)::bigint
FROM analytics_salesday WHERE day >= %(day)s
"""
REFRESHES_SQL = "SELECT name, refreshed_at, took_ms FROM analytics_refreshstate"


class Watcher:
    """Polls the rollups every POLL_S in a thread: when each order of the run's source first
    shows in analytics_attribution, and the orders analytics_salesday counts."""

    def __init__(self, database_url: str, source_id: int, day: date) -> None:
        self.database_url = database_url
        self.params = {"source": source_id, "day": day}
        self.first_seen: dict[str, datetime] = {}
        self.counts: list[tuple[datetime, int]] = []
        self.refreshes: dict[tuple[str, datetime], int] = {}  # (name, at): took ms
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="bench-rollups", daemon=True)

    def look(self, conn: Any) -> None:
        for at, order in conn.execute(VISIBLE_SQL, self.params).fetchall():
            self.first_seen.setdefault(order, at)
        at, count = conn.execute(SALES_NOW_SQL, self.params).fetchone()
        self.counts.append((at, int(count)))
        for name, refreshed, took in conn.execute(REFRESHES_SQL).fetchall():
            self.refreshes.setdefault((name, refreshed), int(took))

    def _loop(self) -> None:
        try:
            with _connect(self.database_url) as conn:
                while not self.stopping.is_set():
                    self.look(conn)
                    self.stopping.wait(POLL_S)
        except Exception as exc:  # reported with the result
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def lag_figures(
    accepted: list[str],
    received: Mapping[str, datetime],
    stored: Mapping[str, datetime],
    order_of: Mapping[str, str],
    first_seen: Mapping[str, datetime],
    counts: list[tuple[datetime, int]],
    base_count: int,
) -> dict[str, Any]:
    """Per accepted delivery: raw row -> order row -> first seen in the attribution rollup; and,
    counted per day, -> in analytics_salesday (the k-th stored order is counted once the day's
    orders grew by k). Orders never seen count as infinitely late."""
    to_stored, to_visible, stored_to_visible = [], [], []
    never = 0
    for delivery in accepted:
        at = received.get(delivery)
        order = order_of.get(delivery)
        if at is None or order is None:
            never += 1
            to_visible.append(math.inf)
            continue
        if order in stored:
            to_stored.append((stored[order] - at).total_seconds())
        seen = first_seen.get(order)
        if seen is None:
            never += 1
            to_visible.append(math.inf)
            continue
        to_visible.append((seen - at).total_seconds())
        if order in stored:
            stored_to_visible.append((seen - stored[order]).total_seconds())
    # The salesday count: orders in the order their rows were stored.
    ranked = sorted(
        (stored[order_of[d]], received[d])
        for d in accepted
        if d in received and order_of.get(d) in stored
    )
    to_salesday = []
    polls = sorted(counts)
    p = 0
    for k, (_stored_at, received_at) in enumerate(ranked, start=1):
        while p < len(polls) and polls[p][1] - base_count < k:
            p += 1
        to_salesday.append(
            (polls[p][0] - received_at).total_seconds() if p < len(polls) else math.inf
        )
    return {
        "accepted_to_stored": messaging.spread(to_stored),
        "stored_to_visible": messaging.spread(stored_to_visible),
        "accepted_to_visible": _spread_inf(to_visible),
        "accepted_to_salesday": _spread_inf(to_salesday),
        "never_visible": never,
    }


def _spread_inf(values: list[float]) -> dict[str, Any]:
    """messaging.spread, with never-seen values (inf) kept: they push the percentiles up."""
    data = sorted(values)
    finite = [v for v in data if v != math.inf]

    def at(fraction: float) -> float | None:
        value = messaging.pct(data, fraction)
        return None if value is None else (math.inf if value == math.inf else round(value, 3))

    return {
        "n": len(data),
        "never": len(data) - len(finite),
        "p50_s": at(0.50),
        "p95_s": at(0.95),
        "p99_s": at(0.99),
        "max_s": round(finite[-1], 3) if finite else None,
    }


def run_lag(
    args: argparse.Namespace,
    env: dict[str, str],
    shop: Shop,
    tmp: Path,
    server: Any,
    drive: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    database_url, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    run_id = uuid.uuid4().hex[:8]
    sources = ingest.create_sources(env, run_id)
    procs = lag_workers(env, tmp)
    prefix, probe_prefix = f"{run_id}-rollup-lag-m-", f"{run_id}-rollup-lag-probe-"
    with _connect(database_url) as conn:  # the run's orders fall on today (or tomorrow)
        since = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date - 1").fetchone()[0]
    watcher = Watcher(database_url, sources.shopify_id, since)
    measured = None
    try:
        start_server(server)
        for proc in procs:
            proc.start()
        messaging.wait_worker_ready(redis_url, procs)
        # Ready: a probe order went all the way into the rollups (outside the figures).
        probe = order_requests(sources, probe_prefix, SHOPIFY_ORDER_BASE + 900_000_000)()
        began = time.monotonic()
        status, body, _s, error = _post(server.port, probe)
        if status != 200:
            raise ScenarioError(
                f"rollup-lag: the probe webhook was refused: {error or status} {body[:300]!r}"
            )
        with _connect(database_url) as conn:
            while True:
                for proc in procs:
                    proc.ensure_running("while the probe order went through")
                watcher.look(conn)
                if watcher.first_seen:
                    break
                if time.monotonic() - began > 180:
                    raise ScenarioError(
                        "rollup-lag: the probe order was not in the rollups within 180 s:\n"
                        + "\n".join(p.log_tail() for p in procs)
                    )
                time.sleep(POLL_S)
            probe_s = time.monotonic() - began
            time.sleep(2.0)
            watcher.first_seen.clear()
            watcher.look(conn)
            base_count = watcher.counts[-1][1]
            watcher.counts.clear()
            load_start = conn.execute("SELECT statement_timestamp()").fetchone()[0]
        rate, duration = args.analytics_lag_rate, args.analytics_lag_duration
        print(f"  load: {rate:g} orders/s for {duration:g} s ...", flush=True)
        watcher.start()
        load_before = os.getloadavg()
        measured = drive(
            server.port,
            order_requests(sources, prefix, SHOPIFY_ORDER_BASE),
            label=f"POST /webhooks/shopify/<slug>/ @ {rate:g} orders/s",
            duration=duration,
            concurrency=args.lag_concurrency,
            max_requests=args.max_requests,
            rate=rate,
        )
        load_end = time.monotonic()
        accepted = list(measured.accepted_ids)
        wanted = {str(SHOPIFY_ORDER_BASE + int(d.rsplit("-", 1)[1])) for d in accepted}
        drained: float | None = None
        while True:
            for proc in procs:
                proc.ensure_running("during rollup-lag")
            if wanted <= watcher.first_seen.keys():
                drained = time.monotonic() - load_end
                break
            if time.monotonic() - load_end > args.analytics_lag_timeout or watcher.errors:
                break
            time.sleep(POLL_S)
        time.sleep(POLL_S * 2)  # one more look at the salesday count
    finally:
        watcher.stop()
        for proc in procs:
            proc.stop()
        server.stop()
        worker_log = "\n".join(p.log_tail(40) for p in procs)
        messaging.purge_queues(env)
    load_after = os.getloadavg()

    with _connect(database_url) as conn:
        deliveries = conn.execute(
            "SELECT delivery_id, received_at, status FROM leads_inbounddelivery "
            "WHERE source_id = %s AND starts_with(delivery_id, %s)",
            [sources.shopify_id, prefix],
        ).fetchall()
        orders = dict(
            conn.execute(
                "SELECT shop_order_id, created_at FROM leads_order WHERE source_id = %s",
                [sources.shopify_id],
            ).fetchall()
        )
    received = {d: at for d, at, _status in deliveries}
    statuses: dict[str, int] = {}
    for _d, _at, status in deliveries:
        statuses[status] = statuses.get(status, 0) + 1
    order_of = {d: str(SHOPIFY_ORDER_BASE + int(d.rsplit("-", 1)[1])) for d in accepted}
    figures = lag_figures(accepted, received, orders, order_of, watcher.first_seen,
                          watcher.counts, base_count)  # fmt: skip
    lost = sum(1 for d in accepted if d not in received)
    if measured.errors:
        problems.append(f"rollup-lag: {measured.errors} webhooks failed")
        for sample in measured.error_samples:
            print(f"rollup-lag: {sample}", file=sys.stderr)
    if lost or statuses.get("failed"):
        problems.append(
            f"rollup-lag: {lost} accepted webhooks not stored, {statuses.get('failed', 0)} failed"
        )
    if watcher.errors:
        problems.append(f"rollup-lag: polling the rollups failed: {watcher.errors[0]}")
    p95 = figures["accepted_to_visible"]["p95_s"]
    within = p95 is not None and p95 <= GOAL_LAG_P95_S and not figures["never_visible"]
    met: bool | None = within if (shop.size.at_goal or not within) else None
    # Refreshes that committed after the load began ("rollups": every refresh that found marks;
    # "cohorts": the full cohort pass, at most once a minute, inside such a refresh).
    refreshes = sorted(
        (at, name, took) for (name, at), took in watcher.refreshes.items() if at >= load_start
    )
    # When the run's orders became visible: one step per refresh that committed some of them.
    steps: dict[float, int] = {}
    for order, seen in watcher.first_seen.items():
        if order not in wanted:
            continue  # the probe
        offset = round((seen - load_start).total_seconds(), 1)
        steps[offset] = steps.get(offset, 0) + 1
    sent_rate = len(accepted) / measured.seconds if measured.seconds else 0.0
    result = {
        "scenario": "rollup-lag",
        "analytics": "lag",
        "description": "Shopify orders/create webhooks at --analytics-lag-rate with a Celery worker "
        "and beat (rollups_refresh every 10 s): order accepted -> visible in the rollups.",
        "shop": _shop_report(shop),
        "target": measured.report(),
        "load": {
            "offered_orders_per_s": args.analytics_lag_rate,
            "duration_s": args.analytics_lag_duration,
            "accepted_per_s": round(sent_rate, 1),
            "accepted": len(accepted),
            "stored": len(received),
            "lost": lost,
            "inbound_statuses": statuses,
            "all_visible_after_load_s": round(drained, 1) if drained is not None else None,
            "timeout_s": args.analytics_lag_timeout,
            "probe_s": round(probe_s, 1),
            "workers": ["celery worker -Q " + messaging.QUEUES + " -c 2", "celery beat"],
        },
        "lag": figures,
        "refreshes": {
            "seen": sum(1 for r in refreshes if r[1] == "rollups"),
            "took_s": messaging.spread([t / 1000 for _a, n, t in refreshes if n == "rollups"])
            if refreshes
            else None,
            "cohort_passes": [
                {"at_s": round((a - load_start).total_seconds(), 1), "took_s": t / 1000}
                for a, n, t in refreshes
                if n == "cohorts"
            ],
            "committed_at": [{"at_s": a, "orders": n} for a, n in sorted(steps.items())],
        },
        "load_average": {"before": load_before, "after": load_after},
        "worker_log_tail": worker_log if problems or figures["never_visible"] else "",
        "goal": {
            "goal": f"order accepted -> visible in the dashboards p95 <= {GOAL_LAG_P95_S:g} s "
            f"(at {GOAL_ORDERS:,} orders / {GOAL_SESSIONS:,} sessions)",
            "met": met,
            "detail": f"p95 {_s_or_never(p95)} over {len(accepted):,} orders at "
            f"{sent_rate:.1f} orders/s; {figures['never_visible']} never visible; shop "
            + shop.size.describe(),
        },
    }
    return result, problems


def _post(port: int, request: HttpRequest) -> tuple[int | None, bytes, float, str | None]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    began = time.perf_counter()
    try:
        conn.request(request.method, request.path, body=request.body, headers=dict(request.headers))
        response = conn.getresponse()
        return response.status, response.read(), time.perf_counter() - began, None
    except (OSError, http.client.HTTPException) as exc:
        return None, b"", time.perf_counter() - began, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def _s_or_never(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if value == math.inf else f"{value:.2f} s"


# --- Entry point ---------------------------------------------------------------------------------

_prepared: dict[tuple[str, ShopSize], Shop] = {}


def scenario_env(env: Mapping[str, str], args: argparse.Namespace) -> dict[str, str]:
    database_url, redis_url = urls_from(args)
    return {**env, "DATABASE_URL": database_url, "REDIS_URL": redis_url}


def shop_for(args: argparse.Namespace, env: dict[str, str]) -> Shop:
    """The analytics database migrated and its shop ready (once per harness run)."""
    database_url = env["DATABASE_URL"]
    size = size_from(args)
    key = (database_url, size)
    if key not in _prepared:
        ensure_database(database_url)
        manage(env, "migrate", "--noinput", "-v", "0")
        with _connect(database_url) as conn:
            tz = conn.execute("SELECT current_setting('TimeZone')").fetchone()[0]
        tz = env.get("GROWTH_REPORTING_TIME_ZONE", "UTC") or tz
        _prepared[key] = prepare(
            database_url,
            env,
            size,
            reuse=args.analytics_reuse,
            rebuild=args.analytics_rebuild,
            tz=tz,
        )
    return _prepared[key]


def run(
    name: str,
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    *,
    drive: Callable[..., Any],
    server_class: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    """One analytics scenario; (result, problems). Processes it starts are stopped however it
    ends."""
    import psycopg

    env = scenario_env(env, args)
    scratch = tmp / name
    scratch.mkdir(parents=True, exist_ok=True)
    server = server_class(env, scratch / "gunicorn.log")
    try:
        ingest.guard_database(env["DATABASE_URL"])
        print(f"  analytics database {urlsplit(env['DATABASE_URL']).path.lstrip('/')}, "
              f"Redis {env['REDIS_URL']}", flush=True)  # fmt: skip
        shop = shop_for(args, env)
        if shop.build is None:
            raise ScenarioError(
                "the rollups cannot be built: analytics/services/rollups.py is missing"
            )
        if name == "dashboards":
            return run_dashboards(args, env, shop, server, drive)
        if name == "rollup-lag":
            return run_lag(args, env, shop, scratch, server, drive)
    except (
        ScenarioError,
        messaging.ScenarioError,
        ingest.SetupError,
        subprocess.TimeoutExpired,
        psycopg.Error,
    ) as exc:
        log = server.log_tail(40) if hasattr(server, "log_tail") else ""
        return (
            {"scenario": name, "analytics": "failed", "error": str(exc), "server_log": log},
            [f"{name}: {exc}"],
        )
    finally:
        server.stop()
    raise ValueError(name)


# --- Report -------------------------------------------------------------------------------------


def _goal_cell(met: bool | None, available: bool = True) -> str:
    if not available:
        return "n/a"
    return {True: "met", False: "NOT met", None: "n/a"}[met]


def _f(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return "never" if value == math.inf else f"{value:.{digits}f}"


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    """run.py's table. dashboards: per page and filter, the baseline SQL then the page, warm
    (req/s, p50, p99); the ratio cell holds the goal's figures, warm p95 and cold p95, and the
    page's p95 ÷ the SQL's. rollup-lag: p50 / p99 columns hold the accepted -> visible lag in
    ms (p50 / p95)."""
    kind, name = result["analytics"], result["scenario"]
    if kind == "failed":
        return [[name, "(failed)", "", "", "", "1", "", "NOT met"]]
    if kind == "dashboards":
        rows: list[list[str]] = []
        for page in result["pages"]:
            first = not rows
            base, cold_base = page["warm_baseline"], page["cold_baseline"]
            rows.append([name if first else "", f"{page['baseline_path']} (baseline SQL)",
                         f"{base['rps']:.1f}", f"{base['p50_ms']:.1f}", f"{base['p99_ms']:.1f}",
                         str(base["errors"]),
                         f"p95 {base['p95_ms']:.0f} ms, cold {_f(cold_base['p95_ms'], 0)} ms",
                         ""])  # fmt: skip
            if not page["available"]:
                rows.append(["", f"{page['path']} (not available)", "", "", "", "",
                             page["why"][:40], "n/a"])  # fmt: skip
                continue
            warm, cold = page["warm"], page["cold"]
            rows.append(["", page["path"], f"{warm['rps']:.1f}", f"{warm['p50_ms']:.1f}",
                         f"{warm['p99_ms']:.1f}", str(warm["errors"]),
                         f"p95 {warm['p95_ms']:.0f} ms = {_f(page['ratio_warm_p95'], 2)}x, "
                         f"cold {_f(cold['p95_ms'], 0)} ms = {_f(page['ratio_cold_p95'], 2)}x",
                         _goal_cell(page["met"])])  # fmt: skip
        return rows
    lag = result["lag"]["accepted_to_visible"]
    return [
        [
            name,
            f"order accepted -> in the rollups @ {result['load']['offered_orders_per_s']:g}/s "
            "(p50/p95)",
            f"{result['target']['rps']:.1f}",
            _f(None if lag["p50_s"] is None else lag["p50_s"] * 1000, 0),
            _f(None if lag["p95_s"] is None else lag["p95_s"] * 1000, 0),
            str(result["target"]["errors"] + result["lag"]["never_visible"]),
            f"{result['load']['accepted_per_s']:.1f} orders/s accepted",
            _goal_cell(result["goal"]["met"]),
        ]
    ]


def _print_shop(shop: dict[str, Any]) -> None:
    size = ShopSize(**shop["size"])
    made = "kept from an earlier run" if shop["reused"] else "generated in this run"
    print(f"  shop: {size.describe()}, {size.events_per_session:g} funnel events a session; {made} "
          f"({shop['generated_at']}); generation took {shop['generate_s']:.0f} s")  # fmt: skip
    if shop["generate_steps_s"]:
        print("    " + ", ".join(f"{k} {v:g} s" for k, v in shop["generate_steps_s"].items()))
    rows = ", ".join(f"{k.split('_', 1)[1]} {v:,}" for k, v in shop["rows"].items())
    print(f"    rows: {rows}")
    build = shop["build"]
    if build:
        print(f"  rollups: built by rollups_refresh(full=True) in {build['seconds']:.1f} s "
              f"(+ {build['vacuum_s']:.1f} s VACUUM ANALYZE; RFM cutoffs "
              f"{build['report'].get('rfm_s', 0):.1f} s) at {build['at']}")  # fmt: skip


def print_details(result: dict[str, Any]) -> None:
    kind = result["analytics"]
    print(f"\n{result['scenario']}:")
    if kind == "failed":
        print("  failed: " + result["error"][-1500:])
        if result.get("server_log"):
            print("  gunicorn log tail:\n" + result["server_log"])
        return
    _print_shop(result["shop"])
    if kind == "dashboards":
        agree = result["rollups_agree"]
        if agree:
            print(f"  rollups vs raw tables ({agree['period']}: orders, new customers, net, "
                  f"sessions, first-touch revenue): "
                  + ("agree" if agree["agree"] else f"DIFFER {agree['differ']}")
                  + f"; money, rollups - raw: {agree.get('money_drift')}")  # fmt: skip
        cold = result["cold"]
        print(f"  warm: {result['concurrency']} client(s), closed loop, >= {MIN_SAMPLES} requests")
        cache = result.get("figure_cache") or {}
        if cache.get("present"):
            print("  app figure cache (analytics/cache.py): " + cache["how"]
                  + ("" if cache["key_seen"] else "; WARNING: the app never wrote "
                     + cache["version_key"] + ", so the bump may not reach its cache"))  # fmt: skip
        print(f"  cold: {cold['rounds']} samples each; {cold['definition']}")
        left = cold["buffers_left_max"]
        print(f"    eviction: {cold['eviction']} of a {cold['eviction_table_mb']} MB table, "
              f"shared_buffers {cold['shared_buffers']:,} buffers; buffers of the shop left "
              + ("unknown (no pg_buffercache)" if left is None else f"at most {left:,}")
              + (f"; restart {cold['restart_s']['p50_s']} s" if cold["restart_s"] else ""))  # fmt: skip
        for page in result["pages"]:
            b, cb = page["warm_baseline"], page["cold_baseline"]
            if not page["available"]:
                print(f"  {page['dashboard']}, {page['variant']}: not available ({page['why']}); "
                      f"SQL warm p50 / p95 {b['p50_ms']:.0f} / {b['p95_ms']:.0f} ms, cold p50 / "
                      f"p95 {_f(cb['p50_ms'], 0)} / {_f(cb['p95_ms'], 0)} ms")  # fmt: skip
                continue
            w, c = page["warm"], page["cold"]
            hit = page.get("warm_cached")
            cached = f", cached page {hit['p50_ms']:.0f} / {hit['p95_ms']:.0f}" if hit else ""
            print(f"  {page['dashboard']}, {page['variant']}: warm p50 / p95 {w['p50_ms']:.0f} / "
                  f"{w['p95_ms']:.0f} ms (SQL {b['p50_ms']:.0f} / {b['p95_ms']:.0f}{cached}); cold "
                  f"p50 / p95 {_f(c['p50_ms'], 0)} / {_f(c['p95_ms'], 0)} ms (SQL "
                  f"{_f(cb['p50_ms'], 0)} / {_f(cb['p95_ms'], 0)}); p95 ratio "
                  f"{_f(page['ratio_warm_p95'], 2)}x warm, {_f(page['ratio_cold_p95'], 2)}x cold: "
                  f"{_goal_cell(page['met'])}")  # fmt: skip
    else:
        load, lag = result["load"], result["lag"]
        print(f"  workers: {'; '.join(load['workers'])}; probe order visible after "
              f"{load['probe_s']} s")  # fmt: skip
        print(f"  load: {load['offered_orders_per_s']:g} orders/s offered for "
              f"{load['duration_s']:g} s, {load['accepted_per_s']:.1f}/s accepted "
              f"({load['accepted']:,}), stored {load['stored']:,}, lost {load['lost']}; inbound "
              f"{load['inbound_statuses']}; all visible "
              + (f"{load['all_visible_after_load_s']} s after the load"
                 if load["all_visible_after_load_s"] is not None else "NOT (gave up)"))  # fmt: skip
        for label, key in (
            ("accepted -> order row", "accepted_to_stored"),
            ("order row -> in analytics_attribution", "stored_to_visible"),
            ("accepted -> in analytics_attribution", "accepted_to_visible"),
            ("accepted -> counted in analytics_salesday", "accepted_to_salesday"),
        ):
            s = lag[key]
            print(f"  {label}: p50 {_s_or_never(s['p50_s'])}, p95 {_s_or_never(s['p95_s'])}, "
                  f"p99 {_s_or_never(s['p99_s'])}, max {_s_or_never(s['max_s'])} (n {s['n']:,})")  # fmt: skip
        refreshes = result["refreshes"]
        if refreshes["took_s"]:
            t = refreshes["took_s"]
            print(f"  refreshes committed during the run: {refreshes['seen']}, each took p50 "
                  f"{_s_or_never(t['p50_s'])}, max {_s_or_never(t['max_s'])} "
                  "(analytics_refreshstate.took_ms)")  # fmt: skip
        passes = refreshes.get("cohort_passes") or []
        if passes:
            print("  cohort passes (full, inside a refresh): " + ", ".join(
                f"at +{p['at_s']:g} s took {p['took_s']:.1f} s" for p in passes))  # fmt: skip
        steps = refreshes.get("committed_at") or []
        if steps:
            print("  orders became visible at (s after the load began: orders): " + ", ".join(
                f"+{x['at_s']:g}: {x['orders']}" for x in steps)
                + f"; polled every {POLL_S:g} s, so a lag is up to {POLL_S:g} s late")  # fmt: skip
        if result.get("worker_log_tail"):
            print("  worker log tail:\n" + result["worker_log_tail"])
    goal = result["goal"]
    print(f"  goal {goal['goal']}: {_goal_cell(goal['met'])} ({goal['detail']})")
