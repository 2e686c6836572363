"""Keep the dashboards' rollups current: recompute what changed, set-based, from raw tables.

Triggers (migration 0002) append a mark for every UTC day whose orders, refunds, sessions,
funnel events or stage changes were written, and for every contact whose orders changed.
`rollups_refresh` takes the marks it can see, recomputes those days (in the reporting time
zone) and contacts in one transaction, and deletes the marks. A change committed while it
runs keeps its own mark for the next refresh, so nothing is missed; a doubled refresh waits
on the advisory lock and finds nothing left to do.

Definitions (the contract of MISSION.md's KPI table; `analytics.definitions` shows them):
- a **placed order** is any order not pending; its **gross** is total x rate_to_base, its
  **net** is 0 when cancelled, else (total - refunded_total) x rate_to_base: a refund that
  arrives later changes the figures of the order's day;
- a **customer** is a contact with a placed order that is not cancelled; its first such
  order makes it a **new customer** on that order's day;
- an order's **channel / campaign** in sales rollups is its buyer's first touch; attribution
  rollups credit the touchpoints instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from analytics.cache import data_changed
from analytics.models import RefreshState
from leads.ingest.handlers_segment import SESSION_GAP
from leads.models.lifecycle import STAGE_RANK
from leads.order_money import BOUGHT, GROSS, NET, PLACED, RETURNED

LOCK_KEY = 0x616E616C  # "anal": one refresh at a time, whatever process runs it
COHORT_EVERY = 60.0  # seconds: cohorts are a full pass, done at most this often


# Lead funnel levels: a contact "reached" a level when it first held a stage at least that far.
FUNNEL_LEVELS = {"lead": 1, "mql": 2, "sql": 3, "opportunity": 4, "customer": 7}
STAGE_RANKS = {str(stage): rank for stage, rank in STAGE_RANK.items()}
KINDS = ("sales", "traffic", "stages", "contacts")  # as DirtyDay.Kind
SHOP_FUNNEL_EVENTS = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(settings.GROWTH_REPORTING_TIME_ZONE)


def local_days(utc_days: set[date], zone: ZoneInfo) -> set[date]:
    """The reporting-zone days that overlap the given UTC days (one or two each)."""
    days: set[date] = set()
    for day in utc_days:
        start = datetime.combine(day, dtime.min, tzinfo=UTC)
        days.add(start.astimezone(zone).date())
        days.add((start + timedelta(days=1, microseconds=-1)).astimezone(zone).date())
    return days


@dataclass
class RefreshReport:
    skipped: bool = False
    contacts: int = 0
    days: dict[str, int] = field(default_factory=dict)
    cohorts: bool = False
    took_ms: int = 0


def rollups_refresh(*, full: bool = False) -> RefreshReport:
    """Recompute what the marks name (or everything with `full`). Returns what it did."""
    started = time.monotonic()
    report = RefreshReport()
    zone = reporting_zone()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return RefreshReport(skipped=True)
        cursor.execute("DELETE FROM analytics_dirtyday RETURNING kind, day")
        marked: dict[str, set[date]] = {kind: set() for kind in KINDS}
        for kind, day in cursor.fetchall():
            marked[kind].add(day)
        cursor.execute("DELETE FROM analytics_dirtycontact RETURNING contact_id")
        contacts = sorted({row[0] for row in cursor.fetchall()})
        if full:
            contacts = _all_customer_contacts(cursor)
            for kind, days in _all_days(cursor, zone).items():
                marked[kind] = days
        else:
            marked = {kind: local_days(days, zone) for kind, days in marked.items()}

        tz = zone.key
        if contacts:
            moved, turned = _customers_refresh(cursor, contacts, tz)
            marked["sales"] |= moved
            if turned:
                marked["contacts"] |= _created_days(cursor, turned, tz)
            report.contacts = len(contacts)
        # An order can complete a visit of its day or of the evening before.
        marked["traffic"] |= {d for day in marked["sales"] for d in (day, day - timedelta(days=1))}
        if marked["sales"]:
            _sales_refresh(cursor, sorted(marked["sales"]), tz)
        if marked["traffic"]:
            _traffic_refresh(cursor, sorted(marked["traffic"]), tz)
        if marked["stages"]:
            _stages_refresh(cursor, sorted(marked["stages"]), tz)
        if marked["contacts"]:
            _contacts_refresh(cursor, sorted(marked["contacts"]), tz)
        report.days = {kind: len(days) for kind, days in marked.items() if days}
        now = timezone.now()
        if report.days or report.contacts:
            _state_save("rollups", now, started)
            data_changed()
        if (marked["sales"] or full) and _due("cohorts", now, COHORT_EVERY, full):
            _cohorts_refresh(cursor, tz)
            _state_save("cohorts", now, started)
            report.cohorts = True
        if report.cohorts:
            _purchase_times_refresh(cursor, tz, now.astimezone(reporting_zone()).date())
        if report.cohorts or _new_rfm_cutoffs():
            _rfm_refresh(cursor)
            _state_save("rfm", now, started)
            data_changed()
    report.took_ms = int((time.monotonic() - started) * 1000)
    return report


def _due(name: str, now: datetime, every: float, full: bool) -> bool:
    if full:
        return True
    last = RefreshState.objects.filter(name=name).values_list("refreshed_at", flat=True).first()
    return last is None or (now - last).total_seconds() >= every


def _state_save(name: str, now: datetime, started: float) -> None:
    took = int((time.monotonic() - started) * 1000)
    RefreshState.objects.update_or_create(
        name=name, defaults={"refreshed_at": now, "took_ms": took}
    )


def _all_customer_contacts(cursor: CursorWrapper) -> list[int]:
    cursor.execute(
        "SELECT DISTINCT contact_id FROM leads_order WHERE contact_id IS NOT NULL "
        "UNION SELECT contact_id FROM analytics_customerfact"
    )
    return [row[0] for row in cursor.fetchall()]


def _all_days(cursor: CursorWrapper, zone: ZoneInfo) -> dict[str, set[date]]:
    """Every local day that has data, per kind, and every day a rollup holds (to clear it)."""
    tz = zone.key
    cursor.execute(
        """
        SELECT 'sales', (placed_at AT TIME ZONE %(tz)s)::date FROM leads_order
        UNION SELECT 'sales', day FROM analytics_salesday
        UNION SELECT 'sales', day FROM analytics_attributionday
        UNION SELECT 'traffic', (started_at AT TIME ZONE %(tz)s)::date FROM leads_session
        UNION SELECT 'traffic', day FROM analytics_trafficday
        UNION SELECT 'traffic', day FROM analytics_productday
        UNION SELECT 'traffic', (occurred_at AT TIME ZONE %(tz)s)::date FROM leads_event
          WHERE name IN ('Product Viewed', 'Product Added')
        UNION SELECT 'stages', (at AT TIME ZONE %(tz)s)::date FROM leads_stagechange
        UNION SELECT 'stages', day FROM analytics_stageday
        UNION SELECT 'contacts', (created_at AT TIME ZONE %(tz)s)::date FROM leads_contact
        UNION SELECT 'contacts', day FROM analytics_contactday
        """,
        {"tz": tz},
    )
    days: dict[str, set[date]] = {kind: set() for kind in KINDS}
    for kind, day in cursor.fetchall():
        days[kind].add(day)
    return days


# A local day's bounds as timestamptz, for index range scans over placed_at / started_at / at.
DAY_START = "(d.day::timestamp AT TIME ZONE %(tz)s)"
DAY_END = "((d.day + 1)::timestamp AT TIME ZONE %(tz)s)"


def _customers_refresh(
    cursor: CursorWrapper, contacts: list[int], tz: str
) -> tuple[set[date], list[int]]:
    """Recompute the customer facts of these contacts; return the first-order days that moved
    and the contacts that became, or stopped being, customers."""
    cursor.execute(
        "SELECT first_order_day, contact_id FROM analytics_customerfact "
        "WHERE contact_id = ANY(%(ids)s)",
        {"ids": contacts},
    )
    before = cursor.fetchall()
    moved = {day for day, _contact in before}
    cursor.execute(
        "DELETE FROM analytics_customerfact WHERE contact_id = ANY(%(ids)s)", {"ids": contacts}
    )
    cursor.execute(
        f"""
        INSERT INTO analytics_customerfact (
            contact_id, first_seen_at, first_order_id, first_order_at, first_order_day,
            last_order_at, orders, net, channel, campaign)
        SELECT c.id, LEAST(c.created_at, agg.first_at), agg.first_id, agg.first_at,
               (agg.first_at AT TIME ZONE %(tz)s)::date, agg.last_at, agg.orders, agg.net,
               c.source_channel, COALESCE(c.first_touch->>'utm_campaign', '')
        FROM (
            SELECT o.contact_id,
                   (array_agg(o.id ORDER BY o.placed_at, o.id))[1] AS first_id,
                   min(o.placed_at) AS first_at, max(o.placed_at) AS last_at,
                   count(*) AS orders, sum({NET}) AS net
            FROM leads_order o
            WHERE o.contact_id = ANY(%(ids)s) AND {BOUGHT}
            GROUP BY o.contact_id
        ) agg
        JOIN leads_contact c ON c.id = agg.contact_id
        RETURNING first_order_day, contact_id
        """,  # noqa: S608 (constants only)
        {"ids": contacts, "tz": tz},
    )
    after = cursor.fetchall()
    moved |= {day for day, _contact in after}
    turned = {contact for _day, contact in before} ^ {contact for _day, contact in after}
    return moved, sorted(turned)


def _created_days(cursor: CursorWrapper, contacts: list[int], tz: str) -> set[date]:
    """The local days these contacts were created: whether they are customers moved there."""
    cursor.execute(
        "SELECT DISTINCT (created_at AT TIME ZONE %(tz)s)::date FROM leads_contact "
        "WHERE id = ANY(%(ids)s)",
        {"ids": contacts, "tz": tz},
    )
    return {row[0] for row in cursor.fetchall()}


def _sales_refresh(cursor: CursorWrapper, days: list[date], tz: str) -> None:
    params: dict[str, Any] = {"days": days, "tz": tz}
    # The placed orders of these days, once, for the sales and attribution rollups.
    cursor.execute(
        f"""
        CREATE TEMP TABLE refresh_orders ON COMMIT DROP AS
        SELECT o.id, o.contact_id, o.placed_at, d.day, {NET} AS net, {GROSS} AS gross,
               {RETURNED} AS returned
        FROM unnest(%(days)s::date[]) AS d(day)
        JOIN leads_order o ON o.placed_at >= {DAY_START} AND o.placed_at < {DAY_END}
        WHERE {PLACED}
        """,  # noqa: S608 (constants only)
        params,
    )
    cursor.execute("DELETE FROM analytics_salesday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        """
        INSERT INTO analytics_salesday (
            day, channel, campaign, orders, new_customers, returned_orders, gross, refunds, net,
            customers_net)
        SELECT r.day, COALESCE(c.source_channel, ''),
               COALESCE(c.first_touch->>'utm_campaign', ''),
               count(*), count(cf.contact_id), count(*) FILTER (WHERE r.returned),
               sum(r.gross), sum(r.gross - r.net), sum(r.net), COALESCE(sum(cf.net), 0)
        FROM refresh_orders r
        LEFT JOIN leads_contact c ON c.id = r.contact_id
        LEFT JOIN analytics_customerfact cf ON cf.first_order_id = r.id
        GROUP BY 1, 2, 3
        """
    )
    _attribution_refresh(cursor, params)
    cursor.execute("DELETE FROM analytics_productsalesday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        """
        INSERT INTO analytics_productsalesday (day, product, name, quantity, revenue)
        SELECT r.day, COALESCE(p.external_id, NULLIF(l.sku, ''), l.name), max(l.name),
               sum(l.quantity), sum(round(l.total * o.rate_to_base, 2))
        FROM refresh_orders r
        JOIN leads_order o ON o.id = r.id AND o.status <> 'cancelled'
        JOIN leads_orderline l ON l.order_id = r.id
        LEFT JOIN leads_product p ON p.id = l.product_id
        GROUP BY 1, 2
        """
    )
    cursor.execute("DROP TABLE refresh_orders")


def _attribution_refresh(cursor: CursorWrapper, params: dict[str, Any]) -> None:
    """Credit every order of `refresh_orders` under each model, then roll credits up per day."""
    cursor.execute(
        "DELETE FROM analytics_attribution a USING refresh_orders r WHERE a.order_id = r.id"
    )
    model_params: dict[str, Any] = {
        "lookback": timedelta(days=settings.GROWTH_ATTRIBUTION_LOOKBACK_DAYS),
        "half_life": settings.GROWTH_ATTRIBUTION_HALF_LIFE_DAYS * 86400.0,
    }
    cursor.execute(ATTRIBUTION_SQL, model_params)
    cursor.execute("DELETE FROM analytics_attributionday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        """
        INSERT INTO analytics_attributionday (day, model, channel, campaign, orders, revenue)
        SELECT r.day, a.model, a.channel, a.campaign, sum(a.credit), sum(a.revenue)
        FROM refresh_orders r JOIN analytics_attribution a ON a.order_id = r.id
        GROUP BY 1, 2, 3, 4
        """
    )


# Touchpoints of an order: the buyer's sessions and message clicks in the lookback before it.
# Credits per model (they sum to 1 per order): first and last touch; linear 1/n; position
# 40/20/40 (n = 1: all, n = 2: half each); time decay halving every half-life before the order.
# An order without touchpoints is credited whole to "direct".
ATTRIBUTION_SQL = """
WITH touch AS (
    SELECT r.id AS order_id, r.net, r.placed_at, COALESCE(NULLIF(s.channel, ''), 'direct') AS channel,
           s.utm_campaign AS campaign, s.started_at AS at, s.id AS tie
    FROM refresh_orders r
    JOIN leads_session s ON s.contact_id = r.contact_id
     AND s.started_at <= r.placed_at AND s.started_at > r.placed_at - %(lookback)s
    UNION ALL
    SELECT r.id, r.net, r.placed_at, m.channel || ' / growth', COALESCE(j.name, m.origin),
           m.clicked_at, -m.id
    FROM refresh_orders r
    JOIN automations_delivery m ON m.contact_id = r.contact_id
     AND m.clicked_at <= r.placed_at AND m.clicked_at > r.placed_at - %(lookback)s
    LEFT JOIN automations_journey j ON j.id = m.journey_id
),
ranked AS (
    SELECT t.*, row_number() OVER (PARTITION BY order_id ORDER BY at, tie) AS pos,
           count(*) OVER (PARTITION BY order_id) AS n,
           power(0.5, extract(epoch FROM placed_at - at) / %(half_life)s) AS decay
    FROM touch t
),
weighted AS (
    SELECT ranked.*, decay / sum(decay) OVER (PARTITION BY order_id) AS decay_share
    FROM ranked
),
credited AS (
    SELECT order_id, net, channel, campaign, at, m.model,
           CASE m.model
             WHEN 'first' THEN (pos = 1)::int::numeric
             WHEN 'last' THEN (pos = n)::int::numeric
             WHEN 'linear' THEN 1.0 / n
             WHEN 'position' THEN CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                                       WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END
             ELSE decay_share::numeric
           END AS credit
    FROM weighted
    CROSS JOIN (VALUES ('first'), ('last'), ('linear'), ('position'), ('decay')) AS m(model)
)
INSERT INTO analytics_attribution (order_id, model, channel, campaign, touched_at, credit, revenue)
SELECT order_id, model, channel, COALESCE(campaign, ''), at, round(credit, 6), round(net * credit, 4)
FROM credited WHERE credit > 0
UNION ALL
SELECT r.id, m.model, 'direct', '', NULL, 1, r.net
FROM refresh_orders r
CROSS JOIN (VALUES ('first'), ('last'), ('linear'), ('position'), ('decay')) AS m(model)
WHERE NOT EXISTS (SELECT 1 FROM touch t WHERE t.order_id = r.id)
"""


def _traffic_refresh(cursor: CursorWrapper, days: list[date], tz: str) -> None:
    params: dict[str, Any] = {"days": days, "tz": tz, "names": list(SHOP_FUNNEL_EVENTS)}
    # How far each session of these days got: a session "reached" a funnel step when it had
    # that event or a later one, and reached the order when its buyer placed one during the
    # visit (or within the idle gap after it: the shop's order webhook, not a tracked event).
    # Events may run past midnight, so they are read until a day after each day
    # (overlapping windows only repeat events; max() does not mind).
    steps_params: dict[str, Any] = {**params, "gap": SESSION_GAP}
    cursor.execute(
        f"""
        CREATE TEMP TABLE refresh_steps ON COMMIT DROP AS
        SELECT session_id, max(step) AS step FROM (
            SELECT e.session_id,
                   CASE e.name WHEN 'Product Viewed' THEN 1 WHEN 'Product Added' THEN 2
                               WHEN 'Checkout Started' THEN 3 ELSE 4 END AS step
            FROM unnest(%(days)s::date[]) AS d(day)
            JOIN leads_event e ON e.occurred_at >= {DAY_START}
             AND e.occurred_at < {DAY_END} + interval '1 day'
            WHERE e.name = ANY(%(names)s) AND e.session_id IS NOT NULL
            UNION ALL
            SELECT s.id, 4
            FROM unnest(%(days)s::date[]) AS d(day)
            JOIN leads_session s ON s.started_at >= {DAY_START} AND s.started_at < {DAY_END}
            WHERE EXISTS (
                SELECT 1 FROM leads_order o
                WHERE o.contact_id = s.contact_id AND {PLACED}
                  AND o.placed_at >= s.started_at
                  AND o.placed_at <= s.last_activity_at + %(gap)s)
        ) x
        GROUP BY session_id
        """,  # noqa: S608 (constants only)
        steps_params,
    )
    cursor.execute("CREATE INDEX ON refresh_steps (session_id)")
    cursor.execute("DELETE FROM analytics_trafficday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        f"""
        INSERT INTO analytics_trafficday (
            day, channel, campaign, sessions, visitors, bounces, product_views, carts,
            checkouts, orders)
        SELECT d.day, COALESCE(NULLIF(s.channel, ''), 'direct'), s.utm_campaign, count(*),
               count(DISTINCT s.contact_id), count(*) FILTER (WHERE s.page_views <= 1),
               count(*) FILTER (WHERE st.step >= 1), count(*) FILTER (WHERE st.step >= 2),
               count(*) FILTER (WHERE st.step >= 3), count(*) FILTER (WHERE st.step >= 4)
        FROM unnest(%(days)s::date[]) AS d(day)
        JOIN leads_session s ON s.started_at >= {DAY_START} AND s.started_at < {DAY_END}
        LEFT JOIN refresh_steps st ON st.session_id = s.id
        GROUP BY 1, 2, 3
        """,  # noqa: S608 (constants only)
        params,
    )
    # Products: views and adds on the event's day; an add is abandoned when its session never
    # got to an order.
    cursor.execute("DELETE FROM analytics_productday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        f"""
        INSERT INTO analytics_productday (day, product, name, views, adds, abandoned)
        SELECT d.day, e.properties->>'product_id', COALESCE(max(e.properties->>'name'), ''),
               count(*) FILTER (WHERE e.name = 'Product Viewed'),
               count(*) FILTER (WHERE e.name = 'Product Added'),
               count(*) FILTER (WHERE e.name = 'Product Added' AND COALESCE(st.step, 0) < 4)
        FROM unnest(%(days)s::date[]) AS d(day)
        JOIN leads_event e ON e.occurred_at >= {DAY_START} AND e.occurred_at < {DAY_END}
        LEFT JOIN refresh_steps st ON st.session_id = e.session_id
        WHERE e.name IN ('Product Viewed', 'Product Added')
          AND COALESCE(e.properties->>'product_id', '') <> ''
        GROUP BY 1, 2
        """,  # noqa: S608 (constants only)
        params,
    )
    cursor.execute("DROP TABLE refresh_steps")


def _stages_refresh(cursor: CursorWrapper, days: list[date], tz: str) -> None:
    levels = list(FUNNEL_LEVELS.items())
    params: dict[str, Any] = {
        "days": days,
        "tz": tz,
        "level_names": [name for name, _ in levels],
        "level_ranks": [rank for _, rank in levels],
        "stages": list(STAGE_RANKS),
        "ranks": list(STAGE_RANKS.values()),
    }
    cursor.execute("DELETE FROM analytics_stageday WHERE day = ANY(%(days)s)", params)
    # For each level, the stage changes on these days that took a contact to that level or
    # beyond for the first time ever (no earlier change reached as far).
    cursor.execute(
        f"""
        WITH rank AS (SELECT * FROM unnest(%(stages)s::text[], %(ranks)s::int[]) AS r(stage, rank)),
        level AS (SELECT * FROM unnest(%(level_names)s::text[], %(level_ranks)s::int[]) AS l(name, rank)),
        reached AS (
            SELECT d.day, l.name AS level, sc.contact_id
            FROM unnest(%(days)s::date[]) AS d(day)
            JOIN leads_stagechange sc ON sc.at >= {DAY_START} AND sc.at < {DAY_END}
            JOIN rank r ON r.stage = sc.to_stage
            JOIN level l ON l.rank <= r.rank
            WHERE NOT EXISTS (
                SELECT 1 FROM leads_stagechange p JOIN rank pr ON pr.stage = p.to_stage
                WHERE p.contact_id = sc.contact_id AND pr.rank >= l.rank
                  AND (p.at, p.id) < (sc.at, sc.id)
            )
        )
        INSERT INTO analytics_stageday (day, stage, channel, contacts)
        SELECT re.day, re.level, COALESCE(c.source_channel, ''), count(DISTINCT re.contact_id)
        FROM reached re JOIN leads_contact c ON c.id = re.contact_id
        GROUP BY 1, 2, 3
        """,  # noqa: S608 (constants only)
        params,
    )


def _cohorts_refresh(cursor: CursorWrapper, tz: str) -> None:
    """Cohort retention, a full pass: customers of each first-order month ordering again."""
    cursor.execute("DELETE FROM analytics_cohortmonth")
    cursor.execute(
        f"""
        INSERT INTO analytics_cohortmonth (cohort, month, channel, customers, net)
        SELECT x.cohort, x.month, x.channel, count(DISTINCT x.contact_id), sum(x.net)
        FROM (
            SELECT date_trunc('month', cf.first_order_at AT TIME ZONE %(tz)s)::date AS cohort,
                   ((extract(year FROM age(date_trunc('month', o.placed_at AT TIME ZONE %(tz)s),
                                          date_trunc('month', cf.first_order_at AT TIME ZONE %(tz)s))) * 12)
                    + extract(month FROM age(date_trunc('month', o.placed_at AT TIME ZONE %(tz)s),
                                            date_trunc('month', cf.first_order_at AT TIME ZONE %(tz)s))))::int AS month,
                   cf.channel, o.contact_id, {NET} AS net
            FROM analytics_customerfact cf
            JOIN leads_order o ON o.contact_id = cf.contact_id AND {BOUGHT}
        ) x
        GROUP BY 1, 2, 3
        """,  # noqa: S608 (constants only)
        {"tz": tz},
    )


# A contact's first-touch channel and campaign as conversion by source groups them.
CONTACT_CHANNEL = "COALESCE(NULLIF(c.source_channel, ''), 'direct')"
CONTACT_CAMPAIGN = "COALESCE(c.first_touch->>'utm_campaign', '')"
CONTACT_KEPT = "c.merged_into_id IS NULL AND c.erased_at IS NULL"


def _contacts_refresh(cursor: CursorWrapper, days: list[date], tz: str) -> None:
    """New contacts of these days per channel and campaign, and how many are customers now."""
    params: dict[str, Any] = {"days": days, "tz": tz}
    cursor.execute("DELETE FROM analytics_contactday WHERE day = ANY(%(days)s)", params)
    cursor.execute(
        f"""
        INSERT INTO analytics_contactday (day, channel, campaign, contacts, customers)
        SELECT d.day, {CONTACT_CHANNEL}, {CONTACT_CAMPAIGN}, count(*), count(cf.contact_id)
        FROM unnest(%(days)s::date[]) AS d(day)
        JOIN leads_contact c ON c.created_at >= {DAY_START} AND c.created_at < {DAY_END}
        LEFT JOIN analytics_customerfact cf ON cf.contact_id = c.id
        WHERE {CONTACT_KEPT}
        GROUP BY 1, 2, 3
        """,  # noqa: S608 (constants only)
        params,
    )


LATEST_CUTOFFS = "SELECT id FROM leads_rfmcutoffs ORDER BY computed_at DESC, id DESC LIMIT 1"


def _new_rfm_cutoffs() -> bool:
    """Whether the grid was scored against other cutoffs than the latest (computed since)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ({LATEST_CUTOFFS}) IS DISTINCT FROM "  # noqa: S608 (constants only)
            "(SELECT cutoffs_id FROM analytics_rfmcell LIMIT 1)"
        )
        return bool(cursor.fetchone()[0])


