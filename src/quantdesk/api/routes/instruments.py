"""Instruments (shared by every user: market data, not anyone's ledger): search and
resolve a symbol to an instrument with its latest quote."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import Id, InstrumentOut, QuoteOut, ResolvedOut, ResolveIn
from quantdesk.domain.instruments import AssetType, Instrument, normalize_currency, normalize_symbol
from quantdesk.services import prices, views

router = APIRouter(prefix="/instruments", tags=["instruments"])


def instrument_out(i: Instrument) -> InstrumentOut:
    assert i.id is not None
    return InstrumentOut(
        id=i.id,
        symbol=i.symbol,
        asset_type=i.asset_type.value,
        currency=i.currency,
        name=i.name,
        provider_ids=dict(i.provider_ids),
    )


@router.get("")
def search_instruments(
    caller: CallerDep,
    q: Annotated[str, Query(min_length=1, max_length=40, description="Symbol prefix or name part")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[InstrumentOut]:
    with caller.uow(commit=False) as store:
        return [instrument_out(i) for i in store.search_instruments(q, limit)]


@router.get("/{instrument_id}")
def get_instrument(instrument_id: Id, caller: CallerDep) -> InstrumentOut:
    with caller.uow(commit=False) as store:
        return instrument_out(store.instrument_by_id(instrument_id))


@router.post("/resolve")
def resolve_instrument(body: ResolveIn, caller: CallerDep) -> ResolvedOut:
    """The instrument for a symbol and asset type (created if new) and its latest quote
    from the caller's market; an unknown symbol is 404 and creates nothing."""
    resolved = prices.resolve_instrument(
        caller.uow,
        caller.price_cache(),
        normalize_symbol(body.symbol),
        AssetType.parse(body.asset_type),
        normalize_currency(body.currency),
        clock=caller.services.clock,
    )
    quote = resolved.quote
    return ResolvedOut(
        instrument=instrument_out(resolved.instrument),
        quote=QuoteOut(**views.live_quote_json(quote)) if quote else None,
        error=resolved.error,
    )
