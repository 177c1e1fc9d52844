"""Manual ledger entries (the API's): added and edited with the same checks as a row of a
generic trades file, and refused as a whole when the ledger would sell units it does not
hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from quantdesk.domain.errors import InvalidFields, InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.lots import CostMethod, replay
from quantdesk.domain.money import normalized
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.importers.base import Issues
from quantdesk.importers.generic import parse_entry
from quantdesk.services.ports import LedgerStore, NewRow, UnitOfWork
from quantdesk.services.resolve import InstrumentResolver

#: The fields of a manual entry: the generic trades columns.
ENTRY_FIELDS = (
    "date",
    "type",
    "symbol",
    "asset_type",
    "quantity",
    "price",
    "fees",
    "amount",
    "currency",
    "settlement_date",
    "acquired_on",
    "ratio",
    "to_symbol",
    "to_quantity",
    "to_asset_type",
    "external_id",
    "link",
    "description",
)


def _fail(issues: Issues) -> InvalidFields:
    return InvalidFields([(i.column, i.reason) for i in issues.items])


def _resolved(
    store: LedgerStore, account_id: int, values: dict[str, str], now: datetime
) -> list[NewRow]:
    issues = Issues()
    parsed = parse_entry(values, today=now.date(), issues=issues)
    if issues:
        raise _fail(issues)
    account = store.account_by_id(account_id)
    assert account.id is not None
    resolver = InstrumentResolver(store, now)
    resolver.prefetch(p.symbol for p in parsed if p.symbol)
    rows: list[NewRow] = []
    for p in parsed:
        instrument = None
        if p.symbol is not None:
            instrument = resolver.resolve(
                p.symbol, p.asset_type, p.currency or account.currency, issues, 1
            )
            if instrument is None:
                continue
        currency = p.currency or (instrument.currency if instrument else account.currency)
        entry = p.transaction.resolved(
            account=account.name,
            instrument=instrument.key if instrument else None,
            currency=currency,
            fingerprint=None,
            source_line=None,
        )._replace(origin=Origin.MANUAL)
        rows.append((account.id, instrument.id if instrument else None, entry))
    if issues:
        raise _fail(issues)
    return rows


def add_transaction(
    uow: UnitOfWork, account_id: int, values: dict[str, str], *, clock: Callable[[], datetime]
) -> list[Transaction]:
    """Record one entry (two linked legs for a one-row conversion); returns it as stored."""
    now = clock()
    with uow() as store:
        store.lock()
        rows = _resolved(store, account_id, values, now)
        store.add_transactions(rows, now)
        replay(store.ledger(), method=CostMethod.SPECIFIC, presorted=True)  # else rolls back
        ids = store.latest_transaction_ids(len(rows))
        return [store.transaction(i) for i in ids]


def cells_of(entry: Transaction) -> dict[str, str]:
    """An entry as generic-trades cells (what an edit starts from)."""

    def text(value: Decimal | None) -> str:
        return "" if value is None else format(normalized(value), "f")

    return {
        "date": entry.traded_at.isoformat() if entry.timed else entry.traded_on.isoformat(),
        "type": entry.type.value,
        "symbol": entry.instrument.symbol if entry.instrument else "",
        "asset_type": entry.instrument.asset_type.value if entry.instrument else "",
        "quantity": text(entry.quantity),
        "price": text(entry.price),
        "fees": text(entry.fees) if entry.fees else "",
        "amount": text(entry.amount),
        "currency": entry.currency,
        "settlement_date": entry.settles_on.isoformat() if entry.settles_on else "",
        "acquired_on": entry.acquired_on.isoformat() if entry.acquired_on else "",
        "ratio": text(entry.split_ratio),
        "external_id": entry.external_id or "",
        "link": entry.link or "",
        "description": entry.description or "",
    }


def update_transaction(
    uow: UnitOfWork,
    transaction_id: int,
    changes: dict[str, str],
    *,
    account_id: int | None = None,
    clock: Callable[[], datetime],
) -> Transaction:
    """Change fields of an entry (cells as in :data:`ENTRY_FIELDS`; ``""`` clears one);
    checked as a new row would be, and refused if the ledger would then be short."""
    now = clock()
    with uow() as store:
        store.lock()
        entry = store.transaction(transaction_id)
        if entry.type is TransactionType.CONVERSION and ("to_symbol" in changes):
            raise InvalidInput("edit each leg of a conversion on its own (no to_symbol)")
        cells = {**cells_of(entry), **changes}
        if entry.instrument is not None and entry.instrument.asset_type is AssetType.UNKNOWN:
            cells["asset_type"] = changes.get("asset_type", "")
        target = account_id
        if target is None:
            found = store.find_account(entry.account)
            assert found is not None and found.id is not None
            target = found.id
        rows = _resolved(store, target, cells, now)
        if len(rows) != 1:
            raise InvalidInput("an edit gives exactly one entry")
        account, instrument_id, new = rows[0]
        store.update_transaction(transaction_id, _columns(account, instrument_id, new))
        replay(store.ledger(), method=CostMethod.SPECIFIC, presorted=True)  # else rolls back
        return store.transaction(transaction_id)


def _columns(account_id: int, instrument_id: int | None, t: Transaction) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "instrument_id": instrument_id,
        "type": t.type.value,
        "quantity": t.quantity,
        "price": t.price,
        "fees": t.fees,
        "amount": t.amount,
        "currency": t.currency,
        "traded_at": t.traded_at,
        "trade_date": t.traded_on,
        "timed": t.timed,
        "settles_on": t.settles_on,
        "acquired_on": t.acquired_on,
        "split_ratio": t.split_ratio,
        "link": t.link,
        "external_id": t.external_id,
        "description": t.description,
    }
