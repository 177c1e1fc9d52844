"""The shared cache backend: every API worker and job worker on one Redis.

Keys live under a prefix (default ``quantdesk:``). Quotes are one hash of JSON
(``quotes``); negative entries are keys with an expiry; a provider's batch registry is a
hash (key -> position) plus a list (position -> symbol) filled by one Lua script, so
positions are permanent and identical in every process; locks are redis-py's ``Lock``
(``SET NX PX`` with a token, released only by its owner, expiring if the owner dies).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from decimal import Decimal

import redis

from quantdesk.market.base import LiveQuote, MarketSymbol
from quantdesk.market.cache import LockTimeout, decode_symbol, encode_symbol
from quantdesk.market.memory import QuoteStore

_REGISTER = """
local slot = redis.call('HGET', KEYS[1], ARGV[1])
if slot then return tonumber(slot) end
local position = redis.call('RPUSH', KEYS[2], ARGV[2]) - 1
redis.call('HSET', KEYS[1], ARGV[1], position)
return position
"""


def quote_to_json(quote: LiveQuote) -> str:
    return json.dumps(
        {
            "symbol": quote.symbol,
            "price": str(quote.price),
            "currency": quote.currency,
            "as_of": quote.as_of.isoformat(),
            "source": quote.source,
            "fetched_at": quote.fetched_at.isoformat(),
            "note": quote.note,
        }
    )


def quote_from_json(text: str | bytes) -> LiveQuote:
    data = json.loads(text)
    return LiveQuote(
        data["symbol"],
        Decimal(data["price"]),
        data["currency"],
        datetime.fromisoformat(data["as_of"]),
        data["source"],
        datetime.fromisoformat(data["fetched_at"]),
        note=data.get("note"),
    )


def _seconds(now: float, until: float) -> int:
    """A Redis expiry for an entry valid until ``until`` on the cache's clock."""
    return max(1, int(until - now) + 1)


class RedisBackend:
    """The same behaviour as the in-process backend, shared by every process on Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "quantdesk:",
        durable: QuoteStore | None = None,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        #: The database's last quotes: written through (positions read them there) and
        #: read when Redis has none (after a Redis restart, stale prices still exist).
        self.durable = durable
        self._register = client.register_script(_REGISTER)
        #: Positions are permanent once given, so each process remembers the ones it saw
        #: instead of asking Redis again on every request.
        self._slots: dict[tuple[str, str], int] = {}

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "quantdesk:", durable: QuoteStore | None = None
    ) -> RedisBackend:
        # bounded waits: a Redis that stops answering is an outage (the resilient
        # backend falls back), not a request that hangs
        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=3.0)
        return cls(client, prefix=prefix, durable=durable)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def get_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        if not keys:
            return {}
        values = self.redis.hmget(self._k("quotes"), list(keys))
        found = {k: quote_from_json(v) for k, v in zip(keys, values, strict=True) if v}
        missing = [k for k in keys if k not in found]
        if missing and self.durable is not None:
            found.update(self.durable.load_quotes(missing))
        return found

    def put_quotes(self, quotes: Mapping[str, LiveQuote]) -> None:
        if not quotes:
            return
        self.redis.hset(self._k("quotes"), mapping={k: quote_to_json(q) for k, q in quotes.items()})
        if self.durable is not None:
            self.durable.save_quotes(quotes)

    def get_unknown(self, provider: str, keys: Sequence[str], now: float) -> set[str]:
        if not keys:
            return set()
        values = self.redis.mget([self._k("unknown", provider, k) for k in keys])
        return {k for k, v in zip(keys, values, strict=True) if v and float(v) > now}

    def put_unknown(self, provider: str, keys: Sequence[str], *, now: float, until: float) -> None:
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.set(self._k("unknown", provider, key), repr(until), ex=_seconds(now, until))
        pipe.execute()

    def register(self, provider: str, key: str, symbol: MarketSymbol) -> int:
        known = self._slots.get((provider, key))
        if known is not None:
            return known
        slot = int(
            self._register(
                keys=[self._k("slots", provider), self._k("members", provider)],
                args=[key, encode_symbol(symbol)],
            )
        )
        self._slots[(provider, key)] = slot
        return slot

    def batch_members(self, provider: str, first: int, count: int) -> list[MarketSymbol]:
        values = self.redis.lrange(self._k("members", provider), first, first + count - 1)
        return [decode_symbol(v.decode() if isinstance(v, bytes) else v) for v in values]

    @contextmanager
    def lock(self, name: str, timeout: float, *, wait: float | None = None) -> Iterator[None]:
        lock = self.redis.lock(
            self._k("lock", name),
            timeout=max(3 * timeout, 1.0),  # outlives one slow call with its retries
            blocking_timeout=timeout if wait is None else wait,
            sleep=0.005,
        )
        if not lock.acquire():
            raise LockTimeout(f"timed out waiting for {name}")
        try:
            yield
        finally:
            # expired while held (another may have it now): nothing of ours to release
            with suppress(redis.exceptions.LockError):
                lock.release()

    def resting_until(self, provider: str) -> float:
        value = self.redis.get(self._k("rest", provider))
        return float(value) if value else 0.0

    def rest(self, provider: str, *, now: float, until: float) -> None:
        self.redis.set(self._k("rest", provider), repr(until), ex=_seconds(now, until))
