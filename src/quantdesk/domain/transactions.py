"""The ledger's transactions: the source of truth every position and gain is derived from.

Conventions (all amounts in the transaction's ``currency``):

- ``quantity`` is a number of units, always positive, except on ``conversion`` legs where
  a negative quantity gives units up and a positive one receives them.
- ``price`` is per unit; ``fees`` are non-negative and go into the cost basis of a buy and
  out of the proceeds of a sale.
- ``amount`` is the cash amount of cash rows (deposit, withdrawal, interest, fee, tax,
  dividend). Deposits, withdrawals, fees and taxes carry a positive amount (the type gives
  the direction); dividends and interest may be negative (a reversal, margin interest).
- A ``dividend`` with a quantity is a reinvested dividend: income of ``amount`` (default
  quantity x price) that buys ``quantity`` units at ``price``.
- ``transfer_in``/``transfer_out`` move units (or, without an instrument, cash) between the
  user's accounts, keeping cost basis and holding period when both legs are in the ledger
  (paired by ``link``, or by instrument, quantity and day). An unpaired ``transfer_in`` is
  an opening position entering the portfolio at ``price`` per unit, acquired on
  ``acquired_on``; holdings snapshots are recorded this way (origin ``snapshot``).
- ``split`` multiplies the units of every lot by ``split_ratio`` (4 for 4-for-1, 0.1 for
  1-for-10); without a ratio, ``quantity`` is the number of units the split added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import InstrumentKey
from quantdesk.domain.money import ZERO


class TransactionType(StrEnum):
    BUY = "buy"
    SELL = "sell"
    DIVIDEND = "dividend"
    INTEREST = "interest"
    FEE = "fee"
    TAX = "tax"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    SPLIT = "split"
    STAKING_REWARD = "staking_reward"
    CONVERSION = "conversion"


#: Words that exports use for our types; the generic trades format accepts all of them.
TYPE_ALIASES: dict[str, TransactionType] = {
    **{t.value: t for t in TransactionType},
    "bought": TransactionType.BUY,
    "purchase": TransactionType.BUY,
    "sold": TransactionType.SELL,
    "div": TransactionType.DIVIDEND,
    "reinvest": TransactionType.DIVIDEND,
    "dividend_reinvest": TransactionType.DIVIDEND,
    "dividend_reinvested": TransactionType.DIVIDEND,
    "drip": TransactionType.DIVIDEND,
    "withholding": TransactionType.TAX,
    "withholding_tax": TransactionType.TAX,
    "commission": TransactionType.FEE,
    "transfer in": TransactionType.TRANSFER_IN,
    "transfer out": TransactionType.TRANSFER_OUT,
    "staking": TransactionType.STAKING_REWARD,
    "reward": TransactionType.STAKING_REWARD,
    "convert": TransactionType.CONVERSION,
}


def parse_transaction_type(text: str) -> TransactionType:
    key = text.strip().lower().replace("-", "_")
    found = TYPE_ALIASES.get(key) or TYPE_ALIASES.get(key.replace("_", " "))
    if found is None:
        allowed = ", ".join(t.value for t in TransactionType)
        raise InvalidInput(f"unknown transaction type {text.strip()!r} (one of {allowed})")
    return found


class Origin(StrEnum):
    """Where a transaction came from; adjusting and unknown-basis entries are marked."""

    MANUAL = "manual"
    IMPORT = "import"
    SNAPSHOT = "snapshot"
    ADJUSTMENT = "adjustment"
    UNKNOWN_BASIS = "unknown_basis"
    #: An unknown-basis opening the user completed with a cost and a date.
    OPENING = "opening"


@dataclass(frozen=True, slots=True)
class LotPick:
    """Specific identification: take ``quantity`` units from lot ``lot_id``."""

    lot_id: int
    quantity: Decimal


class Transaction(NamedTuple):
    """One ledger entry. See the module docstring for the meaning of each field.

    Immutable, and a NamedTuple rather than a frozen dataclass: imports and replays
    build one per row, and a NamedTuple builds four times faster.
    """

    account: str
    type: TransactionType
    traded_at: datetime
    instrument: InstrumentKey | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    fees: Decimal = ZERO
    amount: Decimal | None = None
    currency: str = "USD"
    settles_on: date | None = None
    acquired_on: date | None = None
    split_ratio: Decimal | None = None
    link: str | None = None
    lot_selection: tuple[LotPick, ...] = ()
    origin: Origin = Origin.MANUAL
    external_id: str | None = None
    description: str | None = None
    fingerprint: str | None = None
    #: The line of the imported file this entry came from (the header is line 1).
    source_line: int | None = None
    id: int | None = None
    #: The trade date as the source gives it, in its own time zone (the date of
    #: ``traded_at`` in UTC when absent): holding periods count in trade dates.
    trade_date: date | None = None
    #: Whether the source gave a time of day; a date-only entry's ``traded_at`` is
    #: midnight UTC of its date and says nothing about its order within that day.
    timed: bool = False

    def resolved(
        self,
        *,
        account: str,
        instrument: InstrumentKey | None,
        currency: str,
        fingerprint: str | None,
        source_line: int | None,
    ) -> Transaction:
        """This entry with the names an importer could not resolve filled in.

        Written out rather than ``dataclasses.replace``: imports call it once a row.
        """
        return Transaction(
            account,
            self.type,
            self.traded_at,
            instrument,
            self.quantity,
            self.price,
            self.fees,
            self.amount,
            currency,
            self.settles_on,
            self.acquired_on,
            self.split_ratio,
            self.link,
            self.lot_selection,
            self.origin,
            self.external_id,
            self.description,
            fingerprint,
            source_line,
            self.id,
            self.trade_date,
            self.timed,
        )

    @property
    def traded_on(self) -> date:
        """The trade date (see ``trade_date``)."""
        return self.trade_date or self.traded_at.date()

    @property
    def gross(self) -> Decimal | None:
        """Quantity times price (absolute), or None when either is missing."""
        if self.quantity is None or self.price is None:
            return None
        return abs(self.quantity) * self.price

    def cash_effect(self) -> Decimal:
        """How this entry changes the account's cash balance in ``currency``."""
        t = self.type
        amount = self.amount if self.amount is not None else ZERO
        gross = self.gross or ZERO
        if t is TransactionType.BUY:
            return -(gross + self.fees)
        if t is TransactionType.SELL:
            return gross - self.fees
        if t is TransactionType.DIVIDEND:
            income = self.income_amount() or ZERO
            if self.quantity is not None:
                return income - gross - self.fees
            return income - self.fees
        if t in (TransactionType.INTEREST, TransactionType.DEPOSIT):
            return amount
        if t in (TransactionType.WITHDRAWAL, TransactionType.TAX):
            return -amount
        if t is TransactionType.FEE:
            return -(amount if self.amount is not None else self.fees)
        if t is TransactionType.TRANSFER_IN:
            return (amount if self.instrument is None else ZERO) - self.fees
        if t is TransactionType.TRANSFER_OUT:
            return -(amount if self.instrument is None else ZERO) - self.fees
        if t is TransactionType.SPLIT:
            return amount  # cash in lieu of fractional units, if any
        return -self.fees  # staking rewards and conversions move units, not cash

    def income_amount(self) -> Decimal | None:
        """Income recognised by a dividend, interest or staking reward, else None."""
        if self.type in (TransactionType.DIVIDEND, TransactionType.INTEREST):
            if self.amount is not None:
                return self.amount
            return self.gross
        if self.type is TransactionType.STAKING_REWARD:
            return self.amount if self.amount is not None else self.gross
        return None

    def is_cash_movement(self) -> bool:
        """True for entries that show the account records its cash balance."""
        if self.type in (TransactionType.DEPOSIT, TransactionType.WITHDRAWAL):
            return True
        return (
            self.type in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT)
            and self.instrument is None
        )


