"""Returns: daily time-weighted returns, their compounding, and the money-weighted XIRR.

Conventions (DESIGN.md §4):

- Daily time-weighted return ``r_t = (V_t - F_t) / V_{t-1} - 1``, with ``F_t`` the net
  external flow on day ``t`` taken at the end of the day (positive = money in), so a
  deposit is not a return.
- Total TWR ``prod(1 + r_t) - 1``; annualized ``(1 + total)^(A/n) - 1`` with ``n`` the
  number of daily returns and ``A`` the periods per year (252 or 365).
- Money-weighted return: XIRR of the flows plus the final value, ACT/365 like Excel.

A metric that cannot be computed is ``None`` (never 0, never NaN); the functions that
return arrays mark such days NaN. Inputs are not cleaned here: the caller drops or reports
NaNs first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq  # type: ignore[import-untyped]

__all__ = [
    "annualized_return",
    "cumulative_returns",
    "total_return",
    "twr_returns",
    "xirr",
]

FloatArray = NDArray[np.float64]

# Candidate growth factors x = 1 + rate where XIRR looks for a sign change of the NPV:
# rates from -99.99% to +1000% densely, then ever larger ones (a gain over a few days
# annualizes to astronomic rates).
_NEAR_GRID = np.concatenate([np.geomspace(1e-4, 1.0, 161)[:-1], np.geomspace(1.0, 11.0, 161)])
_FAR_GRID = np.geomspace(11.0, 1e300, 300)[1:]
#: One grid, searched at once: a root between the two parts (11 < x < ~110) is found too.
_GRID = np.concatenate([_NEAR_GRID, _FAR_GRID])


def twr_returns(values: FloatArray, flows: FloatArray) -> FloatArray:
    """Daily time-weighted returns ``(V_t - F_t) / V_{t-1} - 1`` for ``t = 1..n-1`` (§4).

    ``values[t]`` is the portfolio value at the close of day ``t`` and ``flows[t]`` the net
    external flow of that day at its end (positive = money in); ``flows[0]`` is part of
    the opening value and ignored. The result has ``n - 1`` returns; a return whose
    previous value is not positive or not finite, or whose own value or flow is not
    finite, is NaN (the caller reports it), never 0.
    Arrays of different lengths raise ``ValueError``.
    """
    v = np.asarray(values, dtype=np.float64)
    f = np.asarray(flows, dtype=np.float64)
    if v.shape != f.shape or v.ndim != 1:
        msg = f"values and flows must be 1-D of one length, got {v.shape} and {f.shape}"
        raise ValueError(msg)
    if v.size < 2:
        return np.empty(0, dtype=np.float64)
    previous = v[:-1]
    usable = (previous > 0.0) & (previous < np.inf)
    with np.errstate(invalid="ignore"):
        returns = (v[1:] - f[1:]) / np.where(usable, previous, 1.0) - 1.0
    returns[~(usable & np.isfinite(returns))] = np.nan
    return returns


def total_return(returns: FloatArray) -> float | None:
    """Total compounded return ``prod(1 + r) - 1`` (§4); None when empty or not finite.

    empyrical's ``cum_returns_final`` skips NaN returns (``nanprod``); here any NaN makes
    the total None.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return None
    total = float(np.multiply.reduce(r + 1.0)) - 1.0
    return total if np.isfinite(total) else None


def annualized_return(returns: FloatArray, *, periods_per_year: float) -> float | None:
    """Annualized (compound) return ``(1 + total)^(A/n) - 1``, ``n`` = number of returns (§4).

    The same as empyrical's ``annual_return(r, annualization=A)``. None when there are no
    returns, a NaN, or the wealth turns negative (a return below -100%).
    """
    r = np.asarray(returns, dtype=np.float64)
    total = total_return(r)
    if total is None:
        return None
    return _annualize(1.0 + total, r.size, periods_per_year)


def _annualize(growth: float, n: int, periods_per_year: float) -> float | None:
    """``growth^(A/n) - 1``, None when the growth is negative or the result not finite."""
    if growth < 0.0:
        return None
    annual = growth ** (periods_per_year / n) - 1.0
    return annual if np.isfinite(annual) else None


def cumulative_returns(returns: FloatArray) -> FloatArray:
    """Cumulative returns ``cumprod(1 + r) - 1``, one per return.

    A NaN return makes it and every later value NaN (empyrical's ``cum_returns`` counts a
    NaN as a 0 return instead).
    """
    r = np.asarray(returns, dtype=np.float64)
    out = np.add(r, 1.0)
    np.cumprod(out, out=out)
    out -= 1.0
    return out


def xirr(days: Sequence[date], amounts: Sequence[float]) -> float | None:
    """Money-weighted annual return: the rate where the NPV of the dated amounts is 0 (§4).

    Amounts are seen from the investor: negative = invested, positive = received (the
    final value is a positive amount on the last day). Year fractions are ACT/365
    (``days / 365.0``), as Excel's XIRR. The root is bracketed on a grid of rates from
    -99.99% upward and refined with Brent's method; when the NPV changes sign more than
    once (non-conventional flows have several IRRs) the rate closest to 0 is returned.
    None with fewer than 2 amounts, a non-finite amount, amounts all of one sign (or 0),
    or no root. Lists of different lengths raise ``ValueError``.
    """
    if len(days) != len(amounts):
        msg = f"{len(days)} days but {len(amounts)} amounts"
        raise ValueError(msg)
    if len(amounts) < 2:
        return None
    a = np.asarray(amounts, dtype=np.float64)
    if not np.isfinite(a).all() or not ((a > 0.0).any() and (a < 0.0).any()):
        return None
    first = min(days)
    t = np.array([(d - first).days for d in days], dtype=np.float64) / 365.0
    horizon = float(t.max())

    # sign(NPV(x)) with x = 1 + rate, evaluated without overflow: for x >= 1 every
    # discount factor x^-t is at most 1; for x < 1 the NPV is scaled by x^horizon > 0,
    # which leaves every exponent horizon - t >= 0.
    def npv(x: float) -> float:
        exponent = -t if x >= 1.0 else horizon - t
        return float(a @ np.power(x, exponent))

    def npv_grid(x: FloatArray) -> FloatArray:
        exponent = np.where((x >= 1.0)[:, np.newaxis], -t, horizon - t)
        with np.errstate(under="ignore"):
            return np.asarray(np.power(x[:, np.newaxis], exponent) @ a, dtype=np.float64)

    return _root_nearest_zero(_GRID, npv_grid(_GRID), npv)


def _root_nearest_zero(
    grid: FloatArray, values: FloatArray, npv: Callable[[float], float]
) -> float | None:
    """The root of ``npv`` (as a rate ``x - 1``) closest to 0 among the sign changes on ``grid``."""
    sign = np.sign(values)
    exact = np.flatnonzero(sign == 0.0)
    change = np.flatnonzero(sign[:-1] * sign[1:] < 0.0)
    roots = [float(grid[i]) - 1.0 for i in exact]
    for i in change:
        x = brentq(npv, float(grid[i]), float(grid[i + 1]), xtol=1e-15, maxiter=200)
        roots.append(float(x) - 1.0)
    if not roots:
        return None
    return min(roots, key=abs)
