"""Risk metrics agree with empyrical-reloaded and behave as DESIGN.md §4 says.

empyrical takes a per-period risk-free rate: it is given rf_d = (1 + rf)^(1/A) - 1. Its
Sortino uses the same downside deviation, sqrt(mean(min(r - rf_d, 0)^2)) over all
observations, so every value is compared at 1e-9 relative. The differences are only in
what cannot be computed: empyrical answers NaN or inf (or skips NaN pairs), quantdesk None.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from quantdesk.analytics.drawdown import max_drawdown_value
from quantdesk.analytics.returns import annualized_return, cumulative_returns
from quantdesk.analytics.risk import (
    alpha,
    annual_volatility,
    beta,
    calmar_ratio,
    daily_risk_free,
    rolling_beta,
    rolling_sharpe,
    rolling_volatility,
    sharpe_ratio,
    sortino_ratio,
)

RF = 0.04
PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
#: name -> (file under PRICES, close column, periods per year)
REAL = {
    "SPY": ("etfs/SPY.csv", "Close", 252),
    "QQQ": ("etfs/QQQ.csv", "Close", 252),
    "BTC-USD": ("crypto/BTC-USD.csv", "Adj_Close", 365),
}


def student_t_returns(seed: int = 2024, n: int = 2500) -> np.ndarray:
    """Fat-tailed daily returns: 4 degrees of freedom, about 1% a day, a small drift."""
    return 0.0004 + 0.01 * np.random.default_rng(seed).standard_t(4, n)


def benchmark_for(returns: np.ndarray, seed: int = 7) -> np.ndarray:
    """A benchmark correlated with ``returns`` (true beta about 0.8 the other way)."""
    noise = 0.008 * np.random.default_rng(seed).standard_t(5, returns.size)
    return 0.0003 + 0.6 * returns + noise


def closes(name: str) -> pd.Series:
    """Daily closes of a shared price history; skips the test when the file is absent."""
    file, column, _ = REAL[name]
    path = PRICES / file
    if not path.exists():
        pytest.skip(f"shared price history {path} is absent")
    frame = pd.read_csv(path, usecols=["Date", column], index_col="Date")
    return frame[column].astype("float64")


def simple_returns(prices: np.ndarray) -> np.ndarray:
    return prices[1:] / prices[:-1] - 1.0


def metrics(rf_d: float, a: int) -> dict[str, tuple[Callable[..., object], Callable[..., object]]]:
    """Metric name -> (quantdesk on r, empyrical on r) for one annualization."""
    return {
        "annual_volatility": (
            lambda r: annual_volatility(r, periods_per_year=a),
            lambda r: empyrical.annual_volatility(r, annualization=a),
        ),
        "sharpe_ratio": (
            lambda r: sharpe_ratio(r, risk_free=RF, periods_per_year=a),
            lambda r: empyrical.sharpe_ratio(r, risk_free=rf_d, annualization=a),
        ),
        "sortino_ratio": (
            lambda r: sortino_ratio(r, risk_free=RF, periods_per_year=a),
            lambda r: empyrical.sortino_ratio(r, required_return=rf_d, annualization=a),
        ),
        "calmar_ratio": (
            lambda r: calmar_ratio(r, periods_per_year=a),
            lambda r: empyrical.calmar_ratio(r, annualization=a),
        ),
        "max_drawdown": (max_drawdown_value, empyrical.max_drawdown),
        "annual_return": (
            lambda r: annualized_return(r, periods_per_year=a),
            lambda r: empyrical.annual_return(r, annualization=a),
        ),
    }


METRIC_NAMES = list(metrics(0.0, 252))


@pytest.mark.parametrize("periods_per_year", [252, 365])
@pytest.mark.parametrize("metric", METRIC_NAMES)
def test_metric_agrees_with_empyrical_on_student_t_returns(
    metric: str, periods_per_year: int
) -> None:
    """2,500 seeded fat-tailed returns: the same number as empyrical to 1e-9 relative."""
    returns = student_t_returns()
    rf_d = daily_risk_free(RF, periods_per_year=periods_per_year)
    ours, theirs = metrics(rf_d, periods_per_year)[metric]

    assert pytest.approx(theirs(returns), rel=1e-9) == ours(returns)


@pytest.mark.parametrize("name", list(REAL))
@pytest.mark.parametrize("metric", METRIC_NAMES)
def test_metric_agrees_with_empyrical_on_real_price_history(metric: str, name: str) -> None:
    """SPY and QQQ (A = 252) and BTC-USD (A = 365) since inception, as empyrical."""
    returns = simple_returns(closes(name).to_numpy())
    periods_per_year = REAL[name][2]
    rf_d = daily_risk_free(RF, periods_per_year=periods_per_year)
    ours, theirs = metrics(rf_d, periods_per_year)[metric]

    assert pytest.approx(theirs(returns), rel=1e-9) == ours(returns)


@pytest.mark.parametrize("name", list(REAL))
def test_cumulative_returns_agree_with_empyrical_on_real_price_history(name: str) -> None:
    """Every cumulative return since inception equals empyrical's cum_returns."""
    returns = simple_returns(closes(name).to_numpy())

    expected = empyrical.cum_returns(returns)

    assert pytest.approx(expected.tolist(), rel=1e-9) == cumulative_returns(returns).tolist()


