"""Refreshing the ledger's prices: every held symbol once, stored, and valued."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, Instrument
from quantdesk.domain.market import MarketSymbol
from quantdesk.market.cache import PriceCache
from quantdesk.market.memory import MemoryBackend
from quantdesk.services import analytics, portfolio, prices
from quantdesk.services.analytics_view import analytics_json
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import import_price_stream
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.testing import FakeProvider
from tests.conftest import NOW, broker_with, clock

TRADES = """date,type,symbol,quantity,price,fees,asset_type
2026-11-02,buy,AAPL,10,200,0,stock
2026-11-03,buy,BTC,0.5,90000,0,crypto
"""
MARKET = {"AAPL": Decimal("231.5"), "BTC": Decimal("91234.56")}


@pytest.fixture
def ledger(uow: SqlUnitOfWork) -> SqlUnitOfWork:
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    report = import_stream(
        uow, io.BytesIO(TRADES.encode()), "t.csv", ImportOptions(account="Broker"), clock=clock
    )
    assert report.ok
    return uow


def _cache(uow: SqlUnitOfWork, *providers: FakeProvider) -> PriceCache:
    store = SqlMarketData(uow.engine, clock)
    return PriceCache(providers, MemoryBackend(durable=store), bars=store, clock=clock)


def test_refresh_prices_every_instrument_once_and_values_positions(ledger: SqlUnitOfWork) -> None:
    """One quote call for the ledger's instruments; positions are then valued by them."""
    provider = FakeProvider("yahoo", MARKET)
    report = prices.refresh_prices(ledger, _cache(ledger, provider), clock=clock)
    assert ["AAPL", "BTC"] == report.symbols
    assert 1 == len(provider.quote_calls)
    # weekdays / every day since 10 days (DEFAULT_CARRY_LIMIT) before the first trade: a
    # close that far back is carried into a first day without one
    assert {"AAPL": 22, "BTC": 31} == report.closes
    valued = {p.instrument.symbol: p for p in portfolio.current_positions(ledger, as_of=NOW.date())}
    assert Decimal("2315.0") == valued["AAPL"].market_value
    assert valued["AAPL"].quote is not None
    assert "yahoo" == valued["AAPL"].quote.source


def test_a_refresh_stores_the_benchmarks_closes_so_analytics_then_ask_no_provider(
    ledger: SqlUnitOfWork,
) -> None:
    """The user's benchmark is refreshed with the ledger (closes only, from 10 days
    before the ledger's first day): the analytics computed next fetch nothing, and are
    the numbers computed from the stored closes alone (what a job worker computes)."""
    provider = FakeProvider("yahoo", {**MARKET, "QQQ": Decimal(500)})
    cache = _cache(ledger, provider)
    report = prices.refresh_prices(ledger, cache, clock=clock, benchmark="qqq")
    assert ["AAPL", "BTC"] == report.symbols  # quoted: only what is held
    assert [["AAPL", "BTC"]] == provider.quote_calls
    assert 22 == report.closes["QQQ"]  # weekdays from 2026-10-23 to yesterday
    asked = provider.calls
    options = analytics.Options(benchmark="QQQ")
    online = analytics.analyze(ledger, cache, options, clock=clock)
    assert asked == provider.calls
    stored_only = analytics.analyze(ledger, None, options, clock=clock)
    assert analytics_json(online) == analytics_json(stored_only)
    assert online.benchmark_returns is not None  # compared with the stored closes
    assert len(online.returns) == len(online.benchmark_returns)


def test_a_held_benchmark_is_fetched_once_from_the_earlier_day(ledger: SqlUnitOfWork) -> None:
    """A benchmark the ledger holds is one history request, from the ledger's first day
    (AAPL bought 2026-11-02 is the first entry) less the carry limit."""
    provider = FakeProvider("yahoo", MARKET)
    prices.refresh_prices(ledger, _cache(ledger, provider), clock=clock, benchmark="AAPL")
    assert ["AAPL"] == [s for s, _, _ in provider.history_calls if s == "AAPL"]
    assert date(2026, 10, 23) == next(d for s, d, _ in provider.history_calls if s == "AAPL")


