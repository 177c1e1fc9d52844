"""Alpha Vantage: a backup source for stocks, ETFs and funds; needs an API key.

Endpoints (shapes in ``shared/formats/FORMATS.md`` §14), all ``GET /query``:

* ``function=GLOBAL_QUOTE&symbol=X``: ``"05. price"`` and ``"07. latest trading day"``.
  Alpha Vantage has no batch quote on the free tier, so :attr:`AlphaVantage.max_batch` is 1
  and every symbol is one upstream call. The quote's ``as_of`` is 16:00 New York time (the
  US close) of the latest trading day; the answer has no currency, so a quote is in the
  ledger symbol's currency.
* ``function=TIME_SERIES_DAILY&outputsize=compact|full``: compact is the latest 100
  trading days, full is everything. The adapter has no clock, so it asks for ``full`` when
  the range spans more than 100 days and ``compact`` otherwise; when a compact answer
  starts after ``start`` (an old range), it asks once more for ``full``. Bars are kept to
  ``[start, end]``; their days are the exchange's (US/Eastern) dates.

Every number is a string and becomes ``Decimal(text)``. Alpha Vantage reports failures
with HTTP 200 and a one-key body, read before any data:

* ``{"Note": "... API call frequency ..."}`` (the older per-minute throttle) and
  ``{"Information": "... rate limit ..." / "... premium ..."}`` -> :class:`RateLimited`;
  another ``Information`` (say, about the demo key) -> :class:`ProviderUnavailable`;
* ``{"Error Message": "Invalid API call ..."}`` -> :class:`UnknownSymbol`, except the one
  about the ``apikey`` parameter, which is a configuration fault (every symbol would fail)
  and so :class:`ProviderUnavailable`;
* ``{"Global Quote": {}}`` -> :class:`UnknownSymbol`; a quote whose price is missing, 0 or
  below is a per-symbol :class:`ProviderUnavailable` (never a price of 0).

The API key travels as a query parameter; it never appears in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from quantdesk.domain.errors import (
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownSymbol,
)
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import (
    Bar,
    History,
    LiveQuote,
    MarketSymbol,
    QuoteBatch,
    Resolution,
)
from quantdesk.market.http import HttpSource, source_for

DEFAULT_BASE_URL = "https://www.alphavantage.co"

NAME = "alphavantage"

#: Trading days in a ``compact`` daily series.
COMPACT_POINTS = 100

#: Where and when a US session closes: a global quote's ``as_of`` on its trading day.
CLOSE_ZONE = ZoneInfo("America/New_York")
CLOSE_TIME = time(16, 0)

#: Seconds to rest after the per-minute throttle (``Note``).
PER_MINUTE_REST = 60.0

_SUPPORTED = frozenset({AssetType.STOCK, AssetType.ETF, AssetType.FUND})


class AlphaVantage:
    """Alpha Vantage as a :class:`~quantdesk.market.base.Provider`.

    ``base_url`` and ``http_options`` build the :class:`HttpSource`; pass ``source``
    instead to share or fake one (then ``http_options`` are refused, and a ``base_url``
    other than the default must be the source's).
    """

    name = NAME
    max_batch = 1

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        source: HttpSource | None = None,
        **http_options: Any,
    ) -> None:
        if not api_key:
            raise ValueError("Alpha Vantage needs an API key")
        self.api_key = api_key
        source = source_for(NAME, base_url, DEFAULT_BASE_URL, source, http_options)
        self.source = source

    def __repr__(self) -> str:
        return f"AlphaVantage({self.source.base_url!r})"  # never the key

    def close(self) -> None:
        self.source.close()

    def supports(self, symbol: MarketSymbol) -> bool:
        """Stocks, ETFs and funds."""
        return symbol.asset_type in _SUPPORTED

    def resolve(self, symbol: MarketSymbol) -> Resolution:
        """An explicit ``alphavantage`` id, else the ledger's ticker as it is."""
        explicit = symbol.id_for(NAME)
        if explicit:
            return Resolution(NAME, explicit, f"explicit Alpha Vantage id {explicit}")
        if not self.supports(symbol):
            raise UnknownSymbol(
                f"does not price {symbol.asset_type.value} {symbol.symbol}", provider=NAME
            )
        return Resolution(NAME, symbol.symbol, "ticker as in the ledger")

    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        """The latest price of (at most) one symbol, from ``GLOBAL_QUOTE``."""
        if len(symbols) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} symbol per call, got {len(symbols)}")
        quotes: dict[str, LiveQuote] = {}
        errors: dict[str, ProviderError] = {}
        for symbol in symbols:
            try:
                answer = self._quote(symbol, now)
            except UnknownSymbol as error:
                errors[symbol.symbol] = error
                continue
            if isinstance(answer, LiveQuote):
                quotes[symbol.symbol] = answer
            else:
                errors[symbol.symbol] = answer
        return QuoteBatch(quotes, errors)

    def _quote(self, symbol: MarketSymbol, now: datetime) -> LiveQuote | ProviderError:
        """The quote, or the per-symbol error of a quote without a usable price; raises
        UnknownSymbol, or ProviderUnavailable when the whole call failed."""
        ticker = self.resolve(symbol).provider_id
        body = self._query("GLOBAL_QUOTE", ticker)
        quote = body.get("Global Quote")
        if not isinstance(quote, dict):
            raise ProviderUnavailable("answer without 'Global Quote'", provider=NAME)
        if not quote:
            raise UnknownSymbol(f"no quote for {ticker}", provider=NAME)
        price = _decimal(quote.get("05. price"))
        if price is None or price <= 0:
            return ProviderUnavailable(f"gave no usable price for {ticker}", provider=NAME)
        try:
            day = date.fromisoformat(str(quote.get("07. latest trading day")))
        except ValueError:
            raise ProviderUnavailable(
                f"quote for {ticker} without a latest trading day", provider=NAME
            ) from None
        as_of = datetime.combine(day, CLOSE_TIME, CLOSE_ZONE).astimezone(UTC)
        return LiveQuote(
            symbol=symbol.symbol,
            price=price,
            currency=symbol.currency,
            as_of=as_of,
            source=NAME,
            fetched_at=now,
            note=None if ticker == symbol.symbol else f"Alpha Vantage symbol {ticker}",
        )

    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Daily closes from ``start`` to ``end``: one call, two for a short old range."""
        ticker = self.resolve(symbol).provider_id
        if start > end:
            return History(symbol.symbol, symbol.currency, NAME, ())
        full = (end - start).days > COMPACT_POINTS
        series = self._daily(ticker, full=full)
        if not full and len(series) >= COMPACT_POINTS and min(series) > start:
            series = self._daily(ticker, full=True)  # compact ends before the range starts
        bars = tuple(Bar(day, series[day]) for day in sorted(series) if start <= day <= end)
        return History(symbol.symbol, symbol.currency, NAME, bars)

    def _daily(self, ticker: str, *, full: bool) -> dict[date, Decimal]:
        body = self._query("TIME_SERIES_DAILY", ticker, outputsize="full" if full else "compact")
        series = body.get("Time Series (Daily)")
        if not isinstance(series, dict):
            raise ProviderUnavailable("answer without 'Time Series (Daily)'", provider=NAME)
        closes: dict[date, Decimal] = {}
        for key, bar in series.items():
            try:
                day = date.fromisoformat(key)
            except ValueError:
                continue
            close = _decimal(bar.get("4. close")) if isinstance(bar, dict) else None
            if close is not None and close > 0:
                closes[day] = close
        return closes

    def _query(self, function: str, ticker: str, **extra: str) -> Mapping[str, Any]:
        params = {"function": function, "symbol": ticker, **extra, "apikey": self.api_key}
        body = self.source.get("/query", params).body
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"{function} answer is not an object", provider=NAME)
        _raise_for_message(body, ticker)
        return body


def _raise_for_message(body: Mapping[str, Any], ticker: str) -> None:
    """Alpha Vantage's HTTP 200 failures (``Note``, ``Information``, ``Error Message``)."""
    note = body.get("Note")
    if isinstance(note, str):
        raise RateLimited(note, provider=NAME, retry_after=PER_MINUTE_REST)
    information = body.get("Information")
    if isinstance(information, str):
        text = information.lower()
        if "rate limit" in text or "premium" in text or "call frequency" in text:
            raise RateLimited(information, provider=NAME)
        raise ProviderUnavailable(information, provider=NAME)
    message = body.get("Error Message")
    if isinstance(message, str):
        if "apikey" in message.lower():
            raise ProviderUnavailable(message, provider=NAME)
        raise UnknownSymbol(f"{ticker}: {message}", provider=NAME)


def _decimal(text: object) -> Decimal | None:
    """A numeric string as Decimal; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
