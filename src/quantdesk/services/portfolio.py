"""Read and edit the ledger: accounts, positions, lots, gains, transactions, prices."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from quantdesk.domain.accounts import Account, AccountKind, validate_account_name
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey, normalize_currency
from quantdesk.domain.lots import CostMethod, Disposal, Income, LedgerState, Lot, Term, replay
from quantdesk.domain.money import ZERO, check_storable
from quantdesk.domain.positions import (
    BaseTotal,
    Position,
    Quote,
    positions,
    total_in_base,
    totals_by_currency,
)
from quantdesk.domain.transactions import LotPick, Origin, Transaction, TransactionType
from quantdesk.importers.base import Issues
from quantdesk.importers.csvio import Readable
from quantdesk.importers.prices import PriceFileError, parse_price_file
from quantdesk.services.bulk import cyclic_gc_paused
from quantdesk.services.lru import Lru
from quantdesk.services.ports import LedgerStore, UnitOfWork
from quantdesk.services.resolve import InstrumentResolver


def add_account(
    uow: UnitOfWork,
    name: str,
    *,
    kind: str,
    institution: str | None,
    currency: str,
    clock: Callable[[], datetime],
    taxable: bool | None = None,
) -> Account:
    """A new account; ``taxable`` None leaves it to the kind (retirement is not)."""
    account = Account(
        validate_account_name(name),
        AccountKind.parse(kind),
        normalize_currency(currency),
        institution.strip() if institution else None,
        taxable=taxable,
    )
    with uow() as store:
        return store.add_account(account, clock())


def list_accounts(uow: UnitOfWork) -> list[Account]:
    with uow(commit=False) as store:
        return store.list_accounts()


class LedgerCache(Lru[list[Transaction]]):
    """Users' ledgers as loaded at a ledger revision, by (user id, revision), reused while
    it stands (every change to a ledger bumps its revision). Only committed states go in:
    a change puts its ledger after its transaction commits. Bounded by ledgers and by
    entries in all (a few large ledgers hold as much as many small ones)."""

    def __init__(self, size: int = 4096, *, entries: int = 250_000) -> None:
        super().__init__(size, weight=len, budget=entries)
        #: Replays of the ledgers kept (:func:`replayed`): a holdings read, the grid edit
        #: after it and the analytics it answers with replay one revision once, not
        #: each. Read only once made.
        self.replays: Lru[LedgerState] = Lru(size, weight=_state_weight, budget=entries)


def _state_weight(state: LedgerState) -> int:
    return len(state.lots) + len(state.disposals) + len(state.income) + 1


def load_ledger_at(
    store: LedgerStore, cache: LedgerCache | None, *, revision: int | None = None
) -> tuple[int | None, list[Transaction]]:
    """The user's ledger in ledger order, from ``cache`` when it has the current revision,
    with the revision it was loaded at (None without a cache: not read). Call it only
    before the transaction changes anything (else the revision read is not yet
    committed). ``revision``: the revision the caller already knows (read with its
    token), served from the cache without asking the database when it is there."""
    if cache is None:
        return None, store.ledger()
    if revision is not None:
        found = cache.get((store.user_id, revision))
        if found is not None:
            return revision, found
    current = store.ledger_revision()
    return current, cache.get_or_load((store.user_id, current), store.ledger)


def replay_key(
    user_id: int,
    revision: int,
    ledger: Sequence[Transaction],
    as_of: date | None,
    method: CostMethod,
    record: bool,
) -> tuple[object, ...]:
    """What a replay of a user's ledger at a revision is kept by: a day on or after the
    ledger's last entry replays all of it, as no day does."""
    if as_of is not None and all(t.traded_on <= as_of for t in ledger):
        as_of = None
    return (user_id, revision, as_of, method, record)


def replayed(
    cache: LedgerCache | None,
    user_id: int,
    revision: int | None,
    ledger: Sequence[Transaction],
    *,
    as_of: date | None,
    method: CostMethod = CostMethod.FIFO,
    record: bool = True,
) -> LedgerState:
    """:func:`replay_entries` of the user's ``ledger`` as of ``revision``, kept in
    ``cache`` (a replay that records disposals and income also serves one that does
    not). Its result is shared: read it, never change it."""
    if cache is None or revision is None:
        return replay_entries(ledger, method=method, as_of=as_of, record=record)
    key = replay_key(user_id, revision, ledger, as_of, method, record)
    found = cache.replays.get(key)
    if found is None and not record:
        found = cache.replays.get((*key[:-1], True))
    if found is None:
        found = replay_entries(ledger, method=method, as_of=as_of, record=record)
        cache.replays.put(key, found)
    return found


def replay_ledger(
    store: LedgerStore,
    *,
    method: CostMethod = CostMethod.FIFO,
    as_of: date | None = None,
    record: bool = True,
) -> LedgerState:
    """Load the user's ledger and replay it into lots and cash, and (``record``) the
    disposals and income that gains need."""
    return replay_entries(store.ledger(), method=method, as_of=as_of, record=record)


