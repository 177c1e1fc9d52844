"""The connections API: a Kraken key added (kept encrypted, never answered back), synced
on demand against Kraken's API on loopback, its failures shown in plain words, and only
ever the caller's own."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.api.conftest import script
from tests.connectors.kraken_server import API_KEY, SECRET, Kraken
from tests.connectors.plaid_server import (
    ACCESS_TOKEN,
    PUBLIC_TOKEN,
    Plaid,
    movement,
    plaid_environment,
)


def test_a_connection_is_added_synced_and_never_answers_its_key(
    app: FastAPI, engine: Engine, small_kraken: Kraken
) -> None:
    ann = script(app, "ann")
    made = ann.post(
        "/api/v1/connections",
        json={"provider": "Kraken", "account": "Kraken", "api_key": API_KEY, "secret": SECRET},
    )
    assert 201 == made.status_code, made.text
    assert "new" == made.json()["status"] and "kraken" == made.json()["provider"]
    assert ["Kraken"] == [a["name"] for a in ann.get("/api/v1/accounts").json()]
    synced = ann.post(f"/api/v1/connections/{made.json()['id']}/sync")
    assert 200 == synced.status_code, synced.text
    body = synced.json()
    assert body["error"] is None and {"trades": 1, "deposits": 1, "withdrawals": 0} == body["added"]
    assert {} == body["differences"] and "ok" == body["connection"]["status"]
    listed = ann.get("/api/v1/connections")
    for answer in (made, synced, listed):
        assert API_KEY not in answer.text and SECRET not in answer.text
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM connections")).scalar_one()
    assert API_KEY not in stored and SECRET not in stored


def test_a_refused_key_is_shown_in_plain_words_until_a_new_key_syncs(
    app: FastAPI, small_kraken: Kraken
) -> None:
    ann = script(app, "ann")
    wrong = "b3RoZXIgc2VjcmV0IG9mIHRoZSBzYW1lIGxlbmd0aCwgbm90IHRoZSBhY2NvdW50J3M="
    made = ann.post(
        "/api/v1/connections",
        json={"provider": "kraken", "account": "Kraken", "api_key": API_KEY, "secret": wrong},
    ).json()
    failed = ann.post(f"/api/v1/connections/{made['id']}/sync").json()
    assert "bad-key" == failed["error_kind"] and "refused the API key" in failed["error"]
    shown = ann.get("/api/v1/connections").json()[0]
    assert "error" == shown["status"] and "refused the API key" in shown["error"]
    fixed = ann.put(
        f"/api/v1/connections/{made['id']}/credentials",
        json={"api_key": API_KEY, "secret": SECRET},
    )
    assert 200 == fixed.status_code and "new" == fixed.json()["status"]
    assert ann.post(f"/api/v1/connections/{made['id']}/sync").json()["error"] is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"provider": "nosuchexchange"}, "unknown exchange"),
        ({"secret": " "}, "needs the API key and its secret"),
    ],
)
def test_a_bad_connection_is_refused_with_a_reason(
    app: FastAPI, body: dict[str, str], words: str
) -> None:
    ann = script(app, "ann")
    given = {"provider": "kraken", "account": "K", "api_key": "k", "secret": "s", **body}
    refused = ann.post("/api/v1/connections", json=given)
    assert 422 == refused.status_code and words in refused.text
    assert [] == ann.get("/api/v1/connections").json()


def test_a_second_connection_to_one_account_is_a_conflict(app: FastAPI) -> None:
    ann = script(app, "ann")
    given = {"provider": "kraken", "account": "K", "api_key": "k", "secret": "s"}
    assert 201 == ann.post("/api/v1/connections", json=given).status_code
    assert 409 == ann.post("/api/v1/connections", json=given).status_code


def test_a_brokerage_is_linked_through_plaid_and_synced(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Plaid()
    server.transactions = [movement("pl-buy-1", "2026-01-06", "buy", "buy", 0, 10, 250, 2500)]
    server.holdings = {0: 10}
    try:
        ann = script(app, "ann")
        unset = ann.post("/api/v1/connections/plaid/link-token")
        assert 404 == unset.status_code and "Plaid is not set up" in unset.text  # no keys
        for key, value in plaid_environment(server).items():
            monkeypatch.setenv(key, value)
        token = ann.post("/api/v1/connections/plaid/link-token")
        assert 200 == token.status_code and token.json()["link_token"].startswith("link-")
        wrong = ann.post("/api/v1/connections/plaid", json={"public_token": "x", "account": "IRA"})
        assert 422 == wrong.status_code and [] == ann.get("/api/v1/connections").json()
        made = ann.post(
            "/api/v1/connections/plaid", json={"public_token": PUBLIC_TOKEN, "account": "IRA"}
        )
        assert 201 == made.status_code and "plaid" == made.json()["provider"]
        assert ACCESS_TOKEN not in made.text
        synced = ann.post(f"/api/v1/connections/{made.json()['id']}/sync").json()
        assert {"investments": 1} == synced["added"] and synced["error"] is None
        assert ["VTI"] == [h["symbol"] for h in ann.get("/api/v1/holdings").json()["holdings"]]
    finally:
        server.close()
