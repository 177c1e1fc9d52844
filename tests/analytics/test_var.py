"""VaR and CVaR (quantdesk.analytics.var) against empyrical-reloaded, closed forms and
known distributions.

Differences in definition from the references, written down as DESIGN §4 asks:

- Sign: empyrical's ``value_at_risk`` and ``conditional_value_at_risk`` return the tail
  *return* (negative for a loss); ours return the positive loss, so ours = -theirs.
- empyrical drops NaNs in ``conditional_value_at_risk``; ours return None for non-finite
  input (the caller reports gaps; a figure is never computed on silently shortened data).
- Cornish-Fisher: sigma is std(ddof=1) (DESIGN §4, as the original
  ``VaR.CornishFisher``); PerformanceAnalytics' current internals use sqrt(m2), ddof=0.
  The modified ES is PerformanceAnalytics' operational ES (floored at the modified VaR)
  with the same sigma, and is not set to NA when negative nor capped at 1.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import empyrical
import numpy as np
import pytest
from scipy import integrate, stats

from quantdesk.analytics.var import (
    METHODS,
    cornish_fisher_cvar,
    cornish_fisher_var,
    cornish_fisher_z,
    correlation_matrix,
    historical_cvar,
    historical_var,
    monte_carlo_var,
    overlapping_returns,
    parametric_cvar,
    parametric_var,
    return_contributions,
    var_contributions,
    var_table,
    volatility_contributions,
)

PRICES = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"
REAL_SERIES = {
    "SPY": (PRICES / "etfs" / "SPY.csv", "Close"),
    "BTC": (PRICES / "crypto" / "BTC-USD.csv", "Adj_Close"),
}
CONFIDENCES = (0.95, 0.99)
Z99 = stats.norm.ppf(0.01)


def student_t_returns(seed: int, n: int) -> np.ndarray:
    return 0.01 * np.random.default_rng(seed).standard_t(4, n) + 0.0003


def gaussian_assets(n_days: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian daily returns of 4 assets and a long-short weight vector."""
    rng = np.random.default_rng(seed)
    vols = np.array([0.010, 0.015, 0.020, 0.008])
    corr = np.array(
        [
            [1.0, 0.5, 0.3, 0.1],
            [0.5, 1.0, 0.4, 0.2],
            [0.3, 0.4, 1.0, -0.1],
            [0.1, 0.2, -0.1, 1.0],
        ]
    )
    cov = corr * np.outer(vols, vols)
    assets = rng.multivariate_normal([3e-4, 5e-4, 8e-4, 1e-4], cov, size=n_days)
    return assets, np.array([0.4, 0.3, 0.5, -0.2])


def real_returns(name: str) -> np.ndarray:
    path, column = REAL_SERIES[name]
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared price data is not mounted here")
    with path.open(newline="") as fh:
        closes = np.array([float(row[column]) for row in csv.DictReader(fh)])
    return closes[1:] / closes[:-1] - 1.0


# ----------------------------------------------------------------------------- historical


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize(("seed", "n"), [(0, 2520), (1, 1001), (2, 37)])
def test_historical_var_and_cvar_match_empyrical_on_student_t(
    seed: int, n: int, confidence: float
) -> None:
    """Historical VaR and CVaR are minus empyrical's on a Student-t series."""
    r = student_t_returns(seed, n)
    cutoff = 1 - confidence
    assert pytest.approx(-empyrical.value_at_risk(r, cutoff=cutoff), rel=1e-12) == (
        historical_var(r, confidence=confidence)
    )
    assert pytest.approx(-empyrical.conditional_value_at_risk(r, cutoff=cutoff), rel=1e-12) == (
        historical_cvar(r, confidence=confidence)
    )


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize("name", sorted(REAL_SERIES))
def test_historical_var_and_cvar_match_empyrical_on_real_daily_returns(
    name: str, confidence: float
) -> None:
    """Historical VaR and CVaR are minus empyrical's on the real SPY and BTC daily returns."""
    r = real_returns(name)
    cutoff = 1 - confidence
    assert pytest.approx(-empyrical.value_at_risk(r, cutoff=cutoff), rel=1e-12) == (
        historical_var(r, confidence=confidence)
    )
    assert pytest.approx(-empyrical.conditional_value_at_risk(r, cutoff=cutoff), rel=1e-12) == (
        historical_cvar(r, confidence=confidence)
    )


