"""Optimized allocations equal direct PyPortfolioOpt calls on the same inputs."""

from __future__ import annotations

import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models

from quantdesk.analytics.optimize import (
    CUTOFF,
    OBJECTIVES,
    efficient_frontier,
    optimize,
    prepare_inputs,
)
from quantdesk.domain.errors import InvalidInput

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
CLASSES = {"AAA": "equity", "BBB": "equity", "CCC": "equity", "DDD": "bond", "EEE": "bond"}
RF = 0.02
TARGET_RETURN = 0.10
TARGET_VOL = 0.15
PRICES_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "prices"


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(20240508)
    vols = np.array([0.012, 0.015, 0.010, 0.005, 0.004])
    drift = np.array([6e-4, 8e-4, 4e-4, 2e-4, 1.5e-4])
    corr = np.full((5, 5), 0.3) + 0.7 * np.eye(5)
    cov = np.outer(vols, vols) * corr
    rets = rng.multivariate_normal(drift, cov, size=500)
    dates = pd.bdate_range("2022-01-03", periods=500)
    return pd.DataFrame(100 * np.cumprod(1 + rets, axis=0), index=dates, columns=SYMBOLS)


def _clean(weights: dict[str, float]) -> dict[str, float]:
    kept = {k: (v if abs(v) >= CUTOFF else 0.0) for k, v in weights.items()}
    total = sum(kept.values())
    return {k: v / total for k, v in kept.items()}


def _direct(prices: pd.DataFrame, objective: str, covariance: str = "sample") -> dict[str, float]:
    """The same allocation written directly against PyPortfolioOpt."""
    mu = expected_returns.mean_historical_return(prices, frequency=252)
    if covariance == "sample":
        cov = risk_models.sample_cov(prices, frequency=252)
    else:
        cov = risk_models.CovarianceShrinkage(prices, frequency=252).ledoit_wolf()
    if objective == "hrp":
        return _clean(dict(HRPOpt(cov_matrix=cov).optimize()))
    if objective == "risk_parity":
        n = len(mu)
        ef = EfficientFrontier(mu, cov, weight_bounds=[(0.0, None)] * n)
        y = ef.convex_objective(
            lambda w: (
                0.5 * cp.quad_form(w, cov.to_numpy(), assume_PSD=True) - cp.sum(cp.log(w)) / n
            ),
            weights_sum_to_one=False,
        )
        total = sum(y.values())
        return _clean({k: v / total for k, v in y.items()})
    ef = EfficientFrontier(mu, cov, weight_bounds=(0, 1))
    if objective == "max_sharpe":
        ef.max_sharpe(risk_free_rate=RF)
    elif objective == "min_volatility":
        ef.min_volatility()
    elif objective == "efficient_return":
        ef.efficient_return(TARGET_RETURN)
    else:
        ef.efficient_risk(TARGET_VOL)
    return _clean(dict(ef.clean_weights(cutoff=CUTOFF, rounding=None)))


