"""Upstream calls of the price cache against a naive client (issue 3's measure).

100 users each hold 10 symbols drawn from a 200-symbol universe (half crypto, priced by
a "coingecko" provider; half stocks, by a "yahoo" provider) and refresh their quotes
every minute, at their own second of the minute, for one simulated hour, many at once.
The naive client makes one upstream call per user, provider group and refresh. An
upstream call is one provider call (one HTTP request with the real adapters); the
providers are counting fakes with 20 ms of latency so that requests overlap.

Scenarios, each printed with its counts:
  1. one process, in-process backend, during NYSE hours; the same with the batch
     registry warmed at start from the held symbols (as a server that knows its users'
     holdings does); and the same hour at night, when stock quotes stay fresh until the
     next open (crypto still every TTL);
  2. one process, Redis backend;
  3. 4 processes sharing Redis (25 users each, minutes kept in step by a barrier);
  4. a burst: 100 identical requests for 100 stocks at once (2 batches), in one process
     and across 4 processes on Redis: exactly 2 calls each.

Run: .venv/bin/python benchmarks/price_cache.py [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis

from quantdesk.domain.instruments import AssetType
from quantdesk.market.base import MarketSymbol
from quantdesk.market.cache import CacheBackend, PriceCache
from quantdesk.market.memory import MemoryBackend
from quantdesk.market.redis_backend import RedisBackend
from quantdesk.market.sessions import UsEquityHours
from quantdesk.testing import FakeProvider

USERS = 100
HOLDINGS = 10
MINUTES = 60
LATENCY = 0.02
#: 10:00 New York on a Tuesday: the NYSE is open (every quote lives for the TTL only).
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
#: 22:00 New York the same day: the NYSE is closed (stock quotes live until it opens).
NIGHT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CRYPTO = [MarketSymbol(f"C{i:03d}", AssetType.CRYPTO) for i in range(100)]
STOCKS = [MarketSymbol(f"S{i:03d}", AssetType.STOCK) for i in range(100)]
UNIVERSE = CRYPTO + STOCKS
PRICES = {s.symbol: Decimal(f"{10 + i}.5") for i, s in enumerate(UNIVERSE)}


def providers() -> tuple[FakeProvider, FakeProvider]:
    gecko = FakeProvider("coingecko", PRICES, types=frozenset({AssetType.CRYPTO}), delay=LATENCY)
    yahoo = FakeProvider("yahoo", PRICES, types=frozenset({AssetType.STOCK}), delay=LATENCY)
    return gecko, yahoo


def portfolios(seed: int = 42) -> list[list[MarketSymbol]]:
    rng = random.Random(seed)
    return [rng.sample(UNIVERSE, HOLDINGS) for _ in range(USERS)]


def naive_calls(users: list[list[MarketSymbol]]) -> int:
    """One call per user, provider group and refresh, as the reference design made."""
    groups = sum(len({s.asset_type for s in held}) for held in users)
    return groups * MINUTES


class ThreadClock:
    """Each request runs at its own simulated time (set by the thread that makes it)."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __call__(self) -> datetime:
        now: datetime = self.local.now
        return now


@dataclass
class Run:
    calls: int
    seconds: float
    answered: int
    #: Calls after the first minute (when every symbol has been seen once).
    steady: int = 0


def simulate_hour(
    backend: CacheBackend,
    users: list[list[MarketSymbol]],
    *,
    offsets: list[int],
    barrier: Callable[[], object] | None = None,
    start: datetime = START,
    warm: bool = False,
) -> Run:
    gecko, yahoo = providers()
    clock = ThreadClock()
    cache = PriceCache([gecko, yahoo], backend, clock=clock, hours=UsEquityHours())
    if warm:  # the server registers every held symbol at start (it knows the holdings)
        cache.warm(sorted({s for held in users for s in held}, key=lambda s: s.symbol))
    answered = 0

    def refresh(user: int, minute: int) -> int:
        clock.local.now = start + timedelta(minutes=minute, seconds=offsets[user])
        result = cache.quotes(users[user])
        assert not result.errors, result.errors
        return len(result.quotes)

    began = time.perf_counter()
    warm = 0
    with ThreadPoolExecutor(32) as pool:
        for minute in range(MINUTES):
            if barrier is not None:
                barrier()
            order = sorted(range(len(users)), key=lambda u: offsets[u])
            answered += sum(pool.map(lambda u, m=minute: refresh(u, m), order))
            if minute == 0:
                warm = gecko.calls + yahoo.calls
    total = gecko.calls + yahoo.calls
    return Run(total, time.perf_counter() - began, answered, total - warm)


def burst(backend: CacheBackend, *, threads: int = 100, barrier: object = None) -> int:
    """``threads`` identical requests for the 100 stocks at the same instant."""
    _, yahoo = providers()
    cache = PriceCache([yahoo], backend, clock=lambda: START)
    gate = threading.Barrier(threads)

    def ask(_: int) -> int:
        gate.wait()
        return len(cache.quotes(STOCKS).quotes)

    if barrier is not None:
        barrier.wait()  # type: ignore[attr-defined]
    with ThreadPoolExecutor(threads) as pool:
        assert all(n == len(STOCKS) for n in pool.map(ask, range(threads)))
    return yahoo.calls