def _rfm_score(column: str, cutoffs: str) -> str:
    """1 plus the number of tile cutoffs the customer's value is above (at most 5)."""
    above = (f"COALESCE(cf.{column} > cut.{cutoffs}[{k}], false)::int" for k in range(1, 5))
    return "1 + " + " + ".join(above)


def _rfm_refresh(cursor: CursorWrapper) -> None:
    """Customers per recency x frequency score against the last RFM cutoffs. With few
    customers the cutoffs have fewer tiles: a missing cutoff is never passed."""
    r, f = _rfm_score("last_order_at", "recency"), _rfm_score("orders", "frequency")
    cursor.execute("DELETE FROM analytics_rfmcell")
    cursor.execute(
        f"""
        WITH cut AS (SELECT id, recency, frequency FROM leads_rfmcutoffs WHERE id = ({LATEST_CUTOFFS}))
        INSERT INTO analytics_rfmcell (cutoffs_id, recency, frequency, customers, net)
        SELECT cut.id, {r}, {f}, count(*), sum(cf.net)
        FROM analytics_customerfact cf CROSS JOIN cut
        GROUP BY 1, 2, 3
        """  # noqa: S608 (constants only)
    )


# Time to purchase of a customer in days, as float8: percentile_cont sorts floats (numeric
# would be cast, and several times slower to compute). Ranges as the dashboard's bars.
PURCHASE_DAYS = "date_part('epoch', cf.first_order_at - cf.first_seen_at) / 86400"
PURCHASE_RANGES = ((0, 1), (1, 8), (8, 31), (31, 91), (91, None))
ALL_CHANNELS = "*"  # PurchaseTimeSummary's channel for every channel together


