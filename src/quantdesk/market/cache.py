"""The price cache: upstream calls that grow with distinct symbols and the TTL, never with
how many users or processes ask.

Quotes
    A quote is fresh for ``ttl`` seconds after it was fetched (default 60), and one
    fetched while its market was closed stays fresh until the market opens again
    (``hours``; see :mod:`quantdesk.market.sessions`). A request
    first takes every fresh quote from the backend. For the rest, each symbol is
    registered once, for good, in a numbered *batch* of its provider (up to
    ``max_batch`` symbols, in order of first registration, shared by every process through
    the backend). Refreshing a batch is one upstream call for all its registered members,
    made by whoever holds the batch's lock; everyone else waiting on that lock then finds
    their quotes fresh and calls nothing. So 100 identical requests arriving at once make
    one call, and a batch costs one call per TTL window however many users hold its
    symbols. Members of a batch are always fetched together, so they expire together.

Unknown symbols and failures
    A provider's :class:`UnknownSymbol` is cached per (provider, symbol and its explicit
    ids) for ``negative_ttl`` (default an hour): nobody asks that provider again
    meanwhile. A symbol a provider failed on (an outage, a partial answer) is not asked of
    it again for ``FAILURE_PAUSE`` seconds (at most the TTL), so the requests that waited
    for that call fail over or serve stale prices instead of calling again in turn.

Failover and staleness
    Providers are tried in the configured order among those that support the symbol's
    asset type. One that answers :class:`RateLimited` with a ``Retry-After`` rests that
    long (shared through the backend). When every provider fails, the last known quote is
    served with ``stale=True`` and its original ``as_of``; without one, the symbol's
    result is the error. A price is never 0.

History
    Daily bars are permanent (:class:`BarStore`): only the missing head or tail of a
    requested range is fetched, and only finished days are kept (today's bar can still
    move; today's price is a quote).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from quantdesk.domain.errors import (
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownSymbol,
)
from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import Bar, History, LiveQuote, MarketSymbol, Provider

DEFAULT_TTL = 60.0
DEFAULT_NEGATIVE_TTL = 3600.0
#: Seconds a provider is not asked again about symbols it just failed on (at most the TTL).
FAILURE_PAUSE = 15.0


class LockTimeout(ProviderUnavailable):
    """Waited too long for another request's upstream call on the same data."""


def _failing(provider: str) -> str:
    """The namespace of a provider's short-lived "failed on this symbol" entries."""
    return f"{provider}#failed"


def _negative_key(symbol: MarketSymbol) -> str:
    """A symbol's negative-cache key: with its explicit ids, so that setting an id lets
    the provider be asked again at once."""
    ids = ",".join(f"{p}={i}" for p, i in symbol.ids)
    return f"{symbol.key}|{ids}" if ids else symbol.key


def encode_symbol(symbol: MarketSymbol) -> str:
    return json.dumps(
        [symbol.symbol, symbol.asset_type.value, symbol.currency, [list(p) for p in symbol.ids]]
    )


def decode_symbol(text: str) -> MarketSymbol:
    name, kind, currency, ids = json.loads(text)
    return MarketSymbol(name, AssetType(kind), currency, tuple((a, b) for a, b in ids))


class CacheBackend(Protocol):
    """Where quotes, negative entries, batch registrations and locks live: one process
    (:class:`~quantdesk.market.memory.MemoryBackend`) or every process sharing Redis
    (:class:`~quantdesk.market.redis_backend.RedisBackend`). Same behaviour, same tests."""

    def get_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        """The last known quote of each key that has one, however old."""
        ...

    def put_quotes(self, quotes: Mapping[str, LiveQuote]) -> None: ...

    def get_unknown(self, provider: str, keys: Sequence[str], now: float) -> set[str]:
        """The keys ``provider`` said it does not know, within their negative TTL."""
        ...

    def put_unknown(
        self, provider: str, keys: Sequence[str], *, now: float, until: float
    ) -> None: ...

    def register(self, provider: str, key: str, symbol: MarketSymbol) -> int:
        """The symbol's permanent position among the provider's registered symbols."""
        ...

    def batch_members(self, provider: str, first: int, count: int) -> list[MarketSymbol]:
        """Registered symbols at positions ``first`` .. ``first + count - 1``."""
        ...

    def lock(
        self, name: str, timeout: float, *, wait: float | None = None
    ) -> AbstractContextManager[None]:
        """Hold ``name`` exclusively (every process) for a call of up to ``timeout`` s;
        wait up to ``wait`` s (default ``timeout``) if another holds it, then raise
        :class:`LockTimeout`."""
        ...

    def resting_until(self, provider: str) -> float:
        """Until when (epoch seconds) ``provider`` rests after a rate limit; 0 if not."""
        ...

    def rest(self, provider: str, *, now: float, until: float) -> None: ...


