"""Predictive CLV (analytics/clv.py): the published CDNOW results, properties, and refusals.

Reference numbers: Fader, Hardie & Lee (2005) for BG/NBD (r, alpha, a, b = 0.243, 4.414,
0.793, 2.426; E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226; Hardie's spreadsheet for E[X(t)])
and Hardie's Gamma-Gamma note (p, q, v = 6.25, 3.74, 15.44), all on the CDNOW sample in
tests/analytics/data (see its README). No database: pure numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import clv

DATA = Path(__file__).parent / "data"
FloatArray = npt.NDArray[np.float64]

PUBLISHED_BGNBD = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_GG = clv.GammaGammaParams(p=6.25, q=3.74, v=15.44)
CALIBRATION_END = dt.date(1997, 9, 30)  # end of CDNOW's 39-week calibration period

quick = settings(max_examples=60, deadline=None, database=None)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """Per customer x, t_x, T (weeks) and zbar (mean repeat order value), as published."""
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def bg(cdnow: pd.DataFrame) -> clv.BgNbdParams:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


@pytest.fixture(scope="module")
def gg(cdnow: pd.DataFrame) -> clv.GammaGammaParams:
    return clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])


def simulate_bgnbd(
    params: clv.BgNbdParams, T: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """(x, t_x) drawn from the BG/NBD story: Poisson purchases at rate lambda, and after each
    repeat purchase the customer leaves with probability p."""
    n = T.size
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now = now + rng.exponential(1.0, n) / rate
        active &= now <= T
        x[active] += 1
        t_x[active] = now[active]
        active &= rng.random(n) >= dropout
    return x, t_x


# ---------------------------------------------------------------------------------------------
# The published CDNOW results
# ---------------------------------------------------------------------------------------------


def test_bgnbd_fit_matches_the_published_cdnow_parameters(
    cdnow: pd.DataFrame, bg: clv.BgNbdParams
) -> None:
    assert len(cdnow) == 2357
    assert bg.r == pytest.approx(PUBLISHED_BGNBD.r, rel=0.01)
    assert bg.alpha == pytest.approx(PUBLISHED_BGNBD.alpha, rel=0.01)
    assert bg.a == pytest.approx(PUBLISHED_BGNBD.a, rel=0.01)
    assert bg.b == pytest.approx(PUBLISHED_BGNBD.b, rel=0.01)


def test_gamma_gamma_fit_matches_the_published_cdnow_parameters(
    cdnow: pd.DataFrame, gg: clv.GammaGammaParams
) -> None:
    assert int((cdnow["x"] > 0).sum()) == 946
    assert gg.p == pytest.approx(PUBLISHED_GG.p, rel=0.01)
    assert gg.q == pytest.approx(PUBLISHED_GG.q, rel=0.01)
    assert gg.v == pytest.approx(PUBLISHED_GG.v, rel=0.01)


@pytest.mark.parametrize("source", ["fitted", "published"])
def test_conditional_expectation_matches_the_paper(source: str, bg: clv.BgNbdParams) -> None:
    params = bg if source == "fitted" else PUBLISHED_BGNBD
    expected = clv.expected_purchases(params, 39, 2, 30.43, 38.86)
    assert float(expected) == pytest.approx(1.226, abs=1e-3)


def test_new_customer_expectation_matches_hardies_spreadsheet(bg: clv.BgNbdParams) -> None:
    """Eq. 9, E[X(t)] for a customer who just made a first purchase (x = t_x = T = 0)."""
    weeks = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(clv.expected_purchases(bg, weeks, 0, 0, 0), expected, atol=1e-3)


def test_probability_alive_on_cdnow(bg: clv.BgNbdParams, cdnow: pd.DataFrame) -> None:
    alive = clv.probability_alive(bg, cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert np.all(alive[cdnow["x"].to_numpy() == 0] == 1.0)
    # Customer 1 (x=2, t_x=30.43, T=38.86), by hand from eq. 12 with the published values:
    # 1 / (1 + 0.793/3.426 * (43.274/34.844)^2.243) = 0.7266.
    assert float(clv.probability_alive(PUBLISHED_BGNBD, 2, 30.43, 38.86)) == pytest.approx(
        0.7266, abs=1e-4
    )
    # Same history, later last purchase: more likely alive; longer silence: less.
    assert clv.probability_alive(bg, 2, 38, 38.86) > clv.probability_alive(bg, 2, 30.43, 38.86)
    assert clv.probability_alive(bg, 2, 30.43, 60) < clv.probability_alive(bg, 2, 30.43, 38.86)


def test_summary_from_orders_rebuilds_the_published_cdnow_summary(cdnow: pd.DataFrame) -> None:
    """The raw CDNOW transactions, cut by day and converted to weeks, give Hardie's summary."""
    raw = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "value"],
        dtype={"date": str},
    )
    summary = clv.summary_from_orders(
        raw["customer_id"],
        pd.to_datetime(raw["date"], format="%Y%m%d"),
        raw["value"],
        CALIBRATION_END,
        unit_days=1,
    )
    published = cdnow.set_index("ID")
    assert summary.index.equals(published.index)
    assert (summary["frequency"] == published["x"]).all()
    assert np.abs(summary["recency"] / 7 - published["t_x"]).max() < 0.005 + 1e-9
    assert np.abs(summary["T"] / 7 - published["T"]).max() < 0.005 + 1e-9
    assert np.abs(summary["monetary_value"] - published["zbar"]).max() < 0.005 + 1e-9


