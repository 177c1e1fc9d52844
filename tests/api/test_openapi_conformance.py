"""The API keeps the promises of its own OpenAPI document: schemathesis sends generated
requests (valid and invalid) to every operation, in process, as a signed-in script, and
each answer must be no server error and must match the spec (status code, content type,
body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.api.conftest import PASSWORD, User, script, seed_portfolio
from tests.conftest import clock

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Bounded so the file runs in well under a minute and a half on two cores, and the same
#: examples every run (a failure here is always reproducible).
BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)

#: They end the credentials they are called with: each of their requests gets its own.
LOGOUT = {"method": "POST", "path": "/api/v1/auth/logout"}
REVOKE = {"method": "DELETE", "path": "/api/v1/auth/tokens/{token_id}"}


def _served_spec_app() -> FastAPI:
    """An app for its /openapi.json only (the document does not depend on the database:
    the engine never connects)."""
    engine = make_engine("sqlite://")
    return create_app(ApiSettings(database_url="sqlite://"), engine=engine, clock=clock)


#: Loaded when the module is imported, and each request sent to a fixture's app
#: (``call_and_validate(app=...)``): schemathesis.pytest.from_fixture would load it from a
#: fixture, but its lazy tests set ``request.node._nodeid``, which pytest 9 removed.
schema = schemathesis.openapi.from_asgi("/openapi.json", _served_spec_app())


def _offline_app(path: Path) -> tuple[FastAPI, Engine]:
    """SQLite and offline (generated requests never reach a market data provider), with
    a script's ledger to fuzz (an account, a buy and a holding: ids 1 exist)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    settings = ApiSettings(database_url=str(engine.url), offline=True)
    app = create_app(settings, engine=engine, clock=clock)
    app.state.fuzzer = script(app, "fuzzer")
    seed_portfolio(app.state.fuzzer)
    return app, engine


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """One database for every operation, as a deployment sees them one after another."""
    app, engine = _offline_app(tmp_path_factory.mktemp("conformance") / "api.db")
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def revoking_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Its own database: the failed logins the other operations generate would soon
    refuse (429) the logins that mint each request's token here."""
    app, engine = _offline_app(tmp_path_factory.mktemp("revoking") / "api.db")
    yield app
    engine.dispose()


@schema.exclude(**LOGOUT).exclude(**REVOKE).parametrize()
@BOUNDED
def test_every_answer_matches_the_spec(case: Any, offline_app: FastAPI) -> None:
    """No generated request gets a 5xx or an answer the OpenAPI document does not declare."""
    fuzzer: User = offline_app.state.fuzzer
    case.call_and_validate(app=offline_app, headers=fuzzer.headers, checks=CHECKS)


@schema.include(**LOGOUT).parametrize()
@BOUNDED
def test_logout_matches_the_spec(case: Any, revoking_app: FastAPI) -> None:
    """Logout, each request with a token of its own, keeps the spec too."""
    case.call_and_validate(app=revoking_app, headers=_fresh_token(revoking_app), checks=CHECKS)


@schema.include(**REVOKE).parametrize()
@BOUNDED
def test_token_revocation_matches_the_spec(case: Any, revoking_app: FastAPI) -> None:
    """Token revocation, each request with a token of its own, keeps the spec too."""
    case.call_and_validate(app=revoking_app, headers=_fresh_token(revoking_app), checks=CHECKS)


def _fresh_token(app: FastAPI) -> dict[str, str]:
    """A new API token of the fuzzer's, from a new session (a revocation generated earlier
    may have ended any older one)."""
    client = TestClient(app)
    answer = client.post("/api/v1/auth/login", json={"username": "fuzzer", "password": PASSWORD})
    assert 200 == answer.status_code, answer.text
    made = client.post(
        "/api/v1/auth/tokens",
        json={"name": "revocable"},
        headers={"X-CSRF-Token": answer.json()["csrf_token"]},
    )
    assert 201 == made.status_code, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Any]:
    """Send one request, as the seeded script of a fresh database, through the spec's
    operation, and check its answer as the generated ones are; returns the answer."""
    app, engine = _offline_app(tmp_path / "api.db")
    fuzzer: User = app.state.fuzzer

    def send(method: str, path: str, status: int, **parts: Any) -> Any:
        headers = {**fuzzer.headers, **parts.pop("headers", {})}
        case = schema[path][method].Case(**parts)
        answer = case.call_and_validate(app=app, headers=headers, checks=CHECKS)
        assert status == answer.status_code, answer.text
        return answer

    yield send
    engine.dispose()


