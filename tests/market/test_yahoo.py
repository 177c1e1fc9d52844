"""Yahoo Finance adapter against a local server replaying Yahoo's real response shapes."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from quantdesk.domain.errors import ProviderUnavailable, RateLimited, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, MarketSymbol, fx_pair
from quantdesk.market.http import HttpSource, upstream_calls
from quantdesk.market.providers.yahoo import YahooFinance, close_precision
from tests.market.conftest import recorded
from tests.market.upstream import Reply, Upstream

NOW = datetime(2025, 2, 17, 11, 0, tzinfo=UTC)
QUOTE = "/v7/finance/quote"
CRUMB = "/v1/test/getcrumb"

AAPL = MarketSymbol("AAPL", AssetType.STOCK)
BRK_B = MarketSymbol("BRK.B", AssetType.STOCK)
BTC = MarketSymbol("BTC", AssetType.CRYPTO)
EURUSD = fx_pair("EUR", "USD")


#: One TLS context for every test client: building one per client costs ~80 ms.
TLS = ssl.create_default_context()
CLIENTS: list[httpx.Client] = []


def yahoo(upstream: Upstream | None = None, **options: Any) -> YahooFinance:
    """An adapter on the local server (or the default URL, never called), with no real
    sleeps; closed after the test."""
    client = httpx.Client(timeout=options.pop("timeout", 2.0), verify=TLS)
    CLIENTS.append(client)
    options.setdefault("sleep", lambda seconds: None)
    if upstream is None:
        return YahooFinance(client=client, **options)
    return YahooFinance(upstream.url, client=client, **options)


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def row(symbol: str, price: object, *, currency: str = "USD", at: int = 1739566800) -> dict:
    return {
        "symbol": symbol,
        "quoteType": "EQUITY",
        "regularMarketPrice": price,
        "regularMarketTime": at,
        "currency": currency,
        "marketState": "CLOSED",
        "priceHint": 2,
    }


def quote_body(*rows: dict) -> dict:
    return {"quoteResponse": {"result": list(rows), "error": None}}


def chart_body(
    symbol: str,
    timestamps: list[int],
    closes: list[float | None],
    *,
    zone: str = "America/New_York",
    currency: str = "USD",
    hint: int | None = 2,
) -> dict:
    meta: dict[str, Any] = {
        "currency": currency,
        "symbol": symbol,
        "exchangeTimezoneName": zone,
        "dataGranularity": "1d",
    }
    if hint is not None:
        meta["priceHint"] = hint
    return {
        "chart": {
            "result": [
                {
                    "meta": meta,
                    "timestamp": timestamps,
                    "indicators": {
                        "quote": [{"close": closes}],
                        "adjclose": [{"adjclose": [1.0 for _ in closes]}],
                    },
                }
            ],
            "error": None,
        }
    }


NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


@pytest.fixture
def crumbed(upstream: Upstream) -> Upstream:
    upstream.route(CRUMB, Reply(raw="haT3oykhHqZ"))
    return upstream


# quotes ----------------------------------------------------------------------------------


def test_batch_quote_is_one_call_keyed_by_ledger_symbols_priced_as_printed(
    crumbed: Upstream,
) -> None:
    """Four symbols take one quote call, come back under their ledger symbols, exact."""
    crumbed.route(
        QUOTE,
        Reply(
            quote_body(
                row("AAPL", 244.6),
                row("BRK-B", 474.3),
                row("BTC-USD", 97208.17),
                row("EURUSD=X", 1.0478),
            )
        ),
    )

    batch = yahoo(crumbed).quotes([AAPL, BRK_B, BTC, EURUSD], now=NOW)

    calls = crumbed.calls(QUOTE)
    assert 1 == len(calls)
    assert "AAPL,BRK-B,BTC-USD,EURUSD=X" == calls[0].params["symbols"]
    assert "haT3oykhHqZ" == calls[0].params["crumb"]
    assert {} == batch.errors
    prices = {name: quote.price for name, quote in batch.quotes.items()}
    expected = {
        "AAPL": Decimal("244.6"),
        "BRK.B": Decimal("474.3"),
        "BTC": Decimal("97208.17"),
        "EURUSD": Decimal("1.0478"),
    }
    assert expected == prices
    assert ["AAPL", "BRK.B", "BTC", "EURUSD"] == [q.symbol for q in batch.quotes.values()]
    assert "Yahoo ticker BRK-B (class B share BRK.B as BRK-B)" == batch.quotes["BRK.B"].note
    assert batch.quotes["AAPL"].note is None


def test_recorded_quote_gives_price_currency_and_market_time(crumbed: Upstream) -> None:
    """The recorded AAPL quote is 244.6 USD as of its regularMarketTime in UTC."""
    crumbed.route(QUOTE, Reply(recorded("yahoo_v7_quote_AAPL.json")))

    batch = yahoo(crumbed).quotes([AAPL], now=NOW)

    quote = batch.quotes["AAPL"]
    assert Decimal("244.6") == quote.price
    assert "USD" == quote.currency
    assert datetime(2025, 2, 14, 21, 0, tzinfo=UTC) == quote.as_of
    assert NOW == quote.fetched_at
    assert "yahoo" == quote.source
    assert quote.stale is False


def test_crumb_is_fetched_once_and_reused_across_calls(crumbed: Upstream) -> None:
    """Two quote calls on one adapter ask for the crumb only once."""
    crumbed.route(QUOTE, Reply(quote_body(row("AAPL", 244.6))))
    provider = yahoo(crumbed)

    provider.quotes([AAPL], now=NOW)
    provider.quotes([AAPL], now=NOW)

    assert 1 == len(crumbed.calls(CRUMB))
    assert ["haT3oykhHqZ", "haT3oykhHqZ"] == [c.params["crumb"] for c in crumbed.calls(QUOTE)]


def test_rejected_crumb_is_refreshed_once_and_the_quote_call_retried(upstream: Upstream) -> None:
    """A 401 on the quote call fetches a new crumb and retries with it."""
    upstream.route(CRUMB, Reply(raw="old-crumb"), Reply(raw="new-crumb"))
    invalid = {"finance": {"result": None, "error": {"code": "Unauthorized"}}}
    upstream.route(QUOTE, Reply(invalid, status=401), Reply(quote_body(row("AAPL", 244.6))))

    batch = yahoo(upstream).quotes([AAPL], now=NOW)

    assert Decimal("244.6") == batch.quotes["AAPL"].price
    assert 2 == len(upstream.calls(CRUMB))
    assert ["old-crumb", "new-crumb"] == [c.params["crumb"] for c in upstream.calls(QUOTE)]


def test_crumb_rejected_again_after_refresh_is_unavailable(upstream: Upstream) -> None:
    """A second 401 with a fresh crumb fails the call instead of looping."""
    upstream.route(CRUMB, Reply(raw="old-crumb"), Reply(raw="new-crumb"))
    upstream.route(QUOTE, Reply({"finance": {"result": None}}, status=403))

    with pytest.raises(ProviderUnavailable, match="fresh crumb"):
        yahoo(upstream).quotes([AAPL], now=NOW)

    assert 2 == len(upstream.calls(QUOTE))


@pytest.mark.parametrize("text", ["", "<html><body>consent</body></html>"], ids=["empty", "html"])
def test_getcrumb_without_a_crumb_is_unavailable(upstream: Upstream, text: str) -> None:
    """An empty body (no Yahoo cookie) or a consent page fails before any quote request."""
    upstream.route(CRUMB, Reply(raw=text))

    with pytest.raises(ProviderUnavailable, match="without a crumb"):
        yahoo(upstream).quotes([AAPL], now=NOW)

    assert [] == upstream.calls(QUOTE)


def test_unknown_symbol_in_batch_is_an_error_while_the_others_are_priced(
    crumbed: Upstream,
) -> None:
    """A symbol Yahoo leaves out of the result is UnknownSymbol; the rest are priced."""
    crumbed.route(QUOTE, Reply(quote_body(row("AAPL", 244.6))))
    nope = MarketSymbol("NOPEXYZ", AssetType.STOCK)

    batch = yahoo(crumbed).quotes([AAPL, nope], now=NOW)

    assert ["AAPL"] == list(batch.quotes)
    assert isinstance(batch.errors["NOPEXYZ"], UnknownSymbol)


def test_empty_result_makes_every_symbol_of_the_batch_unknown(crumbed: Upstream) -> None:
    """An empty result list means Yahoo knows none of the symbols."""
    crumbed.route(QUOTE, Reply(quote_body()))

    batch = yahoo(crumbed).quotes([AAPL, BRK_B], now=NOW)

    assert {} == batch.quotes
    assert {"AAPL": UnknownSymbol, "BRK.B": UnknownSymbol} == {
        name: type(error) for name, error in batch.errors.items()
    }


def test_null_zero_negative_or_missing_price_is_an_error_never_zero(crumbed: Upstream) -> None:
    """A quote without a positive price is a per-symbol error, not a price of 0."""
    missing = row("MSFT", None)
    del missing["regularMarketPrice"]
    crumbed.route(
        QUOTE,
        Reply(quote_body(row("AAPL", None), row("BRK-B", 0), row("BTC-USD", -1.5), missing)),
    )
    msft = MarketSymbol("MSFT", AssetType.STOCK)

    batch = yahoo(crumbed).quotes([AAPL, BRK_B, BTC, msft], now=NOW)

    assert {} == batch.quotes
    assert {"AAPL", "BRK.B", "BTC", "MSFT"} == set(batch.errors)
    assert all(type(e) is ProviderUnavailable for e in batch.errors.values())


def test_quote_error_payload_is_unavailable_with_its_description(crumbed: Upstream) -> None:
    """A quoteResponse with a null result and an error fails the whole call."""
    body = {
        "quoteResponse": {
            "result": None,
            "error": {"code": "Bad Request", "description": "Missing value for the symbols"},
        }
    }
    crumbed.route(QUOTE, Reply(body))

    with pytest.raises(ProviderUnavailable, match="Missing value for the symbols"):
        yahoo(crumbed).quotes([AAPL], now=NOW)


def test_pence_quote_is_converted_to_pounds_with_a_note(crumbed: Upstream) -> None:
    """A London quote in GBp (pence) is returned in GBP, divided by 100, and says so."""
    crumbed.route(QUOTE, Reply(quote_body(row("VOD.L", 70.52, currency="GBp"))))
    vod = MarketSymbol("VOD.L", AssetType.STOCK, "GBP")

    quote = yahoo(crumbed).quotes([vod], now=NOW).quotes["VOD.L"]

    assert Decimal("0.7052") == quote.price
    assert "GBP" == quote.currency
    assert "Yahoo quotes in GBp; converted to GBP (/ 100)" == quote.note


def test_unsupported_symbols_are_errors_without_any_call(upstream: Upstream) -> None:
    """Plain cash and unknown-type symbols are refused before asking Yahoo."""
    cash = MarketSymbol("USD", AssetType.CASH)
    unknown = MarketSymbol("XYZ", AssetType.UNKNOWN)

    batch = yahoo(upstream).quotes([cash, unknown], now=NOW)

    assert {"USD", "XYZ"} == set(batch.errors)
    assert [] == upstream.calls()


def test_more_symbols_than_max_batch_are_refused(upstream: Upstream) -> None:
    """The cache never sends more than 50; a caller that does gets a ValueError."""
    symbols = [MarketSymbol(f"S{i}", AssetType.STOCK) for i in range(51)]

    with pytest.raises(ValueError, match="at most 50"):
        yahoo(upstream).quotes(symbols, now=NOW)


# mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "ticker"),
    [
        (AAPL, "AAPL"),
        (BRK_B, "BRK-B"),
        (MarketSymbol("BF/B", AssetType.STOCK), "BF-B"),
        (MarketSymbol("VOD.L", AssetType.STOCK, "GBP"), "VOD.L"),
        (MarketSymbol("7203.T", AssetType.STOCK, "JPY"), "7203.T"),
        (MarketSymbol("SAP.DE", AssetType.STOCK, "EUR"), "SAP.DE"),
        (BTC, "BTC-USD"),
        (MarketSymbol("ETH", AssetType.CRYPTO, "EUR"), "ETH-EUR"),
        (EURUSD, "EURUSD=X"),
        (MarketSymbol("BRK.B", AssetType.STOCK, ids=(("yahoo", "BRK-B.MX"),)), "BRK-B.MX"),
        (MarketSymbol("XBT", AssetType.CRYPTO, ids=(("yahoo", "BTC-USD"),)), "BTC-USD"),
    ],
)
def test_ledger_symbol_maps_to_its_yahoo_ticker(symbol: MarketSymbol, ticker: str) -> None:
    """Explicit ids win; crypto, FX pairs and class shares follow Yahoo's conventions."""
    assert ticker == yahoo().resolve(symbol).provider_id


