"""Lots and realized gains (what ``quantdesk lots`` and ``gains`` show)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import Id
from quantdesk.domain.lots import CostMethod
from quantdesk.services import portfolio, views

router = APIRouter(tags=["ledger"])


def _account_name(caller: CallerDep, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    with caller.uow(commit=False) as store:
        return store.account_by_id(account_id).name


@router.get("/lots")
def lots(
    caller: CallerDep,
    symbol: Annotated[str | None, Query(max_length=40)] = None,
    account_id: Id | None = None,
    method: CostMethod = CostMethod.FIFO,
) -> dict[str, Any]:
    """Open tax lots: units, cost basis, acquisition date."""
    found = portfolio.open_lots(
        caller.uow, symbol=symbol, account=_account_name(caller, account_id), method=method
    )
    return {"method": method.value, "lots": [views.lot_json(lot) for lot in found]}


@router.get("/gains")
def gains(
    caller: CallerDep,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    account_id: Id | None = None,
    method: CostMethod = CostMethod.FIFO,
) -> dict[str, Any]:
    """Realized gains (short and long term) and income."""
    report = portfolio.realized_gains(
        caller.uow, year=year, method=method, account=_account_name(caller, account_id)
    )
    return views.gains_json(report)
