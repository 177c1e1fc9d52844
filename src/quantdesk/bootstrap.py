"""The composition root: the only place that wires adapters into services."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from quantdesk.domain.errors import InvalidInput, QuantdeskError
from quantdesk.market.cache import DEFAULT_TTL, CacheBackend, PriceCache
from quantdesk.market.memory import MemoryBackend
from quantdesk.store.database import current_revision, head_revision, make_engine, migrate
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    from quantdesk.market.base import Provider

# The provider adapters (httpx), the Redis backend (redis) and the market calendar
# (numpy, exchange_calendars) are imported by the functions that wire them: every CLI
# command imports this module, and only the price and analytics commands need them.

DEFAULT_USER = "local"


class SchemaOutdated(QuantdeskError):
    """The database is not migrated to the version this quantdesk needs."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_database_url() -> str:
    """``QUANTDESK_DATABASE_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get("QUANTDESK_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(user_data_dir('quantdesk', appauthor=False)) / 'quantdesk.db'}"


def open_database(url: str) -> Engine:
    """An engine at the current schema.

    A SQLite file (embedded mode) is migrated on open; a server database must be
    migrated on purpose with ``quantdesk db upgrade``, never as a side effect.
    """
    engine = make_engine(url)
    if make_url(engine.url).get_backend_name() == "sqlite":
        if current_revision(engine) != head_revision():
            migrate(engine)
        return engine
    current = current_revision(engine)
    if current != head_revision():
        engine.dispose()
        raise SchemaOutdated(
            f"the database is at schema {current or 'none'}, this quantdesk needs "
            f"{head_revision()}: run `quantdesk db upgrade`"
        )
    return engine


def upgrade_database(url: str) -> str:
    """Migrate the database at ``url`` to this version's schema; returns the revision."""
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return head_revision()


def unit_of_work(
    engine: Engine, user: str = DEFAULT_USER, *, market: str | None = None
) -> SqlUnitOfWork:
    """One user's unit of work; ``market`` overrides the user's market for its commands."""
    return SqlUnitOfWork(engine, user, utc_now, market=market)


# market data ------------------------------------------------------------------------------
#: Failover order: each symbol goes to the first provider that prices its asset type
#: (crypto: CoinGecko, then Yahoo; stocks, funds, FX: Yahoo, then Alpha Vantage).
DEFAULT_PROVIDERS = "coingecko,yahoo,alphavantage"
#: The simulated market's default seed: one whose late-2026 closes sit near real levels
#: (BTC ~82k, SPY ~740, AAPL ~300), so the demo looks like a plausible portfolio.
DEFAULT_SIMULATED_SEED = 9


def offline_requested(flag: bool = False) -> bool:
    """``--offline`` or ``QUANTDESK_OFFLINE=1``: no network access at all."""
    return flag or os.environ.get("QUANTDESK_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of seconds, got {raw!r}") from None


@dataclass(frozen=True)
class ProviderKeys:
    """API keys a user gave in Settings: they replace the server's own keys
    (``QUANTDESK_ALPHAVANTAGE_API_KEY``, ``QUANTDESK_COINGECKO_API_KEY``) for that user's
    requests. Never logged (``repr`` hides them)."""

    alpha_vantage: str | None = field(default=None, repr=False)
    coingecko: str | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.alpha_vantage or self.coingecko)


def live_providers(keys: ProviderKeys | None = None) -> list[Provider]:
    """The configured providers in failover order (``QUANTDESK_PROVIDERS``), each at its
    configured base URL; Alpha Vantage only with a key (the user's, else
    ``QUANTDESK_ALPHAVANTAGE_API_KEY``)."""
    from quantdesk.market.providers.alphavantage import AlphaVantage  # noqa: PLC0415
    from quantdesk.market.providers.coingecko import CoinGecko  # noqa: PLC0415
    from quantdesk.market.providers.yahoo import YahooFinance  # noqa: PLC0415

    env = os.environ
    built: list[Provider] = []
    for entry in env.get("QUANTDESK_PROVIDERS", DEFAULT_PROVIDERS).split(","):
        name = entry.strip().lower()
        if not name:
            continue
        if name == "yahoo":
            url = env.get("QUANTDESK_YAHOO_BASE_URL")
            cookie = env.get("QUANTDESK_YAHOO_COOKIE_URL") or None
            built.append(
                YahooFinance(url, cookie_url=cookie) if url else YahooFinance(cookie_url=cookie)
            )
        elif name == "coingecko":
            url = env.get("QUANTDESK_COINGECKO_BASE_URL")
            key = (keys and keys.coingecko) or env.get("QUANTDESK_COINGECKO_API_KEY") or None
            built.append(CoinGecko(url, api_key=key) if url else CoinGecko(api_key=key))
        elif name == "alphavantage":
            key = (keys and keys.alpha_vantage) or env.get("QUANTDESK_ALPHAVANTAGE_API_KEY")
            if not key:
                continue  # needs a key; without one it is simply not in the chain
            url = env.get("QUANTDESK_ALPHAVANTAGE_BASE_URL")
            built.append(AlphaVantage(key, url) if url else AlphaVantage(key))
        else:
            raise InvalidInput(
                f"QUANTDESK_PROVIDERS names an unknown provider {name!r} "
                "(yahoo, coingecko, alphavantage)"
            )
    return built


