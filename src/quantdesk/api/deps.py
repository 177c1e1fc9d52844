"""What a route depends on: the wired services and the authenticated caller.

A caller is either a script with ``Authorization: Bearer <API token>`` or a browser with
the session cookie; a browser's writes must echo the session's CSRF token in
``X-CSRF-Token`` (a cross-site form cannot read it, so it cannot forge the write).
Everything a route touches goes through :attr:`Caller.uow`, which is scoped to the
caller's user id: no route takes a user id from the request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from quantdesk import bootstrap
from quantdesk.api.problems import Forbidden
from quantdesk.api.settings import ApiSettings
from quantdesk.domain.errors import NotAuthenticated
from quantdesk.market.cache import PriceCache
from quantdesk.services.auth import API_TOKEN, SESSION, Principal, authenticate, csrf_matches
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
    _markets: dict[str, bootstrap.MarketWiring] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
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

    def market(self, name: str) -> bootstrap.MarketWiring:
        """The price cache of a market, built once and shared by every request (its
        coalescing and TTL work across users)."""
        with self._lock:
            wiring = self._markets.get(name)
            if wiring is None:
                wiring = bootstrap.market_data(
                    self.engine, market=name, offline=self.settings.offline
                )
                self._markets[name] = wiring
            return wiring


def get_services(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


@dataclass
class Caller:
    principal: Principal
    services: Services

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def uow(self) -> UserUnitOfWork:
        return UserUnitOfWork(self.services.engine, self.principal.user_id)

    def market(self) -> bootstrap.MarketWiring:
        return self.services.market(self.principal.market)

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


def get_caller(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    header = request.headers.get("authorization")
    if header is not None:
        if bearer is None or not bearer.credentials:
            raise NotAuthenticated("the Authorization header takes 'Bearer <API token>'")
        principal = authenticate(
            services.auth, bearer.credentials, kind=API_TOKEN, clock=services.clock
        )
        return Caller(principal, services)
    if not session:
        raise NotAuthenticated(
            "sign in (POST /api/v1/auth/login) or send 'Authorization: Bearer <API token>'"
        )
    principal = authenticate(services.auth, session, kind=SESSION, clock=services.clock)
    if request.method not in _SAFE_METHODS and not csrf_matches(
        principal, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(
            f"a write from a browser session needs the {CSRF_HEADER} header with the "
            "session's CSRF token (returned by login, also in the quantdesk_csrf cookie)"
        )
    return Caller(principal, services)


CallerDep = Annotated[Caller, Depends(get_caller)]
ServicesDep = Annotated[Services, Depends(get_services)]
