"""Every database connection busy for longer than the pool waits: a request gets a 503
problem saying the server is busy (retry), not a 500, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate
from tests.api.conftest import script
from tests.conftest import clock


def test_a_request_that_finds_no_free_connection_is_told_to_retry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    migrate(make_engine(url))
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    app = create_app(ApiSettings(database_url=url, offline=True), engine=engine, clock=clock)
    ann = script(app, "ann")
    with engine.connect():  # the only connection, held elsewhere
        busy = ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    assert 503 == busy.status_code, busy.text
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert "urn:quantdesk:problem:server-busy" == busy.json()["type"]
    assert "5" == busy.headers["Retry-After"]
    assert [] == ann.get("/api/v1/accounts").json()  # nothing was changed
    engine.dispose()
