"""An API over the test database of each backend, and users signed in to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.conftest import clock
from tests.private_postgres import postgres  # noqa: F401 - the fault tests' fixture

PASSWORD = "correct horse battery"


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(
        ApiSettings(database_url=str(engine.url), offline=True), engine=engine, clock=clock
    )


@pytest.fixture
def sqlite_app(tmp_path: Any) -> Iterator[FastAPI]:
    """SQLite only: for tests about the HTTP surface rather than about storage."""
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    migrate(engine)
    yield create_app(
        ApiSettings(database_url=str(engine.url), offline=True), engine=engine, clock=clock
    )
    engine.dispose()


@dataclass
class User:
    """A signed-in browser (cookie + CSRF header on writes) or script (bearer token)."""

    name: str
    client: TestClient
    headers: dict[str, str]

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.patch(url, headers=headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)

    def request(self, method: str, url: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)


def browser(app: FastAPI, name: str, password: str = PASSWORD) -> User:
    """Register ``name`` and sign in with a session cookie."""
    client = TestClient(app)
    assert (
        client.post(
            "/api/v1/auth/register", json={"username": name, "password": password}
        ).status_code
        == 201
    )
    answer = client.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    return User(name, client, {"X-CSRF-Token": answer.json()["csrf_token"]})


def script(app: FastAPI, name: str, password: str = PASSWORD) -> User:
    """Register ``name`` and use an API token (no cookie at all)."""
    signed_in = browser(app, name, password)
    answer = signed_in.post("/api/v1/auth/tokens", json={"name": "script"})
    assert answer.status_code == 201, answer.text
    return User(name, TestClient(app), {"Authorization": f"Bearer {answer.json()['token']}"})


def seed_portfolio(user: User) -> dict[str, Any]:
    """An account with a buy, a deposit and a holding: ids of everything made."""
    account = user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"}).json()
    made = user.post(
        "/api/v1/transactions",
        json={
            "account_id": account["id"],
            "date": "2026-01-05",
            "type": "buy",
            "symbol": "AAPL",
            "asset_type": "stock",
            "quantity": "10",
            "price": "150",
        },
    )
    assert made.status_code == 201, made.text
    holdings = user.get("/api/v1/holdings").json()["holdings"]
    return {
        "account": account,
        "transaction": made.json()[0],
        "holding": holdings[0],
    }
