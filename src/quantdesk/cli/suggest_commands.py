"""`quantdesk targets`, `quantdesk suggest` and `quantdesk optimize`: target allocations,
the suggestions they give (each trade with its effect on the risk picture), risk alerts,
optimized allocations, the order list and the optional language-model summary. Nothing
here trades: orders are written to a CSV for the user to place at their broker."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from quantdesk import bootstrap
from quantdesk.cli.app import (
    JsonOpt,
    _ctx,
    _day,
    _fail,
    _money,
    _number,
    _pct,
    _print_json,
    _qty,
    app,
    out,
)
from quantdesk.domain.errors import InvalidInput
from quantdesk.services import advice, suggest
from quantdesk.services.analytics import Options, WhatIfEngine, analyze
from quantdesk.services.effects import Effect
from quantdesk.services.summary import SummaryConfig, summarize

# targets and suggestions -------------------------------------------------------------------
targets_app = typer.Typer(
    help="Target allocation (weights by asset class or symbol) for `suggest`.",
    no_args_is_help=True,
)
app.add_typer(targets_app, name="targets")


def _suggest_uow(ctx: typer.Context) -> suggest.SuggestUnitOfWork:
    context = _ctx(ctx)
    return bootstrap.unit_of_work(context.engine, context.user, market=context.market_choice)


def _print_targets(found: suggest.TargetSet) -> None:
    if not found.is_set:
        out.print("No targets. Set some with `quantdesk targets set stock=0.6 bond=0.4`.")
        return
    of = f" of {found.account}" if found.account else ""
    table = Table("Target", "Kind", "Weight", title=f"Target allocation{of}")
    for key, weight in sorted(found.by_class.items()):
        table.add_row(key, "asset class", f"{_qty(weight * 100)}%")
    for key, weight in sorted(found.by_symbol.items()):
        table.add_row(key, "symbol", f"{_qty(weight * 100)}%")
    out.print(table)
    out.print(f"Band ±{_qty(found.band * 100)}%, minimum trade {_money(found.min_trade)}")
    if found.cash_flow:
        verb = "to invest" if found.cash_flow > 0 else "to withdraw"
        out.print(f"Cash {verb}: {_money(abs(found.cash_flow))}")
    out.print(
        f"Alerts: one security above {_qty(found.concentration_limit * 100)}%, "
        f"1-day 95% VaR above {_qty(found.var_budget * 100)}% of the value"
    )


ScopeOpt = Annotated[
    str | None,
    typer.Option("--account", help="One account's own targets (it is then rebalanced on its own)."),
]


@targets_app.command("set")
def targets_set_command(
    ctx: typer.Context,
    items: Annotated[
        list[str],
        typer.Argument(
            help="KEY=WEIGHT pairs summing to 1: an asset type in lower case (stock, etf, "
            "bond, fund, crypto, other) or a symbol, e.g. etf=0.6 bond=0.3 AAPL=0.1."
        ),
    ],
    band: Annotated[
        str, typer.Option("--band", help="Tolerance around each target (0.05 is ±5%).")
    ] = "0.05",
    min_trade: Annotated[
        str, typer.Option("--min-trade", help="Trades worth less are dropped.")
    ] = "50",
    cash_flow: Annotated[
        str, typer.Option("--cash-flow", help="Cash to invest (+) or withdraw (-).")
    ] = "0",
    concentration_limit: Annotated[
        str,
        typer.Option("--concentration-limit", help="Largest weight of one security (alert)."),
    ] = str(suggest.DEFAULT_CONCENTRATION_LIMIT),
    var_budget: Annotated[
        str, typer.Option("--var-budget", help="1-day 95% VaR allowed, a fraction of value.")
    ] = str(suggest.DEFAULT_VAR_BUDGET),
    account: ScopeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace the target allocation (of the portfolio, or of one account)."""
    weights: dict[str, Decimal] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"targets are KEY=WEIGHT, got {item!r}", 2)
        weights[key] = _number(value, key.strip())
    found = suggest.set_targets(
        _suggest_uow(ctx),
        weights,
        _number(band, "--band"),
        _number(min_trade, "--min-trade"),
        cash_flow=_number(cash_flow, "--cash-flow"),
        concentration_limit=_number(concentration_limit, "--concentration-limit"),
        var_budget=_number(var_budget, "--var-budget"),
        account=account,
        clock=bootstrap.utc_now,
    )
    if as_json:
        _print_json(suggest.targets_json(found))
        return
    _print_targets(found)


