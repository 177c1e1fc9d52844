"""The suggestions as a user sees them: the rebalancing trades and harvest candidates
(services/suggest.py), each with its effect on volatility, VaR, Sharpe and drift
(services/effects.py), the risk alerts (services/risk_alerts.py), and the order list.

The what-if engine is the analytics report's (the user's benchmark and risk-free rate over
the last year). Without one (a ledger too young to measure) every effect is ``None`` and a
note says why; the suggestions themselves never depend on it. The engine's closes also
give the harvest's replacement candidates: the instruments of the portfolio's history
whose daily returns correlate highly with the lot's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from quantdesk.domain.money import money_text, to_text
from quantdesk.domain.rebalance import Action, RebalancePlan, Trade
from quantdesk.domain.tax_harvest import HarvestCandidate
from quantdesk.services import suggest
from quantdesk.services.analytics import WhatIfEngine
from quantdesk.services.effects import (
    VAR_CONFIDENCE,
    VAR_METHOD,
    Drift,
    Effect,
    EffectModel,
    Figures,
    Move,
)
from quantdesk.services.risk_alerts import Alert, alerts

#: The least number of common daily returns for a correlation to name a replacement.
MIN_OVERLAP = 60
ORDER_COLUMNS = (
    "source",
    "account",
    "action",
    "symbol",
    "units",
    "est_price",
    "est_value",
    "rationale",
)


@dataclass(frozen=True)
class Basis:
    """What the effects are measured over."""

    start: date
    end: date
    period: str


@dataclass(frozen=True)
class PlanEffects:
    """The effect of each trade of a plan, and of all of them together."""

    trades: tuple[Effect | None, ...] = ()
    whole: Effect | None = None


def plan_effects(model: EffectModel | None, plan: RebalancePlan) -> PlanEffects:
    if model is None:
        return PlanEffects((None,) * len(plan.trades))
    return PlanEffects(
        tuple(model.effect(trade_moves([t])) for t in plan.trades),
        model.effect(trade_moves(plan.trades)) if plan.trades else None,
    )


@dataclass(frozen=True)
class Advice:
    suggestions: suggest.Suggestions
    now: Figures | None
    basis: Basis | None
    trade_effects: tuple[Effect | None, ...]
    plan_effect: Effect | None
    #: One per account plan, in the same order.
    account_effects: tuple[PlanEffects, ...]
    harvest_effects: tuple[Effect | None, ...]
    harvest_rationales: tuple[str, ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]


def correlations(engine: WhatIfEngine) -> dict[str, dict[str, Decimal]]:
    """Correlation of daily returns between every two instruments of the report with at
    least :data:`MIN_OVERLAP` common days, to 2 decimals."""
    values = np.asarray(engine.model.unit_values, dtype=np.float64)
    if values.shape[0] < 3 or values.shape[1] < 2:
        return {}
    frame = pd.DataFrame(values, columns=engine.symbols)
    matrix = frame.pct_change(fill_method=None).corr(min_periods=MIN_OVERLAP)
    found: dict[str, dict[str, Decimal]] = {}
    for a in matrix.columns:
        row = {
            str(b): Decimal(f"{float(c):.2f}")
            for b, c in matrix[a].items()
            if b != a and np.isfinite(c)
        }
        if row:
            found[str(a)] = row
    return found


def bucket_of(targets: suggest.TargetSet, symbol: str, asset_class: str) -> str | None:
    if symbol in targets.by_symbol:
        return symbol
    return asset_class if asset_class in targets.by_class else None


def trade_moves(trades: Iterable[Trade]) -> list[Move]:
    return [
        Move(t.symbol, t.units, t.value, t.bucket)
        if t.action is Action.BUY
        else Move(t.symbol, -t.units, -t.value, t.bucket)
        for t in trades
    ]


def _harvest_moves(
    c: HarvestCandidate, model: EffectModel, targets: suggest.TargetSet
) -> tuple[list[Move], str | None]:
    """Sell the lot; buy the first replacement with a price back for the same value."""
    lot = c.lot.instrument
    moves = [
        Move(lot.symbol, -c.units, -c.market_value, bucket_of(targets, lot.symbol, lot.asset_type))
    ]
    for r in c.replacements:
        price = model.price(r.symbol)
        if price is None:
            continue
        asset_class = next(
            (
                k.asset_type.value
                for k in model.engine.report.frames.instruments
                if k.symbol == r.symbol
            ),
            "",
        )
        units = (c.market_value / Decimal(str(price))).quantize(Decimal("1e-8"))
        moves.append(
            Move(r.symbol, units, c.market_value, bucket_of(targets, r.symbol, asset_class))
        )
        return moves, r.symbol
    return moves, None


def _cents(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def harvest_rationale(c: HarvestCandidate, replacement: str | None) -> str:
    lot = c.lot
    bought = f"bought {lot.acquired_on}" if lot.acquired_on else "of unknown date"
    text = (
        f"The {lot.instrument.symbol} lot {bought} in {lot.account} is {_cents(c.loss)} "
        f"below its cost ({c.term.value} term): selling it realizes the loss, worth about "
        f"{_cents(c.tax_saved)} in tax at {to_text(c.tax_rate * 100)}%."
    )
    if c.wash.is_wash_sale:
        text += (
            f" But {to_text(c.wash.washed_units)} units bought in the 30 days before make it a "
            f"wash sale: {_cents(c.wash.disallowed_loss)} of the loss is disallowed (added "
            "to those units' basis)."
        )
    text += (
        f" Do not buy {lot.instrument.symbol} back in any account until after "
        f"{c.buyback_window_closes}."
    )
    if replacement is not None:
        corr = next(r.correlation for r in c.replacements if r.symbol == replacement)
        text += (
            f" To stay invested, hold {replacement} instead (correlation {to_text(corr)}), "
            "which is not the same instrument."
        )
    return text


def advise(
    uow: suggest.SuggestUnitOfWork,
    engine: WhatIfEngine | None,
    *,
    clock: Callable[[], datetime],
    as_of: date | None = None,
    min_loss: Decimal = suggest.DEFAULT_MIN_LOSS,
    short_rate: Decimal = suggest.DEFAULT_SHORT_RATE,
    long_rate: Decimal = suggest.DEFAULT_LONG_RATE,
    no_engine_reason: str | None = None,
) -> Advice:
    """The suggestions with their effects and the risk alerts."""
    found = suggest.suggestions(
        uow,
        clock=clock,
        as_of=as_of,
        min_loss=min_loss,
        short_rate=short_rate,
        long_rate=long_rate,
        correlations=correlations(engine) if engine is not None else None,
    )
    plan, targets = found.plan, found.targets
    notes: list[str] = []
    model = None
    if engine is not None:
        model = EffectModel(engine, plan_drift(plan), targets.cash_flow)
    else:
        notes.append(
            "no effects on volatility, VaR or Sharpe: "
            + (no_engine_reason or "the portfolio's history cannot be measured yet")
        )
    rebalance = plan_effects(model, plan)
    account_effects = tuple(
        plan_effects(
            None
            if engine is None
            else EffectModel(engine, plan_drift(p.plan), p.targets.cash_flow),
            p.plan,
        )
        for p in found.account_plans
    )
    harvest_effects: list[Effect | None] = []
    rationales: list[str] = []
    for c in found.harvest.candidates:
        replacement = None
        effect = None
        if model is not None:
            moves, replacement = _harvest_moves(c, model, targets)
            effect = model.effect(moves)
        harvest_effects.append(effect)
        rationales.append(harvest_rationale(c, replacement))
    now = None if model is None else model.now
    return Advice(
        found,
        now,
        None if engine is None else Basis(engine.report.start, engine.report.end, "1Y"),
        rebalance.trades,
        rebalance.whole,
        account_effects,
        tuple(harvest_effects),
        tuple(rationales),
        tuple(
            alerts(
                found.exposure,
                found.invested,
                now,
                as_of=found.as_of,
                concentration_limit=targets.concentration_limit,
                budget=targets.var_budget,
            )
        ),
        tuple(notes),
    )


def plan_drift(plan: RebalancePlan) -> Drift:
    return Drift(
        {b.bucket: b.target for b in plan.buckets},
        {b.bucket: b.before * plan.total for b in plan.buckets},
        plan.total,
    )


# JSON ----------------------------------------------------------------------------------
def figures_json(f: Figures | None) -> dict[str, float | None] | None:
    if f is None:
        return None
    return {
        "volatility": f.volatility,
        "var": f.var,
        "var_fraction": f.var_fraction,
        "sharpe": f.sharpe,
        "drift": f.drift,
    }


def effect_json(e: Effect | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"before": figures_json(e.before), "after": figures_json(e.after)}


def trade_json(t: Trade, effect: Effect | None) -> dict[str, Any]:
    return {
        **suggest.trade_json(t),
        "price": to_text((t.value / t.units).quantize(Decimal("1e-6"))) if t.units else None,
        "effect": effect_json(effect),
    }


def alert_json(a: Alert) -> dict[str, Any]:
    return {
        "kind": a.kind.value,
        "severity": a.severity.value,
        "symbol": a.symbol,
        "value": None if a.value is None else to_text(a.value),
        "limit": None if a.limit is None else to_text(a.limit),
        "message": a.message,
    }


def advice_json(a: Advice, *, summary_available: bool = False) -> dict[str, Any]:
    answer = suggest.suggestions_json(a.suggestions)
    plan = a.suggestions.plan
    rebalance = answer["rebalance"]
    rebalance["trades"] = [
        trade_json(t, e) for t, e in zip(plan.trades, a.trade_effects, strict=True)
    ]
    rebalance["dropped"] = [trade_json(t, None) for t in plan.dropped]
    rebalance["effect"] = effect_json(a.plan_effect)
    for row, own, effects in zip(
        answer["account_plans"], a.suggestions.account_plans, a.account_effects, strict=True
    ):
        row["trades"] = [
            trade_json(t, e) for t, e in zip(own.plan.trades, effects.trades, strict=True)
        ]
        row["dropped"] = [trade_json(t, None) for t in own.plan.dropped]
        row["effect"] = effect_json(effects.whole)
    for row, effect, why in zip(
        answer["harvest"]["candidates"], a.harvest_effects, a.harvest_rationales, strict=True
    ):
        row["effect"] = effect_json(effect)
        row["rationale"] = why
    answer["now"] = figures_json(a.now)
    answer["effects_basis"] = (
        None
        if a.basis is None
        else {
            "period": a.basis.period,
            "start": a.basis.start.isoformat(),
            "end": a.basis.end.isoformat(),
            "method": VAR_METHOD,
            "confidence": VAR_CONFIDENCE,
            "horizon_days": 1,
        }
    )
    answer["alerts"] = [alert_json(x) for x in a.alerts]
    answer["summary_available"] = summary_available
    answer["notes"] = [*answer["notes"], *a.notes]
    return answer


# Orders --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Order:
    source: str
    account: str
    action: str
    symbol: str
    units: Decimal
    price: Decimal | None
    value: Decimal
    rationale: str


def trade_orders(source: str, trades: Sequence[Trade]) -> list[Order]:
    return [
        Order(
            source,
            t.account,
            t.action.value,
            t.symbol,
            t.units,
            t.value / t.units if t.units else None,
            t.value,
            t.rationale,
        )
        for t in trades
    ]


def rebalance_orders(a: Advice) -> list[Order]:
    """The portfolio plan's trades, then each account plan's."""
    plans = [a.suggestions.plan, *(p.plan for p in a.suggestions.account_plans)]
    return [o for plan in plans for o in trade_orders("rebalance", plan.trades)]


def harvest_orders(a: Advice) -> list[Order]:
    return [
        Order(
            "harvest",
            c.lot.account,
            Action.SELL.value,
            c.lot.instrument.symbol,
            c.units,
            c.price,
            c.market_value,
            why,
        )
        for c, why in zip(a.suggestions.harvest.candidates, a.harvest_rationales, strict=True)
    ]


def orders_csv(orders: Iterable[Order]) -> str:
    """The order list as CSV (never executed: for the user to place at their broker)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ORDER_COLUMNS)
    for o in orders:
        writer.writerow(
            [
                o.source,
                o.account,
                o.action,
                o.symbol,
                to_text(o.units),
                "" if o.price is None else to_text(o.price.quantize(Decimal("1e-6"))),
                money_text(o.value),
                o.rationale,
            ]
        )
    return out.getvalue()
