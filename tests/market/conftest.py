"""Market fixtures: a local upstream server and the recorded provider responses."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from quantdesk.market.cache import CacheBackend
from quantdesk.market.memory import MemoryBackend
from quantdesk.market.redis_backend import RedisBackend
from tests.market.upstream import Upstream

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "formats" / "price-apis"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


def recorded(name: str) -> Any:
    """The body of a recorded real response under ../shared/formats/price-apis/.

    node-yahoo-finance2 recordings wrap the body as ``response.bodyJson``; JKorf's
    ``*.txt`` files start with three harness lines. Skips when the samples are absent.
    """
    path = RECORDED / name
    if not path.exists():
        pytest.skip(f"recorded sample {path} is not present")
    text = path.read_text(encoding="utf-8")
    if name.endswith(".txt"):
        text = "\n".join(text.splitlines()[3:])
    data = json.loads(text)
    if isinstance(data, dict) and "response" in data and "request" in data:
        return data["response"]["bodyJson"]
    return data


REDIS_URL_VARIABLE = "QUANTDESK_TEST_REDIS_URL"


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> Iterator[CacheBackend]:
    """Each cache backend with the same behaviour: in-process, and Redis for real."""
    if request.param == "memory":
        yield MemoryBackend()
        return
    yield from _redis_backend()


def _redis_backend() -> Iterator[RedisBackend]:
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        pytest.skip(f"{REDIS_URL_VARIABLE} is not set")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is unreachable under CI: {error}")
        pytest.skip(f"Redis unreachable: {error}")
    prefix = f"quantdesk-test:{uuid.uuid4().hex}:"
    yield RedisBackend(client, prefix=prefix)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_backend() -> Iterator[RedisBackend]:
    """The Redis backend alone (for tests about sharing between processes)."""
    yield from _redis_backend()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