def _worker(
    url: str,
    prefix: str,
    part: int,
    parts: int,
    barrier: mp.synchronize.Barrier,
    results: mp.Queue,  # type: ignore[type-arg]
) -> None:
    users = portfolios()
    offsets = [random.Random(u).randrange(60) for u in range(USERS)]
    mine = [u for u in range(USERS) if u % parts == part]
    backend = RedisBackend(redis.Redis.from_url(url), prefix=prefix)
    run = simulate_hour(
        backend,
        [users[u] for u in mine],
        offsets=[offsets[u] for u in mine],
        barrier=barrier.wait,
    )
    burst_backend = RedisBackend(redis.Redis.from_url(url), prefix=prefix + "burst:")
    burst_calls = burst(burst_backend, threads=25, barrier=barrier)
    results.put((run.calls, run.answered, burst_calls, run.steady))


def across_processes(url: str, parts: int = 4) -> tuple[int, int, int, int]:
    prefix = f"quantdesk-bench:{uuid.uuid4().hex}:"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(parts)
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    workers = [
        ctx.Process(target=_worker, args=(url, prefix, i, parts, barrier, results))
        for i in range(parts)
    ]
    for w in workers:
        w.start()
    totals = [results.get(timeout=600) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    _cleanup(url, prefix)
    return (
        sum(t[0] for t in totals),
        sum(t[1] for t in totals),
        sum(t[2] for t in totals),
        sum(t[3] for t in totals),
    )


def _cleanup(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def redis_backend(url: str) -> tuple[RedisBackend, str]:
    prefix = f"quantdesk-bench:{uuid.uuid4().hex}:"
    return RedisBackend(redis.Redis.from_url(url), prefix=prefix), prefix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    args = parser.parse_args()
    users = portfolios()
    offsets = [random.Random(u).randrange(60) for u in range(USERS)]
    naive = naive_calls(users)
    distinct = {s.symbol for held in users for s in held}
    batches = sum(-(-len([s for s in distinct if s.startswith(p)]) // 50) for p in ("C", "S"))
    print(
        f"{USERS} users x {HOLDINGS} symbols from {len(UNIVERSE)} ({len(distinct)} held), "
        f"refresh every minute for {MINUTES} simulated minutes"
    )
    print(
        f"naive client: {naive} upstream calls an hour (one per user, provider group, "
        f"refresh); {USERS * MINUTES} if one call per user and refresh covered both groups"
    )
    print(f"floor: {batches} batches x {MINUTES} TTL windows = {batches * MINUTES} calls")

    def report(name: str, runs: list[Run]) -> None:
        calls = statistics.median(r.calls for r in runs)
        seconds = statistics.median(r.seconds for r in runs)
        steady = statistics.median(r.steady for r in runs) / (MINUTES - 1)
        print(
            f"{name:<34} calls {calls:>6.0f}  ({1 - calls / naive:.2%} fewer than "
            f"{naive}, {1 - calls / (USERS * MINUTES):.2%} fewer than {USERS * MINUTES}; "
            f"{calls / (batches * MINUTES):.3f}x floor; {steady:.2f} calls/min after "
            f"minute 1)  wall {seconds:.2f} s median"
        )

    report(
        "1 process, in-process backend",
        [simulate_hour(MemoryBackend(), users, offsets=offsets) for _ in range(args.repeat)],
    )
    report(
        "same, registry warmed at start",
        [
            simulate_hour(MemoryBackend(), users, offsets=offsets, warm=True)
            for _ in range(args.repeat)
        ],
    )
    report(
        "same, NYSE closed (22:00 New York)",
        [
            simulate_hour(MemoryBackend(), users, offsets=offsets, start=NIGHT)
            for _ in range(args.repeat)
        ],
    )
    runs = []
    for _ in range(args.repeat):
        backend, prefix = redis_backend(args.redis)
        runs.append(simulate_hour(backend, users, offsets=offsets))
        _cleanup(args.redis, prefix)
    report("1 process, Redis backend", runs)
    multi: list[Run] = []
    bursts_multi = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        calls, answered, burst_calls, steady = across_processes(args.redis)
        multi.append(Run(calls, time.perf_counter() - began, answered, steady))
        bursts_multi.append(burst_calls)
    report("4 processes sharing Redis", multi)
    memory_burst = burst(MemoryBackend())
    backend, prefix = redis_backend(args.redis)
    redis_burst = burst(backend)
    _cleanup(args.redis, prefix)
    print(
        "burst of 100 identical requests for 100 stocks (2 batches): "
        f"in-process {memory_burst} calls, Redis {redis_burst} calls, "
        f"4 processes x 25 on Redis {statistics.median(bursts_multi):.0f} calls"
    )


if __name__ == "__main__":
    main()
