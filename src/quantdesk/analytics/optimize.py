"""Optimized allocations through PyPortfolioOpt (issue 8): no solver is written here.

Inputs are a DataFrame of daily closes (columns = symbols) or, with ``returns_data=True``,
of daily simple returns, with no missing values (the caller aligns the series first).

- Expected returns: ``pypfopt.expected_returns.mean_historical_return`` (compounded,
  annualized with ``frequency``, 252 by default).
- Covariance: ``pypfopt.risk_models.sample_cov`` or ``CovarianceShrinkage(...).ledoit_wolf()``
  (annualized the same way).
- Objectives: ``max_sharpe``, ``min_volatility``, ``efficient_return`` (``target_return``,
  annual), ``efficient_risk`` (``target_volatility``, annual) on ``EfficientFrontier`` with
  long-only per-asset ``weight_bounds`` and asset-class bounds (``add_sector_constraints``);
  ``hrp`` is ``HRPOpt`` on the chosen covariance; ``risk_parity`` (equal risk contribution;
  PyPortfolioOpt has no direct call) is ``EfficientFrontier.convex_objective`` with Spinu's
  convex form ``min 1/2 y'Σy - 1/n Σ log y_i`` over ``y >= 0`` without the sum-to-one
  constraint, then ``w = y / Σ y``. ``hrp`` and ``risk_parity`` define their own weights,
  so they refuse weight bounds and class bounds rather than ignore them.
- Weights are cleaned (below 1e-4 set to 0, as ``clean_weights`` does, unrounded) and
  rescaled to sum to 1; return, volatility and Sharpe come from
  ``pypfopt.base_optimizer.portfolio_performance`` of those weights, so they describe the
  weights returned.

Constraints that cannot be met raise ``InvalidInput`` naming the constraint: the obvious
ones are checked before solving, and the library's ``OptimizationError`` / ``ValueError``
are translated. Warnings from the library are not silenced: a warning the library raises
reports a problem with the input that the checks here should have caught.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import cvxpy
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
from pypfopt.base_optimizer import portfolio_performance
from pypfopt.exceptions import OptimizationError

from quantdesk.domain.errors import InvalidInput

#: cvxpy's partial annotations miss its atoms (quad_form, sum, log): used untyped.
cp: Any = cvxpy

__all__ = [
    "Allocation",
    "FrontierPoint",
    "OptimizeInputs",
    "efficient_frontier",
    "frontier_of",
    "optimize",
    "optimize_inputs",
    "performance",
    "prepare_inputs",
]

Objective = Literal[
    "max_sharpe", "min_volatility", "efficient_return", "efficient_risk", "hrp", "risk_parity"
]
Covariance = Literal["sample", "ledoit_wolf"]
OBJECTIVES: tuple[str, ...] = (
    "max_sharpe",
    "min_volatility",
    "efficient_return",
    "efficient_risk",
    "hrp",
    "risk_parity",
)
#: Weights below this are set to 0 (PyPortfolioOpt's ``clean_weights`` default).
CUTOFF = 1e-4
#: Slack for floating-point comparisons of bounds and targets.
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Allocation:
    """Optimized weights (symbol -> fraction, summing to 1) and their annual performance."""

    objective: str
    weights: dict[str, float]
    expected_return: float
    volatility: float
    sharpe: float


@dataclass(frozen=True, slots=True)
class FrontierPoint:
    """One efficient portfolio: annual expected return and volatility, and its weights."""

    expected_return: float
    volatility: float
    weights: dict[str, float]


@dataclass(frozen=True, slots=True)
class OptimizeInputs:
    """Annual expected returns and covariance, as PyPortfolioOpt computed them."""

    mu: pd.Series
    cov: pd.DataFrame


def prepare_inputs(
    data: pd.DataFrame,
    *,
    returns_data: bool = False,
    covariance: Covariance = "sample",
    frequency: int = 252,
) -> OptimizeInputs:
    """Mean historical return and the chosen covariance of ``data`` (closes or returns)."""
    _check_data(data, returns_data=returns_data)
    mu = expected_returns.mean_historical_return(
        data, returns_data=returns_data, compounding=True, frequency=frequency
    )
    if covariance == "sample":
        cov = risk_models.sample_cov(data, returns_data=returns_data, frequency=frequency)
    elif covariance == "ledoit_wolf":
        shrink = risk_models.CovarianceShrinkage(
            data, returns_data=returns_data, frequency=frequency
        )
        cov = shrink.ledoit_wolf()
    else:
        raise InvalidInput(f"covariance must be 'sample' or 'ledoit_wolf', not {covariance!r}")
    return OptimizeInputs(mu=cast("pd.Series", mu), cov=cast("pd.DataFrame", cov))


def optimize(
    data: pd.DataFrame,
    *,
    objective: Objective = "max_sharpe",
    returns_data: bool = False,
    covariance: Covariance = "sample",
    risk_free: float = 0.0,
    weight_bounds: tuple[float, float] = (0.0, 1.0),
    asset_classes: Mapping[str, str] | None = None,
    class_bounds: Mapping[str, tuple[float, float]] | None = None,
    target_return: float | None = None,
    target_volatility: float | None = None,
    frequency: int = 252,
) -> Allocation:
    """Optimize the allocation of ``data``'s symbols for ``objective``.

    ``weight_bounds`` is (min, max) per asset, long only; ``asset_classes`` maps every
    symbol to a class and ``class_bounds`` a class to (min, max) of its total weight;
    ``risk_free`` is the annual rate for the Sharpe ratio. Raises InvalidInput naming the
    constraint that cannot be met.
    """
    if objective not in OBJECTIVES:
        raise InvalidInput(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    inputs = prepare_inputs(
        data, returns_data=returns_data, covariance=covariance, frequency=frequency
    )
    return optimize_inputs(
        inputs,
        objective=objective,
        risk_free=risk_free,
        weight_bounds=weight_bounds,
        asset_classes=asset_classes,
        class_bounds=class_bounds,
        target_return=target_return,
        target_volatility=target_volatility,
    )


def optimize_inputs(
    inputs: OptimizeInputs,
    *,
    objective: Objective = "max_sharpe",
    risk_free: float = 0.0,
    weight_bounds: tuple[float, float] = (0.0, 1.0),
    asset_classes: Mapping[str, str] | None = None,
    class_bounds: Mapping[str, tuple[float, float]] | None = None,
    target_return: float | None = None,
    target_volatility: float | None = None,
) -> Allocation:
    """``optimize`` on expected returns and covariance already computed."""
    symbols = [str(s) for s in inputs.mu.index]
    constrained = weight_bounds != (0.0, 1.0) or bool(class_bounds)
    _check_bounds(symbols, weight_bounds, asset_classes, class_bounds)

    if objective in ("hrp", "risk_parity"):
        if constrained:
            raise InvalidInput(
                f"objective {objective} sets its own weights: weight bounds and asset-class "
                "bounds are not supported with it"
            )
        raw = _hrp(inputs) if objective == "hrp" else _risk_parity(inputs)
    elif objective == "max_sharpe":
        if float(inputs.mu.max()) <= risk_free:
            raise InvalidInput(
                f"max_sharpe: no asset's expected return ({float(inputs.mu.max()):.4f}) "
                f"exceeds the risk-free rate {risk_free:.4f}"
            )
        raw = _solve(
            inputs,
            weight_bounds,
            asset_classes,
            class_bounds,
            lambda ef: ef.max_sharpe(risk_free_rate=risk_free),
            "max_sharpe",
        )
    elif objective == "min_volatility":
        raw = _solve(
            inputs,
            weight_bounds,
            asset_classes,
            class_bounds,
            lambda ef: ef.min_volatility(),
            "min_volatility",
        )
    elif objective == "efficient_return":
        if target_return is None or not math.isfinite(target_return):
            raise InvalidInput("efficient_return needs a finite target_return (annual)")
        top = performance(
            _max_return_weights(inputs, weight_bounds, asset_classes, class_bounds), inputs, 0.0
        )[0]
        if target_return > top + _EPS:
            raise InvalidInput(
                f"target_return {target_return:.4f} is above the maximum expected return "
                f"{top:.4f} reachable under the weight and class bounds"
            )
        target = float(min(target_return, top))
        raw = _solve(
            inputs,
            weight_bounds,
            asset_classes,
            class_bounds,
            lambda ef: ef.efficient_return(target),
            f"efficient_return (target_return {target_return:.4f})",
        )
    else:  # efficient_risk
        if target_volatility is None or not math.isfinite(target_volatility):
            raise InvalidInput("efficient_risk needs a finite target_volatility (annual)")
        floor = performance(
            _min_volatility_weights(inputs, weight_bounds, asset_classes, class_bounds),
            inputs,
            0.0,
        )[1]
        if target_volatility < floor - _EPS:
            raise InvalidInput(
                f"target_volatility {target_volatility:.4f} is below the minimum volatility "
                f"{floor:.4f} reachable under the weight and class bounds"
            )
        vol = float(target_volatility)
        raw = _solve(
            inputs,
            weight_bounds,
            asset_classes,
            class_bounds,
            lambda ef: ef.efficient_risk(vol),
            f"efficient_risk (target_volatility {target_volatility:.4f})",
        )
    weights = clean(raw)
    ret, vol_, sharpe = performance(weights, inputs, risk_free)
    return Allocation(
        objective=objective, weights=weights, expected_return=ret, volatility=vol_, sharpe=sharpe
    )


def efficient_frontier(
    data: pd.DataFrame,
    *,
    points: int = 20,
    returns_data: bool = False,
    covariance: Covariance = "sample",
    weight_bounds: tuple[float, float] = (0.0, 1.0),
    asset_classes: Mapping[str, str] | None = None,
    class_bounds: Mapping[str, tuple[float, float]] | None = None,
    frequency: int = 252,
) -> list[FrontierPoint]:
    """``points`` efficient portfolios of ``data`` (see :func:`frontier_of`)."""
    inputs = prepare_inputs(
        data, returns_data=returns_data, covariance=covariance, frequency=frequency
    )
    return frontier_of(
        inputs,
        points=points,
        weight_bounds=weight_bounds,
        asset_classes=asset_classes,
        class_bounds=class_bounds,
    )


def frontier_of(
    inputs: OptimizeInputs,
    *,
    points: int = 20,
    weight_bounds: tuple[float, float] = (0.0, 1.0),
    asset_classes: Mapping[str, str] | None = None,
    class_bounds: Mapping[str, tuple[float, float]] | None = None,
) -> list[FrontierPoint]:
    """``points`` efficient portfolios, sorted by volatility, from the minimum-volatility
    portfolio to the maximum-return one under the same bounds (``efficient_return`` at
    evenly spaced target returns between the two), on inputs already prepared."""
    if points < 2:
        raise InvalidInput(f"points must be at least 2, not {points}")
    symbols = [str(s) for s in inputs.mu.index]
    _check_bounds(symbols, weight_bounds, asset_classes, class_bounds)
    low = clean(_min_volatility_weights(inputs, weight_bounds, asset_classes, class_bounds))
    high = clean(_max_return_weights(inputs, weight_bounds, asset_classes, class_bounds))
    r_low = performance(low, inputs, 0.0)[0]
    r_high = performance(high, inputs, 0.0)[0]
    found = [low]
    if r_high > r_low + 1e-7:
        for target in np.linspace(r_low, r_high, points)[1:-1]:
            t = float(target)
            found.append(
                clean(
                    _solve(
                        inputs,
                        weight_bounds,
                        asset_classes,
                        class_bounds,
                        _at_return(t),
                        f"efficient_return (target_return {t:.4f})",
                    )
                )
            )
        found.append(high)
    else:  # one portfolio is both: the frontier is a single point
        found = [low] * points
    out = []
    for w in found:
        ret, vol, _ = performance(w, inputs, 0.0)
        out.append(FrontierPoint(expected_return=ret, volatility=vol, weights=w))
    out.sort(key=lambda p: (p.volatility, p.expected_return))
    return out


def _at_return(target: float) -> Callable[[Any], Any]:
    def call(ef: Any) -> Any:
        return ef.efficient_return(target)

    return call


def clean(raw: Mapping[str, float]) -> dict[str, float]:
    """Weights below ``CUTOFF`` set to 0 (unrounded), rescaled to sum to 1."""
    kept = {str(k): (float(v) if abs(float(v)) >= CUTOFF else 0.0) for k, v in raw.items()}
    total = sum(kept.values())
    if total <= 0:
        raise InvalidInput("the optimizer returned no positive weight")
    return {k: v / total for k, v in kept.items()}


# --- checks ---------------------------------------------------------------------------


def _check_data(data: pd.DataFrame, *, returns_data: bool) -> None:
    if not isinstance(data, pd.DataFrame):
        raise InvalidInput("data must be a pandas DataFrame with one column per symbol")
    if data.shape[1] < 2:
        raise InvalidInput("at least 2 symbols are needed to optimize an allocation")
    if data.shape[0] < (2 if returns_data else 3):
        raise InvalidInput("too few rows to estimate returns and covariance")
    if data.columns.duplicated().any():
        raise InvalidInput("symbols (columns) must be unique")
    values = data.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise InvalidInput("data has missing or infinite values: align the series first")
    if returns_data:
        if (values <= -1).any():
            raise InvalidInput("returns must be above -1 (-100%)")
    elif (values <= 0).any():
        raise InvalidInput("closes must be positive")


def _check_bounds(
    symbols: list[str],
    weight_bounds: tuple[float, float],
    asset_classes: Mapping[str, str] | None,
    class_bounds: Mapping[str, tuple[float, float]] | None,
) -> None:
    n = len(symbols)
    lo, hi = weight_bounds
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidInput("weight bounds must be finite numbers")
    if lo < 0:
        raise InvalidInput(f"min weight {lo} is negative: only long-only bounds are supported")
    if hi > 1:
        raise InvalidInput(f"max weight {hi} is above 1")
    if lo > hi:
        raise InvalidInput(f"min weight {lo} is above max weight {hi}")
    if n * hi < 1 - _EPS:
        raise InvalidInput(
            f"max weight {hi} is infeasible: {n} assets at most {hi} each sum to {n * hi:.4g} < 1"
        )
    if n * lo > 1 + _EPS:
        raise InvalidInput(
            f"min weight {lo} is infeasible: {n} assets at least {lo} each sum to {n * lo:.4g} > 1"
        )
    if not class_bounds:
        if asset_classes is not None:
            _check_classes_cover(symbols, asset_classes)
        return
    if asset_classes is None:
        raise InvalidInput("class bounds need asset_classes (a class for every symbol)")
    _check_classes_cover(symbols, asset_classes)
    members: dict[str, int] = {}
    for s in symbols:
        members[asset_classes[s]] = members.get(asset_classes[s], 0) + 1
    unknown = sorted(set(class_bounds) - set(members))
    if unknown:
        raise InvalidInput(f"class bounds name classes with no symbol: {', '.join(unknown)}")
    low_sum = 0.0
    high_sum = 0.0
    for cls, count in members.items():
        c_lo, c_hi = class_bounds.get(cls, (0.0, 1.0))
        if not (0 <= c_lo <= c_hi <= 1):
            raise InvalidInput(
                f"class {cls!r} bounds ({c_lo}, {c_hi}) must satisfy 0 <= min <= max <= 1"
            )
        if c_lo > count * hi + _EPS:
            raise InvalidInput(
                f"class {cls!r} minimum {c_lo} cannot be met: its {count} asset(s) at max "
                f"weight {hi} reach {count * hi:.4g}"
            )
        if c_hi < count * lo - _EPS:
            raise InvalidInput(
                f"class {cls!r} maximum {c_hi} cannot be met: its {count} asset(s) at min "
                f"weight {lo} already reach {count * lo:.4g}"
            )
        low_sum += max(c_lo, count * lo)
        high_sum += min(c_hi, count * hi)
    if low_sum > 1 + _EPS:
        raise InvalidInput(f"class minimums cannot be met: together they need {low_sum:.4g} > 1")
    if high_sum < 1 - _EPS:
        raise InvalidInput(
            f"class maximums cannot be met: together they allow only {high_sum:.4g} < 1"
        )


def _check_classes_cover(symbols: list[str], asset_classes: Mapping[str, str]) -> None:
    missing = [s for s in symbols if s not in asset_classes]
    if missing:
        raise InvalidInput(f"asset_classes has no class for: {', '.join(missing)}")


# --- PyPortfolioOpt, wrapped ------------------------------------------------------------


def _frontier(
    inputs: OptimizeInputs,
    weight_bounds: tuple[float, float],
    asset_classes: Mapping[str, str] | None,
    class_bounds: Mapping[str, tuple[float, float]] | None,
) -> Any:
    ef = EfficientFrontier(inputs.mu, inputs.cov, weight_bounds=weight_bounds)
    if class_bounds and asset_classes is not None:
        ef.add_sector_constraints(
            dict(asset_classes),
            {c: lo for c, (lo, _) in class_bounds.items()},
            {c: hi for c, (_, hi) in class_bounds.items()},
        )
    return ef


def _solve(
    inputs: OptimizeInputs,
    weight_bounds: tuple[float, float],
    asset_classes: Mapping[str, str] | None,
    class_bounds: Mapping[str, tuple[float, float]] | None,
    call: Callable[[Any], Any],
    what: str,
) -> dict[str, float]:
    ef = _frontier(inputs, weight_bounds, asset_classes, class_bounds)
    try:
        result = call(ef)
    except (OptimizationError, ValueError) as exc:
        raise InvalidInput(
            f"{what} has no solution under the weight and class bounds "
            f"(weight bounds {weight_bounds}, class bounds {dict(class_bounds or {})}): {exc}"
        ) from exc
    if result is None or getattr(ef, "weights", None) is None:
        raise InvalidInput(f"{what}: the optimizer returned no weights")
    return {str(k): float(v) for k, v in zip(ef.tickers, ef.weights, strict=True)}


def _max_return_weights(
    inputs: OptimizeInputs,
    weight_bounds: tuple[float, float],
    asset_classes: Mapping[str, str] | None,
    class_bounds: Mapping[str, tuple[float, float]] | None,
) -> dict[str, float]:
    """The maximum-return portfolio under the bounds (the frontier's top end)."""
    return _solve(
        inputs,
        weight_bounds,
        asset_classes,
        class_bounds,
        lambda ef: ef._max_return(return_value=False),
        "maximum return",
    )


def _min_volatility_weights(
    inputs: OptimizeInputs,
    weight_bounds: tuple[float, float],
    asset_classes: Mapping[str, str] | None,
    class_bounds: Mapping[str, tuple[float, float]] | None,
) -> dict[str, float]:
    """The minimum-volatility portfolio under the bounds (the frontier's bottom end)."""
    return _solve(
        inputs,
        weight_bounds,
        asset_classes,
        class_bounds,
        lambda ef: ef.min_volatility(),
        "min_volatility",
    )


def _hrp(inputs: OptimizeInputs) -> dict[str, float]:
    # Given only the covariance, HRPOpt clusters on its correlation and allocates by its
    # variances, so the sample / Ledoit-Wolf choice applies to HRP too.
    hrp = HRPOpt(cov_matrix=inputs.cov)
    weights = hrp.optimize()
    return {str(k): float(v) for k, v in weights.items()}


def _spinu(w: Any, cov_matrix: Any, n: int) -> Any:
    """Spinu (2013): the minimizer y of this, rescaled to sum to 1, has equal risk
    contributions ``w_i (Σw)_i``."""
    return 0.5 * cp.quad_form(w, cov_matrix, assume_PSD=True) - cp.sum(cp.log(w)) / n


def _risk_parity(inputs: OptimizeInputs) -> dict[str, float]:
    n = len(inputs.mu)
    # Per-asset (0, None) bounds: long only and no upper bound (the unscaled y exceeds 1).
    ef = EfficientFrontier(inputs.mu, inputs.cov, weight_bounds=[(0.0, None)] * n)
    try:
        ef.convex_objective(_spinu, weights_sum_to_one=False, cov_matrix=inputs.cov.to_numpy(), n=n)
    except (OptimizationError, ValueError) as exc:
        raise InvalidInput(f"risk_parity has no solution: {exc}") from exc
    y = np.asarray(ef.weights, dtype=float)
    return {str(k): float(v) for k, v in zip(ef.tickers, y / y.sum(), strict=True)}


def performance(
    weights: Mapping[str, float], inputs: OptimizeInputs, risk_free: float
) -> tuple[float, float, float]:
    """Annual expected return, volatility and Sharpe of ``weights`` (every symbol of
    ``inputs``), by ``portfolio_performance``."""
    w = np.array([weights[str(s)] for s in inputs.mu.index], dtype=float)
    ret, vol, sharpe = portfolio_performance(w, inputs.mu, inputs.cov, risk_free_rate=risk_free)
    return float(ret), float(vol), float(sharpe)
