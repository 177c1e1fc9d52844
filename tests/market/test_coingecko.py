"""CoinGecko over real HTTP on 127.0.0.1: recorded answers and small ones in the same shapes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from quantdesk.domain.errors import ProviderUnavailable, RateLimited, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, MarketSymbol, Resolution, fx_pair
from quantdesk.market.http import HttpSource, upstream_calls
from quantdesk.market.providers.coingecko import CoinGecko, api_key_header, daily_closes
from tests.market.conftest import recorded
from tests.market.upstream import Reply, Request, Upstream

NOW = datetime(2024, 4, 1, 15, 30, tzinfo=UTC)
API = "/api/v3"
LIST = f"{API}/coins/list"
MARKETS = f"{API}/coins/markets"
PRICE = f"{API}/simple/price"

#: /coins/list in its real shape: lower-case tickers, several coins per ticker.
COINS = [
    {"id": "batcat", "symbol": "btc", "name": "batcat"},
    {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
    {"id": "osmosis-allbtc", "symbol": "btc", "name": "Osmosis allBTC"},
    {"id": "ethereum", "symbol": "eth", "name": "Ethereum"},
    {"id": "ethereum-wormhole", "symbol": "eth", "name": "Ethereum (Wormhole)"},
    {"id": "solana", "symbol": "sol", "name": "Solana"},
    {"id": "status", "symbol": "snt", "name": "Status"},
    {"id": "pepe-one", "symbol": "pep", "name": "Pepe One"},
    {"id": "pepe-two", "symbol": "pep", "name": "Pepe Two"},
]

#: /coins/markets rows (a few of their many fields); unranked coins have a null rank.
MARKET_ROWS = [
    {"id": "bitcoin", "symbol": "btc", "current_price": 69702.31, "market_cap_rank": 1},
    {"id": "ethereum", "symbol": "eth", "current_price": 3600.12, "market_cap_rank": 2},
    {"id": "ethereum-wormhole", "symbol": "eth", "current_price": 3590.5, "market_cap_rank": 812},
    {"id": "osmosis-allbtc", "symbol": "btc", "current_price": 69650.0, "market_cap_rank": 4130},
    {"id": "batcat", "symbol": "btc", "current_price": 0.00012, "market_cap_rank": None},
    {"id": "pepe-one", "symbol": "pep", "current_price": 1.0e-9, "market_cap_rank": None},
]

#: /simple/price as raw text, so the digits served are exactly these.
PRICES = (
    '{"bitcoin":{"usd":69702.3087473573,"eur":64512.1,"last_updated_at":1711983682},'
    '"ethereum":{"usd":3600.12,"eur":3331.9,"last_updated_at":1711983650},'
    '"solana":{"usd":0.000000123456789012,"eur":0.00000011,"last_updated_at":1711983600},'
    '"status":{"usd":0.0412,"eur":0.0381,"last_updated_at":1711983600}}'
)


def crypto(symbol: str, currency: str = "USD", coin_id: str | None = None) -> MarketSymbol:
    ids = (("coingecko", coin_id),) if coin_id else ()
    return MarketSymbol(symbol, AssetType.CRYPTO, currency, ids)


def markets(request: Request) -> Reply:
    """Answers /coins/markets for the ids asked, best market cap first, like CoinGecko."""
    wanted = request.params["ids"].split(",")
    return Reply([row for row in MARKET_ROWS if row["id"] in wanted])


@pytest.fixture(scope="module")
def server() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


@pytest.fixture
def upstream(server: Upstream) -> Upstream:
    """One server for the module (stopping one takes half a second), fresh routes per test."""
    server.routes.clear()
    server.requests.clear()
    return server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One HTTP client for the module (building one costs tens of milliseconds)."""
    with httpx.Client(timeout=2.0) as shared:
        yield shared


@pytest.fixture
def connect(
    upstream: Upstream, client: httpx.Client, sleeps: list[float]
) -> Iterator[Callable[..., CoinGecko]]:
    """Builds providers against the local server, with waits recorded instead of slept."""
    made: list[CoinGecko] = []

    def make(**options: Any) -> CoinGecko:
        options.setdefault("sleep", sleeps.append)
        options.setdefault("jitter", lambda: 0.0)
        if "timeout" not in options:
            options["client"] = client
        provider = CoinGecko(upstream.url + API, **options)
        if "timeout" in options:
            made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def gecko(upstream: Upstream, connect: Callable[..., CoinGecko]) -> CoinGecko:
    upstream.route(LIST, Reply(COINS))
    upstream.route(MARKETS, markets)
    upstream.route(PRICE, Reply(raw=PRICES))
    return connect()