@pytest.mark.parametrize(
    ("asset_type", "ledger", "expected"),
    [
        (AssetType.STOCK, "AAPL", True),
        (AssetType.ETF, "SPY", True),
        (AssetType.FUND, "VFIAX", True),
        (AssetType.BOND, "TLT", True),
        (AssetType.CRYPTO, "BTC", True),
        (AssetType.CASH, "EURUSD", True),
        (AssetType.CASH, "USD", False),
        (AssetType.OTHER, "HOUSE", False),
        (AssetType.UNKNOWN, "XYZ", False),
    ],
)
def test_supports_priced_asset_types_and_fx_pairs_only(
    asset_type: AssetType, ledger: str, expected: bool
) -> None:
    """Stocks, funds, bonds, crypto and FX pairs; not cash, other or unknown."""
    assert expected == yahoo().supports(MarketSymbol(ledger, asset_type))


def test_resolving_an_unsupported_symbol_is_unknown() -> None:
    """A manual asset has no Yahoo ticker."""
    with pytest.raises(UnknownSymbol):
        yahoo().resolve(MarketSymbol("HOUSE", AssetType.OTHER))


# history ---------------------------------------------------------------------------------


def test_recorded_chart_gives_exchange_local_day_and_denoised_close(upstream: Upstream) -> None:
    """AAPL's recorded 2020-01-02 bar (14:30Z) is that New York day, close 75.0875."""
    upstream.route("/v8/finance/chart/AAPL", Reply(recorded("yahoo_v8_chart_AAPL_daily.json")))

    history = yahoo(upstream).history(AAPL, date(2020, 1, 1), date(2020, 1, 3))

    params = upstream.calls("/v8/finance/chart/AAPL")[0].params

    assert (Bar(date(2020, 1, 2), Decimal("75.0875")),) == history.bars
    assert ("AAPL", "USD", "yahoo") == (history.symbol, history.currency, history.source)
    expected_params = {
        "interval": "1d",
        "period1": str(int(datetime(2019, 12, 31, tzinfo=UTC).timestamp())),
        "period2": str(int(datetime(2020, 1, 4, tzinfo=UTC).timestamp())),
        "events": "div|split",
    }
    assert expected_params == params


