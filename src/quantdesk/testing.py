"""Public fakes for tests and benchmarks: a scripted market-data provider and an
in-memory bar store. They satisfy the same Protocols as the real adapters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from quantdesk.domain.errors import ProviderError, UnknownSymbol
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, History, LiveQuote, MarketSymbol, QuoteBatch, Resolution


@dataclass
class FakeProvider:
    """A provider with fixed prices that logs every upstream call it would make.

    ``failures`` are raised by the next calls, in order; ``delay`` makes each call slow
    (so concurrent requests overlap); every price of a symbol is ``prices[symbol]`` and
    its history a close per weekday (or every day for crypto) at that price.
    """

    name: str
    prices: Mapping[str, Decimal]
    types: frozenset[AssetType] = frozenset(AssetType) - {AssetType.UNKNOWN}
    max_batch: int = 50
    delay: float = 0.0
    failures: list[ProviderError] = field(default_factory=list)
    quote_calls: list[list[str]] = field(default_factory=list)
    #: The symbols of each quote call as asked (with their explicit provider ids).
    asked: list[list[MarketSymbol]] = field(default_factory=list)
    history_calls: list[tuple[str, date, date]] = field(default_factory=list)
    #: The last day with a published close (a lagging feed); None: every day.
    published_until: date | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def calls(self) -> int:
        return len(self.quote_calls) + len(self.history_calls)

    def supports(self, symbol: MarketSymbol) -> bool:
        return symbol.asset_type in self.types

    def resolve(self, symbol: MarketSymbol) -> Resolution:
        if symbol.symbol not in self.prices:
            raise UnknownSymbol(f"{symbol.symbol} is not listed", provider=self.name)
        return Resolution(self.name, symbol.symbol, "listed under its own ticker")

    def _call(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        assert len(symbols) <= self.max_batch, "the cache sent a batch over the limit"
        with self._lock:
            self.quote_calls.append([s.symbol for s in symbols])
            self.asked.append(list(symbols))
        self._call()
        quotes: dict[str, LiveQuote] = {}
        errors: dict[str, ProviderError] = {}
        for s in symbols:
            price = self.prices.get(s.symbol)
            if price is None:
                errors[s.symbol] = UnknownSymbol(f"{s.symbol} is not listed", provider=self.name)
            else:
                quotes[s.symbol] = LiveQuote(s.symbol, price, s.currency, now, self.name, now)
        return QuoteBatch(quotes, errors)

    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        with self._lock:
            self.history_calls.append((symbol.symbol, start, end))
        self._call()
        price = self.prices.get(symbol.symbol)
        if price is None:
            raise UnknownSymbol(f"{symbol.symbol} is not listed", provider=self.name)
        every_day = symbol.asset_type is AssetType.CRYPTO
        last = min(end, self.published_until or end)
        bars = [
            Bar(start + timedelta(days=i), price)
            for i in range((last - start).days + 1)
            if every_day or (start + timedelta(days=i)).weekday() < 5
        ]
        return History(symbol.symbol, symbol.currency, self.name, tuple(bars))


class MemoryBarStore:
    """Daily bars and their covered range in memory (the database's job in production)."""

    def __init__(self) -> None:
        self._bars: dict[str, dict[date, tuple[Bar, str]]] = {}
        self._covered: dict[str, tuple[date, date]] = {}
        self._lock = threading.Lock()

    def coverage(self, symbol: MarketSymbol) -> tuple[date, date] | None:
        with self._lock:
            return self._covered.get(symbol.key)

    def bars(self, symbol: MarketSymbol, start: date, end: date) -> list[tuple[Bar, str]]:
        with self._lock:
            stored = self._bars.get(symbol.key, {})
            return [stored[d] for d in sorted(stored) if start <= d <= end]

    def count(self, symbol: MarketSymbol, start: date, end: date) -> int:
        with self._lock:
            return sum(start <= d <= end for d in self._bars.get(symbol.key, {}))

    def save(
        self, symbol: MarketSymbol, history: History, covered: tuple[date, date] | None
    ) -> None:
        key = symbol.key
        with self._lock:
            stored = self._bars.setdefault(key, {})
            for bar in history.bars:
                stored[bar.day] = (bar, history.source)
            if covered is not None:
                self._covered[key] = _union(self._covered.get(key), covered)


def _union(known: tuple[date, date] | None, new: tuple[date, date]) -> tuple[date, date]:
    if known is None:
        return new
    return (min(known[0], new[0]), max(known[1], new[1]))


def symbols(names: Iterable[str], asset_type: AssetType = AssetType.STOCK) -> list[MarketSymbol]:
    return [MarketSymbol(n, asset_type) for n in names]
