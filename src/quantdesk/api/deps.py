"""What a route depends on: the wired services and the authenticated caller.

A caller is either a script with ``Authorization: Bearer <API token>`` or a browser with
the session cookie; a browser's writes must echo the session's CSRF token in
``X-CSRF-Token`` (a cross-site form cannot read it, so it cannot forge the write).
Everything a route touches goes through :attr:`Caller.uow`, which is scoped to the
caller's user id: no route takes a user id from the request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from quantdesk import bootstrap
from quantdesk.api.problems import Forbidden
from quantdesk.api.settings import ApiSettings
from quantdesk.domain.errors import NotAuthenticated
from quantdesk.market.cache import PriceCache
from quantdesk.services import settings as user_settings
from quantdesk.services.auth import (
    API_TOKEN,
    SESSION,
    Principal,
    authenticate,
    csrf_matches,
    digest,
)
from quantdesk.services.prices import MARKETS
from quantdesk.store.known_instruments import KnownInstruments
from quantdesk.store.market_quotes import MarketQuotes
from quantdesk.store.repositories import RequestMemo
from quantdesk.store.unit_of_work import AuthUnitOfWork, UserUnitOfWork

SESSION_COOKIE = "quantdesk_session"
CSRF_COOKIE = "quantdesk_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


@dataclass
class Services:
    """The composition the API runs on: one engine, one price cache per market."""

    engine: Engine
    settings: ApiSettings
    clock: Callable[[], datetime] = bootstrap.utc_now
    _markets: dict[tuple[str, bootstrap.ProviderKeys | None], bootstrap.MarketWiring] = field(
        default_factory=dict
    )
    #: Guards ``caches``: taken on the event loop (``get_caller``), so only ever briefly.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Guards ``_markets``: held while a market is built (a live one takes a fifth of a
    #: second: its providers' HTTP clients), which must not stop the event loop meanwhile.
    _markets_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Per-app caches by name (analytics answers, what-if engines): never shared between
    #: two apps in one process, which may serve different databases.
    caches: dict[str, Any] = field(default_factory=dict)

    def cache(self, name: str, make: Callable[[], T]) -> T:
        with self._lock:
            found = self.caches.get(name)
            if found is None:
                found = self.caches[name] = make()
            return cast("T", found)

    @property
    def auth(self) -> AuthUnitOfWork:
        return AuthUnitOfWork(self.engine)

    def market(
        self, name: str, keys: bootstrap.ProviderKeys | None = None
    ) -> bootstrap.MarketWiring:
        """The price cache of a market, built once and shared by every request (its
        coalescing and TTL work across users); users who gave their own provider keys
        share one built with those keys (their calls count against their quotas)."""
        with self._markets_lock:
            wiring = self._markets.get((name, keys))
            if wiring is None:
                wiring = bootstrap.market_data(
                    self.engine, market=name, offline=self.settings.offline, keys=keys
                )
                self._markets[(name, keys)] = wiring
            return wiring

    def build_markets(self) -> None:
        """Build both markets' price caches now (a server starting), not on the time of
        the first requests that need one (:meth:`market`)."""
        for name in MARKETS:
            self.market(name)


async def get_services(request: Request) -> Services:  # async: no thread for this
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


@dataclass
class Caller:
    principal: Principal
    services: Services
    #: What this request's transactions share (``RequestMemo``), with the markets'
    #: latest prices this app keeps.
    memo: RequestMemo = field(init=False)

    def __post_init__(self) -> None:
        self.memo = RequestMemo(
            market=self.services.cache("market-quotes", MarketQuotes),
            instruments=self.services.cache("known-instruments", KnownInstruments),
        )

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def uow(self) -> UserUnitOfWork:
        return UserUnitOfWork(
            self.services.engine,
            self.principal.user_id,
            stored_market=self.principal.market,
            memo=self.memo,
        )

    def market(self) -> bootstrap.MarketWiring:
        return self.services.market(self.principal.market, self.provider_keys())

    def settings_cache(self) -> user_settings.SettingsCache:
        """This app's recently read user settings (dropped by PATCH /settings)."""
        return self.services.cache("user-settings", user_settings.SettingsCache)

    def user_settings(self) -> user_settings.UserSettings:
        """The caller's settings: remembered, else read (blocks: off the event loop)."""
        return self.settings_cache().load(
            self.user_id, lambda: user_settings.read_settings(self.uow)
        )

    def provider_keys(self) -> bootstrap.ProviderKeys | None:
        """The price provider keys the user gave in Settings, if any (blocks on a
        database read when their settings are not in memory: call off the event loop)."""
        if self.principal.market != "live":
            return None  # the simulated market calls no provider
        found = self.user_settings()
        keys = bootstrap.ProviderKeys(found.alpha_vantage_key, found.coingecko_key)
        return keys or None

    def price_cache(self) -> PriceCache | None:
        """The user's market's cache; None offline (stored prices only)."""
        wiring = self.market()
        return None if wiring.offline else wiring.cache


