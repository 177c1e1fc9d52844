"""Charles Schwab's brokerage "Transactions" export (CSV).

``"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"`` (the
columns are matched by name: some copies swap Quantity and Price), newest first, with an
optional title line (``"Transactions  for account ... as of ... ET"``) and an optional last
``"Transactions Total"`` row. Dates are ``MM/DD/YYYY`` or ``MM/DD/YYYY as of MM/DD/YYYY``
(posted, then effective: the effective date is the trade date). Money is ``$73.7789``,
``-$3320.05``, ``"$1,259.59"``; Quantity is unsigned except on corporate-action legs.

Trades are priced from their net cash (Schwab rounds the Price column) so cash comes out
exact. Reinvested dividends are a dividend row plus a ``Reinvest Shares`` buy. A reverse
split's two rows (new shares under the ticker, old shares removed under the old CUSIP) are
one split of the difference. Mergers, name changes, conversions and spin-offs are left to
resolve; options and short sales are skipped or left to resolve (not tracked).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import day, number, on_day
from quantdesk.importers.dates import When
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

COLUMNS = ("Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount")

_ACTIONS: dict[str, str] = {
    "buy": "buy",
    "sell": "sell",
    "reinvest shares": "buy",
    "cash in lieu": "cash_in_lieu",
    "credit interest": "interest",
    "bank interest": "interest",
    "bond interest": "interest",
    "interest adj": "interest",
    "margin interest": "fee",
    "adr mgmt fee": "fee",
    "advisor fee": "fee",
    "service fee": "fee",
    "wire fee": "fee",
    "misc fee": "fee",
    "foreign tax paid": "tax",
    "nra withholding": "tax",
    "nra tax adj": "tax",
    "backup withholding": "tax",
    "moneylink deposit": "cash",
    "moneylink transfer": "cash",
    "moneylink withdrawal": "cash",
    "wire sent": "cash",
    "wire received": "cash",
    "wire funds": "cash",
    "wire funds received": "cash",
    "funds received": "cash",
    "journal": "transfer",
    "internal transfer": "transfer",
    "journaled shares": "transfer",
    "security transfer": "transfer",
    "stock split": "split",
    "stock div dist": "split",
    "reverse split": "reverse_split",
    "stock merger": "action",
    "name change": "action",
    "conversion": "action",
    "spin-off": "action",
    "mandatory reorg exc": "action",
    "buy to open": "option",
    "sell to close": "option",
    "buy to close": "option",
    "sell to open": "option",
    "expired": "option",
    "assigned": "option",
    "exchange or exercise": "option",
    "sell short": "short",
    "buy to cover": "short",
}
#: Income actions: every flavour of dividend and capital-gain distribution Schwab writes
#: ("Qual Div Reinvest", "Pr Yr Cash Div", "Long Term Cap Gain Reinvest", ...).
_DIVIDEND = re.compile(r"\b(div|dividend|cap gain)\b", re.IGNORECASE)
_AS_OF = re.compile(r"^\s*(\S+)\s+as\s+of\s+(\S+)\s*$", re.IGNORECASE)


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    rows = list(table.rows(footer=_footer))
    new_legs, old_legs = _reverse_split_pairs(rows)
    for row in rows:
        yield from _row(row, new_legs, old_legs)


def _footer(cells: list[str]) -> bool:
    return bool(cells) and cells[0].strip().lower().startswith("transactions total")


def effective(text: str) -> str:
    """The effective date of ``MM/DD/YYYY as of MM/DD/YYYY`` (the date itself otherwise)."""
    match = _AS_OF.match(text)
    return match[2] if match else text


def _kind(action: str) -> str | None:
    found = _ACTIONS.get(action.lower())
    if found is None and _DIVIDEND.search(action):
        return "dividend"
    return found


def _reverse_split_pairs(rows: list[Row]) -> tuple[dict[int, Row], dict[int, int]]:
    """Reverse splits written as two rows on one day: the new shares (positive, under the
    ticker) and the old shares removed (negative, usually under the old CUSIP). Returns
    the new leg's line -> old leg, and the old leg's line -> new leg's line."""
    by_day: dict[str, list[tuple[Row, Decimal]]] = defaultdict(list)
    for row in rows:
        if _kind(row.text("action")) != "reverse_split":
            continue
        try:
            quantity = number(row.text("quantity"))
        except InvalidInput:
            continue  # the row's own pass reports it
        by_day[effective(row.text("date"))].append((row, quantity))
    new_legs: dict[int, Row] = {}
    old_legs: dict[int, int] = {}
    for legs in by_day.values():
        plus = [row for row, quantity in legs if quantity > 0]
        minus = [row for row, quantity in legs if quantity < 0]
        if len(plus) == 1 and len(minus) == 1:
            new_legs[plus[0].line] = minus[0]
            old_legs[minus[0].line] = plus[0].line
    return new_legs, old_legs


def _day(row: Row) -> date | None:
    return row.parsed("date", lambda text: day(effective(text), "mdy"))


