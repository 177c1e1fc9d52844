"""Settings over HTTP on every backend: defaults, validated changes (422 naming the
field), write-only provider keys, and the analytics and holdings that follow them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from quantdesk.services import settings as settings_service
from tests.api.conftest import User, browser, script

DEFAULTS = {
    "base_currency": "USD",
    "benchmark": "SPY",
    "risk_free": "0.04",
    "provider_keys": {
        "alpha_vantage": {"set": False, "last4": None},
        "coingecko": {"set": False, "last4": None},
    },
}


def _simulated_portfolio(app: FastAPI, name: str) -> User:
    """A user on the simulated market holding AAPL and MSFT since January, priced."""
    user = script(app, name)
    assert 200 == user.put("/api/v1/prices/market", json={"market": "simulated"}).status_code
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
                "quantity": "10",
                "price": "100",
            },
        )
        assert 201 == made.status_code, made.text
    refreshed = user.post("/api/v1/prices/refresh")
    assert 200 == refreshed.status_code, refreshed.text
    return user


def test_a_new_user_gets_the_default_settings(app: FastAPI) -> None:
    """GET /settings before any change answers the defaults and no key."""
    answer = browser(app, "ann").get("/api/v1/settings")
    assert 200 == answer.status_code
    assert DEFAULTS == answer.json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"base_currency": "eur"}, {"base_currency": "EUR"}),
        ({"benchmark": " qqq "}, {"benchmark": "QQQ"}),
        ({"risk_free": "0.0325"}, {"risk_free": "0.0325"}),
        ({"risk_free": 0.05}, {"risk_free": "0.05"}),
        ({"risk_free": "-0.01"}, {"risk_free": "-0.01"}),
    ],
)
def test_each_setting_changes_alone_and_persists(
    app: FastAPI, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    """A PATCH of one field answers, and later reads show, that field changed and the
    others at their defaults."""
    user = browser(app, "ann")
    patched = user.patch("/api/v1/settings", json=body)
    assert 200 == patched.status_code, patched.text
    assert {**DEFAULTS, **expected} == patched.json() == user.get("/api/v1/settings").json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base_currency": "XYZ"}, "body.base_currency"),
        ({"benchmark": "S&P 500"}, "body.benchmark"),
        ({"risk_free": "0.8"}, "body.risk_free"),
        ({"risk_free": "lots"}, "body.risk_free"),
        ({"alpha_vantage_key": "short"}, "body.alpha_vantage_key"),
        ({"coingecko_key": "x" * 201}, "body.coingecko_key"),
        ({"theme": "dark"}, "body.theme"),
    ],
)
def test_a_bad_value_is_a_422_naming_the_field(
    app: FastAPI, body: dict[str, Any], field: str
) -> None:
    """Each bad value is a validation problem whose errors name the field, and nothing
    is changed."""
    user = browser(app, "ann")
    answer = user.patch("/api/v1/settings", json={"benchmark": "VT", **body})
    assert (422, "application/problem+json") == (
        answer.status_code,
        answer.headers["content-type"],
    )
    assert [field] == [e["field"] for e in answer.json()["errors"]]
    assert DEFAULTS == user.get("/api/v1/settings").json()


def test_provider_keys_are_never_answered_in_clear(app: FastAPI) -> None:
    """After a key is saved, no answer holds it: only that it is set and its last 4;
    null clears it."""
    user = browser(app, "ann")
    alpha, gecko = "AVKEY0SECRET9876", "CG-demoSecret4321"
    patched = user.patch(
        "/api/v1/settings", json={"alpha_vantage_key": alpha, "coingecko_key": gecko}
    )
    assert 200 == patched.status_code, patched.text
    read = user.get("/api/v1/settings")
    for answer in (patched, read):
        assert alpha not in answer.text
        assert gecko not in answer.text
        assert {
            "alpha_vantage": {"set": True, "last4": "9876"},
            "coingecko": {"set": True, "last4": "4321"},
        } == answer.json()["provider_keys"]
    cleared = user.patch("/api/v1/settings", json={"coingecko_key": None}).json()
    assert {"set": False, "last4": None} == cleared["provider_keys"]["coingecko"]
    assert {"set": True, "last4": "9876"} == cleared["provider_keys"]["alpha_vantage"]


def test_analytics_follow_a_changed_benchmark_and_rate_at_once(app: FastAPI) -> None:
    """GET /analytics without a benchmark or risk_free uses the user's settings: a change
    shows in the next answer's benchmark, risk_free and Sharpe ratio (not a cached one),
    and an explicit query parameter still wins."""
    user = _simulated_portfolio(app, "ann")
    before = user.get("/api/v1/analytics").json()
    assert ("SPY", 0.04) == (before["benchmark"], before["risk_free"])
    patched = user.patch("/api/v1/settings", json={"benchmark": "QQQ", "risk_free": "0.10"})
    assert 200 == patched.status_code, patched.text
    after = user.get("/api/v1/analytics").json()
    assert ("QQQ", 0.1) == (after["benchmark"], after["risk_free"])
    assert before["sharpe"] is not None
    assert after["sharpe"] is not None
    assert after["sharpe"] < before["sharpe"]
    asked = user.get("/api/v1/analytics", params={"benchmark": "SPY", "risk_free": 0.04}).json()
    assert (before["benchmark"], before["sharpe"]) == (asked["benchmark"], asked["sharpe"])
    what_if = user.post("/api/v1/analytics/what-if", json={"changes": {"AAPL": 0}}).json()
    assert after["sharpe"] == pytest.approx(what_if["current"]["sharpe"])


def test_a_price_refresh_stores_the_closes_of_the_users_benchmark(app: FastAPI) -> None:
    """POST /prices/refresh fetches the closes of the benchmark the user chose (not a
    quote: it is not held) from 10 days before the ledger's first day, so that their
    analytics read stored closes, as the job worker's do."""
    user = _simulated_portfolio(app, "ann")
    assert 200 == user.patch("/api/v1/settings", json={"benchmark": "QQQ"}).status_code
    refreshed = user.post("/api/v1/prices/refresh").json()
    assert ["AAPL", "MSFT"] == refreshed["symbols"]
    assert {"AAPL", "MSFT"} == set(refreshed["quotes"])
    # both from 2025-12-26: AAPL from its first trade, QQQ from the ledger's first day
    assert refreshed["closes"]["QQQ"] == refreshed["closes"]["AAPL"] > 200


