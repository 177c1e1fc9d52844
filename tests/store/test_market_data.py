"""Provider prices in the database, on every engine: permanent closes, coverage, quotes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from sqlalchemy import Engine

from quantdesk.domain.errors import ProviderUnavailable
from quantdesk.domain.instruments import AssetType, Instrument, InstrumentKey
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol, fx_pair
from quantdesk.market.cache import PriceCache
from quantdesk.market.memory import MemoryBackend
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.settings import update_settings
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.testing import FakeProvider
from tests.conftest import NOW, broker_with, clock

SPY = MarketSymbol("SPY", AssetType.ETF)
PRICE = Decimal("612.123456789012345678")


def test_closes_round_trip_exactly_and_coverage_grows_as_one_range(engine: Engine) -> None:
    """A close keeps all 18 decimals; two adjacent saves cover one contiguous range."""
    store = SqlMarketData(engine, clock)
    june = History("SPY", "USD", "yahoo", (Bar(date(2026, 6, 1), PRICE),))
    store.save(SPY, june, (date(2026, 6, 1), date(2026, 6, 30)))
    store.save(SPY, History("SPY", "USD", "yahoo", ()), (date(2026, 5, 1), date(2026, 5, 31)))
    assert (date(2026, 5, 1), date(2026, 6, 30)) == store.coverage(SPY)
    assert [(Bar(date(2026, 6, 1), PRICE), "yahoo")] == store.bars(
        SPY, date(2026, 1, 1), date(2026, 12, 31)
    )


def test_simulated_closes_are_never_served_as_provider_closes(engine: Engine) -> None:
    """Closes the simulated market made stay out of the live bar store."""
    store = SqlMarketData(engine, clock)
    made = History("SPY", "USD", "simulated", (Bar(date(2026, 6, 1), Decimal("1.5")),))
    assert 1 == store.store_closes(SPY, made)
    assert [] == store.bars(SPY, date(2026, 1, 1), date(2026, 12, 31))
    assert store.coverage(SPY) is None


def test_last_quote_is_kept_and_replaced(engine: Engine) -> None:
    """The last known quote of a symbol survives in the database; a newer one replaces it."""
    store = SqlMarketData(engine, clock)
    pair = fx_pair("EUR", "USD")
    first = LiveQuote("EURUSD", Decimal("1.0812"), "USD", NOW, "yahoo", NOW)
    later = LiveQuote("EURUSD", Decimal("1.0815"), "USD", NOW, "yahoo", NOW + timedelta(1))
    store.save_quotes({pair.key: first})
    store.save_quotes({pair.key: later})
    assert {pair.key: later} == store.load_quotes([pair.key, SPY.key])


def test_history_is_not_fetched_again_after_a_restart(engine: Engine) -> None:
    """Closes fetched by one process are stored for good: a new cache fetches nothing."""
    yahoo = FakeProvider("yahoo", {"SPY": PRICE})
    for _ in range(2):  # two "processes": a fresh cache each time, one database
        cache = PriceCache([yahoo], MemoryBackend(), bars=SqlMarketData(engine, clock), clock=clock)
        history = cache.history(SPY, date(2026, 11, 2), date(2026, 11, 13))
    assert 1 == len(yahoo.history_calls)
    assert 10 == len(history.bars)
    assert "yahoo" == history.source


def test_a_restarted_process_serves_the_stored_quote_as_stale(engine: Engine) -> None:
    """With the provider down after a restart, the database's last quote is served stale."""
    store = SqlMarketData(engine, clock)
    yahoo = FakeProvider("yahoo", {"SPY": PRICE})
    PriceCache([yahoo], MemoryBackend(durable=store), clock=clock).quotes([SPY])
    later = datetime(2026, 11, 25, tzinfo=UTC)
    yahoo.failures.append(ProviderUnavailable("HTTP 503", provider="yahoo"))
    restarted = PriceCache([yahoo], MemoryBackend(durable=store), clock=lambda: later)
    quote = restarted.quotes([SPY]).quotes["SPY"]
    assert (True, PRICE, NOW) == (quote.stale, quote.price, quote.as_of)


def test_a_quote_keeps_the_currency_the_provider_priced_it_in(engine: Engine) -> None:
    """A USD price asked for an EUR instrument comes back in USD, never relabelled EUR."""
    store = SqlMarketData(engine, clock)
    sap = MarketSymbol("SAP", AssetType.STOCK, "EUR")
    store.save_quotes({sap.key: LiveQuote("SAP", Decimal("240.1"), "USD", NOW, "yahoo", NOW)})
    assert "USD" == store.load_quotes([sap.key])[sap.key].currency


def test_an_older_quote_never_overwrites_a_newer_one(engine: Engine) -> None:
    """Two processes saving out of order keep the newest fetch."""
    store = SqlMarketData(engine, clock)
    newer = LiveQuote("SPY", Decimal("641"), "USD", NOW, "yahoo", NOW + timedelta(minutes=1))
    older = LiveQuote("SPY", Decimal("640"), "USD", NOW, "yahoo", NOW)
    store.save_quotes({SPY.key: newer})
    store.save_quotes({SPY.key: older})
    assert Decimal(641) == store.load_quotes([SPY.key])[SPY.key].price


