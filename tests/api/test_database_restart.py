"""A database that stops mid-load: requests fail cleanly (503 problem+json, nothing half
written) and succeed again once it is back, without a restart of quantdesk. The
PostgreSQL is a private one of this test (initdb in a temporary folder, its own port), so
stopping it touches no other test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantdesk import bootstrap
from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from tests.api.conftest import script
from tests.conftest import clock


def _need(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI runs this fault test)")
    pytest.skip(reason)


class PrivatePostgres:
    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not found or shutil.which("runuser") is None or os.geteuid() != 0:
            _need("needs PostgreSQL's binaries and root (to run them as postgres)")
        self.bin = Path(found[-1])
        self.folder = Path(tempfile.mkdtemp(prefix="quantdesk-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._as_postgres(
            "initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-w", "-l",
            str(self.folder / "log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        """As a crash would: no checkpoint, connections cut."""
        self._as_postgres(
            "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"
        )

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
             str(self.folder / "data"), "-m", "immediate", "stop"],
            check=False,  # already stopped is fine
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


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
