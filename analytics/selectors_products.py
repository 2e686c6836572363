"""Top products (most viewed, most bought, most abandoned) and segment growth, per period."""

from __future__ import annotations

from typing import Any

from analytics.filters import Filters
from analytics.selectors_sales import params_of, sql_rows

TOP = 10


def top_products(filters: Filters, limit: int = TOP) -> dict[str, list[dict[str, Any]]]:
    """The products most viewed, most added to a cart that never became an order, and most
    bought (units, with their line revenue). Products are the shop's product ids."""
    params = params_of(filters, limit=limit)
    activity = sql_rows(
        """
        SELECT product, max(name) AS name, sum(views) AS views, sum(adds) AS adds,
               sum(abandoned) AS abandoned
        FROM analytics_productday WHERE day BETWEEN %(start)s AND %(end)s
        GROUP BY product
        """,
        params,
    )
    bought = sql_rows(
        """
        SELECT product, max(name) AS name, sum(quantity) AS quantity, sum(revenue) AS revenue
        FROM analytics_productsalesday WHERE day BETWEEN %(start)s AND %(end)s
        GROUP BY product ORDER BY quantity DESC, revenue DESC, product LIMIT %(limit)s
        """,
        params,
    )

    def top(key: str) -> list[dict[str, Any]]:
        ranked = sorted(activity, key=lambda r: (-int(r[key]), r["product"]))
        return [r for r in ranked if r[key]][:limit]

    return {"viewed": top("views"), "abandoned": top("abandoned"), "bought": bought}


def segment_growth(filters: Filters, limit: int = TOP) -> list[dict[str, Any]]:
    """Per segment and persona: members now, and how many entered and left in the period
    (the largest segments first)."""
    return sql_rows(
        """
        SELECT s.id, s.name, s.kind, s.member_count AS members,
               (SELECT count(*) FROM leads_segmentmembership m WHERE m.segment_id = s.id
                  AND m.entered_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
                  AND m.entered_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)) AS entered,
               (SELECT count(*) FROM leads_segmentmembership m WHERE m.segment_id = s.id
                  AND m.exited_at >= (%(start)s::timestamp AT TIME ZONE %(tz)s)
                  AND m.exited_at < ((%(end)s::date + 1)::timestamp AT TIME ZONE %(tz)s)) AS exited
        FROM leads_segment s
        ORDER BY s.member_count DESC, s.name LIMIT %(limit)s
        """,
        params_of(filters, limit=limit),
    )
