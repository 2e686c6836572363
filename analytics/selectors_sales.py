"""Sales, acquisition cost and attribution figures, read from the rollups.

Each function answers one figure of MISSION.md's KPI table for a `Filters`. The rollups hold
days x channel x campaign; a segment (or persona) filter needs the contact, so with one the
same figures come from the raw tables (`sales_rows_raw`), which is also the reference the
tests hold the rollups to, exact to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from analytics.cache import cached_figure
from analytics.filters import Filters
from analytics.models import FunnelTarget
from analytics.services.rollups import (
    ALL_CHANNELS,
    BOUGHT,
    CONTACT_CAMPAIGN,
    CONTACT_CHANNEL,
    CONTACT_KEPT,
    GROSS,
    NET,
    PLACED,
    PURCHASE_RANGES,
    RETURNED,
    purchase_times_sql,
    reporting_zone,
)
from growth.replica import read_rows
from leads.order_money import bought, net

ZERO = Decimal("0")
CENT = Decimal("0.01")


def ratio(
    part: Decimal | int | float | None, whole: Decimal | int | float | None
) -> Decimal | None:
    """part ÷ whole, or None when there is nothing to divide by (the page shows a dash)."""
    if part is None or not whole:
        return None
    return Decimal(part) / Decimal(whole)


# The analytics selectors' name for it: on the replica inside a dashboard (growth/replica.py).
sql_rows = read_rows


def dimension_sql(
    filters: Filters, channel: str = "channel", campaign: str | None = "campaign"
) -> str:
    """The WHERE terms of the channel / source / campaign filters over the given columns."""
    terms = []
    if filters.channel:
        terms.append(f"{channel} = %(channel)s")
    if filters.source:
        terms.append(f"({channel} = %(source)s OR {channel} LIKE %(source_prefix)s)")
    if filters.campaign and campaign:
        terms.append(f"{campaign} = %(campaign)s")
    return "".join(f" AND {term}" for term in terms)


def params_of(filters: Filters, **more: Any) -> dict[str, Any]:
    source = filters.source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "start": filters.start,
        "end": filters.end,
        "channel": filters.channel,
        "source": filters.source,
        "source_prefix": f"{source} / %",
        "campaign": filters.campaign,
        "segment": filters.segment,
        "tz": reporting_zone().key,
        **more,
    }


# --- Sales ----------------------------------------------------------------------------------

SALES_COLUMNS = "orders, new_customers, returned_orders, gross, refunds, net, customers_net"


def sales_source(filters: Filters, *, raw: bool = False) -> str:
    """A subquery of sales per (day, channel, campaign) for the filters: the rollup, or the
    raw orders when a segment is asked for (or `raw`, the reference path)."""
    if filters.segment is None and not raw:
        return (
            f"(SELECT day, channel, campaign, {SALES_COLUMNS} FROM analytics_salesday "  # noqa: S608 (constants only)
            f"WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)})"
        )
    return f"({sales_rows_raw(filters)})"


def sales_rows_raw(filters: Filters) -> str:
    """Sales per (day, channel, campaign) straight from orders: the definition itself."""
    member = ""
    if filters.segment is not None:
        member = (
            " AND EXISTS (SELECT 1 FROM leads_segmentmembership m WHERE m.contact_id = o.contact_id"
            " AND m.segment_id = %(segment)s AND m.exited_at IS NULL)"
        )
    dims = dimension_sql(
        filters,
        channel="COALESCE(c.source_channel, '')",
        campaign="COALESCE(c.first_touch->>'utm_campaign', '')",
    )
    # The buyer's first bought order, and its lifetime net (the orders' own columns as `q`).
    first_bought = f"""{BOUGHT} AND o.contact_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM leads_order p WHERE p.contact_id = o.contact_id
          AND p.status NOT IN ('pending', 'cancelled') AND (p.placed_at, p.id) < (o.placed_at, o.id))"""  # noqa: S608 (constants only)
    lifetime_net = f"""(SELECT sum({net("q")}) FROM leads_order q
        WHERE q.contact_id = o.contact_id AND {bought("q")})"""  # noqa: S608 (constants only)
    return f"""
        SELECT (o.placed_at AT TIME ZONE %(tz)s)::date AS day,
               COALESCE(c.source_channel, '') AS channel,
               COALESCE(c.first_touch->>'utm_campaign', '') AS campaign,
               count(*) AS orders,
               count(*) FILTER (WHERE {first_bought}) AS new_customers,
               count(*) FILTER (WHERE {RETURNED}) AS returned_orders,
               sum({GROSS}) AS gross, sum({GROSS} - {NET}) AS refunds, sum({NET}) AS net,
               COALESCE(sum({lifetime_net}) FILTER (WHERE {first_bought}), 0) AS customers_net
        FROM leads_order o
        LEFT JOIN leads_contact c ON c.id = o.contact_id
        WHERE o.placed_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
          AND o.placed_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
          AND {PLACED}{dims}{member}
        GROUP BY 1, 2, 3
    """  # noqa: S608 (constants only)


@dataclass(frozen=True)
class SalesTotals:
    orders: int
    new_customers: int
    returned_orders: int
    gross: Decimal
    refunds: Decimal
    net: Decimal
    customers_net: Decimal  # net revenue to date of the new customers

    @property
    def clv(self) -> Decimal | None:
        """Historical CLV: net revenue to date per customer, over the period's new customers."""
        value = ratio(self.customers_net, self.new_customers)
        return value.quantize(CENT) if value is not None else None

    @property
    def aov(self) -> Decimal | None:
        """Average order value: gross ÷ placed orders."""
        value = ratio(self.gross, self.orders)
        return value.quantize(CENT) if value is not None else None

    @property
    def returns_rate(self) -> Decimal | None:
        return ratio(self.returned_orders, self.orders)


