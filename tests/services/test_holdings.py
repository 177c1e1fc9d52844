"""Holding edits from the grid: recorded as adjustments, checked against the version
read, and the ledger they leave handed to the next reader only once committed."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from quantdesk.domain.errors import StaleWrite
from quantdesk.services import analytics, holdings, portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import LedgerCache, load_ledger_at
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import NOW, clock

TRADES = b"date,type,symbol,quantity,price,asset_type\n2026-11-02,buy,AAPL,10,100,stock\n"


@pytest.fixture
def held(uow: SqlUnitOfWork) -> holdings.Holding:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    report = import_stream(
        uow, io.BytesIO(TRADES), "t.csv", ImportOptions(account="Broker"), clock=clock
    )
    assert report.ok
    rows, _ = holdings.list_holdings(uow, as_of=NOW.date())
    return rows[0]


def test_a_committed_edit_hands_its_ledger_to_the_next_reader(
    uow: SqlUnitOfWork, held: holdings.Holding
) -> None:
    """After an edit the cache holds exactly the ledger a fresh read gives."""
    cache = LedgerCache()
    assert held.id is not None
    edited = holdings.edit_holding(
        uow, held.id, version=held.version, quantity=Decimal(12), clock=clock, ledger_cache=cache
    )
    assert Decimal(12) == edited.position.quantity
    with uow(commit=False) as store:
        fresh = store.ledger()
        assert fresh == load_ledger_at(store, cache)[1]
        assert cache.get((store.user_id, store.ledger_revision())) is not None


def test_a_read_an_edit_and_its_analytics_replay_each_revision_once(
    uow: SqlUnitOfWork, held: holdings.Holding, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grid's cycle (read the holdings, edit one, compute the analytics after it,
    read the holdings again) replays the ledger once before the edit and once after,
    and every answer is what an uncached read gives."""
    cache = LedgerCache()
    replays: list[int] = []
    real = portfolio.replay_entries

    def counted(ledger: Any, **kwargs: Any) -> Any:
        replays.append(len(ledger))
        return real(ledger, **kwargs)

    monkeypatch.setattr(portfolio, "replay_entries", counted)
    rows, _ = holdings.list_holdings(uow, as_of=NOW.date(), ledger_cache=cache)
    assert held.id is not None
    edited = holdings.edit_holding(
        uow, held.id, version=rows[0].version, quantity=Decimal(12), clock=clock, ledger_cache=cache
    )
    options = analytics.Options(benchmark="AAPL")
    report = analytics.analyze(uow, None, options, clock=clock, ledger_cache=cache)
    after, _ = holdings.list_holdings(uow, as_of=NOW.date(), ledger_cache=cache)
    assert [1] == replays  # the read before the edit; the edit's own check replays after
    assert [edited] == after
    assert [edited] == holdings.list_holdings(uow, as_of=NOW.date())[0]
    uncached = analytics.analyze(uow, None, options, clock=clock)
    assert (report.total_cost_basis, report.unrealized_gain) == (
        uncached.total_cost_basis,
        uncached.unrealized_gain,
    )
    assert Decimal(1200) == report.total_cost_basis


def test_a_stale_edit_changes_nothing_and_caches_nothing(
    uow: SqlUnitOfWork, held: holdings.Holding
) -> None:
    """An edit naming a version that is no longer current is refused with the current
    row; the ledger and the cache are untouched."""
    cache = LedgerCache()
    assert held.id is not None
    with uow(commit=False) as store:
        before, revision = store.ledger(), store.ledger_revision()
    with pytest.raises(StaleWrite) as refused:
        holdings.edit_holding(
            uow, held.id, version="stale", quantity=Decimal(1), clock=clock, ledger_cache=cache
        )
    assert held.version == refused.value.current.version
    with uow(commit=False) as store:
        assert (before, revision) == (store.ledger(), store.ledger_revision())
        assert cache.get((store.user_id, revision + 1)) is None


