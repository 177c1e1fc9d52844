"""The one-pass metric set agrees with each metric computed on its own."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from quantdesk.analytics.metrics import metric_set
from quantdesk.analytics.returns import annualized_return, total_return
from quantdesk.analytics.risk import (
    alpha,
    annual_volatility,
    beta,
    calmar_ratio,
    sharpe_ratio,
    sortino_ratio,
)
from quantdesk.analytics.var import historical_var, parametric_var
from quantdesk.analytics.whatif import HoldingsModel

RNG = np.random.default_rng(11)
ASSETS = RNG.standard_t(4, size=(750, 5)) * 0.01 + 0.0004
WEIGHTS = np.array([0.3, 0.2, 0.2, 0.2, 0.1])
PORTFOLIO = ASSETS @ WEIGHTS
BENCH = ASSETS[:, 0] * 0.8 + RNG.normal(0, 0.004, 750)
START = date(2023, 1, 2)
DAYS = [START + timedelta(days=i + 1) for i in range(750)]


def test_metric_set_equals_the_single_metrics() -> None:
    """Every figure of the set is the one its own function gives."""
    m = metric_set(
        PORTFOLIO, DAYS, start=START, periods_per_year=252, risk_free=0.04,
        benchmark_returns=BENCH, asset_returns=ASSETS, weights=WEIGHTS, last_value=1000.0,
    )  # fmt: skip
    expected = (
        total_return(PORTFOLIO),
        annualized_return(PORTFOLIO, periods_per_year=252),
        annual_volatility(PORTFOLIO, periods_per_year=252),
        sharpe_ratio(PORTFOLIO, risk_free=0.04, periods_per_year=252),
        sortino_ratio(PORTFOLIO, risk_free=0.04, periods_per_year=252),
        calmar_ratio(PORTFOLIO, periods_per_year=252),
        beta(PORTFOLIO, BENCH),
        alpha(PORTFOLIO, BENCH, risk_free=0.04, periods_per_year=252),
    )
    actual = (m.twr, m.twr_annualized, m.volatility, m.sharpe, m.sortino, m.calmar, m.beta, m.alpha)
    assert pytest.approx(expected, rel=1e-12) == actual
    assert pytest.approx(historical_var(PORTFOLIO, confidence=0.95), rel=1e-12) == (
        m.var["historical"][0.95].fraction
    )
    assert pytest.approx(parametric_var(PORTFOLIO, confidence=0.99) * 1000.0, rel=1e-12) == (
        m.var["parametric"][0.99].amount
    )
    vol_parts = sum(c.volatility_contribution or 0.0 for c in m.contributions)
    assert pytest.approx(m.volatility, rel=1e-9) == vol_parts


def test_too_few_returns_leave_every_metric_null_with_a_reason() -> None:
    """One return: nothing is computed and the warning says why."""
    m = metric_set(PORTFOLIO[:1], DAYS[:1], start=START, periods_per_year=252, risk_free=0.0)
    assert (None, None, None, {}) == (m.twr, m.sharpe, m.max_drawdown, m.var)
    assert "at least 2" in m.warnings[0]


def test_holdings_model_of_current_quantities_reproduces_their_value_path() -> None:
    """Buy and hold of fixed units gives the returns of their value series."""
    prices = np.cumprod(1 + ASSETS, axis=0) * 100
    model = HoldingsModel(prices, 500.0, [START, *DAYS[:-1]], 252)
    units = np.array([1.0, 2.0, 0.0, 3.0, 1.0])
    values = prices @ units + 500.0
    m = model.metrics(units, risk_free=0.0)
    assert pytest.approx(values[-1] / values[0] - 1, rel=1e-12) == m.twr
    assert 4 == len(m.contributions)


def test_what_if_starts_when_every_held_asset_has_a_close() -> None:
    """Days before an asset's first close are not zero-valued days: they are left out."""
    prices = np.cumprod(1 + ASSETS[:, :2], axis=0) * 100
    prices[:100, 1] = np.nan  # the second asset lists on day 100
    model = HoldingsModel(prices, 0.0, [START, *DAYS[:-1]], 252)
    m = model.metrics(np.array([1.0, 1.0]), risk_free=0.0)
    values = prices[100:] @ np.array([1.0, 1.0])
    assert pytest.approx(values[-1] / values[0] - 1, rel=1e-12) == m.twr
    assert any("first has a close" in w for w in m.warnings)