def test_refresh_again_fetches_no_history_already_stored(ledger: SqlUnitOfWork) -> None:
    """A second refresh asks for no daily closes already stored."""
    provider = FakeProvider("yahoo", MARKET)
    prices.refresh_prices(ledger, _cache(ledger, provider), clock=clock)
    prices.refresh_prices(ledger, _cache(ledger, provider), clock=clock)
    assert 2 == len(provider.history_calls)


def test_offline_refresh_fetches_nothing(ledger: SqlUnitOfWork) -> None:
    """Offline there is no cache at all: the report says so and nothing is asked."""
    report = prices.refresh_prices(ledger, None, clock=clock)
    assert (True, {}, ["AAPL", "BTC"]) == (report.offline, report.quotes, report.symbols)


def test_unknown_symbol_is_reported_and_others_are_priced(ledger: SqlUnitOfWork) -> None:
    """A symbol no provider knows is an error in the report, never a price of 0."""
    provider = FakeProvider("yahoo", {"AAPL": Decimal("231.5")})
    report = prices.refresh_prices(ledger, _cache(ledger, provider), clock=clock)
    assert {"AAPL"} == set(report.quotes)
    assert "unknown" in report.errors["BTC"]
    btc = [p for p in portfolio.current_positions(ledger, as_of=NOW.date()) if p.quote is None]
    assert ["BTC"] == [p.instrument.symbol for p in btc]


def test_own_closes_win_over_market_quotes(ledger: SqlUnitOfWork) -> None:
    """A close the user loaded for a day is used rather than a provider price of that day."""
    closes = f"date,symbol,close\n{NOW.date()},AAPL,250\n"
    import_price_stream(ledger, io.BytesIO(closes.encode()), clock=clock)
    prices.refresh_prices(ledger, _cache(ledger, FakeProvider("yahoo", MARKET)), clock=clock)
    aapl = next(
        p for p in portfolio.current_positions(ledger, as_of=NOW.date()) if p.quote is not None
    )
    assert aapl.quote is not None
    assert (Decimal(250), "user") == (aapl.quote.price, aapl.quote.source)


def test_symbols_typed_only_by_own_closes_are_not_sent_upstream(uow: SqlUnitOfWork) -> None:
    """An instrument of unknown type is reported, not guessed at a provider."""
    import_price_stream(uow, io.BytesIO(b"date,symbol,close\n2026-11-02,XYZ,5\n"), clock=clock)
    provider = FakeProvider("yahoo", MARKET)
    report = prices.refresh_prices(uow, _cache(uow, provider), clock=clock)
    assert ([], 0) == (report.symbols, provider.calls)


def test_show_needs_a_type_for_a_symbol_outside_the_ledger(ledger: SqlUnitOfWork) -> None:
    """`prices show` of a symbol the ledger does not type asks for --type."""
    with pytest.raises(InvalidInput, match="--type"):
        prices.show_prices(ledger, _cache(ledger), "MSFT", clock=clock)
    view = prices.show_prices(
        ledger,
        _cache(ledger, FakeProvider("yahoo", {"MSFT": Decimal(500)})),
        "msft",
        clock=clock,
        asset_type="stock",
        days=7,
    )
    assert (AssetType.STOCK, Decimal(500)) == (
        view.symbol.asset_type,
        view.quote.price if view.quote else None,
    )
    assert view.history is not None
    assert 5 == len(view.history.bars)


def test_explicit_provider_id_reaches_the_provider(ledger: SqlUnitOfWork) -> None:
    """An id set for a provider is what the provider is asked for."""
    instrument = prices.set_provider_id(ledger, "btc", "coingecko", "bitcoin")
    assert (("coingecko", "bitcoin"),) == instrument.provider_ids
    with ledger(commit=False) as store:
        held = {i.symbol: i for i, _ in store.priced_instruments()}
    assert "bitcoin" == prices.market_symbol(held["BTC"]).id_for("coingecko")
    with pytest.raises(InvalidInput, match="unknown provider"):
        prices.set_provider_id(ledger, "BTC", "bloomberg", "XBT")


