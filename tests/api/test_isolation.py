"""Every query is scoped to the authenticated user, proved by walking the route table.

The routes come from the app itself, so a new route cannot escape: each one is either
public, or in :data:`REACH` (how user B reaches for user A's data through it, and what B
must get), or in :data:`OWN_ONLY` (it names nothing but the caller's own data); a route in
none of them fails the test. B's bodies are valid, so a 404 is never a 422 in disguise
(FastAPI validates a body before the route runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.api.conftest import User, browser, seed_portfolio

PROBLEM = "application/problem+json"
NOT_AUTHENTICATED = "urn:quantdesk:problem:not-authenticated"

#: Routes anyone may call: signing up and in, liveness, metrics.
PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/auth/session"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
}
#: FastAPI's own pages (plain routes, not API routes): the schema and its viewers; and
#: the web dashboard (its build's assets and the page itself), which needs no sign-in to
#: load: every API call it makes does.
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
DASHBOARD = {"/assets", "/{path:path}"}

CSV = "date,type,symbol,quantity,price,fees,asset_type\n2026-02-02,buy,MSFT,1,400,0,stock\n"


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every API route the app serves, however deeply routers nest."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }


def plain_routes(app: FastAPI) -> set[str]:
    """Paths of the routes that are not API routes."""
    return {
        context.path
        for context in iter_route_contexts(app.routes)
        if not isinstance(context.original_route, APIRoute)
    }


@dataclass(frozen=True)
class Seeded:
    """Ids of one user's data."""

    account_id: int
    account_name: str
    transaction_id: int
    holding_id: str
    holding_version: str
    instrument_id: int
    lot_id: int
    token_id: int
    connection_id: int

    def path(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "connection_id": self.connection_id,
            "transaction_id": self.transaction_id,
            "holding_id": self.holding_id,
            "token_id": self.token_id,
            "instrument_id": self.instrument_id,
            "symbol": "AAPL",
        }


@dataclass(frozen=True)
class Attempt:
    """One request B makes for A's data: ``request(a, b)`` gives the TestClient keyword
    arguments, and ``path`` (if any) the route's parameters in place of A's ids."""

    expected: int
    request: Callable[[Seeded, Seeded], dict[str, Any]] = lambda _a, _b: {}


def _mine(**kwargs: Any) -> Callable[[Seeded, Seeded], dict[str, Any]]:
    return lambda _a, _b: kwargs


NOT_FOUND = 404
#: Instruments and market prices are shared market data, not anyone's ledger: B sees the
#: instrument A's buy created, by design (what B must not see is A's own closes, below).
SHARED = 200