# quotes ------------------------------------------------------------------------------
def test_batch_is_priced_in_one_call_with_exact_decimals(
    gecko: CoinGecko, upstream: Upstream
) -> None:
    """Every symbol of a batch is priced by one /simple/price call, digits kept exactly."""
    batch = gecko.quotes(
        [crypto("XBT", "EUR", "bitcoin"), crypto("SOL"), crypto("ETH", coin_id="ethereum")],
        now=NOW,
    )

    assert {
        "XBT": Decimal("64512.1"),
        "SOL": Decimal("0.000000123456789012"),
        "ETH": Decimal("3600.12"),
    } == {symbol: quote.price for symbol, quote in batch.quotes.items()}
    assert {} == batch.errors
    assert [
        {
            "ids": "bitcoin,solana,ethereum",
            "vs_currencies": "eur,usd",
            "include_last_updated_at": "true",
        }
    ] == [request.params for request in upstream.calls(PRICE)]


def test_quotes_carry_ledger_symbols_currency_and_provider_time(gecko: CoinGecko) -> None:
    """A quote is keyed and labelled by the ledger's symbol, with CoinGecko's update time."""
    quote = gecko.quotes([crypto("XBT", "EUR", "bitcoin")], now=NOW).quotes["XBT"]

    assert ("XBT", "EUR", "coingecko") == (quote.symbol, quote.currency, quote.source)
    assert datetime(2024, 4, 1, 15, 1, 22, tzinfo=UTC) == quote.as_of
    assert NOW == quote.fetched_at


def test_recorded_simple_price_is_read_exactly(upstream: Upstream, connect: Any) -> None:
    """The recorded answer (no last_updated_at) gives exact prices dated at the request."""
    upstream.route(PRICE, Reply(recorded("coingecko_simple_price.json")))
    gecko = connect()

    batch = gecko.quotes(
        [crypto("BTC", "MYR", "bitcoin"), crypto("ETH", "USD", "ethereum")], now=NOW
    )

    assert {"BTC": Decimal("20474"), "ETH": Decimal("163.58")} == {
        s: q.price for s, q in batch.quotes.items()
    }
    assert {NOW} == {q.as_of for q in batch.quotes.values()}
    assert "myr,usd" == upstream.calls(PRICE)[0].params["vs_currencies"]


def test_unknown_ticker_is_a_batch_error_while_others_are_priced(gecko: CoinGecko) -> None:
    """A ticker no coin uses is UnknownSymbol in the batch; the rest are still priced."""
    batch = gecko.quotes([crypto("SOL"), crypto("NOPE")], now=NOW)

    assert ["SOL"] == list(batch.quotes)
    assert ["NOPE"] == list(batch.errors)
    assert isinstance(batch.errors["NOPE"], UnknownSymbol)


def test_null_zero_or_negative_price_is_an_error_never_zero(
    upstream: Upstream, connect: Any
) -> None:
    """A null, 0 or negative price is that symbol's UnknownSymbol, not a price."""
    upstream.route(
        PRICE,
        Reply(
            raw='{"bitcoin":{"usd":null},"ethereum":{"usd":0},"solana":{"usd":-1.5},'
            '"status":{"usd":0.0412}}'
        ),
    )
    gecko = connect()
    symbols = [
        crypto("BTC", coin_id="bitcoin"),
        crypto("ETH", coin_id="ethereum"),
        crypto("SOL", coin_id="solana"),
        crypto("SNT", coin_id="status"),
    ]

    batch = gecko.quotes(symbols, now=NOW)

    assert {"SNT": Decimal("0.0412")} == {s: q.price for s, q in batch.quotes.items()}
    assert {"BTC": True, "ETH": True, "SOL": True} == {
        s: isinstance(e, UnknownSymbol) for s, e in batch.errors.items()
    }


