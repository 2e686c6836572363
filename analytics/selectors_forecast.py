"""Next period's orders and net revenue, forecast from the periods before it.

History is cut into periods as long as the one asked for, ending with it (up to
`HISTORY_PERIODS`); a straight line is fitted to each series by least squares and the next
period is read off it with an 80 % prediction interval. A deliberately plain model: it says
where the trend goes, and the interval says how much the past has wobbled around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from analytics.filters import Filters
from analytics.selectors_sales import params_of, sales_source, sql_rows

HISTORY_PERIODS = 12
MIN_PERIODS = 3  # fewer periods with orders than this: no forecast, the page says why
Z80 = 1.2816  # two-sided 80 % interval of a normal distribution


@dataclass(frozen=True)
class Point:
    start: date
    end: date
    orders: float
    net: float


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Forecast:
    history: list[Point]
    next_start: date
    next_end: date
    orders: Estimate | None  # None: too little history
    net: Estimate | None


def forecast(filters: Filters) -> Forecast:
    length = filters.days
    first = filters.end - timedelta(days=length * HISTORY_PERIODS - 1)
    history_filters = Filters(
        start=first,
        end=filters.end,
        channel=filters.channel,
        source=filters.source,
        campaign=filters.campaign,
        segment=filters.segment,
    )
    rows = sql_rows(
        f"""
        SELECT ((%(end)s::date - s.day) / %(length)s) AS back,
               sum(s.orders) AS orders, sum(s.net) AS net
        FROM {sales_source(history_filters)} s
        GROUP BY 1
        """,  # noqa: S608 (constants only)
        params_of(history_filters, length=length),
    )
    by_back = {int(r["back"]): (float(r["orders"]), float(Decimal(r["net"]))) for r in rows}
    # The oldest period with any order starts the history: a shop that opened six weeks ago
    # has no zero-order months before it.
    oldest = max(by_back, default=-1)
    history = []
    for back in range(oldest, -1, -1):
        end = filters.end - timedelta(days=length * back)
        orders, net = by_back.get(back, (0.0, 0.0))
        history.append(
            Point(start=end - timedelta(days=length - 1), end=end, orders=orders, net=net)
        )
    enough = len(history) >= MIN_PERIODS
    return Forecast(
        history=history,
        next_start=filters.end + timedelta(days=1),
        next_end=filters.end + timedelta(days=length),
        orders=_next([p.orders for p in history]) if enough else None,
        net=_next([p.net for p in history]) if enough else None,
    )


def _next(values: list[float]) -> Estimate:
    """The least-squares line through the values, one step on, with its 80 % interval."""
    y = np.asarray(values, dtype=float)
    x = np.arange(len(y), dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    x0 = float(len(y))
    value = slope * x0 + intercept
    residuals = y - (slope * x + intercept)
    dof = max(1, len(y) - 2)
    sigma = math.sqrt(float(residuals @ residuals) / dof)
    spread = ((x - x.mean()) ** 2).sum()
    margin = Z80 * sigma * math.sqrt(1 + 1 / len(y) + (x0 - x.mean()) ** 2 / spread)
    # Orders and revenue are never negative, whatever a falling trend says.
    return Estimate(
        value=max(0.0, value), low=max(0.0, value - margin), high=max(0.0, value + margin)
    )
