"""A database that stops mid-load: requests fail cleanly (503 problem+json, nothing half
written) and succeed again once it is back, without a restart of quantdesk. The
PostgreSQL is a private one of this test (initdb in a temporary folder, its own port), so
stopping it touches no other test."""

from __future__ import annotations

from quantdesk import bootstrap
from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from tests.api.conftest import script
from tests.conftest import clock
from tests.private_postgres import PrivatePostgres


def test_requests_fail_cleanly_while_the_database_is_down_then_recover(
    postgres: PrivatePostgres,
) -> None:
    bootstrap.upgrade_database(postgres.url)
    engine = bootstrap.open_database(postgres.url)
    app = create_app(
        ApiSettings(database_url=postgres.url, offline=True), engine=engine, clock=clock
    )
    ann = script(app, "ann")
    assert (
        201
        == ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"}).status_code
    )

    postgres.stop()
    for attempt in (
        lambda: ann.get("/api/v1/accounts"),
        lambda: ann.post("/api/v1/accounts", json={"name": "Lost", "kind": "manual"}),
    ):
        down = attempt()
        assert 503 == down.status_code, down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        assert "urn:quantdesk:problem:database-unavailable" == down.json()["type"]

    postgres.start()  # the same quantdesk process, no restart
    back = ann.get("/api/v1/accounts")
    assert 200 == back.status_code, back.text
    assert ["Broker"] == [a["name"] for a in back.json()]  # the write during the outage: none
    assert 201 == ann.post("/api/v1/accounts", json={"name": "Later", "kind": "manual"}).status_code
    engine.dispose()