@dataclass(frozen=True)
class MarketWiring:
    """What a command needs for prices: the cache and, under the simulated market, where
    its closes are stored. Offline, the cache serves only what is stored and has no
    provider to call at all."""

    market: str
    cache: PriceCache
    simulated_closes: SqlMarketData | None
    offline: bool = False


def market_data(
    engine: Engine, *, market: str, offline: bool, keys: ProviderKeys | None = None
) -> MarketWiring:
    """The price cache for ``market`` (``live`` or ``simulated``).

    Live: the configured providers, quotes cached in Redis when ``QUANTDESK_REDIS_URL``
    is set (shared by every process) else in this process with last known quotes in the
    database, daily closes stored for good in the database. Offline (and not simulated):
    no provider is even built, so nothing can reach the network; stored quotes (flagged
    stale once past their TTL) and stored closes are served. Simulated: the local
    simulated market (it never touches the network), its closes stored labelled
    ``simulated``.
    """
    ttl = _env_float("QUANTDESK_QUOTE_TTL", DEFAULT_TTL)
    store = SqlMarketData(engine, utc_now)
    if market == "simulated":
        from quantdesk.market.providers.simulated import SimulatedMarket  # noqa: PLC0415

        seed = int(_env_float("QUANTDESK_SIMULATED_SEED", DEFAULT_SIMULATED_SEED))
        cache = PriceCache([SimulatedMarket(seed)], MemoryBackend(), ttl=ttl, clock=utc_now)
        return MarketWiring(market, cache, store)
    if market != "live":
        raise InvalidInput(f"unknown market {market!r} (live or simulated)")
    if offline:
        cache = PriceCache(
            [], MemoryBackend(durable=store), bars=store, ttl=ttl, clock=utc_now, offline=True
        )
        return MarketWiring(market, cache, None, offline=True)
    from quantdesk.market.redis_backend import RedisBackend  # noqa: PLC0415
    from quantdesk.market.sessions import UsEquityHours  # noqa: PLC0415

    redis_url = os.environ.get("QUANTDESK_REDIS_URL")
    prefix = os.environ.get("QUANTDESK_REDIS_PREFIX") or "quantdesk:"
    backend: CacheBackend = MemoryBackend(durable=store)
    if redis_url:  # Redis down: this process and the database answer until it is back
        from quantdesk.market.resilient import ResilientBackend  # noqa: PLC0415

        shared = RedisBackend.from_url(redis_url, prefix=prefix, durable=store)
        backend = ResilientBackend(shared, backend)
    cache = PriceCache(
        live_providers(keys), backend, bars=store, ttl=ttl, clock=utc_now, hours=UsEquityHours()
    )
    return MarketWiring(market, cache, None)


def warm_up() -> None:
    """Load now, in a server or job worker starting, what its first requests would
    otherwise load on a user's time: the NYSE session calendar that tells whether a quote
    is still fresh (exchange_calendars and pandas: ~1 s of CPU) and the price providers."""
    from quantdesk.market import sessions  # noqa: PLC0415
    from quantdesk.market.providers import alphavantage, coingecko, yahoo  # noqa: F401, PLC0415

    sessions.preload()


def started() -> None:
    """A server or job worker has finished starting: load what its first requests would
    (:func:`warm_up`), then settle the heap (:func:`settle_heap`)."""
    warm_up()
    settle_heap()


def settle_heap() -> None:
    """Collect once, then move every object alive (the libraries' modules, classes and
    functions, the app) out of the cyclic collector's reach (``gc.freeze``), in a server
    or job worker that has finished starting: the collector's full passes then scan only
    what requests and jobs create since. Without it every full pass of an API worker
    scanned its ~340,000 objects of code, which took 100 ms to 1 s of a busy 2-core
    machine and stalled every request of that worker meanwhile (benchmarks/stack.py)."""
    gc.collect()
    gc.freeze()
