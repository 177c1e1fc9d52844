"""The embedded cache backend: one process's memory, with last known quotes kept in the
database (through a :class:`QuoteStore`) so a restart can still serve them as stale."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from quantdesk.market.base import LiveQuote, MarketSymbol
from quantdesk.market.cache import LocalLocks


class QuoteStore(Protocol):
    """Durable last known quotes (the ``quotes`` table in embedded mode)."""

    def load_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]: ...

    def save_quotes(self, quotes: Mapping[str, LiveQuote]) -> None: ...


class MemoryBackend:
    """Quotes, negative entries, batch registrations and locks in this process."""

    def __init__(self, durable: QuoteStore | None = None) -> None:
        self.durable = durable
        self._guard = threading.Lock()
        self._quotes: dict[str, LiveQuote] = {}
        self._unknown: dict[tuple[str, str], float] = {}
        self._slots: dict[tuple[str, str], int] = {}
        self._members: dict[str, list[MarketSymbol]] = {}
        self._rest: dict[str, float] = {}
        self._locks = LocalLocks()

    def get_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        with self._guard:
            found = {k: self._quotes[k] for k in keys if k in self._quotes}
        missing = [k for k in keys if k not in found]
        if missing and self.durable is not None:
            loaded = self.durable.load_quotes(missing)
            with self._guard:
                for key, quote in loaded.items():
                    self._quotes.setdefault(key, quote)
            found.update(loaded)
        return found

    def put_quotes(self, quotes: Mapping[str, LiveQuote]) -> None:
        if not quotes:
            return
        with self._guard:
            self._quotes.update(quotes)
        if self.durable is not None:
            self.durable.save_quotes(quotes)

    def get_unknown(self, provider: str, keys: Sequence[str], now: float) -> set[str]:
        with self._guard:
            return {k for k in keys if self._unknown.get((provider, k), 0.0) > now}

    def put_unknown(self, provider: str, keys: Sequence[str], *, now: float, until: float) -> None:
        with self._guard:
            for key in keys:
                self._unknown[(provider, key)] = until

    def register(self, provider: str, key: str, symbol: MarketSymbol) -> int:
        with self._guard:
            slot = self._slots.get((provider, key))
            if slot is None:
                members = self._members.setdefault(provider, [])
                slot = len(members)
                members.append(symbol)
                self._slots[(provider, key)] = slot
            return slot

    def batch_members(self, provider: str, first: int, count: int) -> list[MarketSymbol]:
        with self._guard:
            return list(self._members.get(provider, [])[first : first + count])

    def lock(
        self, name: str, timeout: float, *, wait: float | None = None
    ) -> AbstractContextManager[None]:
        return self._locks.hold(name, timeout if wait is None else wait)

    def resting_until(self, provider: str) -> float:
        with self._guard:
            return self._rest.get(provider, 0.0)

    def rest(self, provider: str, *, now: float, until: float) -> None:
        with self._guard:
            self._rest[provider] = max(until, self._rest.get(provider, 0.0))