def test_empty_price_answer_makes_every_symbol_unknown(upstream: Upstream, connect: Any) -> None:
    """``{}`` from /simple/price means no id was known: every symbol is UnknownSymbol."""
    upstream.route(PRICE, Reply({}))
    gecko = connect()

    batch = gecko.quotes([crypto("A", coin_id="a-coin"), crypto("B", coin_id="b-coin")], now=NOW)

    assert {} == batch.quotes
    assert {"A": True, "B": True} == {
        s: isinstance(e, UnknownSymbol) for s, e in batch.errors.items()
    }


def test_currency_the_coin_is_not_quoted_in_is_unknown(gecko: CoinGecko) -> None:
    """A currency missing from the coin's entry is an error for that symbol only."""
    batch = gecko.quotes([crypto("SOL", "CHF"), crypto("SNT")], now=NOW)

    assert ["SNT"] == list(batch.quotes)
    assert isinstance(batch.errors["SOL"], UnknownSymbol)


def test_two_ledger_symbols_of_one_coin_send_one_id_and_both_are_answered(
    gecko: CoinGecko, upstream: Upstream
) -> None:
    """Two ledger symbols mapped to the same coin cost one id in the call; both get a quote."""
    batch = gecko.quotes([crypto("XBT", coin_id="bitcoin"), crypto("BTC")], now=NOW)

    assert {"XBT": Decimal("69702.3087473573"), "BTC": Decimal("69702.3087473573")} == {
        s: q.price for s, q in batch.quotes.items()
    }
    assert ["bitcoin"] == [r.params["ids"] for r in upstream.calls(PRICE)]


def test_coin_whose_id_is_status_is_a_price_not_an_error_payload(gecko: CoinGecko) -> None:
    """Status Network's id is ``status``; its entry is read as a price, not as an error."""
    batch = gecko.quotes([crypto("SNT")], now=NOW)

    assert Decimal("0.0412") == batch.quotes["SNT"].price


def test_non_crypto_without_an_explicit_id_is_not_mapped_by_ticker(
    gecko: CoinGecko, upstream: Upstream
) -> None:
    """A stock's ticker is never looked up among coins; it is unknown without any call."""
    batch = gecko.quotes([MarketSymbol("SOL", AssetType.STOCK)], now=NOW)

    assert isinstance(batch.errors["SOL"], UnknownSymbol)
    assert [] == upstream.calls()


def test_supports_crypto_only(connect: Any) -> None:
    """CoinGecko supports crypto, not FX pairs or stocks."""
    gecko = connect()

    assert [True, False, False] == [
        gecko.supports(crypto("BTC")),
        gecko.supports(fx_pair("EUR", "USD")),
        gecko.supports(MarketSymbol("AAPL", AssetType.STOCK)),
    ]


# resolution --------------------------------------------------------------------------
def test_ambiguous_ticker_is_resolved_by_market_cap_rank_with_a_visible_reason(
    gecko: CoinGecko, upstream: Upstream
) -> None:
    """Of the coins sharing a ticker the best-ranked wins, and the reason says so."""
    resolution = gecko.resolve(crypto("BTC"))

    assert (
        Resolution(
            "coingecko",
            "bitcoin",
            "BTC -> bitcoin: 3 coins use the ticker btc, chose the highest market cap "
            "(rank 1); set an explicit CoinGecko id to choose another",
        )
        == resolution
    )
    assert [
        {
            "vs_currency": "usd",
            "ids": "batcat,bitcoin,osmosis-allbtc",
            "order": "market_cap_desc",
            "per_page": "250",
            "page": "1",
        }
    ] == [r.params for r in upstream.calls(MARKETS)]


def test_single_coin_ticker_needs_no_market_cap_call(gecko: CoinGecko, upstream: Upstream) -> None:
    """A ticker only one coin uses resolves from the list alone."""
    resolution = gecko.resolve(crypto("SOL"))

    assert Resolution("coingecko", "solana", "only coin with ticker sol") == resolution
    assert [] == upstream.calls(MARKETS)


def test_explicit_id_wins_without_any_lookup(gecko: CoinGecko, upstream: Upstream) -> None:
    """An explicit CoinGecko id is used as is: no coins list, no market-cap call."""
    resolution = gecko.resolve(crypto("BTC", coin_id="osmosis-allbtc"))

    assert Resolution("coingecko", "osmosis-allbtc", "explicit id on the instrument") == resolution
    assert [] == upstream.calls()


