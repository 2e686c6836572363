"""Predictive CLV as the dashboards read it: the last fit and its predictions, aggregated."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from analytics.cache import cached_figure
from analytics.filters import Filters
from analytics.models import ClvFit
from analytics.selectors_sales import dimension_sql, member_sql, params_of, sql_rows
from analytics.services.clv import ALIVE_BUCKETS


@cached_figure
def predictive_clv(filters: Filters) -> dict[str, Any]:
    """The last fit, and over the period's new customers and over all customers (same
    channel / campaign / segment filters): customers with a prediction, mean expected net
    revenue over the fit's horizon, mean probability of being alive, expected orders; plus how
    all customers spread over probability alive (tenths). Without a segment filter from the
    fit's own rollup (analytics_predictionday), else from the predictions themselves."""
    fit = ClvFit.objects.order_by("-fitted_at").first()
    if filters.segment is None:
        buckets = sql_rows(
            f"""
            SELECT alive_bucket AS bucket, sum(customers) AS customers, sum(clv) AS clv,
                   sum(alive) AS alive, sum(orders) AS orders,
                   sum(customers) FILTER (WHERE cohort) AS new_customers,
                   sum(clv) FILTER (WHERE cohort) AS new_clv,
                   sum(alive) FILTER (WHERE cohort) AS new_alive,
                   sum(orders) FILTER (WHERE cohort) AS new_orders
            FROM (SELECT *, day BETWEEN %(start)s AND %(end)s AS cohort
                  FROM analytics_predictionday WHERE true{dimension_sql(filters)}) d
            GROUP BY 1
            """,  # noqa: S608 (constants only)
            params_of(filters),
        )
    else:
        buckets = _buckets_raw(filters)
    return {"fit": fit, **_means(buckets), "alive_spread": _spread(buckets)}


def _buckets_raw(filters: Filters) -> list[dict[str, Any]]:
    """The rollup's sums per tenth of probability alive, straight from the predictions."""
    dims = dimension_sql(filters, channel="cf.channel", campaign="cf.campaign")
    dims += member_sql(filters, "cf.contact_id")
    return sql_rows(
        f"""
        SELECT bucket, count(*) AS customers, sum(clv) AS clv, sum(alive) AS alive,
               sum(orders) AS orders,
               count(*) FILTER (WHERE cohort) AS new_customers,
               sum(clv) FILTER (WHERE cohort) AS new_clv,
               sum(alive) FILTER (WHERE cohort) AS new_alive,
               sum(orders) FILTER (WHERE cohort) AS new_orders
        FROM (
            SELECT least(width_bucket(p.p_alive, 0, 1, %(buckets)s), %(buckets)s) AS bucket,
                   p.predicted_clv AS clv, p.p_alive AS alive, p.expected_orders AS orders,
                   cf.first_order_day BETWEEN %(start)s AND %(end)s AS cohort
            FROM analytics_customerfact cf
            JOIN analytics_customerprediction p ON p.contact_id = cf.contact_id
            WHERE true{dims}
        ) x
        GROUP BY 1
        """,  # noqa: S608 (constants only)
        params_of(filters, buckets=ALIVE_BUCKETS),
    )


def _means(buckets: list[dict[str, Any]]) -> dict[str, Any]:
    """Customers, mean CLV, mean probability alive and expected orders, for the period's new
    customers (`new_*`) and for all; None where there is nobody to average."""
    out: dict[str, Any] = {}
    for prefix in ("new_", ""):
        customers = sum(int(b[f"{prefix}customers"] or 0) for b in buckets)
        clv = sum((Decimal(b[f"{prefix}clv"] or 0) for b in buckets), Decimal(0))
        alive = sum(float(b[f"{prefix}alive"] or 0) for b in buckets)
        orders = sum(float(b[f"{prefix}orders"] or 0) for b in buckets)
        out[f"{prefix}customers"] = customers
        out[f"{prefix}clv"] = clv / customers if customers else None
        out[f"{prefix}alive"] = alive / customers if customers else None
        out[f"{prefix}orders"] = orders if customers else None
    return out


def _spread(buckets: list[dict[str, Any]]) -> list[tuple[float, float, int]]:
    counts = {int(b["bucket"]): int(b["customers"]) for b in buckets}
    return [
        (i / ALIVE_BUCKETS, (i + 1) / ALIVE_BUCKETS, counts.get(i + 1, 0))
        for i in range(ALIVE_BUCKETS)
    ]
