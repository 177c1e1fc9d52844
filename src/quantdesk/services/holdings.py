"""Holdings as the grid shows and edits them: one row per account and instrument (or
cash currency), each with a version for optimistic concurrency.

An edit never rewrites history: setting a quantity records the difference as an
``adjustment`` entry dated now (more units come in at the holding's average cost, fewer
go out as a transfer without inventing a gain); setting a cost basis takes the units out
and back in lot by lot, each lot keeping its acquisition date and taking its share of the
new basis. Cash balances are set with a deposit or withdrawal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from quantdesk.domain.accounts import Account
from quantdesk.domain.errors import InvalidInput, NotFound, StaleWrite
from quantdesk.domain.instruments import AssetType, Instrument, InstrumentKey
from quantdesk.domain.lots import CostMethod, LedgerState, Lot, replay
from quantdesk.domain.money import ZERO, check_storable, derived
from quantdesk.domain.positions import (
    BaseTotal,
    Position,
    Quote,
    positions,
)
from quantdesk.domain.transactions import Origin, Transaction, TransactionType
from quantdesk.services.portfolio import (
    LedgerCache,
    base_total,
    load_ledger_at,
    replay_entries,
    replay_key,
    replay_ledger,
    replayed,
)
from quantdesk.services.ports import LedgerStore, NewRow, UnitOfWork

_HOLDING_ID = re.compile(r"(\d{1,12})-(\d{1,12}|[A-Z]{3,5})").fullmatch


@dataclass(frozen=True, slots=True)
class Holding:
    """A position as the grid shows it, with the ids and version an edit needs."""

    id: str | None  # None for consolidated rows: they are not edited
    account: Account | None
    instrument: Instrument | None  # None for a cash balance
    position: Position
    version: str


def parse_holding_id(holding_id: str) -> tuple[int, int | str]:
    """``ACCOUNT-INSTRUMENT`` (ids) or ``ACCOUNT-CUR`` for a cash balance."""
    match = _HOLDING_ID(holding_id)
    if match is None:
        raise NotFound(f"no holding {holding_id}")
    account, what = match.groups()
    return int(account), int(what) if what.isdigit() else what


def version_of(position: Position | None) -> str:
    """A version that changes whenever the holding's units, basis or lots change."""
    if position is None:
        text = "empty"
    else:
        text = f"{position.quantity}|{position.cost_basis}|{position.lot_count}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def list_holdings(
    uow: UnitOfWork,
    *,
    consolidated: bool = False,
    account_id: int | None = None,
    method: CostMethod = CostMethod.FIFO,
    as_of: date,
    base: str = "USD",
    ledger_cache: LedgerCache | None = None,
    revision: int | None = None,
) -> tuple[list[Holding], BaseTotal]:
    """The holdings valued at the latest stored prices, and their total in ``base``
    (the ledger from ``ledger_cache`` when it holds ``revision``, the one the caller
    knows)."""
    with uow(commit=False) as store:
        account = store.account_by_id(account_id) if account_id is not None else None
        known, ledger = load_ledger_at(store, ledger_cache, revision=revision)
        state = replayed(
            ledger_cache, store.user_id, known, ledger, as_of=as_of, method=method, record=False
        )
        quotes = store.latest_quotes(as_of)
        rows = positions(
            state, quotes, consolidated=consolidated, account=account.name if account else None
        )
        found = _holdings(store, rows, consolidated=consolidated)
    return found, base_total(rows, quotes, base)


def _holdings(store: LedgerStore, rows: list[Position], *, consolidated: bool) -> list[Holding]:
    accounts = {a.name: a for a in store.list_accounts()}
    by_key = store.instruments_of(p.instrument for p in rows if not _is_cash(p))
    result = []
    for p in rows:
        cash = _is_cash(p)
        instrument = None if cash else by_key.get(p.instrument)
        account = None if consolidated or p.account is None else accounts.get(p.account)
        holding_id = None
        if account is not None and account.id is not None:
            if cash:
                holding_id = f"{account.id}-{p.instrument.symbol}"
            elif instrument is not None and instrument.id is not None:
                holding_id = f"{account.id}-{instrument.id}"
        result.append(Holding(holding_id, account, instrument, p, version_of(p)))
    return result


def get_holding(
    uow: UnitOfWork, holding_id: str, *, as_of: date, method: CostMethod = CostMethod.FIFO
) -> Holding:
    account_id, what = parse_holding_id(holding_id)
    with uow(commit=False) as store:
        return _current(store, account_id, what, as_of=as_of, method=method)


