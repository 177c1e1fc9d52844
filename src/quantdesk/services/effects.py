"""What a suggestion does to the risk picture: volatility, VaR, Sharpe and drift, before
and after, computed by the what-if engine (services/analytics.py ``WhatIfEngine``).

A suggestion is a list of :class:`Move` s (units of a symbol bought or sold for a value in
the base currency). Its effect holds the portfolio's current units with the moves applied,
and the cash they leave, through the same period as the engine's report (buy and hold over
the same closes), and measures it as the dashboard does:

* volatility: annualized, of daily returns;
* VaR: 1-day, 95%, historical, in money (the loss not exceeded on 95% of days) and as a
  fraction of the value;
* Sharpe: at the report's risk-free rate;
* drift: the largest ``|weight - target|`` over the target buckets, weights measured
  against holdings plus cash (``None`` without targets).

Every effect's *before* is the starting point of the plan: the portfolio as it is, plus the
cash to invest (or less the cash to withdraw) when the user set one. With no cash flow it is
the portfolio now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from quantdesk.analytics.metrics import MetricSet
from quantdesk.services.analytics import WhatIfEngine

VAR_METHOD = "historical"
VAR_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Figures:
    volatility: float | None
    var: float | None
    var_fraction: float | None
    sharpe: float | None
    drift: float | None


@dataclass(frozen=True)
class Effect:
    before: Figures
    after: Figures


@dataclass(frozen=True)
class Move:
    """Units of ``symbol`` bought (+) or sold (-) for ``value`` in the base currency (+ paid,
    - received); ``bucket`` is the target bucket it counts in (``None``: none)."""

    symbol: str
    units: Decimal
    value: Decimal
    bucket: str | None


class Drift:
    """Bucket weights against their targets, before and after moves."""

    def __init__(
        self, targets: Mapping[str, Decimal], values: Mapping[str, Decimal], total: Decimal
    ) -> None:
        self.targets = {b: float(w) for b, w in targets.items()}
        self.values = {b: float(values.get(b, 0)) for b in targets}
        self.total = float(total)

    def measure(self, moves: Sequence[Move] = ()) -> float | None:
        if not self.targets or self.total <= 0:
            return None
        values = dict(self.values)
        for move in moves:
            if move.bucket in values:
                values[move.bucket] += float(move.value)
        return max(abs(values[b] / self.total - t) for b, t in self.targets.items())


def figures(metrics: MetricSet, drift: float | None) -> Figures:
    var = metrics.var.get(VAR_METHOD, {}).get(VAR_CONFIDENCE)
    return Figures(
        metrics.volatility,
        None if var is None else var.amount,
        None if var is None else var.fraction,
        metrics.sharpe,
        drift,
    )


class EffectModel:
    """The effects of moves on one report's portfolio (each a what-if: pure numpy)."""

    def __init__(
        self, engine: WhatIfEngine, drift: Drift | None = None, cash_flow: Decimal = Decimal(0)
    ) -> None:
        self.engine = engine
        self.drift = drift
        self.index = {symbol: k for k, symbol in enumerate(engine.symbols)}
        self.cash = engine.model.cash + float(cash_flow)
        unchanged = engine.current if not cash_flow else engine.metrics(engine.units, self.cash)
        self.now = figures(engine.current, self._drift(()))
        self.start = figures(unchanged, self._drift(()))

    def _drift(self, moves: Sequence[Move]) -> float | None:
        return None if self.drift is None else self.drift.measure(moves)

    def price(self, symbol: str) -> float | None:
        """The last value of one unit of ``symbol`` in the report, if it is there."""
        k = self.index.get(symbol)
        if k is None:
            return None
        last = float(self.engine.model.unit_values[-1, k])
        return last if np.isfinite(last) and last > 0 else None

    def effect(self, moves: Sequence[Move]) -> Effect | None:
        """``None`` when a move's symbol is not in the report (no closes to measure it)."""
        units = self.engine.units.copy()
        cash = self.cash
        for move in moves:
            k = self.index.get(move.symbol)
            if k is None:
                return None
            units[k] += float(move.units)
            cash -= float(move.value)
        # a sale of every unit may leave a rounding residue below zero
        units = np.where(np.abs(units) < 1e-9, 0.0, units)
        if (units < 0).any():
            return None
        return Effect(self.start, figures(self.engine.metrics(units, cash), self._drift(moves)))
