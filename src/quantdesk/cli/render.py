"""Turning domain results into the CLI's JSON shapes (documented in docs/cli-json.md)."""

from __future__ import annotations

import math
from typing import Any

from quantdesk.analytics.metrics import MetricSet, RiskFigure
from quantdesk.domain.accounts import Account
from quantdesk.domain.lots import Disposal, Income, Lot, Term
from quantdesk.domain.market import LiveQuote
from quantdesk.domain.money import money_text, to_text
from quantdesk.domain.positions import Position
from quantdesk.domain.transactions import Transaction
from quantdesk.services.analytics import HistoryRow, Report
from quantdesk.services.import_report import ImportReport
from quantdesk.services.portfolio import GainsReport
from quantdesk.services.prices import PriceView, RefreshReport


def account_json(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "kind": a.kind.value,
        "institution": a.institution,
        "currency": a.currency,
    }


def transaction_json(t: Transaction) -> dict[str, Any]:
    return {
        "id": t.id,
        "account": t.account,
        "type": t.type.value,
        "symbol": t.instrument.symbol if t.instrument else None,
        "asset_type": t.instrument.asset_type.value if t.instrument else None,
        "quantity": to_text(t.quantity),
        "price": to_text(t.price),
        "fees": to_text(t.fees),
        "amount": to_text(t.amount),
        "currency": t.currency,
        "traded_at": t.traded_at.isoformat(),
        "acquired_on": t.acquired_on.isoformat() if t.acquired_on else None,
        "split_ratio": to_text(t.split_ratio),
        "link": t.link,
        "origin": t.origin.value,
        "external_id": t.external_id,
        "description": t.description,
    }


def import_json(r: ImportReport) -> dict[str, Any]:
    return {
        "file": r.filename,
        "format": r.format,
        "rows": r.rows,
        "added": r.added,
        "duplicates": r.duplicates,
        "adjustments": r.adjustments,
        "openings_removed": r.openings_removed,
        "completed_openings_removed": [transaction_json(t) for t in r.completed_openings_removed],
        "dry_run": r.dry_run,
        "already_imported": r.already_imported.isoformat() if r.already_imported else None,
        "stored": r.stored,
        "issue_count": r.issue_count,
        "issues": [{"line": i.line, "column": i.column, "reason": i.reason} for i in r.issues],
        "unknown_basis": [
            {
                "account": s.account,
                "symbol": s.symbol,
                "date": s.on.isoformat(),
                "quantity": to_text(s.missing),
                "transaction_id": None if r.dry_run else opening_id,
            }
            for s, opening_id in zip(r.unknown_basis, r.opening_ids, strict=True)
        ],
        "preview": [transaction_json(t) for t in r.preview],
    }


def position_json(p: Position) -> dict[str, Any]:
    quote = p.quote
    return {
        "account": p.account,
        "symbol": p.instrument.symbol,
        "asset_type": p.instrument.asset_type.value,
        "quantity": to_text(p.quantity),
        "currency": p.currency,
        "cost_basis": money_text(p.cost_basis),
        "average_cost": money_text(p.average_cost),
        "unknown_basis_quantity": to_text(p.unknown_basis_quantity),
        "price": to_text(quote.price) if quote else None,
        "price_as_of": quote.as_of.isoformat() if quote and quote.source != "cash" else None,
        "price_source": quote.source if quote else None,
        "market_value": money_text(p.market_value),
        "unrealized_gain": money_text(p.unrealized_gain),
        "lots": p.lot_count,
    }


def lot_json(lot: Lot) -> dict[str, Any]:
    return {
        "lot_id": lot.lot_id,
        "account": lot.account,
        "symbol": lot.instrument.symbol,
        "asset_type": lot.instrument.asset_type.value,
        "quantity": to_text(lot.quantity),
        "cost_basis": money_text(lot.cost_basis),
        "cost_per_unit": money_text(lot.cost_per_unit),
        "currency": lot.currency,
        "acquired_on": lot.acquired_on.isoformat() if lot.acquired_on else None,
        "origin": lot.origin.value,
        "basis_known": lot.cost_basis is not None,
    }


def disposal_json(d: Disposal) -> dict[str, Any]:
    return {
        "transaction_id": d.transaction_id,
        "lot_id": d.lot_id,
        "account": d.account,
        "symbol": d.instrument.symbol,
        "quantity": to_text(d.quantity),
        "acquired_on": d.acquired_on.isoformat() if d.acquired_on else None,
        "disposed_on": d.disposed_on.isoformat(),
        "proceeds": money_text(d.proceeds),
        "cost_basis": money_text(d.cost_basis),
        "gain": money_text(d.gain),
        "term": d.term.value,
        "currency": d.currency,
    }


def income_json(i: Income) -> dict[str, Any]:
    return {
        "transaction_id": i.transaction_id,
        "account": i.account,
        "symbol": i.instrument.symbol if i.instrument else None,
        "type": i.type.value,
        "amount": to_text(i.amount),
        "currency": i.currency,
        "date": i.on.isoformat(),
    }


def gains_json(g: GainsReport) -> dict[str, Any]:
    return {
        "method": g.method.value,
        "year": g.year,
        "realized": {
            currency: {
                "short_term": money_text(g.total(currency, Term.SHORT)),
                "long_term": money_text(g.total(currency, Term.LONG)),
                "total": money_text(g.total(currency)),
                "unknown_basis_disposals": sum(
                    1 for d in g.unknown_basis if d.currency == currency
                ),
            }
            for currency in g.currencies
        },
        "unknown_basis_disposals": len(g.unknown_basis),
        "income": {k: money_text(v) for k, v in g.income_total().items()},
        "disposals": [disposal_json(d) for d in g.disposals],
        "income_items": [income_json(i) for i in g.income],
    }


