"""A brokerage's investment transactions as Plaid reports them (``/investments/
transactions/get``: each transaction with the security it names) as ledger entries.

Plaid's conventions: ``quantity`` is positive when units arrive and negative when they
leave; ``amount`` is positive when cash leaves the account (a buy, a fee) and negative
when it arrives (a sale, a dividend, a deposit); ``fees`` are included in ``amount``.
Types: buy, sell, cash (dividend, interest, deposit, withdrawal, ...), fee, transfer, and
cancel (a correction: skipped, said). Securities of type cash (a sweep fund) are cash;
derivatives are not tracked (left to resolve). The external id is Plaid's
``investment_transaction_id``, so a re-sync adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import json_number
from quantdesk.importers.dates import When
from quantdesk.importers.table import ParseContext, build_entry

#: Plaid's security types as asset types.
SECURITY_TYPES = {
    "equity": AssetType.STOCK,
    "etf": AssetType.ETF,
    "mutual fund": AssetType.FUND,
    "cryptocurrency": AssetType.CRYPTO,
    "fixed income": AssetType.BOND,
}
#: Cash subtypes and what they are.
CASH_SUBTYPES = {
    "dividend": T.DIVIDEND,
    "qualified dividend": T.DIVIDEND,
    "non-qualified dividend": T.DIVIDEND,
    "interest": T.INTEREST,
    "deposit": T.DEPOSIT,
    "contribution": T.DEPOSIT,
    "withdrawal": T.WITHDRAWAL,
    "distribution": T.WITHDRAWAL,
    "tax": T.TAX,
    "tax withheld": T.TAX,
}


def investment_entries(
    ctx: ParseContext,
    transactions: Sequence[Mapping[str, Any]],
    securities: Mapping[str, Mapping[str, Any]],
    *,
    first_line: int = 1,
) -> Iterator[ParsedTransaction]:
    for line, record in enumerate(transactions, start=first_line):
        entry_id = str(record.get("investment_transaction_id") or "")
        kind = str(record.get("type") or "").lower()
        subtype = str(record.get("subtype") or "").lower()
        currency = record.get("iso_currency_code") or None
        try:
            day = date.fromisoformat(str(record.get("date")))
        except ValueError:
            ctx.issues.add(line, "date", f"transaction {entry_id} has no date")
            continue
        when = When(datetime.combine(day, time(0), tzinfo=UTC), day, False)
        quantity, amount = json_number(record.get("quantity")), json_number(record.get("amount"))
        price, fees = (
            json_number(record.get("price")),
            json_number(record.get("fees")) or Decimal(0),
        )
        security = securities.get(str(record.get("security_id") or "")) or {}
        symbol = security.get("ticker_symbol") or None
        asset = SECURITY_TYPES.get(str(security.get("type") or "").lower())
        if kind == "cancel":
            ctx.notices.skip(line, f"cancelled transaction {entry_id}")
            continue
        if not entry_id or amount is None:
            ctx.issues.add(line, "amount", f"a transaction without an id or amount: {entry_id!r}")
            continue
        common: dict[str, Any] = {"external_id": entry_id, "currency": currency, "column": "amount"}
        built: ParsedTransaction | None
        if kind in ("buy", "sell") and security.get("type") == "cash":
            ctx.notices.skip(line, "a sweep fund's units are cash: its cash entries say it")
            continue
        if kind in ("buy", "sell"):
            if symbol is None or asset is None or quantity is None or price is None:
                ctx.notices.resolve(
                    line, "type", f"{kind} of {security.get('name') or 'an unknown security'} "
                    f"({security.get('type') or 'no type'}): not recorded; record it yourself"
                )  # fmt: skip
                continue
            built = build_entry(
                ctx.issues, line, T.BUY if kind == "buy" else T.SELL, when, symbol=symbol,
                asset_type=asset, quantity=abs(quantity), price=price, fees=fees, **common,
            )  # fmt: skip
        elif kind == "cash" and subtype in CASH_SUBTYPES:
            target = CASH_SUBTYPES[subtype]
            on_security = target in (T.DIVIDEND, T.INTEREST, T.TAX) and symbol and asset
            built = build_entry(
                ctx.issues, line, target, when, amount=abs(amount),
                symbol=symbol if on_security else None,
                asset_type=asset if on_security else None, **common,
            )  # fmt: skip
        elif kind == "fee" or (kind == "cash" and subtype == "fee"):
            built = build_entry(ctx.issues, line, T.FEE, when, amount=abs(amount), **common)
        elif kind == "transfer" and symbol and asset and quantity:
            built = build_entry(
                ctx.issues, line, T.TRANSFER_IN if quantity > 0 else T.TRANSFER_OUT, when,
                symbol=symbol, asset_type=asset, quantity=abs(quantity), **common,
            )  # fmt: skip
        else:
            ctx.notices.resolve(
                line, "type", f"Plaid {kind} ({subtype or 'no subtype'}) of {amount}: not recorded"
            )
            continue
        if built is not None:
            yield built