_bearer = HTTPBearer(auto_error=False, description="An API token (POST /api/v1/auth/tokens).")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The browser session (POST /api/v1/auth/login); writes also need X-CSRF-Token.",
)


#: How long this process reuses a successful authentication for reads (GET, HEAD and
#: OPTIONS): the Principal, with the user's ledger revision and market, by the token's
#: SHA-256. 0 turns it off. A write is always authenticated against the database, and
#: while one runs and when it ends, every cached authentication of its user is dropped:
#: a logout, a revoked token, an edit or a change of market made through this process
#: is seen at once by the user's next request. A change made elsewhere (the CLI or another
#: server process on the same database: an import, ``users set-password`` ending the
#: user's tokens) is seen by reads within this many seconds, and a token that expires is
#: still accepted by reads for up to this many seconds.
PRINCIPAL_TTL_SECONDS = 2.0
#: The part of that time after which one read of a token looks it up again while the
#: others are still served the cached one (the reads of a busy token do not all miss at
#: once when it expires).
_RENEW_AFTER = 0.75


class _Principals:
    """Recent successful authentications by (kind, token hash), for reads only."""

    def __init__(
        self,
        ttl: float | None = None,
        *,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl  # None: PRINCIPAL_TTL_SECONDS, read when asked
        self.size = size
        self.clock = clock
        #: (kind, token hash) -> (principal, monotonic time and app clock time of the lookup)
        self.items: dict[tuple[str, str], tuple[Principal, float, datetime]] = {}
        #: The keys a read is looking up again (see _RENEW_AFTER).
        self.renewing: set[tuple[str, str]] = set()
        #: Writes in progress by user id; a user with one is never served from here.
        self.writing: dict[int, int] = {}
        #: A counter moved by every write's start and end, and the value it took at the
        #: last start or end of a write by each user: a lookup from the database is kept
        #: only when no write of its user started or ended while it ran.
        self.generation = 0
        self.written: dict[int, int] = {}
        self.lock = threading.Lock()

    def _ttl(self) -> float:
        return PRINCIPAL_TTL_SECONDS if self.ttl is None else self.ttl

    def get(self, key: tuple[str, str], now: datetime) -> Principal | None:
        """The cached authentication; None: look it up in the database, then
        :meth:`put` it (or :meth:`drop` it if refused)."""
        ttl = self._ttl()
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            principal, at, at_clock = found
            age = self.clock() - at
            if (
                principal.user_id in self.writing
                or not 0 <= age < ttl
                # the app's clock too: a test (or a clock) moved past an expiry misses
                or not timedelta(0) <= now - at_clock < timedelta(seconds=ttl)
            ):
                del self.items[key]
                self.renewing.discard(key)
                return None
            if age >= ttl * _RENEW_AFTER and key not in self.renewing:
                self.renewing.add(key)  # this read looks it up again; the others wait not
                return None
            return principal

    def mark(self) -> int:
        """Taken before a lookup in the database, handed to :meth:`put` after it."""
        with self.lock:
            return self.generation

    def put(self, key: tuple[str, str], principal: Principal, mark: int, now: datetime) -> None:
        if self._ttl() <= 0:
            return
        with self.lock:
            self.renewing.discard(key)
            user = principal.user_id
            if user in self.writing or self.written.get(user, -1) > mark:
                return  # a write of this user started or ended meanwhile: maybe stale
            if len(self.items) >= self.size:
                self.items.clear()  # a burst of distinct tokens: start again
            self.items[key] = (principal, self.clock(), now)

    def drop(self, key: tuple[str, str]) -> None:
        """Forget a token the database refused (expired, revoked)."""
        with self.lock:
            self.items.pop(key, None)
            self.renewing.discard(key)

    def begin_write(self, user_id: int) -> None:
        with self.lock:
            self.writing[user_id] = self.writing.get(user_id, 0) + 1
            self._written(user_id)

    def end_write(self, user_id: int) -> None:
        with self.lock:
            left = self.writing.get(user_id, 0) - 1
            if left > 0:
                self.writing[user_id] = left
            else:
                self.writing.pop(user_id, None)
            self._written(user_id)

    def _written(self, user_id: int) -> None:
        self.generation += 1
        self.written[user_id] = self.generation
        for key in [k for k, v in self.items.items() if v[0].user_id == user_id]:
            del self.items[key]


async def _authenticated(services: Services, token: str, kind: str) -> Principal:
    """The caller of ``token``, read from the database (in the threadpool), with the
    settings read in the same statement kept for the caller's reads of them."""
    cache = services.cache("user-settings", user_settings.SettingsCache)
    mark = cache.mark()
    principal = await run_in_threadpool(
        authenticate, services.auth, token, kind=kind, clock=services.clock
    )
    if principal.settings is not None:
        chosen = user_settings.UserSettings(**principal.settings)
        cache.offer(principal.user_id, chosen, mark)
    return principal


#: Where a write's request notes its user for :class:`EndWrites` (in the ASGI scope).
_WRITER = "quantdesk.writer"


async def get_caller(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    """The authenticated caller. A read is served from the event loop when its token was
    authenticated within PRINCIPAL_TTL_SECONDS (else the database is asked in the
    threadpool); a write always asks the database, and drops its user's cached
    authentications when it starts and, by :class:`EndWrites`, when its request ends
    (after its commit).

    Not a dependency with ``yield``: FastAPI runs one in an exit stack of its own,
    about a fifth of its work on the event loop for every request."""
    header = request.headers.get("authorization")
    if header is not None:
        if bearer is None or not bearer.credentials:
            raise NotAuthenticated("the Authorization header takes 'Bearer <API token>'")
        token, kind = bearer.credentials, API_TOKEN
    elif session:
        token, kind = session, SESSION
    else:
        raise NotAuthenticated(
            "sign in (POST /api/v1/auth/login) or send 'Authorization: Bearer <API token>'"
        )
    principals = services.cache("principals", _Principals)
    if request.method in _SAFE_METHODS:
        now = services.clock()
        key = (kind, digest(token))
        principal = principals.get(key, now)
        if principal is None:
            mark = principals.mark()
            try:
                principal = await _authenticated(services, token, kind)
            except BaseException:
                principals.drop(key)
                raise
            principals.put(key, principal, mark, now)
        return Caller(principal, services)
    principal = await _authenticated(services, token, kind)
    if kind == SESSION and not csrf_matches(principal, request.headers.get(CSRF_HEADER)):
        raise Forbidden(
            f"a write from a browser session needs the {CSRF_HEADER} header with the "
            "session's CSRF token (returned by login, also in the quantdesk_csrf cookie)"
        )
    if _WRITER not in request.scope:  # once a request
        principals.begin_write(principal.user_id)
        request.scope[_WRITER] = (principals, principal.user_id)
    return Caller(principal, services)


class EndWrites:
    """ASGI middleware: when a request whose write began (:func:`get_caller`) ends,
    however it ends, its user's cached authentications are dropped again and reads of
    them may be cached anew."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            writer = scope.pop(_WRITER, None)
            if writer is not None:
                principals, user_id = writer
                principals.end_write(user_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
ServicesDep = Annotated[Services, Depends(get_services)]