def _run(prices: pd.DataFrame, objective: str, **kwargs: object):  # type: ignore[no-untyped-def]
    return optimize(
        prices,
        objective=objective,  # type: ignore[arg-type]
        risk_free=RF,
        target_return=TARGET_RETURN,
        target_volatility=TARGET_VOL,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("covariance", ["sample", "ledoit_wolf"])
def test_weights_equal_direct_pypfopt_call(
    prices: pd.DataFrame, objective: str, covariance: str
) -> None:
    got = _run(prices, objective, covariance=covariance)
    want = _direct(prices, objective, covariance)
    assert list(got.weights) == SYMBOLS
    assert sum(got.weights.values()) == pytest.approx(1.0, abs=1e-12)
    for s in SYMBOLS:
        assert got.weights[s] == pytest.approx(want[s], abs=1e-6), s


def test_performance_matches_library(prices: pd.DataFrame) -> None:
    got = _run(prices, "max_sharpe")
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.sample_cov(prices)
    ef = EfficientFrontier(mu, cov)
    ef.max_sharpe(risk_free_rate=RF)
    ret, vol, sharpe = ef.portfolio_performance(risk_free_rate=RF)
    assert got.expected_return == pytest.approx(ret, abs=1e-5)
    assert got.volatility == pytest.approx(vol, abs=1e-5)
    assert got.sharpe == pytest.approx(sharpe, abs=1e-4)
    assert got.sharpe == pytest.approx((got.expected_return - RF) / got.volatility, rel=1e-12)


def test_targets_are_met(prices: pd.DataFrame) -> None:
    assert _run(prices, "efficient_return").expected_return >= TARGET_RETURN - 1e-6
    assert _run(prices, "efficient_risk").volatility <= TARGET_VOL + 1e-6


def test_risk_parity_has_equal_risk_contributions(prices: pd.DataFrame) -> None:
    got = _run(prices, "risk_parity")
    cov = risk_models.sample_cov(prices).to_numpy()
    w = np.array([got.weights[s] for s in SYMBOLS])
    contrib = w * (cov @ w)
    np.testing.assert_allclose(contrib / contrib.sum(), 0.2, atol=1e-4)


def test_returns_input_equals_prices_input(prices: pd.DataFrame) -> None:
    rets = prices.pct_change().dropna()
    a = _run(prices, "min_volatility")
    b = _run(rets, "min_volatility", returns_data=True)
    for s in SYMBOLS:
        assert a.weights[s] == pytest.approx(b.weights[s], abs=1e-6)


def test_ledoit_wolf_and_sample_both_work_and_differ(prices: pd.DataFrame) -> None:
    sample = prepare_inputs(prices, covariance="sample").cov
    shrunk = prepare_inputs(prices, covariance="ledoit_wolf").cov
    assert not np.allclose(sample.to_numpy(), shrunk.to_numpy(), atol=1e-8)
    a = _run(prices, "min_volatility", covariance="sample")
    b = _run(prices, "min_volatility", covariance="ledoit_wolf")
    assert max(abs(a.weights[s] - b.weights[s]) for s in SYMBOLS) > 1e-4
    assert a.volatility != pytest.approx(b.volatility, abs=1e-9)


@pytest.mark.parametrize("objective", ["max_sharpe", "min_volatility", "efficient_return"])
def test_weight_and_class_bounds_are_respected(prices: pd.DataFrame, objective: str) -> None:
    bounds = (0.05, 0.35)
    class_bounds = {"equity": (0.5, 0.6), "bond": (0.3, 0.5)}
    got = optimize(
        prices,
        objective=objective,  # type: ignore[arg-type]
        risk_free=RF,
        target_return=0.07,  # the bounded maximum is about 0.082
        weight_bounds=bounds,
        asset_classes=CLASSES,
        class_bounds=class_bounds,
    )
    tol = 1e-5  # the solver's tolerance: max_sharpe rescales its variable by k
    for s, w in got.weights.items():
        assert bounds[0] - tol <= w <= bounds[1] + tol, (s, w)
    for cls, (lo, hi) in class_bounds.items():
        total = sum(w for s, w in got.weights.items() if CLASSES[s] == cls)
        assert lo - tol <= total <= hi + tol, (cls, total)
    assert sum(got.weights.values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight_bounds": (0.0, 0.1)}, r"max weight 0\.1 is infeasible"),
        ({"weight_bounds": (0.25, 1.0)}, r"min weight 0\.25 is infeasible"),
        ({"weight_bounds": (0.3, 0.2)}, r"min weight 0\.3 is above max weight"),
        ({"weight_bounds": (-0.1, 1.0)}, r"min weight -0\.1 is negative"),
        (
            {
                "asset_classes": CLASSES,
                "class_bounds": {"bond": (0.5, 1.0)},
                "weight_bounds": (0, 0.2),
            },
            r"class 'bond' minimum 0\.5 cannot be met",
        ),
        (
            {"asset_classes": CLASSES, "class_bounds": {"bond": (0.6, 1.0), "equity": (0.5, 1.0)}},
            r"class minimums cannot be met",
        ),
        (
            {"asset_classes": CLASSES, "class_bounds": {"bond": (0.0, 0.2), "equity": (0.0, 0.7)}},
            r"class maximums cannot be met",
        ),
        (
            {"asset_classes": {"AAA": "equity"}, "class_bounds": {"equity": (0.0, 0.5)}},
            r"asset_classes has no class for: BBB",
        ),
        (
            {"asset_classes": CLASSES, "class_bounds": {"cash": (0.1, 0.5)}},
            r"classes with no symbol: cash",
        ),
        (
            {"objective": "efficient_return", "target_return": 5.0},
            r"target_return 5\.0000 is above",
        ),
        (
            {"objective": "efficient_risk", "target_volatility": 0.001},
            r"target_volatility 0\.0010 is below the minimum volatility",
        ),
        ({"objective": "max_sharpe", "risk_free": 5.0}, r"exceeds the risk-free rate"),
        (
            {"objective": "hrp", "weight_bounds": (0.0, 0.5)},
            r"hrp sets its own weights: weight bounds",
        ),
        (
            {
                "objective": "risk_parity",
                "asset_classes": CLASSES,
                "class_bounds": {"bond": (0, 1)},
            },
            r"risk_parity sets its own weights",
        ),
        ({"objective": "efficient_return"}, r"needs a finite target_return"),
    ],
)
def test_infeasible_constraints_raise_invalid_input_naming_them(
    prices: pd.DataFrame, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        optimize(prices, **kwargs)  # type: ignore[arg-type]


def test_target_return_above_max_under_class_bounds(prices: pd.DataFrame) -> None:
    # Reachable without the class cap, not with it: the check uses the bounded maximum.
    unbounded_max = float(expected_returns.mean_historical_return(prices).max())
    with pytest.raises(InvalidInput, match=r"reachable under the weight and class bounds"):
        optimize(
            prices,
            objective="efficient_return",
            target_return=unbounded_max - 1e-3,
            asset_classes=CLASSES,
            class_bounds={"equity": (0.0, 0.5)},
        )


def test_bad_data_is_invalid_input(prices: pd.DataFrame) -> None:
    gappy = prices.copy()
    gappy.iloc[3, 1] = np.nan
    with pytest.raises(InvalidInput, match="missing"):
        optimize(gappy)
    with pytest.raises(InvalidInput, match="at least 2 symbols"):
        optimize(prices[["AAA"]])


def test_frontier_sorted_and_starts_at_min_volatility(prices: pd.DataFrame) -> None:
    points = efficient_frontier(prices, points=12)
    assert len(points) == 12
    vols = [p.volatility for p in points]
    rets = [p.expected_return for p in points]
    assert vols == sorted(vols)
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(rets))
    min_vol = _run(prices, "min_volatility")
    assert points[0].volatility == pytest.approx(min_vol.volatility, abs=1e-12)
    for s in SYMBOLS:
        assert points[0].weights[s] == pytest.approx(min_vol.weights[s], abs=1e-9)
    top = float(expected_returns.mean_historical_return(prices).max())
    assert points[-1].expected_return == pytest.approx(top, abs=1e-5)


