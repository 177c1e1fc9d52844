"""`quantdesk connections` and `quantdesk secrets`: a Kraken account connected with its
secret read from a file (never the command line), synced against Kraken's API on
loopback, listed without its key; and every stored secret re-encrypted under a new key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from quantdesk.cli.app import app
from tests.connectors.kraken_server import API_KEY, SECRET, Kraken


def _run(db: str, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["--db", db, *args], catch_exceptions=False)
    assert code == result.exit_code, result.output
    return result


def test_connect_sync_list_and_rotate_the_key_that_encrypts_it(
    tmp_path: Path, small_kraken: Kraken, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    old = Fernet.generate_key().decode()
    monkeypatch.setenv("QUANTDESK_SECRET_KEYS", old)
    secret = tmp_path / "kraken.secret"
    secret.write_text(SECRET + "\n")
    made = _run(db, "connections", "add", "kraken", "--key", API_KEY, "--account", "Kraken",
                "--secret-file", str(secret), "--json")  # fmt: skip
    connection = json.loads(made.stdout)["id"]
    synced = json.loads(_run(db, "connections", "sync", "--json").stdout)
    assert [{"trades": 1, "deposits": 1, "withdrawals": 0}] == [s["added"] for s in synced]
    listed = _run(db, "connections", "list", "--json").stdout
    assert "ok" == json.loads(listed)[0]["status"]
    assert API_KEY not in listed and SECRET not in listed
    positions = {
        p["symbol"]: p["quantity"]
        for p in json.loads(_run(db, "positions", "--json").stdout)["positions"]
    }
    assert {"BTC": "0.01", "USD": "499"} == positions

    new = _run(db, "secrets", "new-key").stdout.strip()
    Fernet(new.encode())  # a key
    monkeypatch.setenv("QUANTDESK_SECRET_KEYS", f"{new},{old}")
    assert "Re-encrypted 1 secret" in _run(db, "secrets", "rotate").stdout
    monkeypatch.setenv("QUANTDESK_SECRET_KEYS", new)  # the old key gone: still opens
    assert "added nothing" in _run(db, "connections", "sync", str(connection)).stdout

    small_kraken.fail["TradesHistory"] = "EAPI:Invalid key"
    refused = _run(db, "connections", "sync", code=1)
    assert "refused the API key" in refused.output
    _run(db, "connections", "remove", str(connection))
    assert [] == json.loads(_run(db, "connections", "list", "--json").stdout)
