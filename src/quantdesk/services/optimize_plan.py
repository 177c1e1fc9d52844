"""An optimized allocation of what is held, and the trades that reach it from the holdings.

The universe is the instruments held now with a price in the base currency. Their daily
closes in the base currency come from the analytics report of the chosen period (the
what-if engine's per-unit values, so the optimizer, the frontier and the effects all see
the same prices), cut to the days every one of them has a close. analytics/optimize.py
solves through PyPortfolioOpt; the optimized weights become symbol targets (band 0) for
the rebalancing engine, which picks the accounts and lots (tax-advantaged accounts first,
highest-basis lots first) and drops trades under the user's minimum. The weights are of the
invested holdings: the accounts' cash is neither invested nor counted (a cash target is the
targets' job). Each trade's effect comes from the same what-if engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from quantdesk.analytics import optimize as opt
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.money import ZERO
from quantdesk.domain.rebalance import AccountHoldings, RebalancePlan, Targets, plan_rebalance
from quantdesk.services import suggest
from quantdesk.services.advice import effect_json, plan_drift, trade_json, trade_moves
from quantdesk.services.analytics import WhatIfEngine
from quantdesk.services.effects import Effect, EffectModel

#: The fewest common daily closes an optimization accepts.
MIN_DAYS = 60
FRONTIER_POINTS = 20
WEIGHT_STEP = Decimal("0.0001")


@dataclass(frozen=True)
class OptimizeRequest:
    objective: opt.Objective = "max_sharpe"
    covariance: opt.Covariance = "ledoit_wolf"
    min_weight: float = 0.0
    max_weight: float = 1.0
    target_return: float | None = None
    target_risk: float | None = None
    #: Asset class -> (min, max) of its total weight.
    class_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    expected_return: float
    volatility: float
    sharpe: float


@dataclass(frozen=True)
class OptimizedPlan:
    request: OptimizeRequest
    start: date
    end: date
    asset_classes: dict[str, str]
    current_weights: dict[str, float]
    allocation: opt.Allocation
    current: Point
    frontier: list[opt.FrontierPoint]
    plan: RebalancePlan
    trade_effects: tuple[Effect | None, ...]
    plan_effect: Effect | None
    notes: tuple[str, ...]


def _closes(engine: WhatIfEngine, symbols: list[str]) -> pd.DataFrame:
    f = engine.report.frames
    index = {s: k for k, s in enumerate(engine.symbols)}
    values = np.asarray(f.unit_values, dtype=np.float64)[:, [index[s] for s in symbols]]
    frame = pd.DataFrame(values, index=list(f.days), columns=symbols)
    common = frame.dropna()
    if len(common) < MIN_DAYS:
        first = {s: frame[s].first_valid_index() for s in symbols}
        latest = max(symbols, key=lambda s: first[s] or date.max)
        raise InvalidInput(
            f"only {len(common)} day(s) have a close for every holding (at least {MIN_DAYS} "
            f"are needed): {latest} has closes only from {first[latest]}; choose a longer "
            "period or wait for more history"
        )
    return common


def _targets(weights: Mapping[str, float]) -> dict[str, Decimal]:
    """Weights to 4 decimals summing to exactly 1 (the rounding rest on the largest)."""
    found = {s: Decimal(str(w)).quantize(WEIGHT_STEP) for s, w in weights.items()}
    largest = max(found, key=lambda s: found[s])
    found[largest] += Decimal(1) - sum(found.values(), ZERO)
    return found


def class_bounds(lows: list[str], highs: list[str]) -> dict[str, tuple[float, float]]:
    """``CLASS:FRACTION`` items as (min, max) per class."""
    found: dict[str, tuple[float, float]] = {}
    for items, side in ((lows, 0), (highs, 1)):
        for item in items:
            name, sep, raw = item.partition(":")
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not sep or not name.strip() or not 0 <= value <= 1:
                raise InvalidInput(
                    f"a class bound is CLASS:FRACTION such as bond:0.2, not {item!r}"
                )
            low, high = found.get(name.strip(), (0.0, 1.0))
            found[name.strip()] = (value, high) if side == 0 else (low, value)
    return found


def optimize_plan(
    uow: suggest.SuggestUnitOfWork,
    engine: WhatIfEngine,
    request: OptimizeRequest,
    *,
    clock: Callable[[], datetime],
    as_of: date | None = None,
) -> OptimizedPlan:
    """Optimize the held instruments for ``request`` and plan the trades to get there."""
    book = suggest.read_book(uow, as_of or clock().date())
    held: dict[str, str] = {}
    value: dict[str, float] = {}
    for e in book.exposure:
        symbol = e.instrument.symbol
        if e.value is not None and e.value > 0 and symbol in engine.symbols:
            held[symbol] = e.instrument.asset_type.value
            value[symbol] = float(e.value)
    notes = list(book.notes)
    if len(held) < 2:
        raise InvalidInput(
            f"an optimization needs at least 2 priced holdings with closes, not {len(held)}"
        )
    symbols = sorted(held)
    data = _closes(engine, symbols)
    frequency = engine.report.frames.annualization
    inputs = opt.prepare_inputs(data, covariance=request.covariance, frequency=frequency)
    risk_free = engine.report.options.risk_free
    bounds = (request.min_weight, request.max_weight)
    classes = dict(request.class_bounds)
    allocation = opt.optimize_inputs(
        inputs,
        objective=request.objective,
        risk_free=risk_free,
        weight_bounds=bounds,
        asset_classes=held if classes else None,
        class_bounds=classes or None,
        target_return=request.target_return,
        target_volatility=request.target_risk,
    )
    mean_variance = request.objective not in ("hrp", "risk_parity")
    frontier = opt.frontier_of(  # on the same inputs: no second covariance estimate
        inputs,
        points=FRONTIER_POINTS,
        weight_bounds=bounds if mean_variance else (0.0, 1.0),
        asset_classes=held if classes and mean_variance else None,
        class_bounds=(classes or None) if mean_variance else None,
    )
    total = sum(value.values())
    current_weights = {s: value[s] / total for s in symbols}
    current = Point(*opt.performance(current_weights, inputs, risk_free))
    targets = Targets(
        by_symbol=_targets(allocation.weights),
        band=ZERO,
        min_trade=book.targets.min_trade,
    )
    accounts = [
        AccountHoldings(
            a.name, a.taxable, tuple(h for h in a.holdings if h.instrument.symbol in held)
        )
        for a in book.accounts()[0]
    ]
    plan = plan_rebalance([a for a in accounts if a.holdings], targets, book.as_of)
    model = EffectModel(engine, plan_drift(plan))
    notes.append(
        "weights are of the invested holdings; the accounts' cash stays as it is"
        if any(book.cash.values())
        else "weights are of the invested holdings"
    )
    return OptimizedPlan(
        request,
        cast("date", data.index[0]),
        cast("date", data.index[-1]),
        held,
        current_weights,
        allocation,
        current,
        frontier,
        plan,
        tuple(model.effect(trade_moves([t])) for t in plan.trades),
        model.effect(trade_moves(plan.trades)) if plan.trades else None,
        tuple(notes),
    )


def optimized_json(p: OptimizedPlan) -> dict[str, Any]:
    a = p.allocation
    return {
        "objective": p.request.objective,
        "covariance": p.request.covariance,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "weights": [
            {
                "symbol": s,
                "asset_type": p.asset_classes[s],
                "current": p.current_weights[s],
                "optimized": a.weights.get(s, 0.0),
            }
            for s in sorted(p.current_weights)
        ],
        "current": {
            "return": p.current.expected_return,
            "volatility": p.current.volatility,
            "sharpe": p.current.sharpe,
        },
        "optimized": {"return": a.expected_return, "volatility": a.volatility, "sharpe": a.sharpe},
        "frontier": [{"return": f.expected_return, "volatility": f.volatility} for f in p.frontier],
        "trades": [trade_json(t, e) for t, e in zip(p.plan.trades, p.trade_effects, strict=True)],
        "dropped": [trade_json(t, None) for t in p.plan.dropped],
        "effect": effect_json(p.plan_effect),
        "notes": [*p.notes, *p.plan.notes],
    }
