"""The FastAPI application: routers under ``/api/v1``, problems for every error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from quantdesk import __version__, bootstrap
from quantdesk.api import problems, web
from quantdesk.api.deps import EndWrites, Services
from quantdesk.api.limits import BodyLimit
from quantdesk.api.routes import (
    accounts,
    analytics,
    auth,
    connections,
    holdings,
    instruments,
    jobs,
    ledger,
    prices,
    reports,
    suggestions,
    system,
    transactions,
    uploads,
)
from quantdesk.api.routes import settings as user_settings
from quantdesk.api.settings import ApiSettings
from quantdesk.services.holdings import Holding

API_PREFIX = "/api/v1"


def _render_stale(current: Any) -> dict[str, Any] | None:
    if isinstance(current, Holding):
        return holdings.holding_out(current).model_dump(mode="json")
    return None


def create_app(
    settings: ApiSettings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = bootstrap.utc_now,
) -> FastAPI:
    """The API over the database at ``settings.database_url`` (or ``engine``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.request_threads > 0:  # the limiter of this process's event loop
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = settings.request_threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="quantdesk",
        version=__version__,
        summary="One ledger for every account and asset, with institutional analytics.",
        description=(
            "Every request acts for its authenticated user only: a browser session "
            "(cookie, writes need X-CSRF-Token) or an API token (Authorization: Bearer). "
            "Errors are RFC 9457 problem details with stable `type` values."
        ),
        responses=problems.ERROR_RESPONSES,
    )
    app.state.services = Services(
        engine or bootstrap.open_database(settings.database_url), settings, clock
    )
    app.state.render_stale = _render_stale
    problems.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(EndWrites)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        accounts,
        instruments,
        transactions,
        holdings,
        ledger,
        uploads,
        analytics,
        prices,
        user_settings,
        reports,
        suggestions,
        jobs,
        connections,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(system.router)
    web.install(app, settings.web_dist or web.default_dist())  # last: it claims every other path
    return app


def from_environment() -> FastAPI:
    """The app of one worker of ``quantdesk serve --workers N``: the database at
    ``QUANTDESK_DATABASE_URL`` (``QUANTDESK_OFFLINE=1``: stored prices only)."""
    app = create_app(
        ApiSettings.from_env(
            bootstrap.default_database_url(), offline=bootstrap.offline_requested()
        )
    )
    started(app)
    return app


def started(app: FastAPI) -> None:
    """A server's app is built and about to serve: build its markets' price caches now
    rather than in its first requests (every request that reads prices waited for the
    first one's build, a fifth of a second of CPU per worker), then settle the heap
    (``bootstrap.started``: what is alive now stays alive)."""
    services = app.state.services
    assert isinstance(services, Services)
    services.build_markets()
    bootstrap.started()
