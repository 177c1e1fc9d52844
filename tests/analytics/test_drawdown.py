"""Drawdown series and the maximum drawdown with its dates (DESIGN.md §4)."""

from __future__ import annotations

from datetime import date, timedelta

import empyrical
import numpy as np
import pytest
from empyrical.stats import drawdown_series as empyrical_drawdown_series

from quantdesk.analytics.drawdown import (
    Drawdown,
    drawdown_series,
    max_drawdown,
    max_drawdown_value,
)

START = date(2025, 12, 31)


def days_after(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i + 1) for i in range(n)]


def student_t_returns(seed: int = 5, n: int = 2500) -> np.ndarray:
    return 0.0004 + 0.01 * np.random.default_rng(seed).standard_t(4, n)


def test_max_drawdown_dates_peak_trough_and_recovery() -> None:
    """Wealth 1.1, 0.55, 0.66, 1.32: -50% from day 1 to day 2, back above on day 4."""
    returns = np.array([0.1, -0.5, 0.2, 1.0, -0.1])
    days = days_after(START, 5)

    actual = max_drawdown(returns, days, start=START)

    assert Drawdown(-0.5, days[0], days[1], days[3], 3) == actual


def test_peak_is_the_start_when_the_first_day_loses() -> None:
    """A loss on the first day falls from the opening wealth, dated the start."""
    returns = np.array([-0.2, 0.1, 0.2])
    days = days_after(START, 3)

    actual = max_drawdown(returns, days, start=START)

    assert actual is not None
    assert (START, days[0], days[2]) == (actual.peak, actual.trough, actual.recovery)
    assert 3 == actual.duration_days


def test_unrecovered_drawdown_has_no_recovery_nor_duration() -> None:
    """Still under water at the end: recovery and duration are None."""
    returns = np.array([0.05, -0.1, 0.02])
    days = days_after(START, 3)

    actual = max_drawdown(returns, days, start=START)

    assert actual is not None
    assert pytest.approx(1.05 * 0.9 / 1.05 - 1, rel=1e-12) == actual.value
    assert (days[0], days[1], None, None) == (
        actual.peak,
        actual.trough,
        actual.recovery,
        actual.duration_days,
    )


def test_peak_is_the_last_day_at_the_high_before_the_trough() -> None:
    """Wealth 1.25, 0.625, 1.25, 0.3125: the deepest fall runs from the second visit."""
    returns = np.array([0.25, -0.5, 1.0, -0.75])
    days = days_after(START, 4)

    actual = max_drawdown(returns, days, start=START)

    assert Drawdown(-0.75, days[2], days[3], None, None) == actual


def test_recovery_counts_a_return_to_exactly_the_peak() -> None:
    """Wealth back at (not above) the peak is recovered."""
    returns = np.array([-0.5, 1.0])
    days = days_after(START, 2)

    actual = max_drawdown(returns, days, start=START)

    assert Drawdown(-0.5, START, days[0], days[1], 2) == actual


def test_no_returns_have_no_drawdown() -> None:
    """Nothing happened: None, not a zero drawdown."""
    assert max_drawdown(np.array([], dtype=np.float64), [], start=START) is None
    assert max_drawdown_value(np.array([], dtype=np.float64)) is None


def test_returns_that_never_lose_have_a_zero_drawdown_at_the_last_high() -> None:
    """Only gains: value 0.0, peak = trough = recovery = the last day, 0 days long."""
    returns = np.array([0.01, 0.0, 0.02])
    days = days_after(START, 3)

    assert Drawdown(0.0, days[-1], days[-1], days[-1], 0) == max_drawdown(
        returns, days, start=START
    )
    assert 0.0 == max_drawdown_value(returns)


def test_a_nan_return_gives_no_drawdown() -> None:
    """The caller cleans NaNs; a NaN left in gives None, not a number that skips it."""
    returns = np.array([0.1, np.nan, -0.2])

    assert max_drawdown(returns, days_after(START, 3), start=START) is None
    assert max_drawdown_value(returns) is None


def test_days_must_match_the_returns() -> None:
    """One date per return."""
    with pytest.raises(ValueError, match="days"):
        max_drawdown(np.array([0.1, 0.2]), days_after(START, 1), start=START)


def test_drawdown_series_starts_from_wealth_one_before_the_first_return() -> None:
    """Wealth 0.9, 0.99, 1.089: drawdowns -10%, -1%, then a new high."""
    actual = drawdown_series(np.array([-0.1, 0.1, 0.1]))

    assert pytest.approx([-0.1, -0.01, 0.0], rel=1e-12, abs=1e-15) == actual.tolist()


def test_drawdown_series_agrees_with_empyrical() -> None:
    """Every value equals empyrical's drawdown_series (peak anchored at the start)."""
    returns = student_t_returns()

    expected = empyrical_drawdown_series(returns)

    assert (
        pytest.approx(expected.tolist(), rel=1e-9, abs=1e-15) == drawdown_series(returns).tolist()
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_max_drawdown_agrees_with_empyrical(seed: int) -> None:
    """The value is empyrical's max_drawdown; its trough is the series' minimum."""
    returns = student_t_returns(seed)
    days = days_after(START, returns.size)

    expected = empyrical.max_drawdown(returns)
    actual = max_drawdown(returns, days, start=START)

    assert actual is not None
    assert pytest.approx(expected, rel=1e-9) == actual.value
    assert pytest.approx(expected, rel=1e-9) == max_drawdown_value(returns)
    assert days[int(np.argmin(empyrical_drawdown_series(returns)))] == actual.trough
