"""The caller's ledger: list (filtered, paginated), add, edit, delete, basis and lots."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Query, status

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import (
    BasisIn,
    EntryFields,
    Id,
    LotsIn,
    TransactionIn,
    TransactionOut,
    TransactionPage,
    TransactionPatch,
    TypeText,
)
from quantdesk.domain.instruments import normalize_symbol
from quantdesk.domain.money import normalized
from quantdesk.domain.transactions import LotPick, Transaction
from quantdesk.services import ledger_edit, portfolio, views

router = APIRouter(prefix="/transactions", tags=["transactions"])


def _out(t: Transaction) -> TransactionOut:
    return TransactionOut(**views.transaction_json(t))


def _number_text(value: Decimal) -> str:
    """A number as a file's cell would hold it; one beyond what the ledger can reformat
    (``1e400``) is kept as sent, and the entry's checks refuse it naming the field."""
    try:
        return format(normalized(value), "f")
    except InvalidOperation:
        return str(value)


def _cells(body: EntryFields, fields: set[str]) -> dict[str, str]:
    """The set fields as generic-trades cells (``None`` clears a field)."""
    cells: dict[str, str] = {}
    for name in fields:
        if name == "account_id" or name not in ledger_edit.ENTRY_FIELDS:
            continue
        value = getattr(body, name)
        if value is None:
            cells[name] = ""
        elif isinstance(value, Decimal):
            cells[name] = _number_text(value)
        elif isinstance(value, date):
            cells[name] = value.isoformat()
        else:
            cells[name] = str(value)
    return cells


@router.get("")
def list_transactions(
    caller: CallerDep,
    account_id: Id | None = None,
    symbol: Annotated[str | None, Query(max_length=40)] = None,
    type: Annotated[list[TypeText] | None, Query()] = None,
    start: date | None = None,
    end: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> TransactionPage:
    """Newest first; ``total`` counts every entry matching the filters."""
    with caller.uow(commit=False) as store:
        if account_id is not None:
            store.account_by_id(account_id)
        rows, total = store.page_transactions(
            account_id=account_id,
            symbol=normalize_symbol(symbol) if symbol else None,
            types=list(type or ()),
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        )
    return TransactionPage(items=[_out(t) for t in rows], total=total, limit=limit, offset=offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_transaction(body: TransactionIn, caller: CallerDep) -> list[TransactionOut]:
    """Record an entry (a one-row conversion gives its two linked legs). Checked as a row
    of a generic trades file; a sale beyond the units held is 409 and stores nothing."""
    cells = _cells(body, body.model_fields_set | {"date", "type"})
    added = ledger_edit.add_transaction(
        caller.uow, body.account_id, cells, clock=caller.services.clock
    )
    return [_out(t) for t in added]


@router.get("/{transaction_id}")
def get_transaction(transaction_id: Id, caller: CallerDep) -> TransactionOut:
    with caller.uow(commit=False) as store:
        return _out(store.transaction(transaction_id))


@router.patch("/{transaction_id}")
def update_transaction(
    transaction_id: Id, body: TransactionPatch, caller: CallerDep
) -> TransactionOut:
    """Change fields of an entry (``null`` clears an optional one)."""
    changed = ledger_edit.update_transaction(
        caller.uow,
        transaction_id,
        _cells(body, body.model_fields_set),
        account_id=body.account_id,
        clock=caller.services.clock,
    )
    return _out(changed)


@router.delete("/{transaction_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_transaction(transaction_id: Id, caller: CallerDep) -> None:
    """Delete an entry (409 if a later sale would then exceed the units held)."""
    portfolio.delete_transaction(caller.uow, transaction_id)


@router.put("/{transaction_id}/basis")
def set_basis(transaction_id: Id, body: BasisIn, caller: CallerDep) -> TransactionOut:
    """Complete an opening of unknown cost basis."""
    portfolio.complete_basis(
        caller.uow, transaction_id, price_per_unit=body.price, acquired_on=body.acquired_on
    )
    with caller.uow(commit=False) as store:
        return _out(store.transaction(transaction_id))


@router.put("/{transaction_id}/lots")
def set_lots(transaction_id: Id, body: LotsIn, caller: CallerDep) -> TransactionOut:
    """Specific identification: the lots (ids from GET /lots) a sale takes."""
    portfolio.identify_lots(
        caller.uow, transaction_id, [LotPick(p.lot_id, p.quantity) for p in body.lots]
    )
    with caller.uow(commit=False) as store:
        return _out(store.transaction(transaction_id))