def _current(
    store: LedgerStore,
    account_id: int,
    what: int | str,
    *,
    as_of: date,
    method: CostMethod,
    state: LedgerState | None = None,
    quotes: Mapping[InstrumentKey, Quote] | None = None,
    before: Holding | None = None,
) -> Holding:
    """The holding as it is (from ``state`` and ``quotes`` when the caller has them;
    its account and instrument as ``before``, read earlier in the same transaction)."""
    account = before.account if before and before.account else store.account_by_id(account_id)
    if state is None:
        state = replay_ledger(store, method=method, as_of=as_of, record=False)
    if quotes is None:
        quotes = store.latest_quotes(as_of)
    rows = positions(state, quotes, account=account.name)
    if isinstance(what, str):
        key = InstrumentKey(what, AssetType.CASH)
        match = [p for p in rows if p.instrument == key and p.quote and p.quote.source == "cash"]
        instrument = None
        if not match and account.name not in state.cash_accounts:
            raise NotFound(f"no holding {account_id}-{what}")
        position = (
            match[0]
            if match
            else _empty(account, key, what, Quote(Decimal(1), what, as_of, "cash"))
        )
    else:
        instrument = (
            before.instrument if before and before.instrument else store.instrument_by_id(what)
        )
        match = [p for p in rows if p.instrument == instrument.key and not _is_cash(p)]
        if not match and not store.has_instrument_entries(account_id, what):
            raise NotFound(f"no holding {account_id}-{what}")
        position = (
            match[0]
            if match
            else _empty(account, instrument.key, instrument.currency, quotes.get(instrument.key))
        )
    holding_id = f"{account_id}-{what}"
    return Holding(
        holding_id, account, instrument, position, version_of(position if match else None)
    )


def _is_cash(p: Position) -> bool:
    return p.quote is not None and p.quote.source == "cash"


def _empty(account: Account, key: InstrumentKey, currency: str, quote: Quote | None) -> Position:
    return Position(account.name, key, ZERO, currency, ZERO, ZERO, 0, quote)


def edit_holding(
    uow: UnitOfWork,
    holding_id: str,
    *,
    version: str,
    quantity: Decimal | None = None,
    cost_basis: Decimal | None = None,
    clock: Callable[[], datetime],
    ledger_cache: LedgerCache | None = None,
) -> Holding:
    """Set a holding's quantity and/or total cost basis, if ``version`` is still current
    (else :class:`StaleWrite` carrying the current row); returns the holding after."""
    if quantity is None and cost_basis is None:
        raise InvalidInput("give a quantity or a cost_basis to set")
    for name, value in (("quantity", quantity), ("cost_basis", cost_basis)):
        if value is not None:
            if value < 0:
                raise InvalidInput(f"{name} cannot be negative")
            check_storable(value)
    account_id, what = parse_holding_id(holding_id)
    now = clock()
    with uow() as store:
        store.lock()  # edits of one user run one at a time: the version check holds
        today = now.date()
        known, before = load_ledger_at(store, ledger_cache)
        state = replayed(ledger_cache, store.user_id, known, before, as_of=today, record=False)
        quotes = store.latest_quotes(today)  # an edit changes units, not prices
        current = _current(
            store, account_id, what, as_of=today, method=CostMethod.FIFO, state=state, quotes=quotes
        )
        if current.version != version:
            raise StaleWrite(
                f"holding {holding_id} changed since version {version} (now {current.version})",
                current=current,
            )
        assert current.account is not None and current.account.id is not None
        if isinstance(what, str):
            rows = _cash_entries(current, quantity, now)
            if cost_basis is not None:
                raise InvalidInput("a cash balance has no cost basis to set")
        else:
            assert current.instrument is not None and current.instrument.id is not None
            lots = [
                lot
                for lot in state.open_lots()
                if lot.account == current.account.name and lot.instrument == current.instrument.key
            ]
            entries = _unit_entries(current, lots, quantity, cost_basis, now)
            rows = [(current.account.id, current.instrument.id, t) for t in entries]
        store.add_transactions(rows, now)
        ledger = store.ledger()
        # Raises InsufficientLots if the ledger is now short (replay_entries would instead
        # open the missing units as unknown basis): the edit then rolls back. Without any
        # chosen lots the specific method is FIFO, so that one replay also gives the view.
        # It records the disposals too: the analytics the edit answers with reuse it.
        chosen = any(t.lot_selection for t in ledger)
        checked = replay(
            ledger, method=CostMethod.SPECIFIC if chosen else CostMethod.FIFO, presorted=True
        )
        future = any(t.traded_on > today for t in ledger)
        after = replay_entries(ledger, as_of=today) if chosen or future else checked
        edited = _current(
            store,
            account_id,
            what,
            as_of=today,
            method=CostMethod.FIFO,
            state=after,
            quotes=quotes,
            before=current,
        )
        revision, user_id = store.ledger_revision(), store.user_id
    if ledger_cache is not None:  # committed: the next read of this revision needs no load
        ledger_cache.put((user_id, revision), ledger)
        key = replay_key(user_id, revision, ledger, today, CostMethod.FIFO, True)
        ledger_cache.replays.put(key, after)  # nor a replay, if it holds what it did
    return edited