def test_ambiguous_ticker_quote_carries_its_reason_as_note(gecko: CoinGecko) -> None:
    """A quote of an ambiguous ticker says how it was mapped; a plain one says nothing."""
    batch = gecko.quotes([crypto("ETH"), crypto("SOL")], now=NOW)

    assert (
        "ETH -> ethereum: 2 coins use the ticker eth, chose the highest market cap (rank 2); "
        "set an explicit CoinGecko id to choose another"
    ) == batch.quotes["ETH"].note
    assert batch.quotes["SOL"].note is None


def test_ambiguous_tickers_of_a_batch_share_one_market_cap_call_and_it_is_remembered(
    gecko: CoinGecko, upstream: Upstream
) -> None:
    """All ambiguous tickers of a batch are ranked in one call, and never again."""
    for _ in range(3):
        gecko.quotes([crypto("BTC"), crypto("ETH"), crypto("SOL")], now=NOW)

    assert [["batcat", "bitcoin", "osmosis-allbtc", "ethereum", "ethereum-wormhole"]] == [
        r.params["ids"].split(",") for r in upstream.calls(MARKETS)
    ]
    assert 1 == len(upstream.calls(LIST))
    assert 3 == len(upstream.calls(PRICE))


def test_resolve_many_answers_every_symbol(gecko: CoinGecko) -> None:
    """resolve_many maps each ledger symbol to its resolution or its error."""
    found = gecko.resolve_many([crypto("SOL"), crypto("NOPE"), crypto("XBT", coin_id="bitcoin")])

    assert "solana" == found["SOL"].provider_id  # type: ignore[union-attr]
    assert isinstance(found["NOPE"], UnknownSymbol)
    assert "bitcoin" == found["XBT"].provider_id  # type: ignore[union-attr]


def test_shared_ticker_with_no_ranked_coin_is_unknown(gecko: CoinGecko) -> None:
    """When no coin sharing the ticker has a rank, none is guessed: set an explicit id."""
    with pytest.raises(UnknownSymbol, match="2 coins use the ticker pep"):
        gecko.resolve(crypto("PEP"))


