"""Analytics over HTTP: the metric set follows every edit at once, the chart series,
correlation and what-if answer from the same ledger, and two apps never share answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
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
