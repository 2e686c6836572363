"""Predictive CLV as the dashboards read it: the last fit and its predictions, aggregated."""

from __future__ import annotations

from typing import Any

from analytics.cache import cached_figure
from analytics.filters import Filters
from analytics.models import ClvFit
from analytics.selectors_sales import dimension_sql, member_sql, params_of, sql_rows

ALIVE_BUCKETS = 10


@cached_figure
def predictive_clv(filters: Filters) -> dict[str, Any]:
    """The last fit, and over the period's new customers and over all customers (same
    channel / campaign / segment filters): customers with a prediction, mean expected net
    revenue over the fit's horizon, mean probability of being alive, expected orders; plus how
    all customers spread over probability alive (tenths)."""
    fit = ClvFit.objects.order_by("-fitted_at").first()
    dims = dimension_sql(filters, channel="cf.channel", campaign="cf.campaign")
    dims += member_sql(filters, "cf.contact_id")
    row = sql_rows(
        f"""
        SELECT count(*) FILTER (WHERE cohort) AS new_customers,
               avg(p.predicted_clv) FILTER (WHERE cohort) AS new_clv,
               avg(p.p_alive) FILTER (WHERE cohort) AS new_alive,
               sum(p.expected_orders) FILTER (WHERE cohort) AS new_orders,
               count(*) AS customers, avg(p.predicted_clv) AS clv, avg(p.p_alive) AS alive,
               sum(p.expected_orders) AS orders
        FROM (
            SELECT cf.contact_id, cf.first_order_day BETWEEN %(start)s AND %(end)s AS cohort
            FROM analytics_customerfact cf WHERE true{dims}
        ) c
        JOIN analytics_customerprediction p ON p.contact_id = c.contact_id
        """,  # noqa: S608 (constants only)
        params_of(filters),
    )[0]
    spread = sql_rows(
        f"""
        SELECT least(width_bucket(p.p_alive, 0, 1, %(buckets)s), %(buckets)s) AS bucket,
               count(*) AS customers
        FROM analytics_customerfact cf
        JOIN analytics_customerprediction p ON p.contact_id = cf.contact_id
        WHERE true{dims}
        GROUP BY 1 ORDER BY 1
        """,  # noqa: S608 (constants only)
        params_of(filters, buckets=ALIVE_BUCKETS),
    )
    counts = {int(r["bucket"]): int(r["customers"]) for r in spread}
    return {
        "fit": fit,
        **row,
        "alive_spread": [
            (i / ALIVE_BUCKETS, (i + 1) / ALIVE_BUCKETS, counts.get(i + 1, 0))
            for i in range(ALIVE_BUCKETS)
        ],
    }