def sales_totals(filters: Filters, *, raw: bool = False) -> SalesTotals:
    rows = sql_rows(
        f"""
        SELECT COALESCE(sum(orders), 0) AS orders, COALESCE(sum(new_customers), 0) AS new_customers,
               COALESCE(sum(returned_orders), 0) AS returned_orders,
               COALESCE(sum(gross), 0) AS gross, COALESCE(sum(refunds), 0) AS refunds,
               COALESCE(sum(net), 0) AS net, COALESCE(sum(customers_net), 0) AS customers_net
        FROM {sales_source(filters, raw=raw)} s
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )
    row = rows[0]
    return SalesTotals(
        orders=int(row["orders"]),
        new_customers=int(row["new_customers"]),
        returned_orders=int(row["returned_orders"]),
        gross=Decimal(row["gross"]),
        refunds=Decimal(row["refunds"]),
        net=Decimal(row["net"]),
        customers_net=Decimal(row["customers_net"]),
    )


def sales_by_day(filters: Filters) -> list[dict[str, Any]]:
    """One row per day of the period (days without orders included, as zeros)."""
    return sql_rows(
        f"""
        SELECT d.day::date AS day, COALESCE(sum(s.orders), 0) AS orders,
               COALESCE(sum(s.new_customers), 0) AS new_customers,
               COALESCE(sum(s.gross), 0) AS gross, COALESCE(sum(s.net), 0) AS net
        FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d(day)
        LEFT JOIN {sales_source(filters)} s ON s.day = d.day::date
        GROUP BY 1 ORDER BY 1
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )


def sales_by_channel(filters: Filters, *, raw: bool = False) -> list[dict[str, Any]]:
    """Orders, new customers and net revenue per first-touch channel, largest first."""
    return sql_rows(
        f"""
        SELECT channel, sum(orders) AS orders, sum(new_customers) AS new_customers,
               sum(returned_orders) AS returned_orders, sum(gross) AS gross, sum(net) AS net
        FROM {sales_source(filters, raw=raw)} s
        GROUP BY channel ORDER BY net DESC, channel
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )


# --- Acquisition cost -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spend:
    ads: Decimal  # ad spend in the period, reporting currency
    other: Decimal  # other acquisition costs, prorated by day to the period

    @property
    def total(self) -> Decimal:
        return self.ads + self.other


def spend_totals(filters: Filters) -> Spend:
    """Ad spend plus other costs. Costs booked to no channel are shared by all: they count
    only when no channel, source or campaign is asked for; other costs belong to no campaign,
    so a campaign's spend is its ad spend alone."""
    dims = dimension_sql(filters)
    shared = "" if (filters.channel or filters.source or filters.campaign) else " OR channel = ''"
    other_dims = dimension_sql(filters, campaign=None)
    rows = sql_rows(
        f"""
        SELECT
          (SELECT COALESCE(sum(cost_base), 0) FROM analytics_adspend
           WHERE day BETWEEN %(start)s AND %(end)s{dims}) AS ads,
          (SELECT COALESCE(sum(amount_base
                   * ((LEAST(ends_on, %(end)s::date) - GREATEST(starts_on, %(start)s::date) + 1))
                   / (ends_on - starts_on + 1)), 0)
           FROM analytics_othercost
           WHERE starts_on <= %(end)s AND ends_on >= %(start)s
             AND ((channel <> ''{other_dims}){shared})) AS other
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )
    other = ZERO if filters.campaign else Decimal(rows[0]["other"]).quantize(CENT)
    return Spend(ads=Decimal(rows[0]["ads"]), other=other)


@dataclass(frozen=True)
class Acquisition:
    spend: Spend
    new_customers: int
    clv: Decimal | None  # historical: average net revenue to date of the period's new customers

    @property
    def cac(self) -> Decimal | None:
        value = ratio(self.spend.total, self.new_customers)
        return value.quantize(CENT) if value is not None else None

    @property
    def clv_to_cac(self) -> Decimal | None:
        return ratio(self.clv, self.cac)


def acquisition(filters: Filters, sales: SalesTotals) -> Acquisition:
    """CAC and CLV:CAC of the period: its spend against its new customers (`sales_totals`)."""
    return Acquisition(
        spend=spend_totals(filters), new_customers=sales.new_customers, clv=sales.clv
    )


def member_sql(filters: Filters, contact: str) -> str:
    if filters.segment is None:
        return ""
    return (
        " AND EXISTS (SELECT 1 FROM leads_segmentmembership m"  # noqa: S608 (constants only)
        f" WHERE m.contact_id = {contact} AND m.segment_id = %(segment)s AND m.exited_at IS NULL)"
    )


# --- Attribution and ROAS -------------------------------------------------------------------


def attribution_source(filters: Filters) -> str:
    """Attributed orders and revenue per (day, model, channel, campaign)."""
    if filters.segment is None:
        return (
            "(SELECT day, model, channel, campaign, orders, revenue FROM analytics_attributionday "  # noqa: S608 (constants only)
            f"WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)})"
        )
    dims = dimension_sql(filters, channel="a.channel", campaign="a.campaign")
    return f"""(
        SELECT (o.placed_at AT TIME ZONE %(tz)s)::date AS day, a.model, a.channel, a.campaign,
               sum(a.credit) AS orders, sum(a.revenue) AS revenue
        FROM leads_order o JOIN analytics_attribution a ON a.order_id = o.id
        WHERE o.placed_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
          AND o.placed_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
          {dims}{member_sql(filters, "o.contact_id")}
        GROUP BY 1, 2, 3, 4)"""  # noqa: S608 (constants only)


def roas_by_channel(filters: Filters, *, by_campaign: bool = False) -> list[dict[str, Any]]:
    """Spend, attributed orders and revenue (the filters' model) and ROAS per channel
    (and campaign): revenue ÷ spend, None without spend."""
    keys = "channel, campaign" if by_campaign else "channel"
    rows = sql_rows(
        f"""
        WITH revenue AS (
            SELECT {keys}, sum(orders) AS orders, sum(revenue) AS revenue
            FROM {attribution_source(filters)} a WHERE model = %(model)s GROUP BY {keys}
        ),
        spend AS (
            SELECT {keys}, sum(cost_base) AS spend, sum(clicks) AS clicks,
                   sum(impressions) AS impressions
            FROM analytics_adspend
            WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)}
            GROUP BY {keys}
        )
        SELECT {", ".join(f"COALESCE(r.{k}, s.{k}) AS {k}" for k in keys.split(", "))},
               COALESCE(r.orders, 0) AS orders, COALESCE(r.revenue, 0) AS revenue,
               COALESCE(s.spend, 0) AS spend, COALESCE(s.clicks, 0) AS clicks,
               COALESCE(s.impressions, 0) AS impressions
        FROM revenue r FULL JOIN spend s USING ({keys})
        ORDER BY revenue DESC, 1
        """,  # noqa: S608 (constants only)
        params_of(filters, model=filters.model),
    )
    for row in rows:
        row["revenue"] = Decimal(row["revenue"]).quantize(CENT)
        row["roas"] = ratio(row["revenue"], row["spend"])
    return rows


def attribution_comparison(filters: Filters) -> list[dict[str, Any]]:
    """Attributed revenue per channel under every model, side by side."""
    rows = sql_rows(
        f"""
        SELECT channel, model, sum(orders) AS orders, sum(revenue) AS revenue
        FROM {attribution_source(filters)} a GROUP BY channel, model ORDER BY channel, model
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )
    for row in rows:
        row["revenue"] = Decimal(row["revenue"]).quantize(CENT)
    return rows


# --- Traffic and funnels --------------------------------------------------------------------

