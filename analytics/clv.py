"""Predictive customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much.

Pure numbers in, numbers out (numpy, scipy, pandas; no Django), so the models can be
checked against the published CDNOW results and reused by any view or task.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative
  to the Pareto/NBD Model", Marketing Science 24(2).
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer
  Base Analysis", Journal of Marketing Research 42(4); Hardie's note "The Gamma-Gamma Model
  of Monetary Value" (2013).

Per customer the inputs are: ``frequency`` x = number of *repeat* purchases, ``recency``
t_x = time from the first to the last purchase, ``T`` = time from the first purchase to the
end of observation, all in one time unit (periods); ``monetary_value`` = mean value of the
repeat purchases. :func:`summary_from_orders` builds them from raw orders.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import integrate, optimize, special

FloatArray = npt.NDArray[np.float64]

#: Below this many customers (or repeat buyers, for Gamma-Gamma) a fit is noise.
MIN_CUSTOMERS = 10

# Log-parameters are kept in this box: beyond it the model has degenerated (a parameter
# running off to 0 or infinity), and the box keeps every intermediate value finite.
_LOG_BOUND = 20.0

# Periods are counted on a fixed calendar grid starting on a Monday (1970-01-05 UTC), so
# unit_days=1 collapses purchases per UTC day and unit_days=7 per Monday-Sunday week, the
# same grid as lifetimes' freq="D" / freq="W".
_GRID_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")

# Eq. 10 divides by (a - 1); within this distance of a == 1 the value is interpolated,
# cubic through a = 1 + each of _A_NODES (measured against 50-digit mpmath: ~1e-7 relative
# at worst, for tiny horizons, ~1e-12 typically).
_A_NEAR_ONE = 1e-3
_A_NODES = (-2e-3, -1e-3, 1e-3, 2e-3)


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rate ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: order value ~ Gamma(p, nu), nu ~ Gamma(shape q, rate v)."""

    p: float
    q: float
    v: float


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _as_float_array(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers: {exc}") from exc
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _rfm(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated, broadcast (x, t_x, T): a wrong input must fail loudly, not skew a forecast."""
    x = _as_float_array(frequency, "frequency")
    t_x = _as_float_array(recency, "recency")
    age = _as_float_array(T, "T")
    try:
        x, t_x, age = np.broadcast_arrays(x, t_x, age)
    except ValueError as exc:
        raise ValueError(f"frequency, recency and T must have the same length: {exc}") from exc
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be whole numbers >= 0 (count of repeat purchases)")
    if np.any(t_x < 0):
        raise ValueError("recency must be >= 0")
    if np.any(t_x > age):
        raise ValueError("recency must not exceed T (the last purchase is inside the window)")
    return x, t_x, age


def _check_bgnbd(params: BgNbdParams) -> None:
    values = (params.r, params.alpha, params.a, params.b)
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"BG/NBD parameters must be finite and > 0, got {params}")


def _check_gamma_gamma(params: GammaGammaParams) -> None:
    values = (params.p, params.q, params.v)
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"Gamma-Gamma parameters must be finite and > 0, got {params}")


def _group_rows(
    *columns: FloatArray,
) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """Distinct rows (sorted), how often each occurs, and which one each input row is.

    The likelihood is a weighted sum over distinct customers and the forecasts depend on a
    few columns only, so real data (whole periods) shrinks to far fewer rows. A lexsort is
    several times faster than np.unique(axis=0) on 100k rows.
    """
    order = np.lexsort(columns[::-1])
    ordered = [column[order] for column in columns]
    starts_group = np.zeros(order.size, dtype=bool)
    starts_group[:1] = True
    for column in ordered:
        starts_group[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(starts_group)
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = np.cumsum(starts_group) - 1
    counts = np.diff(np.append(starts, order.size)).astype(np.float64)
    return [column[starts] for column in ordered], counts, inverse


# ---------------------------------------------------------------------------------------------
# Optimisation
# ---------------------------------------------------------------------------------------------


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], start: FloatArray, model: str
) -> FloatArray:
    """Minimise over log-parameters: L-BFGS-B with the analytic gradient, Nelder-Mead as backup.

    L-BFGS-B can stop on a line-search failure right at the optimum, so a non-"success" is
    polished by Nelder-Mead and the better point wins; only a non-finite optimum is an error.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    best = optimize.minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    if not best.success:
        polished = optimize.minimize(
            lambda theta: objective(theta)[0],
            best.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12},
        )
        if np.isfinite(polished.fun) and (not np.isfinite(best.fun) or polished.fun < best.fun):
            best = polished
    if not (np.isfinite(best.fun) and np.all(np.isfinite(best.x))):
        raise ValueError(f"{model} fit did not converge: {best.message}")
    return np.asarray(best.x, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------------------------


def _bgnbd_objective(
    log_params: FloatArray,
    x: FloatArray,
    x_index: npt.NDArray[np.intp],
    t_x: FloatArray,
    age: FloatArray,
    weights: FloatArray,
    penalizer_coef: float,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood (paper eq. 6, in logs) and its gradient in log-parameters.

    ll = lnG(r+x) - lnG(r) + r ln(alpha)
         + logsumexp(lnB(a, b+x) - lnB(a, b) - (r+x) ln(alpha+T),
                     [x>0] lnB(a+1, b+x-1) - lnB(a, b) - (r+x) ln(alpha+t_x))

    ``x`` holds the distinct frequencies and ``x_index`` maps each row to one: the special
    functions depend on x alone, so they are evaluated once per distinct x (a few hundred at
    most) instead of once per row.
    """
    params = np.exp(log_params)
    r, alpha, a, b = params
    repeat = x > 0
    x_safe = np.where(repeat, x, 1.0)  # keeps lnB(a+1, b+x-1) finite where the term is absent
    beta_ab = special.betaln(a, b)
    psi_ab = special.digamma(a + b)
    psi_b = special.digamma(b)
    # Per distinct x.
    const = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
    alive_const = special.betaln(a, b + x) - beta_ab
    dropped_const = np.where(repeat, special.betaln(a + 1, b + x_safe - 1) - beta_ab, -np.inf)
    d_r_const = special.digamma(r + x) - special.digamma(r) + math.log(alpha)
    d_ab_const = psi_ab - special.digamma(a + b + x)
    d_b_alive = special.digamma(b + x) - psi_b
    d_b_dropped = np.where(repeat, special.digamma(b + x_safe - 1) - psi_b, 0.0)

    # Per row.
    rx = (r + x)[x_index]
    log_alpha_T = np.log(alpha + age)
    log_alpha_tx = np.log(alpha + t_x)
    alive = alive_const[x_index] - rx * log_alpha_T
    dropped = dropped_const[x_index] - rx * log_alpha_tx
    mix = np.logaddexp(alive, dropped)
    ll = const[x_index] + mix
    w_alive = np.exp(alive - mix)
    w_dropped = np.exp(dropped - mix)

    d_r = d_r_const[x_index] - w_alive * log_alpha_T - w_dropped * log_alpha_tx
    d_alpha = r / alpha - rx * (w_alive / (alpha + age) + w_dropped / (alpha + t_x))
    d_a = d_ab_const[x_index] + w_dropped / a
    d_b = d_ab_const[x_index] + w_alive * d_b_alive[x_index] + w_dropped * d_b_dropped[x_index]

    total = weights.sum()
    value = -float(weights @ ll) / total + penalizer_coef * float(params @ params)
    grads = np.array([weights @ d_r, weights @ d_alpha, weights @ d_a, weights @ d_b])
    grad = -grads * params / total + 2.0 * penalizer_coef * params**2
    return value, grad


def fit_bgnbd(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    penalizer_coef: float = 0.0,
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005).

    ``penalizer_coef`` adds ``coef * (r² + alpha² + a² + b²)`` to the mean negative
    log-likelihood, as lifetimes does: it keeps small or odd data sets from running a
    parameter off to infinity. Identical (x, t_x, T) rows are fitted once, with weights.
    Raises ValueError when there are fewer than MIN_CUSTOMERS customers or no repeat buyer.
    """
    x, t_x, age = (column.ravel() for column in _rfm(frequency, recency, T))
    if x.size < MIN_CUSTOMERS:
        raise ValueError(f"BG/NBD needs at least {MIN_CUSTOMERS} customers, got {x.size}")
    if not np.any(x > 0):
        raise ValueError("BG/NBD needs at least one repeat purchase; no customer bought twice")
    if not (math.isfinite(penalizer_coef) and penalizer_coef >= 0):
        raise ValueError(f"penalizer_coef must be >= 0, got {penalizer_coef}")

    (gx, gt_x, gage), weights, _ = _group_rows(x, t_x, age)
    x_values, x_index = np.unique(gx, return_inverse=True)
    # Start where the mean purchase rate r/alpha matches the data, with r = a = b = 1.
    rate = float(x.sum() / max(age.sum(), 1e-12))
    alpha0 = float(np.clip(1.0 / max(rate, 1e-12), 1e-6, 1e6))
    start = np.log(np.array([1.0, alpha0, 1.0, 1.0]))

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        return _bgnbd_objective(theta, x_values, x_index, gt_x, gage, weights, penalizer_coef)

    r, alpha, a, b = np.exp(_minimise(objective, start, "BG/NBD"))
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def _log_odds_dropped(
    params: BgNbdParams, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """ln(a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)), -inf for x == 0 (cannot have dropped)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    x_safe = np.where(repeat, x, 1.0)
    log_odds = (
        math.log(a)
        - np.log(b + x_safe - 1)
        + (r + x_safe) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(repeat, log_odds, -np.inf)


def probability_alive(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(still a customer at T | x, t_x, T) (paper eq. 12); exactly 1 when x == 0.

    Computed as a logistic of the log-odds so it stays inside [0, 1] for any history.
    """
    _check_bgnbd(params)
    x, t_x, age = _rfm(frequency, recency, T)
    return np.asarray(special.expit(-_log_odds_dropped(params, x, t_x, age)), dtype=np.float64)


def _hyp2f1_growth(
    r: float, alpha: float, a: float, b: float, x: FloatArray, age: FloatArray, t: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T+t] for a customer alive at T: eq. 10 without P(alive).

    Eq. 10 reads (a+b+x-1)/(a-1) * [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] with
    z = t/(alpha+T+t). Euler's transformation turns the bracket into
    1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), which stays accurate where the original
    2F1 (growing like (1-z)^-(r+x)) overflows for heavy buyers and long horizons; the
    original form is kept for the few points where the transformed one is not finite.
    """
    z = t / (alpha + age + t)
    c = a + b + x - 1
    log_rest = np.log1p(-z)
    with np.errstate(all="ignore"):
        euler = np.exp((a - 1) * log_rest) * special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        growth = c / (a - 1) * (1 - euler)
        failed = ~np.isfinite(growth)
        if np.any(failed):
            original = np.exp((r + x) * log_rest) * special.hyp2f1(r + x, b + x, c, z)
            growth = np.where(failed, c / (a - 1) * (1 - original), growth)
    return np.asarray(growth, dtype=np.float64)


def _quadrature_growth(
    r: float, alpha: float, a: float, b: float, x: float, age: float, t: float
) -> float:
    """The same quantity as an integral over the dropout probability, for the rare points
    where the closed form is singular (a+b+x-1 near 0) or not finite.

    Alive at T, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x); expected purchases are
    E_p[(1/p) (1 - (1 + p t/(alpha+T))^-(r+x))]. Integrating over the Beta quantile u
    instead of p leaves a bounded, monotone integrand on (0, 1) whatever a and b are.
    """
    if t <= 0:
        return 0.0
    scale = t / (alpha + age)
    shape = r + x

    def integrand(u: float) -> float:
        p = float(special.betaincinv(a, b + x, u))
        if not math.isfinite(p):  # u within a denormal of 0 or 1: a negligible sliver
            p = 0.0 if u < 0.5 else 1.0
        if p <= 0.0:
            return shape * scale
        return -math.expm1(-shape * math.log1p(p * scale)) / p

    # The integrand bends where p * scale ~ 1: tell quad where that is.
    bends = [float(special.betainc(a, b + x, min(k / scale, 1.0))) for k in (0.1, 1.0, 10.0)]
    points = sorted({u for u in bends if 1e-12 < u < 1.0 - 1e-12})
    with warnings.catch_warnings():
        # A last resort: a value good to ~1e-6 beats no value, so no IntegrationWarning.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            integrand, 0.0, 1.0, points=points or None, epsabs=0.0, epsrel=1e-10, limit=200
        )
    return float(value)


def _alive_growth(params: BgNbdParams, x: FloatArray, age: FloatArray, t: FloatArray) -> FloatArray:
    """Expected purchases in the next t periods given alive at T, safe for every valid input.

    Closed form first; points where it is singular (a == 1 is interpolated across, a+b+x-1
    near 0 is not), not finite, negative or above the no-dropout ceiling t (r+x)/(alpha+T)
    are recomputed by quadrature, once per distinct (x, T, t).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1) < _A_NEAR_ONE:
        # (a - 1) -> 0 is a removable singularity (the bracket vanishes with it): evaluate at
        # a = 1 + d for d in _A_NODES, where the cancellation is mild, and interpolate.
        growth = np.zeros(np.broadcast(x, age, t).shape)
        for node in _A_NODES:
            weight = math.prod(
                (a - 1 - other) / (node - other) for other in _A_NODES if other != node
            )
            growth = growth + weight * _hyp2f1_growth(r, alpha, 1 + node, b, x, age, t)
    else:
        growth = _hyp2f1_growth(r, alpha, a, b, x, age, t)
    ceiling = t * (r + x) / (alpha + age)
    with np.errstate(invalid="ignore"):
        suspect = (
            ~np.isfinite(growth)
            | (growth < 0)
            | (growth > ceiling * (1 + 1e-6))
            | (np.abs(a + b + x - 1) < 1e-6)
        ) & (t > 0)
    if np.any(suspect):
        growth = growth.copy()
        cache: dict[tuple[float, float, float], float] = {}
        for position in np.argwhere(suspect):
            index = tuple(position)
            key = (float(x[index]), float(age[index]), float(t[index]))
            if key not in cache:
                cache[key] = _quadrature_growth(r, alpha, a, b, *key)
            growth[index] = cache[key]
    return np.clip(np.where(t > 0, growth, 0.0), 0.0, ceiling)


def expected_purchases(
    params: BgNbdParams,
    t: npt.ArrayLike,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected number of purchases in the next ``t`` periods (paper eq. 10).

    ``t`` broadcasts against the customers (a scalar horizon, or one per customer).
    With frequency = recency = T = 0 this is eq. 9, the forecast for a brand-new customer.
    """
    _check_bgnbd(params)
    x, t_x, age = _rfm(frequency, recency, T)
    horizon = _as_float_array(t, "t")
    if np.any(horizon < 0):
        raise ValueError("t (the forecast horizon) must be >= 0")
    horizon, x, t_x, age = np.broadcast_arrays(horizon, x, t_x, age)
    alive = special.expit(-_log_odds_dropped(params, x, t_x, age))
    return np.asarray(alive * _alive_growth(params, x, age, horizon), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------------------------


def _gamma_gamma_objective(
    log_params: FloatArray,
    x: FloatArray,
    x_index: npt.NDArray[np.intp],
    m: FloatArray,
    weights: FloatArray,
    penalizer_coef: float,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of the mean repeat value m given x, and its gradient.

    ll = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v)

    As for BG/NBD, ``x`` holds the distinct frequencies and ``x_index`` maps rows to them.
    """
    params = np.exp(log_params)
    p, q, v = params
    # Per distinct x.
    px = p * x
    log_x = np.log(x)
    const = special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * math.log(v)
    psi_pxq = special.digamma(px + q)
    d_p_const = x * (psi_pxq - special.digamma(px) + log_x)
    d_q_const = psi_pxq - special.digamma(q) + math.log(v)
    # Per row.
    xr = x[x_index]
    pxr = px[x_index]
    log_m = np.log(m)
    xm_v = xr * m + v
    log_xm_v = np.log(xm_v)
    ll = const[x_index] + (pxr - 1) * log_m + pxr * log_x[x_index] - (pxr + q) * log_xm_v
    d_p = d_p_const[x_index] + xr * (log_m - log_xm_v)
    d_q = d_q_const[x_index] - log_xm_v
    d_v = q / v - (pxr + q) / xm_v

    total = weights.sum()
    value = -float(weights @ ll) / total + penalizer_coef * float(params @ params)
    grads = np.array([weights @ d_p, weights @ d_q, weights @ d_v])
    grad = -grads * params / total + 2.0 * penalizer_coef * params**2
    return value, grad


def fit_gamma_gamma(
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    penalizer_coef: float = 0.0,
) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma spend model on the customers with repeat purchases.

    Customers with frequency == 0 carry no repeat spend and are left out (their
    monetary_value is ignored). Raises ValueError with fewer than MIN_CUSTOMERS repeat
    buyers, a repeat buyer whose monetary_value is <= 0 (the model is for positive spend:
    filter refunds out first), or no variation in spend to learn from.
    """
    x = _as_float_array(frequency, "frequency").ravel()
    m = _as_float_array(monetary_value, "monetary_value").ravel()
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be whole numbers >= 0 (count of repeat purchases)")
    if not (math.isfinite(penalizer_coef) and penalizer_coef >= 0):
        raise ValueError(f"penalizer_coef must be >= 0, got {penalizer_coef}")
    repeat = x > 0
    x, m = x[repeat], m[repeat]
    if x.size < MIN_CUSTOMERS:
        raise ValueError(
            f"Gamma-Gamma needs at least {MIN_CUSTOMERS} customers with repeat purchases, "
            f"got {x.size}"
        )
    if np.any(m <= 0):
        raise ValueError(
            "monetary_value must be > 0 for every customer with repeat purchases "
            f"({int(np.sum(m <= 0))} are not); leave zero-value or refunded customers out"
        )
    if np.ptp(m) <= 1e-12 * float(np.max(m)):
        raise ValueError("all repeat buyers have the same monetary_value; nothing to fit")

    (gx, gm), weights, _ = _group_rows(x, m)
    x_values, x_index = np.unique(gx, return_inverse=True)
    # p = 1, q = 2 makes the population mean p*v/(q-1) equal v: start it at the data's mean.
    start = np.log(np.array([1.0, 2.0, float(np.mean(m))]))

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        return _gamma_gamma_objective(theta, x_values, x_index, gm, weights, penalizer_coef)

    p, q, v = np.exp(_minimise(objective, start, "Gamma-Gamma"))
    return GammaGammaParams(p=float(p), q=float(q), v=float(v))


def expected_average_value(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> FloatArray:
    """E[mean order value | x, m] = p (v + x m) / (p x + q - 1).

    A weighted average of the population mean p v / (q - 1) and the customer's own mean m,
    leaning on m the more repeat purchases back it. For x == 0 it is the population mean,
    which exists only when q > 1: otherwise a ValueError says so.
    """
    _check_gamma_gamma(params)
    x = _as_float_array(frequency, "frequency")
    m = _as_float_array(monetary_value, "monetary_value")
    try:
        x, m = np.broadcast_arrays(x, m)
    except ValueError as exc:
        raise ValueError(f"frequency and monetary_value must have the same length: {exc}") from exc
    if np.any(x < 0):
        raise ValueError("frequency must be >= 0")
    if np.any(m < 0):
        raise ValueError("monetary_value must be >= 0")
    p, q, v = params.p, params.q, params.v
    denominator = p * x + q - 1
    if np.any(denominator <= 0):
        raise ValueError(
            f"q = {q:.4g} <= 1: the fitted spend distribution has no finite mean for customers "
            "with too few repeat purchases"
        )
    return np.asarray(p * (v + x * m) / denominator, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# CLV
# ---------------------------------------------------------------------------------------------


def predict_clv(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    horizon: float,
    discount_rate: float = 0.0,
) -> FloatArray:
    """Expected revenue per customer over the next ``horizon`` periods.

    Expected purchases (BG/NBD) times expected average order value (Gamma-Gamma), which
    relies on the Gamma-Gamma assumption that spend is independent of purchase frequency.
    ``discount_rate`` is per period: the purchases expected in period k (1, 2, ..., the last
    possibly partial) are discounted by (1 + discount_rate)^k, end-of-period as in lifetimes'
    ``customer_lifetime_value``. With the default 0 it is plainly purchases x value.
    Revenue, not margin: multiply by a margin to get profit.
    """
    if not (math.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon must be a finite number >= 0, got {horizon}")
    if not (math.isfinite(discount_rate) and discount_rate >= 0):
        raise ValueError(f"discount_rate must be >= 0 (per period), got {discount_rate}")
    _check_bgnbd(bg)
    x, t_x, age = _rfm(frequency, recency, T)
    value = expected_average_value(gg, x, monetary_value)
    if discount_rate == 0 or horizon == 0:
        purchases = expected_purchases(bg, horizon, x, t_x, age)
    else:
        # Cumulative purchases at each period end; the growth part depends on (x, T) only, so
        # it is computed once per distinct pair and period end.
        ends = np.append(np.arange(1.0, math.ceil(horizon)), horizon)
        (ux, uage), _, pairs = _group_rows(x.ravel(), age.ravel())
        cumulative = _alive_growth(bg, ux[None, :], uage[None, :], ends[:, None])
        per_period = np.diff(cumulative, axis=0, prepend=0.0)
        factors = (1.0 + discount_rate) ** -np.arange(1.0, ends.size + 1)
        discounted = (factors @ per_period)[pairs].reshape(x.shape)
        alive = special.expit(-_log_odds_dropped(bg, x, t_x, age))
        purchases = alive * discounted
    return np.asarray(purchases * value, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# From orders to the model's inputs
# ---------------------------------------------------------------------------------------------


def summary_from_orders(
    customer_ids: Any,
    order_times: Any,
    order_values: npt.ArrayLike,
    observation_end: Any,
    unit_days: float = 7,
) -> pd.DataFrame:
    """Per customer frequency, recency, T and monetary_value, the way lifetimes builds them.

    Time is cut into periods of ``unit_days`` days on a fixed UTC calendar grid (days, or
    Monday-Sunday weeks for 7). Orders after ``observation_end`` are ignored; orders in the
    same period count as one purchase with their values summed. frequency = distinct purchase
    periods - 1, recency = last - first purchase period, T = period of observation_end -
    first purchase period (both in periods), monetary_value = mean value of the repeat
    purchases, 0 when frequency == 0. Naive times are taken as UTC.

    Returns a DataFrame indexed by customer id (sorted), one row per customer with an order
    up to observation_end.
    """
    if not (math.isfinite(unit_days) and unit_days > 0):
        raise ValueError(f"unit_days must be > 0, got {unit_days}")
    # Plain positional arrays: a pandas index on any input must not realign the columns.
    ids = pd.Index(customer_ids)
    times = pd.DatetimeIndex(pd.to_datetime(order_times, utc=True))
    values = _as_float_array(order_values, "order_values").ravel()
    if not (len(ids) == len(times) == len(values)):
        raise ValueError("customer_ids, order_times and order_values must have the same length")
    if ids.isna().any():
        raise ValueError("customer_ids contains missing values")
    if times.isna().any():
        raise ValueError("order_times contains missing values")
    end = pd.to_datetime(pd.Series([observation_end]), utc=True).iloc[0]
    if pd.isna(end):
        raise ValueError("observation_end is missing")

    step = pd.Timedelta(days=unit_days)
    orders = pd.DataFrame({"customer_id": ids, "time": times, "value": values})
    orders = orders[orders["time"] <= end]
    orders["period"] = (orders["time"] - _GRID_ORIGIN) // step
    end_period = (end - _GRID_ORIGIN) // step

    purchases = orders.groupby(["customer_id", "period"], sort=True)["value"].sum().reset_index()
    by_customer = purchases.groupby("customer_id", sort=True)
    first = by_customer["period"].transform("min")
    repeat_value = purchases["value"].where(purchases["period"] != first, 0.0)
    stats = by_customer.agg(
        first=("period", "min"), last=("period", "max"), count=("period", "size")
    )
    repeat_total = repeat_value.groupby(purchases["customer_id"], sort=True).sum()

    frequency = (stats["count"] - 1).astype(np.int64)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (stats["last"] - stats["first"]).astype(np.float64),
            "T": (end_period - stats["first"]).astype(np.float64),
            "monetary_value": (repeat_total / frequency.where(frequency > 0)).fillna(0.0),
        }
    )
    summary.index.name = "customer_id"
    return summary