def test_the_settings_are_read_with_the_callers_token(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that needs the caller's settings (the analytics' default benchmark,
    the holdings' base currency) finds them read with its authentication, in the same
    statement: no other read of them; a change is seen by the next request."""
    user = _simulated_portfolio(app, "ann")
    assert 200 == user.patch("/api/v1/settings", json={"benchmark": "QQQ"}).status_code
    app.state.services.caches.clear()  # a process that has not seen the user yet

    def unread(*_: object) -> None:
        pytest.fail("the settings were read apart from the token")

    monkeypatch.setattr(settings_service, "read_settings", unread)
    assert "QQQ" == user.get("/api/v1/analytics").json()["benchmark"]
    assert 200 == user.get("/api/v1/holdings").status_code
    monkeypatch.undo()
    assert 200 == user.patch("/api/v1/settings", json={"benchmark": "VTI"}).status_code
    assert "VTI" == user.get("/api/v1/analytics").json()["benchmark"]


def test_holdings_total_is_in_the_users_base_currency(app: FastAPI) -> None:
    """total_in_base is in USD by default and in the base currency the user sets; with
    no stored USD->EUR rate it is unknown and says so, never the USD sum labelled EUR."""
    user = _simulated_portfolio(app, "ann")
    assert "USD" == user.get("/api/v1/holdings").json()["total_in_base"]["currency"]
    assert 200 == user.patch("/api/v1/settings", json={"base_currency": "EUR"}).status_code
    total = user.get("/api/v1/holdings").json()["total_in_base"]
    assert "EUR" == total["currency"]
    assert (None, ["USD"]) == (total["market_value"], total["missing_rates"])


def test_another_users_settings_are_untouched(app: FastAPI) -> None:
    """B's changes of every setting leave A's settings, analytics defaults and holdings
    total as they were."""
    ann, bob = _simulated_portfolio(app, "ann"), browser(app, "bob")
    changed = bob.patch(
        "/api/v1/settings",
        json={
            "base_currency": "GBP",
            "benchmark": "VT",
            "risk_free": "0.02",
            "alpha_vantage_key": "BOBSKEY12345678",
        },
    )
    assert 200 == changed.status_code, changed.text
    assert DEFAULTS == ann.get("/api/v1/settings").json()
    assert "SPY" == ann.get("/api/v1/analytics").json()["benchmark"]
    assert "USD" == ann.get("/api/v1/holdings").json()["total_in_base"]["currency"]