def test_coins_list_is_fetched_once_for_many_concurrent_resolutions(
    upstream: Upstream, connect: Any
) -> None:
    """Fifty threads resolving at once cause one coins-list call and one ranking call."""
    upstream.route(LIST, Reply(COINS, delay=0.1))
    upstream.route(MARKETS, markets)
    gecko = connect()
    start = threading.Barrier(50)
    found: list[str] = []

    def ask(ticker: str) -> None:
        start.wait()
        found.append(gecko.resolve(crypto(ticker)).provider_id)

    threads = [threading.Thread(target=ask, args=("BTC" if n % 2 else "SOL",)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {"bitcoin": 25, "solana": 25} == {i: found.count(i) for i in set(found)}
    assert 1 == len(upstream.calls(LIST))
    assert 1 == len(upstream.calls(MARKETS))


def test_coins_list_is_fetched_again_after_its_ttl(upstream: Upstream, connect: Any) -> None:
    """The coins list is reused within its TTL and fetched anew (new decisions) after it."""
    upstream.route(LIST, Reply(COINS))
    upstream.route(MARKETS, markets)
    upstream.route(PRICE, Reply(raw=PRICES))
    now = [0.0]
    gecko = connect(coins_list_ttl=60, clock=lambda: now[0])

    gecko.quotes([crypto("BTC")], now=NOW)
    now[0] = 59.0
    gecko.quotes([crypto("BTC")], now=NOW)
    now[0] = 61.0
    gecko.quotes([crypto("BTC")], now=NOW)

    assert (2, 2) == (len(upstream.calls(LIST)), len(upstream.calls(MARKETS)))


def test_recorded_coins_list_ranks_coins_sharing_a_ticker(upstream: Upstream, connect: Any) -> None:
    """In the recorded list ``acc`` is two coins; the ranked one is chosen."""
    upstream.route(LIST, Reply(recorded("coingecko_coins_list.json")))
    upstream.route(MARKETS, Reply([{"id": "acchain", "market_cap_rank": 3021}]))
    gecko = connect()

    found = gecko.resolve_many([crypto("ACC"), crypto("ZRX")])

    assert "acchain" == found["ACC"].provider_id  # type: ignore[union-attr]
    assert Resolution("coingecko", "0x", "only coin with ticker zrx") == found["ZRX"]
    assert ["accelerator-network,acchain"] == [r.params["ids"] for r in upstream.calls(MARKETS)]


def test_recorded_coins_list_with_platforms_maps_tickers(upstream: Upstream, connect: Any) -> None:
    """The list with platforms has the same id/symbol fields; platforms are ignored."""
    upstream.route(LIST, Reply(recorded("coingecko_coins_list_with_platforms_jkorf.txt")))
    gecko = connect()

    assert "0chain" == gecko.resolve(crypto("ZCN")).provider_id


def test_empty_coins_list_is_unavailable_not_unknown(upstream: Upstream, connect: Any) -> None:
    """An empty coins list fails the call rather than making every ticker unknown."""
    upstream.route(LIST, Reply([]))
    gecko = connect()

    with pytest.raises(ProviderUnavailable, match="no coins"):
        gecko.quotes([crypto("BTC")], now=NOW)


def test_failed_refresh_keeps_serving_the_old_coins_list(upstream: Upstream, connect: Any) -> None:
    """After its TTL, a refresh that fails leaves the previous list in use."""
    upstream.route(LIST, Reply(COINS), Reply(status=500))
    upstream.route(PRICE, Reply(raw=PRICES))
    now = [0.0]
    gecko = connect(coins_list_ttl=60, clock=lambda: now[0], attempts=1)
    gecko.quotes([crypto("SOL")], now=NOW)
    now[0] = 100.0

    batch = gecko.quotes([crypto("SOL")], now=NOW)

    assert ["SOL"] == list(batch.quotes)
    assert 2 == len(upstream.calls(LIST))


# history -----------------------------------------------------------------------------
def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_milliseconds_map_to_utc_days_with_the_last_point_per_day() -> None:
    """00:00:00Z of D+1 closes D, the day's last point wins, the intraday final is dropped."""
    points = [
        [ms("2024-03-30T12:00:00+00:00"), Decimal("10")],
        [ms("2024-03-30T23:00:00+00:00"), Decimal("11")],
        [ms("2024-03-31T00:00:00+00:00"), Decimal("12")],
        [ms("2024-03-31T00:00:00.001+00:00"), Decimal("13")],
        [ms("2024-03-31T18:00:00+00:00"), Decimal("14")],
        [ms("2024-04-01T00:00:00+00:00"), 15],
        [ms("2024-04-01T15:01:22+00:00"), Decimal("16")],
    ]

    assert [Bar(date(2024, 3, 30), Decimal("12")), Bar(date(2024, 3, 31), Decimal("15"))] == (
        daily_closes(points)
    )


def test_final_point_at_midnight_closes_its_day() -> None:
    """A range whose last point is exactly 00:00:00Z keeps the day that point closes."""
    points = [[ms("2024-03-31T00:00:00+00:00"), Decimal("1")], [ms("2024-04-01T00:00:00+00:00"), 2]]

    assert [Bar(date(2024, 3, 30), Decimal("1")), Bar(date(2024, 3, 31), Decimal("2"))] == (
        daily_closes(points)
    )


def test_null_and_non_positive_points_are_skipped() -> None:
    """A null or non-positive price never becomes a close; the earlier point closes the day."""
    points = [
        [ms("2024-03-30T06:00:00+00:00"), Decimal("5")],
        [ms("2024-03-30T18:00:00+00:00"), None],
        [ms("2024-03-31T00:00:00+00:00"), 0],
        [ms("2024-03-31T06:00:00+00:00"), Decimal("-1")],
        [ms("2024-04-01T00:00:00+00:00"), None],
    ]

    assert [Bar(date(2024, 3, 30), Decimal("5"))] == daily_closes(points)


def test_recorded_market_chart_gives_closes_of_finished_days(
    upstream: Upstream, connect: Any
) -> None:
    """The recorded chart (two 00:00Z points, then "now") gives two closes, asked in seconds."""
    chart = f"{API}/coins/ethereum/market_chart/range"
    upstream.route(chart, Reply(recorded("coingecko_market_chart_range_jkorf.txt")))
    gecko = connect()

    history = gecko.history(crypto("ETH", coin_id="ethereum"), date(2024, 3, 30), date(2024, 4, 1))

    assert (
        Bar(date(2024, 3, 30), Decimal("69702.3087473573")),
        Bar(date(2024, 3, 31), Decimal("71246.9514406015")),
    ) == history.bars
    assert ("ETH", "USD", "coingecko") == (history.symbol, history.currency, history.source)
    assert [{"vs_currency": "usd", "from": "1711756800", "to": "1712102400"}] == [
        r.params for r in upstream.calls(chart)
    ]


def test_history_keeps_only_the_requested_days(upstream: Upstream, connect: Any) -> None:
    """Closes before ``start`` or after ``end`` are dropped."""
    chart = f"{API}/coins/solana/market_chart/range"
    upstream.route(
        chart,
        Reply(
            raw='{"prices":[[1711756800000,180.1],[1711843200000,181.2],[1711929600000,182.3],'
            '[1712016000000,183.4]],"market_caps":[],"total_volumes":[]}'
        ),
    )
    gecko = connect()

    history = gecko.history(crypto("SOL", coin_id="solana"), date(2024, 3, 30), date(2024, 3, 31))

    assert (
        Bar(date(2024, 3, 30), Decimal("181.2")),
        Bar(date(2024, 3, 31), Decimal("182.3")),
    ) == history.bars


def test_history_of_a_coin_not_found_is_unknown_symbol(upstream: Upstream, connect: Any) -> None:
    """CoinGecko's 404 ``coin not found`` is UnknownSymbol."""
    chart = f"{API}/coins/no-such-coin/market_chart/range"
    upstream.route(chart, Reply({"error": "coin not found"}, status=404))
    gecko = connect()

    with pytest.raises(UnknownSymbol, match="coin not found"):
        gecko.history(crypto("NSC", coin_id="no-such-coin"), date(2024, 3, 1), date(2024, 3, 2))


def test_other_404_is_unavailable_not_unknown(upstream: Upstream, connect: Any) -> None:
    """A 404 that is not ``coin not found`` (say, a wrong base URL) is not an unknown coin."""
    gecko = connect()

    with pytest.raises(ProviderUnavailable, match="HTTP 404"):
        gecko.history(crypto("BTC", coin_id="bitcoin"), date(2024, 3, 1), date(2024, 3, 2))


def test_history_of_an_unknown_ticker_asks_no_chart(gecko: CoinGecko, upstream: Upstream) -> None:
    """A ticker no coin uses raises UnknownSymbol before any chart call."""
    with pytest.raises(UnknownSymbol):
        gecko.history(crypto("NOPE"), date(2024, 3, 1), date(2024, 3, 2))

    assert [LIST] == [r.path for r in upstream.calls()]


# failures ----------------------------------------------------------------------------
RATE_LIMIT = {"status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit."}}


def test_rate_limit_waits_its_retry_after_then_succeeds(
    upstream: Upstream, connect: Any, sleeps: list[float]
) -> None:
    """A 429 with Retry-After is waited out (as told) and retried; both calls are counted."""
    upstream.route(
        PRICE, Reply(RATE_LIMIT, status=429, headers={"Retry-After": "3"}), Reply(raw=PRICES)
    )
    gecko = connect()
    ok = upstream_calls("coingecko", "ok")
    limited = upstream_calls("coingecko", "rate_limited")

    batch = gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)

    assert Decimal("0.000000123456789012") == batch.quotes["SOL"].price
    assert [3.0] == sleeps
    assert (1.0, 1.0) == (
        upstream_calls("coingecko", "ok") - ok,
        upstream_calls("coingecko", "rate_limited") - limited,
    )


