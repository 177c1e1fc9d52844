"""The instruments an app keeps from request to request: a holdings read asks the
database for its positions' instruments once, later reads take their ids from memory,
and the ids are those of the table."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from quantdesk.domain.errors import NotFound
from quantdesk.domain.instruments import AssetType, Instrument, InstrumentKey
from quantdesk.domain.lots import CostMethod
from quantdesk.services import holdings
from quantdesk.services.prices import benchmark_key, benchmark_of
from quantdesk.store.known_instruments import KnownInstruments
from quantdesk.store.repositories import RequestMemo
from quantdesk.store.unit_of_work import SqlUnitOfWork, UserUnitOfWork
from tests.conftest import NOW
from tests.store.test_market_quotes import holder
from tests.store.test_request_memo import counted


def asks_instruments(statement: str) -> bool:
    """Whether a statement looks instruments up by symbol or id (not a join)."""
    flat = " ".join(statement.split())
    return "WHERE instruments.symbol IN" in flat or "WHERE instruments.id =" in flat


def requests_of(uow: SqlUnitOfWork, engine: Engine) -> tuple[KnownInstruments, UserUnitOfWork]:
    """An AAPL holder's requests, sharing what their app knows of the instruments."""
    known = KnownInstruments()
    return known, UserUnitOfWork(engine, holder(uow), memo=RequestMemo(instruments=known))


def read(engine: Engine, user_id: int, known: KnownInstruments) -> list[holdings.Holding]:
    """One holdings read, as a request of its own does it (a fresh memo)."""
    request = UserUnitOfWork(engine, user_id, memo=RequestMemo(instruments=known))
    rows, _ = holdings.list_holdings(request, method=CostMethod.FIFO, as_of=NOW.date())
    return rows


def test_a_holdings_read_takes_its_instruments_ids_from_the_app_once_read(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    user_id, known = holder(uow), KnownInstruments()
    with uow(commit=False) as store:
        aapl = store.instruments_by_symbol(["AAPL"])["AAPL"][0]
    first = read(engine, user_id, known)
    with counted(engine) as seen:
        again = read(engine, user_id, known)
    assert [h.id for h in first] == [h.id for h in again]
    assert [h.instrument.id for h in again if h.instrument] == [aapl.id]
    assert [h.id for h in again if h.instrument] == [f"{again[0].account.id}-{aapl.id}"]  # type: ignore[union-attr]
    assert not [s for s in seen if asks_instruments(s)], seen


def test_an_instrument_read_by_id_is_kept_and_an_unknown_id_is_still_not_found(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    _, request = requests_of(uow, engine)
    with uow(commit=False) as store:
        aapl = store.instruments_by_symbol(["AAPL"])["AAPL"][0]
    assert aapl.id is not None
    with request(commit=False) as store:
        assert aapl == store.instrument_by_id(aapl.id)
    with counted(engine) as seen, request(commit=False) as store:
        assert aapl == store.instrument_by_id(aapl.id)
        assert aapl == store.instruments_of([aapl.key])[aapl.key]
    assert not [s for s in seen if asks_instruments(s)], seen
    with request(commit=False) as store, pytest.raises(NotFound, match="no instrument"):
        store.instrument_by_id(aapl.id + 1000)


def test_the_benchmarks_instrument_is_looked_up_once_per_app_and_is_the_first_priced(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    known, request = requests_of(uow, engine)
    with request(commit=False) as store:
        assert InstrumentKey("AAPL", AssetType.STOCK) == benchmark_key(store, "aapl")
        assert InstrumentKey("QQQ", AssetType.ETF) == benchmark_key(store, "QQQ")  # unknown
    with counted(engine) as seen, request(commit=False) as store:
        assert InstrumentKey("AAPL", AssetType.STOCK) == benchmark_key(store, "AAPL")
    assert not [s for s in seen if asks_instruments(s)], seen
    later = Instrument("AAPL", AssetType.ETF, "USD", None, 10_000)
    assert InstrumentKey("AAPL", AssetType.STOCK) == benchmark_of(
        "AAPL", [later, known.first_by_symbol["AAPL"]]
    )
