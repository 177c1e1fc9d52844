"""One API request's transactions share the latest quotes they read (an edit reads them
for the holding, then for the analytics it answers with), until an entry brings in an
instrument they were not read for."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, event

from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.repositories import RequestMemo
from quantdesk.store.unit_of_work import SqlUnitOfWork, UserUnitOfWork
from tests.conftest import NOW, clock

CLOSES = b"date,symbol,close\n2026-11-20,AAPL,150\n"


def trades(symbol: str, units: int) -> io.BytesIO:
    return io.BytesIO(
        f"date,type,symbol,quantity,price,asset_type\n2026-11-02,buy,{symbol},{units},100,stock\n".encode()
    )


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_requests_transactions_share_the_latest_quotes_until_a_new_instrument_comes_in(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    assert import_stream(uow, trades("AAPL", 10), "a.csv", ImportOptions("Broker"), clock=clock).ok
    assert 1 == portfolio.import_price_stream(uow, io.BytesIO(CLOSES), clock=clock)
    msft = MarketSymbol("MSFT", AssetType.STOCK, "USD")  # in the market, not yet held
    SqlMarketData(engine, clock).save(
        msft, History("MSFT", "USD", "yahoo", (Bar(date(2026, 11, 20), Decimal(400)),)), None
    )
    with uow(commit=False) as store:
        user_id = store.user_id
    request = UserUnitOfWork(engine, user_id, memo=RequestMemo())
    day = NOW.date()
    with request(commit=False) as store:
        first = store.latest_quotes(day)
    with counted(engine) as statements, request(commit=False) as store:
        again = store.latest_quotes(day)
    assert first == again
    assert ["AAPL"] == [k.symbol for k in again]
    assert [] == [s for s in statements if "max" in s]  # served from the request's memo

    # more of an instrument already held: the quotes stand
    more = import_stream(request, trades("AAPL", 1), "b.csv", ImportOptions("Broker"), clock=clock)
    assert more.ok and more.added == 1
    with counted(engine) as statements, request(commit=False) as store:
        assert first == store.latest_quotes(day)
    assert [] == [s for s in statements if "max" in s]

    # an instrument they were not read for: read again, and it is priced
    new = import_stream(request, trades("MSFT", 2), "c.csv", ImportOptions("Broker"), clock=clock)
    assert new.ok and new.added == 1
    with counted(engine) as statements, request(commit=False) as store:
        after = store.latest_quotes(day)
    assert {"AAPL", "MSFT"} == {k.symbol for k in after}
    assert [s for s in statements if "max" in s]