def test_predict_clv_is_purchases_times_value(
    bg: clv.BgNbdParams, gg: clv.GammaGammaParams, cdnow: pd.DataFrame
) -> None:
    x, t_x, T, m = (cdnow[c].to_numpy() for c in ("x", "t_x", "T", "zbar"))
    value = clv.predict_clv(bg, gg, x, t_x, T, m, horizon=52)
    purchases = clv.expected_purchases(bg, 52, x, t_x, T)
    spend = clv.expected_average_value(gg, x, m)
    np.testing.assert_allclose(value, purchases * spend)
    # A customer without repeat purchases is valued at the population mean p v / (q - 1).
    assert float(spend[2]) == pytest.approx(gg.p * gg.v / (gg.q - 1))
    # Customer 1's spend estimate shrinks their own 22.35 toward the population mean.
    assert min(22.35, float(spend[2])) < float(spend[0]) < max(22.35, float(spend[2]))


def test_discounting_sums_discounted_purchases_per_period(
    bg: clv.BgNbdParams, gg: clv.GammaGammaParams, cdnow: pd.DataFrame
) -> None:
    x, t_x, T, m = (cdnow[c].to_numpy()[:200] for c in ("x", "t_x", "T", "zbar"))
    rate, horizon = 0.01, 10.5
    by_hand = np.zeros(x.size)
    previous = np.zeros(x.size)
    for k, end in enumerate([*range(1, 11), horizon], start=1):
        cumulative = clv.expected_purchases(bg, end, x, t_x, T)
        by_hand += (cumulative - previous) / (1 + rate) ** k
        previous = cumulative
    by_hand *= clv.expected_average_value(gg, x, m)
    discounted = clv.predict_clv(bg, gg, x, t_x, T, m, horizon, discount_rate=rate)
    np.testing.assert_allclose(discounted, by_hand, rtol=1e-10)
    plain = clv.predict_clv(bg, gg, x, t_x, T, m, horizon)
    assert np.all(discounted < plain)
    assert np.all(discounted > plain / (1 + rate) ** 11)


# ---------------------------------------------------------------------------------------------
# Fit behaviour
# ---------------------------------------------------------------------------------------------


def test_duplicated_customers_give_the_same_fit(cdnow: pd.DataFrame, bg: clv.BgNbdParams) -> None:
    """Grouping identical rows with weights must not change the estimate."""
    doubled = pd.concat([cdnow, cdnow])
    again = clv.fit_bgnbd(doubled["x"], doubled["t_x"], doubled["T"])
    for name in ("r", "alpha", "a", "b"):
        assert getattr(again, name) == pytest.approx(getattr(bg, name), rel=1e-5)


def test_time_unit_only_rescales_alpha(cdnow: pd.DataFrame, bg: clv.BgNbdParams) -> None:
    days = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7)
    assert days.alpha == pytest.approx(bg.alpha * 7, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(bg, name), rel=1e-4)
    assert float(clv.probability_alive(days, 2, 30.43 * 7, 38.86 * 7)) == pytest.approx(
        float(clv.probability_alive(bg, 2, 30.43, 38.86)), rel=1e-4
    )


