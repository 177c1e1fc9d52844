"""Targets and suggestions over HTTP on every backend: stored per user, 422 on weights
that do not sum to 1, and suggestions from the caller's own ledger."""

from __future__ import annotations

from fastapi import FastAPI

from tests.api.conftest import User, browser, script

SIXTY_FORTY = {"weights": {"etf": "0.6", "bond": "0.4"}}


def _portfolio(user: User) -> None:
    """VTI 70 and BND 30 bought at 100 in January; closes of 100 and 80 in November."""
    account = user.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"}).json()
    for symbol, units, kind in (("VTI", "70", "etf"), ("BND", "30", "bond")):
        made = user.post(
            "/api/v1/transactions",
            json={
                "account_id": account["id"],
                "date": "2026-01-05",
                "type": "buy",
                "symbol": symbol,
                "asset_type": kind,
                "quantity": units,
                "price": "100",
            },
        )
        assert 201 == made.status_code, made.text
    closes = user.post(
        "/api/v1/prices/closes",
        files={
            "file": (
                "c.csv",
                b"date,symbol,close\n2026-11-20,VTI,100\n2026-11-20,BND,80\n",
                "text/csv",
            )
        },
    )
    assert 200 == closes.status_code, closes.text


def test_targets_are_put_and_read_back_per_user(app: FastAPI) -> None:
    alice, bob = browser(app, "alice"), script(app, "bob")
    assert {} == alice.get("/api/v1/targets").json()["weights"]
    put = alice.put(
        "/api/v1/targets",
        json={
            "weights": {"etf": "0.5", "bond": "0.4", "aapl": "0.1"},
            "band": "0.03",
            "cash_flow": "-2500",
            "var_budget": "0.02",
        },
    )
    assert 200 == put.status_code, put.text
    assert {
        "weights": {"AAPL": "0.1", "bond": "0.4", "etf": "0.5"},
        "by_class": {"bond": "0.4", "etf": "0.5"},
        "by_symbol": {"AAPL": "0.1"},
        "band": "0.03",
        "min_trade": "50",
        "cash_flow": "-2500",
        "concentration_limit": "0.25",
        "var_budget": "0.02",
        "account": None,
        "accounts_with_targets": [],
    } == alice.get("/api/v1/targets").json()
    assert 200 == bob.put("/api/v1/targets", json={"weights": {"stock": "1"}}).status_code
    assert {"AAPL": "0.1", "bond": "0.4", "etf": "0.5"} == alice.get("/api/v1/targets").json()[
        "weights"
    ]
    assert {"stock": "1"} == bob.get("/api/v1/targets").json()["weights"]


def test_bad_weights_are_a_422_naming_the_sum(app: FastAPI) -> None:
    alice = browser(app, "alice")
    refused = alice.put("/api/v1/targets", json={"weights": {"etf": "0.6", "bond": "0.3"}})
    assert 422 == refused.status_code
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "target weights sum to 0.9, not 1" in refused.text
    assert {} == alice.get("/api/v1/targets").json()["weights"]


def test_suggestions_trade_the_drift_and_list_harvest_candidates(app: FastAPI) -> None:
    alice = script(app, "alice")
    _portfolio(alice)
    assert 422 == alice.get("/api/v1/suggestions").status_code  # no targets yet
    assert 200 == alice.put("/api/v1/targets", json=SIXTY_FORTY).status_code
    answer = alice.get("/api/v1/suggestions", params={"as_of": "2026-11-24"})
    assert 200 == answer.status_code, answer.text
    found = answer.json()
    assert "2026-11-24" == found["as_of"]
    assert [("sell", "VTI", "1360"), ("buy", "BND", "1360")] == [
        (t["action"], t["symbol"], t["value"]) for t in found["rebalance"]["trades"]
    ]
    assert "etf is 74.5% against a 60% target" in found["rebalance"]["trades"][0]["rationale"]
    [candidate] = found["harvest"]["candidates"]
    assert ("Broker", "BND", "600", "short") == (
        candidate["account"],
        candidate["symbol"],
        candidate["loss"],
        candidate["term"],
    )
    higher = alice.get("/api/v1/suggestions", params={"as_of": "2026-11-24", "min_loss": "600"})
    assert [] == higher.json()["harvest"]["candidates"]


def test_a_harvest_candidate_says_why_in_plain_words(app: FastAPI) -> None:
    alice = script(app, "alice")
    _portfolio(alice)
    assert 200 == alice.put("/api/v1/targets", json=SIXTY_FORTY).status_code
    [candidate] = alice.get("/api/v1/suggestions", params={"as_of": "2026-11-24"}).json()[
        "harvest"
    ]["candidates"]
    assert candidate["rationale"].startswith(
        "The BND lot bought 2026-01-05 in Broker is 600.00 below its cost (short term): "
        "selling it realizes the loss, worth about 222.00 in tax at 37%. Do not buy BND back "
        "in any account until after 2026-12-24."
    )
