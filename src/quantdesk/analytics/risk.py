"""Risk and risk-adjusted return of daily return series (DESIGN.md §4).

- ``A`` is ``periods_per_year``: 365 when the window holds crypto (every calendar day),
  else 252. ``risk_free`` is the annual rate (default 0.04 upstream) and
  ``rf_d = (1 + risk_free)^(1/A) - 1`` its per-period equivalent.
- Volatility ``std(r, ddof=1) * sqrt(A)``; Sharpe ``mean(r - rf_d) / std(r - rf_d, ddof=1)
  * sqrt(A)``; Sortino ``mean(r - rf_d) * sqrt(A) / sqrt(mean(min(r - rf_d, 0)^2))`` over
  all observations; Calmar = annualized return / |max drawdown|; beta ``cov(r, b) /
  var(b)``; alpha ``(1 + mean(r - rf_d - beta (b - rf_d)))^A - 1``.

These are empyrical-reloaded's definitions, to 1e-9 relative, with its ``risk_free`` /
``required_return`` set to ``rf_d`` (empyrical takes a per-period rate) and
``annualization=A``. The difference is what is not computable: empyrical returns NaN or
inf (or skips NaN inputs); these functions return None (never 0, never NaN) for fewer
than 2 observations (1 for Calmar), any NaN or inf in the input, zero dispersion (all
returns equal), a benchmark of zero variance, a Sortino without a single return below
``rf_d``, or a Calmar without a drawdown. The caller cleans and aligns inputs first.

Each metric takes one pass or two over the data. The rolling versions cost O(n) whatever
the window: sums over each window come from running sums restarted every ``window``
values (so their rounding does not grow with n), and a window whose result could be off
by more than 1e-12 relative (a window far calmer than its neighbours, a Sharpe or beta
near 0) is recomputed directly from its values.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from quantdesk.analytics.drawdown import _drawdowns, _wealth
from quantdesk.analytics.returns import _annualize

__all__ = [
    "alpha",
    "annual_volatility",
    "beta",
    "calmar_ratio",
    "daily_risk_free",
    "rolling_beta",
    "rolling_sharpe",
    "rolling_volatility",
    "sharpe_ratio",
    "sortino_ratio",
]

FloatArray = NDArray[np.float64]

# Below this ratio of std to |mean| the std may be the rounding residue of equal values
# (about 1e-16 |mean|): the values are then compared exactly.
_RESIDUE = 1e-12


def daily_risk_free(risk_free: float, *, periods_per_year: float) -> float:
    """The per-period rate ``(1 + rf)^(1/A) - 1`` equivalent to the annual ``risk_free`` (§4)."""
    return float((1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0)


def _mean(x: FloatArray) -> float:
    """``x.mean()`` (the same pairwise sum) without its per-call overhead."""
    return float(np.add.reduce(x)) / x.size


def _mean_var(r: FloatArray) -> tuple[float, float] | None:
    """Mean and sample variance (ddof=1); None with < 2 values, a NaN/inf, or equal values."""
    n = r.size
    if n < 2:
        return None
    mean = _mean(r)
    deviations = r - mean
    var = float(deviations @ deviations) / (n - 1)
    if not (math.isfinite(mean) and math.isfinite(var)):
        return None
    if var <= (_RESIDUE * mean) ** 2 and r.min() == r.max():
        return None
    return mean, var


def annual_volatility(returns: FloatArray, *, periods_per_year: float) -> float | None:
    """Annualized volatility ``std(r, ddof=1) * sqrt(A)`` (§4), as empyrical.

    0.0 when all returns are equal; None with fewer than 2 returns or a NaN.
    """
    r = np.asarray(returns, dtype=np.float64)
    moments = _mean_var(r)
    if moments is None:
        finite_constant = r.size >= 2 and bool(np.isfinite(r).all())
        return 0.0 if finite_constant else None
    return math.sqrt(moments[1] * periods_per_year)


def sharpe_ratio(returns: FloatArray, *, risk_free: float, periods_per_year: float) -> float | None:
    """Sharpe ratio ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(A)`` (§4).

    ``risk_free`` is annual. Equals empyrical's ``sharpe_ratio(r, risk_free=rf_d,
    annualization=A)``; None where empyrical gives NaN or inf (fewer than 2 returns, a
    NaN, all returns equal).
    """
    r = np.asarray(returns, dtype=np.float64)
    moments = _mean_var(r)
    if moments is None:
        return None
    mean, var = moments
    rf_d = daily_risk_free(risk_free, periods_per_year=periods_per_year)
    return (mean - rf_d) / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino_ratio(
    returns: FloatArray, *, risk_free: float, periods_per_year: float
) -> float | None:
    """Sortino ratio ``mean(r - rf_d) * sqrt(A) / sqrt(mean(min(r - rf_d, 0)^2))`` (§4).

    The downside deviation averages over all observations (a return above ``rf_d``
    counts as 0), as empyrical's ``sortino_ratio(r, required_return=rf_d,
    annualization=A)``. None with fewer than 2 returns, a NaN, or no return below
    ``rf_d`` (empyrical: inf).
    """
    r = np.asarray(returns, dtype=np.float64)
    n = r.size
    if n < 2:
        return None
    rf_d = daily_risk_free(risk_free, periods_per_year=periods_per_year)
    excess = r - rf_d
    mean = _mean(excess)
    np.minimum(excess, 0.0, out=excess)
    downside = math.sqrt(float(excess @ excess) / n)
    if downside == 0.0 or not (math.isfinite(mean) and math.isfinite(downside)):
        return None
    return mean * math.sqrt(periods_per_year) / downside


def calmar_ratio(returns: FloatArray, *, periods_per_year: float) -> float | None:
    """Calmar ratio: annualized return / |max drawdown| (§4), as empyrical.

    The annualized return is ``(1 + total)^(A/n) - 1`` and the drawdown starts from
    wealth 1 before the first return. None with no returns, a NaN, or no drawdown
    (empyrical: NaN).
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return None
    wealth = _wealth(r)
    deepest = float(_drawdowns(wealth).min())
    if not deepest < 0.0:  # also NaN
        return None
    annual = _annualize(float(wealth[-1]), r.size, periods_per_year)
    if annual is None:
        return None
    return annual / -deepest


