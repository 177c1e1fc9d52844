"""Trading 212's history export (CSV), every vintage.

The columns change with the account's features and the export's date, so they are read
by name: ``Action``, ``Time`` (or ``Time (UTC)``; UTC, ``YYYY-MM-DD HH:MM:SS[.mmm]``),
``ISIN``, ``Ticker``, ``Name``, ``Notes``, ``ID``, ``No. of shares``, ``Price / share``
with ``Currency (Price / share)``, ``Exchange rate`` (instrument currency per account
currency), ``Result``, ``Total``, ``Withholding tax`` and the fee columns, each money
column with a ``Currency (...)`` sibling; 2020-era files name the account currency in
the column instead (``Total (GBP)``, ``Transaction fee (GBP)``).

``Total`` is what the row moved in the account currency (unsigned: the action gives
the direction), so every entry is recorded in that currency and the account's cash moves
by exactly the Total. A buy or sell is ``No. of shares`` at the price ``(Total - fees) /
shares`` (buy) or ``(Total + fees) / shares`` (sell) with the fees (currency conversion
fee, stamp duty reserve tax, French transaction tax, transaction fee, Finra fee) in the
account currency. A fee charged in the instrument currency is converted with the row's
exchange rate and rounded to cents, as Trading 212 does for its Total. ``Price / share``
is in the instrument currency (``GBX`` for London shares, pence: a hundredth of a GBP)
and is not needed: the account-currency price comes from the Total. ``Result`` (the
realised gain) is left to the ledger to compute. ``ID`` is the external id.

A dividend's Total is the net amount received in the account currency, and its
``Withholding tax`` is in the instrument's currency at a rate the export does not give
(``Not available``). It is recorded as the dividend received (Total, account currency)
plus, when tax was withheld, a dividend of the withheld amount and a tax of the same
amount in the tax's currency: gross income and the tax are both in the ledger, and the
cash of every currency moves exactly as the account's did.

``Currency conversion`` (cash from one currency to another: the ``Currency conversion
from/to amount`` columns, or Notes such as ``0.01 GBP -> 0.01 EUR``) is recorded as two
linked cash transfers, ``transfer_out`` of the currency given up and ``transfer_in`` of
the currency received, since the ledger has no cash-neutral currency exchange; the
conversion fee, if any, is a fee entry. A stock split is two rows, ``Stock split close``
(the old number of shares) and ``Stock split open`` (the new one): one split entry whose
quantity is the number of shares added (negative for a reverse split). Stock
distributions, spin-offs and dividend adjustments (whose direction the unsigned Total
does not give) are left to resolve. Deposits, withdrawals, interest on cash, lending
interest, transfers of shares in or out, and the cash card's debits (withdrawals),
credits (deposits) and cashback (interest) map one row to one entry.

Every number and currency cell of a row is checked against its column, so a row pasted
from another layout (the shared E2G sample's last rows) is refused naming its line and
column instead of giving a wrong ledger.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import header_key
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

COLUMNS = (
    "Action",
    "Time",
    "ISIN",
    "Ticker",
    "Name",
    "Notes",
    "ID",
    "No. of shares",
    "Price / share",
    "Currency (Price / share)",
    "Exchange rate",
    "Result",
    "Currency (Result)",
    "Total",
    "Currency (Total)",
    "Withholding tax",
    "Currency (Withholding tax)",
    "Stamp duty reserve tax",
    "Currency (Stamp duty reserve tax)",
    "French transaction tax",
    "Currency (French transaction tax)",
    "Transaction fee",
    "Currency (Transaction fee)",
    "Finra fee",
    "Currency (Finra fee)",
    "Currency conversion from amount",
    "Currency (Currency conversion from amount)",
    "Currency conversion to amount",
    "Currency (Currency conversion to amount)",
    "Currency conversion fee",
    "Currency (Currency conversion fee)",
    "Merchant name",
    "Merchant category",
)
#: Money columns (base key), read as numbers; each may have a currency sibling.
MONEY = (
    "no_of_shares",
    "price_share",
    "exchange_rate",
    "result",
    "total",
    "withholding_tax",
    "charge_amount",
    "stamp_duty_reserve_tax",
    "french_transaction_tax",
    "transaction_fee",
    "finra_fee",
    "currency_conversion_from_amount",
    "currency_conversion_to_amount",
    "currency_conversion_fee",
)
FEES = (
    "currency_conversion_fee",
    "stamp_duty_reserve_tax",
    "french_transaction_tax",
    "transaction_fee",
    "finra_fee",
)
_SUFFIX = re.compile(r"^(.*?)\s*\(([A-Z]{3})\)$")
_CURRENCY = re.compile(r"[A-Z]{3}")
_NOTE_CONVERSION = re.compile(r"([\d.,]+)\s*([A-Z]{3})\s*->\s*([\d.,]+)\s*([A-Z]{3})")
_CASH: dict[str, T] = {
    "deposit": T.DEPOSIT,
    "withdrawal": T.WITHDRAWAL,
    "interest on cash": T.INTEREST,
    "lending interest": T.INTEREST,
    "card debit": T.WITHDRAWAL,
    "card credit": T.DEPOSIT,
    "spending cashback": T.INTEREST,
}
_RESOLVE = ("stock distribution", "spin-off", "spin off", "dividend adjustment")


class _Columns:
    """Where each column is, by base key, and the currency a 2020-era name gives it."""

    def __init__(self, table: Table) -> None:
        self.at: dict[str, int] = {}
        self.unit: dict[str, str] = {}
        self.keys = table.keys
        for position, name in enumerate(table.names):
            match = _SUFFIX.match(name)
            key = header_key(match[1]) if match else table.keys[position]
            if key and key not in self.at:
                self.at[key] = position
                if match:
                    self.unit[key] = match[2]
        self.names = table.names

    def name(self, key: str) -> str:
        position = self.at.get(key)
        return self.names[position] if position is not None else key

    def key(self, key: str) -> str:
        """The table's own key of a base key (``total`` is ``total_gbp`` in 2020 files)."""
        position = self.at.get(key)
        return self.keys[position] if position is not None else key


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    columns = _Columns(table)
    opened: dict[str, tuple[Row, Decimal, When]] = {}
    for row in table.rows():
        yield from _row(row, columns, opened)
    for _, (row, quantity, when) in opened.items():
        row.to_resolve(
            f"stock split close of {quantity} shares of {_label(row)} on "
            f"{when.on.isoformat()} without its 'Stock split open' row: not applied"
        )


