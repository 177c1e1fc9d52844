"""Domain results as JSON: the shapes the CLI prints and the API returns (docs/cli-json.md)."""

from __future__ import annotations

from typing import Any

from quantdesk.domain.accounts import Account
from quantdesk.domain.lots import Disposal, Income, Lot, Term
from quantdesk.domain.market import LiveQuote
from quantdesk.domain.money import money_text, to_text
from quantdesk.domain.positions import Position
from quantdesk.domain.transactions import Transaction
from quantdesk.importers import registry
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
        "taxable": a.is_taxable,
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
        "duplicates_from_other_source": len(r.other_source_lines),
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
        "confidence": r.confidence,
        "encoding": r.encoding,
        "skipped_count": r.notices.skipped_total,
        "skipped": [
            {"reason": reason, "count": len(lines), "lines": lines}
            for reason, lines in r.notices.skipped.items()
        ],
        "to_resolve_count": r.notices.to_resolve_total,
        "to_resolve": [{"line": i.line, "reason": i.reason} for i in r.notices.to_resolve],
        "account_fallbacks": r.account_fallbacks,
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


def formats_json() -> list[dict[str, Any]]:
    """The import formats with the columns each expects (``quantdesk formats --json``)."""
    return [
        {
            "name": f.name,
            "title": f.title,
            "kind": f.kind,
            "columns": list(f.columns),
            "layouts": [list(s.columns) for s in f.signatures],
            "time_zone": f.time_zone,
            "notes": f.notes,
        }
        for f in registry.FORMATS
    ]
