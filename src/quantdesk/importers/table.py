"""A broker's CSV table after its header: rows addressed by column name, typed cells
that record an issue instead of raising, and one builder for ledger entries.

Every broker importer reads its rows through :class:`Table` and turns them into
:class:`ParsedTransaction` with :meth:`Row.entry`, so every format gets the same checks
(positive quantities, storable numbers, a price derived from the cash amount when the
export gives none) and the same issue wording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, normalize_currency, normalize_symbol
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.importers.base import Issues, Notices, ParsedTransaction, content_key
from quantdesk.importers.cells import EMPTY, day, header_key, moment, number
from quantdesk.importers.csvio import CsvDialect
from quantdesk.importers.dates import When

T = TypeVar("T")
#: Separates a row's content key from the name of one of several entries it makes.
LEG = "\x1e"
Records = Iterator[tuple[int, list[str]]]


@dataclass(slots=True)
class ParseContext:
    """What every parser is given besides its rows: today's date (UTC), where row issues
    go, where skipped and to-resolve rows go, the file's dialect and its preamble."""

    today: date
    issues: Issues
    notices: Notices
    dialect: CsvDialect
    #: The records above the header (a preamble such as ``For Account:,####1234``).
    preamble: tuple[list[str], ...] = ()


class Table:
    """Rows of one table by header name. ``decimal_comma`` reads ``12,5`` as 12.5."""

    def __init__(
        self,
        header: list[str],
        records: Records,
        ctx: ParseContext,
        *,
        decimal_comma: bool = False,
    ) -> None:
        self.names = [cell.strip().lstrip("\ufeff").strip() for cell in header]
        self.keys = [header_key(cell) for cell in header]
        while len(self.keys) > 1 and not self.keys[-1] and not self.names[-1]:
            self.keys.pop()  # a trailing comma on every line is no column
            self.names.pop()
        self.width = len(self.keys)
        self.at: dict[str, int] = {}
        for position, key in enumerate(self.keys):
            if key:
                self.at.setdefault(key, position)
        self.records, self.ctx, self.decimal_comma = records, ctx, decimal_comma

    def has(self, key: str) -> bool:
        return key in self.at

    def rows(
        self,
        *,
        footer: Callable[[list[str]], bool] | None = None,
        ragged: bool = False,
    ) -> Iterator[Row]:
        """The table's rows. From the first row ``footer`` accepts, the rest of the file
        is footer text, reported as skipped. A row with more non-empty cells than the
        header has columns, or (unless ``ragged``) fewer cells, is an issue."""
        for line, cells in self.records:
            if footer is not None and footer(cells):
                self.ctx.notices.skip(line, "footer or disclaimer text")
                for rest, _ in self.records:
                    self.ctx.notices.skip(rest, "footer or disclaimer text")
                return
            row = self.row(line, cells, ragged=ragged)
            if row is not None:
                yield row

    def row(self, line: int, cells: list[str], *, ragged: bool = False) -> Row | None:
        """One record as a row, or None (with an issue) when its cells do not match."""
        count = len(cells)
        while count > self.width and not cells[count - 1].strip():
            count -= 1
        if count > self.width:
            self.ctx.issues.add(
                line,
                None,
                f"{count} cells but the header names {self.width} columns "
                "(a row from another layout, or a value with an unquoted comma)",
            )
            return None
        if count < self.width and not ragged:
            self.ctx.issues.add(
                line, None, f"truncated row: {count} cells, the header names {self.width}"
            )
            return None
        return Row(self, line, cells)