def test_long_retry_after_is_raised_as_rate_limited(upstream: Upstream, connect: Any) -> None:
    """A Retry-After too long to wait out is RateLimited carrying it, after one call."""
    upstream.route(PRICE, Reply(RATE_LIMIT, status=429, headers={"Retry-After": "120"}))
    gecko = connect()

    with pytest.raises(RateLimited) as raised:
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)

    assert 120.0 == raised.value.retry_after
    assert 1 == len(upstream.calls(PRICE))


def test_server_error_then_success_is_retried(upstream: Upstream, connect: Any) -> None:
    """A 500 is retried and the next answer used."""
    upstream.route(PRICE, Reply({"error": "boom"}, status=500), Reply(raw=PRICES))
    gecko = connect()
    errors = upstream_calls("coingecko", "server_error")

    batch = gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)

    assert ["SOL"] == list(batch.quotes)
    assert 1.0 == upstream_calls("coingecko", "server_error") - errors


def test_malformed_json_is_unavailable(upstream: Upstream, connect: Any) -> None:
    """A body that is not JSON is ProviderUnavailable, not retried."""
    upstream.route(PRICE, Reply(raw="<html>Bad gateway</html>"))
    gecko = connect()

    with pytest.raises(ProviderUnavailable, match="not JSON"):
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)
    assert 1 == len(upstream.calls(PRICE))