#: How B reaches for A's data through each route that can name it (in the path, the body
#: or the query), and the status B must get.
REACH: dict[tuple[str, str], list[Attempt]] = {
    ("GET", "/api/v1/accounts/{account_id}"): [Attempt(NOT_FOUND)],
    ("PATCH", "/api/v1/accounts/{account_id}"): [
        Attempt(NOT_FOUND, _mine(json={"name": "Mine now", "institution": "B's bank"}))
    ],
    ("DELETE", "/api/v1/accounts/{account_id}"): [Attempt(NOT_FOUND)],
    ("POST", "/api/v1/connections/{connection_id}/sync"): [Attempt(NOT_FOUND)],
    ("PUT", "/api/v1/connections/{connection_id}/credentials"): [
        Attempt(NOT_FOUND, _mine(json={"api_key": "b's key", "secret": "b's secret"}))
    ],
    ("DELETE", "/api/v1/connections/{connection_id}"): [Attempt(NOT_FOUND)],
    ("GET", "/api/v1/transactions/{transaction_id}"): [Attempt(NOT_FOUND)],
    ("PATCH", "/api/v1/transactions/{transaction_id}"): [
        Attempt(NOT_FOUND, _mine(json={"quantity": "1", "price": "1"})),
        # B's own entry moved into A's account
        Attempt(
            NOT_FOUND,
            lambda a, b: {
                "path": {"transaction_id": b.transaction_id},
                "json": {"account_id": a.account_id},
            },
        ),
    ],
    ("DELETE", "/api/v1/transactions/{transaction_id}"): [Attempt(NOT_FOUND)],
    ("PUT", "/api/v1/transactions/{transaction_id}/basis"): [
        Attempt(NOT_FOUND, _mine(json={"price": "1", "acquired_on": "2026-01-01"}))
    ],
    ("PUT", "/api/v1/transactions/{transaction_id}/lots"): [
        Attempt(
            NOT_FOUND, lambda a, _b: {"json": {"lots": [{"lot_id": a.lot_id, "quantity": "1"}]}}
        ),
        # B's own sale taking A's lot: like any lot B's ledger lacks, it holds nothing
        Attempt(
            409,
            lambda a, b: {
                "path": {"transaction_id": b.transaction_id},
                "json": {"lots": [{"lot_id": a.lot_id, "quantity": "1"}]},
            },
        ),
    ],
    ("GET", "/api/v1/holdings/{holding_id}"): [Attempt(NOT_FOUND)],
    ("PATCH", "/api/v1/holdings/{holding_id}"): [
        Attempt(NOT_FOUND, lambda a, _b: {"json": {"quantity": "1", "version": a.holding_version}})
    ],
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): [Attempt(NOT_FOUND)],
    ("GET", "/api/v1/instruments/{instrument_id}"): [Attempt(SHARED)],
    ("GET", "/api/v1/instruments"): [Attempt(SHARED, _mine(params={"q": "AAPL"}))],
    ("POST", "/api/v1/instruments/resolve"): [
        Attempt(SHARED, _mine(json={"symbol": "AAPL", "asset_type": "stock"}))
    ],
    ("GET", "/api/v1/prices/{symbol}"): [Attempt(SHARED)],
    ("GET", "/api/v1/prices/quotes"): [Attempt(SHARED, _mine(params={"symbols": "AAPL"}))],
    ("GET", "/api/v1/transactions"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("POST", "/api/v1/transactions"): [
        Attempt(
            NOT_FOUND,
            lambda a, _b: {
                "json": {
                    "account_id": a.account_id,
                    "date": "2026-02-02",
                    "type": "deposit",
                    "amount": "1000",
                }
            },
        )
    ],
    ("GET", "/api/v1/holdings"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("GET", "/api/v1/lots"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("GET", "/api/v1/gains"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("GET", "/api/v1/analytics"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}}),
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account": a.account_name}}),
    ],
    ("GET", "/api/v1/analytics/history"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("GET", "/api/v1/analytics/correlation"): [
        Attempt(NOT_FOUND, lambda a, _b: {"params": {"account_id": a.account_id}})
    ],
    ("POST", "/api/v1/analytics/what-if"): [
        Attempt(
            NOT_FOUND,
            lambda a, _b: {
                "params": {"account_id": a.account_id},
                "json": {"changes": {"AAPL": 1}},
            },
        )
    ],
    ("POST", "/api/v1/uploads"): [
        Attempt(
            NOT_FOUND,
            lambda a, _b: {
                "data": {"account": a.account_name},
                "files": {"file": ("trades.csv", CSV.encode(), "text/csv")},
            },
        )
    ],
}

#: Routes that can name nothing but the caller's own data (no id in the path, the body
#: or the query), with why.
OWN_ONLY: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/logout"): "ends the request's own session or token",
    ("GET", "/api/v1/auth/me"): "the caller",
    ("POST", "/api/v1/auth/tokens"): "a token for the caller",
    ("GET", "/api/v1/auth/tokens"): "the caller's tokens (checked below)",
    ("GET", "/api/v1/accounts"): "the caller's accounts (checked below)",
    ("POST", "/api/v1/accounts"): "an account of the caller's",
    ("GET", "/api/v1/connections"): "the caller's connections (checked below)",
    ("POST", "/api/v1/connections"): "a connection into an account of the caller's",
    ("POST", "/api/v1/connections/plaid"): "a Plaid link into an account of the caller's",
    ("POST", "/api/v1/connections/plaid/link-token"): "a Link token for the caller",
    ("GET", "/api/v1/formats"): "the file formats, nobody's data",
    ("POST", "/api/v1/prices/closes"): "the caller's own closes",
    ("POST", "/api/v1/prices/refresh"): "prices of the caller's instruments",
    ("PUT", "/api/v1/prices/market"): "the caller's market",
    ("GET", "/api/v1/reports/tearsheet"): "the caller's own tear sheet (test_report_route)",
    ("GET", "/api/v1/settings"): "the caller's settings (checked in test_settings_routes)",
    ("PATCH", "/api/v1/settings"): "the caller's settings (checked in test_settings_routes)",
    ("GET", "/api/v1/targets"): "the caller's targets (checked in test_suggestions_routes)",
    ("PUT", "/api/v1/targets"): "the caller's targets (checked in test_suggestions_routes)",
    ("DELETE", "/api/v1/targets"): "the caller's targets (test_suggestion_effects)",
    ("GET", "/api/v1/jobs"): "the caller's own jobs (test_jobs: bob never sees ann's)",
    ("GET", "/api/v1/suggestions"): "the caller's own ledger and targets",
    ("GET", "/api/v1/suggestions/optimize"): "the caller's holdings (test_suggestion_effects)",
    ("GET", "/api/v1/suggestions/orders.csv"): "the caller's suggestions (test_suggestion_effects)",
    ("POST", "/api/v1/suggestions/summary"): "the caller's suggestions (test_suggestion_effects)",
}


