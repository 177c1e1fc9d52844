"""The price cache: upstream calls follow distinct symbols and the TTL, on both backends."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import redis

from quantdesk.domain.errors import ProviderUnavailable, RateLimited, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import History, MarketSymbol
from quantdesk.market.cache import CacheBackend, PriceCache
from quantdesk.market.redis_backend import RedisBackend
from quantdesk.testing import FakeProvider, MemoryBarStore, symbols
from tests.market.conftest import REDIS_URL_VARIABLE, FakeClock

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
PRICES = {f"S{i:03d}": Decimal(f"{100 + i}.25") for i in range(200)}


def make_cache(
    backend: CacheBackend, *providers: FakeProvider, clock: FakeClock | None = None
) -> tuple[PriceCache, FakeClock]:
    clock = clock or FakeClock(START)
    return PriceCache(providers, backend, bars=MemoryBarStore(), clock=clock), clock


def test_fresh_quote_is_served_without_an_upstream_call(cache_backend: CacheBackend) -> None:
    """Within the TTL a second request is answered from the cache."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, clock = make_cache(cache_backend, yahoo)
    first = cache.quotes(symbols(["S001", "S002"]))
    clock.advance(59)
    second = cache.quotes(symbols(["S002", "S001"]))
    assert 1 == len(yahoo.quote_calls)
    assert Decimal("101.25") == second.quotes["S001"].price
    assert first.quotes == second.quotes


def test_quote_is_fetched_again_after_the_ttl(cache_backend: CacheBackend) -> None:
    """After 60 s the quote is refreshed with one call."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, clock = make_cache(cache_backend, yahoo)
    cache.quotes(symbols(["S001"]))
    clock.advance(60)
    result = cache.quotes(symbols(["S001"]))
    assert 2 == len(yahoo.quote_calls)
    assert START.replace(minute=1) == result.quotes["S001"].fetched_at


def test_hundred_identical_concurrent_requests_make_one_upstream_call(
    cache_backend: CacheBackend,
) -> None:
    """Requests that arrive together for the same symbols coalesce into one call."""
    yahoo = FakeProvider("yahoo", PRICES, delay=0.05)
    cache, _ = make_cache(cache_backend, yahoo)
    wanted = symbols(["S001", "S002", "S003"])
    barrier = threading.Barrier(100)

    def ask() -> Decimal:
        barrier.wait()
        return cache.quotes(wanted).quotes["S003"].price

    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda _: ask(), range(100)))
    assert [Decimal("103.25")] * 100 == answers
    assert 1 == len(yahoo.quote_calls)


def test_batches_never_exceed_the_provider_limit(cache_backend: CacheBackend) -> None:
    """120 symbols go upstream in three calls of at most 50."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, _ = make_cache(cache_backend, yahoo)
    result = cache.quotes(symbols(sorted(PRICES)[:120]))
    assert 120 == len(result.quotes)
    assert [50, 50, 20] == [len(call) for call in yahoo.quote_calls]


def test_users_with_overlapping_holdings_share_one_call_per_batch(
    cache_backend: CacheBackend,
) -> None:
    """Once registered, a batch is refreshed whole: other users' symbols come along."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, clock = make_cache(cache_backend, yahoo)
    cache.quotes(symbols(["S001", "S002"]))
    cache.quotes(symbols(["S003", "S004"]))  # joins batch 0: one call for the newcomers
    clock.advance(61)
    calls_before = len(yahoo.quote_calls)
    for user in (["S001"], ["S004", "S002"], ["S003"], ["S001", "S003"]):
        cache.quotes(symbols(user))
    assert 1 == len(yahoo.quote_calls) - calls_before
    assert ["S001", "S002", "S003", "S004"] == sorted(yahoo.quote_calls[-1])


def test_unknown_symbol_is_cached_negatively(cache_backend: CacheBackend) -> None:
    """A symbol the provider does not know is not asked for again within the negative TTL."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, clock = make_cache(cache_backend, yahoo)
    first = cache.quotes(symbols(["NOPE", "S001"]))
    clock.advance(120)
    second = cache.quotes(symbols(["NOPE"]))
    assert isinstance(first.errors["NOPE"], UnknownSymbol)
    assert isinstance(second.errors["NOPE"], UnknownSymbol)
    assert {"S001"} == set(first.quotes)
    assert all("NOPE" not in call for call in yahoo.quote_calls[1:])