@pytest.mark.parametrize("horizon", [2, 5, 10])
def test_historical_h_day_uses_overlapping_compounded_returns(horizon: int) -> None:
    """h-day historical VaR and CVaR are those of the overlapping compounded h-day returns."""
    r = student_t_returns(3, 500)
    naive = np.array([np.prod(1 + r[i : i + horizon]) - 1 for i in range(len(r) - horizon + 1)])
    np.testing.assert_allclose(overlapping_returns(r, horizon=horizon), naive, rtol=1e-12)
    assert pytest.approx(-np.percentile(naive, 1.0), rel=1e-12) == historical_var(
        r, confidence=0.99, horizon=horizon
    )
    assert pytest.approx(-empyrical.conditional_value_at_risk(naive, 0.01), rel=1e-12) == (
        historical_cvar(r, confidence=0.99, horizon=horizon)
    )


def test_historical_h_day_survives_a_total_loss_day() -> None:
    """A -100% day compounds to a -100% h-day return instead of breaking a log or ratio."""
    r = np.array([0.01, -1.0, 0.02, 0.03, -0.01])
    np.testing.assert_allclose(
        np.array([-1.0, -1.0, 0.0506, 0.0197]), overlapping_returns(r, horizon=2), rtol=1e-12
    )


# ----------------------------------------------------------------------------- parametric


@pytest.mark.parametrize("horizon", [1, 10])
@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_parametric_var_and_cvar_equal_the_closed_form(confidence: float, horizon: int) -> None:
    """Gaussian VaR is -(mu h + z sigma sqrt(h)) and CVaR -(mu h - sigma sqrt(h) phi(z)/(1-c))."""
    r = student_t_returns(4, 1000)
    mu, sigma = np.mean(r), np.std(r, ddof=1)
    z = stats.norm.ppf(1 - confidence)
    scale = sigma * math.sqrt(horizon)
    assert pytest.approx(-(mu * horizon + z * scale), rel=1e-12) == parametric_var(
        r, confidence=confidence, horizon=horizon
    )
    expected_cvar = -(mu * horizon - scale * stats.norm.pdf(z) / (1 - confidence))
    assert pytest.approx(expected_cvar, rel=1e-12) == parametric_cvar(
        r, confidence=confidence, horizon=horizon
    )


def test_parametric_h_day_scales_the_mean_by_h_and_sigma_by_sqrt_h() -> None:
    """The 10-day Gaussian VaR is -(10 mu + sqrt(10) z sigma) of the daily moments."""
    r = student_t_returns(5, 750)
    one_day_loss_part = parametric_var(r, confidence=0.99) + np.mean(r)  # = -z sigma
    expected = -10 * np.mean(r) + math.sqrt(10) * one_day_loss_part
    assert pytest.approx(expected, rel=1e-12) == parametric_var(r, confidence=0.99, horizon=10)


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_parametric_var_is_within_one_percent_of_the_true_gaussian_quantile(
    confidence: float,
) -> None:
    """On 200,000 Gaussian draws the Gaussian VaR is the true quantile loss within 1%."""
    mu, sigma = 0.0005, 0.012
    r = np.random.default_rng(11).normal(mu, sigma, 200_000)
    true_var = -stats.norm.ppf(1 - confidence, loc=mu, scale=sigma)
    assert pytest.approx(true_var, rel=0.01) == parametric_var(r, confidence=confidence)


# ------------------------------------------------------------------------- Cornish-Fisher


def gaussian_moment_series() -> np.ndarray:
    """Three-point Gauss-Hermite nodes (0 x4, +-sqrt 3): skewness 0, excess kurtosis 0."""
    nodes = np.array([0.0, 0.0, 0.0, 0.0, math.sqrt(3.0), -math.sqrt(3.0)])
    return 0.0004 + 0.011 * np.tile(nodes, 50)


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_cornish_fisher_equals_parametric_without_skew_or_excess_kurtosis(
    confidence: float,
) -> None:
    """With S = 0 and K = 0 the modified VaR and ES are the Gaussian ones."""
    r = gaussian_moment_series()
    assert abs(stats.skew(r, bias=True)) < 1e-12
    assert abs(stats.kurtosis(r, fisher=True, bias=True)) < 1e-12
    assert pytest.approx(parametric_var(r, confidence=confidence), rel=1e-12) == (
        cornish_fisher_var(r, confidence=confidence)
    )
    assert pytest.approx(parametric_cvar(r, confidence=confidence), rel=1e-12) == (
        cornish_fisher_cvar(r, confidence=confidence)
    )


