"""Robinhood's account activity report (CSV).

``"Activity Date","Process Date","Settle Date","Instrument","Description","Trans Code",
"Quantity","Price","Amount"``, newest first, dates ``M/D/YYYY`` (``MM/DD/YY`` once Excel
has re-saved it), cash as ``$775.00`` / ``($1,500.00)``, multi-line descriptions
(``Apple\\nCUSIP: 037833100``), and a footer: an empty record and a disclaimer in a tenth
column. Robinhood Crypto and Spending are separate reports.

Option contracts (BTO, STO, BTC, STC, OEXP, OASGN, OEXCS) are skipped and reported:
the ledger has no short positions and does not value options; the stock leg of an
assignment or exercise is its own Buy/Sell row and is imported. Symbol exchanges (SXCH)
and option adjustments (OCA) are left for the user to resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import number, on_day
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

COLUMNS = (
    "Activity Date",
    "Process Date",
    "Settle Date",
    "Instrument",
    "Description",
    "Trans Code",
    "Quantity",
    "Price",
    "Amount",
)
OPTION_CODES = frozenset({"BTO", "STO", "BTC", "STC", "OEXP", "OASGN", "OEXCS"})
_CASH: dict[str, T] = {
    "CDIV": T.DIVIDEND,
    "INT": T.INTEREST,
    "SLIP": T.INTEREST,
    "GOLD": T.FEE,
    "AFEE": T.FEE,
    "DTAX": T.TAX,
    "NRAT": T.TAX,
}
_CIL = re.compile(r"CIL on ([\d.]+) @ \$?([\d.,]+)")


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows(footer=_footer):
        yield from _row(row)


def _footer(cells: list[str]) -> bool:
    """The disclaimer sits in a tenth column of an otherwise empty record."""
    return len(cells) > len(COLUMNS) and not any(c.strip() for c in cells[: len(COLUMNS)])


def _row(row: Row) -> Iterator[ParsedTransaction]:
    code = row.text("trans_code").upper()
    on = row.day("activity_date", order="mdy")
    if on is None:
        if row.ok:
            row.fail("activity_date", "date is empty")
        return
    when = on_day(on)
    settles = row.day("settle_date", order="mdy")
    symbol = row.value("instrument")
    description = row.text("description")
    name = description.split("\n", 1)[0].strip()
    amount = row.number("amount")
    quantity = _quantity(row)
    if not row.ok:
        return
    text = name or None
    if code in ("BUY", "SELL"):
        price = row.number("price")
        kind = T.BUY if code == "BUY" else T.SELL
        fees = _fees(kind, quantity, price, amount)
        entry = row.entry(
            kind,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=quantity,
            price=price,
            fees=fees,
            amount=amount,
            column="quantity",
            settles_on=settles,
            description=text,
        )
    elif code in _CASH:
        entry = row.entry(
            _CASH[code],
            when,
            symbol=symbol if code == "CDIV" else None,
            fallback_type=AssetType.STOCK,
            amount=amount,
            column="amount",
            settles_on=settles,
            description=text,
        )
    elif code in ("ACH", "RTP", "DCF", "WIRE"):
        if amount is None:
            row.fail("amount", "a bank transfer needs an amount")
            return
        kind = T.DEPOSIT if amount > 0 else T.WITHDRAWAL
        if code == "RTP" and "fee" in description.lower():
            kind = T.FEE
        entry = row.entry(
            kind, when, amount=amount, column="amount", settles_on=settles, description=text
        )
    elif code == "MISC":
        if amount is None:
            row.skip("MISC row without cash (informational)")
            return
        kind = T.INTEREST if amount > 0 else T.FEE
        entry = row.entry(
            kind, when, amount=amount, column="amount", settles_on=settles, description=text
        )
    elif code == "ROC":
        row.to_resolve(
            f"return of capital of {amount} on {symbol}: recorded as a dividend; it "
            "should lower the cost basis instead (adjust the lots' basis)"
        )
        entry = row.entry(
            T.DIVIDEND,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            amount=amount,
            column="amount",
            settles_on=settles,
            description=text,
        )
    elif code in ("SPL", "SDIV"):
        if quantity is None:
            row.fail("quantity", "a split needs the number of shares added")
            return
        # Robinhood marks some split rows with its short-side "S" too (a 4-for-1 split
        # of 1.5 shares: "4.5S"); a split row always states the shares it added.
        entry = row.entry(
            T.SPLIT,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=quantity,
            column="quantity",
            settles_on=settles,
            description=text,
        )
    elif code == "CIL":
        match = _CIL.search(description)
        if match is None or amount is None:
            row.fail("description", "cash in lieu without 'CIL on QTY @ PRICE' in the text")
            return
        entry = row.entry(
            T.SELL,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=Decimal(match[1]),
            price=number(match[2]),
            description="cash in lieu of a fractional share",
            settles_on=settles,
        )
    elif code == "REC":
        entry = row.entry(
            T.TRANSFER_IN,
            when,
            symbol=symbol,
            fallback_type=AssetType.STOCK,
            quantity=quantity,
            column="quantity",
            settles_on=settles,
            description=text,
        )
    elif code in OPTION_CODES:
        row.skip(
            "option contract (options are not tracked; the stock leg of an assignment "
            "or exercise is its own Buy/Sell row)"
        )
        return
    elif code in ("SXCH", "OCA"):
        what = "symbol exchange or merger" if code == "SXCH" else "option contract adjustment"
        row.to_resolve(
            f"{what} ({code}) of {quantity} {symbol} on {on.isoformat()}: not applied; "
            "record the exchange of shares yourself"
        )
        return
    else:
        row.fail("trans_code", f"unknown Robinhood transaction code {code!r}")
        return
    if entry is not None:
        yield entry


def _quantity(row: Row) -> Decimal | None:
    """Quantity, without Robinhood's ``S`` (short side) suffix: every code says which
    way its units move."""
    return row.parsed("quantity", lambda text: number(text.rstrip("Ss")))


def _fees(
    kind: T, quantity: Decimal | None, price: Decimal | None, amount: Decimal | None
) -> Decimal:
    """Regulatory fees hidden in the net amount: what it differs from quantity x price
    against the user (never negative: rounding to cents is not a fee)."""
    if quantity is None or price is None or amount is None:
        return ZERO
    gross = quantity * price
    paid = -amount - gross if kind is T.BUY else gross - amount
    return paid.quantize(Decimal("0.01")) if paid >= Decimal("0.01") else ZERO


FORMATS = (
    Format(
        name="robinhood",
        title="Robinhood account activity report (CSV)",
        kind="csv",
        columns=COLUMNS,
        signatures=(
            sig(
                "Activity Date",
                "Process Date",
                "Settle Date",
                "Instrument",
                "Trans Code",
                "Quantity",
                "Price",
                "Amount",
            ),
        ),
        csv_parser=parse,
        time_zone="America/New_York",
        notes="dates only; options skipped; SXCH/OCA left to resolve",
    ),
)