class _Cells:
    """One row's checked cells: every money column parsed, every currency validated."""

    def __init__(self, row: Row, columns: _Columns) -> None:
        self.row, self.columns = row, columns
        self.money: dict[str, Decimal] = {}
        self.currency: dict[str, str] = {}
        for key in MONEY:
            position = columns.at.get(key)
            if position is None:
                continue
            value = row.number(columns.key(key))
            if value is None:
                continue
            self.money[key] = value
            unit = columns.unit.get(key) or self._sibling(key)
            if unit is not None:
                self.currency[key] = unit

    def _sibling(self, key: str) -> str | None:
        sibling = f"currency_{key}"
        if key == "price_share":
            sibling = "currency_price_share"
        if sibling not in self.columns.at:
            return None
        text = self.row.text(sibling).strip('"')
        if not text:
            return None
        if not _CURRENCY.fullmatch(text.upper()):
            self.row.fail(sibling, f"not a currency code: {text!r}")
            return None
        return text.upper()


def _label(row: Row) -> str:
    return row.value("ticker") or row.value("isin") or row.value("name") or "?"


def _row(
    row: Row, columns: _Columns, opened: dict[str, tuple[Row, Decimal, When]]
) -> Iterator[ParsedTransaction]:
    action = row.text("action")
    lowered = action.lower()
    when = row.when("time", "time_utc")
    cells = _Cells(row, columns)
    if when is None or not row.ok:
        return
    isin, ticker, name = row.value("isin"), row.value("ticker"), row.value("name")
    symbol = isin or ticker
    description = " ".join(p for p in (name, f"({ticker})" if ticker else None) if p) or None
    external_id = row.value("id")
    notes = row.value("notes")
    total = cells.money.get("total")
    currency = cells.currency.get("total")
    shares = cells.money.get("no_of_shares")
    if lowered.endswith((" buy", " sell")) and lowered.split()[0] in ("market", "limit", "stop"):
        kind = T.BUY if lowered.endswith("buy") else T.SELL
        if shares is None or shares <= 0:
            row.fail(columns.key("no_of_shares"), f"a {kind.value} needs its number of shares")
            return
        if total is None:
            row.fail(columns.key("total"), f"a {kind.value} needs its Total")
            return
        fees = _fees(row, cells, currency)
        if fees is None:
            return
        gross = abs(total) - fees if kind is T.BUY else abs(total) + fees
        if gross <= 0:
            row.fail(columns.key("total"), f"a Total of {total} leaves nothing after fees {fees}")
            return
        entry = row.entry(
            kind,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=shares,
            price=derived(gross / shares),
            fees=fees,
            currency=currency,
            external_id=external_id,
            description=description,
            column=columns.key("no_of_shares"),
        )
        if entry is not None:
            yield entry
    elif lowered.startswith("dividend") and "adjustment" not in lowered:
        yield from _dividend(row, cells, when, symbol, description, external_id)
    elif lowered in _CASH:
        if total is None:
            row.fail(columns.key("total"), f"a {lowered} needs its Total")
            return
        kind = _CASH[lowered]
        merchant = row.value("merchant_name")
        entry = row.entry(
            kind,
            when,
            amount=total,
            currency=currency,
            external_id=external_id,
            description=" ".join(p for p in (action, merchant or notes) if p),
            column=columns.key("total"),
        )
        if entry is not None:
            yield entry
    elif lowered == "currency conversion":
        yield from _conversion(row, cells, when, notes, external_id)
    elif lowered in ("transfer in", "transfer out"):
        if shares is None or shares <= 0:
            row.fail(columns.key("no_of_shares"), f"a {lowered} needs its number of shares")
            return
        price = derived(abs(total) / shares) if total else None
        entry = row.entry(
            T.TRANSFER_IN if lowered == "transfer in" else T.TRANSFER_OUT,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=shares,
            price=price,
            currency=currency if price is not None else None,
            external_id=external_id,
            description=description,
            column=columns.key("no_of_shares"),
        )
        if entry is not None:
            yield entry
    elif lowered in ("stock split close", "stock split open"):
        yield from _split(row, cells, when, symbol, description, external_id, opened)
    elif lowered in _RESOLVE:
        row.to_resolve(
            f"{action} of {shares if shares is not None else 'an unknown number of'} "
            f"shares of {_label(row)} on {when.on.isoformat()} (Total {total} {currency}): "
            "not applied; record the change of holdings (and cost basis) yourself"
        )
    else:
        row.fail("action", f"unknown Trading 212 action {action!r}")