def test_cornish_fisher_z_matches_a_hand_computation() -> None:
    """At 1% with S = -1 and K = 4: z = -2.3263479, z^2 = 5.4118944, z^3 = -12.5899491,
    so z_cf = z - 0.7353157 (skew) - 0.9351509 (kurtosis) + 0.3763377 (skew^2) = -3.6204768."""
    assert pytest.approx(-3.620476780725897, rel=1e-12) == cornish_fisher_z(
        0.01, skewness=-1.0, excess_kurtosis=4.0
    )


def test_cornish_fisher_var_follows_the_formula_with_scipy_moments() -> None:
    """Modified VaR is -(mu + z_cf sigma) with scipy's biased moments and std ddof=1."""
    r = student_t_returns(6, 1500) - 0.02 * (np.random.default_rng(6).random(1500) < 0.02)
    s = stats.skew(r, bias=True)
    k = stats.kurtosis(r, fisher=True, bias=True)
    z = Z99
    z_cf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
    expected = -(np.mean(r) * 5 + z_cf * np.std(r, ddof=1) * math.sqrt(5))
    assert pytest.approx(expected, rel=1e-12) == cornish_fisher_var(r, confidence=0.99, horizon=5)


def test_cornish_fisher_var_exceeds_parametric_on_left_skewed_fat_tails() -> None:
    """Crash days (negative skew, fat tails) make the 99% modified VaR exceed the Gaussian."""
    rng = np.random.default_rng(8)
    r = 0.008 * rng.standard_t(5, 2520) - 0.04 * (rng.random(2520) < 0.01)
    assert stats.skew(r) < -0.5
    assert stats.kurtosis(r) > 3
    assert cornish_fisher_var(r, confidence=0.99) > parametric_var(r, confidence=0.99)
    assert cornish_fisher_cvar(r, confidence=0.99) > parametric_cvar(r, confidence=0.99)


def test_cornish_fisher_cvar_is_the_edgeworth_tail_expectation() -> None:
    """Modified ES is -mu - sigma E[Z; Z < z_cf] / (1-c) under the Edgeworth density."""
    rng = np.random.default_rng(9)
    r = 0.01 * rng.standard_normal(2000) - 0.004 * rng.exponential(size=2000) + 0.004
    assert stats.skew(r) < -0.1
    s = stats.skew(r, bias=True)
    k = stats.kurtosis(r, fisher=True, bias=True)
    g = cornish_fisher_z(0.05, skewness=s, excess_kurtosis=k)

    def edgeworth(x: float) -> float:
        he3, he4, he6 = x**3 - 3 * x, x**4 - 6 * x**2 + 3, x**6 - 15 * x**4 + 45 * x**2 - 15
        return stats.norm.pdf(x) * (1 + s * he3 / 6 + k * he4 / 24 + s**2 * he6 / 72)

    partial_mean, _ = integrate.quad(lambda x: x * edgeworth(x), -np.inf, g, epsabs=1e-14)
    expected = -np.mean(r) - np.std(r, ddof=1) * partial_mean / 0.05
    assert expected > cornish_fisher_var(r, confidence=0.95)  # the floor does not bind
    assert pytest.approx(expected, rel=1e-9) == cornish_fisher_cvar(r, confidence=0.95)


def test_cornish_fisher_cvar_is_floored_at_the_modified_var() -> None:
    """With extreme kurtosis the Edgeworth ES turns negative: the ES is the modified VaR."""
    r = np.array([0.001, -0.001] * 495 + [0.05] * 5 + [-0.05] * 5)
    assert cornish_fisher_var(r, confidence=0.95) == cornish_fisher_cvar(r, confidence=0.95)


# ---------------------------------------------------------------------------- Monte Carlo