def test_the_answers_of_a_working_session_match_the_spec(walk: Any) -> None:
    """The successful answers generated requests seldom reach (a valid entry, a holding
    edited with its version, an upload, analytics) match the spec too."""
    account = {"account_id": 1}
    entry = {"date": "2026-03-02", "type": "buy", "symbol": "MSFT", "asset_type": "stock"}
    walk("POST", "/api/v1/accounts", 201, body={"name": "IRA", "kind": "retirement"})
    walk(
        "PATCH",
        "/api/v1/accounts/{account_id}",
        200,
        path_parameters=account,
        body={"institution": "Fidelity"},
    )
    made = walk(
        "POST",
        "/api/v1/transactions",
        201,
        body={**account, **entry, "quantity": "4", "price": "400"},
    ).json()
    walk(
        "PATCH",
        "/api/v1/transactions/{transaction_id}",
        200,
        path_parameters={"transaction_id": made[0]["id"]},
        body={"price": "410"},
    )
    sold = walk(
        "POST",
        "/api/v1/transactions",
        201,
        body={
            **account,
            **entry,
            "date": "2026-04-01",
            "type": "sell",
            "quantity": "1",
            "price": "420",
        },
    )
    walk("GET", "/api/v1/transactions", 200, query={"symbol": "MSFT", "limit": 1})
    walk("GET", "/api/v1/holdings", 200)
    walk("GET", "/api/v1/holdings", 200, query={"consolidated": "true"})
    etag = walk(
        "GET", "/api/v1/holdings/{holding_id}", 200, path_parameters={"holding_id": "1-1"}
    ).headers["etag"][0]
    edit = {"path_parameters": {"holding_id": "1-1"}, "body": {"quantity": "12"}}
    walk("PATCH", "/api/v1/holdings/{holding_id}", 200, headers={"If-Match": etag}, **edit)
    walk("PATCH", "/api/v1/holdings/{holding_id}", 409, headers={"If-Match": etag}, **edit)
    walk("GET", "/api/v1/lots", 200, query={"symbol": "MSFT"})
    walk("GET", "/api/v1/gains", 200, query={"year": 2026})
    for path in ("/api/v1/analytics", "/api/v1/analytics/history", "/api/v1/analytics/correlation"):
        walk("GET", path, 200)
    walk("POST", "/api/v1/analytics/what-if", 200, body={"changes": {"AAPL": 5}})
    trades = "date,type,symbol,quantity,price,asset_type\n2026-05-04,buy,VTI,10,250,etf\n"
    for dry_run, status in (("true", 200), ("false", 200)):
        walk(
            "POST",
            "/api/v1/uploads",
            status,
            media_type="multipart/form-data",
            body={"file": trades.encode(), "account": "Broker", "dry_run": dry_run},
        )
    walk(
        "POST",
        "/api/v1/uploads",
        422,
        media_type="multipart/form-data",
        body={"file": trades.replace(",10,", ",ten,").encode(), "account": "Broker"},
    )
    closes = "date,symbol,close,asset_type\n2026-11-23,AAPL,160,stock\n"
    walk(
        "POST",
        "/api/v1/prices/closes",
        200,
        media_type="multipart/form-data",
        body={"file": closes.encode()},
    )
    walk("GET", "/api/v1/prices/{symbol}", 200, path_parameters={"symbol": "AAPL"})
    walk("GET", "/api/v1/prices/quotes", 200, query={"symbols": "AAPL,MSFT"})
    walk("POST", "/api/v1/prices/refresh", 200)
    walk("POST", "/api/v1/instruments/resolve", 200, body={"symbol": "NVDA", "asset_type": "stock"})
    walk("GET", "/api/v1/instruments", 200, query={"q": "A"})
    walk("GET", "/api/v1/formats", 200)
    walk("GET", "/api/v1/auth/me", 200)
    walk("GET", "/api/v1/auth/tokens", 200)
    walk(
        "DELETE",
        "/api/v1/transactions/{transaction_id}",
        204,
        path_parameters={"transaction_id": sold.json()[0]["id"]},
    )
    walk("DELETE", "/api/v1/accounts/{account_id}", 204, path_parameters={"account_id": 2})
    walk("GET", "/healthz", 200)
    walk("GET", "/metrics", 200)