def _fees(row: Row, cells: _Cells, account: str | None) -> Decimal | None:
    """The row's fees in the account currency (None, with an issue, when one cannot be
    converted)."""
    total = ZERO
    instrument = cells.currency.get("price_share")
    rate = cells.money.get("exchange_rate")
    for key in FEES:
        fee = cells.money.get(key)
        if not fee:
            continue
        unit = cells.currency.get(key, account)
        if unit is None or unit == account or account is None:
            total += abs(fee)
        elif unit == instrument and rate:
            total += (abs(fee) / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        else:
            row.fail(
                cells.columns.key(key),
                f"a fee of {fee} {unit} in neither the account currency ({account}) nor "
                f"the instrument's ({instrument}) with an exchange rate",
            )
            return None
    return total


def _dividend(
    row: Row,
    cells: _Cells,
    when: When,
    symbol: str | None,
    description: str | None,
    external_id: str | None,
) -> Iterator[ParsedTransaction]:
    total, currency = cells.money.get("total"), cells.currency.get("total")
    if total is None:
        row.fail(cells.columns.key("total"), "a dividend needs its Total")
        return
    entries = [
        row.entry(
            T.DIVIDEND,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=total,
            currency=currency,
            external_id=external_id,
            description=description,
            column=cells.columns.key("total"),
            leg="received",
        )
    ]
    withheld = cells.money.get("withholding_tax")
    if withheld:
        unit = cells.currency.get("withholding_tax", currency)
        note = f"tax withheld from the dividend of {description or symbol}"
        for kind, leg in ((T.DIVIDEND, "withheld"), (T.TAX, "withholding-tax")):
            entries.append(
                row.entry(
                    kind,
                    when,
                    symbol=symbol,
                    fallback_type=AssetType.STOCK,
                    amount=abs(withheld),
                    currency=unit,
                    external_id=external_id,
                    description=note,
                    column=cells.columns.key("withholding_tax"),
                    leg=leg,
                )
            )
    for entry in entries:
        if entry is not None:
            yield entry


def _conversion(
    row: Row, cells: _Cells, when: When, notes: str | None, external_id: str | None
) -> Iterator[ParsedTransaction]:
    given = cells.money.get("currency_conversion_from_amount")
    given_unit = cells.currency.get("currency_conversion_from_amount")
    got = cells.money.get("currency_conversion_to_amount")
    got_unit = cells.currency.get("currency_conversion_to_amount")
    if given is None or got is None or given_unit is None or got_unit is None:
        match = _NOTE_CONVERSION.search(notes or "")
        if match is None:
            row.fail("notes", "a currency conversion without 'AMOUNT CCY -> AMOUNT CCY'")
            return
        given, given_unit = Decimal(match[1].replace(",", "")), match[2]
        got, got_unit = Decimal(match[3].replace(",", "")), match[4]
    link = f"t212-fx:{external_id or when.at.isoformat()}"
    what = f"currency conversion {abs(given)} {given_unit} -> {abs(got)} {got_unit}"
    legs = ((T.TRANSFER_OUT, given, given_unit, "out"), (T.TRANSFER_IN, got, got_unit, "in"))
    for kind, value, unit, leg in legs:
        entry = row.entry(
            kind,
            when,
            amount=abs(value),
            currency=unit,
            external_id=external_id,
            description=what,
            link=link,
            column="notes",
            leg=leg,
        )
        if entry is not None:
            yield entry
    fee = cells.money.get("currency_conversion_fee")
    if fee:
        entry = row.entry(
            T.FEE,
            when,
            amount=fee,
            currency=cells.currency.get("currency_conversion_fee", given_unit),
            external_id=external_id,
            description=f"fee of the {what}",
            column=cells.columns.key("currency_conversion_fee"),
            leg="fee",
        )
        if entry is not None:
            yield entry


def _split(
    row: Row,
    cells: _Cells,
    when: When,
    symbol: str | None,
    description: str | None,
    external_id: str | None,
    opened: dict[str, tuple[Row, Decimal, When]],
) -> Iterator[ParsedTransaction]:
    shares = cells.money.get("no_of_shares")
    action = row.text("action").lower()
    if shares is None or shares <= 0 or symbol is None:
        row.fail(cells.columns.key("no_of_shares"), f"a {action} needs a symbol and shares")
        return
    if action == "stock split close":
        opened[symbol] = (row, shares, when)
        return
    closed = opened.pop(symbol, None)
    if closed is None:
        row.to_resolve(
            f"stock split open of {shares} shares of {_label(row)} on {when.on.isoformat()} "
            "without its 'Stock split close' row: not applied"
        )
        return
    before = closed[1]
    entry = row.entry(
        T.SPLIT,
        when,
        symbol=symbol,
        fallback_type=AssetType.STOCK,
        quantity=shares - before,
        external_id=external_id,
        description=f"stock split: {before} shares became {shares} ({description or symbol})",
        column=cells.columns.key("no_of_shares"),
    )
    if entry is not None:
        yield entry


FORMATS = (
    Format(
        name="trading212",
        title="Trading 212 history export (CSV, every vintage)",
        kind="csv",
        columns=COLUMNS,
        signatures=(
            sig("Action", "Time", "ISIN", "Ticker", "Name", "No. of shares", "Price / share", "ID"),
            sig(
                "Action",
                "Time (UTC)",
                "ISIN",
                "Ticker",
                "Name",
                "No. of shares",
                "Price / share",
                "ID",
            ),
        ),
        csv_parser=parse,
        notes="entries in the account currency from Total; withholding kept as tax; "
        "conversions as cash transfers; stock distributions left to resolve",
    ),
)