def test_failover_uses_the_next_provider_when_the_first_is_down(
    cache_backend: CacheBackend,
) -> None:
    """A provider outage falls over to the next provider, whose name the quote carries."""
    yahoo = FakeProvider("yahoo", PRICES, failures=[ProviderUnavailable("HTTP 503")])
    backup = FakeProvider("alphavantage", {"S001": Decimal("99.5")}, max_batch=1)
    cache, _ = make_cache(cache_backend, yahoo, backup)
    result = cache.quotes(symbols(["S001"]))
    assert "alphavantage" == result.quotes["S001"].source
    assert Decimal("99.5") == result.quotes["S001"].price


def test_every_provider_down_serves_the_last_price_as_stale(cache_backend: CacheBackend) -> None:
    """With every provider failing, the last known price comes back flagged stale."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, clock = make_cache(cache_backend, yahoo)
    cache.quotes(symbols(["S001"]))
    clock.advance(600)
    yahoo.failures.extend([ProviderUnavailable("timed out")])
    result = cache.quotes(symbols(["S001", "S002"]))
    stale = result.quotes["S001"]
    assert (True, Decimal("101.25"), START) == (stale.stale, stale.price, stale.as_of)
    assert isinstance(result.errors["S002"], ProviderUnavailable)
    assert "S002" not in result.quotes


def test_rate_limit_rests_the_provider_for_its_retry_after(cache_backend: CacheBackend) -> None:
    """After a 429 with Retry-After the provider is not called until that time has passed."""
    yahoo = FakeProvider("yahoo", PRICES, failures=[RateLimited("429", retry_after=300)])
    backup = FakeProvider("alphavantage", PRICES, max_batch=1)
    cache, clock = make_cache(cache_backend, yahoo, backup)
    cache.quotes(symbols(["S001"]))
    clock.advance(120)
    cache.quotes(symbols(["S002"]))
    clock.advance(200)
    result = cache.quotes(symbols(["S003"]))
    assert [["S001"], ["S001", "S003"]] == yahoo.quote_calls  # none while it rested
    assert ["S002"] == backup.quote_calls[-1]
    assert "yahoo" == result.quotes["S003"].source


def test_asset_types_route_to_the_providers_that_support_them(
    cache_backend: CacheBackend,
) -> None:
    """Crypto goes to the crypto provider and stocks to the stock provider, never mixed."""
    coins = {"BTC": Decimal("91000.5")}
    gecko = FakeProvider("coingecko", coins, types=frozenset({AssetType.CRYPTO}))
    yahoo = FakeProvider("yahoo", PRICES, types=frozenset({AssetType.STOCK}))
    cache, _ = make_cache(cache_backend, gecko, yahoo)
    wanted = [MarketSymbol("BTC", AssetType.CRYPTO), MarketSymbol("S001", AssetType.STOCK)]
    result = cache.quotes(wanted)
    assert [["BTC"]] == gecko.quote_calls
    assert [["S001"]] == yahoo.quote_calls
    assert ("coingecko", "yahoo") == (result.quotes["BTC"].source, result.quotes["S001"].source)


def test_history_fetches_only_the_missing_range(cache_backend: CacheBackend) -> None:
    """Stored days are permanent: a longer range fetches only its new head and tail."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, _ = make_cache(cache_backend, yahoo)
    spy = MarketSymbol("S001", AssetType.STOCK)
    cache.history(spy, date(2026, 6, 1), date(2026, 6, 30))
    cache.history(spy, date(2026, 6, 1), date(2026, 6, 30))
    longer = cache.history(spy, date(2026, 5, 15), date(2026, 7, 10))
    assert [
        ("S001", date(2026, 6, 1), date(2026, 6, 30)),
        ("S001", date(2026, 5, 15), date(2026, 5, 31)),
        ("S001", date(2026, 7, 1), date(2026, 7, 10)),
    ] == yahoo.history_calls
    assert date(2026, 5, 15) == longer.bars[0].day
    assert date(2026, 7, 10) == longer.bars[-1].day


