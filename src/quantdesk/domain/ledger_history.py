"""What the ledger held at the end of every day it changed, and what crossed the
portfolio's boundary that day: the input of a ledger-true value history (DESIGN §4).

Walking the ledger once, in ledger order, gives for each trade day the units of every
(account, instrument) and the cash of every cash-tracking (account, currency) at the end
of that day, and the day's external flows. Which entries are flows follows DESIGN §4:

* An account that records deposits, withdrawals or cash transfers tracks its cash from its
  first such entry on: its cash is part of its value, buys and sells move value between
  cash and holdings, and only deposits, withdrawals and cash transfers across the scope's
  boundary are flows. Its entries before that first cash movement are treated as those of
  a holdings-only account (a cash balance that was never recorded is not invented).
* A holdings-only account records no cash: whatever cash an entry would move comes from
  or goes to outside, so it is a flow (a buy is an inflow of its cost with fees, a sale
  an outflow of its proceeds, a dividend or interest an outflow, a fee an inflow).
* Units that enter or leave the scope without cash (an unpaired transfer such as a
  holdings snapshot's opening, or, for one account, a transfer to another account) are
  flows at their market value that day, or at their recorded price when the day has no
  close (see :class:`UnitFlow`).

A scope is the whole portfolio (transfers between the user's accounts are internal), one
account (they cross its boundary), or one asset class: a sleeve with no cash of its own,
so every entry's cash crosses its boundary (buys are inflows, sales and income outflows),
as for a holdings-only account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import TRANSFER_TYPES, pair_transfers, ref_of
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import Transaction, TransactionType

#: (account, instrument) -> units.
Units = dict[tuple[str, InstrumentKey], Decimal]
#: (account, currency) -> cash balance.
Cash = dict[tuple[str, str], Decimal]


@dataclass(frozen=True, slots=True)
class CashFlow:
    """Money that crossed the boundary: positive in, negative out."""

    day: date
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class UnitFlow:
    """Units that crossed the boundary without cash: worth their close that day, or
    ``fallback`` (their recorded price times units) when that day has no close."""

    day: date
    instrument: InstrumentKey
    units: Decimal
    currency: str
    fallback: Decimal | None


@dataclass(frozen=True, slots=True)
class DayEnd:
    """Units and cash at the end of a day on which the ledger changed."""

    day: date
    units: Units
    cash: Cash


@dataclass
class LedgerHistory:
    """The ledger's days of change, oldest first, with every flow of the scope."""

    days: list[DayEnd] = field(default_factory=list)
    cash_flows: list[CashFlow] = field(default_factory=list)
    unit_flows: list[UnitFlow] = field(default_factory=list)

    @property
    def instruments(self) -> list[InstrumentKey]:
        seen: dict[InstrumentKey, None] = {}
        for end in self.days:
            for _, instrument in end.units:
                seen.setdefault(instrument)
        return list(seen)

    @property
    def currencies(self) -> list[str]:
        seen: dict[str, None] = {}
        for end in self.days:
            for _, currency in end.cash:
                seen.setdefault(currency)
        for flow in self.cash_flows:
            seen.setdefault(flow.currency)
        return list(seen)


_EXTERNAL_CASH = frozenset({TransactionType.DEPOSIT, TransactionType.WITHDRAWAL})


