"""E*TRADE transaction CSV downloads (E*TRADE's QFX download imports as ``ofx``).

UNVALIDATED: no real E*TRADE CSV was available. Both layouts follow the descriptions
collected in ../shared/formats/FORMATS.md (section 5, from other importers' code), and the
tests use inline files written in exactly those layouts:

* the legacy "Transaction History" download (``DownloadTxnHistory.csv``): a preamble
  ``For Account:,####1234`` and a blank line, then ``TransactionDate,TransactionType,
  SecurityType,Symbol,Quantity,Amount,Price,Commission,Description``; dates ``MM/DD/YY``;
  types Bought, Sold, Dividend, Interest, Fee, Transfer, Direct Debit, Adjustment, Other;
  SecurityType EQ / MF / OPTN / CASH; Quantity negative for sells. The preamble's
  account number is each entry's account (matched to a quantdesk account of that name,
  else the import's account).
* the 2025+ "All Transactions" export: ``Activity/Trade Date,Transaction Date,Settlement
  Date,Activity Type,Description,Symbol,Cusip,Quantity #,Price $,Amount $,Commission,
  Category,Note``.

Directions come from the type (Bought/Sold) or, for cash movements and transfers, from
the sign of Amount (or Quantity). Options (SecurityType OPTN) are skipped; Adjustment
and Other rows, whose meaning the export does not state, are left for the user to
resolve; a type not listed here refuses the import.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import on_day
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

LEGACY = (
    "TransactionDate",
    "TransactionType",
    "SecurityType",
    "Symbol",
    "Quantity",
    "Amount",
    "Price",
    "Commission",
    "Description",
)
ACTIVITY = (
    "Activity/Trade Date",
    "Transaction Date",
    "Settlement Date",
    "Activity Type",
    "Description",
    "Symbol",
    "Cusip",
    "Quantity #",
    "Price $",
    "Amount $",
    "Commission",
    "Category",
    "Note",
)
_TYPE = ("transactiontype", "activity_type")
_DATE = ("activity_trade_date", "transactiondate")
_BUY = frozenset({"bought", "buy"})
_SELL = frozenset({"sold", "sell"})
_DIVIDEND = frozenset({"dividend", "qualified dividend", "non-qualified dividend"})
_INTEREST = frozenset({"interest", "interest income"})
_FEE = frozenset({"fee", "service fee", "adr fee"})
_TAX = frozenset({"foreign tax", "foreign withholding", "tax withholding"})
#: Cash in or out of the account: the sign of Amount says which.
_CASH = frozenset(
    {
        "transfer",
        "online transfer",
        "deposit",
        "withdrawal",
        "direct debit",
        "direct deposit",
        "wire",
        "check",
        "contribution",
    }
)
_RESOLVE = frozenset({"adjustment", "other"})
_SECURITY_TYPES = {"EQ": AssetType.STOCK, "MF": AssetType.FUND}


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    account = _preamble_account(ctx.preamble)
    for row in table.rows():
        yield from _row(row, account)


def _preamble_account(preamble: tuple[list[str], ...]) -> str | None:
    """The account number of the legacy download's ``For Account:,####1234`` line."""
    for cells in preamble:
        if len(cells) > 1 and cells[0].strip().lower().rstrip(":") == "for account":
            return cells[1].strip() or None
    return None


def _row(row: Row, account: str | None) -> Iterator[ParsedTransaction]:
    raw_type = row.text(*_TYPE)
    kind = " ".join(raw_type.lower().split())
    on = row.day(*_DATE, order="mdy")
    settles = row.day("settlement_date", order="mdy")
    quantity = row.number("quantity")
    price = row.number("price")
    amount = row.number("amount")
    commission = row.number("commission")
    if on is None:
        if row.ok:
            row.fail(_DATE, "date is empty")
        return
    if not row.ok:
        return
    when = on_day(on)
    symbol = row.value("symbol")
    security_type = row.text("securitytype").upper()
    description = " ".join(row.text("description").split()) or None
    if security_type == "OPTN":
        row.skip("option contract (options are not tracked)")
        return
    asset_type = _SECURITY_TYPES.get(security_type)
    security: dict[str, Any] = {
        "symbol": symbol,
        "asset_type": asset_type,
        "fallback_type": None if asset_type else AssetType.STOCK,
    }
    common: dict[str, Any] = {
        "settles_on": settles,
        "description": description,
        "account": account,
    }
    entry: ParsedTransaction | None
    if kind in _BUY or kind in _SELL:
        entry = row.entry(
            T.BUY if kind in _BUY else T.SELL,
            when,
            quantity=quantity,
            price=price or None,
            fees=commission,
            amount=amount,
            column=("quantity",),
            **security,
            **common,
        )
    elif kind in _DIVIDEND or kind in _INTEREST:
        entry = row.entry(
            T.DIVIDEND if kind in _DIVIDEND else T.INTEREST,
            when,
            amount=amount,
            column=("amount",),
            **(security if symbol else {}),
            **common,
        )
    elif kind in _FEE or kind in _TAX:
        entry = row.entry(
            T.FEE if kind in _FEE else T.TAX,
            when,
            amount=amount,
            column=("amount",),
            **(security if symbol else {}),
            **common,
        )
    elif kind in _CASH and symbol and quantity and security_type != "CASH":
        entry = row.entry(
            T.TRANSFER_IN if quantity > 0 else T.TRANSFER_OUT,
            when,
            quantity=abs(quantity),
            price=price or None,
            column=("quantity",),
            **security,
            **common,
        )
    elif kind in _CASH:
        if amount is None or amount == 0:
            row.fail(("amount",), f"a {raw_type} row needs a non-zero amount")
            return
        entry = row.entry(
            T.DEPOSIT if amount > 0 else T.WITHDRAWAL,
            when,
            amount=amount,
            column=("amount",),
            **common,
        )
    elif kind in _RESOLVE:
        row.to_resolve(
            f"{raw_type} of {_text(amount)} {symbol or 'cash'} on {on.isoformat()} "
            f"({description or 'no description'}): E*TRADE does not say what it is; not "
            "recorded, record it yourself"
        )
        return
    else:
        row.fail(_TYPE, f"unknown E*TRADE transaction type {raw_type!r}")
        return
    if entry is not None:
        yield entry


def _text(value: Decimal | None) -> str:
    return "no amount" if value is None else str(value)


FORMATS = (
    Format(
        name="etrade",
        title="E*TRADE transaction history CSV (unvalidated: no real sample)",
        kind="csv",
        columns=LEGACY + ACTIVITY,
        signatures=(
            sig(*LEGACY),
            sig(
                "Activity/Trade Date",
                "Transaction Date",
                "Settlement Date",
                "Activity Type",
                "Description",
                "Symbol",
                "Quantity #",
                "Price $",
                "Amount $",
            ),
        ),
        csv_parser=parse,
        time_zone="America/New_York",
        notes="unvalidated layouts; options skipped; Adjustment/Other left to resolve",
    ),
)
