"""The full metric set of one return series in one pass (DESIGN §4), with every metric
that cannot be computed left as None and the reason in ``warnings``: never 0.

``portfolio_returns`` are the daily time-weighted returns; ``asset_returns`` (T x K) the
daily price returns of the assets held at the end, with ``weights`` their end-of-period
value weights: they drive correlation, contributions and Monte Carlo VaR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from quantdesk.analytics.drawdown import Drawdown, max_drawdown
from quantdesk.analytics.returns import annualized_return, total_return
from quantdesk.analytics.risk import (
    alpha,
    annual_volatility,
    beta,
    sharpe_ratio,
    sortino_ratio,
)
from quantdesk.analytics.var import (
    AssetMoments,
    asset_moments,
    correlation_of,
    return_contributions,
    var_contributions,
    var_table,
    volatility_contributions,
)

Floats = npt.NDArray[np.float64]
METHODS = ("historical", "parametric", "cornish_fisher", "monte_carlo")


@dataclass(frozen=True)
class RiskFigure:
    """A VaR or CVaR: a positive loss as a fraction and in money (times the last value)."""

    fraction: float | None
    amount: float | None


@dataclass(frozen=True)
class Contribution:
    weight: float
    return_contribution: float | None
    volatility_contribution: float | None
    var_contribution: float | None


@dataclass
class MetricSet:
    observations: int
    annualization: int
    twr: float | None = None
    twr_annualized: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    beta: float | None = None
    alpha: float | None = None
    max_drawdown: Drawdown | None = None
    var: dict[str, dict[float, RiskFigure]] = field(default_factory=dict)
    cvar: dict[str, dict[float, RiskFigure]] = field(default_factory=dict)
    correlation: Floats | None = None
    contributions: list[Contribution] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def metric_set(
    portfolio_returns: Floats,
    days: Sequence[date],
    *,
    start: date,
    periods_per_year: int,
    risk_free: float,
    benchmark_returns: Floats | None = None,
    asset_returns: Floats | None = None,
    weights: Floats | None = None,
    last_value: float | None = None,
    confidences: Sequence[float] = (0.95, 0.99),
    horizon: int = 1,
    seed: int = 0,
    simulations: int = 20_000,
    moments: AssetMoments | None = None,
) -> MetricSet:
    """Every metric of ``portfolio_returns`` (``days[i]`` is the day of return i and
    ``start`` the day before the first). ``moments`` of ``asset_returns`` may be passed
    in when they were computed before (what-if over the same assets)."""
    r = np.asarray(portfolio_returns, dtype=np.float64)
    a = periods_per_year
    result = MetricSet(len(r), a)
    warn = result.warnings.append
    if len(r) < 2:
        warn(f"{len(r)} daily return(s) in the period: at least 2 are needed for any metric")
        return result
    result.twr = total_return(r)
    result.twr_annualized = annualized_return(r, periods_per_year=a)
    result.volatility = annual_volatility(r, periods_per_year=a)
    result.sharpe = sharpe_ratio(r, risk_free=risk_free, periods_per_year=a)
    result.sortino = sortino_ratio(r, risk_free=risk_free, periods_per_year=a)
    result.max_drawdown = max_drawdown(r, days, start=start)
    dd = result.max_drawdown
    if dd is not None and dd.value < 0 and result.twr_annualized is not None:
        result.calmar = result.twr_annualized / abs(dd.value)  # calmar_ratio, reusing both
    if result.volatility is None or result.sharpe is None:
        warn("Sharpe and Sortino need returns that vary (and volatility more than 1 day)")
    if result.calmar is None:
        warn("Calmar needs a drawdown: the portfolio never fell in the period")
    if benchmark_returns is None:
        warn("no benchmark returns on these days: beta and alpha are unknown")
    else:
        b = np.asarray(benchmark_returns, dtype=np.float64)
        both = np.isfinite(b)
        if not both.all():
            warn(
                f"the benchmark has no close before {int((~both).sum())} of the days: beta "
                "and alpha use the days they share"
            )
        result.beta = beta(r[both], b[both])
        result.alpha = alpha(r[both], b[both], risk_free=risk_free, periods_per_year=a)
        if result.beta is None:
            warn("the benchmark did not move on the shared days: beta and alpha are unknown")
    assets = None if asset_returns is None else np.asarray(asset_returns, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if (
        moments is None
        and assets is not None
        and assets.ndim == 2
        and assets.shape[1]
        and len(assets) >= 2
        and np.isfinite(assets).all()
    ):
        moments = asset_moments(assets)
    table = var_table(
        r,
        assets,
        w,
        confidences=tuple(confidences),
        horizon=horizon,
        seed=seed,
        simulations=simulations,
        moments=moments,
    )
    for method in METHODS:
        for confidence in confidences:
            var_value, cvar_value = table.get(method, {}).get(confidence, (None, None))
            result.var.setdefault(method, {})[confidence] = _figure(var_value, last_value)
            result.cvar.setdefault(method, {})[confidence] = _figure(cvar_value, last_value)
    if assets is not None and w is not None and moments is not None:
        result.correlation = correlation_of(moments)
        returns_part = return_contributions(assets, w)
        vol_part = volatility_contributions(assets, w, moments=moments)
        var_part = var_contributions(
            assets, w, confidence=max(confidences), horizon=horizon, moments=moments
        )
        result.contributions = [
            Contribution(weight, ret, vol, var)
            for weight, ret, vol, var in zip(
                w.tolist(),
                _column(returns_part, a, len(w)),
                _column(vol_part, float(np.sqrt(a)), len(w)),
                _column(var_part, 1.0, len(w)),
                strict=True,
            )
        ]
    return result


def _figure(value: float | None, last_value: float | None) -> RiskFigure:
    if value is None:
        return RiskFigure(None, None)
    return RiskFigure(value, None if last_value is None else value * last_value)


def _column(values: Floats | None, scale: float, n: int) -> list[float | None]:
    """A contribution column as floats (scaled), None where not computable."""
    if values is None:
        return [None] * n
    scaled = np.asarray(values, dtype=np.float64) * scale
    return [v if np.isfinite(v) else None for v in scaled.tolist()]
