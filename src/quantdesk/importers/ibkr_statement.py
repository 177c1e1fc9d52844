"""Interactive Brokers statements in ``Section,Header|Data|SubTotal|Total,...`` framing:
the Activity Statement CSV and the newer Transaction History CSV.

Every line names its section; a section's columns come from its own ``Header`` line,
re-read whenever another one appears (Net Asset Value and Trades have several). Both
reports open with the same ``Statement,Header,Field Name,Field Value`` line, so the
line that tells them apart is the statement's title, ``Statement,Data,Title,Activity
Statement`` or ``...,Transaction History``; a Transaction History without that line is
still recognized by its own section header.

Activity Statement: Trades (``Order`` rows, or ``Trade`` fills when there are no Order
rows; never both; ClosedLot rows are the lots a sale closed, not transactions), Deposits
& Withdrawals, Dividends, Payment In Lieu Of Dividends, Withholding Tax, Fees, Interest
and Corporate Actions (forward splits; anything else is left to resolve) become ledger
entries. Every other section (NAV, Open Positions, Cash Report, Codes, Notes...) is
reported as skipped, line by line. Times are US/Eastern.

Transaction History: one section of dated rows in the account's base currency (named in
its Summary section); ``-`` is an empty cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.ibkr_common import (
    TIME_ZONE,
    cash,
    commission,
    described_symbol,
    forex,
    is_derivative,
    skip_derivative,
    split_ratio,
    symbol_of,
)
from quantdesk.importers.table import ParseContext, Records, Row, Table

Handler = Callable[[Row, "Statement"], Iterator[ParsedTransaction]]


class Statement:
    """What one file's rows need from the rest of the file."""

    def __init__(self, ctx: ParseContext, uses_orders: bool) -> None:
        self.ctx, self.uses_orders = ctx, uses_orders
        self.base_currency: str | None = None


def _sections(
    header: list[str],
    records: Records,
    ctx: ParseContext,
    handlers: dict[str, Handler],
    read: dict[str, Callable[[Row, Statement], None]],
) -> Iterator[ParsedTransaction]:
    lines = list(records)
    uses_orders = any(
        len(c) > 2 and c[0].strip() == "Trades" and c[1].strip() == "Data" and c[2] == "Order"
        for _, c in lines
    )
    state = Statement(ctx, uses_orders)
    tables: dict[str, Table] = {}
    if len(header) > 2 and header[1].strip() == "Header":  # detected by a section header
        tables[_name(header[0])] = Table(header[2:], iter(()), ctx)
    for line, cells in lines:
        if len(cells) < 2:
            ctx.issues.add(line, None, "not a statement line (expected Section,Header|Data,...)")
            continue
        section, kind = _name(cells[0]), cells[1].strip()
        handler = handlers.get(section)
        reader = read.get(section)
        if handler is None and reader is None:
            ctx.notices.skip(line, f"section {section} is not a ledger entry")
            continue
        if kind == "Header":
            tables[section] = Table(cells[2:], iter(()), ctx)
            continue
        if kind in ("SubTotal", "Total", "Notes"):
            ctx.notices.skip(line, f"{section}: {kind} line (sums of the rows above)")
            continue
        if kind != "Data":
            ctx.issues.add(
                line,
                None,
                f"unknown line kind {kind!r} in section {section} (expected "
                "Header, Data, SubTotal or Total)",
            )
            continue
        table = tables.get(section)
        if table is None:
            ctx.issues.add(line, None, f"a {section} line before the section's Header line")
            continue
        data = cells[2:]
        if data and data[0].strip().startswith("Total"):
            ctx.notices.skip(line, f"{section}: total line (sums of the rows above)")
            continue
        row = table.row(line, data)
        if row is None:
            continue
        if reader is not None:
            reader(row, state)
            ctx.notices.skip(line, f"section {section} is not a ledger entry")
        elif handler is not None:
            yield from handler(row, state)


