"""Two API workers (two apps, each with its own engine, pool and caches, as two processes
have) edit the same holding at the same moment from the same version: one wins, the other
gets 409 with the row as it now is, and the edit is applied exactly once."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine
from tests.api.conftest import User, script, seed_portfolio
from tests.conftest import clock


def _worker(engine: Engine) -> tuple[FastAPI, Engine]:
    own = make_engine(engine.url.render_as_string(hide_password=False))
    return create_app(ApiSettings(database_url="", offline=True), engine=own, clock=clock), own


def test_two_workers_editing_one_holding_one_wins_the_other_gets_409(engine: Engine) -> None:
    first, first_engine = _worker(engine)
    second, second_engine = _worker(engine)
    ann = script(first, "ann")
    seeded = seed_portfolio(ann)
    hid, version = seeded["holding"]["id"], seeded["holding"]["version"]
    elsewhere = User("ann", TestClient(second), ann.headers)  # the same token, other worker

    start = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def edit(who: str, user: User, quantity: str) -> None:
        start.wait()
        answers[who] = user.patch(
            f"/api/v1/holdings/{hid}", json={"quantity": quantity, "version": version}
        )

    threads = [
        threading.Thread(target=edit, args=("first", ann, "12")),
        threading.Thread(target=edit, args=("second", elsewhere, "7")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(a.status_code for a in answers.values())
    assert [200, 409] == statuses, {k: a.text for k, a in answers.items()}
    won = next(k for k, a in answers.items() if a.status_code == 200)
    lost = answers["second" if won == "first" else "first"]
    assert "urn:quantdesk:problem:stale-write" == lost.json()["type"]
    wanted = Decimal("12" if won == "first" else "7")
    for worker in (ann, elsewhere):  # both workers read the winner's edit, applied once
        now = worker.get(f"/api/v1/holdings/{hid}").json()
        assert wanted == Decimal(now["quantity"])
    assert Decimal(lost.json()["current"]["quantity"]) == wanted
    entries = ann.get("/api/v1/transactions").json()
    assert 2 == entries["total"]  # the buy and one adjustment: never two
    first_engine.dispose()
    second_engine.dispose()