class TradingHours(Protocol):
    """When a symbol's market is closed (see :mod:`quantdesk.market.sessions`)."""

    def closed_until(self, symbol: MarketSymbol, at: datetime) -> datetime | None: ...


class BarStore(Protocol):
    """Permanent daily bars per symbol, with the contiguous range already fetched."""

    def coverage(self, symbol: MarketSymbol) -> tuple[date, date] | None: ...

    def bars(self, symbol: MarketSymbol, start: date, end: date) -> list[tuple[Bar, str]]:
        """Stored closes in the range, oldest first, with each bar's source."""
        ...

    def count(self, symbol: MarketSymbol, start: date, end: date) -> int:
        """How many days of the range have a stored close."""
        ...

    def save(
        self, symbol: MarketSymbol, history: History, covered: tuple[date, date] | None
    ) -> None:
        """Store the closes; widen the stored range by ``covered`` (None: nothing settled)."""
        ...


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """Quotes for what could be priced, and an error for each symbol that could not."""

    quotes: dict[str, LiveQuote]
    errors: dict[str, ProviderError]


@dataclass
class _Fetch:
    """Bookkeeping of one request's remaining symbols."""

    wanted: dict[str, MarketSymbol]
    errors: dict[str, list[ProviderError]]


class PriceCache:
    """Quotes and history from ``providers`` (in failover order) through ``backend``."""

    def __init__(
        self,
        providers: Sequence[Provider],
        backend: CacheBackend,
        *,
        bars: BarStore | None = None,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        clock: Callable[[], datetime],
        lock_timeout: float = 60.0,
        hours: TradingHours | None = None,
        offline: bool = False,
    ) -> None:
        #: Offline: no provider is ever called; only what is stored is served.
        self.offline = offline
        self.providers = [] if offline else list(providers)
        self.backend = backend
        self.bar_store = bars
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.clock = clock
        self.lock_timeout = lock_timeout
        self.hours = hours

    # quotes ---------------------------------------------------------------------------
    def warm(self, symbols: Sequence[MarketSymbol]) -> None:
        """Register symbols in their providers' batches without fetching anything: a
        server that knows every user's holdings registers them at start, so the first
        minute's batches are as full as every later one's."""
        for provider in self.providers:
            for symbol in symbols:
                if provider.supports(symbol):
                    self.backend.register(provider.name, symbol.key, symbol)

    def _fresh(self, symbol: MarketSymbol, quote: LiveQuote, now: datetime) -> bool:
        """Fetched within the TTL, or while its market was closed and still is."""
        if (now - quote.fetched_at).total_seconds() < self.ttl:
            return True
        if self.hours is None:
            return False
        reopens = self.hours.closed_until(symbol, quote.fetched_at)
        return reopens is not None and now < reopens

    def quotes(self, symbols: Sequence[MarketSymbol]) -> QuoteResult:
        """The latest quote of every symbol, fetching only what is not fresh."""
        wanted = {s.key: s for s in symbols}
        now = self.clock()
        known = self.backend.get_quotes(list(wanted))
        result = {k: q for k, q in known.items() if self._fresh(wanted[k], q, now)}
        todo = _Fetch({k: s for k, s in wanted.items() if k not in result}, {})
        for provider in self.providers:
            if not todo.wanted:
                break
            mine = {k: s for k, s in todo.wanted.items() if provider.supports(s)}
            if not mine:
                continue
            mine = self._askable(provider, mine, todo, now)
            got = self._from_provider(provider, mine, todo) if mine else {}
            result.update(got)
            for key in got:
                del todo.wanted[key]
        errors: dict[str, ProviderError] = {}
        for key, symbol in todo.wanted.items():
            last = known.get(key)  # read for every symbol at the start of the request
            if last is not None:
                result[key] = replace(last, stale=True)
                continue
            if self.offline:
                errors[symbol.symbol] = ProviderUnavailable(
                    f"offline, and no price of {symbol.symbol} is stored"
                )
                continue
            errors[symbol.symbol] = _summarize(symbol, todo.errors.get(key, []))
        return QuoteResult(
            {wanted[k].symbol: q for k, q in result.items()},
            errors,
        )

    def _askable(
        self, provider: Provider, mine: dict[str, MarketSymbol], todo: _Fetch, now: datetime
    ) -> dict[str, MarketSymbol]:
        """The symbols worth asking ``provider`` about now: not while it rests after a rate
        limit, not those it said it does not know, not those it failed on moments ago (so
        an outage or a partial answer is not asked again by every waiting request)."""
        if self.backend.resting_until(provider.name) > now.timestamp():
            error = ProviderUnavailable("resting after a rate limit", provider=provider.name)
            for key in mine:
                todo.errors.setdefault(key, []).append(error)
            return {}
        negative = {_negative_key(s): k for k, s in mine.items()}
        moment = now.timestamp()
        for found in self.backend.get_unknown(provider.name, list(negative), moment):
            key = negative[found]
            todo.errors.setdefault(key, []).append(
                UnknownSymbol(f"{mine[key].symbol} is not known", provider=provider.name)
            )
            del mine[key]
        for key in self.backend.get_unknown(_failing(provider.name), list(mine), moment):
            todo.errors.setdefault(key, []).append(
                ProviderUnavailable(
                    f"failed on {mine[key].symbol} moments ago", provider=provider.name
                )
            )
            del mine[key]
        return mine

    def _from_provider(
        self, provider: Provider, mine: dict[str, MarketSymbol], todo: _Fetch
    ) -> dict[str, LiveQuote]:
        """Fresh quotes for ``mine`` from ``provider``, one locked call per batch."""
        size = max(1, provider.max_batch)
        by_batch: dict[int, list[str]] = {}
        for key, symbol in mine.items():
            slot = self.backend.register(provider.name, key, symbol)
            by_batch.setdefault(slot // size, []).append(key)
        got: dict[str, LiveQuote] = {}
        for batch, keys in sorted(by_batch.items()):
            try:
                with self.backend.lock(f"quotes:{provider.name}:{batch}", self.lock_timeout):
                    got.update(self._locked_batch(provider, batch * size, size, keys, todo))
            except LockTimeout:
                busy = ProviderUnavailable(
                    f"still busy with another request for these symbols after "
                    f"{self.lock_timeout:.0f} s",
                    provider=provider.name,
                )
                for key in keys:
                    todo.errors.setdefault(key, []).append(busy)
        return got

    def _locked_batch(
        self, provider: Provider, first: int, size: int, keys: list[str], todo: _Fetch
    ) -> dict[str, LiveQuote]:
        """Under the batch's lock: what another request fetched while we waited, else one
        call for the batch."""
        now = self.clock()
        current = self.backend.get_quotes(keys)
        fresh = {k: q for k, q in current.items() if self._fresh(todo.wanted[k], q, now)}
        stale = {k: todo.wanted[k] for k in keys if k not in fresh}
        if stale:
            stale = self._askable(provider, stale, todo, now)
        if stale:
            fresh.update(self._refresh_batch(provider, first, size, list(stale), todo, now))
        return fresh

    def _refresh_batch(
        self,
        provider: Provider,
        first: int,
        size: int,
        keys: list[str],
        todo: _Fetch,
        now: datetime,
    ) -> dict[str, LiveQuote]:
        """One upstream call for every member of a batch (so they expire together)."""
        members = {s.key: s for s in self.backend.batch_members(provider.name, first, size)}
        negative = {_negative_key(s): k for k, s in members.items()}
        unknown = {
            negative[n]
            for n in self.backend.get_unknown(provider.name, list(negative), now.timestamp())
        }
        members = {k: s for k, s in members.items() if k not in unknown}
        members.update({k: todo.wanted[k] for k in keys})  # the ids asked for now win
        moment = now.timestamp()
        try:
            answer = provider.quotes(list(members.values()), now=now)
        except ProviderUnavailable as failure:
            if isinstance(failure, RateLimited) and failure.retry_after:
                self.backend.rest(provider.name, now=moment, until=moment + failure.retry_after)
            self.backend.put_unknown(
                _failing(provider.name), list(members), now=moment, until=moment + self._pause
            )
            for key in keys:
                todo.errors.setdefault(key, []).append(failure)
            return {}
        by_symbol = {s.symbol: k for k, s in members.items()}
        fetched: dict[str, LiveQuote] = {}
        for name, quote in answer.quotes.items():
            found = by_symbol.get(name)
            if found is not None and quote.price > 0:
                fetched[found] = replace(quote, fetched_at=now, stale=False)
        self.backend.put_quotes(fetched)
        missing: list[str] = []
        for name, error in answer.errors.items():
            found = by_symbol.get(name)
            if found is None:
                continue
            if isinstance(error, UnknownSymbol):
                missing.append(_negative_key(members[found]))
            if found in keys:
                todo.errors.setdefault(found, []).append(error)
        for key in keys:
            if key not in fetched and key not in todo.errors:
                todo.errors.setdefault(key, []).append(
                    ProviderUnavailable("gave no price", provider=provider.name)
                )
        unpriced = [k for k in members if k not in fetched]
        if unpriced:
            self.backend.put_unknown(
                _failing(provider.name), unpriced, now=moment, until=moment + self._pause
            )
        if missing:
            self.backend.put_unknown(
                provider.name, missing, now=moment, until=moment + self.negative_ttl
            )
        return {k: q for k, q in fetched.items() if k in keys}

    @property
    def _pause(self) -> float:
        """How long a provider is not asked again about symbols it just failed on."""
        return min(self.ttl, FAILURE_PAUSE)

    # history --------------------------------------------------------------------------
    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Daily closes from ``start`` to ``end``, up to the last finished day (yesterday,
        UTC): stored ones, plus only the missing head and tail fetched. Today's bar can
        still move, so it is never stored: today's price is a quote."""
        last_final = min(end, self.clock().date() - timedelta(days=1))
        if self.bar_store is None:
            return self._fetch_history(symbol, start, last_final)
        if not self.offline:
            self._fill(symbol, start, last_final)
        stored = self.bar_store.bars(symbol, start, last_final)
        sources = sorted({source for _, source in stored})
        return History(
            symbol.symbol, symbol.currency, ",".join(sources), tuple(bar for bar, _ in stored)
        )

    def stored_closes(self, symbol: MarketSymbol, start: date, end: date) -> int:
        """:meth:`history` without reading the closes back (a refresh needs only their
        count): the missing head and tail fetched and stored the same way."""
        last_final = min(end, self.clock().date() - timedelta(days=1))
        if self.bar_store is None:
            return len(self._fetch_history(symbol, start, last_final).bars)
        if not self.offline:
            self._fill(symbol, start, last_final)
        return self.bar_store.count(symbol, start, last_final)

    def _fill(self, symbol: MarketSymbol, start: date, last_final: date) -> None:
        """Fetch and store the parts of [start, last_final] not stored yet. Checked first
        without the lock: a range already stored, or whose unsettled tail was asked for
        within the TTL, takes no lock at all (a refresh of a held portfolio, mostly).

        Only closes never stored are waited for while another request fetches them. A
        recent tail (the last few days, re-asked once per TTL while a weekend or a late
        close leaves it unsettled) is fetched by the request that takes the lock; the
        others go on with the closes stored, as a stale quote is served while one request
        refreshes it. Before, every analytics compute needing the symbol (the benchmark's:
        all of them) waited on that upstream call once a TTL."""
        assert self.bar_store is not None
        covered = self.bar_store.coverage(symbol)
        gaps = self._gaps_to_fetch(symbol, start, last_final, covered)
        if not gaps:
            return
        tail_only = covered is not None and all(
            lo == covered[1] + timedelta(days=1) and lo >= last_final - timedelta(days=RECENT_DAYS)
            for lo, _ in gaps
        )
        try:
            with self.backend.lock(
                f"history:{symbol.key}", self.lock_timeout, wait=0.0 if tail_only else None
            ):
                self._fetch_gaps(symbol, start, last_final)
        except LockTimeout:
            if not tail_only:
                raise
            return  # another request is asking for the tail now: the stored closes serve

    def _fetch_gaps(self, symbol: MarketSymbol, start: date, last_final: date) -> None:
        """:meth:`_fill`'s fetch, holding the symbol's lock."""
        assert self.bar_store is not None
        now = self.clock().timestamp()
        for lo, hi in self._gaps_to_fetch(
            symbol, start, last_final, self.bar_store.coverage(symbol)
        ):
            # A recent tail stays unsettled (a close may come late, and a weekend has
            # none): asked once per TTL by every process, not on every refresh.
            fetched = self._fetch_history(symbol, lo, hi)
            final = History(
                fetched.symbol,
                fetched.currency,
                fetched.source,
                tuple(b for b in fetched.bars if lo <= b.day <= hi),
            )
            settled = _covered(lo, hi, final, last_final)
            self.bar_store.save(symbol, final, settled)
            if settled is None or settled[1] < hi:
                self.backend.put_unknown(
                    TAIL_ASKED, [_tail(symbol, lo, hi)], now=now, until=now + self.ttl
                )

    def _gaps_to_fetch(
        self,
        symbol: MarketSymbol,
        start: date,
        last_final: date,
        covered: tuple[date, date] | None,
    ) -> list[tuple[date, date]]:
        """The parts of the range missing from ``covered`` (the symbol's stored range),
        less the tails asked for within the TTL."""
        gaps = _missing(covered, start, last_final)
        if not gaps:
            return []
        tails = [_tail(symbol, lo, hi) for lo, hi in gaps]
        asked = self.backend.get_unknown(TAIL_ASKED, tails, self.clock().timestamp())
        return [gap for gap, tail in zip(gaps, tails, strict=True) if tail not in asked]

    def _fetch_history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        errors: list[ProviderError] = []
        for provider in self.providers:
            if not provider.supports(symbol):
                continue
            try:
                return provider.history(symbol, start, end)
            except ProviderError as error:
                errors.append(error)
        raise _summarize(symbol, errors)


#: The pseudo-provider under which recently asked, still unsettled tails of a history are
#: remembered for a TTL (in the negative cache every process shares).
TAIL_ASKED = "history-tail"

#: Days before yesterday within which a provider may still publish a close late (a fund's
#: NAV, a lagging feed): a recent range counts as stored only up to its last close.
RECENT_DAYS = 5


def _covered(lo: date, hi: date, fetched: History, yesterday: date) -> tuple[date, date] | None:
    """The range a fetch settles for good. An old range is settled whole (no close in it
    means no trading); a recent one only up to its last close, so a close published late
    is fetched next time rather than missing for ever (weekends cost a re-ask)."""
    if hi < yesterday - timedelta(days=RECENT_DAYS):
        return (lo, hi)
    if not fetched.bars:
        return None
    return (lo, max(b.day for b in fetched.bars))


def _tail(symbol: MarketSymbol, lo: date, hi: date) -> str:
    return f"{symbol.key}:{lo}:{hi}"


def _missing(covered: tuple[date, date] | None, start: date, end: date) -> list[tuple[date, date]]:
    """The parts of [start, end] not yet stored. A gap runs up to the stored range (even
    past the request) so that what is stored stays one contiguous range."""
    if start > end:
        return []
    if covered is None:
        return [(start, end)]
    first, last = covered
    gaps: list[tuple[date, date]] = []
    if start < first:
        gaps.append((start, first - timedelta(days=1)))
    if end > last:
        gaps.append((last + timedelta(days=1), end))
    return gaps


def _summarize(symbol: MarketSymbol, errors: list[ProviderError]) -> ProviderError:
    """One error for a symbol no provider priced: unknown only if every provider that
    answered said so, else unavailable (which may pass)."""
    if not errors:
        return UnknownSymbol(
            f"no configured provider prices {symbol.asset_type.value} {symbol.symbol}"
        )
    detail = "; ".join(str(e) for e in errors)
    if all(isinstance(e, UnknownSymbol) for e in errors):
        return UnknownSymbol(f"{symbol.symbol} is unknown ({detail})")
    return ProviderUnavailable(f"no price for {symbol.symbol} ({detail})")


class LocalLocks:
    """Named re-entrant-free locks within one process (the in-process backend's, the
    closes cache's loads). A name's lock is kept only while a thread holds or waits for
    it, so names that come and go (the closes cache's, one per price version) do not
    pile up in a long-running process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        #: name -> its lock and how many threads hold or wait for it
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    def __len__(self) -> int:
        """How many names are held or waited for now."""
        with self._guard:
            return len(self._locks)

    @contextmanager
    def hold(self, name: Hashable, wait: float) -> Iterator[None]:
        """Hold ``name``; wait up to ``wait`` s for it (-1: as long as it takes)."""
        with self._guard:
            lock, users = self._locks.get(name, (threading.Lock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            if not lock.acquire(timeout=wait):
                raise LockTimeout(f"timed out waiting for {name}")
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._guard:
                lock, users = self._locks[name]
                if users == 1:
                    del self._locks[name]
                else:
                    self._locks[name] = (lock, users - 1)