def _name(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip()


# Activity Statement --------------------------------------------------------------------
def _when(row: Row, *keys: str) -> When | None:
    """A row's time: ``Date/Time`` in US/Eastern, or a date alone."""
    if row.table.has("date_time"):
        return row.when("date_time", tz=TIME_ZONE)
    on = row.day(*keys)
    if on is None:
        if row.ok:
            row.fail(keys, "date is empty")
        return None
    return on_day(on)


def _account(row: Row) -> str | None:
    return row.value("account")


def _trade(row: Row, state: Statement) -> Iterator[ParsedTransaction]:
    discriminator = row.text("datadiscriminator")
    if discriminator == "ClosedLot":
        row.skip("closed lot (the lot a sale closed, not a transaction)")
        return
    if discriminator == "Trade" and state.uses_orders:
        row.skip("a fill of an order imported from its Order line")
        return
    if discriminator not in ("Order", "Trade", ""):
        row.fail("datadiscriminator", f"unknown trade line {discriminator!r}")
        return
    category = row.text("asset_category")
    symbol = symbol_of(row.value("symbol"))
    if is_derivative(category):
        skip_derivative(row, category, row.value("symbol"))
        return
    when = row.when("date_time", tz=TIME_ZONE)
    quantity = row.required_number("quantity")
    price = row.number("t_price")
    proceeds = row.number("proceeds")
    currency = row.value("currency")
    fee_key = next((k for k in row.table.at if k == "comm_fee" or k.startswith("comm_in_")), "")
    fee = row.number(fee_key) if fee_key else None
    fee_currency = fee_key[len("comm_in_") :].upper() if fee_key.startswith("comm_in_") else None
    if not row.ok or when is None or quantity is None:
        return
    account = _account(row)
    if category.lower() == "forex":
        if symbol is None:
            row.fail("symbol", "a currency exchange needs its pair (EUR.USD)")
            return
        yield from forex(
            row, when, symbol, quantity, price, proceeds, account=account, external_id=None
        )
        yield from commission(
            row,
            when,
            fee,
            fee_currency or currency,
            account=account,
            external_id=None,
            what=symbol,
        )
        return
    if category.lower() != "stocks":
        if category.lower() in ("bonds", "treasury bills", "mutual funds"):
            row.to_resolve(
                f"{category} trade of {quantity} {symbol} at {price} {currency}: IBKR quotes "
                "these in its own units (bonds in percent of face value); record it yourself"
            )
            return
        row.fail("asset_category", f"unknown asset category {category!r}")
        return
    if quantity == 0:
        row.fail("quantity", "a trade of 0 units")
        return
    kind = T.BUY if quantity > 0 else T.SELL
    same = fee_currency is None or fee_currency == (currency or "").upper()
    entry = row.entry(
        kind,
        when,
        symbol=symbol,
        fallback_type=AssetType.STOCK,
        quantity=quantity,
        price=price,
        fees=fee if same else None,
        amount=proceeds,
        currency=currency,
        account=account,
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
            external_id=None,
            what=f"{symbol}",
        )


def _cash_section(kind: str) -> Handler:
    def handle(row: Row, state: Statement) -> Iterator[ParsedTransaction]:
        when = _when(row, "date", "settle_date", "report_date")
        amount = row.required_number("amount")
        description = row.text("description")
        if not row.ok or when is None or amount is None:
            return
        yield from cash(
            row,
            kind,
            when,
            amount,
            currency=row.value("currency"),
            symbol=symbol_of(row.value("symbol")) or described_symbol(description),
            account=_account(row),
            external_id=None,
            description=description,
        )

    return handle


def _corporate_action(row: Row, state: Statement) -> Iterator[ParsedTransaction]:
    description = row.text("description")
    when = _when(row, "report_date", "date")
    quantity = row.number("quantity")
    if not row.ok or when is None:
        return
    yield from corporate_action(
        row, when, description, quantity, row.text("asset_category"), _account(row), None
    )


def corporate_action(
    row: Row,
    when: When,
    description: str,
    quantity: Decimal | None,
    category: str,
    account: str | None,
    external_id: str | None,
    symbol: str | None = None,
) -> Iterator[ParsedTransaction]:
    """A forward split becomes a ``split``; anything else is left to the user."""
    ratio = split_ratio(description)
    symbol = described_symbol(description) or symbol
    if ratio is not None and ratio > 1 and quantity is not None and quantity > 0:
        entry = row.entry(
            T.SPLIT,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            split_ratio=ratio,
            account=account,
            external_id=external_id,
            description=description,
        )
        if entry is not None:
            yield entry
        return
    what = "reverse split" if ratio is not None else "corporate action"
    row.to_resolve(
        f"{what} on {when.on.isoformat()} ({description}; quantity {quantity}): not applied; "
        "record the change of holdings yourself"
    )


def _transfer(row: Row, state: Statement) -> Iterator[ParsedTransaction]:
    row.to_resolve(
        f"position transfer of {row.text('qty', 'quantity')} {row.text('symbol')} "
        f"({row.text('direction')} {row.text('type')}) on {row.text('date')}: record it as a "
        "transfer with its cost basis yourself"
    )
    return iter(())


ACTIVITY_HANDLERS: dict[str, Handler] = {
    "Trades": _trade,
    "Deposits & Withdrawals": _cash_section("deposit"),
    "Dividends": _cash_section("dividend"),
    "Payment In Lieu Of Dividends": _cash_section("dividend"),
    "Withholding Tax": _cash_section("tax"),
    "871(m) Withholding": _cash_section("tax"),
    "Fees": _cash_section("fee"),
    "Interest": _cash_section("interest"),
    "Corporate Actions": _corporate_action,
    "Transfers": _transfer,
}


def parse_activity(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    yield from _sections(header, records, ctx, ACTIVITY_HANDLERS, {})


# Transaction History -------------------------------------------------------------------
def _summary(row: Row, state: Statement) -> None:
    if row.text("field_name").lower() == "base currency":
        state.base_currency = row.value("field_value")


_TH_CASH = {
    "dividend": "dividend",
    "payment in lieu": "dividend",
    "foreign tax withholding": "tax",
    "withholding tax": "tax",
    "deposit": "deposit",
    "withdrawal": "deposit",
    "credit interest": "interest",
    "debit interest": "interest",
    "interest": "interest",
    "other fee": "fee",
    "fee": "fee",
}


def _history(row: Row, state: Statement) -> Iterator[ParsedTransaction]:
    kind = row.text("transaction_type")
    on = row.day("date")
    description = row.text("description")
    symbol = symbol_of(row.value("symbol"))
    quantity = row.number("quantity")
    price = row.number("price")
    gross = row.number("gross_amount")
    fee = row.number("commission")
    net = row.number("net_amount")
    if on is None and row.ok:
        row.fail("date", "date is empty")
    if not row.ok or on is None:
        return
    when = on_day(on)
    account, currency = _account(row), state.base_currency
    key = kind.lower()
    if key in ("buy", "sell"):
        if quantity is None or quantity == 0:
            row.fail("quantity", f"a {key} needs a quantity")
            return
        entry = row.entry(
            T.BUY if key == "buy" else T.SELL,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=quantity,
            price=price,
            fees=fee,
            amount=gross,
            currency=currency,
            account=account,
            description=description or None,
            column="quantity",
        )
        if entry is not None:
            yield entry
    elif key in _TH_CASH:
        amount = net if net is not None else gross
        if amount is None:
            row.fail("net_amount", f"a {kind} needs an amount")
            return
        yield from cash(
            row,
            _TH_CASH[key],
            when,
            amount,
            currency=currency,
            symbol=symbol or described_symbol(description),
            account=account,
            external_id=None,
            description=description,
        )
    elif key == "forex trade component":
        row.skip(
            f"forex trade component ({description}: {quantity} at {price}): the Transaction "
            f"History shows only its net effect in the base currency ({_money(net, currency)}), "
            "not the two currencies exchanged"
        )
    elif key == "adjustment" and "fx translation" in description.lower():
        row.skip(
            f"FX translation gain or loss of {_money(net, currency)} (a revaluation of cash "
            "held in other currencies, not a cash movement)"
        )
    elif key == "adjustment":
        row.to_resolve(
            f"adjustment of {_money(net, currency)} on {on.isoformat()} ({description}): "
            "record it yourself"
        )
    else:
        row.fail("transaction_type", f"unknown Transaction History type {kind!r}")


def _money(amount: Decimal | None, currency: str | None) -> str:
    return f"{amount} {currency}" if currency else str(amount)


HISTORY_COLUMNS = (
    "Date",
    "Account",
    "Description",
    "Transaction Type",
    "Symbol",
    "Quantity",
    "Price",
    "Gross Amount",
    "Commission",
    "Net Amount",
)


def parse_history(
    header: list[str], records: Records, ctx: ParseContext
) -> Iterator[ParsedTransaction]:
    yield from _sections(
        header, records, ctx, {"Transaction History": _history}, {"Summary": _summary}
    )


FORMATS = (
    Format(
        name="ibkr-activity",
        title="Interactive Brokers Activity Statement (CSV)",
        kind="csv",
        columns=("Statement", "Data", "Title", "Activity Statement"),
        signatures=(sig("Statement", "Data", "Title", "Activity Statement"),),
        csv_parser=parse_activity,
        time_zone=TIME_ZONE,
        notes="trades, cash, dividends, taxes, fees, interest, splits; options skipped; "
        "other corporate actions left to resolve",
    ),
    Format(
        name="ibkr-transaction-history",
        title="Interactive Brokers Transaction History (CSV)",
        kind="csv",
        columns=HISTORY_COLUMNS,
        signatures=(
            sig("Statement", "Data", "Title", "Transaction History"),
            sig("Transaction History", "Header", *HISTORY_COLUMNS),
        ),
        csv_parser=parse_history,
        time_zone=TIME_ZONE,
        notes="dates only; amounts in the base currency; forex components skipped",
    ),
)
