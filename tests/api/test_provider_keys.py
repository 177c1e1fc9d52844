"""A price provider key a user gives in Settings is the one quantdesk sends for that
user's requests (and another user's requests keep the server's own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.api.conftest import User, browser
from tests.conftest import clock
from tests.market.upstream import Reply, Request, Upstream

USER_KEY = "CG-user-key-1234"
SERVER_KEY = "CG-server-key-9999"


PRICES = {"bitcoin": 91234.56, "ethereum": 3012.5, "solana": 141.25}


def _prices(request: Request) -> Reply:
    """CoinGecko's simple/price shape for the ids asked."""
    at = int(clock().timestamp())
    asked = request.params.get("ids", "").split(",")
    return Reply({i: {"usd": PRICES[i], "last_updated_at": at} for i in asked if i in PRICES})


@pytest.fixture
def coingecko(monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    """CoinGecko's API on 127.0.0.1, the only provider, with the server's own demo key."""
    with Upstream() as upstream:
        upstream.route(
            "/api/v3/coins/list",
            Reply(
                [
                    {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
                    {"id": "ethereum", "symbol": "eth", "name": "Ethereum"},
                    {"id": "solana", "symbol": "sol", "name": "Solana"},
                ]
            ),
        )
        upstream.route("/api/v3/simple/price", _prices)
        monkeypatch.setenv("QUANTDESK_PROVIDERS", "coingecko")
        monkeypatch.setenv("QUANTDESK_COINGECKO_BASE_URL", f"{upstream.url}/api/v3")
        monkeypatch.setenv("QUANTDESK_COINGECKO_API_KEY", SERVER_KEY)
        monkeypatch.delenv("QUANTDESK_OFFLINE", raising=False)
        monkeypatch.delenv("QUANTDESK_REDIS_URL", raising=False)
        yield upstream


@pytest.fixture
def live_app(tmp_path: Path, coingecko: Upstream) -> Iterator[FastAPI]:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    migrate(engine)
    yield create_app(ApiSettings(database_url=str(engine.url)), engine=engine, clock=clock)
    engine.dispose()


def _holder_of(app: FastAPI, name: str, *symbols: str) -> User:
    user = browser(app, name)
    assert 200 == user.put("/api/v1/prices/market", json={"market": "live"}).status_code
    account = user.post("/api/v1/accounts", json={"name": "Wallet", "kind": "wallet"}).json()
    for symbol in symbols:
        made = user.post(
            "/api/v1/transactions",
            json={
                "account_id": account["id"],
                "date": "2026-01-05",
                "type": "buy",
                "symbol": symbol,
                "asset_type": "crypto",
                "quantity": "0.5",
                "price": "1000",
            },
        )
        assert 201 == made.status_code, made.text
    return user


def _keys_sent(upstream: Upstream) -> set[str]:
    return {
        r.headers.get("x-cg-demo-api-key", "")
        for r in upstream.requests
        if r.path == "/api/v3/simple/price"
    }


def test_a_users_own_coingecko_key_is_sent_for_their_quotes(
    live_app: FastAPI, coingecko: Upstream
) -> None:
    """Before the user gives a key the server's is sent; after PATCH /settings their own
    is, at once (for a quote not already cached); another user's quotes still go with
    the server's key."""
    alice = _holder_of(live_app, "alice", "BTC", "ETH")
    assert 200 == alice.get("/api/v1/prices/quotes", params={"symbols": "BTC"}).status_code
    assert {SERVER_KEY} == _keys_sent(coingecko)
    saved = alice.patch("/api/v1/settings", json={"coingecko_key": USER_KEY})
    assert 200 == saved.status_code, saved.text
    assert USER_KEY not in saved.text  # never returned in clear
    coingecko.requests.clear()
    quotes = alice.get("/api/v1/prices/quotes", params={"symbols": "ETH"})
    assert 200 == quotes.status_code and "3012.5" in quotes.text
    assert {USER_KEY} == _keys_sent(coingecko)
    bob = _holder_of(live_app, "bob", "SOL")
    coingecko.requests.clear()
    assert 200 == bob.get("/api/v1/prices/quotes", params={"symbols": "SOL"}).status_code
    assert {SERVER_KEY} == _keys_sent(coingecko)


def test_a_provider_key_is_stored_encrypted_and_still_used(
    live_app: FastAPI, coingecko: Upstream
) -> None:
    """The key never lies in the database in clear text, and the quotes still carry it."""
    ann = _holder_of(live_app, "ann", "BTC")
    assert 200 == ann.patch("/api/v1/settings", json={"coingecko_key": USER_KEY}).status_code
    engine = live_app.state.services.engine
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT coingecko_key FROM user_settings")).scalar_one()
    assert USER_KEY not in stored and stored.startswith("gAAAA")
    assert 200 == ann.post("/api/v1/prices/refresh").status_code
    assert USER_KEY in _keys_sent(coingecko)