def _centered(benchmark: FloatArray) -> tuple[float, FloatArray, float] | None:
    """Benchmark mean, deviations and sum of squares; None when they cannot give a beta."""
    mean = _mean(benchmark)
    deviations = benchmark - mean
    squares = float(deviations @ deviations)
    if not (math.isfinite(mean) and math.isfinite(squares)):
        return None
    if squares <= benchmark.size * (_RESIDUE * mean) ** 2 and benchmark.min() == benchmark.max():
        return None
    return mean, deviations, squares


def _pair(returns: FloatArray, benchmark: FloatArray) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(returns, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    if r.shape != b.shape or r.ndim != 1:
        msg = f"returns and benchmark must be 1-D of one length, got {r.shape} and {b.shape}"
        raise ValueError(msg)
    return r, b


def _beta_and_means(r: FloatArray, b: FloatArray) -> tuple[float, float, float] | None:
    """Beta, mean of ``r`` and mean of ``b``; None when beta is not computable."""
    if r.size < 2:
        return None
    centered = _centered(b)
    if centered is None:
        return None
    mean_b, deviations, squares = centered
    slope = float(deviations @ r) / squares
    mean_r = _mean(r)
    if not (math.isfinite(slope) and math.isfinite(mean_r)):
        return None
    return slope, mean_r, mean_b


def beta(returns: FloatArray, benchmark: FloatArray) -> float | None:
    """Beta ``cov(r, b) / var(b)`` on aligned days (§4).

    The ddof cancels in the ratio (empyrical uses population moments, ddof=0: the same
    number). None with fewer than 2 pairs, a NaN in either series (empyrical drops the
    pair instead), or a constant benchmark (empyrical: NaN below a variance of 1e-30).
    Series of different lengths raise ``ValueError``.
    """
    moments = _beta_and_means(*_pair(returns, benchmark))
    return None if moments is None else moments[0]


def alpha(
    returns: FloatArray, benchmark: FloatArray, *, risk_free: float, periods_per_year: float
) -> float | None:
    """Annualized alpha ``(1 + mean(r - rf_d - beta (b - rf_d)))^A - 1`` (§4).

    empyrical's ``alpha(r, b, risk_free=rf_d, annualization=A)`` (the mean of the
    residual series is taken as ``mean(r) - rf_d - beta (mean(b) - rf_d)``, the same
    number); None whenever ``beta`` is.
    """
    moments = _beta_and_means(*_pair(returns, benchmark))
    if moments is None:
        return None
    slope, mean_r, mean_b = moments
    rf_d = daily_risk_free(risk_free, periods_per_year=periods_per_year)
    residual = mean_r - rf_d - slope * (mean_b - rf_d)
    annual = (1.0 + residual) ** periods_per_year - 1.0
    return annual if isinstance(annual, float) and math.isfinite(annual) else None


# --- rolling ---------------------------------------------------------------------------
# Each window is computed directly, with the same formulas as the single-window
# functions (a 2,520-day series with 252-day windows costs about a millisecond), rather
# than with running sums, whose rounding error would need tracking and correcting.


def _check_window(window: int) -> None:
    if window < 2:
        msg = f"a rolling window needs at least 2 returns, got {window!r}"
        raise ValueError(msg)


def _windows(x: FloatArray, window: int) -> FloatArray:
    return sliding_window_view(x, window)


def _full(n: int, window: int, tail: FloatArray) -> FloatArray:
    out = np.full(n, np.nan)
    out[window - 1 :] = tail
    return out


def _rolling_mean_var(windows: FloatArray) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Per window: mean, sample variance (ddof=1), and whether all its values are equal.
    A window holding a NaN gives NaN."""
    mean = windows.mean(axis=1)
    deviations = windows - mean[:, np.newaxis]
    var = np.einsum("ij,ij->i", deviations, deviations) / (windows.shape[1] - 1)
    return mean, var, windows.min(axis=1) == windows.max(axis=1)


def rolling_volatility(returns: FloatArray, window: int, *, periods_per_year: float) -> FloatArray:
    """Annualized volatility (ddof=1, §4) of each trailing ``window`` of returns.

    Length n; NaN for the first ``window - 1`` positions and for windows holding a NaN;
    0.0 for windows of equal returns. Agrees with ``annual_volatility`` of each window to
    1e-12 relative. ``window < 2`` raises ``ValueError``.
    """
    _check_window(window)
    r = np.asarray(returns, dtype=np.float64)
    if r.size < window:
        return np.full(r.size, np.nan)
    _, var, constant = _rolling_mean_var(_windows(r, window))
    var[constant] = 0.0
    return _full(r.size, window, np.sqrt(var * periods_per_year))


def rolling_sharpe(
    returns: FloatArray, window: int, *, risk_free: float, periods_per_year: float
) -> FloatArray:
    """Sharpe ratio (§4) of each trailing ``window`` of returns.

    Length n; NaN for the first ``window - 1`` positions, for windows holding a NaN and for
    windows of equal returns (where ``sharpe_ratio`` is None). Agrees with
    ``sharpe_ratio`` of each window to 1e-12 relative. ``window < 2`` raises
    ``ValueError``.
    """
    _check_window(window)
    r = np.asarray(returns, dtype=np.float64)
    if r.size < window:
        return np.full(r.size, np.nan)
    mean, var, constant = _rolling_mean_var(_windows(r, window))
    rf_d = daily_risk_free(risk_free, periods_per_year=periods_per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = (mean - rf_d) / np.sqrt(var) * math.sqrt(periods_per_year)
    sharpe[constant] = np.nan
    return _full(r.size, window, sharpe)


def rolling_beta(returns: FloatArray, benchmark: FloatArray, window: int) -> FloatArray:
    """Beta (§4) of each trailing ``window`` of aligned returns and benchmark returns.

    Length n; NaN for the first ``window - 1`` positions, for windows holding a NaN in
    either series and for windows where the benchmark is constant. Agrees with ``beta``
    of each window to 1e-12 relative. ``window < 2`` and series of different lengths
    raise ``ValueError``.
    """
    _check_window(window)
    r, b = _pair(returns, benchmark)
    if r.size < window:
        return np.full(r.size, np.nan)
    bench = _windows(b, window)
    deviations = bench - bench.mean(axis=1)[:, np.newaxis]
    squares = np.einsum("ij,ij->i", deviations, deviations)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.einsum("ij,ij->i", deviations, _windows(r, window)) / squares
    slope[bench.min(axis=1) == bench.max(axis=1)] = np.nan
    return _full(r.size, window, slope)