@targets_app.command("show")
def targets_show_command(
    ctx: typer.Context, account: ScopeOpt = None, as_json: JsonOpt = False
) -> None:
    """The target allocation, band and minimum trade value."""
    found = suggest.show_targets(_suggest_uow(ctx), account)
    if as_json:
        _print_json(suggest.targets_json(found))
        return
    _print_targets(found)


@targets_app.command("clear")
def targets_clear_command(ctx: typer.Context, account: ScopeOpt = None) -> None:
    """Remove the portfolio's targets, or one account's own (it then follows the
    portfolio's again)."""
    suggest.clear_targets(_suggest_uow(ctx), account)
    out.print(f"Targets of {account or 'the portfolio'} removed.")


def _engine(ctx: typer.Context, period: str) -> tuple[WhatIfEngine | None, str | None]:
    """The what-if engine of the user's portfolio over ``period`` (their benchmark and
    risk-free rate), or why there is none."""
    from quantdesk.services.settings import read_settings  # noqa: PLC0415

    context = _ctx(ctx)
    chosen = read_settings(
        bootstrap.unit_of_work(context.engine, context.user, market=context.market_choice)
    )
    market = None if context.market.offline else context.market.cache
    options = Options(period=period, benchmark=chosen.benchmark, risk_free=float(chosen.risk_free))
    try:
        report = analyze(context.uow, market, options, clock=bootstrap.utc_now)
    except InvalidInput as e:
        return None, str(e)
    return WhatIfEngine(report), None


def _effect_text(effect: Effect | None) -> str:
    if effect is None:
        return ""
    b, a = effect.before, effect.after
    parts = []
    if b.volatility is not None and a.volatility is not None:
        parts.append(f"vol {_pct(b.volatility, 1)}→{_pct(a.volatility, 1)}")
    if b.var is not None and a.var is not None:
        parts.append(f"VaR {b.var:,.0f}→{a.var:,.0f}")
    if b.sharpe is not None and a.sharpe is not None:
        parts.append(f"Sharpe {b.sharpe:.2f}→{a.sharpe:.2f}")
    if b.drift is not None and a.drift is not None:
        parts.append(f"drift {_pct(b.drift, 1)}→{_pct(a.drift, 1)}")
    return ", ".join(parts)


def _write_orders(path: Path, orders: list[advice.Order]) -> None:
    path.write_text(advice.orders_csv(orders), encoding="utf-8")
    out.print(
        f"{len(orders)} order(s) written to {path}: quantdesk places no order, "
        "take the list to your broker."
    )