@dataclass
class World:
    """A with a portfolio, a token and own closes; B with its own, on the simulated
    market (so nothing B does reaches the network), signed in both ways."""

    alice: User
    bob: User
    bob_script: User
    a: Seeded
    b: Seeded


def _seeded(user: User, made: dict[str, Any], token_name: str) -> tuple[Seeded, str]:
    """The ids of what ``made`` holds and of a new API token, and the token's secret."""
    token = user.post("/api/v1/auth/tokens", json={"name": token_name})
    assert 201 == token.status_code, token.text
    lots = user.get("/api/v1/lots").json()["lots"]
    holding = made["holding"]
    connected = user.post(
        "/api/v1/connections",
        json={"provider": "kraken", "account": "Kraken", "api_key": "key", "secret": "secret"},
    )
    assert 201 == connected.status_code, connected.text
    seeded = Seeded(
        account_id=made["account"]["id"],
        account_name=made["account"]["name"],
        transaction_id=made["transaction"]["id"],
        holding_id=holding["id"],
        holding_version=holding["version"],
        instrument_id=holding["instrument_id"],
        lot_id=lots[0]["lot_id"],
        token_id=token.json()["id"],
        connection_id=connected.json()["id"],
    )
    return seeded, token.json()["token"]


def _seed_bob(bob: User) -> dict[str, Any]:
    """B's account holds the same instrument as A's, bought and partly sold."""
    assert 200 == bob.put("/api/v1/prices/market", json={"market": "simulated"}).status_code
    account = bob.post("/api/v1/accounts", json={"name": "Wallet", "kind": "brokerage"}).json()
    entry = {"account_id": account["id"], "symbol": "AAPL", "asset_type": "stock"}
    bought = bob.post(
        "/api/v1/transactions",
        json={**entry, "date": "2026-03-02", "type": "buy", "quantity": "3", "price": "170"},
    )
    assert 201 == bought.status_code, bought.text
    sold = bob.post(
        "/api/v1/transactions",
        json={**entry, "date": "2026-04-01", "type": "sell", "quantity": "1", "price": "180"},
    )
    assert 201 == sold.status_code, sold.text
    holdings = bob.get("/api/v1/holdings").json()["holdings"]
    return {"account": account, "transaction": sold.json()[0], "holding": holdings[0]}