def _cash_entries(current: Holding, quantity: Decimal | None, now: datetime) -> list[NewRow]:
    assert current.account is not None and current.account.id is not None
    if quantity is None:
        return []
    delta = quantity - current.position.quantity
    if not delta:
        return []
    currency = current.position.currency
    return [
        (
            current.account.id,
            None,
            Transaction(
                account=current.account.name,
                type=TransactionType.DEPOSIT if delta > 0 else TransactionType.WITHDRAWAL,
                traded_at=now,
                timed=True,
                amount=abs(delta),
                currency=currency,
                origin=Origin.ADJUSTMENT,
                description=f"adjustment: cash balance set to {quantity} {currency}",
            ),
        )
    ]


def _unit_entries(
    current: Holding,
    lots: list[Lot],
    quantity: Decimal | None,
    cost_basis: Decimal | None,
    now: datetime,
) -> list[Transaction]:
    assert current.account is not None and current.instrument is not None
    p = current.position
    name, key, currency = current.account.name, current.instrument.key, p.currency
    have = p.quantity
    target = have if quantity is None else quantity
    note = f"adjustment: holding set to {target} units" + (
        f" with cost basis {cost_basis}" if cost_basis is not None else ""
    )

    def entry(kind: TransactionType, units: Decimal, at: datetime, **extra: object) -> Transaction:
        return Transaction(
            account=name,
            type=kind,
            traded_at=at,
            timed=True,
            instrument=key,
            quantity=units,
            currency=currency,
            origin=Origin.ADJUSTMENT,
            description=note,
            **extra,  # type: ignore[arg-type]
        )

    if cost_basis is None:
        delta = target - have
        if not delta:
            return []
        if delta < 0:
            return [entry(TransactionType.TRANSFER_OUT, -delta, now)]
        average = p.average_cost
        return [
            entry(TransactionType.TRANSFER_IN, delta, now, price=average, acquired_on=now.date())
        ]
    if target == 0:
        raise InvalidInput("a holding of 0 units has no cost basis to set")
    # Out with every unit, then back in lot by lot a microsecond later (so the replay
    # takes the old lots out before the new ones come in), each lot keeping its date.
    later = now + timedelta(microseconds=1)
    out = [entry(TransactionType.TRANSFER_OUT, have, now)] if have else []
    pieces = _lots_after(lots, target, now.date())
    # The new basis is spread as the old one was; by units when any piece's is unknown.
    bases = [piece.cost_basis for piece in pieces]
    known = sum((b for b in bases if b is not None), ZERO)
    by_basis = bool(known) and None not in bases
    total_units = sum((piece.quantity for piece in pieces), ZERO)
    back = []
    for piece in pieces:
        share = (piece.cost_basis or ZERO) / known if by_basis else piece.quantity / total_units
        price = derived(cost_basis * share / piece.quantity)
        back.append(
            entry(
                TransactionType.TRANSFER_IN,
                piece.quantity,
                later,
                price=price,
                acquired_on=piece.acquired_on,
            )
        )
    return out + back


class _Piece(NamedTuple):
    """Units a holding keeps after an edit: how many, their cost basis (None when
    unknown), and their acquisition date."""

    quantity: Decimal
    cost_basis: Decimal | None
    acquired_on: date


def _lots_after(lots: list[Lot], target: Decimal, today: date) -> list[_Piece]:
    """The pieces a holding of ``target`` units keeps (FIFO: the newest stay, the oldest
    kept one cut pro rata), and a piece of today for units beyond those held."""
    ordered = sorted(lots, key=lambda lot: (lot.acquired_on or today, lot.lot_id))
    drop = sum((lot.quantity for lot in ordered), ZERO) - target
    kept: list[_Piece] = []
    for lot in ordered:
        if drop >= lot.quantity:
            drop -= lot.quantity
            continue
        cut = max(drop, ZERO)
        units = lot.quantity - cut
        basis = None if lot.cost_basis is None else lot.cost_basis * units / lot.quantity
        kept.append(_Piece(units, basis, lot.acquired_on or today))
        drop -= cut
    if drop < 0:  # more units than held: the rest came in today
        kept.append(_Piece(-drop, None, today))
    return kept
