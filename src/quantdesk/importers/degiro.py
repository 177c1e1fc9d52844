"""DEGIRO's account statement (``Account.csv``) and transactions report (``Transactions.csv``).

**Account.csv** is the cash ledger, with headers in the user's language (EN ``Date,Time,
Value date,Product,ISIN,Description,FX,Change,,Balance,,Order Id``; NL ``Datum,Tijd,...,
Mutatie,,Saldo,,Order Id``; DE ``Datum,Uhrzeit`` (or the truncated ``Uhrze``)``,...,Änderung,
,Saldo,,Order-ID``; PT ``Data,Hora,...,Mudança,,Saldo,,ID da Ordem``). The change and the
balance are two cells each: the named cell holds the currency, the unnamed one after it
the amount. Times are Europe/Amsterdam ``DD-MM-YYYY`` + ``HH:MM``; the value date is not
recorded (on dividends it is the payment date, not a settlement). Amounts are read cell
by cell: a comma without a dot is a decimal comma (``"-79,35"``, ``1 046,3825``), as
exports in NL/DE write them, while other exports (and the same file, when rows are
pasted together) use a decimal point. A row whose Order Id DEGIRO wrapped onto a
continuation line (every other cell empty) is joined back to it.

Rows sharing an Order Id are one trade: the trade row (``Koop 1 @ 79,35 EUR``, ``Buy 5
HP Inc@21.31 USD (US40434L1052)``, ``Compra``/``Achat``/``Verkoop``/``Sell``/``Vente``...),
whose quantity and price come from its description, its fee rows, and for a trade in a
foreign currency with DEGIRO's automatic conversion an FX pair (``Valuta Debitering`` /
``Valuta Creditering``, ``FX Debit``/``FX Credit``, ...). The ledger has no cash-neutral
way to convert one currency into another, so such a trade is recorded **in the account
currency at the converted amount**: the foreign leg of the pair pays exactly the trade's
foreign amount (they cancel, so neither is recorded), and the account-currency leg is
the trade's cost (or proceeds); the price is that amount over the quantity. The cash of
each currency then moves exactly as DEGIRO's balance does. Fees go into the trade when
they are in the trade's currency, else they are fee entries of their own.

A currency conversion that is not part of a single trade (DEGIRO converting a dividend,
or the pair of an Order Id whose trade row is not in the file) is recorded as two linked
cash transfers of the account: ``transfer_out`` of the currency given up and
``transfer_in`` of the currency received. The amounts and currencies are exact; reports
see a flow out and a flow in on the same day, which cancel up to the conversion spread.

Symbols are ISINs (the Product name is the description). Dividends, dividend taxes,
fees (transaction costs, exchange connection fees, corporate action costs), deposits,
withdrawals and interest (flatex interest, DEGIRO courtesy, and the money market fund's
variations and final conversion, which are the return of cash parked in that fund) map
one row to one entry. DEGIRO's cash sweeps to and from flatexDEGIRO Bank, iDEAL
reservations, the funding leg of a flatex withdrawal and rows that move no cash are
skipped (the user's cash does not change). Product changes (PRODUCTWIJZIGING), ISIN
changes and stock dividends are left to resolve. A trade row whose cash change does not
match its quantity times its price is refused: the row is not what it says.

**Transactions.csv** holds the trades only: ``Quantity`` (negative: a sale), ``Price``,
``Local value``, ``Value`` (in the account currency), ``Exchange rate``, the fees
(``Transaction and/or third``) and ``Total`` (value plus fees, in the account currency),
each money column paired with an unnamed currency cell. In the English layout the
currency cell follows its amount; in the German export DEGIRO truncates the names
(``Wert in Lokalwährun``, ``Transaktionskost``) and the currency cell comes *before* its
amount (the unnamed cell after ``Anzahl`` is the price's currency). The layout is told
apart by whether the quantity column is followed by an unnamed cell. Trades are recorded
in the account currency: the price is the Value over the quantity, the fees those of the
Total (so the cash moves by the Total).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO, derived
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import EMPTY, moment, number
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

ZONE = "Europe/Amsterdam"
ACCOUNT_COLUMNS = (
    "Date",
    "Time",
    "Value date",
    "Product",
    "ISIN",
    "Description",
    "FX",
    "Change",
    "",
    "Balance",
    "",
    "Order Id",
)
TRANSACTION_COLUMNS = (
    "Date",
    "Time",
    "Product",
    "ISIN",
    "Reference exchange",
    "Venue",
    "Quantity",
    "Price",
    "",
    "Local value",
    "",
    "Value",
    "",
    "Exchange rate",
    "Transaction and/or third",
    "",
    "Total",
    "",
    "Order ID",
)

# Header keys (see cells.header_key) of each column, per language.
DATE = ("date", "datum", "data")
TIME = ("time", "tijd", "uhrzeit", "uhrze", "hora")
PRODUCT = ("product", "produkt", "produto")
DESCRIPTION = ("description", "omschrijving", "beschreibung", "descrição")
CHANGE = ("change", "mutatie", "änderung", "mudança")
BALANCE = ("balance", "saldo")
ORDER = ("order_id", "id_da_ordem")
QUANTITY = ("quantity", "anzahl")
PRICE = ("price", "kurs")
VALUE = ("value", "wert")
FEES = ("transaction_and_or_third", "transaktionskost")
TOTAL = ("total", "gesamt")

_CURRENCY = re.compile(r"[A-Z]{3}")
_TRADE = re.compile(
    r"^(?P<verb>[^\W\d_]+)\s+(?P<qty>\d+(?:[ .,]\d+)*)\s*(?P<name>[^@]*?)\s*@\s*"
    r"(?P<price>\d+(?:[.,]\d+)*)\s*(?P<cur>[A-Za-z]{3})\b"
)
_BUY = frozenset({"koop", "buy", "kauf", "compra", "achat"})
_SELL = frozenset({"verkoop", "sell", "verkauf", "venda", "vente"})
_RESOLVE = ("productwijziging", "stock dividend", "isin change", "isin-wijziging")
_FX = (
    "valuta debitering",
    "valuta creditering",
    "fx debit",
    "fx credit",
    "cambio de divisa",
    "de divisa",
    "währungswechsel",
)
_TAX_WORDS = ("belasting", "tax", "impôt", "steuer", "imposto", "retenc")
_FEE_WORDS = (
    "transactiekosten",
    "transaction and/or third party fees",
    "comissões",
    "frais",
    "transaktionskosten",
    "aansluitingskosten",
    "connection fee",
    "corporate action kosten",
)
_SKIPS = (
    (
        "cash sweep",
        "cash sweep between DEGIRO and flatexDEGIRO Bank (the user's cash does not change)",
    ),
    ("reservation", "iDEAL reservation (the deposit itself is its own row)"),
    (
        "processed flatex withdrawal",
        "funding of a withdrawal from the flatexDEGIRO Bank account "
        "(the withdrawal is its own row)",
    ),
)
_DEPOSITS = (
    "ideal deposit",
    "ideal storting",
    "flatex storting",
    "storting",
    "deposit",
    "ingreso",
    "einzahlung",
)
_WITHDRAWALS = ("terugstorting", "withdrawal", "levantamento", "retirada", "auszahlung")
_INTEREST = (
    "flatex interest",
    "interest",
    "degiro courtesy",
    "fonds monétaires",
    "money market fund",
    "geldmarktfonds",
)


def _text(text: str) -> str:
    """Undo double-encoded UTF-8 (``CrÃ©dito``), which DEGIRO files pasted through
    Windows tools carry."""
    if "Ã" not in text and "Â" not in text:
        return text
    try:
        return text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def amount(text: str) -> Decimal:
    """A DEGIRO amount, read per cell: a comma and no dot (or a comma after the last
    dot) is a decimal comma."""
    raw = text.strip()
    comma = "," in raw and ("." not in raw or raw.rfind(",") > raw.rfind("."))
    return number(raw, decimal_comma=comma)


def _when(row: Row, date_keys: tuple[str, ...], time_keys: tuple[str, ...]) -> When | None:
    """The row's date and time in Amsterdam, as UTC; an issue when bad or empty."""
    on, at = row.text(*date_keys), row.text(*time_keys)
    if not on:
        row.fail(date_keys, "date is empty")
        return None
    try:
        found = moment(f"{on} {at}".strip(), order="dmy", tz=ZONE)
    except InvalidInput as error:
        row.fail(date_keys if not at or "time" not in str(error) else time_keys, str(error))
        return None
    if found.on > row.table.ctx.today + timedelta(days=1):
        row.fail(date_keys, f"{found.on.isoformat()} is in the future")
        return None
    return found