def test_refresh_fetches_the_fx_rate_of_every_other_currency(uow: SqlUnitOfWork) -> None:
    """A holding in EUR brings the EURUSD rate into the refresh, quote and closes."""
    portfolio.add_account(
        uow, "Depot", kind="brokerage", institution=None, currency="EUR", clock=clock
    )
    trades = "date,type,symbol,quantity,price,fees,asset_type\n2026-11-16,buy,SAP,4,210,0,stock\n"
    report = import_stream(
        uow, io.BytesIO(trades.encode()), "t.csv", ImportOptions(account="Depot"), clock=clock
    )
    assert report.ok
    provider = FakeProvider("yahoo", {"SAP": Decimal(215), "EURUSD": Decimal("1.0842")})
    refreshed = prices.refresh_prices(uow, _cache(uow, provider), clock=clock)
    assert ["SAP", "EURUSD"] == refreshed.symbols
    assert (Decimal("1.0842"), "USD") == (
        refreshed.quotes["EURUSD"].price,
        refreshed.quotes["EURUSD"].currency,
    )
    assert 12 == refreshed.closes["EURUSD"]  # weekdays from 10 days before 2026-11-16


def test_refresh_fetches_the_fx_rate_of_cash_held_in_another_currency(
    uow: SqlUnitOfWork,
) -> None:
    """Euros held in a dollar account (a multi-currency broker's cash) are valued at
    EURUSD, so the refresh fetches it, though no account or holding is in euros."""
    broker_with(
        uow,
        "date,type,symbol,quantity,price,fees,amount,asset_type,currency\n"
        "2026-11-16,deposit,,,,,1000,,EUR\n"
        "2026-11-16,buy,AAPL,1,200,0,,stock,USD\n",
    )
    provider = FakeProvider("yahoo", {"AAPL": Decimal(215), "EURUSD": Decimal("1.0842")})
    refreshed = prices.refresh_prices(uow, _cache(uow, provider), clock=clock)
    assert ["AAPL", "EURUSD"] == refreshed.symbols
    assert 12 == refreshed.closes["EURUSD"]


def test_the_newest_price_wins_and_an_own_close_wins_its_day(ledger: SqlUnitOfWork) -> None:
    """An old own close gives way to today's quote; an own close of today beats it."""
    old = "date,symbol,close\n2026-10-30,AAPL,250\n"
    import_price_stream(ledger, io.BytesIO(old.encode()), clock=clock)
    prices.refresh_prices(ledger, _cache(ledger, FakeProvider("yahoo", MARKET)), clock=clock)

    def aapl() -> tuple[Decimal, str] | None:
        for p in portfolio.current_positions(ledger, as_of=NOW.date()):
            if p.instrument.symbol == "AAPL" and p.quote is not None:
                return (p.quote.price, p.quote.source)
        return None

    assert (Decimal("231.5"), "yahoo") == aapl()
    today = f"date,symbol,close\n{NOW.date()},AAPL,250\n"
    import_price_stream(ledger, io.BytesIO(today.encode()), clock=clock)
    assert (Decimal(250), "user") == aapl()


def test_show_puts_own_closes_in_place_of_the_markets(ledger: SqlUnitOfWork) -> None:
    """`prices show` lists the user's own close on its day, and labels both sources."""
    own = "date,symbol,close\n2026-11-20,AAPL,199.5\n"
    import_price_stream(ledger, io.BytesIO(own.encode()), clock=clock)
    view = prices.show_prices(
        ledger, _cache(ledger, FakeProvider("yahoo", MARKET)), "AAPL", clock=clock, days=7
    )
    assert view.history is not None
    closes = {bar.day.isoformat(): bar.close for bar in view.history.bars}
    assert (Decimal("199.5"), Decimal("231.5")) == (closes["2026-11-20"], closes["2026-11-19"])
    assert "user,yahoo" == view.history.source


def test_the_scheduled_refresh_fetches_each_chosen_benchmark_once_from_its_earliest_day() -> None:
    """Users who kept the default and users who chose it by name share one benchmark,
    from the earliest of their days; a held symbol keeps its type, another is an ETF."""
    aapl = Instrument("AAPL", AssetType.STOCK)
    chosen = {None: date(2026, 3, 2), "spy": date(2026, 1, 5), "aapl": date(2026, 6, 1)}
    found = prices.benchmark_symbols([(aapl, date(2026, 6, 1))], chosen, "SPY")
    assert [
        (MarketSymbol("AAPL", AssetType.STOCK), date(2026, 6, 1)),
        (MarketSymbol("SPY", AssetType.ETF), date(2026, 1, 5)),
    ] == found
