"""Fit the predictive CLV models over the shop's customers and store every prediction.

Each customer's history is summarised in SQL (purchases collapse per day; counted in weeks),
the models are fitted on at most `FIT_SAMPLE` customers (the parameters settle long before
that) and every customer gets its probability of being alive, expected orders and expected
net revenue over the next `HORIZON_WEEKS`. Nightly from beat; the dashboards read the rows.
"""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from analytics import clv
from analytics.cache import data_changed
from analytics.models import ClvFit
from analytics.services.rollups import BOUGHT, NET, reporting_zone
from growth.sql import bound_cursor

FIT_SAMPLE = 50_000
HORIZON_WEEKS = 52
SEED = 20261202  # a fixed sample: the same data gives the same fit

SUMMARY_SQL = f"""
WITH days AS (
    SELECT o.contact_id, (o.placed_at AT TIME ZONE %(tz)s)::date AS day, sum({NET}) AS net
    FROM leads_order o
    WHERE {BOUGHT} AND o.contact_id IS NOT NULL
    GROUP BY 1, 2
),
customers AS (
    SELECT contact_id, count(*) - 1 AS frequency, max(day) - min(day) AS recency,
           %(today)s::date - min(day) AS age, sum(net) AS total,
           (array_agg(net ORDER BY day))[1] AS first_net
    FROM days GROUP BY contact_id
)
SELECT contact_id, frequency, recency, age,
       CASE WHEN frequency > 0 THEN (total - first_net) / frequency ELSE 0 END AS monetary
FROM customers WHERE age >= 0
"""  # noqa: S608 (constants only)


def clv_fit() -> ClvFit:
    """Fit, predict for everyone, store. A shop with too few customers gets a fit row that
    says why, and its old predictions are kept."""
    started = time.monotonic()
    now = timezone.now()
    today = now.astimezone(reporting_zone()).date()
    with bound_cursor() as cursor:
        cursor.execute(SUMMARY_SQL, {"tz": reporting_zone().key, "today": today})
        rows = cursor.fetchall()
    fit = ClvFit(fitted_at=now, horizon=HORIZON_WEEKS, unit_days=7)
    if not rows:
        fit.error = "No customers yet: predictions start with the first orders."
        return _saved(fit, started)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    frequency = np.array([r[1] for r in rows], dtype=float)
    recency = np.array([r[2] for r in rows], dtype=float) / 7.0
    age = np.array([r[3] for r in rows], dtype=float) / 7.0
    monetary = np.array([float(r[4]) for r in rows], dtype=float)

    sample = np.random.default_rng(SEED).permutation(len(ids))[:FIT_SAMPLE]
    repeat = sample[(frequency[sample] > 0) & (monetary[sample] > 0)]
    fit.customers, fit.repeat_buyers = len(sample), len(repeat)
    try:
        bg = clv.fit_bgnbd(frequency[sample], recency[sample], age[sample])
        gg = clv.fit_gamma_gamma(frequency[repeat], monetary[repeat])
    except ValueError as error:
        fit.error = str(error)
        return _saved(fit, started)
    fit.params = {
        "r": bg.r,
        "alpha": bg.alpha,
        "a": bg.a,
        "b": bg.b,
        "p": gg.p,
        "q": gg.q,
        "v": gg.v,
    }

    # Refunds can leave a repeat buyer's mean at or below zero: Gamma-Gamma needs spend > 0,
    # so such customers are valued like first-time buyers (the population mean).
    spend_frequency = np.where(monetary > 0, frequency, 0.0)
    spend = np.where(monetary > 0, monetary, 0.0)
    alive = clv.probability_alive(bg, frequency, recency, age)
    expected = clv.expected_purchases(bg, HORIZON_WEEKS, frequency, recency, age)
    value = clv.expected_average_value(gg, spend_frequency, spend)
    predicted = np.round(expected * value, 2)
    with transaction.atomic(), bound_cursor() as cursor:
        cursor.execute("DELETE FROM analytics_customerprediction")
        cursor.execute(
            """
            INSERT INTO analytics_customerprediction (contact_id, p_alive, expected_orders, predicted_clv)
            SELECT x.id, x.alive, x.expected, x.clv
            FROM unnest(%(ids)s::bigint[], %(alive)s::float8[], %(expected)s::float8[],
                        %(clv)s::numeric[]) AS x(id, alive, expected, clv)
            JOIN leads_contact c ON c.id = x.id
            """,
            {
                "ids": ids.tolist(),
                "alive": alive.tolist(),
                "expected": expected.tolist(),
                "clv": [Decimal(str(v)) for v in predicted.tolist()],
            },
        )
        predictions_roll_up()
        fit.predicted = len(ids)
        return _saved(fit, started)


ALIVE_BUCKETS = 10
PREDICTIONS_ROLL_UP = f"""
INSERT INTO analytics_predictionday (
    day, channel, campaign, alive_bucket, customers, clv, alive, orders)
SELECT cf.first_order_day, cf.channel, cf.campaign,
       least(width_bucket(p.p_alive, 0, 1, {ALIVE_BUCKETS}), {ALIVE_BUCKETS}),
       count(*), sum(p.predicted_clv), sum(p.p_alive), sum(p.expected_orders)
FROM analytics_customerprediction p
JOIN analytics_customerfact cf ON cf.contact_id = p.contact_id
GROUP BY 1, 2, 3, 4
"""  # noqa: S608 (constants only)


def predictions_roll_up() -> None:
    """Sum the stored predictions per first-order day, channel, campaign and tenth of
    probability alive (what the dashboards read without a segment filter)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_predictionday")
        cursor.execute(PREDICTIONS_ROLL_UP)


def _saved(fit: ClvFit, started: float) -> ClvFit:
    fit.took_ms = int((time.monotonic() - started) * 1000)
    fit.save()
    data_changed()
    return fit
