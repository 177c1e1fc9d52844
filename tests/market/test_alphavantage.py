"""Alpha Vantage adapter against a local server replaying its real response shapes."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from quantdesk.domain.errors import ProviderUnavailable, RateLimited, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, MarketSymbol
from quantdesk.market.http import upstream_calls
from quantdesk.market.providers.alphavantage import AlphaVantage
from tests.market.conftest import recorded
from tests.market.upstream import Reply, Request, Upstream

NOW = datetime(2020, 5, 8, 19, 0, tzinfo=UTC)
KEY = "test-key-123"
IBM = MarketSymbol("IBM", AssetType.STOCK)

#: Verbatim texts of Alpha Vantage's HTTP 200 failures (FORMATS.md §14).
NOTE = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls "
    "per minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ "
    "if you would like to target a higher API call frequency."
}
DAILY_LIMIT = {
    "Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 "
    "requests per day. Please subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
}
INVALID_CALL = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
}
INVALID_KEY = {
    "Error Message": "the parameter apikey is invalid or missing. Please claim your free "
    "API key on (https://www.alphavantage.co/support/#api-key). It should take less than "
    "20 seconds."
}

#: One TLS context for every test client: building one per client costs ~80 ms.
TLS = ssl.create_default_context()
CLIENTS: list[httpx.Client] = []


def alphavantage(upstream: Upstream | None = None, **options: Any) -> AlphaVantage:
    """An adapter on the local server (or the default URL, never called), with no real
    sleeps; closed after the test."""
    client = httpx.Client(timeout=options.pop("timeout", 2.0), verify=TLS)
    CLIENTS.append(client)
    options.setdefault("sleep", lambda seconds: None)
    if upstream is None:
        return AlphaVantage(KEY, client=client, **options)
    return AlphaVantage(KEY, upstream.url, client=client, **options)


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def global_quote(symbol: str, price: str, day: str = "2020-05-08") -> dict:
    return {
        "Global Quote": {
            "01. symbol": symbol,
            "02. open": price,
            "03. high": price,
            "04. low": price,
            "05. price": price,
            "06. volume": "2528814",
            "07. latest trading day": day,
            "08. previous close": price,
            "09. change": "0.0000",
            "10. change percent": "0.0000%",
        }
    }


def daily(symbol: str, closes: dict[date, str]) -> dict:
    """A TIME_SERIES_DAILY body, newest day first as Alpha Vantage sends it."""
    series = {
        day.isoformat(): {
            "1. open": close,
            "2. high": close,
            "3. low": close,
            "4. close": close,
            "5. volume": "1000",
        }
        for day, close in sorted(closes.items(), reverse=True)
    }
    meta = {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": symbol,
        "3. Last Refreshed": max(closes).isoformat() if closes else "",
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern",
    }
    return {"Meta Data": meta, "Time Series (Daily)": series}


def weekdays(last: date, count: int) -> list[date]:
    days: list[date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


# quotes ----------------------------------------------------------------------------------


def test_recorded_global_quote_gives_price_and_close_of_its_trading_day(
    upstream: Upstream,
) -> None:
    """IBM's recorded quote is 121.7400 as of 16:00 New York on 2020-05-08 (20:00Z)."""
    upstream.route("/query", Reply(recorded("alphavantage_global_quote.json")))

    batch = alphavantage(upstream).quotes([IBM], now=NOW)

    quote = batch.quotes["IBM"]
    assert Decimal("121.7400") == quote.price
    assert "121.7400" == str(quote.price)
    assert datetime(2020, 5, 8, 20, 0, tzinfo=UTC) == quote.as_of
    assert ("IBM", "USD", "alphavantage", NOW) == (
        quote.symbol,
        quote.currency,
        quote.source,
        quote.fetched_at,
    )
    expected_params = {"function": "GLOBAL_QUOTE", "symbol": "IBM", "apikey": KEY}
    assert expected_params == upstream.calls("/query")[0].params