def ledger_history(
    transactions: Sequence[Transaction],
    *,
    account: str | None = None,
    asset_class: AssetType | None = None,
) -> LedgerHistory:
    """Walk ``transactions`` (in ledger order) into days of change and flows, for the
    whole portfolio or, with ``account``, for that account alone (and, with
    ``asset_class``, only its instruments of that class)."""
    legs = [(ref_of(t, i), t) for i, t in enumerate(transactions) if t.type in TRANSFER_TYPES]
    pairs = pair_transfers(legs)
    paired = set(pairs) | set(pairs.values())
    partner_account = {ref: t.account for ref, t in legs}
    partner_of = {**pairs, **{v: k for k, v in pairs.items()}}
    cash_from: dict[str, int] = {}
    for index, txn in enumerate(transactions):
        if txn.is_cash_movement():
            cash_from.setdefault(txn.account, index)
    history = LedgerHistory()
    units: dict[tuple[str, InstrumentKey], Decimal] = defaultdict(lambda: ZERO)
    cash: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    current: date | None = None
    for index, txn in enumerate(transactions):
        if account is not None and txn.account != account:
            continue
        if asset_class is not None and (
            txn.instrument is None or txn.instrument.asset_type != asset_class
        ):
            continue
        ref = ref_of(txn, index)
        day = txn.traded_on
        if current is not None and day != current:
            history.days.append(_day_end(current, units, cash))
        current = day
        internal = ref in paired and (
            account is None or partner_account[partner_of[ref]] == account
        )
        _apply_units(txn, units)
        effect = txn.cash_effect()
        tracks_cash = asset_class is None and index >= cash_from.get(txn.account, len(transactions))
        if tracks_cash:
            cash[(txn.account, txn.currency)] += effect
        _record_flows(txn, effect, tracks_cash=tracks_cash, internal=internal, into=history)
    if current is not None:
        history.days.append(_day_end(current, units, cash))
    return history


def _day_end(day: date, units: Units, cash: Cash) -> DayEnd:
    return DayEnd(
        day,
        {k: v for k, v in units.items() if v != 0},
        {k: v for k, v in cash.items() if v != 0},
    )


def _apply_units(txn: Transaction, units: dict[tuple[str, InstrumentKey], Decimal]) -> None:
    """The units an entry adds or removes (as the lot engine applies them)."""
    key = txn.instrument
    if key is None or key.asset_type == "cash":
        return
    slot = (txn.account, key)
    t = txn.type
    quantity = txn.quantity or ZERO
    if t in (TransactionType.BUY, TransactionType.STAKING_REWARD, TransactionType.TRANSFER_IN):
        units[slot] += quantity
    elif t is TransactionType.DIVIDEND:
        units[slot] += quantity  # a reinvested dividend buys units; a cash one has none
    elif t in (TransactionType.SELL, TransactionType.TRANSFER_OUT):
        units[slot] -= abs(quantity)
    elif t is TransactionType.CONVERSION:
        units[slot] += quantity  # negative on the leg given up
    elif t is TransactionType.SPLIT:
        held = units[slot]
        if held <= 0:
            return
        if txn.split_ratio is not None:
            units[slot] = held * txn.split_ratio
        elif txn.quantity is not None:
            units[slot] = held + txn.quantity


def _record_flows(
    txn: Transaction,
    effect: Decimal,
    *,
    tracks_cash: bool,
    internal: bool,
    into: LedgerHistory,
) -> None:
    day = txn.traded_on
    t = txn.type
    if t in TRANSFER_TYPES and internal:
        return  # between accounts inside the scope: nothing crosses its boundary
    if t in TRANSFER_TYPES and txn.instrument is not None and txn.instrument.asset_type != "cash":
        sign = Decimal(1) if t is TransactionType.TRANSFER_IN else Decimal(-1)
        quantity = abs(txn.quantity or ZERO)
        fallback = None if txn.price is None else quantity * txn.price
        into.unit_flows.append(
            UnitFlow(
                day,
                txn.instrument,
                sign * quantity,
                txn.currency,
                None if fallback is None else sign * fallback,
            )
        )
        if not tracks_cash and txn.fees:
            into.cash_flows.append(CashFlow(day, txn.currency, txn.fees))
        return
    if tracks_cash:
        if t in _EXTERNAL_CASH or (t in TRANSFER_TYPES and txn.instrument is None):
            into.cash_flows.append(CashFlow(day, txn.currency, effect))
        return
    if effect:
        into.cash_flows.append(CashFlow(day, txn.currency, -effect))