def test_monte_carlo_is_deterministic_for_a_seed() -> None:
    """Two runs with one seed give identical VaR and CVaR."""
    assets, w = gaussian_assets(500)
    first = monte_carlo_var(assets, w, confidence=0.99, seed=42)
    assert first == monte_carlo_var(assets, w, confidence=0.99, seed=42)


def test_monte_carlo_differs_between_seeds() -> None:
    """Different seeds draw different scenarios."""
    assets, w = gaussian_assets(500)
    assert monte_carlo_var(assets, w, confidence=0.99, seed=1) != monte_carlo_var(
        assets, w, confidence=0.99, seed=2
    )


@pytest.mark.parametrize("horizon", [1, 10])
@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_monte_carlo_converges_to_the_parametric_portfolio_var(
    confidence: float, horizon: int
) -> None:
    """With 200,000 simulations MC VaR and CVaR are the Gaussian ones of the portfolio within 2%."""
    assets, w = gaussian_assets(2000)
    portfolio = assets @ w
    result = monte_carlo_var(
        assets, w, confidence=confidence, horizon=horizon, simulations=200_000, seed=3
    )
    assert result is not None
    mc_var, mc_cvar = result
    assert (
        pytest.approx(parametric_var(portfolio, confidence=confidence, horizon=horizon), rel=0.02)
        == mc_var
    )
    assert (
        pytest.approx(parametric_cvar(portfolio, confidence=confidence, horizon=horizon), rel=0.02)
        == mc_cvar
    )


def test_monte_carlo_handles_a_singular_covariance() -> None:
    """A duplicated asset (singular covariance) is simulated through the eigen factor."""
    assets, w = gaussian_assets(1000)
    doubled = np.column_stack([assets, assets[:, 0]])
    weights = np.append(w, 0.1)
    result = monte_carlo_var(doubled, weights, confidence=0.99, simulations=200_000)
    assert result is not None
    expected = parametric_var(doubled @ weights, confidence=0.99)
    assert pytest.approx(expected, rel=0.02) == result[0]


# ---------------------------------------------------------------------------------- table


def test_var_table_agrees_with_each_function() -> None:
    """Every entry of the table is what the single-method function returns."""
    assets, w = gaussian_assets(600)
    r = assets @ w
    table = var_table(r, assets, w, horizon=3, seed=5)
    assert list(METHODS) == list(table)
    for c in CONFIDENCES:
        assert (
            historical_var(r, confidence=c, horizon=3),
            historical_cvar(r, confidence=c, horizon=3),
        ) == table["historical"][c]
        assert (
            parametric_var(r, confidence=c, horizon=3),
            parametric_cvar(r, confidence=c, horizon=3),
        ) == table["parametric"][c]
        assert (
            cornish_fisher_var(r, confidence=c, horizon=3),
            cornish_fisher_cvar(r, confidence=c, horizon=3),
        ) == table["cornish_fisher"][c]
        assert (
            monte_carlo_var(assets, w, confidence=c, horizon=3, seed=5) == table["monte_carlo"][c]
        )


def test_var_table_without_asset_data_leaves_only_monte_carlo_empty() -> None:
    """No asset returns: Monte Carlo is (None, None), the series methods still answer."""
    table = var_table(student_t_returns(1, 300), None, None)
    assert {0.95: (None, None), 0.99: (None, None)} == table["monte_carlo"]
    assert all(v is not None for c in CONFIDENCES for v in table["cornish_fisher"][c])


# -------------------------------------------------------------------------- contributions


def test_volatility_contributions_sum_to_the_portfolio_std() -> None:
    """Euler volatility contributions add up to std(assets @ w, ddof=1)."""
    assets, w = gaussian_assets(800)
    contributions = volatility_contributions(assets, w)
    assert contributions is not None
    assert pytest.approx(np.std(assets @ w, ddof=1), rel=1e-12) == contributions.sum()


@pytest.mark.parametrize("horizon", [1, 10])
def test_component_var_sums_to_the_parametric_var_of_the_portfolio(horizon: int) -> None:
    """Component VaR adds up to the Gaussian VaR of the weighted return series."""
    assets, w = gaussian_assets(800)
    components = var_contributions(assets, w, confidence=0.99, horizon=horizon)
    assert components is not None
    expected = parametric_var(assets @ w, confidence=0.99, horizon=horizon)
    assert pytest.approx(expected, rel=1e-12) == components.sum()


