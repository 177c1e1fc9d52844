"""Analytics over HTTP: the metric set follows every edit at once, the chart series,
correlation and what-if answer from the same ledger, and two apps never share answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.routes import analytics as analytics_routes
from quantdesk.api.settings import ApiSettings
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.market_data import SqlMarketData
from tests.api.conftest import User, script
from tests.conftest import clock


def _simulated_portfolio(app: FastAPI, name: str, units: str = "10") -> User:
    """A user on the simulated market holding AAPL and MSFT since January, priced."""
    user = script(app, name)
    assert user.put("/api/v1/prices/market", json={"market": "simulated"}).status_code == 200
    account = user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"}).json()
    for symbol in ("AAPL", "MSFT"):
        made = user.post(
            "/api/v1/transactions",
            json={
                "account_id": account["id"],
                "date": "2026-01-05",
                "type": "buy",
                "symbol": symbol,
                "asset_type": "stock",
                "quantity": units,
                "price": "100",
            },
        )
        assert made.status_code == 201, made.text
    refreshed = user.post("/api/v1/prices/refresh")
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["errors"] == {}
    return user


def _holding(user: User, symbol: str) -> dict[str, Any]:
    rows = user.get("/api/v1/holdings").json()["holdings"]
    return next(h for h in rows if h["symbol"] == symbol)


def test_analytics_follow_a_grid_edit_at_once(engine: Engine) -> None:
    """After a holding edit, GET /analytics answers with the new value, not a cached one."""
    app = create_app(ApiSettings(database_url="", offline=True), engine=engine, clock=clock)
    user = _simulated_portfolio(app, "ann")
    before = user.get("/api/v1/analytics").json()
    aapl = _holding(user, "AAPL")
    edited = user.patch(
        f"/api/v1/holdings/{aapl['id']}",
        json={"quantity": "15"},
        headers={"If-Match": aapl["version"]},
    )
    assert edited.status_code == 200, edited.text
    after = user.get("/api/v1/analytics").json()
    added = Decimal(5) * Decimal(aapl["price"])
    assert Decimal(before["total_value"]) + added == Decimal(after["total_value"])
    assert edited.json()["analytics"]["total_value"] == after["total_value"]


def test_history_correlation_and_what_if_describe_the_same_portfolio(engine: Engine) -> None:
    """The chart series ends at the metric set's value; correlation names the held
    assets; a what-if of more units changes the hypothetical value, not the current."""
    app = create_app(ApiSettings(database_url="", offline=True), engine=engine, clock=clock)
    user = _simulated_portfolio(app, "ann")
    metrics = user.get("/api/v1/analytics").json()
    history = user.get("/api/v1/analytics/history").json()
    assert history[-1]["value"] == metrics["total_value"]
    correlation = user.get("/api/v1/analytics/correlation").json()
    assert ["AAPL", "MSFT"] == correlation["symbols"]
    assert [1.0, 1.0] == [correlation["matrix"][0][0], correlation["matrix"][1][1]]
    answer = user.post("/api/v1/analytics/what-if", json={"changes": {"AAPL": 10}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [10.0, 20.0] == body["quantities"]["AAPL"]
    assert body["current"] != body["hypothetical"]
    unknown = user.post("/api/v1/analytics/what-if", json={"changes": {"TSLA": 1}})
    assert 422 == unknown.status_code


def test_two_apps_in_one_process_never_share_analytics(tmp_path: Path) -> None:
    """Two databases whose first users share id 1 get their own answers."""
    apps = []
    for name in ("one", "two"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        migrate(engine)
        apps.append(
            create_app(ApiSettings(database_url="", offline=True), engine=engine, clock=clock)
        )
    small = _simulated_portfolio(apps[0], "ann", units="1")
    large = _simulated_portfolio(apps[1], "ann", units="100")
    values = [Decimal(u.get("/api/v1/analytics").json()["total_value"]) for u in (small, large)]
    assert values[0] * 100 == values[1]


def _store_close(engine: Engine, symbol: str, close: str) -> None:
    """Another writer (a scheduled refresh in another process) stores today's close of
    ``symbol`` on the simulated market: that market's price revision moves."""
    made = History(symbol, "USD", "simulated", (Bar(clock().date(), Decimal(close)),))
    assert 1 == SqlMarketData(engine, clock).store_closes(
        MarketSymbol(symbol, AssetType.STOCK), made
    )


def _refreshed(app: FastAPI) -> None:
    """Wait until the answers queued to be computed again are done."""
    refresher = app.state.services.caches.get("analytics-refresher")
    if refresher is not None:
        refresher.pool.submit(lambda: None).result(30)


def test_an_answer_made_stale_by_a_market_close_is_served_while_computed_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When only the market's closes changed since an answer was stored (the ledger, the
    day and the options did not), the next read gets the stored answer at once and it is
    computed again in the background: the read after has the new close. After the
    user's own price refresh, the answer is computed before it is served."""
    monkeypatch.setattr(analytics_routes, "PRICE_RECHECK_SECONDS", 0.0)  # ask every time
    app = create_app(ApiSettings(database_url="", offline=True), engine=engine, clock=clock)
    user = _simulated_portfolio(app, "ann")
    before = user.get("/api/v1/analytics").json()
    _store_close(engine, "AAPL", "400")
    assert before == user.get("/api/v1/analytics").json()  # stale, at once
    _refreshed(app)
    after = user.get("/api/v1/analytics").json()
    assert after["total_value"] != before["total_value"]  # AAPL's close of today counts
    another = create_app(ApiSettings(database_url="", offline=True), engine=engine, clock=clock)
    # stored too: another process serves it as stored
    assert (
        after == User(user.name, TestClient(another), user.headers).get("/api/v1/analytics").json()
    )
    _store_close(engine, "MSFT", "400")
    assert 200 == user.post("/api/v1/prices/refresh").status_code
    mine = user.get("/api/v1/analytics").json()
    # computed now, the user asked: 10 units each of AAPL and MSFT, both closed at 400
    assert Decimal("8000.00") == Decimal(mine["total_value"])
