"""Yahoo Finance: stocks, ETFs, funds, bonds, crypto and FX pairs, over Yahoo's JSON API.

Why these JSON endpoints over :class:`~quantdesk.market.http.HttpSource` rather than the
``yfinance`` package:

* the base URL is a constructor argument, so a deployment can go through a proxy or mirror
  (``QUANTDESK_YAHOO_BASE_URL``) and the tests run against a server on 127.0.0.1;
* every call goes through the shared retry layer (backoff with jitter, ``Retry-After`` on
  429) and is counted in ``quantdesk_upstream_calls_total`` like every other provider's;
* quotes are truly batched: up to :attr:`YahooFinance.max_batch` symbols in one
  ``/v7/finance/quote`` call, which is what the cache's call budget is built on;
* no pandas, no ``curl_cffi`` browser impersonation, no process-wide session or cache
  files: the adapter is one ``httpx`` client and a crumb.

Endpoints (shapes in ``shared/formats/FORMATS.md`` §14):

* ``GET /v1/test/getcrumb`` (text): the crumb the quote API has wanted since 2023. Fetched
  once per instance and reused; Yahoo's cookies stay in the ``httpx`` client. A quote call
  answered 401/403 fetches a new crumb once and is retried once.
* ``GET /v7/finance/quote?symbols=A,B&crumb=C``: one call per batch. A symbol missing from
  ``result`` is :class:`UnknownSymbol`; a null, missing or non-positive price is a
  per-symbol :class:`ProviderUnavailable` (never a price of 0).
* ``GET /v8/finance/chart/{ticker}?interval=1d&period1=..&period2=..``: daily closes from
  ``indicators.quote[0].close``, which Yahoo adjusts for splits but not for dividends (that
  is ``adjclose``), matching :class:`~quantdesk.market.base.Bar`. HTTP 404 with
  ``chart.error.code == "Not Found"`` is :class:`UnknownSymbol`; a 404 without that payload
  (a proxy's, say) is :class:`ProviderUnavailable`, so a misconfigured base URL never
  marks every symbol unknown.

Bar days: a daily bar's timestamp is the session open in UTC (14:30Z for NYSE, 00:00Z for
crypto, the previous UTC evening for Sydney or Auckland), so its day is that instant's date
in ``meta.exchangeTimezoneName``. The chart is asked for one day either side of the range
and the bars are then kept to ``[start, end]`` by exchange-local day.

Close precision: chart closes are single-precision floats printed in full
(``188.5500030517578``). A single-precision float carries about 7 significant decimal
digits, so each close is rounded half-even to 7 significant digits, but never to fewer
decimals than ``meta.priceHint`` (4 when Yahoo gives no hint), and trailing zeros beyond
the hint are dropped: ``188.5500030517578`` -> ``188.55``, ``7200.17431640625`` ->
``7200.174``. Rounding to ``priceHint`` alone would corrupt split-adjusted history:
Apple's 2020-01-02 close of 300.35 is ``75.0875015258789`` after the 4:1 split, and the
hint of 2 would make it 75.09 instead of 75.0875. Quote prices are printed at their real
precision by Yahoo and are kept exactly as printed.

Prices in minor units (``GBp`` pence, ``ZAc`` cents, ``ILA`` agorot) are converted to the
major currency (divided by 100); a quote's ``note`` says so.

Ledger symbols map to Yahoo tickers as :meth:`YahooFinance.resolve` explains; quotes and
histories always carry the ledger symbol, never the Yahoo ticker.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from quantdesk.domain.errors import ProviderError, ProviderUnavailable, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import (
    Bar,
    History,
    LiveQuote,
    MarketSymbol,
    QuoteBatch,
    Resolution,
)
from quantdesk.market.http import UPSTREAM_CALLS, Answer, HttpSource, source_for

DEFAULT_BASE_URL = "https://query2.finance.yahoo.com"
DEFAULT_COOKIE_URL = "https://fc.yahoo.com"

NAME = "yahoo"

#: Currencies Yahoo quotes in minor units: code -> (major currency, units per major unit).
MINOR_UNITS: Mapping[str, tuple[str, int]] = {
    "GBp": ("GBP", 100),
    "GBX": ("GBP", 100),
    "ZAc": ("ZAR", 100),
    "ILA": ("ILS", 100),
}

#: Yahoo's one-letter exchange suffixes (London, Tokyo, TSX Venture, Frankfurt): ``VOD.L``
#: is a London listing, not a share class, and keeps its dot.
EXCHANGE_SUFFIXES = frozenset("LTVF")

#: Significant decimal digits a single-precision float carries.
FLOAT32_DIGITS = 7

#: Decimals kept when a chart gives no ``priceHint``.
DEFAULT_PRICE_HINT = 4

_STOCK_LIKE = frozenset({AssetType.STOCK, AssetType.ETF, AssetType.FUND, AssetType.BOND})


class YahooFinance:
    """Yahoo Finance as a :class:`~quantdesk.market.base.Provider`.

    ``base_url`` and ``http_options`` (``timeout``, ``attempts``, ``backoff``, ``sleep``...)
    build the :class:`HttpSource`; pass ``source`` instead to share or fake one (then
    ``http_options`` are refused, and a ``base_url`` other than the default must be the
    source's).
    """

    name = NAME
    max_batch = 50

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        source: HttpSource | None = None,
        cookie_url: str | None = None,
        **http_options: Any,
    ) -> None:
        source = source_for(NAME, base_url, DEFAULT_BASE_URL, source, http_options)
        self.source = source
        #: Where the session cookie that ``getcrumb`` needs is handed out: Yahoo sets it on
        #: another host than the API's (fc.yahoo.com). Default: that host for Yahoo's own
        #: API, none for a configured base URL (a proxy or a test server does its own).
        self.cookie_url = cookie_url or (
            DEFAULT_COOKIE_URL if source.base_url == DEFAULT_BASE_URL else None
        )
        self._crumb: str | None = None
        self._crumb_lock = threading.Lock()

    def close(self) -> None:
        self.source.close()

    # mapping ------------------------------------------------------------------------------
    def supports(self, symbol: MarketSymbol) -> bool:
        """Stocks, ETFs, funds, bonds, crypto and FX pairs; not cash, other or unknown."""
        if symbol.asset_type in _STOCK_LIKE or symbol.asset_type is AssetType.CRYPTO:
            return True
        return symbol.is_fx

    def resolve(self, symbol: MarketSymbol) -> Resolution:
        """The Yahoo ticker of ``symbol``, and why.

        An explicit ``yahoo`` id wins. Otherwise: crypto ``BTC`` -> ``BTC-USD`` (quoted in
        the symbol's currency); FX pair ``EURUSD`` -> ``EURUSD=X``; a class share
        ``BRK.B`` or ``BRK/B`` -> ``BRK-B`` (Yahoo's one-letter exchange suffixes ``.L``,
        ``.T``, ``.V``, ``.F`` are kept: ``VOD.L`` stays); anything else as in the ledger.
        """
        explicit = symbol.id_for(NAME)
        if explicit:
            return Resolution(NAME, explicit, f"explicit Yahoo id {explicit}")
        if not self.supports(symbol):
            raise UnknownSymbol(
                f"does not price {symbol.asset_type.value} {symbol.symbol}", provider=NAME
            )
        ticker = symbol.symbol.upper()
        if symbol.asset_type is AssetType.CRYPTO:
            if "-" in ticker:
                return Resolution(NAME, ticker, "crypto pair as in the ledger")
            pair = f"{ticker}-{symbol.currency.upper()}"
            return Resolution(NAME, pair, f"crypto {ticker} quoted in {symbol.currency} as {pair}")
        if symbol.is_fx:
            pair = f"{ticker}=X"
            return Resolution(NAME, pair, f"FX pair {ticker} as {pair}")
        for separator in "./":
            head, found, tail = ticker.rpartition(separator)
            if (
                found
                and head
                and len(tail) == 1
                and tail.isalpha()
                and tail not in EXCHANGE_SUFFIXES
            ):
                share = f"{head}-{tail}"
                return Resolution(NAME, share, f"class {tail} share {ticker} as {share}")
        return Resolution(NAME, ticker, "ticker as in the ledger")

    # quotes -------------------------------------------------------------------------------
    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        """Latest prices of up to 50 symbols in one ``/v7/finance/quote`` call (plus a crumb
        call the first time, and a crumb refresh if Yahoo rejects the crumb)."""
        if len(symbols) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} symbols per call, got {len(symbols)}")
        errors: dict[str, ProviderError] = {}
        wanted: dict[str, list[tuple[MarketSymbol, Resolution]]] = {}
        for symbol in symbols:
            try:
                resolution = self.resolve(symbol)
            except UnknownSymbol as error:
                errors[symbol.symbol] = error
                continue
            wanted.setdefault(resolution.provider_id.upper(), []).append((symbol, resolution))
        if not wanted:
            return QuoteBatch({}, errors)

        rows = self._quote_rows(list(wanted))
        quotes: dict[str, LiveQuote] = {}
        for ticker, members in wanted.items():
            row = rows.get(ticker)
            for symbol, resolution in members:
                if row is None:
                    errors[symbol.symbol] = UnknownSymbol(
                        f"no quote for {resolution.provider_id}", provider=NAME
                    )
                    continue
                try:
                    quotes[symbol.symbol] = _live_quote(symbol, resolution, row, now)
                except ProviderError as error:
                    errors[symbol.symbol] = error
        return QuoteBatch(quotes, errors)

    def _quote_rows(self, tickers: list[str]) -> dict[str, Mapping[str, Any]]:
        """The ``quoteResponse.result`` rows for ``tickers``, keyed by upper-case ticker."""
        params = {"symbols": ",".join(tickers)}
        crumb = self._get_crumb()
        answer = self._quote_call(params, crumb)
        if answer.status in (401, 403):
            answer = self._quote_call(params, self._get_crumb(stale=crumb))
            if answer.status in (401, 403):
                raise ProviderUnavailable(
                    f"refused the quote call (HTTP {answer.status}) even with a fresh crumb",
                    provider=NAME,
                )
        response = _field(answer.body, "quoteResponse")
        result = response.get("result")
        if result is None:
            raise ProviderUnavailable(
                f"quote error: {_describe(response.get('error'))}", provider=NAME
            )
        if not isinstance(result, list):
            raise ProviderUnavailable("quote answer without a result list", provider=NAME)
        rows: dict[str, Mapping[str, Any]] = {}
        for row in result:
            if isinstance(row, dict) and isinstance(row.get("symbol"), str):
                rows[row["symbol"].upper()] = row
        return rows

    def _quote_call(self, params: Mapping[str, str], crumb: str) -> Answer:
        return self.source.get(
            "/v7/finance/quote", {**params, "crumb": crumb}, ok_statuses=(200, 401, 403)
        )

    def _get_crumb(self, stale: str | None = None) -> str:
        """The cached crumb, fetched on first use or when ``stale`` is the one Yahoo
        rejected (so concurrent callers that saw the same rejection fetch it once)."""
        with self._crumb_lock:
            if self._crumb is None or self._crumb == stale:
                self._fetch_cookie()
                answer = self.source.get("/v1/test/getcrumb", as_json=False)
                crumb = str(answer.body).strip()
                if not crumb or len(crumb) > 64 or any(c.isspace() or c in "<>{}" for c in crumb):
                    raise ProviderUnavailable("answered getcrumb without a crumb", provider=NAME)
                self._crumb = crumb
            return self._crumb

    def _fetch_cookie(self) -> None:
        """Visit the cookie host once per crumb: any answer will do (it often is a 404
        that sets the cookie); only a failure to connect is an error."""
        if self.cookie_url is None:
            return
        try:
            self.source.client.get(self.cookie_url)
        except httpx.HTTPError as error:
            UPSTREAM_CALLS.labels(NAME, "connection_error").inc()
            raise ProviderUnavailable(
                f"cannot get a session cookie ({type(error).__name__})", provider=NAME
            ) from None
        UPSTREAM_CALLS.labels(NAME, "ok").inc()

    # history ------------------------------------------------------------------------------
    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Daily closes from ``start`` to ``end`` (exchange-local days) in one chart call."""
        resolution = self.resolve(symbol)
        if start > end:
            return History(symbol.symbol, symbol.currency, NAME, ())
        ticker = resolution.provider_id
        params = {
            "interval": "1d",
            "period1": str(_epoch(start - timedelta(days=1))),
            "period2": str(_epoch(end + timedelta(days=1))),
            "events": "div|split",
        }
        answer = self.source.get(f"/v8/finance/chart/{ticker}", params, ok_statuses=(200, 404))
        chart = _field(answer.body, "chart")
        error = chart.get("error")
        results = chart.get("result")
        if error is not None or not results:
            if isinstance(error, dict) and error.get("code") == "Not Found":
                raise UnknownSymbol(f"no chart for {ticker}: {_describe(error)}", provider=NAME)
            if answer.status == 404:
                raise ProviderUnavailable(
                    f"HTTP 404 for {ticker} without Yahoo's chart error", provider=NAME
                )
            raise ProviderUnavailable(f"chart error: {_describe(error)}", provider=NAME)
        if not isinstance(results, list) or not isinstance(results[0], dict):
            raise ProviderUnavailable("chart answer without a result", provider=NAME)
        return _history(symbol, results[0], start, end)


# parsing ----------------------------------------------------------------------------------
def _field(body: object, name: str) -> Mapping[str, Any]:
    """``body[name]`` as an object, or ProviderUnavailable when the answer has no such."""
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise ProviderUnavailable(f"answer without {name!r}", provider=NAME)
    return value


def _describe(error: object) -> str:
    if isinstance(error, dict):
        text = error.get("description") or error.get("code")
        if text:
            return str(text)
    return "no result and no error description"


def _number(value: object) -> Decimal | None:
    """A JSON number as Decimal (HttpSource decodes fractions as Decimal), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _major(amount: Decimal, currency: str) -> tuple[Decimal, str, str | None]:
    """``amount`` in the major unit of ``currency``, with a note when it was converted."""
    minor = MINOR_UNITS.get(currency)
    if minor is None:
        return amount, currency, None
    major, per = minor
    return amount / per, major, f"Yahoo quotes in {currency}; converted to {major} (/ {per})"


def _live_quote(
    symbol: MarketSymbol, resolution: Resolution, row: Mapping[str, Any], now: datetime
) -> LiveQuote:
    ticker = resolution.provider_id
    price = _number(row.get("regularMarketPrice"))
    if price is None or price <= 0:
        raise ProviderUnavailable(f"gave no usable price for {ticker}", provider=NAME)
    currency = row.get("currency")
    if not isinstance(currency, str) or not currency:
        currency = symbol.currency
    price, currency, conversion = _major(price, currency)
    seconds = row.get("regularMarketTime")
    as_of = (
        datetime.fromtimestamp(seconds, UTC)
        if isinstance(seconds, int) and not isinstance(seconds, bool)
        else now
    )
    notes = []
    if ticker != symbol.symbol:
        notes.append(f"Yahoo ticker {ticker} ({resolution.reason})")
    if conversion:
        notes.append(conversion)
    return LiveQuote(
        symbol=symbol.symbol,
        price=price,
        currency=currency,
        as_of=as_of,
        source=NAME,
        fetched_at=now,
        note="; ".join(notes) or None,
    )


def _history(symbol: MarketSymbol, result: Mapping[str, Any], start: date, end: date) -> History:
    meta = result.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    currency = meta.get("currency")
    if not isinstance(currency, str) or not currency:
        currency = symbol.currency
    major, per = MINOR_UNITS.get(currency, (currency, 1))
    timestamps = result.get("timestamp")
    if not timestamps:  # no trading in the range
        return History(symbol.symbol, major, NAME, ())
    indicators = result.get("indicators")
    quote = indicators.get("quote") if isinstance(indicators, dict) else None
    closes = quote[0].get("close") if isinstance(quote, list) and quote and quote[0] else None
    if not isinstance(timestamps, list) or not isinstance(closes, list):
        raise ProviderUnavailable("chart without close prices", provider=NAME)
    zone = _zone(meta.get("exchangeTimezoneName"))
    hint = meta.get("priceHint")
    price_hint = hint if isinstance(hint, int) and not isinstance(hint, bool) else None
    by_day: dict[date, Decimal] = {}
    for seconds, value in zip(timestamps, closes, strict=False):
        close = _number(value)
        if close is None or close <= 0 or not isinstance(seconds, int):
            continue
        day = datetime.fromtimestamp(seconds, UTC).astimezone(zone).date()
        if start <= day <= end:
            # a later bar of the same day (Yahoo's live bar for today) wins
            by_day[day] = close_precision(close, price_hint) / per
    bars = tuple(Bar(day, by_day[day]) for day in sorted(by_day))
    return History(symbol.symbol, major, NAME, bars)


def close_precision(close: Decimal, price_hint: int | None) -> Decimal:
    """A single-precision chart close with its float noise rounded away: 7 significant
    digits (half-even), never fewer than ``price_hint`` decimals (4 when None), trailing
    zeros beyond the hint dropped. ``188.5500030517578`` (hint 2) -> ``188.55``."""
    keep = DEFAULT_PRICE_HINT if price_hint is None else max(0, price_hint)
    if close.is_zero():
        return close.quantize(Decimal(1).scaleb(-keep))
    places = max(keep, FLOAT32_DIGITS - 1 - close.adjusted())
    rounded = close.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    trimmed = rounded.normalize()
    exponent = trimmed.as_tuple().exponent
    if not isinstance(exponent, int) or exponent > -keep:
        return rounded.quantize(Decimal(1).scaleb(-keep))
    return trimmed


def _zone(name: object) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())