def test_stored_closes_counts_what_history_stores_and_refetches_nothing_stored(
    cache_backend: CacheBackend,
) -> None:
    """A refresh's count of closes: the same days history() stores and returns, fetched
    once; asking again takes no lock (a stored range is checked before locking)."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, _ = make_cache(cache_backend, yahoo)
    stock = MarketSymbol("S001", AssetType.STOCK)
    counted = cache.stored_closes(stock, date(2026, 6, 1), date(2026, 6, 30))
    locks: list[str] = []
    taking = cache_backend.lock

    def spied(name: str, timeout: float):  # type: ignore[no-untyped-def]
        locks.append(name)
        return taking(name, timeout)

    cache_backend.lock = spied  # type: ignore[method-assign]
    again = cache.stored_closes(stock, date(2026, 6, 1), date(2026, 6, 30))
    history = cache.history(stock, date(2026, 6, 1), date(2026, 6, 30))
    assert len(history.bars) == counted == again > 0
    assert [("S001", date(2026, 6, 1), date(2026, 6, 30))] == yahoo.history_calls
    assert [] == locks


def test_history_never_stores_today(cache_backend: CacheBackend) -> None:
    """A range ending today stops at yesterday's close: today's bar can still move."""
    yahoo = FakeProvider("yahoo", PRICES, types=frozenset({AssetType.CRYPTO}))
    cache, _ = make_cache(cache_backend, yahoo)
    coin = MarketSymbol("S001", AssetType.CRYPTO)
    history = cache.history(coin, date(2026, 11, 20), START.date())
    assert date(2026, 11, 23) == history.bars[-1].day
    assert [("S001", date(2026, 11, 20), date(2026, 11, 23))] == yahoo.history_calls


def test_two_processes_sharing_redis_make_one_call(redis_backend: RedisBackend) -> None:
    """Two caches with their own Redis connections (as two processes) coalesce too."""
    yahoo = FakeProvider("yahoo", PRICES, delay=0.05)
    clock = FakeClock(START)
    twin_client = redis.Redis.from_url(os.environ[REDIS_URL_VARIABLE])
    twin = RedisBackend(twin_client, prefix=redis_backend.prefix)
    caches = [PriceCache([yahoo], b, clock=clock) for b in (redis_backend, twin)]
    barrier = threading.Barrier(20)

    def ask(i: int) -> Decimal:
        barrier.wait()
        return caches[i % 2].quotes(symbols(["S010"])).quotes["S010"].price

    with ThreadPoolExecutor(20) as pool:
        answers = set(pool.map(ask, range(20)))
    twin_client.close()
    assert {Decimal("110.25")} == answers
    assert 1 == len(yahoo.quote_calls)


@pytest.mark.parametrize("price", [Decimal(0), Decimal(-1)])
def test_a_price_of_zero_or_less_is_never_served(
    cache_backend: CacheBackend, price: Decimal
) -> None:
    """A provider answering 0 (or less) yields an error for the symbol, not a 0 price."""
    yahoo = FakeProvider("yahoo", {"S001": price})
    cache, _ = make_cache(cache_backend, yahoo)
    result = cache.quotes(symbols(["S001"]))
    assert {} == result.quotes
    assert isinstance(result.errors["S001"], ProviderUnavailable)


def test_offline_cache_serves_only_what_is_stored(cache_backend: CacheBackend) -> None:
    """Offline no provider is called: stored quotes come back stale past their TTL."""
    yahoo = FakeProvider("yahoo", PRICES)
    bars = MemoryBarStore()
    clock = FakeClock(START)
    online = PriceCache([yahoo], cache_backend, bars=bars, clock=clock)
    online.quotes(symbols(["S001"]))
    online.history(MarketSymbol("S001", AssetType.STOCK), date(2026, 11, 2), date(2026, 11, 6))
    calls = yahoo.calls
    clock.advance(600)
    offline = PriceCache([yahoo], cache_backend, bars=bars, clock=clock, offline=True)
    result = offline.quotes(symbols(["S001", "S002"]))
    history = offline.history(
        MarketSymbol("S001", AssetType.STOCK), date(2026, 10, 1), date(2026, 11, 20)
    )
    assert calls == yahoo.calls
    assert (True, Decimal("101.25")) == (result.quotes["S001"].stale, result.quotes["S001"].price)
    assert "offline" in str(result.errors["S002"])
    assert 5 == len(history.bars)


@pytest.mark.parametrize("trouble", ["unknown symbol", "provider down"])
def test_a_failed_batch_is_not_asked_again_by_every_waiting_request(
    cache_backend: CacheBackend, trouble: str
) -> None:
    """100 requests waiting on a call that fails (or misses a symbol) make no call of their own."""
    yahoo = FakeProvider("yahoo", PRICES, delay=0.05)
    if trouble == "provider down":
        yahoo.failures.extend([ProviderUnavailable("HTTP 503")] * 100)
    cache, _ = make_cache(cache_backend, yahoo)
    wanted = symbols(["S001", "NOPE"])
    barrier = threading.Barrier(100)

    def ask(_: int) -> set[str]:
        barrier.wait()
        return set(cache.quotes(wanted).errors)

    with ThreadPoolExecutor(100) as pool:
        failed = list(pool.map(ask, range(100)))
    assert 1 == len(yahoo.quote_calls)
    expected = {"NOPE"} if trouble == "unknown symbol" else {"S001", "NOPE"}
    assert [expected] * 100 == failed


def test_waiting_too_long_for_a_batch_serves_the_last_price(cache_backend: CacheBackend) -> None:
    """A request that cannot get the batch's lock in time gets the stale price, not an error."""
    yahoo = FakeProvider("yahoo", PRICES)
    clock = FakeClock(START)
    cache = PriceCache([yahoo], cache_backend, clock=clock, lock_timeout=0.2)
    cache.quotes(symbols(["S001"]))
    clock.advance(120)
    with cache_backend.lock("quotes:yahoo:0", 5):  # another request holds the batch
        result = cache.quotes(symbols(["S001"]))
    assert (True, Decimal("101.25")) == (result.quotes["S001"].stale, result.quotes["S001"].price)


