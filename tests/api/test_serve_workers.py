"""`quantdesk serve --workers N`: N stateless API processes over one database, each
answering for the same signed-in user with the same data."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.processes import children
from tests.web.conftest import start_server


@pytest.mark.skipif(not Path("/proc").exists(), reason="counts worker processes in /proc")
def test_two_workers_serve_one_database(tmp_path: Path) -> None:
    server = start_server(tmp_path, demo=False, serve_args=("--workers", "2"))
    opened: list[httpx.Client] = []
    try:
        deadline = time.monotonic() + 30
        while len(children(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = children(server.process.pid)
        assert len(workers) >= 2, workers
        client = httpx.Client(base_url=server.url, timeout=10)
        opened.append(client)
        made = client.post(
            "/api/v1/auth/register", json={"username": "ann", "password": "a long passphrase"}
        )
        assert made.status_code in (200, 201), made.text
        login = client.post(
            "/api/v1/auth/login", json={"username": "ann", "password": "a long passphrase"}
        )
        assert 200 == login.status_code, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        names = set()
        for k in range(12):  # new connections: the kernel spreads them over the workers
            with httpx.Client(base_url=server.url, cookies=client.cookies, timeout=10) as fresh:
                added = fresh.post(
                    "/api/v1/accounts", json={"name": f"A{k}", "kind": "manual"}, headers=csrf
                )
                assert 201 == added.status_code, added.text
                names.add(f"A{k}")
            with httpx.Client(base_url=server.url, cookies=client.cookies, timeout=10) as fresh:
                listed = fresh.get("/api/v1/accounts")
                assert names == {a["name"] for a in listed.json()}  # every write seen at once
    finally:
        for c in opened:
            c.close()
        server.process.terminate()
        server.process.wait(timeout=30)