def test_recorded_chart_with_split_and_dividend_gives_split_adjusted_closes(
    upstream: Upstream,
) -> None:
    """The 2020 4:1 split recording gives 49 post-split closes, not the adjclose."""
    body = recorded("yahoo_v8_chart_AAPL_with_split_dividend_events.json")
    upstream.route("/v8/finance/chart/AAPL", Reply(body))

    history = yahoo(upstream).history(AAPL, date(2020, 8, 31), date(2020, 11, 6))

    assert 49 == len(history.bars)
    assert Bar(date(2020, 8, 31), Decimal("129.04")) == history.bars[0]
    assert Bar(date(2020, 9, 1), Decimal("134.18")) == history.bars[1]
    assert Bar(date(2020, 11, 6), Decimal("118.69")) == history.bars[-1]
    assert date(2020, 9, 7) not in {bar.day for bar in history.bars}  # Labor Day
    assert (
        Bar(date(2020, 9, 11), Decimal("112.00")) == history.bars[8]
    )  # an integer close in the JSON


def test_recorded_bitcoin_chart_bars_are_utc_midnight_days(upstream: Upstream) -> None:
    """BTC-USD bars at 00:00Z are those UTC days, under the ledger symbol BTC."""
    upstream.route(
        "/v8/finance/chart/BTC-USD", Reply(recorded("yahoo_v8_chart_BTC-USD_daily.json"))
    )

    history = yahoo(upstream).history(BTC, date(2020, 1, 1), date(2020, 1, 3))

    expected = (
        Bar(date(2020, 1, 1), Decimal("7200.174")),
        Bar(date(2020, 1, 2), Decimal("6985.47")),
        Bar(date(2020, 1, 3), Decimal("7344.884")),
    )
    assert expected == history.bars
    assert "BTC" == history.symbol