def test_return_contributions_sum_to_the_portfolio_mean() -> None:
    """w_i mean_i adds up to the mean portfolio return."""
    assets, w = gaussian_assets(800)
    contributions = return_contributions(assets, w)
    assert contributions is not None
    assert pytest.approx(np.mean(assets @ w), rel=1e-12) == contributions.sum()


def test_correlation_matrix_is_pearson() -> None:
    """The correlation matrix is numpy's corrcoef of the columns, with an exact diagonal."""
    assets, _ = gaussian_assets(800)
    corr = correlation_matrix(assets)
    np.testing.assert_allclose(corr, np.corrcoef(assets, rowvar=False), rtol=1e-12, atol=1e-15)
    assert [1.0] * 4 == list(np.diag(corr))


def test_correlation_matrix_marks_a_constant_column_nan() -> None:
    """A zero-variance column has a NaN row and column; the other pairs are unaffected."""
    assets, _ = gaussian_assets(300)
    assets[:, 2] = 0.001
    corr = correlation_matrix(assets)
    assert np.isnan(corr[2]).all()
    assert np.isnan(corr[:, 2]).all()
    assert pytest.approx(np.corrcoef(assets[:, 0], assets[:, 1])[0, 1], rel=1e-12) == corr[0, 1]


# ------------------------------------------------------------------------------ bad input

SERIES_FUNCTIONS = [
    historical_var,
    historical_cvar,
    parametric_var,
    parametric_cvar,
    cornish_fisher_var,
    cornish_fisher_cvar,
]


@pytest.mark.parametrize("function", SERIES_FUNCTIONS)
@pytest.mark.parametrize("returns", [[], [0.01], [0.01, float("nan"), 0.02]])
def test_too_few_or_non_finite_returns_give_none(
    function: Callable[..., float | None], returns: list[float]
) -> None:
    """Fewer than 2 returns or a NaN give None, not 0, NaN or an exception."""
    assert function(np.array(returns), confidence=0.99) is None


@pytest.mark.parametrize(
    "function", [parametric_var, parametric_cvar, cornish_fisher_var, cornish_fisher_cvar]
)
def test_zero_variance_gives_none_for_distribution_methods(
    function: Callable[..., float | None],
) -> None:
    """A constant series has no Gaussian or Cornish-Fisher VaR."""
    assert function(np.full(100, 0.001), confidence=0.95) is None


def test_historical_h_day_needs_two_h_day_returns() -> None:
    """Five daily returns make one 5-day return: too few for a distribution."""
    assert historical_var(np.full(5, 0.01), confidence=0.95, horizon=5) is None


def test_empty_weights_or_missing_assets_give_none() -> None:
    """Monte Carlo and the contributions need assets and weights."""
    empty_assets, empty_weights = np.empty((100, 0)), np.empty(0)
    assert monte_carlo_var(empty_assets, empty_weights, confidence=0.99) is None
    assert monte_carlo_var(None, None, confidence=0.99) is None
    assert volatility_contributions(empty_assets, empty_weights) is None
    assert var_contributions(empty_assets, empty_weights, confidence=0.99) is None
    assert return_contributions(empty_assets, empty_weights) is None


def test_single_day_or_constant_assets_give_none() -> None:
    """One day of asset returns, or assets that never move, give no risk figures."""
    one_day, w = np.array([[0.01, 0.02]]), np.array([0.5, 0.5])
    flat = np.full((50, 2), 0.001)
    for assets in (one_day, flat):
        assert monte_carlo_var(assets, w, confidence=0.99) is None
        assert volatility_contributions(assets, w) is None
        assert var_contributions(assets, w, confidence=0.99) is None


def test_var_table_of_a_single_return_is_all_none() -> None:
    """One return and one asset day: every method reports (None, None)."""
    table = var_table(np.array([0.01]), np.array([[0.01]]), np.array([1.0]))
    assert {m: dict.fromkeys(CONFIDENCES, (None, None)) for m in METHODS} == table


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_confidence_outside_the_unit_interval_is_a_caller_error(confidence: float) -> None:
    """A confidence given in percent (or 0, 1) raises ValueError rather than a silent None."""
    with pytest.raises(ValueError, match="confidence"):
        historical_var(student_t_returns(0, 100), confidence=confidence)