TRAFFIC_COLUMNS = (
    "sessions",
    "visitors",
    "bounces",
    "product_views",
    "carts",
    "checkouts",
    "orders",
)


def traffic_totals(filters: Filters) -> dict[str, Any]:
    """Sessions, visitor-days, bounces and how far sessions got; bounce rate."""
    sums = ", ".join(f"COALESCE(sum({c}), 0) AS {c}" for c in TRAFFIC_COLUMNS)
    row = sql_rows(
        f"SELECT {sums} FROM analytics_trafficday "  # noqa: S608 (constants only)
        f"WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)}",
        params_of(filters),
    )[0]
    row["bounce_rate"] = ratio(row["bounces"], row["sessions"])
    return row


def traffic_by_day(filters: Filters) -> list[dict[str, Any]]:
    return sql_rows(
        f"""
        SELECT d.day::date AS day, COALESCE(sum(t.sessions), 0) AS sessions,
               COALESCE(sum(t.bounces), 0) AS bounces
        FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d(day)
        LEFT JOIN analytics_trafficday t ON t.day = d.day::date{dimension_sql(filters, "t.channel", "t.campaign")}
        GROUP BY 1 ORDER BY 1
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )


def conversion_by_source(filters: Filters) -> list[dict[str, Any]]:
    """Per channel: sessions and the share that ended in an order; new contacts and the share
    that became customers (to date)."""
    rows = sql_rows(
        f"""
        WITH visits AS (
            SELECT channel, sum(sessions) AS sessions, sum(orders) AS ordering_sessions
            FROM analytics_trafficday
            WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)}
            GROUP BY channel
        ),
        people AS ({people_source(filters)})
        SELECT channel, COALESCE(v.sessions, 0) AS sessions,
               COALESCE(v.ordering_sessions, 0) AS ordering_sessions,
               COALESCE(p.contacts, 0) AS contacts, COALESCE(p.customers, 0) AS customers
        FROM visits v FULL JOIN people p USING (channel)
        ORDER BY sessions DESC, contacts DESC, channel
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )
    for row in rows:
        row["session_conversion"] = ratio(row["ordering_sessions"], row["sessions"])
        row["contact_conversion"] = ratio(row["customers"], row["contacts"])
    return rows


def people_source(filters: Filters) -> str:
    """New contacts per channel in the period and how many are customers by now: the
    rollup, or the contacts table when a segment is asked for."""
    if filters.segment is None:
        return (
            "SELECT channel, sum(contacts) AS contacts, sum(customers) AS customers "  # noqa: S608 (constants only)
            "FROM analytics_contactday "
            f"WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters)} GROUP BY channel"
        )
    return f"""
        SELECT {CONTACT_CHANNEL} AS channel, count(*) AS contacts, count(cf.contact_id) AS customers
        FROM leads_contact c
        LEFT JOIN analytics_customerfact cf ON cf.contact_id = c.id
        WHERE c.created_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
          AND c.created_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
          AND {CONTACT_KEPT}{dimension_sql(filters, CONTACT_CHANNEL, CONTACT_CAMPAIGN)}
          {member_sql(filters, "c.id")}
        GROUP BY 1"""  # noqa: S608 (constants only)


SHOP_STEPS = ("sessions", "product_views", "carts", "checkouts", "orders")
LEAD_STEPS = ("lead", "mql", "sql", "customer")


def _steps(funnel: str, values: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Each step with its count, conversion from the step before (and its target, when one is
    set) and from the first step, and the drop-off."""
    targets = dict(FunnelTarget.objects.filter(funnel=funnel).values_list("step", "rate"))
    steps = []
    first = values[0][1] if values else 0
    previous: int | None = None
    for key, count in values:
        rate = ratio(count, previous) if previous is not None else None
        target = targets.get(key)
        steps.append(
            {
                "step": key,
                "count": count,
                "from_previous": rate,
                "drop_off": 1 - rate if rate is not None else None,
                "from_first": ratio(count, first),
                "target": target,
                "on_target": rate >= target if rate is not None and target is not None else None,
            }
        )
        previous = count
    return steps


def shop_funnel(filters: Filters, totals: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """visit → product view → cart → checkout → order, in sessions (pass `traffic_totals`
    when the page has them already)."""
    totals = totals if totals is not None else traffic_totals(filters)
    return _steps(FunnelTarget.Funnel.SHOP, [(step, int(totals[step])) for step in SHOP_STEPS])


def lead_funnel(filters: Filters) -> list[dict[str, Any]]:
    """lead → MQL → SQL → customer: contacts that first got at least that far in the period."""
    rows = sql_rows(
        f"""
        SELECT stage, sum(contacts) AS contacts FROM analytics_stageday
        WHERE day BETWEEN %(start)s AND %(end)s{dimension_sql(filters, campaign=None)}
        GROUP BY stage
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )
    counts = {row["stage"]: int(row["contacts"]) for row in rows}
    return _steps(FunnelTarget.Funnel.LEAD, [(stage, counts.get(stage, 0)) for stage in LEAD_STEPS])