@app.command("suggest")
def suggest_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As of this day (YYYY-MM-DD).")
    ] = None,
    min_loss: Annotated[
        str, typer.Option("--min-loss", help="Harvest lots losing more than this.")
    ] = str(suggest.DEFAULT_MIN_LOSS),
    short_rate: Annotated[
        str, typer.Option("--short-rate", help="Tax rate on short-term gains.")
    ] = str(suggest.DEFAULT_SHORT_RATE),
    long_rate: Annotated[
        str, typer.Option("--long-rate", help="Tax rate on long-term gains.")
    ] = str(suggest.DEFAULT_LONG_RATE),
    orders: Annotated[
        Path | None,
        typer.Option("--orders", help="Write the rebalancing and harvest orders to a CSV."),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Add a plain-words summary by the language model at QUANTDESK_LLM_BASE_URL.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rebalancing trades toward the targets and tax-loss-harvesting candidates, each
    with its effect on volatility, VaR, Sharpe and drift; and the risk alerts."""
    config = SummaryConfig.from_env(os.environ)
    if summary and config is None:
        _fail("--summary needs a language model: set QUANTDESK_LLM_BASE_URL (see the README)")
    engine, reason = _engine(ctx, "1Y")
    found = advice.advise(
        _suggest_uow(ctx),
        engine,
        clock=bootstrap.utc_now,
        as_of=_day(as_of, "--as-of") if as_of else None,
        min_loss=_number(min_loss, "--min-loss"),
        short_rate=_number(short_rate, "--short-rate"),
        long_rate=_number(long_rate, "--long-rate"),
        no_engine_reason=reason,
    )
    answer = advice.advice_json(found, summary_available=config is not None)
    written = None
    if summary and config is not None:
        written = summarize(answer, config)
    if orders is not None:
        _write_orders(
            orders,
            [
                *advice.rebalance_orders(found),
                *advice.harvest_orders(found),
            ],
        )
    if as_json:
        if written is not None:
            answer["summary"] = {"text": written.text, "model": written.model}
        _print_json(answer)
        return
    _print_advice(found)
    if written is not None:
        out.print(f"\n[bold]Summary[/] (written by {written.model}; its numbers are checked)")
        out.print(written.text, highlight=False)


def _print_advice(found: advice.Advice) -> None:
    s = found.suggestions
    plan, harvest = s.plan, s.harvest
    for alert in found.alerts:
        color = "red" if alert.severity.value == "critical" else "yellow"
        out.print(f"[{color}]{alert.severity.value}:[/] {alert.message}", highlight=False)
    if found.now is not None:
        n = found.now
        out.print(
            f"Now: volatility {_pct(n.volatility, 1)}, 1-day 95% VaR "
            f"{'' if n.var is None else f'{n.var:,.0f}'}, Sharpe "
            f"{'' if n.sharpe is None else f'{n.sharpe:.2f}'}, drift {_pct(n.drift, 1)}"
        )
    weights = Table("Bucket", "Target", "Now", "After", title=f"Allocation ({s.as_of})")
    for b in plan.buckets:
        weights.add_row(
            b.bucket, _pct(float(b.target)), _pct(float(b.before)), _pct(float(b.after))
        )
    out.print(weights)
    if plan.trades:
        trades = Table(
            "Action", "Account", "Symbol", "Units", "Value", "Effect", "Why", title="Trades"
        )
        for t, effect in zip(plan.trades, found.trade_effects, strict=True):
            trades.add_row(
                t.action.value,
                t.account,
                t.symbol,
                _qty(t.units),
                _money(t.value),
                _effect_text(effect),
                t.rationale,
            )
        out.print(trades)
        if found.plan_effect is not None:
            out.print(f"All trades together: {_effect_text(found.plan_effect)}")
    else:
        out.print("No trades: every bucket is inside its band.")
    for t in plan.dropped:
        out.print(f"[dim]dropped (under the minimum trade):[/] {t.rationale}", highlight=False)
    for own, effects in zip(s.account_plans, found.account_effects, strict=True):
        _print_account_plan(own, effects)
    for note in (*plan.notes, *s.notes, *found.notes):
        out.print(f"[yellow]note:[/] {note}", highlight=False)
    if harvest.candidates:
        table = Table(
            "Account",
            "Symbol",
            "Units",
            "Acquired",
            "Loss",
            "Term",
            "Tax saved",
            "Wash sale",
            "Replacement",
            "Effect",
            title="Tax-loss harvesting",
        )
        for c, effect in zip(harvest.candidates, found.harvest_effects, strict=True):
            table.add_row(
                c.lot.account,
                c.lot.instrument.symbol,
                _qty(c.units),
                c.lot.acquired_on.isoformat() if c.lot.acquired_on else "",
                _money(c.loss),
                c.term.value,
                _money(c.tax_saved),
                "yes" if c.wash.is_wash_sale else "no",
                ", ".join(f"{r.symbol} ({r.correlation})" for r in c.replacements[:2]),
                _effect_text(effect),
            )
        out.print(table)
    else:
        out.print("No tax-loss harvesting candidates.")


def _print_account_plan(own: suggest.AccountPlan, effects: advice.PlanEffects) -> None:
    title = f"{own.targets.account} (its own targets)"
    if not own.plan.trades:
        out.print(f"{title}: no trades, every bucket is inside its band.")
    else:
        table = Table("Action", "Symbol", "Units", "Value", "Effect", "Why", title=title)
        for t, effect in zip(own.plan.trades, effects.trades, strict=True):
            table.add_row(
                t.action.value,
                t.symbol,
                _qty(t.units),
                _money(t.value),
                _effect_text(effect),
                t.rationale,
            )
        out.print(table)
    for note in (*own.plan.notes, *own.notes):
        out.print(f"[yellow]note:[/] {note}", highlight=False)


@app.command("optimize")
def optimize_command(
    ctx: typer.Context,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="max_sharpe, min_volatility, efficient_return, efficient_risk, risk_parity, hrp.",
        ),
    ] = "max_sharpe",
    covariance: Annotated[
        str, typer.Option("--covariance", help="ledoit_wolf or sample.")
    ] = "ledoit_wolf",
    period: Annotated[str, typer.Option("--period", help="1Y, 3Y, 5Y or ALL.")] = "3Y",
    min_weight: Annotated[float, typer.Option("--min-weight")] = 0.0,
    max_weight: Annotated[float, typer.Option("--max-weight")] = 1.0,
    target_return: Annotated[
        float | None, typer.Option("--target-return", help="Annual, for efficient_return.")
    ] = None,
    target_risk: Annotated[
        float | None, typer.Option("--target-risk", help="Annual, for efficient_risk.")
    ] = None,
    class_min: Annotated[
        list[str] | None, typer.Option("--class-min", help="CLASS:MIN, e.g. bond:0.2.")
    ] = None,
    class_max: Annotated[
        list[str] | None, typer.Option("--class-max", help="CLASS:MAX, e.g. crypto:0.1.")
    ] = None,
    orders: Annotated[
        Path | None, typer.Option("--orders", help="Write the trades to a CSV order list.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """An optimized allocation of what is held (PyPortfolioOpt), the efficient frontier
    and the trades that reach it from the holdings."""
    if objective not in (
        "max_sharpe", "min_volatility", "efficient_return", "efficient_risk", "risk_parity", "hrp"
    ):  # fmt: skip
        _fail(f"unknown objective {objective!r}", 2)
    if covariance not in ("ledoit_wolf", "sample"):
        _fail(f"--covariance is ledoit_wolf or sample, not {covariance!r}", 2)
    if period.upper() not in ("1Y", "3Y", "5Y", "ALL"):
        _fail(f"--period is 1Y, 3Y, 5Y or ALL, not {period!r}", 2)
    # PyPortfolioOpt and cvxpy take most of a second to import: only this command pays it
    from quantdesk.services.optimize_plan import (  # noqa: PLC0415
        OptimizeRequest,
        class_bounds,
        optimize_plan,
        optimized_json,
    )

    request = OptimizeRequest(
        objective=objective,  # type: ignore[arg-type]
        covariance=covariance,  # type: ignore[arg-type]
        min_weight=min_weight,
        max_weight=max_weight,
        target_return=target_return,
        target_risk=target_risk,
        class_bounds=class_bounds(class_min or [], class_max or []),
    )
    engine, reason = _engine(ctx, period.upper())
    if engine is None:
        _fail(f"nothing to optimize: {reason}")
    found = optimize_plan(_suggest_uow(ctx), engine, request, clock=bootstrap.utc_now)
    if orders is not None:
        _write_orders(orders, advice.trade_orders("optimize", found.plan.trades))
    if as_json:
        _print_json(optimized_json(found))
        return
    a = found.allocation
    out.print(
        f"{objective} ({covariance}) over {found.start} to {found.end}: expected return "
        f"{_pct(found.current.expected_return, 1)} → {_pct(a.expected_return, 1)}, volatility "
        f"{_pct(found.current.volatility, 1)} → {_pct(a.volatility, 1)}, Sharpe "
        f"{found.current.sharpe:.2f} → {a.sharpe:.2f}"
    )
    table = Table("Symbol", "Class", "Now", "Optimized", title="Weights")
    for symbol in sorted(found.current_weights):
        table.add_row(
            symbol,
            found.asset_classes[symbol],
            _pct(found.current_weights[symbol], 1),
            _pct(a.weights.get(symbol, 0.0), 1),
        )
    out.print(table)
    trades = Table("Action", "Account", "Symbol", "Units", "Value", "Effect", title="Trades")
    for t, effect in zip(found.plan.trades, found.trade_effects, strict=True):
        trades.add_row(
            t.action.value,
            t.account,
            t.symbol,
            _qty(t.units),
            _money(t.value),
            _effect_text(effect),
        )
    out.print(trades)
    for note in (*found.notes, *found.plan.notes):
        out.print(f"[yellow]note:[/] {note}", highlight=False)
