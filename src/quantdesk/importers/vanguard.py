"""Vanguard's Download Center CSV (``OfxDownload.csv``).

The file holds two tables: the positions (``Account Number,Investment Name,Symbol,
Shares,Share Price,Total Value,``), blank lines, then the transactions
(``Account Number,Trade Date,Settlement Date,Transaction Type,Transaction Description,
Investment Name,Symbol,Shares,Share Price,Principal Amount,Commissions and Fees,
Net Amount,Accrued Interest,Account Type,``; older exports add ``Investment Type`` and
write ``Commission Fees``). Every line ends with a comma. Either table may come first
or alone; dates are ``YYYY-MM-DD`` (newer) or ``MM/DD/YYYY`` (older).

The positions table is a snapshot, not transactions: its rows are skipped and reported.
Real exports sign Net Amount (buys negative) but the only sample has unsigned buys, so
every direction comes from the Transaction Type, never from a sign.

Mapping: Buy/Sell are buys and sells (Commissions and Fees as fees; accrued interest paid
on a bond purchase is negative interest, received on a sale interest). A ``Dividend`` or
``Capital gain (LT|ST)`` with shares is a reinvested dividend; without shares it is a cash
dividend. A ``Reinvestment`` is a buy when the file also has the cash dividend it reinvests
(same account, symbol, day and amount: that row already records the income), otherwise a
reinvested dividend. ``Sweep in``/``Sweep out`` (the settlement fund) are skipped;
``Funds Received`` is a deposit, ``Withdrawal`` a withdrawal, ``Interest`` (paid by the
settlement fund) cash interest, ``Fee`` a fee; ``Transfer (incoming|
outgoing)`` moves shares in or out (cash when there are no shares); ``Conversion`` is
left for the user to resolve. Account Number is each entry's account.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import day, header_key, number, on_day
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

POSITIONS = ("Account Number", "Investment Name", "Symbol", "Shares", "Share Price", "Total Value")
TRANSACTIONS = (
    "Account Number",
    "Trade Date",
    "Settlement Date",
    "Transaction Type",
    "Transaction Description",
    "Investment Name",
    "Symbol",
    "Shares",
    "Share Price",
    "Principal Amount",
    "Commissions and Fees",
    "Net Amount",
    "Accrued Interest",
    "Account Type",
)
OLDER = ("Investment Type", "Commission Fees")
_TRANSACTIONS_KEYS = frozenset({"trade_date", "transaction_type"})
_POSITIONS_REASON = "positions table: a snapshot, not transactions"
_FEES = ("commissions_and_fees", "commission_fees")
_INVESTMENT_TYPES = {
    "mutual fund": AssetType.FUND,
    "money market fund": AssetType.FUND,
    "etf": AssetType.ETF,
    "stock": AssetType.STOCK,
    "stocks": AssetType.STOCK,
    "bond": AssetType.BOND,
    "bonds": AssetType.BOND,
    "cd": AssetType.BOND,
}
_DIVIDENDS = frozenset({"dividend", "capital gain (lt)", "capital gain (st)"})
_DividendKey = tuple[str | None, str | None, date, Decimal]


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    first = Table(header, records, ctx)
    table = first if _is_transactions(first.keys) else _skip_positions(records, ctx)
    if table is None:
        return
    rows = list(table.rows())
    cash_dividends = {key for row in rows if (key := _cash_dividend_key(row)) is not None}
    for row in rows:
        yield from _row(row, cash_dividends)


def _is_transactions(keys: list[str]) -> bool:
    return _TRANSACTIONS_KEYS <= set(keys)


def _skip_positions(records: Records, ctx: ParseContext) -> Table | None:
    """Report the positions rows as skipped; the transactions table after them, if any."""
    for line, cells in records:
        if _is_transactions([header_key(c) for c in cells]):
            return Table(cells, records, ctx)
        ctx.notices.skip(line, _POSITIONS_REASON)
    return None


def _kind(row: Row) -> str:
    return " ".join(row.text("transaction_type").lower().split())


def _cash_dividend_key(row: Row) -> _DividendKey | None:
    """Account, symbol, day and amount of a dividend paid in cash (no shares); read
    quietly: a bad cell is reported when the row itself is mapped."""
    if _kind(row) not in _DIVIDENDS:
        return None
    try:
        shares = number(row.text("shares")) if row.value("shares") else None
        amount = number(row.text("net_amount"))
        on = day(row.text("trade_date"), "mdy")
    except InvalidInput:
        return None
    if shares:
        return None
    return (row.value("account_number"), row.value("symbol"), on, abs(amount))


def _row(row: Row, cash_dividends: set[_DividendKey]) -> Iterator[ParsedTransaction]:
    kind = _kind(row)
    on = row.day("trade_date", order="mdy")
    settles = row.day("settlement_date", order="mdy")
    shares = row.number("shares")
    price = row.number("share_price")
    fees = row.number(*_FEES)
    net = row.number("net_amount")
    accrued = row.number("accrued_interest")
    if on is None:
        if row.ok:
            row.fail("trade_date", "date is empty")
        return
    if not row.ok:
        return
    when = on_day(on)
    account = row.value("account_number")
    symbol = row.value("symbol")
    description = row.value("transaction_description") or row.value("investment_name")
    investment = " ".join(row.text("investment_type").lower().split())
    asset_type = _INVESTMENT_TYPES.get(investment)
    security: dict[str, Any] = {
        "symbol": symbol,
        "asset_type": asset_type,
        "fallback_type": None if asset_type else AssetType.STOCK,
    }
    common: dict[str, Any] = {"account": account, "settles_on": settles, "description": description}
    amount = abs(net) if net is not None else None
    if kind in ("buy", "sell"):
        trade = T.BUY if kind == "buy" else T.SELL
        entry = row.entry(
            trade,
            when,
            quantity=shares,
            price=price or None,
            fees=fees,
            amount=amount,
            column="shares",
            **security,
            **common,
        )
        if entry is not None:
            yield entry
        if accrued:
            paid = -abs(accrued) if trade is T.BUY else abs(accrued)
            extra = row.entry(
                T.INTEREST,
                when,
                amount=paid,
                column="accrued_interest",
                leg="accrued interest",
                **security,
                **common,
            )
            if extra is not None:
                yield extra
        return
    if kind in _DIVIDENDS or kind == "reinvestment":
        reinvested = bool(shares)
        if kind == "reinvestment" and (account, symbol, on, amount) in cash_dividends:
            entry = row.entry(
                T.BUY,
                when,
                quantity=shares,
                price=price or None,
                fees=fees,
                amount=amount,
                column="shares",
                **security,
                **common,
            )
            if entry is not None:
                yield entry
            return
        if kind == "reinvestment" and not reinvested:
            row.fail("shares", "a reinvestment needs the shares it bought")
            return
        entry = row.entry(
            T.DIVIDEND,
            when,
            quantity=shares if reinvested else None,
            price=(price or _per_share(amount, shares)) if reinvested else None,
            amount=amount if reinvested else net,
            column="net_amount",
            **security,
            **common,
        )
        if entry is not None:
            yield entry
        return
    if kind in ("sweep in", "sweep out"):
        row.skip("settlement fund sweep (cash moving within the account)")
        return
    cash = {
        "funds received": T.DEPOSIT,
        "withdrawal": T.WITHDRAWAL,
        "interest": T.INTEREST,
        "fee": T.FEE,
    }
    if kind in cash:
        entry = row.entry(
            cash[kind],
            when,
            amount=net if kind == "interest" else amount,
            column="net_amount",
            **common,
        )
        if entry is not None:
            yield entry
        return
    if kind in ("transfer (incoming)", "transfer (outgoing)"):
        incoming = kind == "transfer (incoming)"
        if shares:
            entry = row.entry(
                T.TRANSFER_IN if incoming else T.TRANSFER_OUT,
                when,
                quantity=abs(shares),
                price=price or None,
                column="shares",
                **security,
                **common,
            )
        else:
            entry = row.entry(
                T.DEPOSIT if incoming else T.WITHDRAWAL,
                when,
                amount=amount,
                column="net_amount",
                **common,
            )
        if entry is not None:
            yield entry
        return
    if kind.startswith("conversion"):
        row.to_resolve(
            f"{row.text('transaction_type')} of {shares} {symbol} on {on.isoformat()}: a "
            "share class or fund conversion is not applied; record the exchange of shares "
            "yourself"
        )
        return
    row.fail(
        "transaction_type", f"unknown Vanguard transaction type {row.text('transaction_type')!r}"
    )


def _per_share(amount: Decimal | None, shares: Decimal | None) -> Decimal | None:
    if amount is None or not shares:
        return None
    return abs(amount) / abs(shares)


FORMATS = (
    Format(
        name="vanguard",
        title="Vanguard Download Center CSV (OfxDownload.csv)",
        kind="csv",
        columns=TRANSACTIONS + OLDER + ("Total Value",),
        signatures=(
            sig(
                "Account Number",
                "Trade Date",
                "Settlement Date",
                "Transaction Type",
                "Transaction Description",
                "Investment Name",
                "Symbol",
                "Shares",
                "Share Price",
                "Principal Amount",
                "Net Amount",
                "Accrued Interest",
                "Account Type",
            ),
            sig(*POSITIONS),
        ),
        csv_parser=parse,
        time_zone="America/New_York",
        notes="two tables (positions skipped); direction from the type, never the sign",
    ),
)
