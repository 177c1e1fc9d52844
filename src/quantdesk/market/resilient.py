"""Redis down means slower, not wrong: the shared cache backend with a local fallback.

:class:`ResilientBackend` sends every cache operation to Redis while it answers. When a
call fails because Redis cannot be reached (connection refused, reset, timed out), it logs
once, answers that call and every call for the next :data:`RETRY_AFTER` seconds from the
fallback (this process's memory, with the last quotes in the database: what a
single-process deployment uses), then tries Redis again: when Redis is back, it is used
again without a restart. Nothing is wrong meanwhile, only slower: quotes another process
fetched are not seen (they are fetched again, or read from the database), and coalescing
and batching hold within this process only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from quantdesk.market.base import LiveQuote, MarketSymbol
from quantdesk.market.cache import CacheBackend

log = logging.getLogger(__name__)
#: Seconds on the fallback after Redis failed, before Redis is tried again.
RETRY_AFTER = 5.0
#: Failures that mean Redis cannot be reached (not a bug in a call): the fallback answers.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
T = TypeVar("T")


class ResilientBackend:
    """``primary`` (Redis) while it answers, else ``fallback`` for a while."""

    def __init__(
        self,
        primary: CacheBackend,
        fallback: CacheBackend,
        *,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_after = retry_after
        self.clock = clock
        self.down_until = 0.0

    @property
    def redis_up(self) -> bool:
        return self.clock() >= self.down_until

    def _failed(self, error: BaseException) -> None:
        if self.redis_up:
            log.warning(
                "Redis unreachable (%s): serving from this process and the database for "
                "%.0f s, then trying Redis again",
                error,
                self.retry_after,
            )
        self.down_until = self.clock() + self.retry_after

    def _call(self, use: Callable[[CacheBackend], T]) -> T:
        if self.redis_up:
            try:
                return use(self.primary)
            except UNREACHABLE as error:
                self._failed(error)
        return use(self.fallback)

    def get_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        return self._call(lambda b: b.get_quotes(keys))

    def put_quotes(self, quotes: Mapping[str, LiveQuote]) -> None:
        self._call(lambda b: b.put_quotes(quotes))

    def get_unknown(self, provider: str, keys: Sequence[str], now: float) -> set[str]:
        return self._call(lambda b: b.get_unknown(provider, keys, now))

    def put_unknown(self, provider: str, keys: Sequence[str], *, now: float, until: float) -> None:
        self._call(lambda b: b.put_unknown(provider, keys, now=now, until=until))

    def register(self, provider: str, key: str, symbol: MarketSymbol) -> int:
        return self._call(lambda b: b.register(provider, key, symbol))

    def batch_members(self, provider: str, first: int, count: int) -> list[MarketSymbol]:
        return self._call(lambda b: b.batch_members(provider, first, count))

    def resting_until(self, provider: str) -> float:
        return self._call(lambda b: b.resting_until(provider))

    def rest(self, provider: str, *, now: float, until: float) -> None:
        self._call(lambda b: b.rest(provider, now=now, until=until))

    @contextmanager
    def lock(self, name: str, timeout: float, *, wait: float | None = None) -> Iterator[None]:
        held: Any = None
        if self.redis_up:
            held = self.primary.lock(name, timeout, wait=wait)
            try:
                held.__enter__()
            except UNREACHABLE as error:
                self._failed(error)
                held = None
        if held is None:
            with self.fallback.lock(name, timeout, wait=wait):
                yield
            return
        try:
            yield
        finally:
            try:
                held.__exit__(None, None, None)
            except UNREACHABLE as error:  # the lock expires by itself in Redis
                self._failed(error)
