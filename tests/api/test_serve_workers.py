"""`quantdesk serve --workers N`: N stateless API processes over one database, each
answering for the same signed-in user with the same data."""

from __future__ import annotations

import contextlib
import os
import signal
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


@pytest.mark.skipif(not Path("/proc").exists(), reason="counts worker processes in /proc")
def test_a_worker_busy_longer_than_uvicorns_default_healthcheck_is_not_killed(
    tmp_path: Path,
) -> None:
    """A worker that does not answer the supervisor's health ping for 8 s (stopped, as
    one starved of CPU in a burst) keeps its process: killed, it would drop the requests
    it holds and start again with cold caches (uvicorn's default waits 5 s)."""
    server = start_server(tmp_path, demo=False, serve_args=("--workers", "2"))
    try:
        deadline = time.monotonic() + 30
        while len(children(server.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        processes = sorted(children(server.process.pid))
        workers = [p for p in processes if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(workers) == 2, processes
        os.kill(workers[0], signal.SIGSTOP)
        try:
            time.sleep(8)  # > 5 s ping timeout, checked every 0.5 s
        finally:
            with contextlib.suppress(ProcessLookupError):  # killed: the assert says so
                os.kill(workers[0], signal.SIGCONT)
        time.sleep(1)
        assert processes == sorted(children(server.process.pid))  # none killed nor new
        assert 200 == httpx.get(f"{server.url}/healthz", timeout=10).status_code
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