def test_chart_bars_outside_the_range_are_dropped_and_a_later_same_day_bar_wins(
    upstream: Upstream,
) -> None:
    """Yahoo's extra days around the range go; today's live bar replaces its session bar."""
    timestamps = [
        1577716200,  # 2019-12-30 14:30Z
        1577975400,  # 2020-01-02 14:30Z
        1577998800,  # 2020-01-02 21:00Z: a live bar of the same day
        1578061800,  # 2020-01-03 14:30Z
        1578321000,  # 2020-01-06 14:30Z
    ]
    upstream.route(
        "/v8/finance/chart/AAPL",
        Reply(chart_body("AAPL", timestamps, [72.1, 75.08, 75.09, 74.36, 74.95])),
    )

    history = yahoo(upstream).history(AAPL, date(2020, 1, 1), date(2020, 1, 3))

    expected = (Bar(date(2020, 1, 2), Decimal("75.09")), Bar(date(2020, 1, 3), Decimal("74.36")))
    assert expected == history.bars


def test_chart_null_closes_are_skipped(upstream: Upstream) -> None:
    """A null close is a missing bar, not a price of 0."""
    timestamps = [1577975400, 1578061800, 1578321000]
    upstream.route(
        "/v8/finance/chart/AAPL", Reply(chart_body("AAPL", timestamps, [75.08, None, 74.95]))
    )

    history = yahoo(upstream).history(AAPL, date(2020, 1, 2), date(2020, 1, 6))

    assert [date(2020, 1, 2), date(2020, 1, 6)] == [bar.day for bar in history.bars]