@pytest.fixture
def world(app: FastAPI) -> World:
    alice, bob = browser(app, "alice"), browser(app, "bob")
    a, _ = _seeded(alice, seed_portfolio(alice), "alice's script")
    b, secret = _seeded(bob, _seed_bob(bob), "bob's script")
    closes = alice.post(
        "/api/v1/prices/closes",
        files={"file": ("closes.csv", b"date,symbol,close\n2026-11-20,AAPL,123.45\n", "text/csv")},
    )
    assert 200 == closes.status_code, closes.text
    bob_script = User("bob", TestClient(app), {"Authorization": f"Bearer {secret}"})
    return World(alice, bob, bob_script, a, b)


def _snapshot(user: User) -> dict[str, Any]:
    return {
        url: user.get(url).json()
        for url in (
            "/api/v1/accounts",
            "/api/v1/transactions",
            "/api/v1/holdings",
            "/api/v1/lots",
            "/api/v1/auth/tokens",
            "/api/v1/connections",
        )
    }


class _AnyId(dict[str, str]):
    """Fills every path parameter with ``1``: without credentials no id is ever looked up."""

    def __missing__(self, key: str) -> str:
        return "1"


def _refusal(answer: Any) -> tuple[int, str, str]:
    return answer.status_code, answer.headers["content-type"], answer.json()["type"]


def test_only_the_public_routes_answer_without_credentials(app: FastAPI) -> None:
    """Every API route but sign-up, sign-in, liveness and metrics is a 401 problem
    without credentials."""
    client = TestClient(app)
    answers = {(m, p): client.request(m, p.format_map(_AnyId())) for m, p in api_routes(app)}
    assert PUBLIC == {route for route, answer in answers.items() if answer.status_code != 401}
    refusals = {route: _refusal(answer) for route, answer in answers.items() if route not in PUBLIC}
    assert dict.fromkeys(refusals, (401, PROBLEM, NOT_AUTHENTICATED)) == refusals


def test_the_only_other_routes_are_fastapis_docs_and_the_dashboard(app: FastAPI) -> None:
    """Besides the API routes the app serves only its OpenAPI schema and its viewers, and
    the web dashboard's page and built assets (which hold no user data)."""
    plain = plain_routes(app)
    assert DOCS == plain - DASHBOARD
    assert "/{path:path}" in plain


@pytest.mark.parametrize(
    "credentials",
    [
        {"headers": {"Authorization": "Bearer qd_not-a-token"}},
        {"headers": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}},
        {"cookies": {"quantdesk_session": "not-a-session"}},
    ],
    ids=["garbage-bearer", "basic-auth", "garbage-cookie"],
)
def test_made_up_credentials_are_refused_on_every_protected_route(
    app: FastAPI, credentials: dict[str, Any]
) -> None:
    """A made-up bearer token or session cookie is a 401 problem on every route that is
    not public."""
    client = TestClient(app, cookies=credentials.get("cookies"))
    refusals = {
        (m, p): _refusal(
            client.request(m, p.format_map(_AnyId()), headers=credentials.get("headers"))
        )
        for m, p in api_routes(app) - PUBLIC
    }
    assert dict.fromkeys(refusals, (401, PROBLEM, NOT_AUTHENTICATED)) == refusals


def test_every_protected_route_is_classified(app: FastAPI) -> None:
    """Each route that needs credentials says how B reaches for A's data through it,
    or that it names only the caller's own data: a new route fails here until it does."""
    protected = api_routes(app) - PUBLIC
    unclassified = protected - REACH.keys() - OWN_ONLY.keys()
    assert set() == unclassified, f"add these routes to REACH or OWN_ONLY: {sorted(unclassified)}"
    assert set() == (REACH.keys() | OWN_ONLY.keys()) - protected  # nothing stale
    assert set() == REACH.keys() & OWN_ONLY.keys()