def replay_entries(
    ledger: Sequence[Transaction],
    *,
    method: CostMethod = CostMethod.FIFO,
    as_of: date | None = None,
    record: bool = True,
) -> LedgerState:
    """Replay an already loaded ledger (in ledger order) up to ``as_of``."""
    with cyclic_gc_paused():
        if as_of is not None:
            ledger = [t for t in ledger if t.traded_on <= as_of]
        return replay(ledger, method=method, collect_shortfalls=True, presorted=True, record=record)


def current_positions(
    uow: UnitOfWork,
    *,
    account: str | None = None,
    consolidated: bool = False,
    method: CostMethod = CostMethod.FIFO,
    as_of: date,
) -> list[Position]:
    """Positions valued at the latest stored close on or before ``as_of``."""
    return valued_positions(
        uow, account=account, consolidated=consolidated, method=method, as_of=as_of
    )[0]


def valued_positions(
    uow: UnitOfWork,
    *,
    account: str | None = None,
    consolidated: bool = False,
    method: CostMethod = CostMethod.FIFO,
    as_of: date,
    base: str = "USD",
) -> tuple[list[Position], BaseTotal]:
    """Positions valued at the latest stored close on or before ``as_of``, and their
    total in ``base`` at the latest stored FX rates (the closes or quotes of the pairs,
    such as EURUSD, that ``prices refresh`` stores), from one read of the prices."""
    with uow(commit=False) as store:
        if account is not None:
            store.account(account)
        state = replay_ledger(store, method=method, as_of=as_of, record=False)
        quotes = store.latest_quotes(as_of)
    rows = positions(state, quotes, consolidated=consolidated, account=account)
    return rows, base_total(rows, quotes, base)


def base_total(rows: list[Position], quotes: Mapping[InstrumentKey, Quote], base: str) -> BaseTotal:
    """The positions' value in ``base``, at the stored rates of the FX pairs (EURUSD...)
    among ``quotes``."""
    totals = totals_by_currency(rows)
    pairs = {c: InstrumentKey(f"{c}{base}", AssetType.CASH) for c in totals if c != base}
    rates = {c: quotes[k].price for c, k in pairs.items() if k in quotes}
    return total_in_base(totals, rates, base)


def open_lots(
    uow: UnitOfWork,
    *,
    symbol: str | None = None,
    account: str | None = None,
    method: CostMethod = CostMethod.FIFO,
) -> list[Lot]:
    with uow(commit=False) as store:
        if account is not None:
            store.account(account)
        state = replay_ledger(store, method=method, record=False)
    wanted = symbol.strip().upper() if symbol else None
    return [
        lot
        for lot in state.lots
        if (wanted is None or lot.instrument.symbol == wanted)
        and (account is None or lot.account == account)
    ]