def test_recent_range_is_settled_only_up_to_its_last_close(engine: Engine) -> None:
    """Coverage of a recent fetch ends at its last close; an old empty range is settled."""
    store = SqlMarketData(engine, clock)
    recent = History("SPY", "USD", "yahoo", (Bar(date(2026, 11, 20), PRICE),))
    store.save(SPY, recent, (date(2026, 11, 16), date(2026, 11, 20)))
    store.save(SPY, History("SPY", "USD", "yahoo", ()), None)
    assert (date(2026, 11, 16), date(2026, 11, 20)) == store.coverage(SPY)


def test_a_ticker_with_a_colon_keeps_its_last_quote(engine: Engine) -> None:
    """Keys of tickers such as ``TSX:RY`` come back whole from the database."""
    store = SqlMarketData(engine, clock)
    ry = MarketSymbol("TSX:RY", AssetType.STOCK, "CAD")
    quote = LiveQuote("TSX:RY", Decimal("140.5"), "CAD", NOW, "yahoo", NOW)
    store.save_quotes({ry.key: quote})
    assert {ry.key: quote} == store.load_quotes([ry.key])


def _versions(engine: Engine, user: str = "local", market: str = "live") -> tuple[int, int]:
    uow = SqlUnitOfWork(engine, user, clock, market=market)
    with uow(commit=False) as store:
        return store.price_versions()


def test_every_write_of_new_closes_moves_its_markets_price_revision(engine: Engine) -> None:
    """New provider closes move the live revision, simulated ones the simulated revision;
    storing the same closes again moves nothing (analytics stay cached)."""
    store = SqlMarketData(engine, clock)
    live_before, sim_before = _versions(engine)[0], _versions(engine, market="simulated")[0]
    june = History("SPY", "USD", "yahoo", (Bar(date(2026, 6, 1), PRICE),))
    store.save(SPY, june, (date(2026, 6, 1), date(2026, 6, 1)))
    assert live_before + 1 == _versions(engine)[0]
    store.save(SPY, june, (date(2026, 6, 1), date(2026, 6, 1)))
    assert live_before + 1 == _versions(engine)[0]
    made = History("SPY", "USD", "simulated", (Bar(date(2026, 6, 2), Decimal("1.5")),))
    store.store_closes(SPY, made)
    assert (live_before + 1, sim_before + 1) == (
        _versions(engine)[0],
        _versions(engine, market="simulated")[0],
    )


def test_a_users_own_closes_move_only_that_users_closes_revision(engine: Engine) -> None:
    """Own closes are private: they move the user's revision, not another user's."""
    uow = SqlUnitOfWork(engine, "ann", clock)
    with uow() as store:
        ids = store.ensure_instruments([Instrument("SPY", AssetType.ETF)], NOW)
        store.store_user_closes(
            [(ids[InstrumentKey("SPY", AssetType.ETF)], date(2026, 6, 1), PRICE, "USD")],
            source="user",
        )
    assert 1 == _versions(engine, "ann")[1]
    assert 0 == _versions(engine, "bob")[1]


def test_a_scheduled_refresh_knows_each_benchmark_from_the_earliest_ledger(
    engine: Engine,
) -> None:
    """The refresh of every user's prices also fetches their benchmarks' closes: each
    chosen benchmark (None: the default) from the first day of the earliest ledger that
    compares with it, a cash deposit before any trade included."""
    ledgers = {
        "ann": "2026-03-02,deposit,,,,1000,\n2026-05-04,buy,VTI,1,200,,etf\n",
        "bob": "2026-04-01,buy,VTI,1,200,,etf\n",
        "cy": "2026-06-01,buy,AAPL,1,200,,stock\n",
    }
    for name, rows in ledgers.items():
        uow = SqlUnitOfWork(engine, name, clock)
        portfolio.add_account(
            uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
        )
        text = "date,type,symbol,quantity,price,amount,asset_type\n" + rows
        options = ImportOptions(account="Broker")
        assert import_stream(uow, BytesIO(text.encode()), "t.csv", options, clock=clock).ok
        if name == "cy":
            update_settings(uow, {"benchmark": "QQQ"}, clock=clock)
    held = SqlMarketData(engine, clock).held_by_market()["live"]
    assert {None: date(2026, 3, 2), "QQQ": date(2026, 6, 1)} == held.benchmarks


def test_a_scheduled_refresh_converts_cash_held_in_another_currency_but_not_a_coin(
    engine: Engine,
) -> None:
    """The market's currencies are its accounts' and its ledgers' entries': euros held in
    a dollar account are among them; BTC, in which a coin-for-coin trade is valued, is not
    (it is priced as a coin)."""
    uow = SqlUnitOfWork(engine, "ann", clock)
    broker_with(
        uow,
        "date,type,symbol,quantity,price,amount,asset_type,currency,to_symbol,to_quantity\n"
        "2026-03-02,deposit,,,,1000,,EUR,,\n"
        "2026-03-02,buy,BTC,1,50000,,crypto,USD,,\n"
        "2026-03-02,buy,ETH,1,3000,,crypto,USD,,\n"
        "2026-03-03,conversion,BTC,0.1,,0.1,crypto,BTC,ETH,2\n",
    )
    valued_in = {t.currency for t in portfolio.list_transactions(uow)}
    assert {"USD", "EUR", "BTC"} == valued_in
    assert {"USD", "EUR"} == SqlMarketData(engine, clock).held_by_market()["live"].currencies
    with uow(commit=False) as store:
        assert {"USD", "EUR"} == store.ledger_currencies()