def test_penalizer_shrinks_the_parameters(cdnow: pd.DataFrame, bg: clv.BgNbdParams) -> None:
    def size(p: clv.BgNbdParams) -> float:
        return p.r**2 + p.alpha**2 + p.a**2 + p.b**2

    light = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], penalizer_coef=0.01)
    heavy = clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], penalizer_coef=1.0)
    assert size(heavy) < size(light) < size(bg)


def test_bgnbd_fit_recovers_simulated_parameters() -> None:
    truth = clv.BgNbdParams(r=0.5, alpha=5.0, a=0.9, b=3.0)
    rng = np.random.default_rng(20240611)
    T = rng.integers(20, 80, 20_000).astype(np.float64)
    x, t_x = simulate_bgnbd(truth, T, rng)
    fitted = clv.fit_bgnbd(x, t_x, T)
    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.15)
    assert fitted.a == pytest.approx(truth.a, rel=0.3)
    assert fitted.b == pytest.approx(truth.b, rel=0.3)
    assert fitted.r / fitted.alpha == pytest.approx(truth.r / truth.alpha, rel=0.05)


def test_gamma_gamma_fit_recovers_simulated_parameters() -> None:
    truth = clv.GammaGammaParams(p=6.0, q=4.0, v=15.0)
    rng = np.random.default_rng(7)
    x = rng.integers(1, 12, 20_000).astype(np.float64)
    nu = rng.gamma(truth.q, 1.0 / truth.v, x.size)
    # The mean of x Gamma(p, nu) order values is Gamma(p x, x nu).
    m = rng.gamma(truth.p * x, 1.0 / (nu * x))
    fitted = clv.fit_gamma_gamma(x, m)
    assert fitted.p == pytest.approx(truth.p, rel=0.1)
    assert fitted.q == pytest.approx(truth.q, rel=0.1)
    assert fitted.v == pytest.approx(truth.v, rel=0.15)
    population_mean = fitted.p * fitted.v / (fitted.q - 1)
    assert population_mean == pytest.approx(truth.p * truth.v / (truth.q - 1), rel=0.05)


def test_a_hundred_thousand_customers_fit_in_well_under_seconds() -> None:
    """Worst case for the row grouping: continuous recency and T, nearly every row distinct."""
    rng = np.random.default_rng(3)
    T = rng.uniform(1, 104, 100_000)
    x, t_x = simulate_bgnbd(PUBLISHED_BGNBD, T, rng)
    started = time.perf_counter()
    fitted = clv.fit_bgnbd(x, t_x, T)
    elapsed = time.perf_counter() - started
    assert fitted.r == pytest.approx(PUBLISHED_BGNBD.r, rel=0.1)
    assert elapsed < 5.0, f"fit took {elapsed:.2f}s"


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log(low), math.log(high)).map(math.exp)


bgnbd_params = st.builds(
    clv.BgNbdParams,
    r=log_uniform(0.01, 50),
    alpha=log_uniform(0.01, 1000),
    # a == 1 is a removable singularity of eq. 10: make sure it is visited.
    a=st.one_of(log_uniform(0.01, 50), st.floats(0.999, 1.001), st.just(1.0)),
    b=log_uniform(0.01, 50),
)


