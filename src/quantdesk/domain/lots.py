"""Tax lots: replay the ledger into open lots, realized disposals, income and cash.

The replay is the single place where cost basis is decided:

- ``fifo`` (default) sells the oldest lot first, ``lifo`` the newest, ``hifo`` the one with
  the highest cost per unit;
- ``average`` pools the basis of an account's units of an instrument (average cost, as
  Canada's ACB or the US average-basis method for funds): every sale is at the pool's
  average cost per unit, and units leave in acquisition order for the holding period;
- ``specific`` uses each sale's ``lot_selection``; a sale without one falls back to FIFO,
  which is also what the IRS assumes without adequate identification.

A disposal is long term when it happens after the first anniversary of the acquisition
(held more than one year); an acquisition on 29 February has its anniversary on 28
February. Lots of unknown basis (exports that start mid-history) keep ``cost_basis=None``
and so do the disposals drawn from them: their gain is unknown, never 0.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from enum import StrEnum
from typing import NamedTuple

from quantdesk.domain.errors import InsufficientLots, LedgerError, Shortfall
from quantdesk.domain.instruments import InstrumentKey
from quantdesk.domain.money import ZERO
from quantdesk.domain.transactions import Origin, Transaction, TransactionType, ordered

_UNIT = Decimal("1e-18")
_WIDE = Context(prec=80)  # quantizing never fails for want of digits
#: Working precision of the replay (decimal128's 34 digits): a pro-rata share of a
#: basis of a trillion is exact to 1e-22, and sold + remaining basis always add up
#: exactly, because the remainder is a subtraction.
PRECISION = 34


class CostMethod(StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    AVERAGE = "average"
    SPECIFIC = "specific"


class Term(StrEnum):
    SHORT = "short"
    LONG = "long"
    UNKNOWN = "unknown"


def one_year_after(day: date) -> date:
    """The first anniversary of ``day`` (29 February maps to 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def holding_term(acquired_on: date | None, disposed_on: date) -> Term:
    if acquired_on is None:
        return Term.UNKNOWN
    return Term.LONG if disposed_on > one_year_after(acquired_on) else Term.SHORT


@dataclass(slots=True)
class Lot:
    """Units of one instrument in one account acquired together."""

    lot_id: int
    account: str
    instrument: InstrumentKey
    quantity: Decimal
    cost_basis: Decimal | None
    currency: str
    acquired_on: date | None
    origin: Origin

    @property
    def cost_per_unit(self) -> Decimal | None:
        if self.cost_basis is None or not self.quantity:
            return None
        return self.cost_basis / self.quantity

    def split_off(self, quantity: Decimal) -> Lot:
        """Split ``quantity`` (fewer than held) units off this lot, with their pro-rata
        share of the basis; this lot keeps the rest."""
        share = None if self.cost_basis is None else self.cost_basis * quantity / self.quantity
        piece = Lot(
            self.lot_id,
            self.account,
            self.instrument,
            quantity,
            share,
            self.currency,
            self.acquired_on,
            self.origin,
        )
        self.quantity -= quantity
        if self.cost_basis is not None and share is not None:
            self.cost_basis -= share
        return piece


class Disposal(NamedTuple):
    """Units that left the portfolio by a sale or conversion, matched to one lot.

    Immutable records the replay makes by the tens of thousands: NamedTuples, which
    build in C, rather than frozen dataclasses.
    """

    transaction_id: int
    account: str
    instrument: InstrumentKey
    quantity: Decimal
    proceeds: Decimal | None
    cost_basis: Decimal | None
    currency: str
    acquired_on: date | None
    disposed_on: date
    lot_id: int
    lot_origin: Origin

    @property
    def term(self) -> Term:
        return holding_term(self.acquired_on, self.disposed_on)

    @property
    def gain(self) -> Decimal | None:
        if self.proceeds is None or self.cost_basis is None:
            return None
        return self.proceeds - self.cost_basis


class Income(NamedTuple):
    """A dividend, interest payment or staking reward."""

    transaction_id: int
    account: str
    instrument: InstrumentKey | None
    type: TransactionType
    amount: Decimal | None
    currency: str
    on: date


@dataclass(slots=True)
class LedgerState:
    """Everything the replay derives from the ledger."""

    lots: list[Lot] = field(default_factory=list)
    disposals: list[Disposal] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    cash: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    cash_accounts: set[str] = field(default_factory=set)
    shortfalls: list[Shortfall] = field(default_factory=list)

    def open_lots(self) -> list[Lot]:
        return [lot for lot in self.lots if lot.quantity > 0]


def ref_of(txn: Transaction, index: int) -> int:
    """The id a replay gives an entry: its database id, else minus its position plus one."""
    return txn.id if txn.id is not None else -(index + 1)


def pair_transfers(transactions: Sequence[tuple[int, Transaction]]) -> dict[int, int]:
    """Match transfer-out legs to transfer-in legs (ref to ref).

    A shared ``link`` pairs two legs; otherwise an out and an in of the same instrument
    (or currency, for cash), the same quantity (or amount), on the same day, in two
    different accounts are paired, the earliest unmatched first.
    """
    pairs: dict[int, int] = {}
    by_link: dict[str, list[tuple[int, Transaction]]] = defaultdict(list)
    loose_in: dict[tuple[object, ...], list[tuple[int, Transaction]]] = defaultdict(list)
    for ref, txn in transactions:
        if txn.type is TransactionType.TRANSFER_IN:
            if txn.link:
                by_link[txn.link].append((ref, txn))
            else:
                loose_in[_transfer_key(txn)].append((ref, txn))
    used: set[int] = set()
    for ref, txn in transactions:
        if txn.type is not TransactionType.TRANSFER_OUT:
            continue
        candidates = by_link.get(txn.link, []) if txn.link else loose_in.get(_transfer_key(txn), [])
        for candidate_ref, candidate in candidates:
            if candidate_ref not in used and candidate.account != txn.account:
                pairs[ref] = candidate_ref
                used.add(candidate_ref)
                break
    return pairs


TRANSFER_TYPES = frozenset({TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT})


def _transfer_key(txn: Transaction) -> tuple[object, ...]:
    if txn.instrument is None:
        return ("cash", txn.currency, txn.amount, txn.traded_on)
    return (txn.instrument, txn.quantity, txn.traded_on)


class _Book:
    """Open lots per (account, instrument) in acquisition order, with running totals."""

    def __init__(self, method: CostMethod) -> None:
        self.method = method
        self.lots: dict[tuple[str, InstrumentKey], list[Lot]] = {}
        self.units: dict[tuple[str, InstrumentKey], Decimal] = {}

    def add(self, lot: Lot) -> None:
        """Add a lot in acquisition order (transferred-in lots may be older than others)."""
        key = (lot.account, lot.instrument)
        lots = self.lots.get(key)
        if lots is None:
            self.lots[key] = [lot]
            self.units[key] = lot.quantity
            return
        acquired = lot.acquired_on or date.min  # unknown-basis openings predate the history
        if not lots or (lots[-1].acquired_on or date.min) <= acquired:
            lots.append(lot)
        else:
            lots.insert(bisect_right(lots, acquired, key=_acquired), lot)
        self.units[key] += lot.quantity

    def open_lots(self) -> list[Lot]:
        """Open lots, ordered by account, instrument and acquisition."""
        return [lot for lots in self.lots.values() for lot in lots if lot.quantity > 0]

    def held(self, account: str, instrument: InstrumentKey) -> Decimal:
        return self.units.get((account, instrument), ZERO)

    def remove(self, txn: Transaction, quantity: Decimal) -> list[Lot]:
        """Take ``quantity`` units (no more than held) out of the account's lots by the
        book's method; whole lots leave the book, a partly sold lot is split."""
        assert txn.instrument is not None
        key = (txn.account, txn.instrument)
        lots = self.lots.get(key, [])
        if (
            self.method in (CostMethod.FIFO, CostMethod.SPECIFIC)
            and not txn.lot_selection
            and lots
            and lots[0].quantity > quantity
        ):  # the common case: part of the oldest lot
            self.units[key] -= quantity
            return [lots[0].split_off(quantity)]
        pieces: list[Lot] = []
        gone: set[int] = set()
        remaining = quantity
        unknown_pool = False

        def take(lot: Lot, wanted: Decimal) -> Decimal:
            if wanted >= lot.quantity:
                pieces.append(lot)
                gone.add(id(lot))
                return lot.quantity
            pieces.append(lot.split_off(wanted))
            return wanted

        if self.method is CostMethod.SPECIFIC and txn.lot_selection:
            by_id = {lot.lot_id: lot for lot in lots}
            for pick in txn.lot_selection:
                lot = by_id.get(pick.lot_id)
                if pick.quantity <= 0:
                    raise LedgerError(
                        f"transaction {txn.id}: lot {pick.lot_id} is chosen for {pick.quantity} "
                        "units; a chosen lot gives a positive number of units"
                    )
                if lot is None or id(lot) in gone or lot.quantity < pick.quantity:
                    raise LedgerError(
                        f"transaction {txn.id}: lot {pick.lot_id} of {txn.instrument} in "
                        f"'{txn.account}' does not hold {pick.quantity} units on "
                        f"{txn.traded_on.isoformat()}"
                    )
                remaining -= take(lot, min(pick.quantity, remaining))
        elif self.method is CostMethod.AVERAGE and not _reaverage(lots):
            unknown_pool = True  # some units have unknown basis: so does the pool's average
        for lot in self._order(lots):
            if remaining <= 0:
                break
            if id(lot) not in gone:
                remaining -= take(lot, remaining)
        if gone:
            self.lots[key] = [lot for lot in lots if id(lot) not in gone]
        self.units[key] -= quantity
        if unknown_pool:
            for piece in pieces:
                piece.cost_basis = None
        return pieces

    def _order(self, lots: list[Lot]) -> list[Lot]:
        if self.method is CostMethod.LIFO:
            return lots[::-1]
        if self.method is CostMethod.HIFO:
            known = [lot for lot in lots if lot.cost_basis is not None]
            unknown = [lot for lot in lots if lot.cost_basis is None]
            known.sort(key=lambda lot: lot.cost_per_unit or ZERO, reverse=True)
            return known + unknown
        return lots

    def split(self, account: str, instrument: InstrumentKey, after: Decimal) -> None:
        """Scale the account's lots so that they hold ``after`` units in all."""
        key = (account, instrument)
        lots = [lot for lot in self.lots.get(key, ()) if lot.quantity > 0]
        if lots:
            _rescale(lots, after)
            self.units[key] = after


def stored_units(quantity: Decimal) -> Decimal:
    """Units as the ledger stores them: 18 decimals, half-even."""
    return quantity.quantize(_UNIT, rounding=ROUND_HALF_EVEN, context=_WIDE)


def _rescale(lots: list[Lot], total: Decimal) -> None:
    """Scale lots' units in proportion so that they add up to exactly ``total`` (each at
    most 18 decimals; the rounding rest goes to the last lot). Bases stay unchanged."""
    held = sum((lot.quantity for lot in lots), ZERO)
    given = ZERO
    for lot in lots[:-1]:
        lot.quantity = stored_units(lot.quantity * total / held)
        given += lot.quantity
    lots[-1].quantity = total - given


def _acquired(lot: Lot) -> date:
    return lot.acquired_on or date.min


def _reaverage(lots: list[Lot]) -> bool:
    """Give every lot of a pool the pool's average cost per unit; False (and no change)
    when some lot's basis is unknown, which leaves the average unknown too."""
    live = [lot for lot in lots if lot.quantity > 0]
    if any(lot.cost_basis is None for lot in live):
        return False
    if not live:
        return True
    total_basis = sum((lot.cost_basis or ZERO for lot in live), ZERO)
    total_quantity = sum((lot.quantity for lot in live), ZERO)
    assigned = ZERO
    for lot in live[:-1]:
        lot.cost_basis = total_basis * lot.quantity / total_quantity
        assigned += lot.cost_basis
    live[-1].cost_basis = total_basis - assigned
    return True


def replay(
    transactions: Iterable[Transaction],
    *,
    method: CostMethod = CostMethod.FIFO,
    collect_shortfalls: bool = False,
    transfers: Sequence[Transaction] | None = None,
    record: bool = True,
    presorted: bool = False,
) -> LedgerState:
    """Replay ``transactions`` into lots, disposals, income and cash, in ledger order
    (:func:`~quantdesk.domain.transactions.ordered`; a stream must already be in it).

    A sale or transfer larger than the units held raises :class:`InsufficientLots`
    listing every such entry; with ``collect_shortfalls`` the missing units are instead
    opened as lots of unknown basis just before the entry, and listed in
    ``state.shortfalls`` so the caller can record them.

    To replay a ledger too large for memory, pass an iterator of stored transactions
    (all with ids) and their ``transfers`` (every transfer entry, for pairing), and
    ``record=False`` to keep no disposals or income: memory then grows with open lots only.
    ``presorted`` says the entries are already in ledger order (as the store returns them).
    """
    if transfers is None:
        txns = list(transactions) if presorted else ordered(list(transactions))
        transactions = txns
        legs = [(ref_of(t, i), t) for i, t in enumerate(txns) if t.type in TRANSFER_TYPES]
    else:
        legs = [(ref_of(t, i), t) for i, t in enumerate(transfers)]
    pairs = pair_transfers(legs)
    by_ref = dict(legs)
    partner_of: dict[int, int] = {**pairs, **{v: k for k, v in pairs.items()}}
    state = LedgerState()
    book = _Book(method)
    cash: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for index, txn in enumerate(transactions):
            ref = txn.id if txn.id is not None else -(index + 1)  # as ref_of, inlined
            if txn.is_cash_movement():
                state.cash_accounts.add(txn.account)
            if txn.account in state.cash_accounts:
                # an account's cash is tracked from its first cash movement on: what it
                # bought before was paid from outside (no balance is invented)
                cash[(txn.account, txn.currency)] += txn.cash_effect()
            partner = partner_of.get(ref) if partner_of else None
            _apply(txn, ref, None if partner is None else by_ref[partner], book, state, record)
    if state.shortfalls and not collect_shortfalls:
        raise InsufficientLots(state.shortfalls)
    state.lots = book.open_lots()
    state.cash = dict(cash)
    return state


def _apply(
    txn: Transaction,
    ref: int,
    partner: Transaction | None,
    book: _Book,
    state: LedgerState,
    record: bool,
) -> None:
    t = txn.type
    key = txn.instrument
    if record and t in (
        TransactionType.DIVIDEND,
        TransactionType.INTEREST,
        TransactionType.STAKING_REWARD,
    ):
        state.income.append(
            Income(ref, txn.account, key, t, txn.income_amount(), txn.currency, txn.traded_on)
        )
    if key is None or key.asset_type == "cash":
        return  # cash is a balance (see cash_effect), not lots
    if t is TransactionType.BUY or (t is TransactionType.DIVIDEND and txn.quantity):
        quantity = txn.quantity or ZERO
        gross = txn.gross
        basis = None if gross is None else gross + txn.fees
        _open(book, txn, ref, quantity, basis, txn.traded_on)
    elif t is TransactionType.STAKING_REWARD:
        _open(book, txn, ref, txn.quantity or ZERO, txn.income_amount(), txn.traded_on)
    elif t is TransactionType.SELL or (t is TransactionType.CONVERSION and (txn.quantity or 0) < 0):
        quantity = abs(txn.quantity or ZERO)
        gross = txn.gross
        proceeds = None if gross is None else gross - txn.fees
        pieces = _take(book, txn, ref, quantity, state)
        if record:
            _dispose(state, txn, ref, pieces, quantity, proceeds)
    elif t is TransactionType.CONVERSION:
        gross = txn.gross
        basis = None if gross is None else gross + txn.fees
        _open(book, txn, ref, txn.quantity or ZERO, basis, txn.traded_on)
    elif t is TransactionType.SPLIT:
        held = book.held(txn.account, key)
        if held <= 0:
            return
        if txn.split_ratio is not None:
            after = held * txn.split_ratio
        elif txn.quantity is not None:
            after = held + txn.quantity
        else:
            return
        book.split(txn.account, key, stored_units(after))
    elif t is TransactionType.TRANSFER_OUT:
        # A paired transfer moves the lots (basis and holding period kept) when they are
        # sent; its receiving leg is then a no-op. An unpaired one leaves the portfolio.
        sent = txn.quantity or ZERO
        pieces = _take(book, txn, ref, sent, state)
        if partner is not None:
            # Units lost on the way (a network fee paid in the coin) keep their basis in
            # the units that arrive: no gain or loss is invented for a transfer.
            received = partner.quantity or sent
            if received != sent:
                _rescale(pieces, received)
            for piece in pieces:
                piece.account = partner.account
                book.add(piece)
    elif t is TransactionType.TRANSFER_IN and partner is not None:
        return  # its units arrive with the transfer-out that sent them
    elif t is TransactionType.TRANSFER_IN:
        gross = txn.gross
        basis = None if gross is None else gross + txn.fees
        _open(book, txn, ref, txn.quantity or ZERO, basis, txn.acquired_on or txn.traded_on)


def _open(
    book: _Book,
    txn: Transaction,
    ref: int,
    quantity: Decimal,
    basis: Decimal | None,
    acquired_on: date | None,
) -> None:
    assert txn.instrument is not None
    if quantity <= 0:
        return
    if txn.origin is Origin.UNKNOWN_BASIS:
        basis, acquired_on = None, None
    book.add(
        Lot(
            ref, txn.account, txn.instrument, quantity, basis, txn.currency, acquired_on, txn.origin
        )
    )


def _take(
    book: _Book, txn: Transaction, ref: int, quantity: Decimal, state: LedgerState
) -> list[Lot]:
    assert txn.instrument is not None
    held = book.held(txn.account, txn.instrument)
    if quantity > held:
        state.shortfalls.append(
            Shortfall(txn.account, str(txn.instrument), txn.traded_on, quantity, held, txn)
        )
        book.add(
            Lot(
                ref,
                txn.account,
                txn.instrument,
                quantity - held,
                None,
                txn.currency,
                None,
                Origin.UNKNOWN_BASIS,
            )
        )
    return book.remove(txn, quantity)


def _dispose(
    state: LedgerState,
    txn: Transaction,
    ref: int,
    pieces: list[Lot],
    quantity: Decimal,
    proceeds: Decimal | None,
) -> None:
    allocated = ZERO
    for position, piece in enumerate(pieces):
        if proceeds is None:
            share = None
        elif position == len(pieces) - 1:
            share = proceeds - allocated
        else:
            share = proceeds * piece.quantity / quantity
            allocated += share
        state.disposals.append(
            Disposal(
                ref,
                txn.account,
                piece.instrument,
                piece.quantity,
                share,
                piece.cost_basis,
                txn.currency,
                piece.acquired_on,
                txn.traded_on,
                piece.lot_id,
                piece.origin,
            )
        )