def test_beta_and_alpha_agree_with_empyrical_on_student_t_returns() -> None:
    """Beta cov/var (empyrical: ddof=0 both, the same ratio) and empyrical's alpha."""
    returns = student_t_returns()
    bench = benchmark_for(returns)
    rf_d = daily_risk_free(RF, periods_per_year=252)

    assert pytest.approx(empyrical.beta(returns, bench), rel=1e-9) == beta(returns, bench)
    assert pytest.approx(
        empyrical.alpha(returns, bench, risk_free=rf_d, annualization=252), rel=1e-9
    ) == alpha(returns, bench, risk_free=RF, periods_per_year=252)


def test_beta_and_alpha_of_qqq_against_spy_agree_with_empyrical() -> None:
    """QQQ against SPY on their common trading days, A = 252."""
    both = pd.concat([closes("QQQ"), closes("SPY")], axis=1, join="inner").to_numpy()
    qqq, spy = simple_returns(both[:, 0]), simple_returns(both[:, 1])
    rf_d = daily_risk_free(RF, periods_per_year=252)

    assert pytest.approx(empyrical.beta(qqq, spy), rel=1e-9) == beta(qqq, spy)
    assert pytest.approx(
        empyrical.alpha(qqq, spy, risk_free=rf_d, annualization=252), rel=1e-9
    ) == alpha(qqq, spy, risk_free=RF, periods_per_year=252)


def test_alpha_matches_the_design_formula() -> None:
    """(1 + mean(r - rf_d - beta (b - rf_d)))^A - 1, written out."""
    returns = student_t_returns()
    bench = benchmark_for(returns)
    rf_d = daily_risk_free(RF, periods_per_year=252)
    slope = np.cov(returns, bench, ddof=1)[0, 1] / np.var(bench, ddof=1)

    expected = (1 + np.mean(returns - rf_d - slope * (bench - rf_d))) ** 252 - 1

    assert pytest.approx(expected, rel=1e-9) == alpha(
        returns, bench, risk_free=RF, periods_per_year=252
    )


def test_daily_risk_free_compounds_back_to_the_annual_rate() -> None:
    """(1 + rf_d)^A - 1 = rf."""
    rf_d = daily_risk_free(RF, periods_per_year=252)

    assert pytest.approx(RF, rel=1e-12) == (1 + rf_d) ** 252 - 1


# --- metamorphic -------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [-0.002, 0.0005, 0.003])
def test_shifting_returns_and_risk_free_together_leaves_sharpe_unchanged(shift: float) -> None:
    """Adding c to every return and to the daily risk-free rate changes no excess return."""
    returns = student_t_returns()
    rf_d = daily_risk_free(RF, periods_per_year=252)
    shifted_rf = (1 + rf_d + shift) ** 252 - 1

    expected = sharpe_ratio(returns, risk_free=RF, periods_per_year=252)
    actual = sharpe_ratio(returns + shift, risk_free=shifted_rf, periods_per_year=252)

    assert pytest.approx(expected, rel=1e-9) == actual


