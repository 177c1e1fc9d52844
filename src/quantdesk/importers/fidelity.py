"""Fidelity's "Accounts history" export (CSV), every header vintage seen so far.

1. Single account (``History_for_Account_<acct>.csv``): comma-only lines, then ``Run Date,
   Action,Symbol,Security Description,Security Type,Quantity,Price ($),Commission ($),
   Fees ($),Accrued Interest ($),Amount ($),Settlement Date``.
2. 2025 all accounts: ``Run Date,Account,Account Number,Action,Symbol,Description,Type,
   Exchange Quantity,Exchange Currency,Currency,Price,Quantity,Exchange Rate,Commission,
   Fees,Accrued Interest,Amount,Settlement Date``.
3. 2026 all accounts: ``Run Date,Account,Account Number,Action,Symbol,Description,Type,
   Price ($),Quantity,Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date``.
4. Single account without the Account columns: ``Run Date,Action,Symbol,Description,Type,
   Quantity,Price ($),...`` (sometimes with ``Cash Balance ($)``).

Dates are ``MM/DD/YYYY``, newest first. The Action text carries the transaction type
(``YOU BOUGHT WASTE MANAGEMENT INC (WM) (Margin)``); Quantity is signed, Amount is the
signed net cash. A legal disclaimer and ``Date downloaded ...`` end the file.

Trades are priced from their net cash (Fidelity rounds the Price column; bond prices are
per 100 of face value) so the cash balance comes out exact; accrued interest paid or
received on a bond trade is its own (negative or positive) interest entry. Sweeps into and
out of the core money-market position (SPAXX, FZFXX, FDRXX...) are skipped: the core
position is the account's cash. Mergers, reverse splits, distributions and other
corporate actions are left to resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import ParsedTransaction
from quantdesk.importers.cells import on_day
from quantdesk.importers.format import Format, sig
from quantdesk.importers.table import ParseContext, Records, Row, Table

COLUMNS = (
    "Run Date",
    "Account",
    "Account Number",
    "Action",
    "Symbol",
    "Description",
    "Security Description",
    "Type",
    "Security Type",
    "Exchange Quantity",
    "Exchange Currency",
    "Currency",
    "Price ($)",
    "Quantity",
    "Exchange Rate",
    "Commission ($)",
    "Fees ($)",
    "Accrued Interest ($)",
    "Amount ($)",
    "Cash Balance ($)",
    "Settlement Date",
)
#: Fidelity's core (cash sweep) money-market funds and deposit positions.
CORE = frozenset({"SPAXX", "FZFXX", "FDRXX", "SPRXX", "FCASH", "CORE"})

# Action prefixes, longest meaning first; matched against the upper-cased action.
_ACTIONS: tuple[tuple[str, str], ...] = (
    ("PURCHASE INTO CORE ACCOUNT", "core"),
    ("REDEMPTION FROM CORE ACCOUNT", "core"),
    ("YOU BOUGHT", "buy"),
    ("YOU SOLD", "sell"),
    ("REINVESTMENT", "reinvest"),
    ("REDEMPTION PAYOUT", "sell"),
    ("EXCHANGE IN", "buy"),
    ("EXCHANGE OUT", "sell"),
    ("DIVIDEND RECEIVED", "dividend"),
    ("LONG-TERM CAP GAIN", "dividend"),
    ("SHORT-TERM CAP GAIN", "dividend"),
    ("RETURN OF CAPITAL", "roc"),
    ("MUNI EXEMPT INT", "interest"),
    ("INTEREST EARNED", "interest"),
    ("INTEREST", "interest"),
    ("FOREIGN TAX PAID", "tax"),
    ("NON-RESIDENT TAX", "tax"),
    ("MARGIN INTEREST", "fee"),
    ("FEE CHARGED", "fee"),
    ("DIRECT DEPOSIT", "deposit"),
    ("ELECTRONIC FUNDS TRANSFER RECEIVED", "deposit"),
    ("CHECK RECEIVED", "deposit"),
    ("CASH CONTRIBUTION", "deposit"),
    ("DIRECT DEBIT", "withdrawal"),
    ("CHECK PAID", "withdrawal"),
    ("ELECTRONIC FUNDS TRANSFER PAID", "withdrawal"),
    ("BILL PAYMENT", "withdrawal"),
    ("DEBIT CARD", "withdrawal"),
    ("TRANSFERRED FROM", "transfer"),
    ("TRANSFERRED TO", "transfer"),
    ("JOURNALED", "transfer"),
    ("EXPIRED", "option"),
    ("ASSIGNED", "option"),
    ("EXERCISED", "option"),
    ("MERGER", "action"),
    ("REVERSE SPLIT", "action"),
    ("DISTRIBUTION", "action"),
    ("SPIN OFF", "action"),
    ("SPINOFF", "action"),
    ("NAME CHANGE", "action"),
    ("EXCHANGED", "action"),
    ("CONVERSION", "action"),
)
_CASH = {"dividend": T.DIVIDEND, "interest": T.INTEREST, "tax": T.TAX, "fee": T.FEE}
_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}$")
_COUPON = re.compile(r"\d+\.\d+%")


def parse(header: list[str], records: Records, ctx: ParseContext) -> Iterator[ParsedTransaction]:
    table = Table(header, records, ctx)
    for row in table.rows(footer=_footer):
        yield from _row(row)


def _footer(cells: list[str]) -> bool:
    """The disclaimer: text in the first cell only (or ``Date downloaded ...``)."""
    first = cells[0].strip() if cells else ""
    if first.lower().startswith("date downloaded"):
        return True
    return not _DATE.match(first) and not any(c.strip() for c in cells[1:])


def _kind(action: str) -> str | None:
    upper = action.upper()
    for prefix, kind in _ACTIONS:
        if upper.startswith(prefix):
            return kind
    return None


def _row(row: Row) -> Iterator[ParsedTransaction]:
    action = " ".join(row.text("action").split())
    on = row.day("run_date", order="mdy")
    if on is None:
        if row.ok:
            row.fail("run_date", "date is empty")
        return
    when = on_day(on)
    symbol = row.value("symbol")
    description = row.value("description", "security_description")
    quantity = row.number("quantity")
    price = row.number("price")
    fees = (row.number("commission") or ZERO) + (row.number("fees") or ZERO)
    accrued = row.number("accrued_interest")
    amount = row.number("amount")
    settles = row.day("settlement_date", order="mdy")
    account = row.value("account_number")
    currency = row.value("currency")
    if not row.ok:
        return
    kind = _kind(action)
    if kind is None:
        row.fail("action", f"unknown Fidelity action {action!r}")
        return
    stock = AssetType.BOND if description and _COUPON.search(description) else AssetType.STOCK
    text = action or None
    if kind == "core" or (kind == "reinvest" and symbol in CORE):
        row.skip(
            "sweep into or out of the core money-market position (internal cash sweep; "
            "the core position is the account's cash)"
        )
        return
    if kind == "option" or (kind in ("buy", "sell") and symbol and symbol.startswith("-")):
        row.skip("option contract (options are not tracked)")
        return
    if kind == "action":
        row.to_resolve(
            f"corporate action on {on.isoformat()}: {action} ({_signed(quantity)} "
            f"{symbol or 'no symbol'}, cash {_signed(amount)}): not applied; record the "
            "exchange of shares (and any cash) yourself"
        )
        return
    if kind in ("buy", "sell", "reinvest"):
        if quantity is None or quantity == 0:
            row.fail("quantity", f"a {action} row needs a quantity")
            return
        trade = T.SELL if kind == "sell" else T.BUY
        if accrued:
            # Accrued interest paid to the seller (a buy) or received (a sale): interest
            # of its own, and not part of the bond's price.
            paid = -abs(accrued) if trade is T.BUY else abs(accrued)
            entry = row.entry(
                T.INTEREST,
                when,
                symbol=symbol,
                fallback_type=stock,
                amount=paid,
                account=account,
                currency=currency,
                description=f"accrued interest: {action}",
                settles_on=settles,
                leg="accrued_interest",
                column="accrued_interest",
            )
            if entry is not None:
                yield entry
            if amount is not None:
                amount -= paid
        entry = row.entry(
            trade,
            when,
            symbol=symbol,
            fallback_type=stock,
            quantity=abs(quantity),
            # Priced from the net cash when there is one: the Price column is rounded.
            price=None if amount is not None else price,
            fees=fees,
            amount=amount,
            account=account,
            currency=currency,
            description=text,
            settles_on=settles,
            leg="trade" if accrued else "",
            column="quantity",
        )
    elif amount is None:
        row.fail("amount", f"a {action or 'cash'} row needs an amount")
        return
    elif kind in _CASH:
        # A fee given back is income (interest); withholding given back is income of
        # the security it was withheld from (a dividend): the ledger's fees and taxes
        # are charges only.
        refund = amount > 0 and kind in ("fee", "tax")
        entry = row.entry(
            (T.INTEREST if kind == "fee" else T.DIVIDEND) if refund else _CASH[kind],
            when,
            symbol=symbol,
            fallback_type=stock,
            amount=amount,
            account=account,
            currency=currency,
            description=text,
            column="amount",
        )
    elif kind == "roc":
        row.to_resolve(
            f"return of capital of {amount} on {symbol}: recorded as a dividend; it should "
            "lower the cost basis instead (adjust the lots' basis)"
        )
        entry = row.entry(
            T.DIVIDEND,
            when,
            symbol=symbol,
            fallback_type=stock,
            amount=amount,
            account=account,
            currency=currency,
            description=text,
            column="amount",
        )
    elif kind in ("deposit", "withdrawal"):
        entry = row.entry(
            T.DEPOSIT if amount > 0 else T.WITHDRAWAL,
            when,
            amount=amount,
            account=account,
            currency=currency,
            description=text,
            column="amount",
        )
    elif symbol and quantity:  # a transfer of units
        entry = row.entry(
            T.TRANSFER_IN if quantity > 0 else T.TRANSFER_OUT,
            when,
            symbol=symbol,
            fallback_type=stock,
            quantity=abs(quantity),
            account=account,
            currency=currency,
            description=text,
            column="quantity",
        )
    else:  # a transfer of cash
        entry = row.entry(
            T.TRANSFER_IN if amount > 0 else T.TRANSFER_OUT,
            when,
            amount=abs(amount),
            account=account,
            currency=currency,
            description=text,
            column="amount",
        )
    if entry is not None:
        yield entry


def _signed(value: Decimal | None) -> str:
    return "none" if value is None else f"{value:+}"


FORMATS = (
    Format(
        name="fidelity",
        title="Fidelity accounts history (CSV)",
        kind="csv",
        columns=COLUMNS,
        signatures=(
            sig(
                "Run Date",
                "Action",
                "Symbol",
                "Security Description",
                "Security Type",
                "Quantity",
                "Price ($)",
                "Commission ($)",
                "Fees ($)",
                "Accrued Interest ($)",
                "Amount ($)",
                "Settlement Date",
            ),
            sig(
                "Run Date",
                "Account",
                "Account Number",
                "Action",
                "Symbol",
                "Description",
                "Type",
                "Exchange Quantity",
                "Exchange Currency",
                "Currency",
                "Price",
                "Quantity",
                "Exchange Rate",
                "Commission",
                "Fees",
                "Accrued Interest",
                "Amount",
                "Settlement Date",
            ),
            sig(
                "Run Date",
                "Account",
                "Account Number",
                "Action",
                "Symbol",
                "Description",
                "Type",
                "Price ($)",
                "Quantity",
                "Commission ($)",
                "Fees ($)",
                "Accrued Interest ($)",
                "Amount ($)",
                "Settlement Date",
            ),
            sig(
                "Run Date",
                "Action",
                "Symbol",
                "Description",
                "Type",
                "Quantity",
                "Price ($)",
                "Commission ($)",
                "Fees ($)",
                "Accrued Interest ($)",
                "Amount ($)",
                "Settlement Date",
            ),
        ),
        csv_parser=parse,
        time_zone="America/New_York",
        notes="dates only; core sweeps skipped; mergers and distributions left to resolve",
    ),
)