class _MeetAtTheLock:
    """A unit of work whose stores wait for each other at ``lock()``: two edits then
    race for the user's lock at the same instant."""

    def __init__(self, uow: SqlUnitOfWork, parties: int) -> None:
        self.uow = uow
        self.barrier = threading.Barrier(parties, timeout=10)

    @contextmanager
    def __call__(self, *, commit: bool = True) -> Iterator[Any]:
        with self.uow(commit=commit) as store:
            real = store.lock

            def lock() -> None:
                self.barrier.wait()
                real()

            store.lock = lock  # type: ignore[method-assign]
            yield store


def test_two_edits_of_one_version_at_once_one_wins_the_other_is_stale(
    uow: SqlUnitOfWork, held: holdings.Holding
) -> None:
    """Edits racing on the same version: exactly one is applied, the other gets the
    current row; no change is lost or applied twice (on every engine, SQLite included)."""
    meet = _MeetAtTheLock(uow, 2)
    assert held.id is not None
    outcomes: list[object] = []

    def edit(quantity: int) -> None:
        try:
            done = holdings.edit_holding(
                meet, held.id or "", version=held.version, quantity=Decimal(quantity), clock=clock
            )
            outcomes.append(done.position.quantity)
        except StaleWrite as error:
            outcomes.append(error)

    threads = [threading.Thread(target=edit, args=(q,)) for q in (5, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    applied = [o for o in outcomes if isinstance(o, Decimal)]
    assert 1 == len(applied)
    assert 1 == sum(isinstance(o, StaleWrite) for o in outcomes)
    rows, _ = holdings.list_holdings(uow, as_of=NOW.date())
    assert applied == [rows[0].position.quantity]


@pytest.mark.parametrize(
    ("units", "basis", "lots"),
    [
        ("12", "1500", [("10", "2026-11-02"), ("2", "2026-11-24")]),
        ("4", "600", [("4", "2026-11-02")]),
    ],
)
def test_setting_units_and_cost_basis_together_keeps_the_old_lots_dates(
    uow: SqlUnitOfWork, held: holdings.Holding, units: str, basis: str, lots: list[tuple[str, str]]
) -> None:
    """More units than held add a lot of today; fewer cut the oldest lots; the basis set
    is spread over what is kept and totals exactly the value set."""
    assert held.id is not None
    edited = holdings.edit_holding(
        uow,
        held.id,
        version=held.version,
        quantity=Decimal(units),
        cost_basis=Decimal(basis),
        clock=clock,
    )
    assert (Decimal(units), Decimal(basis)) == (
        edited.position.quantity,
        edited.position.cost_basis,
    )
    found = portfolio.open_lots(uow)
    assert lots == [(format(lot.quantity.normalize(), "f"), str(lot.acquired_on)) for lot in found]


def test_the_ledger_cache_keeps_a_budget_of_entries_not_only_of_ledgers(
    uow: SqlUnitOfWork, held: holdings.Holding
) -> None:
    """A few large ledgers cannot fill a server's memory: the oldest go once the entries
    held pass the budget, and a ledger larger than the budget is never kept."""
    with uow(commit=False) as store:
        ledger = store.ledger()
    one = len(ledger)
    cache = LedgerCache(size=100, entries=3 * one)
    for user in range(4):
        cache.put((user, 1), ledger)
    assert [None, ledger, ledger, ledger] == [cache.get((u, 1)) for u in range(4)]
    cache.put((9, 1), ledger * 4)
    assert cache.get((9, 1)) is None
    assert 3 == len(cache)


def test_a_renamed_account_is_seen_by_the_next_holdings_read_of_a_cached_ledger(
    uow: SqlUnitOfWork, held: holdings.Holding
) -> None:
    """The entries carry their account's name: a rename moves the ledger revision, so a
    reader that knows the new revision does not get the ledger cached before it."""
    cache = LedgerCache()
    with uow(commit=False) as store:
        revision = store.ledger_revision()
    holdings.list_holdings(uow, as_of=NOW.date(), ledger_cache=cache, revision=revision)
    assert held.account is not None and held.account.id is not None
    with uow() as store:
        store.update_account(held.account.id, {"name": "Taxable"})
    with uow(commit=False) as store:
        assert store.ledger_revision() > revision
        revision = store.ledger_revision()
    rows, _ = holdings.list_holdings(uow, as_of=NOW.date(), ledger_cache=cache, revision=revision)
    assert ["Taxable"] == [r.position.account for r in rows]