class Row:
    """One record's cells by column key, with typed accessors that record issues."""

    __slots__ = ("cells", "line", "ok", "table")

    def __init__(self, table: Table, line: int, cells: list[str]) -> None:
        self.table, self.line, self.cells, self.ok = table, line, cells, True

    # cells ----------------------------------------------------------------------------
    def text(self, *keys: str) -> str:
        """The stripped cell of the first of ``keys`` the header has ("" when none)."""
        at = self.table.at
        for key in keys:
            position = at.get(key)
            if position is not None:
                cells = self.cells
                return cells[position].strip() if position < len(cells) else ""
        return ""

    def value(self, *keys: str) -> str | None:
        """The cell, or None when it is empty or one of the exports' "no value" marks."""
        text = self.text(*keys)
        return None if text in EMPTY else text

    def column(self, *keys: str) -> str:
        """The header's own name for the first of ``keys`` it has (for issues)."""
        for key in keys:
            position = self.table.at.get(key)
            if position is not None:
                return self.table.names[position]
        return keys[0]

    def fail(self, keys: str | tuple[str, ...] | None, reason: str) -> None:
        self.ok = False
        column = None
        if keys is not None:
            column = self.column(*((keys,) if isinstance(keys, str) else keys))
        self.table.ctx.issues.add(self.line, column, reason)

    def parsed(self, keys: str | tuple[str, ...], parse: Callable[[str], T]) -> T | None:
        names = (keys,) if isinstance(keys, str) else keys
        raw = self.value(*names)
        if raw is None:
            return None
        try:
            return parse(raw)
        except InvalidInput as error:
            self.fail(names, str(error))
            return None

    def number(self, *keys: str) -> Decimal | None:
        raw = self.text(*keys)  # written out rather than through parsed(): the hot path
        if raw in EMPTY:
            return None
        try:
            return number(raw, decimal_comma=self.table.decimal_comma)
        except InvalidInput as error:
            self.fail(keys, str(error))
            return None

    def required_number(self, *keys: str) -> Decimal | None:
        value = self.number(*keys)
        if value is None and self.ok:
            self.fail(keys, "required number is empty")
        return value

    def day(self, *keys: str, order: str = "ymd") -> date | None:
        return self.parsed(keys, lambda text: day(text, order))

    def when(self, *keys: str, order: str = "ymd", tz: str = "UTC") -> When | None:
        """The date and time of the first of ``keys``; an issue when empty or bad."""
        raw = self.text(*keys)
        found: When | None = None
        if raw in EMPTY:
            if self.ok:
                self.fail(keys, "date is empty")
        else:
            try:
                found = moment(raw, order=order, tz=tz)
            except InvalidInput as error:
                self.fail(keys, str(error))
        if found is not None and found.on > self.table.ctx.today + timedelta(days=1):
            self.fail(keys, f"{found.on.isoformat()} is in the future")
            return None
        return found

    # notices --------------------------------------------------------------------------
    def skip(self, reason: str) -> None:
        """This row is not a ledger entry on purpose (reported, never silent)."""
        self.table.ctx.notices.skip(self.line, reason)

    def to_resolve(self, reason: str) -> None:
        """This row changes holdings in a way the ledger must not guess: the user resolves it."""
        self.table.ctx.notices.resolve(self.line, None, reason)

    # entries --------------------------------------------------------------------------
    def entry(
        self,
        kind: TransactionType,
        when: When,
        *,
        symbol: str | None = None,
        asset_type: AssetType | None = None,
        fallback_type: AssetType | None = None,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        fees: Decimal | None = None,
        amount: Decimal | None = None,
        currency: str | None = None,
        account: str | None = None,
        external_id: str | None = None,
        description: str | None = None,
        link: str | None = None,
        split_ratio: Decimal | None = None,
        settles_on: date | None = None,
        acquired_on: date | None = None,
        leg: str = "",
        column: str | tuple[str, ...] | None = None,
    ) -> ParsedTransaction | None:
        """A ledger entry from this row, checked; None (with an issue) when it cannot be.

        Deposits, withdrawals, fees and taxes take the absolute amount (the type is the
        direction). A buy or sell with no price gets cash amount over quantity. ``leg``
        tells apart several entries one row makes.
        """
        return build_entry(
            self.table.ctx.issues,
            self.line,
            kind,
            when,
            symbol=symbol,
            asset_type=asset_type,
            fallback_type=fallback_type,
            quantity=quantity,
            price=price,
            fees=fees,
            amount=amount,
            currency=currency,
            account=account,
            external_id=external_id,
            description=description,
            link=link,
            split_ratio=split_ratio,
            settles_on=settles_on,
            acquired_on=acquired_on,
            leg=leg,
            column=None
            if column is None
            else self.column(*((column,) if isinstance(column, str) else column)),
            ok=self.ok,
        )


# Exports repeat the same symbols and currencies on many rows: check each text once.
_symbol = lru_cache(maxsize=16_384)(normalize_symbol)
_currency = lru_cache(maxsize=256)(normalize_currency)
_POSITIVE = {
    TransactionType.DEPOSIT,
    TransactionType.WITHDRAWAL,
    TransactionType.FEE,
    TransactionType.TAX,
}
_UNITS = {TransactionType.BUY, TransactionType.SELL, TransactionType.STAKING_REWARD}