@pytest.mark.parametrize("k", [0.1, 3.0, 17.5])
def test_scaling_returns_keeps_sharpe_and_scales_volatility(k: float) -> None:
    """With rf = 0, k r has the same Sharpe and k times the volatility."""
    returns = student_t_returns()
    vol = annual_volatility(returns, periods_per_year=252)
    assert vol is not None

    assert pytest.approx(sharpe_ratio(returns, risk_free=0.0, periods_per_year=252), rel=1e-9) == (
        sharpe_ratio(k * returns, risk_free=0.0, periods_per_year=252)
    )
    assert pytest.approx(k * vol, rel=1e-9) == annual_volatility(k * returns, periods_per_year=252)


def test_beta_of_a_leveraged_benchmark_is_the_leverage() -> None:
    """r = 2 b + 0.0001 has beta 2."""
    bench = student_t_returns()

    assert pytest.approx(2.0, rel=1e-12) == beta(2 * bench + 0.0001, bench)


# --- what cannot be computed ---------------------------------------------------------------

ONE = np.array([0.01])
EQUAL = np.full(50, 0.001)  # 0.001 is not a binary fraction: std has a rounding residue


@pytest.mark.parametrize(
    ("metric", "returns"),
    [
        (lambda r: sharpe_ratio(r, risk_free=RF, periods_per_year=252), ONE),
        (lambda r: sharpe_ratio(r, risk_free=RF, periods_per_year=252), EQUAL),
        (lambda r: sortino_ratio(r, risk_free=RF, periods_per_year=252), ONE),
        (lambda r: annual_volatility(r, periods_per_year=252), ONE),
        (lambda r: calmar_ratio(r, periods_per_year=252), np.array([], dtype=np.float64)),
        (lambda r: calmar_ratio(r, periods_per_year=252), EQUAL),
    ],
    ids=[
        "sharpe-one",
        "sharpe-equal",
        "sortino-one",
        "volatility-one",
        "calmar-none",
        "calmar-no-drawdown",
    ],
)
def test_metric_that_cannot_be_computed_is_none(
    metric: Callable[[np.ndarray], float | None], returns: np.ndarray
) -> None:
    """Too few observations or zero dispersion: None, never 0 or NaN."""
    assert metric(returns) is None


@pytest.mark.parametrize(
    "metric",
    [
        lambda r: sharpe_ratio(r, risk_free=RF, periods_per_year=252),
        lambda r: sortino_ratio(r, risk_free=RF, periods_per_year=252),
        lambda r: annual_volatility(r, periods_per_year=252),
        lambda r: calmar_ratio(r, periods_per_year=252),
        lambda r: beta(r, benchmark_for(r)),
        lambda r: alpha(r, benchmark_for(r), risk_free=RF, periods_per_year=252),
    ],
    ids=["sharpe", "sortino", "volatility", "calmar", "beta", "alpha"],
)
def test_a_nan_return_makes_the_metric_none(metric: Callable[[np.ndarray], float | None]) -> None:
    """The caller cleans NaNs first; one left in gives None (empyrical skips it)."""
    returns = student_t_returns(n=100)
    returns[40] = np.nan

    assert metric(returns) is None


def test_volatility_of_equal_returns_is_zero() -> None:
    """Equal returns do not move: volatility 0.0 exactly, not a rounding residue."""
    assert 0.0 == annual_volatility(EQUAL, periods_per_year=252)


def test_sortino_without_a_return_below_the_risk_free_rate_is_none() -> None:
    """No downside, no downside deviation (empyrical: inf)."""
    returns = np.array([0.01, 0.02, 0.015])

    assert sortino_ratio(returns, risk_free=RF, periods_per_year=252) is None


def test_beta_and_alpha_against_a_constant_benchmark_are_none() -> None:
    """A benchmark that never moves has no variance to regress on."""
    returns = student_t_returns(n=50)

    assert beta(returns, EQUAL) is None
    assert alpha(returns, EQUAL, risk_free=RF, periods_per_year=252) is None


def test_beta_of_fewer_than_two_pairs_is_none() -> None:
    """One pair has no covariance."""
    assert beta(ONE, np.array([0.02])) is None


def test_beta_rejects_series_of_different_lengths() -> None:
    """Misaligned series are a programming error."""
    with pytest.raises(ValueError, match="one length"):
        beta(np.zeros(3), np.zeros(4))


# --- rolling -------------------------------------------------------------------------------


