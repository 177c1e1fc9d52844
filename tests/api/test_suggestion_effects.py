"""Suggestions with their effects, risk alerts, optimized allocations and the order list,
over HTTP on a year of the simulated market: every figure agrees with the what-if engine
and the optimizer, and nothing is ever traded."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from tests.api.conftest import User, script
from tests.llm_server import chat_server

HOLDINGS = (
    ("Broker", "brokerage", "VTI", "etf", "60"),
    ("Broker", "brokerage", "AAPL", "stock", "40"),
    ("IRA", "retirement", "BND", "etf", "20"),
)
#: BND is an ETF: its symbol target carves it out of the etf class.
TARGETS = {"weights": {"etf": "0.5", "stock": "0.2", "BND": "0.3"}, "band": "0.02"}


def _portfolio(app: FastAPI, name: str = "ann") -> User:
    """A user on the simulated market holding an ETF and a stock in a brokerage account
    and a bond ETF in a retirement account since 2025, priced."""
    user = script(app, name)
    assert 200 == user.put("/api/v1/prices/market", json={"market": "simulated"}).status_code
    ids = {}
    for account, kind, symbol, asset_type, units in HOLDINGS:
        if account not in ids:
            made = user.post("/api/v1/accounts", json={"name": account, "kind": kind})
            ids[account] = made.json()["id"]
        entry = {
            "account_id": ids[account],
            "date": "2025-06-02",
            "type": "buy",
            "symbol": symbol,
            "asset_type": asset_type,
            "quantity": units,
            "price": "100",
        }
        assert 201 == user.post("/api/v1/transactions", json=entry).status_code
    refreshed = user.post("/api/v1/prices/refresh")
    assert 200 == refreshed.status_code and {} == refreshed.json()["errors"], refreshed.text
    return user


def _net_units(trades: list[dict[str, Any]]) -> dict[str, float]:
    net: dict[str, float] = {}
    for t in trades:
        sign = 1 if t["action"] == "buy" else -1
        net[t["symbol"]] = net.get(t["symbol"], 0.0) + sign * float(t["units"])
    return net


def test_every_trade_carries_its_effect_as_the_what_if_engine_measures_it(app: FastAPI) -> None:
    user = _portfolio(app)
    assert 200 == user.put("/api/v1/targets", json=TARGETS).status_code
    answer = user.get("/api/v1/suggestions")
    assert 200 == answer.status_code, answer.text
    found = answer.json()
    now = found["now"]
    assert all(now[k] is not None for k in ("volatility", "var", "var_fraction", "sharpe"))
    assert {"period": "1Y", "method": "historical", "confidence": 0.95} == {
        k: found["effects_basis"][k] for k in ("period", "method", "confidence")
    }
    trades = found["rebalance"]["trades"]
    assert trades, "the simulated year drifts the allocation outside a 2% band"
    for t in trades:
        assert t["effect"]["before"] == now  # no cash flow: every effect starts from now
        assert Decimal(t["price"]) * Decimal(t["units"]) == pytest.approx(Decimal(t["value"]))
    whole = found["rebalance"]["effect"]
    assert whole["after"]["drift"] < 1e-9 < now["drift"]  # brought back to every target
    # the trades add up to no cash (sells pay for buys), so the plan's effect is exactly
    # the what-if of its net units
    bought = sum(Decimal(t["value"]) for t in trades if t["action"] == "buy")
    sold = sum(Decimal(t["value"]) for t in trades if t["action"] == "sell")
    assert bought == pytest.approx(sold, abs=Decimal("0.01"))
    what_if = user.post(
        "/api/v1/analytics/what-if", params={"period": "1Y"}, json={"changes": _net_units(trades)}
    ).json()["hypothetical"]
    assert what_if["volatility"] == pytest.approx(whole["after"]["volatility"], rel=1e-6)
    assert what_if["sharpe"] == pytest.approx(whole["after"]["sharpe"], rel=1e-6)


def test_a_sale_in_the_retirement_account_comes_first_and_realizes_no_gain(app: FastAPI) -> None:
    user = _portfolio(app)
    heavy_bond = {"weights": {"etf": "0.2", "stock": "0.1", "BND": "0.7"}, "band": "0.02"}
    assert 200 == user.put("/api/v1/targets", json=heavy_bond).status_code
    trades = user.get("/api/v1/suggestions").json()["rebalance"]["trades"]
    sells = [t for t in trades if t["action"] == "sell"]
    assert sells and all(t["account"] == "Broker" for t in sells)
    buys = [t for t in trades if t["action"] == "buy"]
    assert [("IRA", "BND")] == [(t["account"], t["symbol"]) for t in buys] or all(
        t["account"] == "Broker" for t in buys
    )


def test_alerts_name_a_concentrated_stock_and_a_var_over_budget(app: FastAPI) -> None:
    user = _portfolio(app)
    tight = {**TARGETS, "concentration_limit": "0.1", "var_budget": "0.0001"}
    assert 200 == user.put("/api/v1/targets", json=tight).status_code
    alerts = user.get("/api/v1/suggestions").json()["alerts"]
    kinds = {a["kind"]: a for a in alerts}
    assert {"concentration", "var_budget"} == set(kinds)
    concentrated = kinds["concentration"]
    assert ("AAPL", "critical", "0.1") == (
        concentrated["symbol"],
        concentrated["severity"],
        concentrated["limit"],
    )
    assert "above the 10.0% concentration limit" in concentrated["message"]
    assert "above the 0.0% budget" in kinds["var_budget"]["message"]
    # VTI and BND are funds: a large weight in one is the targets' business, not an alert
    relaxed = user.put("/api/v1/targets", json={**TARGETS, "concentration_limit": "0.5"})
    assert 200 == relaxed.status_code
    assert [] == user.get("/api/v1/suggestions").json()["alerts"]


def test_a_stale_price_is_an_alert(app: FastAPI) -> None:
    user = _portfolio(app)
    assert 200 == user.put("/api/v1/targets", json=TARGETS).status_code
    later = user.get("/api/v1/suggestions", params={"as_of": "2026-12-31"})
    assert 200 == later.status_code, later.text
    stale = [a for a in later.json()["alerts"] if a["kind"] == "stale_price"]
    assert {"AAPL", "BND", "VTI"} == {a["symbol"] for a in stale}
    assert all("days old" in a["message"] for a in stale)


def test_the_optimizer_reaches_its_weights_through_trades(app: FastAPI) -> None:
    user = _portfolio(app)
    answer = user.get(
        "/api/v1/suggestions/optimize",
        params={"objective": "min_volatility", "period": "1Y", "max_weight": "0.6"},
    )
    assert 200 == answer.status_code, answer.text
    found = answer.json()
    weights = {w["symbol"]: w for w in found["weights"]}
    assert {"AAPL", "BND", "VTI"} == set(weights)
    assert sum(w["optimized"] for w in weights.values()) == pytest.approx(1.0)
    assert max(w["optimized"] for w in weights.values()) <= 0.6 + 1e-6
    assert sum(w["current"] for w in weights.values()) == pytest.approx(1.0)
    # the minimum-volatility portfolio is the frontier's least volatile point
    frontier = found["frontier"]
    assert [p["volatility"] for p in frontier] == sorted(p["volatility"] for p in frontier)
    assert found["optimized"]["volatility"] == pytest.approx(frontier[0]["volatility"], rel=1e-3)
    assert found["optimized"]["volatility"] <= found["current"]["volatility"]
    # after the trades, each holding sits at its optimized weight (within one minimum trade)
    holdings = {
        h["symbol"]: Decimal(h["market_value"])
        for h in user.get("/api/v1/holdings").json()["holdings"]
    }
    value = sum(holdings.values())
    for t in found["trades"]:
        sign = 1 if t["action"] == "buy" else -1
        holdings[t["symbol"]] += sign * Decimal(t["value"])
    for symbol, w in weights.items():
        after = float(holdings[symbol] / value)
        assert after == pytest.approx(w["optimized"], abs=50 / float(value))
    assert found["effect"]["after"]["volatility"] < found["effect"]["before"]["volatility"]


def test_an_infeasible_constraint_is_a_422_naming_it(app: FastAPI) -> None:
    user = _portfolio(app)
    refused = user.get("/api/v1/suggestions/optimize", params={"period": "1Y", "max_weight": "0.2"})
    assert 422 == refused.status_code
    assert "max" in refused.json()["detail"] and "0.2" in refused.json()["detail"]
    bad_class = user.get(
        "/api/v1/suggestions/optimize", params={"period": "1Y", "class_max": "crypto"}
    )
    assert 422 == bad_class.status_code
    assert "CLASS:FRACTION" in bad_class.json()["detail"]


def test_orders_are_a_csv_list_and_nothing_is_traded(app: FastAPI) -> None:
    user = _portfolio(app)
    assert 200 == user.put("/api/v1/targets", json=TARGETS).status_code
    before = user.get("/api/v1/transactions").json()["total"]
    suggested = user.get("/api/v1/suggestions").json()["rebalance"]["trades"]
    for source in ("rebalance", "optimize"):
        answer = user.get(
            "/api/v1/suggestions/orders.csv", params={"source": source, "period": "1Y"}
        )
        assert 200 == answer.status_code, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert f"quantdesk-orders-{source}-" in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert [
            "source",
            "account",
            "action",
            "symbol",
            "units",
            "est_price",
            "est_value",
            "rationale",
        ] == list(rows[0].keys())
        assert {source} == {r["source"] for r in rows}
    rebalance = user.get("/api/v1/suggestions/orders.csv", params={"source": "rebalance"})
    rows = list(csv.DictReader(io.StringIO(rebalance.text)))
    assert [(t["action"], t["symbol"], t["units"]) for t in suggested] == [
        (r["action"], r["symbol"], r["units"]) for r in rows
    ]
    assert before == user.get("/api/v1/transactions").json()["total"]


def test_another_users_suggestions_are_never_seen(app: FastAPI) -> None:
    _portfolio(app, "ann")
    bob = script(app, "bob")
    assert 422 == bob.get("/api/v1/suggestions").status_code  # bob has no targets
    assert 422 == bob.get("/api/v1/suggestions/optimize").status_code  # nor a ledger
    orders = bob.get("/api/v1/suggestions/orders.csv", params={"source": "harvest"})
    assert 422 == orders.status_code


def test_the_summary_is_off_by_default_and_its_numbers_are_the_engines(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _portfolio(app)
    assert 200 == user.put("/api/v1/targets", json=TARGETS).status_code
    monkeypatch.delenv("QUANTDESK_LLM_BASE_URL", raising=False)
    found = user.get("/api/v1/suggestions").json()
    assert found["summary_available"] is False
    off = user.post("/api/v1/suggestions/summary")
    assert 404 == off.status_code
    assert "QUANTDESK_LLM_BASE_URL" in off.json()["detail"]
    first = found["rebalance"]["trades"][0]
    faithful = (
        f"{first['action'].title()} {first['units']} {first['symbol']} in {first['account']} "
        f"for about ${first['value']}."
    )
    with chat_server(faithful) as chat:
        monkeypatch.setenv("QUANTDESK_LLM_BASE_URL", chat.url)
        assert user.get("/api/v1/suggestions").json()["summary_available"] is True
        answer = user.post("/api/v1/suggestions/summary")
        assert 200 == answer.status_code, answer.text
        assert faithful == answer.json()["text"]
        sent = json.loads(chat.received[-1].body["messages"][-1]["content"])
        assert first["units"] == sent["rebalance"]["trades"][0]["units"]
        chat.content = f"Sell 98765 shares of {first['symbol']}."
        invented = user.post("/api/v1/suggestions/summary")
        assert 422 == invented.status_code
        assert "98765" in invented.json()["detail"]
        chat.status, chat.raw = 500, '{"error": "model not loaded"}'
        assert 503 == user.post("/api/v1/suggestions/summary").status_code


def test_an_account_with_targets_of_its_own_is_rebalanced_on_its_own(app: FastAPI) -> None:
    user = _portfolio(app)
    half = {"weights": {"etf": "0.5", "stock": "0.5"}, "band": "0.01"}
    assert 200 == user.put("/api/v1/targets", json=half).status_code
    # BND sits in the IRA, whose own targets keep it apart from the portfolio's
    own = user.put("/api/v1/targets", params={"account": "IRA"}, json={"weights": {"BND": "1"}})
    assert 200 == own.status_code, own.text
    assert ("IRA", {"BND": "1"}) == (own.json()["account"], own.json()["weights"])
    assert ["IRA"] == user.get("/api/v1/targets").json()["accounts_with_targets"]
    found = user.get("/api/v1/suggestions").json()
    assert {"Broker"} == {t["account"] for t in found["rebalance"]["trades"]}
    assert {"etf", "stock"} == {b["bucket"] for b in found["rebalance"]["buckets"]}
    [ira] = found["account_plans"]
    assert ("IRA", [], "1") == (ira["account"], ira["trades"], ira["buckets"][0]["after"])
    # half of the IRA in VTI: it buys VTI with what it sells of BND, inside the IRA
    split = {"weights": {"BND": "0.5", "VTI": "0.5"}, "min_trade": "1"}
    assert 200 == user.put("/api/v1/targets", params={"account": "IRA"}, json=split).status_code
    [ira] = user.get("/api/v1/suggestions").json()["account_plans"]
    assert [("sell", "BND"), ("buy", "VTI")] == [(t["action"], t["symbol"]) for t in ira["trades"]]
    assert all(t["account"] == "IRA" and t["effect"] for t in ira["trades"])
    assert ira["effect"]["after"]["drift"] < ira["effect"]["before"]["drift"]
    orders = user.get("/api/v1/suggestions/orders.csv").text
    assert "rebalance,IRA,buy,VTI" in orders
    # another user cannot reach the account by its name; clearing returns it to the portfolio
    bob = script(app, "bob")
    assert 404 == bob.put("/api/v1/targets", params={"account": "IRA"}, json=split).status_code
    assert 204 == user.delete("/api/v1/targets", params={"account": "IRA"}).status_code
    answer = user.get("/api/v1/suggestions")
    assert 200 == answer.status_code, answer.text
    after = answer.json()
    assert [] == after["account_plans"]
    assert "IRA" in {t["account"] for t in after["rebalance"]["trades"]}  # BND is an etf


def test_the_portfolio_can_buy_what_only_an_account_on_its_own_holds(app: FastAPI) -> None:
    """BND sits only in the IRA, which keeps its own targets: the other accounts buy it
    at the IRA's price for the portfolio's BND target instead of refusing."""
    user = _portfolio(app)
    own = {"weights": {"BND": "1"}}
    assert 200 == user.put("/api/v1/targets", params={"account": "IRA"}, json=own).status_code
    wants_bnd = {"weights": {"etf": "0.5", "stock": "0.3", "BND": "0.2"}, "band": "0.02"}
    assert 200 == user.put("/api/v1/targets", json=wants_bnd).status_code
    answer = user.get("/api/v1/suggestions")
    assert 200 == answer.status_code, answer.text
    bought = [t for t in answer.json()["rebalance"]["trades"] if t["symbol"] == "BND"]
    assert [("buy", "Broker")] == [(t["action"], t["account"]) for t in bought]