def _money(row: Row, position: int, name: str) -> tuple[Decimal | None, str | None]:
    """The amount at ``position`` and its currency in the cell before it (Account.csv)."""
    currency = row.cells[position].strip() if position < len(row.cells) else ""
    raw = row.cells[position + 1].strip() if position + 1 < len(row.cells) else ""
    if raw in EMPTY:
        return None, None
    try:
        value = amount(raw)
    except InvalidInput as error:
        row.fail(f"{name} (amount)", str(error))
        return None, None
    if not _CURRENCY.fullmatch(currency):
        row.fail(name, f"the amount {raw} has no currency (found {currency!r})")
        return None, None
    return value, currency


# Account.csv ------------------------------------------------------------------------------


@dataclass
class _Line:
    row: Row
    when: When
    description: str
    isin: str | None
    product: str | None
    change: Decimal | None
    currency: str | None
    order: str


@dataclass
class _Group:
    lines: list[_Line] = field(default_factory=list)


def parse_account(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    change_at = _position(table, CHANGE)
    if change_at is None or _position(table, BALANCE) is None:
        ctx.issues.add(None, None, "the header has no change or balance column")
        return
    change_name = table.names[change_at]
    table.records = _joined(records, table, ctx)
    orders: dict[str, _Group] = {}
    loose_fx: dict[tuple[str, str], _Group] = {}
    singles: list[_Line] = []
    for row in table.rows():
        line = _read(row, change_at, change_name)
        if line is None:
            continue
        kind = _classify(line.description)
        if kind == "resolve":
            row.to_resolve(
                f"{line.description} ({line.product or line.isin}, "
                f"{line.when.on.isoformat()}): a corporate action DEGIRO books as a "
                "zero-cash trade pair; not applied, record the change of holdings yourself"
            )
            continue
        if line.order:
            orders.setdefault(line.order, _Group()).lines.append(line)
        elif kind == "fx":
            key = (row.text(*DATE), row.text(*TIME))
            loose_fx.setdefault(key, _Group()).lines.append(line)
        else:
            singles.append(line)
    for line in singles:
        yield from _single(line)
    for order, group in orders.items():
        yield from _order(order, group)
    for group in loose_fx.values():
        yield from _conversion(group.lines, None)


def _position(table: Table, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in table.at:
            return table.at[key]
    return None


def _joined(records: Records, table: Table, ctx: ParseContext) -> Records:
    """The records with DEGIRO's wrapped Order Ids joined back: a record whose only
    non-empty cell is the Order Id continues the previous record's Order Id."""
    order_at = _position(table, ORDER)
    held: tuple[int, list[str]] | None = None
    for line, cells in records:
        if (
            held is not None
            and order_at is not None
            and len(cells) > order_at
            and cells[order_at].strip()
            and not any(c.strip() for i, c in enumerate(cells) if i != order_at)
        ):
            previous = held[1]
            if len(previous) > order_at:
                previous[order_at] = previous[order_at].strip() + cells[order_at].strip()
            ctx.notices.skip(line, f"the rest of line {held[0]}'s Order Id, joined back to it")
            continue
        if held is not None:
            yield held
        held = (line, list(cells))
    if held is not None:
        yield held


def _read(row: Row, change_at: int, change_name: str) -> _Line | None:
    when = _when(row, DATE, TIME)
    description = _text(row.text(*DESCRIPTION))
    change, currency = _money(row, change_at, change_name)
    if when is None or not row.ok:
        return None
    if change is None:
        if "flatex" in description.lower():
            row.skip("no cash change: DEGIRO's note of a cash sweep to or from flatexDEGIRO Bank")
        else:
            row.skip("no cash change: an informational row")
        return None
    isin = row.value("isin")
    product = _text(row.value(*PRODUCT) or "") or None
    return _Line(row, when, description, isin, product, change, currency, row.text(*ORDER))


def _classify(description: str) -> str:
    text = description.lower()
    if any(text.startswith(word) or f" {word}" in text[:40] for word in _RESOLVE):
        return "resolve"
    if any(word in text for word in _FX):
        return "fx"
    match = _TRADE.match(description)
    if match is not None and match["verb"].lower() in _BUY | _SELL:
        return "trade"
    if any(word in text for word, _ in _SKIPS):
        return "skip"
    if "dividend" in text:
        return "tax" if any(w in text for w in _TAX_WORDS) else "dividend"
    if "transactiebelasting" in text or "transaction tax" in text:
        return "tax"
    if any(word in text for word in _FEE_WORDS):
        return "fee"
    if any(word in text for word in _INTEREST):
        return "interest"
    if any(word in text for word in _WITHDRAWALS):
        return "withdrawal"
    if any(text == word or text.startswith(word) or word in text for word in _DEPOSITS):
        return "deposit"
    return "unknown"


_CASH_KINDS = {
    "dividend": T.DIVIDEND,
    "tax": T.TAX,
    "fee": T.FEE,
    "interest": T.INTEREST,
    "deposit": T.DEPOSIT,
    "withdrawal": T.WITHDRAWAL,
}


def _single(line: _Line, external_id: str | None = None) -> Iterator[ParsedTransaction]:
    """A row that is one entry by itself."""
    row = line.row
    kind = _classify(line.description)
    if kind == "skip":
        reason = next(r for word, r in _SKIPS if word in line.description.lower())
        row.skip(reason)
        return
    if kind in ("trade", "fx"):  # a lone trade or FX row without an Order Id
        row.fail(DESCRIPTION, f"{line.description!r} without the Order Id that ties its legs")
        return
    if kind == "unknown":
        row.fail(DESCRIPTION, f"unknown DEGIRO account movement {line.description!r}")
        return
    entry_kind = _CASH_KINDS[kind]
    symbol = line.isin if kind in ("dividend", "tax") else None
    if kind == "dividend" and symbol is None:
        row.fail("isin", "a dividend needs the ISIN of its product")
        return
    change = line.change or ZERO
    if kind in ("deposit", "withdrawal") and (change > 0) != (kind == "deposit"):
        row.fail(CHANGE, f"a {kind} of {change} {line.currency} goes the wrong way")
        return
    if kind in ("fee", "tax") and change > 0:
        row.fail(CHANGE, f"a {kind} refund of {change} {line.currency}: the ledger has none")
        return
    entry = row.entry(
        entry_kind,
        line.when,
        symbol=symbol,
        fallback_type=AssetType.STOCK,
        amount=line.change,
        currency=line.currency,
        external_id=external_id,
        description=_describe(line),
        column=CHANGE,
        leg=f"line-{row.line}" if external_id else "",
    )
    if entry is not None:
        yield entry


def _describe(line: _Line) -> str:
    return f"{line.description} ({line.product})" if line.product else line.description


def _order(order: str, group: _Group) -> Iterator[ParsedTransaction]:
    """The rows of one Order Id: a trade with its fees and FX pair."""
    trades = [x for x in group.lines if _classify(x.description) == "trade"]
    fxs = [x for x in group.lines if _classify(x.description) == "fx"]
    fees = [x for x in group.lines if _classify(x.description) == "fee"]
    others = [x for x in group.lines if x not in trades and x not in fxs and x not in fees]
    for line in others:
        yield from _single(line, order)
    if not trades:
        for line in fees:
            yield from _single(line, order)
        if fxs:
            yield from _conversion(fxs, order)
        return
    if len(trades) > 1 or (fxs and not _pays(trades[0], fxs)):
        # several fills, or an FX pair that is not this trade's conversion: every leg in
        # its own currency
        for line in trades:
            yield from _trade(line, order, line.change, line.currency, [], f"trade-{line.row.line}")
        for line in fees:
            yield from _single(line, order)
        if fxs:
            yield from _conversion(fxs, order)
        return
    trade = trades[0]
    cash, currency = trade.change, trade.currency
    if fxs:
        home = next(x for x in fxs if x.currency != trade.currency)
        cash, currency = home.change, home.currency
    same = [x for x in fees if x.currency == currency]
    yield from _trade(trade, order, cash, currency, same, "trade")
    for line in fees:
        if line not in same:
            yield from _single(line, order)


def _pays(trade: _Line, fxs: list[_Line]) -> bool:
    """Whether ``fxs`` is exactly the conversion of ``trade``: one leg in the trade's
    currency that cancels its cash, one leg in another currency going the other way."""
    if len(fxs) != 2 or trade.change is None:
        return False
    foreign = [x for x in fxs if x.currency == trade.currency]
    home = [x for x in fxs if x.currency != trade.currency]
    if len(foreign) != 1 or len(home) != 1:
        return False
    away, back = foreign[0].change, home[0].change
    return (
        away is not None
        and back is not None
        and away == -trade.change
        and (back > 0) == (trade.change > 0)
    )


def _trade(
    line: _Line,
    order: str,
    cash: Decimal | None,
    currency: str | None,
    fees: list[_Line],
    leg: str,
) -> Iterator[ParsedTransaction]:
    row = line.row
    match = _TRADE.match(line.description)
    assert match is not None
    kind = T.BUY if match["verb"].lower() in _BUY else T.SELL
    try:
        quantity = amount(match["qty"])
        quoted = amount(match["price"])
    except InvalidInput as error:
        row.fail(DESCRIPTION, str(error))
        return
    if cash is None or line.change is None or quantity <= 0:
        row.fail(DESCRIPTION, "a trade needs a quantity and a cash change")
        return
    if (cash < 0) != (kind is T.BUY) or cash == 0:
        row.fail(CHANGE, f"a {kind.value} with a cash change of {cash} {currency}")
        return
    unit = match["cur"].upper()
    if unit == "GBX" and line.currency == "GBP":
        quoted, unit = quoted / 100, "GBP"  # DEGIRO quotes London shares in pence
    if unit == line.currency:
        expected = quantity * quoted
        if abs(abs(line.change) - expected) > Decimal("0.01"):
            row.fail(
                CHANGE,
                f"the cash change {line.change} {line.currency} does not match "
                f"{match['qty']} x {match['price']} {match['cur']} from the description "
                f"({expected.normalize()})",
            )
            return
    fee_total = sum((abs(f.change or ZERO) for f in fees), ZERO)
    entry = row.entry(
        kind,
        line.when,
        symbol=line.isin,
        fallback_type=AssetType.STOCK,
        quantity=quantity,
        price=derived(abs(cash) / quantity),
        fees=fee_total,
        currency=currency,
        external_id=order,
        description=_describe(line),
        column=DESCRIPTION,
        leg=leg,
    )
    if entry is not None:
        yield entry


def _conversion(lines: list[_Line], order: str | None) -> Iterator[ParsedTransaction]:
    """A currency conversion as two linked cash transfers (see the module docstring)."""
    given = [x for x in lines if x.change is not None and x.change < 0]
    got = [x for x in lines if x.change is not None and x.change > 0]
    first = min(lines, key=lambda x: x.row.line)
    if len(given) != 1 or len(got) != 1 or given[0].currency == got[0].currency:
        first.row.fail(
            CHANGE,
            "a currency conversion needs one debit and one credit in two currencies "
            f"(found {', '.join(f'{x.change} {x.currency}' for x in lines)})",
        )
        return
    out, into = given[0], got[0]
    link = f"degiro-fx:{order or out.when.at.isoformat()}:{out.currency}-{into.currency}"
    given_up = f"{abs(out.change or ZERO)} {out.currency}"
    what = f"currency conversion {given_up} -> {into.change} {into.currency}"
    for line, kind, leg in ((out, T.TRANSFER_OUT, "fx-out"), (into, T.TRANSFER_IN, "fx-in")):
        entry = line.row.entry(
            kind,
            line.when,
            amount=abs(line.change or ZERO),
            currency=line.currency,
            external_id=order,
            description=f"{what} ({line.description})",
            link=link,
            column=CHANGE,
            leg=leg,
        )
        if entry is not None:
            yield entry


# Transactions.csv -------------------------------------------------------------------------


def parse_transactions(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    quantity_at = _position(table, QUANTITY)
    assert quantity_at is not None  # the signature names it
    # German export: the unnamed cell after the quantity is the price's currency, and
    # every currency precedes its amount; English: each currency follows its amount.
    before = quantity_at + 1 < len(table.keys) and not table.keys[quantity_at + 1]
    for row in table.rows():
        yield from _transaction(row, before)


def _paired(row: Row, keys: tuple[str, ...], before: bool) -> tuple[Decimal | None, str | None]:
    """A money column's amount and the currency in its unnamed neighbour cell."""
    position = _position(row.table, keys)
    if position is None:
        return None, None
    value = row.parsed(keys, amount)
    side = position - 1 if before else position + 1
    if side < 0 or side >= len(row.table.keys) or row.table.keys[side]:
        row.fail(keys, "no unnamed currency column next to this column")
        return None, None
    currency = row.cells[side].strip() if side < len(row.cells) else ""
    if value is not None and not _CURRENCY.fullmatch(currency):
        row.fail(keys, f"the currency cell next to it holds {currency!r}, not a currency code")
        return None, None
    return value, currency or None


def _transaction(row: Row, before: bool) -> Iterator[ParsedTransaction]:
    when = _when(row, DATE, TIME)
    quantity = row.parsed(QUANTITY, amount)
    value, value_currency = _paired(row, VALUE, before)
    fees, fee_currency = _paired(row, FEES, before)
    total, total_currency = _paired(row, TOTAL, before)
    isin = row.value("isin")
    if when is None or not row.ok:
        return
    if quantity is None or quantity == 0:
        row.fail(QUANTITY, "a trade needs a non-zero quantity")
        return
    if total is None:
        row.fail(TOTAL, "a trade needs its total")
        return
    kind = T.BUY if quantity > 0 else T.SELL
    if (total < 0) != (kind is T.BUY):
        row.fail(TOTAL, f"a {kind.value} of {abs(quantity)} with a total of {total}")
        return
    fee = abs(fees) if fees else ZERO
    if fee and fee_currency != total_currency:
        row.fail(FEES, f"fees in {fee_currency}, the total in {total_currency}")
        return
    if value is not None and value_currency == total_currency:
        gross = abs(value)
        if abs(gross + (fee if kind is T.BUY else -fee) - abs(total)) > Decimal("0.01"):
            row.fail(TOTAL, f"the total {total} is not the value {value} with fees {fees}")
            return
    else:
        gross = abs(total) - fee if kind is T.BUY else abs(total) + fee
    product = row.value(*PRODUCT)
    entry = row.entry(
        kind,
        when,
        symbol=isin,
        fallback_type=AssetType.STOCK,
        quantity=quantity,
        price=derived(gross / abs(quantity)),
        fees=fee,
        currency=total_currency,
        external_id=row.value("order_id"),
        description=product,
        column=QUANTITY,
    )
    if entry is not None:
        yield entry


FORMATS = (
    Format(
        name="degiro-account",
        title="DEGIRO account statement (Account.csv, any language)",
        kind="csv",
        columns=ACCOUNT_COLUMNS,
        signatures=(
            sig(*(c for c in ACCOUNT_COLUMNS if c)),
            sig(
                "Datum",
                "Tijd",
                "Valutadatum",
                "Product",
                "ISIN",
                "Omschrijving",
                "FX",
                "Mutatie",
                "Saldo",
                "Order Id",
            ),
            sig(
                "Datum",
                "Uhrzeit",
                "Valutadatum",
                "Produkt",
                "ISIN",
                "Beschreibung",
                "FX",
                "Änderung",
                "Saldo",
                "Order-ID",
            ),
            sig(
                "Datum",
                "Uhrze",
                "Valutadatum",
                "Produkt",
                "ISIN",
                "Beschreibung",
                "FX",
                "Änderung",
                "Saldo",
                "Order-ID",
            ),
            sig(
                "Data",
                "Hora",
                "Data Valor",
                "Produto",
                "ISIN",
                "Descrição",
                "T.",
                "Mudança",
                "Saldo",
                "ID da Ordem",
            ),
        ),
        csv_parser=parse_account,
        time_zone=ZONE,
        notes="trades grouped by Order Id; foreign trades in the account currency; "
        "conversions as cash transfers; product changes and stock dividends left to resolve",
    ),
    Format(
        name="degiro-transactions",
        title="DEGIRO transactions report (Transactions.csv)",
        kind="csv",
        columns=TRANSACTION_COLUMNS,
        signatures=(
            sig(
                "Date",
                "Time",
                "Product",
                "ISIN",
                "Reference exchange",
                "Quantity",
                "Price",
                "Local value",
                "Value",
                "Exchange rate",
                "Transaction and/or third",
                "Total",
                "Order ID",
            ),
            sig(
                "Datum",
                "Uhrzeit",
                "Produkt",
                "ISIN",
                "Referenzbörse",
                "Anzahl",
                "Kurs",
                "Wert in Lokalwährun",
                "Wert",
                "Wechselkurs",
                "Transaktionskost",
                "Gesamt",
                "Order-ID",
            ),
        ),
        csv_parser=parse_transactions,
        time_zone=ZONE,
        notes="trades only, in the account currency (Total includes the fees)",
    ),
)