@pytest.mark.parametrize("via", ["session", "token"])
def test_other_users_data_is_not_found_and_unchanged(app: FastAPI, world: World, via: str) -> None:
    """B, signed in either way, gets 404 for each of A's resources on every route that can
    name one (and sees the shared market data), and A's data is the same afterwards."""
    bob = world.bob if via == "session" else world.bob_script
    before = _snapshot(world.alice)
    routes = api_routes(app) - PUBLIC
    missing = routes - REACH.keys() - OWN_ONLY.keys()
    assert set() == missing, f"add these routes to REACH or OWN_ONLY: {sorted(missing)}"
    unexpected: dict[str, tuple[int, str]] = {}
    for (method, path), attempts in sorted(REACH.items(), key=_deletes_last):
        for attempt in attempts:
            kwargs = attempt.request(world.a, world.b)
            url = path.format(**{**world.a.path(), **kwargs.pop("path", {})})
            answer = bob.request(method, url, **kwargs)
            if attempt.expected != answer.status_code:
                unexpected[f"{method} {url}"] = (answer.status_code, answer.text[:300])
    assert {} == unexpected
    assert before == _snapshot(world.alice)


def _deletes_last(item: tuple[tuple[str, str], Any]) -> tuple[bool, str, str]:
    (method, path), _ = item
    return method == "DELETE", path, method


def test_a_missing_resource_reads_the_same_as_another_users(world: World) -> None:
    """B cannot tell A's account from one that does not exist: the same 404 problem."""
    theirs = world.bob.get(f"/api/v1/accounts/{world.a.account_id}")
    nobodys = world.bob.get("/api/v1/accounts/999999")
    assert (404, PROBLEM) == (theirs.status_code, theirs.headers["content-type"])
    assert nobodys.json()["type"] == theirs.json()["type"]


def test_lists_show_only_the_callers_own_data(world: World) -> None:
    """B's accounts, connections, entries, holdings, lots and tokens are B's alone,
    although A and B hold the same instrument."""
    bob, b = world.bob, world.b
    accounts = bob.get("/api/v1/accounts").json()
    assert {"Wallet", "Kraken"} == {a["name"] for a in accounts}  # Kraken: B's connection's
    assert world.a.account_id not in {a["id"] for a in accounts}
    assert [b.connection_id] == [c["id"] for c in bob.get("/api/v1/connections").json()]
    entries = bob.get("/api/v1/transactions").json()
    assert (2, {"Wallet"}) == (entries["total"], {t["account"] for t in entries["items"]})
    holdings = bob.get("/api/v1/holdings").json()["holdings"]
    assert [(b.holding_id, "2")] == [(h["id"], h["quantity"]) for h in holdings]
    consolidated = bob.get("/api/v1/holdings", params={"consolidated": True}).json()
    assert ["2"] == [h["quantity"] for h in consolidated["holdings"]]
    lots = bob.get("/api/v1/lots").json()["lots"]
    assert [(b.lot_id, "Wallet", "2")] == [(x["lot_id"], x["account"], x["quantity"]) for x in lots]
    tokens = bob.get("/api/v1/auth/tokens").json()
    assert [(b.token_id, "bob's script")] == [(t["id"], t["name"]) for t in tokens]


def test_own_closes_are_private_to_their_owner(world: World) -> None:
    """The close A uploaded values A's holding and nothing of B's, in the same instrument."""
    mine = world.alice.get("/api/v1/holdings").json()["holdings"]
    theirs = world.bob.get("/api/v1/holdings").json()["holdings"]
    assert [("123.45", "user")] == [(h["price"], h["price_source"]) for h in mine]
    assert [(None, None)] == [(h["price"], h["price_source"]) for h in theirs]
    view = world.bob.get("/api/v1/prices/AAPL").json()
    assert "user" not in view["history"]["source"]
    assert "123.45" not in {c["close"] for c in view["history"]["closes"]}