def test_chart_day_is_the_exchange_local_date_east_of_utc(upstream: Upstream) -> None:
    """A Sydney session opening 23:00Z on Jan 1 (10:00 AEDT) is the Jan 2 bar."""
    upstream.route(
        "/v8/finance/chart/BHP.AX",
        Reply(chart_body("BHP.AX", [1577919600], [38.5], zone="Australia/Sydney")),
    )
    bhp = MarketSymbol("BHP.AX", AssetType.STOCK, "AUD")

    history = yahoo(upstream).history(bhp, date(2020, 1, 2), date(2020, 1, 2))

    assert (Bar(date(2020, 1, 2), Decimal("38.50")),) == history.bars


def test_chart_without_price_hint_keeps_four_decimals_at_least(upstream: Upstream) -> None:
    """Without a priceHint a noisy close keeps 4 decimals (and no float noise)."""
    upstream.route(
        "/v8/finance/chart/AAPL",
        Reply(chart_body("AAPL", [1577975400], [188.5500030517578], hint=None)),
    )

    history = yahoo(upstream).history(AAPL, date(2020, 1, 2), date(2020, 1, 2))

    assert "188.5500" == str(history.bars[0].close)


def test_chart_in_pence_is_converted_to_pounds(upstream: Upstream) -> None:
    """A London chart in GBp gives GBP closes."""
    upstream.route(
        "/v8/finance/chart/VOD.L",
        Reply(chart_body("VOD.L", [1578038400], [70.52], zone="Europe/London", currency="GBp")),
    )
    vod = MarketSymbol("VOD.L", AssetType.STOCK, "GBP")

    history = yahoo(upstream).history(vod, date(2020, 1, 3), date(2020, 1, 3))

    assert "GBP" == history.currency
    assert (Bar(date(2020, 1, 3), Decimal("0.7052")),) == history.bars