@st.composite
def histories(draw: st.DrawFn, max_size: int = 20) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(x, t_x, T) for a handful of customers, t_x <= T and t_x = 0 when x = 0."""
    size = draw(st.integers(1, max_size))
    x = np.array(draw(st.lists(st.integers(0, 300), min_size=size, max_size=size)), float)
    T = np.array(draw(st.lists(st.floats(0, 1000), min_size=size, max_size=size)))
    share = np.array(draw(st.lists(st.floats(0, 1), min_size=size, max_size=size)))
    t_x = np.where(x > 0, np.minimum(share * T, T), 0.0)
    return x, t_x, T


@given(bgnbd_params, histories())
@quick
def test_probability_alive_is_a_probability(
    params: clv.BgNbdParams, history: tuple[FloatArray, FloatArray, FloatArray]
) -> None:
    x, t_x, T = history
    alive = clv.probability_alive(params, x, t_x, T)
    assert np.all(np.isfinite(alive))
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[x == 0] == 1.0)


@given(
    bgnbd_params,
    histories(max_size=8),
    st.lists(st.floats(0, 2000), min_size=2, max_size=6),
)
@quick
def test_expected_purchases_are_finite_non_negative_and_grow_with_the_horizon(
    params: clv.BgNbdParams,
    history: tuple[FloatArray, FloatArray, FloatArray],
    horizons: list[float],
) -> None:
    x, t_x, T = history
    t = np.sort(np.array(horizons))[:, None]
    expected = clv.expected_purchases(params, t, x, t_x, T)
    assert expected.shape == (t.size, x.size)
    assert np.all(np.isfinite(expected))
    assert np.all(expected >= 0)
    # Non-decreasing up to the ~1e-8 relative accuracy of the rare quadrature fallback.
    assert np.all(np.diff(expected, axis=0) >= -1e-7 * (1 + expected[1:]))
    # Never more than a customer who cannot drop out: t E[lambda | x, T] = t (r+x)/(alpha+T).
    ceiling = t * (params.r + x) / (params.alpha + T)
    assert np.all(expected <= ceiling * (1 + 1e-6) + 1e-12)


@given(bgnbd_params, st.floats(-1e-3, 1e-3))
@quick
def test_expected_purchases_are_smooth_across_a_equal_to_one(
    params: clv.BgNbdParams, offset: float
) -> None:
    """Eq. 10 divides by (a - 1): near a == 1 the value must continue the closed form, here
    extrapolated (cubic) from a = 1 +- 0.002 and 1 +- 0.004, outside the special window."""
    args = (52.0, np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([10.0, 40.0]))

    def at(a: float) -> FloatArray:
        return clv.expected_purchases(clv.BgNbdParams(params.r, params.alpha, a, params.b), *args)

    nodes = (-4e-3, -2e-3, 2e-3, 4e-3)
    extrapolated = sum(
        math.prod((offset - o) / (node - o) for o in nodes if o != node) * at(1 + node)
        for node in nodes
    )
    np.testing.assert_allclose(at(1 + offset), extrapolated, rtol=1e-6)


GRID_ORIGIN = dt.datetime(1970, 1, 5, tzinfo=dt.UTC)  # a Monday: days and Mon-Sun weeks


def slow_summary(
    orders: list[tuple[int, dt.datetime, float]], end: dt.datetime, unit_days: int
) -> dict[int, tuple[int, float, float, float]]:
    """The definition, one customer and one order at a time."""
    step = dt.timedelta(days=unit_days)
    per_period: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for customer, moment, value in orders:
        if moment <= end:
            per_period[customer][(moment - GRID_ORIGIN) // step] += value
    end_period = (end - GRID_ORIGIN) // step
    result = {}
    for customer, periods in per_period.items():
        first, last = min(periods), max(periods)
        repeats = [value for period, value in periods.items() if period != first]
        monetary = sum(repeats) / len(repeats) if repeats else 0.0
        result[customer] = (len(repeats), float(last - first), float(end_period - first), monetary)
    return result


orders_strategy = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 120 * 86400).map(
            lambda s: dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
        ),
        st.floats(0.01, 1000),
    ),
    max_size=40,
)


@given(
    orders_strategy,
    st.integers(0, 130 * 86400).map(
        lambda s: dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
    ),
    st.sampled_from([1, 3, 7, 30]),
)
@quick
def test_summary_from_orders_agrees_with_a_slow_loop(
    orders: list[tuple[int, dt.datetime, float]], end: dt.datetime, unit_days: int
) -> None:
    summary = clv.summary_from_orders(
        [o[0] for o in orders], [o[1] for o in orders], [o[2] for o in orders], end, unit_days
    )
    expected = slow_summary(orders, end, unit_days)
    assert sorted(summary.index) == sorted(expected)
    for customer, (frequency, recency, T, monetary) in expected.items():
        row = summary.loc[customer]
        assert (row["frequency"], row["recency"], row["T"]) == (frequency, recency, T)
        assert row["monetary_value"] == pytest.approx(monetary, rel=1e-9)


def test_summary_from_orders_reads_time_zones_and_collapses_a_period() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    summary = clv.summary_from_orders(
        ["a", "a", "a", "b"],
        [
            dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC),
            dt.datetime(2024, 1, 1, 22, tzinfo=new_york),  # 03:00 UTC on 2 January
            dt.datetime(2024, 1, 2, 10),  # naive: UTC, the same day as the one before
            dt.datetime(2024, 2, 1),  # after the end: ignored
        ],
        [10.0, 4.0, 6.0, 99.0],
        dt.datetime(2024, 1, 11, tzinfo=dt.UTC),
        unit_days=1,
    )
    assert list(summary.index) == ["a"]
    assert summary.loc["a"].to_dict() == {
        "frequency": 1,
        "recency": 1.0,
        "T": 10.0,
        "monetary_value": 10.0,
    }


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def test_too_few_customers_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 10 customers, got 3"):
        clv.fit_bgnbd([1, 0, 2], [3.0, 0.0, 5.0], [6.0, 6.0, 6.0])


def test_no_repeat_buyer_is_refused() -> None:
    with pytest.raises(ValueError, match="repeat purchase"):
        clv.fit_bgnbd([0] * 50, [0.0] * 50, [10.0] * 50)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1] * 12, [5.0] * 12, [4.0] * 12, "recency must not exceed T"),
        ([-1] + [1] * 11, [1.0] * 12, [4.0] * 12, "whole numbers"),
        ([1.5] + [1] * 11, [1.0] * 12, [4.0] * 12, "whole numbers"),
        ([1] * 12, [math.nan] + [1.0] * 11, [4.0] * 12, "recency contains NaN"),
        ([1] * 12, [1.0] * 11, [4.0] * 12, "same length"),
    ],
)
def test_bad_inputs_are_refused_with_a_message(
    frequency: list[float], recency: list[float], T: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        clv.fit_bgnbd(frequency, recency, T)


def test_gamma_gamma_needs_enough_repeat_buyers() -> None:
    with pytest.raises(ValueError, match="at least 10 customers with repeat purchases, got 2"):
        clv.fit_gamma_gamma([0] * 30 + [1, 2], [0.0] * 30 + [10.0, 12.0])


def test_gamma_gamma_refuses_non_positive_spend() -> None:
    with pytest.raises(ValueError, match=r"monetary_value must be > 0 .*\(1 are not\)"):
        clv.fit_gamma_gamma([1] * 12, [0.0] + [10.0 + i for i in range(11)])


def test_gamma_gamma_refuses_spend_without_variation() -> None:
    with pytest.raises(ValueError, match="same monetary_value"):
        clv.fit_gamma_gamma([1, 2] * 6, [25.0] * 12)


def test_spend_without_a_finite_mean_is_refused_for_new_customers() -> None:
    heavy_tail = clv.GammaGammaParams(p=2.0, q=0.8, v=10.0)
    assert float(clv.expected_average_value(heavy_tail, 3, 20.0)) > 0
    with pytest.raises(ValueError, match="no finite mean"):
        clv.expected_average_value(heavy_tail, 0, 0.0)


def test_bad_forecast_arguments_are_refused(bg: clv.BgNbdParams, gg: clv.GammaGammaParams) -> None:
    with pytest.raises(ValueError, match="horizon"):
        clv.predict_clv(bg, gg, 1, 2.0, 5.0, 10.0, horizon=-1)
    with pytest.raises(ValueError, match="discount_rate"):
        clv.predict_clv(bg, gg, 1, 2.0, 5.0, 10.0, horizon=10, discount_rate=-0.1)
    with pytest.raises(ValueError, match=r"t \(the forecast horizon\) must be >= 0"):
        clv.expected_purchases(bg, -1, 1, 2.0, 5.0)
    with pytest.raises(ValueError, match="parameters must be finite and > 0"):
        clv.probability_alive(clv.BgNbdParams(0.2, -1.0, 0.5, 2.0), 1, 2.0, 5.0)


def test_bad_orders_are_refused() -> None:
    when = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 2
    with pytest.raises(ValueError, match="same length"):
        clv.summary_from_orders([1, 2], when, [1.0], when[0])
    with pytest.raises(ValueError, match="order_times contains missing"):
        clv.summary_from_orders([1, 2], [when[0], None], [1.0, 2.0], when[0])
    with pytest.raises(ValueError, match="order_values contains NaN"):
        clv.summary_from_orders([1, 2], when, [1.0, math.nan], when[0])
    with pytest.raises(ValueError, match="unit_days"):
        clv.summary_from_orders([1, 2], when, [1.0, 2.0], when[0], unit_days=0)