# --- Customers ------------------------------------------------------------------------------

PURCHASE_BUCKETS = (
    (_("same day"), 0, 1),
    (_("1 to 7 days"), 1, 8),
    (_("8 to 30 days"), 8, 31),
    (_("31 to 90 days"), 31, 91),
    (_("over 90 days"), 91, None),
)
assert [(low, high) for _label, low, high in PURCHASE_BUCKETS] == list(PURCHASE_RANGES)


def time_to_purchase(filters: Filters) -> dict[str, Any]:
    """First contact → first order, in days, for the period's new customers: for a shipped
    period ending today, from the summary the refresh keeps; else from the customers."""
    row = _purchase_times_summary(filters)
    if row is None:
        dims = dimension_sql(filters, channel="cf.channel", campaign="cf.campaign")
        where = f"cf.first_order_day BETWEEN %(start)s AND %(end)s{dims}"
        row = sql_rows(
            purchase_times_sql(where + member_sql(filters, "cf.contact_id")), params_of(filters)
        )[0]
    median, p75, p90 = row["quantiles"] or (None, None, None)  # one sort for all three
    return {
        "customers": row["customers"],
        "median": median,
        "p75": p75,
        "p90": p90,
        "buckets": [
            (label, count)
            for (label, _low, _high), count in zip(PURCHASE_BUCKETS, row["buckets"], strict=True)
        ],
    }


def _purchase_times_summary(filters: Filters) -> dict[str, Any] | None:
    """The refresh's summary row for these filters, if they are a shipped period ending on its
    day with no other filter than the channel."""
    if filters.segment is not None or filters.source or filters.campaign:
        return None
    if filters.channel == ALL_CHANNELS:
        return None
    rows = sql_rows(
        "SELECT customers, ARRAY[median, p75, p90] AS quantiles, buckets "
        "FROM analytics_purchasetimesummary "
        "WHERE days = %(days)s AND end_day = %(end)s AND channel = %(channel)s",
        {
            "days": (filters.end - filters.start).days + 1,
            "end": filters.end,
            "channel": filters.channel or ALL_CHANNELS,
        },
    )
    if not rows:
        return None
    row = rows[0]
    if row["customers"] == 0:
        row["quantiles"] = None
    return row


def cohort_retention(filters: Filters, months: int = 12) -> list[dict[str, Any]]:
    """Per first-order month (the last `months` up to the period's end): customers, and for
    each later month the share that ordered again and the cohort's net revenue."""
    rows = sql_rows(
        f"""
        SELECT cohort, month, sum(customers) AS customers, sum(net) AS net
        FROM analytics_cohortmonth
        WHERE cohort > (date_trunc('month', %(end)s::date) - make_interval(months => %(months)s))::date
          AND cohort <= %(end)s{dimension_sql(filters, campaign=None)}
        GROUP BY cohort, month ORDER BY cohort, month
        """,  # noqa: S608 (constants only)
        params_of(filters, months=months),
    )
    cohorts: dict[date, dict[str, Any]] = {}
    for row in rows:
        cohort = cohorts.setdefault(
            row["cohort"], {"cohort": row["cohort"], "size": 0, "months": []}
        )
        if row["month"] == 0:
            cohort["size"] = int(row["customers"])
        cohort["months"].append((row["month"], int(row["customers"]), Decimal(row["net"])))
    for cohort in cohorts.values():
        cohort["retention"] = [
            (month, ratio(customers, cohort["size"])) for month, customers, _net in cohort["months"]
        ]
    return list(cohorts.values())


@cached_figure
def rfm_grid() -> dict[str, Any]:
    """Customers per recency x frequency score (1 to 5) against the last RFM cutoffs (the
    rollup the refresh keeps with the cohorts)."""
    rows = sql_rows(
        "SELECT recency AS r, frequency AS f, customers, net FROM analytics_rfmcell "
        "ORDER BY recency, frequency",
        {},
    )
    return {"cells": rows, "customers": sum(int(row["customers"]) for row in rows)}