def test_chart_without_timestamps_is_an_empty_history(upstream: Upstream) -> None:
    """A range with no trading is an empty history, not an error."""
    body = chart_body("AAPL", [], [])
    del body["chart"]["result"][0]["timestamp"]
    body["chart"]["result"][0]["indicators"] = {"quote": [{}], "adjclose": [{}]}
    upstream.route("/v8/finance/chart/AAPL", Reply(body))

    history = yahoo(upstream).history(AAPL, date(2020, 1, 4), date(2020, 1, 5))

    assert () == history.bars
    assert "USD" == history.currency


def test_chart_not_found_is_unknown_symbol(upstream: Upstream) -> None:
    """Yahoo's 404 chart error for a delisted or wrong ticker is UnknownSymbol."""
    upstream.route("/v8/finance/chart/NOPEXYZ", Reply(NOT_FOUND, status=404))

    with pytest.raises(UnknownSymbol, match="symbol may be delisted"):
        yahoo(upstream).history(
            MarketSymbol("NOPEXYZ", AssetType.STOCK), date(2020, 1, 1), date(2020, 1, 3)
        )


def test_404_without_yahoo_chart_error_is_unavailable_not_unknown(upstream: Upstream) -> None:
    """A 404 from something else (a misrouted proxy) never marks a symbol unknown."""
    upstream.route("/v8/finance/chart/AAPL", Reply({"message": "no such route"}, status=404))

    with pytest.raises(ProviderUnavailable) as raised:
        yahoo(upstream).history(AAPL, date(2020, 1, 1), date(2020, 1, 3))

    assert not isinstance(raised.value, UnknownSymbol)


def test_history_of_an_empty_range_asks_nothing(upstream: Upstream) -> None:
    """``start`` after ``end`` is an empty history without a call."""
    history = yahoo(upstream).history(AAPL, date(2020, 1, 3), date(2020, 1, 2))

    assert () == history.bars
    assert [] == upstream.calls()


def test_close_precision_removes_float32_noise_but_keeps_split_adjusted_digits() -> None:
    """Closes keep 7 significant digits and at least the price hint's decimals."""
    cases = {
        ("188.5500030517578", 2): "188.55",
        ("75.0875015258789", 2): "75.0875",
        ("7200.17431640625", 2): "7200.174",
        ("0.000123456789", 4): "0.0001234568",
        ("1.2345678", None): "1.234568",
    }
    actual = {key: str(close_precision(Decimal(key[0]), key[1])) for key in cases}
    assert cases == actual


# faults and counting ---------------------------------------------------------------------


def test_timeout_is_retried_then_unavailable(upstream: Upstream) -> None:
    """A server slower than the client timeout is asked again, then reported unavailable."""
    upstream.route("/v8/finance/chart/AAPL", Reply(NOT_FOUND, delay=0.5))
    before = upstream_calls("yahoo", "timeout")

    with pytest.raises(ProviderUnavailable, match="timed out"):
        yahoo(upstream, timeout=0.05, attempts=2).history(AAPL, date(2020, 1, 1), date(2020, 1, 3))

    assert 2 == len(upstream.calls("/v8/finance/chart/AAPL"))
    assert 2 == upstream_calls("yahoo", "timeout") - before


def test_rate_limit_waits_the_retry_after_then_succeeds(upstream: Upstream) -> None:
    """A 429 with Retry-After: 3 sleeps 3 s (faked) and the second attempt answers."""
    ok = chart_body("AAPL", [1577975400], [75.0875015258789])
    upstream.route(
        "/v8/finance/chart/AAPL", Reply({}, status=429, headers={"Retry-After": "3"}), Reply(ok)
    )
    slept: list[float] = []
    before = upstream_calls("yahoo", "rate_limited")

    history = yahoo(upstream, sleep=slept.append).history(AAPL, date(2020, 1, 2), date(2020, 1, 2))

    assert [3.0] == slept
    assert (Bar(date(2020, 1, 2), Decimal("75.0875")),) == history.bars
    assert 1 == upstream_calls("yahoo", "rate_limited") - before


def test_long_retry_after_is_raised_as_rate_limited_without_waiting(crumbed: Upstream) -> None:
    """A Retry-After beyond what the HTTP layer waits out reaches the caller to rest on."""
    crumbed.route(QUOTE, Reply({}, status=429, headers={"Retry-After": "120"}))
    slept: list[float] = []

    with pytest.raises(RateLimited) as raised:
        yahoo(crumbed, sleep=slept.append).quotes([AAPL], now=NOW)

    assert 120.0 == pytest.approx(raised.value.retry_after)
    assert [] == slept
    assert 1 == len(crumbed.calls(QUOTE))


