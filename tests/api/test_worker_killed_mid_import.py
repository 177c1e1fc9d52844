"""kill -9 of an API worker in the middle of an upload: the import's open transaction dies
with it, so nothing of the file is stored; the supervisor starts a new worker, and the
same upload sent again imports every row exactly once. On a private PostgreSQL (its own
initdb and port), with `quantdesk serve --workers 2` as deployed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from quantdesk import bootstrap
from tests.private_postgres import PrivatePostgres
from tests.processes import children, owner_of_local_port

ROWS = 40_000
PASSWORD = "a long passphrase"
# The import's own inserts, in a transaction that has written (it holds an id) and is open.
IMPORT_IN_FLIGHT = text(
    "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    " AND query ILIKE 'INSERT INTO transactions%'"
)
OPEN_WRITES = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
)


def _trades() -> bytes:
    rows = ["date,type,symbol,quantity,price,asset_type"]
    for k in range(ROWS):
        day = f"20{10 + k % 15:02d}-{1 + k % 12:02d}-{1 + k % 28:02d}"
        rows.append(f"{day},buy,S{k % 50:02d},{1 + k},{10 + k % 90}.25,stock")
    return ("\n".join(rows) + "\n").encode()


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "QUANTDESK_REDIS_URL"}
    command = str(Path(sys.executable).parent / "quantdesk")
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [command, "--db", url, "serve", "--port", str(port), "--workers", "2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if len(children(process.pid)) >= 2 and httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the API did not start: " + (folder / "serve.log").read_text())


def _token(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/api/v1/auth/register", json={"username": "ann", "password": PASSWORD})
        assert 201 == made.status_code, made.text
        login = client.post("/api/v1/auth/login", json={"username": "ann", "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        issued = client.post("/api/v1/auth/tokens", json={"name": "t"}, headers=csrf)
        assert 201 == issued.status_code, issued.text
        auth = {"Authorization": f"Bearer {issued.json()['token']}"}
    with httpx.Client(base_url=base, timeout=30, headers=auth) as client:
        added = client.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
        assert 201 == added.status_code, added.text
    return auth


def _upload(base: str, auth: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/uploads",
        files={"file": ("trades.csv", body, "text/csv")},
        data={"account": "Broker"},
        headers=auth,
        timeout=300,
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="finds the worker in /proc")
def test_an_api_worker_killed_mid_import_stores_nothing_and_the_retry_imports_once(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    bootstrap.upgrade_database(postgres.url)
    watch = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    process, base = _serve(postgres.url, tmp_path)
    try:
        auth = _token(base)
        body = _trades()
        workers = len(children(process.pid))
        answers: list[object] = []

        def send() -> None:
            try:
                answers.append(_upload(base, auth, body))
            except httpx.HTTPError as error:  # the worker died under the request
                answers.append(error)

        sender = threading.Thread(target=send)
        sender.start()
        victim = None
        deadline = time.monotonic() + 120
        with watch.connect() as conn:
            while victim is None and time.monotonic() < deadline and sender.is_alive():
                for (port,) in conn.execute(IMPORT_IN_FLIGHT):
                    victim = owner_of_local_port(int(port), children(process.pid))
                time.sleep(0.01)
            assert victim is not None, f"no import seen in flight: {answers}"
            os.kill(victim, signal.SIGKILL)
            sender.join(60)
            assert not isinstance(answers[0], httpx.Response) or answers[0].status_code >= 500
            while conn.execute(OPEN_WRITES).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.05)  # PostgreSQL rolls the dead worker's transaction back
            assert 0 == conn.execute(text("SELECT count(*) FROM transactions")).scalar_one()
            assert 0 == conn.execute(text("SELECT count(*) FROM imports")).scalar_one()

            # The supervisor replaces the dead worker; the same upload, sent again, lands.
            def replaced() -> bool:
                now = children(process.pid)
                return victim not in now and len(now) == workers

            while not replaced() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert replaced(), children(process.pid)
            again = _upload(base, auth, body)
            assert 200 == again.status_code, again.text
            assert ROWS == conn.execute(text("SELECT count(*) FROM transactions")).scalar_one()
            once_more = _upload(base, auth, body)  # a third time: every row known, none added
            assert 200 == once_more.status_code, once_more.text
            assert ROWS == conn.execute(text("SELECT count(*) FROM transactions")).scalar_one()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        watch.dispose()
