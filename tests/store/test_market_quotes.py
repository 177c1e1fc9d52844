"""The markets' latest prices an app keeps from request to request: a user without
closes of their own is priced at them, and every close or live quote stored since (by
this process or any other) is seen by the next request."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.market_quotes import MarketQuotes
from quantdesk.store.repositories import RequestMemo
from quantdesk.store.unit_of_work import SqlUnitOfWork, UserUnitOfWork
from tests.conftest import NOW, clock
from tests.store.test_request_memo import counted

AAPL = MarketSymbol("AAPL", AssetType.STOCK, "USD")
MSFT = MarketSymbol("MSFT", AssetType.STOCK, "USD")
A, M = InstrumentKey("AAPL", AssetType.STOCK), InstrumentKey("MSFT", AssetType.STOCK)
DAY = date(2026, 11, 20)


def holder(uow: SqlUnitOfWork, units: int = 10) -> int:
    """A user holding ``units`` AAPL; their id."""
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    csv = f"date,type,symbol,quantity,price,asset_type\n2026-11-02,buy,AAPL,{units},100,stock\n"
    assert import_stream(
        uow, io.BytesIO(csv.encode()), "a.csv", ImportOptions("Broker"), clock=clock
    ).ok
    with uow(commit=False) as store:
        return store.user_id


def close(engine: Engine, symbol: MarketSymbol, day: date, price: str) -> None:
    """A close stored as a price refresh stores it (moving the market's price revision)."""
    history = History(symbol.symbol, "USD", "yahoo", (Bar(day, Decimal(price)),))
    SqlMarketData(engine, clock).save(symbol, history, None)


def quotes_of(engine: Engine, user_id: int, kept: MarketQuotes) -> dict[InstrumentKey, Decimal]:
    """What one request prices the user at (a request of its own: a fresh memo)."""
    request = UserUnitOfWork(engine, user_id, memo=RequestMemo(market=kept))
    with request(commit=False) as store:
        return {k: q.price for k, q in store.latest_quotes(NOW.date()).items()}


def test_a_kept_market_price_gives_way_to_a_close_or_live_quote_stored_since(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    user_id, kept = holder(uow), MarketQuotes()
    close(engine, AAPL, DAY, "150")
    assert Decimal(150) == quotes_of(engine, user_id, kept)[A]

    with counted(engine) as statements:  # kept: the versions are asked, not the prices
        assert Decimal(150) == quotes_of(engine, user_id, kept)[A]
    assert [s for s in statements if "price_revisions" in s]
    assert [] == [s for s in statements if "max(" in s or "quotes.price" in s]

    close(engine, AAPL, DAY + timedelta(1), "151")  # a later close, stored elsewhere
    assert Decimal(151) == quotes_of(engine, user_id, kept)[A]

    live = LiveQuote("AAPL", Decimal("152.5"), "USD", NOW, "yahoo", NOW)
    SqlMarketData(engine, clock).save_quotes({AAPL.key: live})  # a live quote of today
    assert Decimal("152.5") == quotes_of(engine, user_id, kept)[A]

    newer = LiveQuote("AAPL", Decimal("153.25"), "USD", NOW, "yahoo", NOW + timedelta(seconds=5))
    SqlMarketData(engine, clock).save_quotes({AAPL.key: newer})  # and a newer one
    assert Decimal("153.25") == quotes_of(engine, user_id, kept)[A]


def test_a_user_with_closes_of_their_own_is_priced_at_them_not_at_the_kept_market(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    user_id, kept = holder(uow), MarketQuotes()
    close(engine, AAPL, DAY, "150")
    other = SqlUnitOfWork(engine, "bob", clock)
    other_id = holder(other, units=3)
    assert Decimal(150) == quotes_of(engine, other_id, kept)[A]  # kept

    own = b"date,symbol,close\n2026-11-20,AAPL,99\n"
    assert 1 == portfolio.import_price_stream(uow, io.BytesIO(own), clock=clock)
    assert Decimal(99) == quotes_of(engine, user_id, kept)[A]
    assert Decimal(150) == quotes_of(engine, other_id, kept)[A]


def test_the_kept_prices_are_the_same_as_a_request_reads_without_them(
    uow: SqlUnitOfWork, engine: Engine
) -> None:
    """Kept or read afresh, a holder gets the same price of everything they hold (the
    kept ones also price what they do not hold: the whole market's, read once)."""
    user_id, kept = holder(uow), MarketQuotes()
    close(engine, AAPL, DAY, "150")
    close(engine, MSFT, DAY, "400")  # in the market, not held
    request = UserUnitOfWork(engine, user_id, memo=RequestMemo())
    with request(commit=False) as store:
        fresh = store.latest_quotes(NOW.date())
    with UserUnitOfWork(engine, user_id, memo=RequestMemo(market=kept))(commit=False) as store:
        shared = store.latest_quotes(NOW.date())
    assert fresh == {k: shared[k] for k in fresh}
    assert {A} == set(fresh)
    assert Decimal(400) == shared[M].price