def test_quote_in_winter_is_the_close_at_21_utc(upstream: Upstream) -> None:
    """16:00 New York is 21:00Z under standard time."""
    upstream.route("/query", Reply(global_quote("IBM", "121.7400", "2020-01-08")))

    quote = alphavantage(upstream).quotes([IBM], now=NOW).quotes["IBM"]

    assert datetime(2020, 1, 8, 21, 0, tzinfo=UTC) == quote.as_of


def test_quote_keeps_the_ledger_symbol_of_an_explicit_id(upstream: Upstream) -> None:
    """An explicit Alpha Vantage id is asked for, the ledger symbol is returned."""
    upstream.route("/query", Reply(global_quote("TSCO.LON", "312.5000")))
    tesco = MarketSymbol("TSCO", AssetType.STOCK, "GBP", ids=(("alphavantage", "TSCO.LON"),))

    batch = alphavantage(upstream).quotes([tesco], now=NOW)

    assert "TSCO.LON" == upstream.calls("/query")[0].params["symbol"]
    assert ("TSCO", "GBP") == (batch.quotes["TSCO"].symbol, batch.quotes["TSCO"].currency)


def test_empty_global_quote_is_unknown_symbol(upstream: Upstream) -> None:
    """``{"Global Quote": {}}`` is how Alpha Vantage says it has no such symbol."""
    upstream.route("/query", Reply({"Global Quote": {}}))

    batch = alphavantage(upstream).quotes([MarketSymbol("NOPEXYZ", AssetType.STOCK)], now=NOW)

    assert {} == batch.quotes
    assert isinstance(batch.errors["NOPEXYZ"], UnknownSymbol)


def test_error_message_is_unknown_symbol(upstream: Upstream) -> None:
    """An ``Error Message`` body (HTTP 200) is UnknownSymbol for quotes and history."""
    upstream.route("/query", Reply(INVALID_CALL))
    nope = MarketSymbol("NOPEXYZ", AssetType.STOCK)
    provider = alphavantage(upstream)

    batch = provider.quotes([nope], now=NOW)
    with pytest.raises(UnknownSymbol, match="Invalid API call"):
        provider.history(nope, date(2020, 5, 1), date(2020, 5, 8))

    assert isinstance(batch.errors["NOPEXYZ"], UnknownSymbol)


def test_invalid_api_key_is_unavailable_not_unknown_and_never_echoes_the_key(
    upstream: Upstream,
) -> None:
    """A rejected key would fail every symbol: it is a provider fault, not unknown symbols."""
    upstream.route("/query", Reply(INVALID_KEY))

    with pytest.raises(ProviderUnavailable) as raised:
        alphavantage(upstream).quotes([IBM], now=NOW)

    assert not isinstance(raised.value, UnknownSymbol | RateLimited)
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("body", "retry_after"),
    [
        (NOTE, 60.0),
        (DAILY_LIMIT, None),
        ({"Information": "Thank you for using Alpha Vantage! This is a premium endpoint."}, None),
    ],
    ids=["note", "daily-limit", "premium"],
)
def test_throttle_payload_with_http_200_is_rate_limited(
    upstream: Upstream, body: dict, retry_after: float | None
) -> None:
    """``Note`` and rate-limit or premium ``Information`` bodies are RateLimited."""
    upstream.route("/query", Reply(body))

    with pytest.raises(RateLimited) as raised:
        alphavantage(upstream).quotes([IBM], now=NOW)

    assert retry_after == raised.value.retry_after
    assert 1 == len(upstream.calls("/query"))


def test_other_information_payload_is_unavailable(upstream: Upstream) -> None:
    """An ``Information`` that is not about limits (the demo key) is a plain failure."""
    demo = {"Information": "The **demo** API key is for demo purposes only."}
    upstream.route("/query", Reply(demo))

    with pytest.raises(ProviderUnavailable, match="demo") as raised:
        alphavantage(upstream).quotes([IBM], now=NOW)

    assert not isinstance(raised.value, RateLimited)