def _row(
    row: Row, new_legs: dict[int, Row], old_legs: dict[int, int]
) -> Iterator[ParsedTransaction]:
    action = " ".join(row.text("action").split())
    on = _day(row)
    if on is None:
        if row.ok:
            row.fail("date", "date is empty")
        return
    when = on_day(on)
    symbol = row.value("symbol")
    description = row.value("description")
    quantity = row.number("quantity")
    price = row.number("price")
    fees = row.number("fees_comm")
    amount = row.number("amount")
    if not row.ok:
        return
    kind = _kind(action)
    if kind is None:
        row.fail("action", f"unknown Schwab action {action!r}")
        return
    text = description or action or None
    entry: ParsedTransaction | None
    if kind == "option":
        row.skip(f"option contract ({action}): options are not tracked")
        return
    if kind == "short":
        row.to_resolve(
            f"short sale ({action}) of {quantity} {symbol} on {on.isoformat()}: short "
            "positions are not tracked; not applied"
        )
        return
    if kind == "action":
        row.to_resolve(
            f"{action} on {on.isoformat()}: {_signed(quantity)} {symbol or 'no symbol'} "
            f"({description or 'no description'}): not applied; record the exchange of "
            "shares yourself"
        )
        return
    if kind in ("buy", "sell"):
        if quantity is None or quantity == 0:
            row.fail("quantity", f"a {action} row needs a quantity")
            return
        entry = row.entry(
            T.BUY if kind == "buy" else T.SELL,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=abs(quantity),
            # Priced from the net cash when there is one: the Price column is rounded.
            price=None if amount is not None else price,
            fees=fees,
            amount=amount,
            description=text,
            column="quantity",
        )
    elif kind in ("split", "reverse_split"):
        entry = _split(row, kind, when, symbol, quantity, text, new_legs, old_legs)
    elif kind == "transfer" and symbol and quantity:
        entry = row.entry(
            T.TRANSFER_IN if quantity > 0 else T.TRANSFER_OUT,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=abs(quantity),
            description=text,
            column="quantity",
        )
    elif amount is None:
        row.fail("amount", f"a {action} row needs an amount")
        return
    elif kind == "dividend":
        entry = row.entry(
            T.DIVIDEND,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            description=text,
            column="amount",
        )
    elif kind == "cash_in_lieu":
        row.to_resolve(
            f"cash in lieu of {amount} for a fractional {symbol} share on {on.isoformat()}: "
            "the cash is recorded, but the export does not say how many units were sold; "
            "record the sale of the fraction"
        )
        entry = row.entry(
            T.SPLIT,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            description=f"cash in lieu: {text}",
            column="amount",
        )
    elif kind == "interest" or (kind == "fee" and amount > 0):
        entry = row.entry(
            T.INTEREST,
            when,
            amount=amount,
            description=text if kind == "interest" else f"refund: {action} {text}",
            column="amount",
        )
    elif kind == "fee":
        entry = row.entry(
            T.FEE,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            description=text,
            column="amount",
        )
    elif kind == "tax" and amount > 0:
        # Withholding given back: income of the security it was withheld from.
        entry = row.entry(
            T.DIVIDEND,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            description=f"withholding tax refund: {text}",
            column="amount",
        )
    elif kind == "tax":
        entry = row.entry(
            T.TAX,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            description=text,
            column="amount",
        )
    elif kind == "cash":
        entry = row.entry(
            T.DEPOSIT if amount > 0 else T.WITHDRAWAL,
            when,
            amount=amount,
            description=text,
            column="amount",
        )
    else:  # a transfer of cash between the user's accounts
        entry = row.entry(
            T.TRANSFER_IN if amount > 0 else T.TRANSFER_OUT,
            when,
            amount=abs(amount),
            description=text,
            column="amount",
        )
    if entry is not None:
        yield entry


def _split(
    row: Row,
    kind: str,
    when: When,
    symbol: str | None,
    quantity: Decimal | None,
    text: str | None,
    new_legs: dict[int, Row],
    old_legs: dict[int, int],
) -> ParsedTransaction | None:
    """A split or stock dividend as the units it adds (negative: removes)."""
    if quantity is None or quantity == 0:
        row.fail("quantity", "a split needs the number of shares it adds or removes")
        return None
    if kind == "reverse_split":
        if row.line in old_legs:
            row.skip(
                f"old shares of the reverse split on line {old_legs[row.line]} "
                "(netted into that row's split)"
            )
            return None
        old = new_legs.get(row.line)
        if old is not None:
            removed = number(old.text("quantity"))
            text = f"reverse split: {quantity} new for {-removed} old shares ({text})"
            quantity += removed
            if quantity == 0:
                row.skip(
                    f"reverse split of {symbol} that leaves the share count unchanged ({text})"
                )
                return None
        elif quantity > 0:
            row.to_resolve(
                f"reverse split of {symbol}: {quantity} new shares, but no row removes the "
                "old shares; record the split ratio yourself"
            )
            return None
    return row.entry(
        T.SPLIT,
        when,
        symbol=symbol,
        fallback_type=AssetType.STOCK,
        quantity=quantity,
        description=text,
        column="quantity",
    )


def _signed(value: Decimal | None) -> str:
    return "no quantity" if value is None else f"{value:+}"


FORMATS = (
    Format(
        name="schwab",
        title="Charles Schwab brokerage transactions (CSV)",
        kind="csv",
        columns=COLUMNS,
        signatures=(sig(*COLUMNS),),
        csv_parser=parse,
        time_zone="America/New_York",
        notes="dates only ('as of' = effective date); corporate actions left to resolve",
    ),
)
