"""Holdings (consolidated or per account) and the grid's edit of one holding, with
optimistic concurrency: the edit names the version it read (``If-Match`` or
``version``); a stale one is 409 with the current row."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from quantdesk.api.deps import CallerDep
from quantdesk.api.routes.analytics import (
    AnalyticsQuery,
    fresh_analytics,
    ledger_cache,
)
from quantdesk.api.schemas import (
    BaseTotalOut,
    HoldingEdited,
    HoldingOut,
    HoldingPatch,
    HoldingsOut,
    Id,
    TotalsOut,
)
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.lots import CostMethod
from quantdesk.domain.money import money_text, to_text
from quantdesk.domain.positions import position_warnings, totals_by_currency
from quantdesk.services import holdings, views

router = APIRouter(prefix="/holdings", tags=["holdings"])


def holding_out(h: holdings.Holding) -> HoldingOut:
    data: dict[str, Any] = views.position_json(h.position)
    data.pop("account", None)
    return HoldingOut(
        id=h.id,
        account_id=h.account.id if h.account else None,
        account=h.account.name if h.account else h.position.account,
        instrument_id=h.instrument.id if h.instrument else None,
        version=h.version,
        editable=h.id is not None,
        price_missing=h.position.quote is None,
        **data,
    )


def _etag(version: str) -> str:
    return f'"{version}"'


@router.get("")
def list_holdings(
    caller: CallerDep,
    consolidated: bool = False,
    account_id: Id | None = None,
    method: CostMethod = CostMethod.FIFO,
    as_of: date | None = None,
) -> HoldingsOut:
    """Every position valued at the latest stored price, totals per currency and in the
    user's base currency (GET /settings); a missing price is flagged (``price_missing``),
    never valued at 0."""
    day = as_of or caller.services.clock().date()
    rows, base = holdings.list_holdings(
        caller.uow,
        consolidated=consolidated,
        account_id=account_id,
        method=method,
        as_of=day,
        base=caller.user_settings().base_currency,
        ledger_cache=ledger_cache(caller),
        revision=caller.principal.ledger_revision,
    )
    positions = [h.position for h in rows]
    totals = totals_by_currency(positions)
    warnings = position_warnings(positions)
    if base.missing_rates:
        warnings.append(
            f"no exchange rate into {base.currency} for {', '.join(base.missing_rates)}: "
            "the total in the base currency is unknown (POST /api/v1/prices/refresh fetches it)"
        )
    return HoldingsOut(
        as_of=day,
        method=method.value,
        consolidated=consolidated,
        holdings=[holding_out(h) for h in rows],
        totals={
            c: TotalsOut(
                market_value=money_text(t.market_value),
                cost_basis=money_text(t.cost_basis),
                unrealized_gain=money_text(t.unrealized_gain),
            )
            for c, t in totals.items()
        },
        total_in_base=BaseTotalOut(
            currency=base.currency,
            market_value=money_text(base.market_value),
            rates={c: to_text(r) for c, r in base.rates.items()},
            missing_rates=base.missing_rates,
        ),
        warnings=warnings,
    )


@router.get("/{holding_id}")
def get_holding(holding_id: str, caller: CallerDep, response: Response) -> HoldingOut:
    """One holding; its ``ETag`` is the version an edit names."""
    found = holdings.get_holding(caller.uow, holding_id, as_of=caller.services.clock().date())
    response.headers["ETag"] = _etag(found.version)
    return holding_out(found)


@router.patch("/{holding_id}")
def edit_holding(
    holding_id: str,
    body: HoldingPatch,
    caller: CallerDep,
    response: Response,
    query: Annotated[AnalyticsQuery, Query()],
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> HoldingEdited:
    """Set the quantity and/or total cost basis from the grid. Recorded as adjustment
    entries dated now (history is never rewritten). Answers with the holding and the
    analytics recomputed (same parameters as GET /analytics)."""
    version = body.version or (if_match.strip().removeprefix("W/").strip('"') if if_match else None)
    if not version:
        raise InvalidInput("name the version you edit: the If-Match header or a version field")
    edited = holdings.edit_holding(
        caller.uow,
        holding_id,
        version=version,
        quantity=body.quantity,
        cost_basis=body.cost_basis,
        clock=caller.services.clock,
        ledger_cache=ledger_cache(caller),
    )
    response.headers["ETag"] = _etag(edited.version)
    return HoldingEdited(holding=holding_out(edited), analytics=fresh_analytics(caller, query))