@pytest.mark.parametrize("price", ["0.0000", "-1.0000", "", "n/a"])
def test_price_that_is_not_positive_is_an_error_never_zero(upstream: Upstream, price: str) -> None:
    """A zero, negative, empty or non-numeric price is a per-symbol error."""
    upstream.route("/query", Reply(global_quote("IBM", price)))

    batch = alphavantage(upstream).quotes([IBM], now=NOW)

    assert {} == batch.quotes
    assert type(batch.errors["IBM"]) is ProviderUnavailable


def test_one_symbol_per_call_only(upstream: Upstream) -> None:
    """There is no batch quote on the free tier: max_batch is 1 and two are refused."""
    provider = alphavantage(upstream)

    with pytest.raises(ValueError, match="at most 1"):
        provider.quotes([IBM, MarketSymbol("AAPL", AssetType.STOCK)], now=NOW)

    assert 1 == provider.max_batch


@pytest.mark.parametrize(
    ("asset_type", "expected"),
    [
        (AssetType.STOCK, True),
        (AssetType.ETF, True),
        (AssetType.FUND, True),
        (AssetType.BOND, False),
        (AssetType.CRYPTO, False),
        (AssetType.CASH, False),
        (AssetType.OTHER, False),
        (AssetType.UNKNOWN, False),
    ],
)
def test_supports_stocks_etfs_and_funds_only(asset_type: AssetType, expected: bool) -> None:
    """Alpha Vantage is the stocks backup; crypto and FX go elsewhere."""
    assert expected == alphavantage().supports(MarketSymbol("X", asset_type))


def test_unsupported_symbol_is_an_error_without_a_call(upstream: Upstream) -> None:
    """A crypto symbol is refused before asking."""
    batch = alphavantage(upstream).quotes([MarketSymbol("BTC", AssetType.CRYPTO)], now=NOW)

    assert isinstance(batch.errors["BTC"], UnknownSymbol)
    assert [] == upstream.calls()


def test_an_api_key_is_required() -> None:
    """Without a key there is no Alpha Vantage."""
    with pytest.raises(ValueError, match="API key"):
        AlphaVantage("")


# history ---------------------------------------------------------------------------------


def test_recorded_daily_series_gives_closes_oldest_first(upstream: Upstream) -> None:
    """IBM's recorded series gives 121.23 then 121.79, from one compact call."""
    upstream.route("/query", Reply(recorded("alphavantage_time_series_daily.json")))

    history = alphavantage(upstream).history(IBM, date(2020, 5, 7), date(2020, 5, 8))

    expected = (
        Bar(date(2020, 5, 7), Decimal("121.2300")),
        Bar(date(2020, 5, 8), Decimal("121.7900")),
    )
    assert expected == history.bars
    assert ("IBM", "USD", "alphavantage") == (history.symbol, history.currency, history.source)
    calls = upstream.calls("/query")
    assert [("TIME_SERIES_DAILY", "compact", KEY)] == [
        (c.params["function"], c.params["outputsize"], c.params["apikey"]) for c in calls
    ]


def test_history_keeps_only_the_requested_days(upstream: Upstream) -> None:
    """Days outside [start, end] in the answer are dropped."""
    upstream.route("/query", Reply(recorded("alphavantage_time_series_daily.json")))

    history = alphavantage(upstream).history(IBM, date(2020, 5, 8), date(2020, 5, 8))

    assert (Bar(date(2020, 5, 8), Decimal("121.7900")),) == history.bars


def test_range_over_100_days_asks_for_the_full_series(upstream: Upstream) -> None:
    """A range longer than the compact series' 100 days takes one full call."""
    closes = dict.fromkeys(weekdays(date(2020, 5, 8), 150), "100.00")
    upstream.route("/query", Reply(daily("IBM", closes)))

    history = alphavantage(upstream).history(IBM, date(2020, 1, 1), date(2020, 5, 8))

    assert ["full"] == [c.params["outputsize"] for c in upstream.calls("/query")]
    assert len([d for d in closes if d >= date(2020, 1, 1)]) == len(history.bars)