def regime_returns(n: int = 1500) -> np.ndarray:
    """Student-t returns with a calm third, where running sums are least accurate."""
    returns = student_t_returns(seed=99, n=n)
    returns[: n // 3] *= 0.1
    return returns


def windows(n: int, window: int) -> range:
    return range(window - 1, n)


@pytest.mark.parametrize("window", [2, 5, 21, 63, 252])
def test_rolling_volatility_equals_the_volatility_of_each_window(window: int) -> None:
    """Value i is annual_volatility of returns[i - window + 1 : i + 1], to 1e-12."""
    returns = regime_returns()

    actual = rolling_volatility(returns, window, periods_per_year=252)

    expected = [
        annual_volatility(returns[i - window + 1 : i + 1], periods_per_year=252)
        for i in windows(returns.size, window)
    ]
    assert np.isnan(actual[: window - 1]).all()
    assert pytest.approx(expected, rel=1e-12) == actual[window - 1 :].tolist()


@pytest.mark.parametrize("window", [2, 5, 21, 63, 252])
def test_rolling_sharpe_equals_the_sharpe_of_each_window(window: int) -> None:
    """Value i is sharpe_ratio of the trailing window, to 1e-12."""
    returns = regime_returns()

    actual = rolling_sharpe(returns, window, risk_free=RF, periods_per_year=252)

    expected = [
        sharpe_ratio(returns[i - window + 1 : i + 1], risk_free=RF, periods_per_year=252)
        for i in windows(returns.size, window)
    ]
    assert np.isnan(actual[: window - 1]).all()
    assert pytest.approx(expected, rel=1e-12) == actual[window - 1 :].tolist()


@pytest.mark.parametrize("window", [2, 5, 21, 63, 252])
def test_rolling_beta_equals_the_beta_of_each_window(window: int) -> None:
    """Value i is beta of the trailing windows of both series, to 1e-12."""
    returns = regime_returns()
    bench = benchmark_for(returns)

    actual = rolling_beta(returns, bench, window)

    expected = [
        beta(returns[i - window + 1 : i + 1], bench[i - window + 1 : i + 1])
        for i in windows(returns.size, window)
    ]
    assert np.isnan(actual[: window - 1]).all()
    assert pytest.approx(expected, rel=1e-12) == actual[window - 1 :].tolist()


def test_rolling_windows_holding_a_nan_are_nan_and_later_ones_are_not() -> None:
    """A NaN spoils only the windows that contain it."""
    returns = student_t_returns(n=30)
    returns[10] = np.nan
    bench = benchmark_for(np.nan_to_num(returns))

    for series in (
        rolling_volatility(returns, 5, periods_per_year=252),
        rolling_sharpe(returns, 5, risk_free=RF, periods_per_year=252),
        rolling_beta(returns, bench, 5),
    ):
        assert ([True] * 4 + [False] * 6 + [True] * 5 + [False] * 15) == np.isnan(series).tolist()


def test_rolling_windows_of_equal_returns() -> None:
    """Flat windows: volatility 0.0, Sharpe and beta against them NaN (as the metrics' None)."""
    returns = np.concatenate([student_t_returns(n=10), EQUAL[:10], student_t_returns(n=10)])

    vol = rolling_volatility(returns, 5, periods_per_year=252)
    sharpe = rolling_sharpe(returns, 5, risk_free=RF, periods_per_year=252)
    slope = rolling_beta(student_t_returns(seed=3, n=30), returns, 5)

    flat = slice(14, 20)  # windows ending at 14..19 lie inside the equal returns
    assert [0.0] * 6 == vol[flat].tolist()
    assert np.isnan(sharpe[flat]).all()
    assert np.isnan(slope[flat]).all()
    assert not np.isnan(sharpe[20:]).any()


def test_rolling_series_shorter_than_the_window_are_all_nan() -> None:
    """No full window: NaN everywhere, length kept."""
    actual = rolling_volatility(np.array([0.01, 0.02]), 5, periods_per_year=252)

    assert [True, True] == np.isnan(actual).tolist()


def test_rolling_window_below_two_is_rejected() -> None:
    """A window of 1 has no sample deviation."""
    with pytest.raises(ValueError, match="window"):
        rolling_volatility(np.zeros(5), 1, periods_per_year=252)