def build_entry(
    issues: Issues,
    line: int,
    kind: TransactionType,
    when: When,
    *,
    symbol: str | None = None,
    asset_type: AssetType | None = None,
    fallback_type: AssetType | None = None,
    quantity: Decimal | None = None,
    price: Decimal | None = None,
    fees: Decimal | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    account: str | None = None,
    external_id: str | None = None,
    description: str | None = None,
    link: str | None = None,
    split_ratio: Decimal | None = None,
    settles_on: date | None = None,
    acquired_on: date | None = None,
    leg: str = "",
    column: str | None = None,
    ok: bool = True,
) -> ParsedTransaction | None:
    """A checked ledger entry (see :meth:`Row.entry`); also for parsers of non-CSV files."""
    problems: list[str] = []
    try:
        symbol = _symbol(symbol) if symbol else None
    except InvalidInput as error:
        problems.append(str(error))
    try:
        currency = _currency(currency) if currency else None
    except InvalidInput as error:
        problems.append(str(error))
    fees = abs(fees) if fees else ZERO
    if kind in _UNITS:
        if symbol is None:
            problems.append(f"a {kind.value} needs a symbol")
        if quantity is None or quantity == 0:
            problems.append(f"a {kind.value} needs a quantity")
        else:
            quantity = abs(quantity)
            if price is None and amount is not None:
                gross = abs(amount)
                if kind is TransactionType.BUY:
                    gross -= fees
                elif kind is TransactionType.SELL:
                    gross += fees
                price = derived(max(gross, ZERO) / quantity)
        if price is None and kind is not TransactionType.STAKING_REWARD:
            problems.append(f"a {kind.value} needs a price or an amount")
        if kind is not TransactionType.STAKING_REWARD:
            amount = None
    elif kind in _POSITIVE:
        if amount is None and kind is TransactionType.FEE and fees:
            amount, fees = fees, ZERO
        if amount is None:
            problems.append(f"a {kind.value} needs an amount")
        else:
            amount = abs(amount)
    elif kind in (TransactionType.DIVIDEND, TransactionType.INTEREST) and (
        amount is None and (quantity is None or price is None)
    ):
        problems.append(f"a {kind.value} needs an amount")
    if price is not None and price < 0:
        problems.append(f"a price cannot be negative ({price})")
    if problems:
        for problem in problems:
            issues.add(line, column, problem)
        return None
    if not ok:
        return None
    entry = Transaction(
        account="",
        type=kind,
        traded_at=when.at,
        trade_date=when.on,
        timed=when.timed,
        quantity=quantity,
        price=price,
        fees=fees,
        amount=amount,
        settles_on=settles_on,
        acquired_on=acquired_on,
        split_ratio=split_ratio,
        link=link[:100] if link else None,
        origin=Origin.IMPORT,
        external_id=external_id[:200] if external_id else None,
        description=description[:500] if description else None,
    )
    # A row with the export's own id is known by it (see the import's fingerprint): its
    # content key would only be thrown away.
    key = "" if external_id else content_key(entry)
    if leg:
        key += LEG + leg
    return ParsedTransaction(line, entry, account, symbol, asset_type, currency, key, fallback_type)


def conversion_legs(
    issues: Issues,
    line: int,
    when: When,
    *,
    given: tuple[str, Decimal],
    received: tuple[str, Decimal],
    value: Decimal,
    currency: str,
    link: str,
    external_id: str | None = None,
    description: str | None = None,
    leg_prefix: str = "",
    column: str | None = None,
) -> tuple[ParsedTransaction, ...]:
    """A coin-for-coin trade as the ledger's two linked conversion legs: the units given
    up (negative quantity) and the units received, each priced so that quantity x price
    is ``value`` in ``currency``. Empty (with the issues recorded) when either leg cannot
    be built: a conversion is never stored half."""
    legs = []
    for (symbol, units), leg in ((given, "out"), (received, "in")):
        quantity = -abs(units) if leg == "out" else abs(units)
        entry = build_entry(
            issues,
            line,
            TransactionType.CONVERSION,
            when,
            symbol=symbol,
            asset_type=AssetType.CRYPTO,
            quantity=quantity,
            price=derived(value / abs(units)),
            currency=currency,
            external_id=external_id,
            description=description,
            link=link,
            leg=leg_prefix + leg,
            column=column,
        )
        if entry is None:
            return ()
        legs.append(entry)
    return tuple(legs)