def test_server_error_then_success_is_retried(crumbed: Upstream) -> None:
    """A 500 followed by a good answer gives the quote after one retry."""
    crumbed.route(QUOTE, Reply({}, status=500), Reply(quote_body(row("AAPL", 244.6))))
    before = upstream_calls("yahoo", "server_error")

    batch = yahoo(crumbed).quotes([AAPL], now=NOW)

    assert Decimal("244.6") == batch.quotes["AAPL"].price
    assert 2 == len(crumbed.calls(QUOTE))
    assert 1 == upstream_calls("yahoo", "server_error") - before


def test_malformed_json_is_unavailable_and_not_retried(crumbed: Upstream) -> None:
    """An HTML page where JSON was expected fails at once (asking again gives the same)."""
    crumbed.route(QUOTE, Reply(raw="<html><body>Will be right back</body></html>"))
    before = upstream_calls("yahoo", "malformed")

    with pytest.raises(ProviderUnavailable, match="not JSON"):
        yahoo(crumbed).quotes([AAPL], now=NOW)

    assert 1 == len(crumbed.calls(QUOTE))
    assert 1 == upstream_calls("yahoo", "malformed") - before


def test_answer_without_quote_response_is_unavailable(crumbed: Upstream) -> None:
    """Valid JSON of the wrong shape (an empty object) is an unavailable provider."""
    crumbed.route(QUOTE, Reply({}))

    with pytest.raises(ProviderUnavailable, match="quoteResponse"):
        yahoo(crumbed).quotes([AAPL], now=NOW)


def test_every_upstream_call_is_counted_once(crumbed: Upstream) -> None:
    """The first batch costs a crumb and a quote call; the next only a quote call."""
    crumbed.route(QUOTE, Reply(quote_body(row("AAPL", 244.6))))
    provider = yahoo(crumbed)
    before = upstream_calls("yahoo", "ok")

    provider.quotes([AAPL, BRK_B], now=NOW)
    first = upstream_calls("yahoo", "ok") - before
    provider.quotes([AAPL, BRK_B], now=NOW)
    second = upstream_calls("yahoo", "ok") - before - first

    assert (2, 1) == (first, second)


def test_a_shared_source_is_used_as_given(upstream: Upstream) -> None:
    """An HttpSource passed in is the one called; HTTP options beside it are refused."""
    source = HttpSource("yahoo", upstream.url, sleep=lambda seconds: None)
    upstream.route("/v8/finance/chart/AAPL", Reply(NOT_FOUND, status=404))

    with pytest.raises(UnknownSymbol):
        YahooFinance(source=source).history(AAPL, date(2020, 1, 1), date(2020, 1, 2))
    with pytest.raises(TypeError):
        YahooFinance(source=source, timeout=1.0)
    source.close()


def test_session_cookie_is_fetched_from_the_cookie_host_before_the_crumb(
    upstream: Upstream,
) -> None:
    """With a cookie URL, its cookie reaches the crumb call (Yahoo hands it out elsewhere)."""
    upstream.route(
        "/cookie", Reply({"error": "not found"}, status=404, headers={"Set-Cookie": "A3=x; Path=/"})
    )
    upstream.route("/v1/test/getcrumb", Reply(raw="crumb-1"))
    upstream.route("/v7/finance/quote", Reply(quote_body(row("AAPL", 201.5))))
    adapter = YahooFinance(
        upstream.url, cookie_url=f"{upstream.url}/cookie", attempts=1, sleep=lambda _: None
    )
    quotes = adapter.quotes([MarketSymbol("AAPL", AssetType.STOCK)], now=datetime.now(UTC))
    adapter.close()
    assert Decimal("201.5") == quotes.quotes["AAPL"].price
    calls = upstream.calls()
    assert ["/cookie", "/v1/test/getcrumb", "/v7/finance/quote"] == [r.path for r in calls]
    assert "A3=x" == calls[1].headers.get("cookie")
