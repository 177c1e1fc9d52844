"""CoinGecko: crypto prices by coin id, with ledger tickers mapped to ids through its coins list.

Endpoints used (base URL ``https://api.coingecko.com/api/v3``, configurable):

* ``/coins/list`` -> ``[{"id", "symbol", "name"}, ...]``: every coin; ``symbol`` is the
  lower-case ticker and is **not unique** (dozens of coins call themselves ``btc``);
* ``/coins/markets?vs_currency=usd&ids=...&order=market_cap_desc`` -> rows with
  ``market_cap_rank``: decides between coins that share a ticker;
* ``/simple/price?ids=...&vs_currencies=...&include_last_updated_at=true`` -> latest prices;
* ``/coins/{id}/market_chart/range?vs_currency=...&from=<s>&to=<s>`` -> ``prices: [[ms, p]]``.

API keys: with ``api_key`` every request carries ``x-cg-demo-api-key`` (the free "demo"
plan, on ``api.coingecko.com``), or ``x-cg-pro-api-key`` when the base URL's host is
``pro-api.coingecko.com`` (paid plans must use that host, and demo keys must not).

Ticker -> id (:meth:`CoinGecko.resolve_many`): an explicit ``coingecko`` id on the
instrument always wins and costs no call. Otherwise the ticker is looked up, lower-cased, in
``/coins/list`` (fetched once and kept ``coins_list_ttl`` seconds; concurrent askers share
one fetch, and a failed refresh keeps the old list five more minutes). One coin: that one.
Several: the one with the best (lowest) ``market_cap_rank``, asked in one ``/coins/markets``
call for every ambiguous ticker of the batch and remembered with the list; the reason says
so, and a quote of such a ticker carries it as its ``note``. Several but none ranked, or
none at all: :class:`UnknownSymbol` (set an explicit id). Only crypto is mapped by ticker.

Daily closes (:func:`daily_closes`): the close of UTC day D is the last price at or
before 00:00:00Z of D+1. CoinGecko's daily points sit at 00:00Z and are the price at that
instant, so the point at 00:00Z of D+1 closes D (the same day Yahoo's ``BTC-USD`` bar
dated D closes); finer points (hourly for ranges up to 90 days, 5-minutely within a day)
fall in the day they were taken. So a point at ``t`` ms belongs to the day of ``t - 1 ms``,
UTC, and each day keeps its last point. A day counts only once finished: the answer
must reach 00:00Z of the next day. The final point of a range that ends now ("now",
intraday) is therefore never a close. Points with a null or non-positive price are skipped.
Prices are kept exactly as CoinGecko printed them (no rounding here).

Errors: HTTP 429 -> :class:`RateLimited` (retries: :class:`HttpSource`); a 404
``{"error": "coin not found"}`` -> :class:`UnknownSymbol`; an HTTP 200 carrying
``{"status": {"error_code", "error_message"}}`` -> :class:`ProviderUnavailable` with the
message (:class:`RateLimited` for code 429); an id absent from a price answer, or a null or
non-positive price -> that symbol's :class:`UnknownSymbol`, never a price of 0. A failure
while mapping tickers (coins list or ranks unavailable) fails the whole quote call, so an
outage is never mistaken for unknown symbols.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from quantdesk.domain.errors import ProviderError, ProviderUnavailable, RateLimited, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, History, LiveQuote, MarketSymbol, QuoteBatch, Resolution
from quantdesk.market.http import HttpSource, source_for

PROVIDER = "coingecko"
DEFAULT_BASE_URL = "https://api.coingecko.com/api/v3"
PRO_HOST = "pro-api.coingecko.com"
#: Most ids one ``/coins/markets`` page answers (its ``per_page`` maximum).
MARKETS_PAGE = 250
#: How long an expired coins list keeps serving after a failed refresh, in seconds.
LIST_RETRY_SECONDS = 300.0
EXPLICIT_REASON = "explicit id on the instrument"

_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def api_key_header(base_url: str) -> str:
    """The header an API key travels in: the pro one on the pro host, else the demo one."""
    host = urlsplit(base_url).hostname or ""
    return "x-cg-pro-api-key" if host == PRO_HOST else "x-cg-demo-api-key"


@dataclass(frozen=True, slots=True)
class _Choice:
    """The pick among coins sharing a ticker: the best-ranked id, or none ranked."""

    coin_id: str | None
    rank: int | None


@dataclass(slots=True)
class _CoinsList:
    """One fetch of ``/coins/list``: ids per lower-case ticker (in list order), and the
    market-cap decisions made for its ambiguous tickers (they live and die with it)."""

    by_ticker: dict[str, tuple[str, ...]]
    fetched_at: float
    decisions: dict[str, _Choice] = field(default_factory=dict)


class CoinGecko:
    """CoinGecko's public API as a :class:`~quantdesk.market.base.Provider` (crypto only)."""

    name = PROVIDER
    max_batch = 50

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        source: HttpSource | None = None,
        coins_list_ttl: float = 86400,
        clock: Callable[[], float] = time.monotonic,
        **http_options: Any,
    ) -> None:
        """``source`` replaces the HttpSource built from ``base_url`` and ``http_options``
        (``timeout``, ``attempts``, ``sleep``...); an ``api_key`` is then set on its
        client's headers. ``clock`` times the coins list's TTL."""
        source = source_for(PROVIDER, base_url, DEFAULT_BASE_URL, source, http_options)
        if api_key:
            source.client.headers[api_key_header(source.base_url)] = api_key
        self.source = source
        self.coins_list_ttl = coins_list_ttl
        self.clock = clock
        self._coins: _CoinsList | None = None
        self._list_lock = threading.Lock()
        self._list_attempts = 0
        self._list_failure: ProviderError | None = None
        self._rank_lock = threading.Lock()

    def close(self) -> None:
        self.source.close()

    def supports(self, symbol: MarketSymbol) -> bool:
        """Crypto only (FX pairs and every other asset type are other providers' job)."""
        return symbol.asset_type is AssetType.CRYPTO

    # resolution ----------------------------------------------------------------------
    def resolve(self, symbol: MarketSymbol) -> Resolution:
        """CoinGecko's id for ``symbol``; raises UnknownSymbol (or ProviderUnavailable)."""
        found = self.resolve_many([symbol])[symbol.symbol]
        if isinstance(found, ProviderError):
            raise found
        return found

    def resolve_many(
        self, symbols: Iterable[MarketSymbol]
    ) -> dict[str, Resolution | ProviderError]:
        """Each ledger symbol's id, or why there is none, with at most one coins-list and
        one market-cap call for all of them (none when every id is explicit or known)."""
        return self._resolve_all(symbols)[0]

    def _resolve_all(
        self, symbols: Iterable[MarketSymbol]
    ) -> tuple[dict[str, Resolution | ProviderError], set[str]]:
        """Like :meth:`resolve_many`, plus the ledger symbols whose ticker was ambiguous."""
        results: dict[str, Resolution | ProviderError] = {}
        pending: dict[str, list[MarketSymbol]] = {}
        for symbol in symbols:
            explicit = symbol.id_for(PROVIDER)
            if explicit:
                results[symbol.symbol] = Resolution(PROVIDER, explicit, EXPLICIT_REASON)
            elif not self.supports(symbol):
                results[symbol.symbol] = UnknownSymbol(
                    f"{symbol.symbol} is {symbol.asset_type}: only crypto tickers are mapped; "
                    "set an explicit CoinGecko id",
                    provider=PROVIDER,
                )
            else:
                pending.setdefault(symbol.symbol.strip().lower(), []).append(symbol)
        ambiguous: set[str] = set()
        if not pending:
            return results, ambiguous
        try:
            coins = self._coins_list()
        except ProviderError as error:
            for group in pending.values():
                for symbol in group:
                    results[symbol.symbol] = error
            return results, ambiguous
        shared = [t for t in pending if len(coins.by_ticker.get(t, ())) > 1]
        choices: dict[str, _Choice] | ProviderError
        try:
            choices = self._choices(coins, shared) if shared else {}
        except ProviderError as error:
            choices = error
        for ticker, group in pending.items():
            ids = coins.by_ticker.get(ticker, ())
            for symbol in group:
                if len(ids) <= 1:
                    results[symbol.symbol] = (
                        Resolution(PROVIDER, ids[0], f"only coin with ticker {ticker}")
                        if ids
                        else UnknownSymbol(
                            f"no coin has the ticker {ticker}; set an explicit CoinGecko id",
                            provider=PROVIDER,
                        )
                    )
                elif isinstance(choices, ProviderError):
                    results[symbol.symbol] = choices
                else:
                    results[symbol.symbol] = _chosen(symbol, ticker, ids, choices[ticker])
                    ambiguous.add(symbol.symbol)
        return results, ambiguous

    def _coins_list(self) -> _CoinsList:
        """The cached coins list; one fetch however many threads ask at once."""
        seen = self._list_attempts
        with self._list_lock:
            coins = self._coins
            if coins is not None and self.clock() - coins.fetched_at < self.coins_list_ttl:
                return coins
            if self._list_attempts != seen and self._list_failure is not None:
                # The fetch this thread waited for just failed: share its answer.
                raise self._list_failure
            self._list_attempts += 1
            try:
                fresh = self._fetch_coins_list()
            except ProviderError as error:
                if coins is None:
                    self._list_failure = error
                    raise
                coins.fetched_at = (
                    self.clock()
                    - self.coins_list_ttl
                    + min(self.coins_list_ttl, LIST_RETRY_SECONDS)
                )
                return coins
            self._list_failure = None
            self._coins = fresh
            return fresh

    def _fetch_coins_list(self) -> _CoinsList:
        body = _checked(self.source.get("/coins/list").body)
        if not isinstance(body, list):
            raise ProviderUnavailable("/coins/list did not answer a list", provider=PROVIDER)
        by_ticker: dict[str, list[str]] = {}
        for row in body:
            if not isinstance(row, dict):
                continue
            coin_id, ticker = row.get("id"), row.get("symbol")
            if isinstance(coin_id, str) and isinstance(ticker, str) and coin_id and ticker:
                ids = by_ticker.setdefault(ticker.strip().lower(), [])
                if coin_id not in ids:
                    ids.append(coin_id)
        if not by_ticker:
            # Not "every symbol is unknown": that would be cached as such.
            raise ProviderUnavailable("/coins/list answered no coins", provider=PROVIDER)
        return _CoinsList({t: tuple(ids) for t, ids in by_ticker.items()}, self.clock())

    def _choices(self, coins: _CoinsList, tickers: Sequence[str]) -> dict[str, _Choice]:
        """The market-cap pick for each ambiguous ticker; the undecided ones in one call."""
        with self._rank_lock:
            missing = [t for t in tickers if t not in coins.decisions]
            if missing:
                candidates = list(dict.fromkeys(i for t in missing for i in coins.by_ticker[t]))
                ranks = self._market_cap_ranks(candidates)
                for ticker in missing:
                    ranked = sorted(
                        (ranks[coin_id], order, coin_id)
                        for order, coin_id in enumerate(coins.by_ticker[ticker])
                        if coin_id in ranks
                    )
                    coins.decisions[ticker] = (
                        _Choice(ranked[0][2], ranked[0][0]) if ranked else _Choice(None, None)
                    )
            return {t: coins.decisions[t] for t in tickers}

    def _market_cap_ranks(self, ids: Sequence[str]) -> dict[str, int]:
        """``market_cap_rank`` of those ``ids`` that have one (one call per 250 ids)."""
        ranks: dict[str, int] = {}
        for first in range(0, len(ids), MARKETS_PAGE):
            chunk = ids[first : first + MARKETS_PAGE]
            params = {
                "vs_currency": "usd",
                "ids": ",".join(chunk),
                "order": "market_cap_desc",
                "per_page": str(MARKETS_PAGE),
                "page": "1",
            }
            body = _checked(self.source.get("/coins/markets", params).body)
            if not isinstance(body, list):
                raise ProviderUnavailable("/coins/markets did not answer a list", provider=PROVIDER)
            for row in body:
                if not isinstance(row, dict):
                    continue
                coin_id, rank = row.get("id"), row.get("market_cap_rank")
                if isinstance(coin_id, str) and type(rank) is int and rank > 0:
                    ranks[coin_id] = rank
        return ranks

    # prices --------------------------------------------------------------------------
    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        """Latest prices in the symbols' currencies, in one ``/simple/price`` call."""
        resolved, ambiguous = self._resolve_all(symbols)
        errors: dict[str, ProviderError] = {}
        wanted: list[tuple[MarketSymbol, Resolution]] = []
        for symbol in symbols:
            found = resolved[symbol.symbol]
            if isinstance(found, ProviderUnavailable):
                raise found
            if isinstance(found, ProviderError):
                errors[symbol.symbol] = found
            else:
                wanted.append((symbol, found))
        if not wanted:
            return QuoteBatch({}, errors)
        ids = dict.fromkeys(r.provider_id for _, r in wanted)
        currencies = sorted({s.currency.lower() for s, _ in wanted})
        params = {
            "ids": ",".join(ids),
            "vs_currencies": ",".join(currencies),
            "include_last_updated_at": "true",
        }
        body = _checked(self.source.get("/simple/price", params).body)
        if not isinstance(body, dict):
            raise ProviderUnavailable("/simple/price did not answer an object", provider=PROVIDER)
        quotes: dict[str, LiveQuote] = {}
        for symbol, resolution in wanted:
            coin_id = resolution.provider_id
            entry = body.get(coin_id)
            price = _price(entry.get(symbol.currency.lower())) if isinstance(entry, dict) else None
            if price is None:
                errors[symbol.symbol] = UnknownSymbol(
                    f"no positive {symbol.currency} price for {coin_id} ({symbol.symbol})",
                    provider=PROVIDER,
                )
                continue
            updated = entry.get("last_updated_at") if isinstance(entry, dict) else None
            quotes[symbol.symbol] = LiveQuote(
                symbol=symbol.symbol,
                price=price,
                currency=symbol.currency,
                as_of=_epoch_seconds(updated) or now,
                source=PROVIDER,
                fetched_at=now,
                note=resolution.reason if symbol.symbol in ambiguous else None,
            )
        return QuoteBatch(quotes, errors)

    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Daily closes (see the module docstring) from ``start`` to ``end`` inclusive.

        Asks up to 00:00Z two days after ``end`` so a finished ``end`` is always closed by
        a later point, whatever the granularity; days outside the range are dropped.
        """
        coin_id = self.resolve(symbol).provider_id
        if end < start:
            return History(symbol.symbol, symbol.currency, PROVIDER, ())
        path = f"/coins/{quote(coin_id, safe='')}/market_chart/range"
        params = {
            "vs_currency": symbol.currency.lower(),
            "from": str(_day_start_ms(start) // 1000),
            "to": str(_day_start_ms(end + timedelta(days=2)) // 1000),
        }
        answer = self.source.get(path, params, ok_statuses=(200, 404))
        if answer.status == 404:
            error = answer.body.get("error") if isinstance(answer.body, dict) else None
            if isinstance(error, str) and "not found" in error.lower():
                raise UnknownSymbol(f"{error} (id {coin_id})", provider=PROVIDER)
            raise ProviderUnavailable(f"HTTP 404 for {path}", provider=PROVIDER)
        body = _checked(answer.body)
        points = body.get("prices") if isinstance(body, dict) else None
        if not isinstance(points, list):
            raise ProviderUnavailable(f"{path} answered no prices", provider=PROVIDER)
        bars = tuple(b for b in daily_closes(points) if start <= b.day <= end)
        return History(symbol.symbol, symbol.currency, PROVIDER, bars)


def daily_closes(points: Iterable[object]) -> list[Bar]:
    """Daily closes from ``[[ms, price], ...]``: the point at ``t`` ms belongs to the UTC
    day of ``t - 1 ms`` (00:00:00Z of D+1 closes D); each day keeps its last point; a day
    counts only if some point reaches its end, so an intraday "now" point never closes a
    day. Malformed points and null or non-positive prices are skipped. Oldest first."""
    last: dict[date, tuple[int, Decimal]] = {}
    reached: int | None = None
    for point in points:
        if not isinstance(point, list) or len(point) != 2:
            continue
        ms = _integer(point[0])
        if ms is None:
            continue
        reached = ms if reached is None else max(reached, ms)
        price = _price(point[1])
        if price is None:
            continue
        day = (_EPOCH + timedelta(milliseconds=ms - 1)).date()
        if day not in last or ms >= last[day][0]:
            last[day] = (ms, price)
    return [
        Bar(day, price)
        for day, (_, price) in sorted(last.items())
        if reached is not None and _day_start_ms(day + timedelta(days=1)) <= reached
    ]


def _chosen(
    symbol: MarketSymbol, ticker: str, ids: tuple[str, ...], choice: _Choice
) -> Resolution | UnknownSymbol:
    """The resolution of a ticker several coins share, with the reason shown to the user."""
    if choice.coin_id is None:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        return UnknownSymbol(
            f"{len(ids)} coins use the ticker {ticker} ({shown}) and none has a market-cap "
            "rank; set an explicit CoinGecko id",
            provider=PROVIDER,
        )
    return Resolution(
        PROVIDER,
        choice.coin_id,
        f"{symbol.symbol} -> {choice.coin_id}: {len(ids)} coins use the ticker {ticker}, "
        f"chose the highest market cap (rank {choice.rank}); "
        "set an explicit CoinGecko id to choose another",
    )


def _checked(body: Any) -> Any:
    """``body``, unless it is CoinGecko's error payload (which may come with HTTP 200)."""
    if isinstance(body, dict):
        status = body.get("status")
        # A coin's entry may be keyed "status" (Status Network's id): it has no error_code.
        if isinstance(status, dict) and ("error_code" in status or "error_message" in status):
            code = status.get("error_code")
            message = str(status.get("error_message") or f"error code {code}")
            if code == 429:
                raise RateLimited(message, provider=PROVIDER)
            raise ProviderUnavailable(message, provider=PROVIDER)
        error = body.get("error")
        if isinstance(error, str):
            raise ProviderUnavailable(error, provider=PROVIDER)
    return body


def _price(value: object) -> Decimal | None:
    """A positive finite price as printed, or None (null, 0, negative, not a number)."""
    if type(value) is int:
        value = Decimal(value)
    if isinstance(value, Decimal) and value.is_finite() and value > 0:
        return value
    return None


def _integer(value: object) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, Decimal) and value.is_finite():
        return int(value)
    return None


def _epoch_seconds(value: object) -> datetime | None:
    seconds = _integer(value)
    if seconds is None or seconds <= 0:
        return None
    return _EPOCH + timedelta(seconds=seconds)


def _day_start_ms(day: date) -> int:
    return (day - _EPOCH.date()).days * _DAY_MS
