"""quantdesk's own formats: the generic holdings snapshot and the generic trades file.

Holdings: ``symbol,quantity,asset_type,cost_basis,purchase_date`` (``cost_basis`` per unit;
``asset_type``, ``cost_basis`` and ``purchase_date`` may be empty; optional ``account``,
``currency``, ``name``).

Trades: ``symbol,type,quantity,price,fees,date`` in any column order, with optional
``amount``, ``account``, ``currency``, ``asset_type``, ``external_id``, and for the
less common entries ``ratio`` (splits), ``to_symbol``/``to_quantity``/``to_asset_type``
(a conversion in one row), ``link`` (pairs two transfer legs), ``acquired_on`` (a
transfer in that keeps its holding period), ``settlement_date`` and ``description``.
Cash rows (deposit, withdrawal, interest, a fee or tax with no symbol) leave ``symbol``,
``quantity`` and ``price`` empty and give ``amount``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, normalize_currency, normalize_symbol
from quantdesk.domain.money import ZERO, check_storable, derived, parse_decimal
from quantdesk.domain.transactions import (
    Origin,
    Transaction,
    TransactionType,
    parse_transaction_type,
)
from quantdesk.importers.base import (
    HoldingRow,
    Issues,
    ParsedTransaction,
    content_key,
    number_key,
)
from quantdesk.importers.csvio import CsvDialect
from quantdesk.importers.dates import parse_date, parse_when

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FormatSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str

    def missing(self, header: list[str]) -> list[str]:
        return [column for column in self.required if column not in header]


HOLDINGS = FormatSpec(
    "generic-holdings",
    ("symbol", "quantity"),
    ("asset_type", "cost_basis", "purchase_date", "account", "currency", "name"),
    "a holdings snapshot: units held per symbol, cost basis per unit, purchase date",
)
TRADES = FormatSpec(
    "generic-trades",
    ("symbol", "type", "quantity", "price", "date"),
    (
        "fees",
        "amount",
        "account",
        "currency",
        "asset_type",
        "external_id",
        "ratio",
        "to_symbol",
        "to_quantity",
        "to_asset_type",
        "link",
        "acquired_on",
        "settlement_date",
        "description",
    ),
    "a trades and cash ledger: buys, sells, income, fees, cash movements, transfers",
)
FORMATS = (HOLDINGS, TRADES)


def detect(header: list[str]) -> FormatSpec:
    """The generic format a header belongs to, or an error naming what is missing."""
    if "type" in header:
        spec = TRADES
    elif "symbol" in header and "quantity" in header:
        spec = HOLDINGS
    else:
        raise InvalidInput(
            "unrecognized file: its header "
            f"({', '.join(h for h in header if h) or 'empty'}) matches no format; "
            f"generic-holdings needs {', '.join(HOLDINGS.required)} and generic-trades "
            f"needs {', '.join(TRADES.required)}"
        )
    return spec


def check_header(spec: FormatSpec, header: list[str]) -> None:
    missing = spec.missing(header)
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        raise InvalidInput(
            f"missing required column{'s' if len(missing) > 1 else ''} {names} for "
            f"{spec.name} (its columns: {', '.join(spec.required + spec.optional)})"
        )


class _Columns:
    """Where each column of a format sits in a file's rows.

    Rows are padded with one empty cell, where every absent column points, so that
    reading a cell is one list index: the parsers touch a dozen cells a row.
    """

    def __init__(self, header: list[str], spec: FormatSpec) -> None:
        self.width = len(header) + 1
        absent = len(header)
        self.at = dict.fromkeys(spec.required + spec.optional, absent)
        for position, name in enumerate(header):
            if name in self.at and self.at[name] == absent:
                self.at[name] = position

    def cells(self, raw: list[str]) -> list[str]:
        """The stripped cells, cut or padded to the header, plus the empty cell."""
        cells = [cell.strip() for cell in raw[: self.width - 1]]
        cells.extend([""] * (self.width - len(cells)))
        return cells


class _Row:
    """Cells of one record by column name, with typed accessors that record issues."""

    __slots__ = ("at", "cells", "columns", "decimal_comma", "issues", "line", "ok")

    def __init__(
        self,
        line: int,
        cells: list[str],
        columns: _Columns,
        dialect: CsvDialect,
        issues: Issues,
    ) -> None:
        self.cells = columns.cells(cells)
        self.columns, self.at = columns, columns.at
        self.line, self.decimal_comma, self.issues = line, dialect.decimal_comma, issues
        self.ok = True
        header = columns.width - 1
        if len(cells) > header and any(cell.strip() for cell in cells[header:]):
            self.fail(None, f"{len(cells)} cells but the header names {header} columns")

    def text(self, column: str) -> str:
        return self.cells[self.at[column]]

    def fail(self, column: str | None, reason: str) -> None:
        self.ok = False
        self.issues.add(self.line, column, reason)

    def parsed(self, column: str, parse: Callable[[str], T]) -> T | None:
        raw = self.cells[self.at[column]]
        if not raw:
            return None
        try:
            return parse(raw)
        except InvalidInput as error:
            self.fail(column, str(error))
            return None

    def number(self, column: str) -> Decimal | None:
        return self.parsed(column, _european_number if self.decimal_comma else _number)

    def checked(self, column: str, value: Decimal) -> Decimal | None:
        """A derived number, if the ledger can store it; else an issue on ``column``."""
        try:
            return check_storable(value)
        except InvalidInput as error:
            self.fail(column, f"gives a price of {value}: {error}")
            return None

    def require(self, column: str, value: object, why: str) -> None:
        if value is None and self.ok:
            self.fail(column, f"required {why}")


#: Plain numbers the ledger stores exactly as written (the vast majority of cells).
_STORABLE = re.compile(r"-?\d{1,20}(\.\d{1,18})?").fullmatch


def _number(text: str) -> Decimal:
    if _STORABLE(text):
        return Decimal(text)
    return check_storable(parse_decimal(text))


def _european_number(text: str) -> Decimal:
    return check_storable(parse_decimal(text, decimal_comma=True))


# Exports repeat the same dates, symbols and types on many rows: parse each text once.
_when = lru_cache(maxsize=16_384)(parse_when)
_date = lru_cache(maxsize=16_384)(parse_date)
_symbol = lru_cache(maxsize=16_384)(normalize_symbol)
_currency = lru_cache(maxsize=256)(normalize_currency)
_kind = lru_cache(maxsize=256)(parse_transaction_type)
_asset_type = lru_cache(maxsize=64)(AssetType.parse)


def _not_future(row: _Row, column: str, day: date | None, today: date) -> None:
    """Refuse dates after today; today is the UTC date, and the source's date may be a
    day ahead of it (east of UTC), so one day of grace."""
    if day is not None and day > today + timedelta(days=1):
        row.fail(column, f"{day.isoformat()} is in the future (today is {today.isoformat()})")


def parse_holdings(
    records: Iterator[tuple[int, list[str]]],
    header: list[str],
    dialect: CsvDialect,
    *,
    today: date,
    issues: Issues,
) -> Iterator[HoldingRow]:
    """Rows of a holdings snapshot; bad rows are reported in ``issues`` and skipped."""
    columns = _Columns(header, HOLDINGS)
    for line, cells in records:
        row = _Row(line, cells, columns, dialect, issues)
        symbol = row.parsed("symbol", _symbol)
        row.require("symbol", symbol, "symbol is empty")
        quantity = row.number("quantity")
        row.require("quantity", quantity, "quantity is empty")
        if quantity is not None and quantity < 0:
            row.fail("quantity", f"a holding cannot be negative ({quantity})")
        asset_type = row.parsed("asset_type", _asset_type)
        cost = row.number("cost_basis")
        if cost is not None and cost < 0:
            row.fail("cost_basis", f"cost basis cannot be negative ({cost})")
        purchased = row.parsed("purchase_date", _date)
        _not_future(row, "purchase_date", purchased, today)
        currency = row.parsed("currency", _currency)
        if row.ok and symbol is not None and quantity is not None:
            yield HoldingRow(
                line,
                symbol,
                quantity,
                asset_type,
                cost,
                purchased,
                row.text("account") or None,
                currency,
            )


_NEEDS_INSTRUMENT = {
    TransactionType.BUY,
    TransactionType.SELL,
    TransactionType.SPLIT,
    TransactionType.STAKING_REWARD,
    TransactionType.CONVERSION,
    TransactionType.DIVIDEND,
}
_POSITIVE_AMOUNT = {
    TransactionType.DEPOSIT,
    TransactionType.WITHDRAWAL,
    TransactionType.FEE,
    TransactionType.TAX,
}


def parse_trades(
    records: Iterator[tuple[int, list[str]]],
    header: list[str],
    dialect: CsvDialect,
    *,
    today: date,
    issues: Issues,
) -> Iterator[ParsedTransaction]:
    """Entries of a trades file; bad rows are reported in ``issues`` and skipped."""
    columns = _Columns(header, TRADES)
    for line, cells in records:
        yield from _trade(_Row(line, cells, columns, dialect, issues), today)


def parse_entry(
    values: dict[str, str], *, today: date, issues: Issues
) -> tuple[ParsedTransaction, ...]:
    """One ledger entry given as generic-trades cells by column name (the API's manual
    entry): the same checks as a file row; issues name the column."""
    header = [name for name in values if name in TRADES.required + TRADES.optional]
    record = [values[name] for name in header]
    row = _Row(1, record, _Columns(header, TRADES), CsvDialect("utf-8", ","), issues)
    return _trade(row, today)


def _trade(row: _Row, today: date) -> tuple[ParsedTransaction, ...]:
    kind = row.parsed("type", _kind)
    row.require("type", kind, "type is empty")
    when = row.parsed("date", _when)
    row.require("date", when, "date is empty")
    if when is not None:
        _not_future(row, "date", when.on, today)
    symbol = row.parsed("symbol", _symbol)
    quantity = row.number("quantity")
    price = row.number("price")
    fees = row.number("fees") or ZERO
    amount = row.number("amount")
    asset_type = row.parsed("asset_type", _asset_type)
    currency = row.parsed("currency", _currency)
    settles = row.parsed("settlement_date", _date)
    acquired = row.parsed("acquired_on", _date)
    _not_future(row, "acquired_on", acquired, today)
    ratio = row.number("ratio")
    if fees < 0:
        row.fail("fees", f"fees cannot be negative ({fees})")
    if price is not None and price < 0:
        row.fail("price", f"a price cannot be negative ({price})")
    if kind is None or when is None or not row.ok:
        return ()
    if kind in _NEEDS_INSTRUMENT and symbol is None:
        row.fail("symbol", f"a {kind.value} needs a symbol")
    if kind in (TransactionType.BUY, TransactionType.SELL, TransactionType.STAKING_REWARD):
        if quantity is None:
            row.fail("quantity", f"a {kind.value} needs a quantity")
        elif quantity <= 0:
            hint = " (record a sale with type sell)" if kind is TransactionType.BUY else ""
            row.fail("quantity", f"a {kind.value} quantity must be positive, got {quantity}{hint}")
        elif price is None and amount is not None:
            price = row.checked("price", derived(abs(amount) / quantity))
        if price is None and row.ok:
            row.fail("price", f"a {kind.value} needs a price (or an amount)")
    elif kind is TransactionType.DIVIDEND:
        if quantity is not None and quantity <= 0:
            row.fail("quantity", f"a reinvested dividend quantity must be positive, got {quantity}")
        if amount is None and (quantity is None or price is None):
            row.fail("amount", "a dividend needs an amount (or quantity and price if reinvested)")
        if quantity is not None and price is None and amount is not None:
            price = row.checked("price", derived(amount / quantity))
    elif kind in (TransactionType.INTEREST, *_POSITIVE_AMOUNT):
        if amount is None and kind is TransactionType.FEE and fees:
            amount, fees = fees, ZERO
        if amount is None:
            row.fail("amount", f"a {kind.value} needs an amount")
        elif kind is TransactionType.DEPOSIT and amount < 0:
            row.fail("amount", f"a deposit amount must be positive, got {amount} (use withdrawal)")
        elif kind in _POSITIVE_AMOUNT:
            amount = abs(amount)
    elif kind in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT):
        if symbol is None and amount is None:
            row.fail(
                "amount", f"a cash {kind.value} needs an amount (or give a symbol and quantity)"
            )
        if symbol is not None and (quantity is None or quantity <= 0):
            row.fail("quantity", f"a {kind.value} of {symbol} needs a positive quantity")
        if amount is not None:
            amount = abs(amount)
    elif kind is TransactionType.SPLIT:
        if ratio is None and quantity is None:
            row.fail("ratio", "a split needs a ratio (new units per old unit) or the units added")
        if ratio is not None and ratio <= 0:
            row.fail("ratio", f"a split ratio must be positive, got {ratio}")
    if not row.ok:
        return ()
    external_id = row.text("external_id") or None
    for column, limit in (("external_id", 200), ("link", 100), ("account", 100)):
        if len(row.text(column)) > limit:
            row.fail(column, f"longer than {limit} characters")
    if not row.ok:
        return ()
    base = Transaction(
        account="",
        type=kind,
        traded_at=when.at,
        trade_date=when.on,
        timed=when.timed,
        quantity=quantity,
        price=price,
        fees=fees,
        amount=amount,
        settles_on=settles,
        acquired_on=acquired,
        split_ratio=ratio,
        link=row.text("link") or None,
        origin=Origin.IMPORT,
        external_id=external_id,
        description=row.text("description") or None,
    )
    account = row.text("account") or None
    single = ParsedTransaction(
        row.line, base, account, symbol, asset_type, currency, content_key(base)
    )
    if kind is TransactionType.CONVERSION:
        return _conversion(row, single)
    return (single,)


def _conversion(row: _Row, single: ParsedTransaction) -> tuple[ParsedTransaction, ...]:
    """A one-row conversion (``to_symbol``/``to_quantity``) becomes two linked legs; a
    row with a negative quantity or a link is one leg of a two-row conversion."""
    base, account, symbol = single.transaction, single.account, single.symbol
    asset_type, currency = single.asset_type, single.currency
    to_symbol = row.parsed("to_symbol", _symbol)
    to_quantity = row.number("to_quantity")
    to_type = row.parsed("to_asset_type", _asset_type)
    quantity = base.quantity
    if quantity is None or quantity == 0:
        row.fail("quantity", "a conversion needs the quantity given up")
        return ()
    if to_symbol is None:
        if quantity < 0 or base.link:  # a single leg of a two-row conversion
            return (single,)
        row.fail("to_symbol", "a one-row conversion needs to_symbol and to_quantity")
        return ()
    if to_quantity is None or to_quantity <= 0:
        row.fail("to_quantity", "a conversion needs a positive to_quantity")
        return ()
    value = abs(base.amount) if base.amount is not None else base.gross
    if value is None:
        row.fail("price", "a conversion needs the value given up: a price per unit or an amount")
        return ()
    quantity = abs(quantity)
    out_price = row.checked("price", derived(value / quantity))
    in_price = row.checked("to_quantity", derived(value / to_quantity))
    if out_price is None or in_price is None:
        return ()
    key = content_key(base) + "\x1f".join(("", to_symbol, str(to_type), number_key(to_quantity)))
    link = base.link or "conversion:" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    out_leg = base._replace(quantity=-quantity, price=out_price, amount=None, link=link)
    in_leg = base._replace(quantity=to_quantity, price=in_price, amount=None, fees=ZERO, link=link)
    return (
        ParsedTransaction(row.line, out_leg, account, symbol, asset_type, currency, key + ":out"),
        ParsedTransaction(row.line, in_leg, account, to_symbol, to_type, currency, key + ":in"),
    )