def test_an_explicit_id_set_later_reaches_the_provider(cache_backend: CacheBackend) -> None:
    """After an id is set for a symbol the provider did not know, it is asked with the id."""
    gecko = FakeProvider("coingecko", {"UNI": Decimal("7.5")})
    cache, clock = make_cache(cache_backend, gecko)
    plain = MarketSymbol("XUNI", AssetType.CRYPTO)
    assert isinstance(cache.quotes([plain]).errors["XUNI"], UnknownSymbol)
    clock.advance(30)
    pinned = MarketSymbol("XUNI", AssetType.CRYPTO, ids=(("coingecko", "uniswap"),))
    cache.quotes([pinned])
    assert [(), (("coingecko", "uniswap"),)] == [call[0].ids for call in gecko.asked]


def test_a_rate_limit_stops_the_remaining_batches_of_the_request(
    cache_backend: CacheBackend,
) -> None:
    """After a 429 with Retry-After on the first batch, the other batches are not sent."""
    yahoo = FakeProvider("yahoo", PRICES, failures=[RateLimited("429", retry_after=120)])
    cache, _ = make_cache(cache_backend, yahoo)
    cache.quotes(symbols(sorted(PRICES)[:150]))
    assert 1 == len(yahoo.quote_calls)


def test_a_close_published_late_is_fetched_on_the_next_request(
    cache_backend: CacheBackend,
) -> None:
    """A recent day the provider had no close for yet is asked again, not settled as empty."""
    late = FakeProvider("yahoo", PRICES, published_until=date(2026, 11, 21))
    cache, _ = make_cache(cache_backend, late)
    coin = MarketSymbol("S001", AssetType.CRYPTO)
    first = cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
    late.published_until = None
    second = cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
    assert [date(2026, 11, 20), date(2026, 11, 21)] == [b.day for b in first.bars]
    assert 4 == len(second.bars)
    assert ("S001", date(2026, 11, 22), date(2026, 11, 23)) == late.history_calls[-1]