@dataclass(frozen=True, slots=True)
class GainsReport:
    method: CostMethod
    year: int | None
    disposals: list[Disposal]
    income: list[Income]

    @property
    def currencies(self) -> list[str]:
        return sorted({d.currency for d in self.disposals})

    def total(self, currency: str, term: Term | None = None) -> Decimal:
        """Sum of the known gains in ``currency`` (of one term); unknown-basis gains are
        counted in :attr:`unknown_basis` instead, never as 0."""
        return sum(
            (
                d.gain
                for d in self.disposals
                if d.currency == currency
                and d.gain is not None
                and (term is None or d.term is term)
            ),
            ZERO,
        )

    @property
    def unknown_basis(self) -> list[Disposal]:
        return [d for d in self.disposals if d.gain is None]

    def income_total(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for item in self.income:
            if item.amount is not None:
                key = f"{item.type.value}:{item.currency}"
                totals[key] = totals.get(key, ZERO) + item.amount
        return totals


def realized_gains(
    uow: UnitOfWork,
    *,
    year: int | None = None,
    method: CostMethod = CostMethod.FIFO,
    account: str | None = None,
) -> GainsReport:
    with uow(commit=False) as store:
        if account is not None:
            store.account(account)
        state = replay_ledger(store, method=method)

    def keep(on: date, owner: str) -> bool:
        return (year is None or on.year == year) and (account is None or owner == account)

    return GainsReport(
        method,
        year,
        [d for d in state.disposals if keep(d.disposed_on, d.account)],
        [i for i in state.income if keep(i.on, i.account)],
    )


def list_transactions(
    uow: UnitOfWork, *, account: str | None = None, symbol: str | None = None, limit: int = 100
) -> list[Transaction]:
    with uow(commit=False) as store:
        account_id = store.account(account).id if account else None
        ledger = store.ledger(account_id=account_id)
    if symbol:
        wanted = symbol.strip().upper()
        ledger = [t for t in ledger if t.instrument is not None and t.instrument.symbol == wanted]
    return ledger[-limit:] if limit else ledger


def delete_transaction(uow: UnitOfWork, transaction_id: int) -> None:
    """Delete an entry, refusing if the ledger would then sell units it does not hold."""
    with uow() as store:
        store.lock()
        store.delete_transaction(transaction_id)
        # raises InsufficientLots or LedgerError (a chosen lot gone): the delete rolls back
        replay(store.ledger(), method=CostMethod.SPECIFIC, presorted=True)


def complete_basis(
    uow: UnitOfWork,
    transaction_id: int,
    *,
    price_per_unit: Decimal,
    acquired_on: date,
) -> Transaction:
    """Give an opening of unknown basis (an ``unknown_basis`` entry, or a snapshot row
    without cost) its cost per unit and acquisition date; an unknown-basis opening then
    becomes a completed ``opening``."""
    if price_per_unit < 0:
        raise InvalidInput("a cost basis cannot be negative")
    check_storable(price_per_unit)
    with uow() as store:
        store.lock()
        entry = store.transaction(transaction_id)
        if entry.type is not TransactionType.TRANSFER_IN or entry.instrument is None:
            raise InvalidInput(
                f"transaction {transaction_id} is a {entry.type.value}, not an opening position"
            )
        if entry.origin is not Origin.UNKNOWN_BASIS and entry.price is not None:
            raise InvalidInput(
                f"transaction {transaction_id} already has a cost basis ({entry.price} per unit)"
            )
        if acquired_on > entry.traded_on:
            raise InvalidInput(
                f"units held on {entry.traded_on} cannot have been acquired on {acquired_on}"
            )
        origin = Origin.OPENING if entry.origin is Origin.UNKNOWN_BASIS else entry.origin
        store.update_transaction(
            transaction_id,
            {"price": price_per_unit, "acquired_on": acquired_on, "origin": origin.value},
        )
        return entry._replace(price=price_per_unit, acquired_on=acquired_on, origin=origin)


def identify_lots(uow: UnitOfWork, transaction_id: int, picks: list[LotPick]) -> Transaction:
    """Specific identification: say which lots (by lot id) a sale or transfer takes.

    The picks must add up to the entry's units; the ledger is replayed with the
    ``specific`` method to check every named lot holds enough, else nothing changes.
    """
    with uow() as store:
        store.lock()
        entry = store.transaction(transaction_id)
        disposes = entry.type in (TransactionType.SELL, TransactionType.TRANSFER_OUT) or (
            entry.type is TransactionType.CONVERSION and (entry.quantity or ZERO) < 0
        )
        if not disposes:
            raise InvalidInput(
                f"transaction {transaction_id} is a {entry.type.value}: only sales, transfers "
                "out and conversions take lots"
            )
        units = abs(entry.quantity or ZERO)
        if any(p.quantity <= 0 for p in picks):
            raise InvalidInput("each chosen lot gives a positive number of units")
        chosen = sum((p.quantity for p in picks), ZERO)
        if chosen != units:
            raise InvalidInput(
                f"the lots chosen hold {chosen} units but transaction {transaction_id} "
                f"disposes {units}"
            )
        selection = [{"lot": p.lot_id, "quantity": str(p.quantity)} for p in picks]
        store.update_transaction(transaction_id, {"lot_selection": selection})
        replay(store.ledger(), method=CostMethod.SPECIFIC, presorted=True)  # else rolls back
        return entry._replace(lot_selection=tuple(picks))


def import_prices(uow: UnitOfWork, path: Path, *, clock: Callable[[], datetime]) -> int:
    """Store the user's own daily closes (``date,symbol,close[,currency][,asset_type]``)."""
    with path.open("rb") as stream:
        return import_price_stream(uow, stream, clock=clock)


def import_price_stream(
    uow: UnitOfWork, stream: Readable, *, clock: Callable[[], datetime], source: str = "user"
) -> int:
    """Store a price file's closes as the user's own, labelled ``source``; all or none.

    A symbol no ledger entry has typed yet (and that the file does not type) is kept as
    an instrument of unknown type, which the first entry naming its type classifies."""
    rows = parse_price_file(stream, today=clock().date())
    with uow() as store:
        resolver = InstrumentResolver(store, clock())
        resolver.prefetch(r.symbol for r in rows)
        issues = Issues()
        stored: list[tuple[int, date, Decimal, str]] = []
        for r in rows:
            known = [
                i for i in resolver.known.get(r.symbol, []) if i.asset_type is not AssetType.UNKNOWN
            ]
            if r.asset_type is None and not known:
                # a symbol no entry has typed yet: kept as unknown until one does
                instrument = resolver.resolve(
                    r.symbol, AssetType.UNKNOWN, r.currency or "USD", issues, r.line
                )
            else:
                instrument = resolver.resolve(
                    r.symbol, r.asset_type, r.currency or "USD", issues, r.line
                )
            if instrument is not None and instrument.id is not None:
                stored.append((instrument.id, r.day, r.close, r.currency or instrument.currency))
        if issues:
            raise PriceFileError(issues)
        return store.store_user_closes(stored, source=source)


def delete_account(uow: UnitOfWork, account_id: int) -> None:
    """Delete an account with its entries, refusing if the rest of the ledger would then
    sell units it does not hold."""
    with uow() as store:
        store.lock()
        store.delete_account(account_id)
        replay(store.ledger(), method=CostMethod.SPECIFIC, presorted=True)  # else rolls back
