"""Interactive Brokers Flex Queries, as CSV and as XML.

Flex CSV: the columns are whatever the user selected, all quoted, named by IBKR field
(``Buy/Sell``, ``TradeDate``, ``DateTime`` = ``20230403;095853``, ``ISIN``,
``Quantity``, ``TradePrice``, ``TradeMoney``, ``CurrencyPrimary``, ``IBCommission``,
``IBCommissionCurrency``; cash transactions: ``Type``, ``SettleDate``, ``Description``,
``Amount``). A file may hold several sections, each opening with its own header line
(and ``BOF``/``BOS``/``EOS``/``EOF`` records, reported as skipped). The symbol is the
``Symbol`` column when the query has one, else the ISIN.

Flex XML: ``<FlexQueryResponse>`` with ``<Trade>`` (not ``<Lot>``: the lots a sale
closed), ``<CashTransaction>`` by ``type`` and ``<CorporateAction>`` elements, whose
attributes are the same fields. An element's ``line`` is its position in the document
(the root is 1). Files declaring a DOCTYPE or entities are refused.

Currency exchanges (asset class ``CASH``, or no ISIN and no symbol) are two linked cash
legs when the pair is known (``EUR.USD``); a Flex CSV without a Symbol column does not say
which currency was sold, so such rows are skipped with their amounts in the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import header_key, on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.ibkr_common import (
    TIME_ZONE,
    asset_type_of,
    cash,
    commission,
    described_symbol,
    forex,
    is_derivative,
    skip_derivative,
    symbol_of,
)
from quantdesk.importers.ibkr_statement import corporate_action
from quantdesk.importers.table import ParseContext, Records, Row, Table

TRADE_COLUMNS = (
    "Buy/Sell",
    "TradeDate",
    "ISIN",
    "Quantity",
    "TradePrice",
    "TradeMoney",
    "CurrencyPrimary",
    "IBCommission",
    "IBCommissionCurrency",
)
CASH_COLUMNS = ("Type", "SettleDate", "ISIN", "Description", "Amount", "CurrencyPrimary")
FLEX_CASH = {
    "dividends": "dividend",
    "payment in lieu of dividends": "dividend",
    "withholding tax": "tax",
    "871(m) withholding": "tax",
    "deposits/withdrawals": "deposit",
    "deposits & withdrawals": "deposit",
    "broker interest received": "interest",
    "broker interest paid": "interest",
    "bond interest received": "interest",
    "bond interest paid": "interest",
    "other fees": "fee",
    "commission adjustments": "fee",
    "advisor fees": "fee",
}
_PAIR = re.compile(r"^[A-Za-z]{3}\.[A-Za-z]{3}$")
_DATE_KEYS = frozenset(
    {"currencyprimary", "currency", "tradedate", "settledate", "datetime", "reportdate"}
)
_FRAMING = frozenset({"BOF", "EOF", "BOS", "EOS"})


# rows shared by CSV and XML -------------------------------------------------------------
def _when(row: Row, *dates: str) -> When | None:
    """``DateTime`` (US/Eastern) when the row has one, else the first date given."""
    if row.value("datetime") is not None:
        return row.when("datetime", tz=TIME_ZONE)
    on = row.day(*dates)
    if on is None:
        if row.ok:
            row.fail(dates, "date is empty")
        return None
    return on_day(on)


def _symbol(row: Row) -> str | None:
    if row.table.has("symbol"):
        return symbol_of(row.value("symbol"))
    return row.value("isin")


def trade(row: Row) -> Iterator[ParsedTransaction]:
    """One ``Trade``: a buy or sell, a currency exchange, or a skipped derivative."""
    side = row.text("buy_sell", "buysell").upper()
    category = row.text("assetclass", "assetcategory")
    symbol = _symbol(row)
    if is_derivative(category):
        skip_derivative(row, category, row.value("symbol") or symbol)
        return
    when = _when(row, "tradedate", "reportdate")
    quantity = row.required_number("quantity")
    price = row.number("tradeprice")
    money = row.number("trademoney")
    proceeds = row.number("proceeds")
    currency = row.value("currencyprimary", "currency")
    fee = row.number("ibcommission")
    fee_currency = row.value("ibcommissioncurrency") or currency
    account = row.value("clientaccountid", "accountid")
    external_id = row.value("tradeid") or row.value("transactionid")
    if side not in ("BUY", "SELL"):
        row.fail(("buy_sell", "buysell"), f"unknown trade side {side!r} (expected BUY or SELL)")
        return
    if not row.ok or when is None or quantity is None:
        return
    if quantity == 0:
        row.fail("quantity", "a trade of 0 units")
        return
    if proceeds is None and money is not None:
        proceeds = -money
    is_fx = category.upper() == "CASH" or (
        not category and row.value("isin") is None and (symbol is None or _PAIR.match(symbol))
    )
    if is_fx:
        if symbol is None or not _PAIR.match(symbol):
            row.skip(
                f"currency exchange ({side}): {abs(quantity)} units of a currency the export "
                f"does not name, at {price} {currency} each ({_amount(proceeds)} {currency}; "
                f"commission {_amount(fee)} {fee_currency}); the pair is not in the export: "
                "add the Symbol column to the Flex Query"
            )
            return
        yield from forex(
            row, when, symbol, quantity, price, proceeds, account=account, external_id=external_id
        )
        yield from commission(
            row, when, fee, fee_currency, account=account, external_id=external_id, what=symbol
        )
        return
    if (quantity > 0) != (side == "BUY"):
        row.fail("quantity", f"a {side} of {quantity} units")
        return
    same = (fee_currency or "").upper() == (currency or "").upper()
    entry = row.entry(
        T.BUY if side == "BUY" else T.SELL,
        when,
        symbol=symbol,
        asset_type=asset_type_of(category, row.text("subcategory")),
        fallback_type=AssetType.STOCK,
        quantity=quantity,
        price=price,
        fees=fee if same else None,
        amount=proceeds,
        currency=currency,
        account=account,
        external_id=external_id,
        description=row.value("description"),
        column="quantity",
    )
    if entry is not None:
        yield entry
    if not same:
        yield from commission(
            row,
            when,
            fee,
            fee_currency,
            account=account,
            external_id=external_id,
            what=symbol or "a trade",
        )


def _amount(value: Decimal | None) -> str:
    return "?" if value is None else str(abs(value))


def cash_transaction(row: Row) -> Iterator[ParsedTransaction]:
    """One cash transaction by its ``Type``."""
    kind = row.text("type")
    mapped = FLEX_CASH.get(kind.lower())
    if mapped is None:
        row.fail("type", f"unknown Flex cash transaction type {kind!r}")
        return
    when = _when(row, "settledate", "reportdate", "date")
    amount = row.required_number("amount")
    description = row.text("description")
    if not row.ok or when is None or amount is None:
        return
    yield from cash(
        row,
        mapped,
        when,
        amount,
        currency=row.value("currencyprimary", "currency"),
        symbol=_symbol(row) or described_symbol(description),
        asset_type=asset_type_of(row.text("assetcategory"), row.text("subcategory")),
        account=row.value("clientaccountid", "accountid"),
        external_id=row.value("transactionid"),
        description=description,
    )


# CSV ------------------------------------------------------------------------------------
def _is_header(cells: list[str]) -> bool:
    """A new section's header: field names only (every data row has a date), one of
    them a date or currency field."""
    if any(ch.isdigit() for cell in cells for ch in cell):
        return False
    return bool(_DATE_KEYS & {header_key(c) for c in cells})


def parse_csv(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    table = Table(header, iter(()), ctx)
    for line, cells in records:
        first = cells[0].strip().upper() if cells else ""
        if first in _FRAMING:
            ctx.notices.skip(line, f"Flex {first} record (file or section framing)")
            continue
        if _is_header(cells):
            table = Table(cells, iter(()), ctx)
            continue
        row = table.row(line, cells)
        if row is None:
            continue
        if table.has("buy_sell") or table.has("buysell"):
            yield from trade(row)
        elif table.has("type") and table.has("amount"):
            yield from cash_transaction(row)
        else:
            row.fail(None, "a Flex section with neither Buy/Sell nor Type and Amount columns")


# XML ------------------------------------------------------------------------------------
_CONTAINERS = frozenset(
    {
        "FlexQueryResponse",
        "FlexStatements",
        "FlexStatement",
        "Trades",
        "CashTransactions",
        "CorporateActions",
    }
)


def sniff_xml(head: bytes) -> bool:
    return b"<FlexQueryResponse" in head


def parse_xml(data: bytes, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise InvalidInput(
            "the Flex XML file declares a DOCTYPE or entities, which IBKR never writes; "
            "refused (such declarations can expand without bound): export the query again"
        )
    try:
        # DOCTYPE and entity declarations are refused above; expat fetches nothing.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as error:
        raise InvalidInput(f"not a well-formed Flex Query XML file ({error})") from None
    if root.tag != "FlexQueryResponse":
        raise InvalidInput(f"not a Flex Query XML file (its root is <{root.tag}>)")
    elements = list(root.iter())
    orders = any(
        e.tag == "Trade" and e.get("levelOfDetail", "").upper() == "ORDER" for e in elements
    )
    for index, element in enumerate(elements):
        line, tag = index + 1, element.tag
        if tag in _CONTAINERS:
            continue
        row = Table(list(element.attrib), iter(()), ctx).row(line, list(element.attrib.values()))
        if row is None:
            continue
        level = element.get("levelOfDetail", "").upper()
        if tag == "Lot" or (tag == "Trade" and level == "CLOSED_LOT"):
            row.skip("closed lot (the lot a sale closed, not a transaction)")
        elif tag == "Trade" and level == "EXECUTION" and orders:
            row.skip("a fill of an order imported from its ORDER-level Trade")
        elif tag == "Trade" and level in ("", "EXECUTION", "ORDER"):
            yield from trade(row)
        elif tag == "Trade":
            row.skip(f"{level.lower()} trade line (a sum of the trades)")
        elif tag == "CashTransaction":
            yield from cash_transaction(row)
        elif tag == "CorporateAction":
            yield from _corporate_action(row)
        else:
            row.skip(f"{tag} is not a ledger entry")


def _corporate_action(row: Row) -> Iterator[ParsedTransaction]:
    when = _when(row, "reportdate")
    quantity = row.number("quantity")
    if not row.ok or when is None:
        return
    yield from corporate_action(
        row,
        when,
        row.text("actiondescription", "description"),
        quantity,
        row.text("assetcategory"),
        row.value("accountid"),
        row.value("transactionid"),
        symbol_of(row.value("symbol")),
    )


FORMATS = (
    Format(
        name="ibkr-flex-csv",
        title="Interactive Brokers Flex Query (CSV)",
        kind="csv",
        columns=(*TRADE_COLUMNS, "DateTime", "Symbol", "TradeID", "TransactionID", *CASH_COLUMNS),
        signatures=(
            sig("Buy/Sell", "TradeDate", "Quantity", "TradePrice", "CurrencyPrimary"),
            sig("Buy/Sell", "DateTime", "Quantity", "TradePrice", "CurrencyPrimary"),
            sig("Type", "SettleDate", "Description", "Amount", "CurrencyPrimary"),
        ),
        csv_parser=parse_csv,
        time_zone=TIME_ZONE,
        notes="trades and cash transactions; FX rows need the Symbol column",
    ),
    Format(
        name="ibkr-flex-xml",
        title="Interactive Brokers Flex Query (XML)",
        kind="xml",
        columns=("Trade", "CashTransaction", "CorporateAction"),
        document_parser=parse_xml,
        sniff=sniff_xml,
        time_zone=TIME_ZONE,
        notes="trades, cash transactions, forward splits; other corporate actions to resolve",
    ),
)
