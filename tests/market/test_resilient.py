"""Redis down means slower, not wrong: a Redis server of the test's own is killed and
started again under the shared cache, which keeps answering from this process and the
database meanwhile and goes back to Redis once it returns."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from quantdesk.domain.market import LiveQuote
from quantdesk.market.memory import MemoryBackend
from quantdesk.market.redis_backend import RedisBackend
from quantdesk.market.resilient import ResilientBackend

NOW = datetime(2026, 12, 4, 21, tzinfo=UTC)


def _quote(symbol: str, price: str) -> LiveQuote:
    return LiveQuote(symbol, Decimal(price), "USD", NOW, "yahoo", NOW)


class Durable:
    """The database's last quotes (what SqlMarketData keeps), in a dict."""

    def __init__(self) -> None:
        self.quotes: dict[str, LiveQuote] = {}

    def load_quotes(self, keys: Sequence[str]) -> dict[str, LiveQuote]:
        return {k: self.quotes[k] for k in keys if k in self.quotes}

    def save_quotes(self, quotes: Mapping[str, LiveQuote]) -> None:
        self.quotes.update(quotes)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RedisProcess:
    """redis-server on a free loopback port, killed and restarted by the test."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no goodbye to the clients
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    found = RedisProcess(tmp_path)
    found.start()
    yield found
    if found.process is not None and found.process.poll() is None:
        found.kill()


def test_redis_killed_and_restarted_under_the_cache(server: RedisProcess) -> None:
    durable, clock = Durable(), Clock()
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
    shared = RedisBackend(client, prefix="t:", durable=durable)
    cache = ResilientBackend(shared, MemoryBackend(durable=durable), clock=clock)

    cache.put_quotes({"AAPL": _quote("AAPL", "286.53")})
    assert client.hexists("t:quotes", "AAPL")  # while up, the shared cache holds it

    server.kill()
    # down: the last quotes still answer (from the database), and writes are kept
    assert Decimal("286.53") == cache.get_quotes(["AAPL"])["AAPL"].price
    assert not cache.redis_up
    cache.put_quotes({"MSFT": _quote("MSFT", "710.80")})
    assert {"AAPL", "MSFT"} == set(cache.get_quotes(["AAPL", "MSFT"]))
    with cache.lock("quotes:yahoo", timeout=1):  # coalescing within this process
        pass

    server.start()  # back, empty (it keeps nothing on disk)
    clock.now += 1  # still inside the wait: Redis is not asked yet
    cache.put_quotes({"NVDA": _quote("NVDA", "164.30")})
    assert not client.hexists("t:quotes", "NVDA")
    clock.now += 5  # the wait is over: Redis is used again, no restart of quantdesk
    cache.put_quotes({"GOOGL": _quote("GOOGL", "145.60")})
    assert cache.redis_up
    assert client.hexists("t:quotes", "GOOGL")
    assert Decimal("145.60") == cache.get_quotes(["GOOGL"])["GOOGL"].price
    client.close()


def test_a_failure_that_is_not_a_connection_is_not_hidden(server: RedisProcess) -> None:
    """A bug (a wrong command, a bad argument) raises: the fallback is for outages only."""
    client = redis.Redis.from_url(server.url)
    shared = RedisBackend(client, prefix="t:")
    cache = ResilientBackend(shared, MemoryBackend())
    client.set("t:quotes", "not a hash")  # the shared key of the wrong type
    with pytest.raises(redis.exceptions.ResponseError):
        cache.get_quotes(["AAPL"])
    assert cache.redis_up
    client.close()