def test_a_recent_day_still_without_a_close_is_asked_again_once_per_ttl(
    cache_backend: CacheBackend,
) -> None:
    """A weekend (or a close not yet published) leaves the tail unsettled: every process
    sharing the cache asks for it once per quote TTL, not on every refresh."""
    late = FakeProvider("yahoo", PRICES, published_until=date(2026, 11, 21))
    cache, clock = make_cache(cache_backend, late)
    coin = MarketSymbol("S001", AssetType.CRYPTO)
    for _ in range(4):
        cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
    tails = [c for c in late.history_calls if c[1] == date(2026, 11, 22)]
    assert 1 == len(tails)  # the first call asked the whole range, the next one the tail
    clock.advance(61)
    cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
    assert 2 == len([c for c in late.history_calls if c[1] == date(2026, 11, 22)])


def _gate(provider: FakeProvider) -> tuple[threading.Event, threading.Event]:
    """Hold the provider's history calls until the second event: (one is asking, release)."""
    asking, release = threading.Event(), threading.Event()
    fetch = provider.history

    def gated(symbol: MarketSymbol, start: date, end: date) -> History:
        asking.set()
        release.wait(5)
        return fetch(symbol, start, end)

    provider.history = gated  # type: ignore[method-assign]
    return asking, release


def _asking_in_background(
    cache: PriceCache, symbol: MarketSymbol, first: date, last: date
) -> threading.Thread:
    asker = threading.Thread(target=cache.history, args=(symbol, first, last))
    asker.start()
    return asker


def test_a_recent_tail_another_request_is_asking_for_is_not_waited_for(
    cache_backend: CacheBackend,
) -> None:
    """Once a TTL one request asks again for the unsettled last days (a weekend); the
    others, every analytics compute needing the symbol, go on with the stored closes
    rather than wait for that upstream call."""
    late = FakeProvider("yahoo", PRICES, published_until=date(2026, 11, 21))
    cache, clock = make_cache(cache_backend, late)
    coin = MarketSymbol("S001", AssetType.CRYPTO)
    cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
    clock.advance(61)  # the tail (22-23) is due again
    asking, release = _gate(late)
    asker = _asking_in_background(cache, coin, date(2026, 11, 20), date(2026, 11, 23))
    try:
        assert asking.wait(5)
        served = cache.history(coin, date(2026, 11, 20), date(2026, 11, 23))
        still_asking = asker.is_alive()
    finally:
        release.set()
        asker.join(10)
    assert still_asking  # answered while the other request's call was still out
    assert [date(2026, 11, 20), date(2026, 11, 21)] == [b.day for b in served.bars]
    assert 1 == len([c for c in late.history_calls if c[1] == date(2026, 11, 22)])  # its


def test_closes_never_stored_are_waited_for_while_another_request_fetches_them(
    cache_backend: CacheBackend,
) -> None:
    """A range nobody stored yet has nothing to serve meanwhile: a second request waits
    for the first one's call and reads what it stored (one upstream call)."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, _ = make_cache(cache_backend, yahoo)
    stock = MarketSymbol("S001", AssetType.STOCK)
    asking, release = _gate(yahoo)
    asker = _asking_in_background(cache, stock, date(2026, 6, 1), date(2026, 6, 30))
    try:
        assert asking.wait(5)
        threading.Timer(0.2, release.set).start()
        served = cache.history(stock, date(2026, 6, 1), date(2026, 6, 30))
    finally:
        release.set()
        asker.join(10)
    assert 22 == len(served.bars)  # June 2026's weekdays
    assert [("S001", date(2026, 6, 1), date(2026, 6, 30))] == yahoo.history_calls


def test_a_warmed_registry_fetches_each_batch_once_from_the_start(
    cache_backend: CacheBackend,
) -> None:
    """Symbols registered at start share their batch's first call with every user."""
    yahoo = FakeProvider("yahoo", PRICES)
    cache, _ = make_cache(cache_backend, yahoo)
    cache.warm(symbols(sorted(PRICES)[:60]))
    assert [] == yahoo.quote_calls
    for user in (["S001"], ["S010", "S020"], ["S049"], ["S055"]):
        cache.quotes(symbols(user))
    assert [50, 10] == [len(call) for call in yahoo.quote_calls]