def test_short_old_range_falls_back_to_full_when_compact_starts_later(
    upstream: Upstream,
) -> None:
    """A compact answer that begins after ``start`` is followed by one full call."""
    recent = dict.fromkeys(weekdays(date(2020, 5, 8), 100), "120.00")
    older = {date(2019, 6, 3): "131.00", date(2019, 6, 4): "132.50", **recent}

    def by_size(request: Request) -> Reply:
        size = request.params["outputsize"]
        return Reply(daily("IBM", recent if size == "compact" else older))

    upstream.route("/query", by_size)

    history = alphavantage(upstream).history(IBM, date(2019, 6, 3), date(2019, 6, 4))

    assert ["compact", "full"] == [c.params["outputsize"] for c in upstream.calls("/query")]
    expected = (
        Bar(date(2019, 6, 3), Decimal("131.00")),
        Bar(date(2019, 6, 4), Decimal("132.50")),
    )
    assert expected == history.bars


def test_young_symbol_with_short_compact_series_is_not_asked_again(upstream: Upstream) -> None:
    """Fewer than 100 compact points is the whole history: no second call."""
    upstream.route("/query", Reply(daily("NEW", {date(2020, 5, 8): "10.00"})))
    new = MarketSymbol("NEW", AssetType.STOCK)

    history = alphavantage(upstream).history(new, date(2020, 4, 1), date(2020, 5, 8))

    assert 1 == len(upstream.calls("/query"))
    assert (Bar(date(2020, 5, 8), Decimal("10.00")),) == history.bars


def test_history_rate_limit_payload_is_rate_limited(upstream: Upstream) -> None:
    """The daily-limit ``Information`` body stops a history call too."""
    upstream.route("/query", Reply(DAILY_LIMIT))

    with pytest.raises(RateLimited):
        alphavantage(upstream).history(IBM, date(2020, 5, 7), date(2020, 5, 8))


def test_history_answer_without_a_series_is_unavailable(upstream: Upstream) -> None:
    """A body with neither a series nor a known message is an unavailable provider."""
    upstream.route("/query", Reply({"Meta Data": {}}))

    with pytest.raises(ProviderUnavailable, match="Time Series"):
        alphavantage(upstream).history(IBM, date(2020, 5, 7), date(2020, 5, 8))


# faults and counting ---------------------------------------------------------------------


def test_server_error_then_success_is_retried_and_counted(upstream: Upstream) -> None:
    """A 503 then the quote: one retry, one server_error and one ok counted."""
    upstream.route("/query", Reply({}, status=503), Reply(global_quote("IBM", "121.7400")))
    errors = upstream_calls("alphavantage", "server_error")
    oks = upstream_calls("alphavantage", "ok")

    batch = alphavantage(upstream).quotes([IBM], now=NOW)

    assert Decimal("121.7400") == batch.quotes["IBM"].price
    assert 1 == upstream_calls("alphavantage", "server_error") - errors
    assert 1 == upstream_calls("alphavantage", "ok") - oks


def test_exhausted_retries_are_unavailable_without_the_key(upstream: Upstream) -> None:
    """Three 500s make the provider unavailable; the message never carries the API key."""
    upstream.route("/query", Reply({}, status=500))

    with pytest.raises(ProviderUnavailable) as raised:
        alphavantage(upstream).quotes([IBM], now=NOW)

    assert 3 == len(upstream.calls("/query"))
    assert KEY not in str(raised.value)


def test_malformed_json_is_unavailable(upstream: Upstream) -> None:
    """An HTML error page is not retried and fails the call."""
    upstream.route("/query", Reply(raw="<html>502 Bad Gateway</html>"))

    with pytest.raises(ProviderUnavailable, match="not JSON"):
        alphavantage(upstream).history(IBM, date(2020, 5, 7), date(2020, 5, 8))

    assert 1 == len(upstream.calls("/query"))