#: Entries at the same instant apply in this order: a split first (it takes effect at the
#: open), then what brings units or cash in, then what takes them out; ties keep the order
#: they were recorded in. A newest-first export therefore never sells before the same
#: day's buy. (An opening of unknown basis comes before everything: it stands in for
#: units held before the entry that needed them.)
SAME_TIME_PRIORITY: dict[TransactionType, int] = {
    TransactionType.SPLIT: 0,
    TransactionType.DEPOSIT: 1,
    TransactionType.TRANSFER_IN: 2,
    TransactionType.BUY: 3,
    TransactionType.DIVIDEND: 4,
    TransactionType.INTEREST: 4,
    TransactionType.STAKING_REWARD: 4,
    TransactionType.TRANSFER_OUT: 5,
    TransactionType.CONVERSION: 6,
    TransactionType.SELL: 7,
    TransactionType.FEE: 8,
    TransactionType.TAX: 8,
    TransactionType.WITHDRAWAL: 9,
}


#: Types whose date-only entries open a day (before its timed entries); the others close it.
INFLOW_PRIORITY_MAX = 4


def day_bucket(txn: Transaction) -> int:
    """Where in its trade date an entry falls: 0 a date-only inflow (split, deposit,
    transfer in, buy, income), 1 an entry with a time of day, 2 a date-only outflow.

    A date-only entry happened at some unknown time that day: placing inflows first and
    outflows last lets it meet every timed entry of the day it could have met.
    """
    if txn.timed:
        return 1
    if txn.type is TransactionType.CONVERSION:  # its receiving leg brings units in
        return 0 if (txn.quantity or 0) > 0 else 2
    return 0 if SAME_TIME_PRIORITY[txn.type] <= INFLOW_PRIORITY_MAX else 2


def same_time_priority(txn: Transaction) -> int:
    return -1 if txn.origin is Origin.UNKNOWN_BASIS else SAME_TIME_PRIORITY[txn.type]


def ledger_order_key(txn: Transaction) -> tuple[date, int, datetime, int]:
    """:func:`day_bucket` and :func:`same_time_priority` inlined: sorting a large ledger
    calls this once an entry."""
    priority = SAME_TIME_PRIORITY[txn.type]
    if txn.timed:
        bucket = 1
    elif txn.type is TransactionType.CONVERSION:
        bucket = 0 if (txn.quantity or 0) > 0 else 2
    else:
        bucket = 0 if priority <= INFLOW_PRIORITY_MAX else 2
    if txn.origin is Origin.UNKNOWN_BASIS:
        priority = -1
    return (txn.trade_date or txn.traded_at.date(), bucket, txn.traded_at, priority)


def ordered(transactions: Sequence[Transaction]) -> list[Transaction]:
    """Ledger order: by trade date, then :func:`day_bucket`, time of day,
    :func:`same_time_priority`, and the order they were recorded in."""
    return sorted(transactions, key=ledger_order_key)