def purchase_times_sql(where: str, *, per_channel: bool = False) -> str:
    """Customers, [median, p75, p90] and customers per range over the customers `cf` that
    `where` keeps; with `per_channel`, also one row per channel (the all-channels row has
    channel ALL_CHANNELS). The days are computed once per customer (OFFSET 0 keeps the
    subquery from being inlined into every aggregate)."""
    ranges = ", ".join(
        f"count(*) FILTER (WHERE days >= {low}{f' AND days < {high}' if high else ''})"
        for low, high in PURCHASE_RANGES
    )
    channel = (
        f"CASE WHEN GROUPING(channel) = 1 THEN '{ALL_CHANNELS}' ELSE channel END AS channel, "
        if per_channel
        else ""
    )
    return f"""
        SELECT {channel}count(*) AS customers,
               percentile_cont(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY days) AS quantiles,
               ARRAY[{ranges}] AS buckets
        FROM (SELECT {PURCHASE_DAYS} AS days, cf.channel FROM analytics_customerfact cf
              WHERE {where} OFFSET 0) x
        {"GROUP BY GROUPING SETS ((), (channel))" if per_channel else ""}
    """  # noqa: S608 (constants only)


def _purchase_times_refresh(cursor: CursorWrapper, tz: str, today: date) -> None:
    """Time to purchase of the shipped periods ending today, all channels and per channel."""
    from analytics.filters import PERIODS

    cursor.execute("DELETE FROM analytics_purchasetimesummary")
    for days in sorted({days for _label, days in PERIODS.values()}):
        cursor.execute(
            f"""
            INSERT INTO analytics_purchasetimesummary (
                days, end_day, channel, customers, median, p75, p90, buckets)
            SELECT %(days)s, %(end)s, channel, customers,
                   quantiles[1], quantiles[2], quantiles[3], buckets
            FROM ({purchase_times_sql("cf.first_order_day BETWEEN %(start)s AND %(end)s", per_channel=True)}) t
            """,  # noqa: S608 (constants only)
            {"days": days, "start": today - timedelta(days=days - 1), "end": today},
        )