def test_frontier_with_bounds(prices: pd.DataFrame) -> None:
    points = efficient_frontier(
        prices,
        points=6,
        weight_bounds=(0.0, 0.4),
        asset_classes=CLASSES,
        class_bounds={"bond": (0.2, 0.6)},
    )
    assert [p.volatility for p in points] == sorted(p.volatility for p in points)
    for p in points:
        assert max(p.weights.values()) <= 0.4 + 1e-6
        assert 0.2 - 1e-6 <= p.weights["DDD"] + p.weights["EEE"] <= 0.6 + 1e-6


def _etf_closes(symbols: list[str]) -> pd.DataFrame:
    frames = []
    for s in symbols:
        df = pd.read_csv(PRICES_DIR / "etfs" / f"{s}.csv", usecols=["Date", "Close"])
        df["Date"] = pd.to_datetime(df["Date"].astype(str).str[:10])
        frames.append(df.set_index("Date")["Close"].rename(s))
    closes = pd.concat(frames, axis=1, join="inner").sort_index()
    return closes.loc["2015-01-01":"2024-12-31"]


@pytest.mark.skipif(not (PRICES_DIR / "etfs").is_dir(), reason="shared real prices absent")
def test_real_etfs_max_sharpe_and_hrp_match_library() -> None:
    symbols = ["SPY", "TLT", "GLD", "EFA", "VNQ"]
    closes = _etf_closes(symbols)
    assert len(closes) > 2000
    for objective in ("max_sharpe", "min_volatility", "hrp", "risk_parity"):
        got = _run(closes, objective, covariance="ledoit_wolf")
        want = _direct(closes, objective, "ledoit_wolf")
        for s in symbols:
            assert got.weights[s] == pytest.approx(want[s], abs=1e-6), (objective, s)
        assert 0 < got.volatility < 0.3
