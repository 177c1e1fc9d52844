"""Drawdowns: the fall of wealth from its running peak, and the deepest one with its dates.

Wealth starts at 1 the day before the first return (DESIGN.md §4: max drawdown with peak,
trough and recovery dates), so a loss on the first day is already a drawdown, as in
empyrical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

__all__ = ["Drawdown", "drawdown_series", "max_drawdown", "max_drawdown_value"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall of wealth from a running peak.

    ``value`` is a negative fraction (-0.25 = a quarter lost) or 0.0 when wealth never fell;
    ``peak`` is the last day of the high it fell from (the ``start`` day when that high is
    the opening wealth), ``trough`` the day of the lowest wealth, ``recovery`` the first
    later day whose wealth is back at or above the peak (None while still under water), and
    ``duration_days`` the calendar days from peak to recovery (None when not recovered).
    """

    value: float
    peak: date
    trough: date
    recovery: date | None
    duration_days: int | None


def _wealth(returns: FloatArray) -> FloatArray:
    """Wealth after each return from 1 invested before the first."""
    wealth = np.add(returns, 1.0)
    np.cumprod(wealth, out=wealth)
    return wealth


def _drawdowns(wealth: FloatArray) -> FloatArray:
    """``wealth / running_peak - 1``, the running peak counting the opening wealth of 1."""
    peak = np.maximum.accumulate(wealth)
    np.maximum(peak, 1.0, out=peak)
    out = np.divide(wealth, peak)
    out -= 1.0
    return out


def drawdown_series(returns: FloatArray) -> FloatArray:
    """Drawdown after each return, ``wealth / peak - 1`` (<= 0), from wealth 1 before the first.

    One value per return. A NaN return makes it and every later value NaN (empyrical
    counts a NaN as a 0 return).
    """
    return _drawdowns(_wealth(np.asarray(returns, dtype=np.float64)))


def max_drawdown_value(returns: FloatArray) -> float | None:
    """The maximum drawdown as a fraction <= 0, as empyrical's ``max_drawdown``.

    0.0 when wealth never fell; None when there are no returns or a NaN.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return None
    deepest = float(_drawdowns(_wealth(r)).min())
    return deepest if np.isfinite(deepest) else None


def max_drawdown(returns: FloatArray, days: Sequence[date], *, start: date) -> Drawdown | None:
    """The deepest drawdown with its peak, trough and recovery dates (§4).

    ``days[i]`` is the date of ``returns[i]`` and ``start`` the day before the first return,
    when wealth is 1 (it is the peak when the first returns lose). The trough is the first
    day of the lowest drawdown; the peak the last day before it at the high it fell from.

    None when there are no returns or a NaN. When there are returns but wealth never
    falls below a previous high the result is ``Drawdown(0.0, last, last, last, 0)`` with
    ``last`` the final day (the current high: nothing lost, nothing to recover).
    ``len(days) != len(returns)`` raises ``ValueError``.
    """
    r = np.asarray(returns, dtype=np.float64)
    if len(days) != r.size:
        msg = f"{r.size} returns but {len(days)} days"
        raise ValueError(msg)
    if r.size == 0:
        return None
    wealth = _wealth(r)
    drawdowns = _drawdowns(wealth)
    trough = int(np.argmin(drawdowns))
    value = float(drawdowns[trough])
    if not np.isfinite(value) or not np.isfinite(wealth[-1]):
        return None
    if value >= 0.0:
        last = days[-1]
        return Drawdown(0.0, last, last, last, 0)
    high = max(float(wealth[: trough + 1].max()), 1.0)
    # The peak: the last day up to the trough at that high (index -1 = the start).
    at_high = np.flatnonzero(wealth[:trough] == high)
    peak = days[int(at_high[-1])] if at_high.size else start
    recovered = np.flatnonzero(wealth[trough + 1 :] >= high)
    if recovered.size == 0:
        return Drawdown(value, peak, days[trough], None, None)
    recovery = days[trough + 1 + int(recovered[0])]
    return Drawdown(value, peak, days[trough], recovery, (recovery - peak).days)
