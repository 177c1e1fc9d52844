"""Prices: quotes, one symbol's quote and closes, a refresh of everything held, and the
caller's market (live or simulated)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from quantdesk.api.deps import CallerDep
from quantdesk.api.routes.analytics import forget_answers
from quantdesk.api.schemas import AssetTypeText, MarketIn
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.market.http import upstream_calls
from quantdesk.services import prices, views

router = APIRouter(prefix="/prices", tags=["prices"])


@router.get("/quotes")
def quotes(
    caller: CallerDep,
    symbols: Annotated[str, Query(min_length=1, max_length=2000, description="AAPL,BTC,...")],
) -> dict[str, Any]:
    """Latest quotes of symbols in the caller's ledger (through the shared cache: one
    upstream call per provider batch per TTL, whoever asks)."""
    wanted = [normalize_symbol(s) for s in symbols.split(",") if s.strip()]
    if not wanted or len(wanted) > 200:
        raise InvalidInput("symbols takes 1 to 200 comma-separated symbols")
    cache = caller.price_cache()
    found = prices.ledger_quotes(caller.uow, cache, wanted)
    return {
        "quotes": {s: views.live_quote_json(q) for s, q in found.quotes.items()},
        "errors": found.errors,
    }


@router.get("/{symbol}")
def show(
    symbol: str,
    caller: CallerDep,
    asset_type: AssetTypeText | None = None,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
) -> dict[str, Any]:
    """The latest quote and the last ``days`` closes of one symbol (your own closes win
    on the days they cover)."""
    wiring = caller.market()
    view = prices.show_prices(
        caller.uow,
        wiring.cache,
        symbol,
        clock=caller.services.clock,
        days=days,
        asset_type=asset_type,
    )
    return views.price_view_json(view)


@router.post("/refresh")
def refresh(caller: CallerDep) -> dict[str, Any]:
    """Fetch quotes and daily closes of every instrument in the caller's ledger."""
    wiring = caller.market()
    before = {p: upstream_calls(p) for p in prices.PROVIDERS}
    report = prices.refresh_prices(
        caller.uow,
        None if wiring.offline else wiring.cache,
        clock=caller.services.clock,
        simulated=wiring.simulated_closes,
        benchmark=caller.user_settings().benchmark,
    )
    calls = {p: int(upstream_calls(p) - before[p]) for p in prices.PROVIDERS}
    forget_answers(caller)
    return {**views.refresh_json(report), "upstream_calls": calls}


@router.put("/market")
def set_market(body: MarketIn, caller: CallerDep) -> dict[str, str]:
    """Where the caller's market prices come from: ``live`` or ``simulated``."""
    return {"market": prices.choose_market(caller.uow, body.market)}