def live_quote_json(q: LiveQuote) -> dict[str, Any]:
    return {
        "symbol": q.symbol,
        "price": to_text(q.price),
        "currency": q.currency,
        "as_of": q.as_of.isoformat(),
        "source": q.source,
        "fetched_at": q.fetched_at.isoformat(),
        "stale": q.stale,
        "simulated": q.source == "simulated",
        "note": q.note,
    }


def refresh_json(r: RefreshReport) -> dict[str, Any]:
    return {
        "market": r.market,
        "offline": r.offline,
        "symbols": r.symbols,
        "quotes": {s: live_quote_json(q) for s, q in sorted(r.quotes.items())},
        "closes": dict(sorted(r.closes.items())),
        "stale": r.stale,
        "errors": dict(sorted(r.errors.items())),
        "untyped": r.untyped,
    }


def price_view_json(v: PriceView) -> dict[str, Any]:
    history = v.history
    return {
        "symbol": v.symbol.symbol,
        "asset_type": v.symbol.asset_type.value,
        "quote": live_quote_json(v.quote) if v.quote else None,
        "error": v.error,
        "history": None
        if history is None
        else {
            "source": history.source,
            "currency": history.currency,
            "simulated": history.source == "simulated",
            "closes": [{"day": b.day.isoformat(), "close": to_text(b.close)} for b in history.bars],
        },
        "history_error": v.history_error,
    }


def _num(value: float | None) -> float | None:
    """A metric as a JSON number (ratios are floats, not money): None stays null."""
    return None if value is None else float(value)


def _money_float(value: float | None) -> str | None:
    """A float money amount as a JSON string with cents (floats are never money in JSON)."""
    return None if value is None else f"{value:.2f}"


def _risk(figures: dict[str, dict[float, RiskFigure]]) -> dict[str, Any]:
    return {
        method: {
            f"{c:g}": {"fraction": _num(f.fraction), "amount": _money_float(f.amount)}
            for c, f in by_confidence.items()
        }
        for method, by_confidence in figures.items()
    }


def analytics_json(r: Report, *, explain: bool = False) -> dict[str, Any]:
    m = r.metrics
    dd = m.max_drawdown
    data: dict[str, Any] = {
        "start": r.start.isoformat(),
        "end": r.end.isoformat(),
        "account": r.options.account,
        "asset_class": r.options.asset_class,
        "total_value": _money_float(r.total_value),
        "total_cost_basis": money_text(r.total_cost_basis),
        "unrealized_gain": money_text(r.unrealized_gain),
        "realized_gain": money_text(r.realized_gain),
        "simple_return": _num(r.simple_return),
        "twr": _num(m.twr),
        "twr_annualized": _num(m.twr_annualized),
        "mwr": _num(r.mwr),
        "volatility": _num(m.volatility),
        "sharpe": _num(m.sharpe),
        "sortino": _num(m.sortino),
        "calmar": _num(m.calmar),
        "beta": _num(m.beta),
        "alpha": _num(m.alpha),
        "max_drawdown": None
        if dd is None
        else {
            "value": dd.value,
            "peak": dd.peak.isoformat(),
            "trough": dd.trough.isoformat(),
            "recovery": None if dd.recovery is None else dd.recovery.isoformat(),
        },
        "var": _risk(m.var),
        "cvar": _risk(m.cvar),
        "correlation": {
            "symbols": r.symbols,
            "matrix": None
            if m.correlation is None
            else [[_num(v) if math.isfinite(v) else None for v in row] for row in m.correlation],
        },
        "contributions": [
            {
                "symbol": symbol,
                "weight": c.weight,
                "return_contribution": c.return_contribution,
                "volatility_contribution": c.volatility_contribution,
                "var_contribution": c.var_contribution,
            }
            for symbol, c in zip(r.symbols, m.contributions, strict=False)
        ],
        "observations": m.observations,
        "annualization": m.annualization,
        "calendar": r.frames.calendar,
        "benchmark": r.benchmark,
        "risk_free": r.options.risk_free,
        "horizon": r.options.horizon,
        "warnings": r.warnings,
    }
    if explain:
        data["explain"] = {
            "flows": [{"day": d.isoformat(), "amount": f"{a:.2f}"} for d, a in r.flows()],
            "sub_periods": [
                {
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "start_value": f"{p.start_value:.2f}",
                    "end_value": f"{p.end_value:.2f}",
                    "flow_at_end": f"{p.flow_at_end:.2f}",
                    "return": p.growth,
                }
                for p in r.sub_periods()
            ],
            "start_value": f"{r.frames.values[0]:.2f}",
            "end_value": f"{r.frames.values[-1]:.2f}",
        }
    return data


def history_json(rows: list[HistoryRow]) -> list[dict[str, Any]]:
    return [
        {
            "date": h.day.isoformat(),
            "value": f"{h.value:.2f}",
            "net_flow": f"{h.flow:.2f}",
            "daily_return": h.daily_return,
            "cumulative_return": h.cumulative_return,
            "drawdown": h.drawdown,
            "benchmark_cumulative_return": h.benchmark_cumulative,
            "rolling": h.rolling,
        }
        for h in rows
    ]


def metric_set_json(m: MetricSet) -> dict[str, Any]:
    return {
        "twr": _num(m.twr),
        "volatility": _num(m.volatility),
        "sharpe": _num(m.sharpe),
        "sortino": _num(m.sortino),
        "beta": _num(m.beta),
        "max_drawdown": None if m.max_drawdown is None else m.max_drawdown.value,
        "var": _risk(m.var),
        "cvar": _risk(m.cvar),
        "warnings": m.warnings,
    }