def test_corrupt_compressed_body_is_unavailable(upstream: Upstream, connect: Any) -> None:
    """A body that cannot be decompressed is ProviderUnavailable, not an httpx error."""
    upstream.route(PRICE, Reply(raw="not gzip", headers={"Content-Encoding": "gzip"}))
    gecko = connect()

    with pytest.raises(ProviderUnavailable, match="DecodingError"):
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)


def test_timeout_is_unavailable_after_retries(upstream: Upstream, connect: Any) -> None:
    """A server too slow every time gives ProviderUnavailable after the configured attempts."""
    upstream.route(PRICE, Reply(raw=PRICES, delay=0.3))
    gecko = connect(timeout=0.05, attempts=2)
    timeouts = upstream_calls("coingecko", "timeout")

    with pytest.raises(ProviderUnavailable, match="timed out"):
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)
    assert 2.0 == upstream_calls("coingecko", "timeout") - timeouts


def test_error_payload_with_http_200_is_unavailable_with_its_message(
    upstream: Upstream, connect: Any
) -> None:
    """CoinGecko's status payload sent with HTTP 200 is ProviderUnavailable with its text."""
    upstream.route(
        PRICE, Reply({"status": {"error_code": 10002, "error_message": "API Key Missing"}})
    )
    gecko = connect()

    with pytest.raises(ProviderUnavailable, match="API Key Missing"):
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)


def test_rate_limit_payload_with_http_200_is_rate_limited(upstream: Upstream, connect: Any) -> None:
    """A 429 status payload in an HTTP 200 answer is RateLimited."""
    upstream.route(LIST, Reply(RATE_LIMIT))
    gecko = connect()

    with pytest.raises(RateLimited, match="exceeded the Rate Limit"):
        gecko.quotes([crypto("BTC")], now=NOW)


def test_failing_coins_list_fails_the_quote_call(upstream: Upstream, connect: Any) -> None:
    """When tickers cannot be mapped the call fails: an outage is not unknown symbols."""
    upstream.route(LIST, Reply(status=503))
    gecko = connect(attempts=1)

    with pytest.raises(ProviderUnavailable, match="HTTP 503"):
        gecko.quotes([crypto("SOL"), crypto("XBT", coin_id="bitcoin")], now=NOW)


# API keys ----------------------------------------------------------------------------
def test_api_key_goes_in_the_demo_header_or_the_pro_one_on_the_pro_host() -> None:
    """Demo keys use x-cg-demo-api-key; the pro host gets x-cg-pro-api-key."""
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, text='{"solana":{"usd":150.5}}')

    for base in ("https://api.coingecko.com/api/v3", "https://pro-api.coingecko.com/api/v3"):
        source = HttpSource(
            "coingecko", base, client=httpx.Client(transport=httpx.MockTransport(handler))
        )
        gecko = CoinGecko(base, api_key="k-123", source=source)
        gecko.quotes([crypto("SOL", coin_id="solana")], now=NOW)
        gecko.close()

    assert [("k-123", None), (None, "k-123")] == [
        (h.get("x-cg-demo-api-key"), h.get("x-cg-pro-api-key")) for h in seen
    ]
    assert "x-cg-demo-api-key" == api_key_header("http://127.0.0.1:8080/api/v3")
