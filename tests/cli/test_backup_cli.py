"""`quantdesk export` and `quantdesk restore`: the demo backed up from SQLite restores into
an empty database of every engine with identical positions, gains and analytics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from quantdesk.cli.app import app
from quantdesk.store.database import make_engine
from quantdesk.store.tables import price_revisions
from tests.cli.test_cli import Quantdesk, qd  # noqa: F401 - the fixture
from tests.connectors.kraken_server import API_KEY, SECRET, T0, Kraken

PASSWORD = "a long passphrase"


def _run(url: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--db", url, *args], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    return result


#: Row ids: a restore gives every row a new one (the references follow), so they differ.
IDS = {"id", "transaction_id", "lot_id"}


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in IDS}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _views(run: Any) -> dict[str, Any]:
    """What a user sees of their portfolio, as JSON (row ids aside)."""
    return _without_ids(
        {
            "accounts": [
                {k: v for k, v in a.items() if k != "id"}
                for a in json.loads(run("accounts", "list", "--json").stdout)
            ],
            "positions": json.loads(run("positions", "--json").stdout),
            "gains": json.loads(run("gains", "--json").stdout),
            "analytics": json.loads(run("analytics", "--period", "1Y", "--json").stdout),
            "targets": json.loads(run("targets", "show", "--json").stdout),
        }
    )


def _price_revisions(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {
            str(m): int(r)
            for m, r in conn.execute(select(price_revisions.c.market, price_revisions.c.revision))
        }
    engine.dispose()
    return found


def test_the_demo_restores_identically_into_an_empty_database(
    qd: Quantdesk,  # noqa: F811
    tmp_path: Path,
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    _run(source, "demo")
    _run(source, "targets", "set", "stock=0.3", "etf=0.3", "fund=0.3", "crypto=0.1")
    _run(source, "accounts", "add", "HSA", "--kind", "brokerage", "--tax-advantaged")
    _run(source, "--user", "ann", "accounts", "add", "Roth", "--kind", "retirement")
    backup = tmp_path / "demo.json.gz"
    shown = _run(source, "export", str(backup), "--all-users").stdout
    assert "Backed up 2 user(s)" in shown
    data = json.loads(gzip.decompress(backup.read_bytes()))
    assert ("quantdesk-backup", 1) == (data["format"], data["version"])
    assert ["ann", "local"] == sorted(u["user"]["name"] for u in data["users"])

    # the target already numbers rows of its own: restored ids differ from the backup's
    qd("--user", "scratch", "accounts", "add", "Scratch", "--kind", "manual")
    trades = "date,type,symbol,quantity,price,asset_type\n2026-01-05,buy,VTI,1,100,etf\n"
    qd("--user", "scratch", "import", qd.file("s.csv", trades), "--account", "Scratch")
    moved = _price_revisions(qd.url)
    restored = qd("restore", str(backup)).stdout
    assert "Restored" in restored and "ann" in restored and "local" in restored
    # the restored closes move their market's price revision: what any process computed
    # or kept from the closes before (answers, a market's latest prices) is stale now
    assert _price_revisions(qd.url).get("simulated", 0) > moved.get("simulated", 0)
    roth = json.loads(_run(qd.url, "--user", "ann", "accounts", "list", "--json").stdout)
    assert [("Roth", False)] == [(a["name"], a["taxable"]) for a in roth]

    def before(*args: str) -> Any:
        return _run(source, *args)

    def after(*args: str) -> Any:
        return qd(*args) if False else _run(qd.url, *args)

    assert _views(before) == _views(after)

    # a second restore of the same backup is refused and changes nothing
    again = qd("restore", str(backup), ok=False)
    assert 1 == again.exit_code and "already exists" in again.stderr
    assert json.loads(after("positions", "--json").stdout) == json.loads(
        before("positions", "--json").stdout
    )


def test_a_file_that_is_not_a_backup_is_refused(qd: Quantdesk, tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    refused = qd("restore", str(bad), ok=False)
    assert 1 == refused.exit_code and "not a quantdesk backup" in refused.stderr
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": "quantdesk-backup", "version": 99, "users": []}))
    refused = qd("restore", str(newer), ok=False)
    assert "upgrade quantdesk first" in refused.stderr


def test_a_connection_restores_with_its_credentials_and_resumes_where_it_stopped(
    tmp_path: Path,
    small_kraken: Kraken,
) -> None:
    source, target = f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    secret = tmp_path / "kraken.secret"
    secret.write_text(SECRET)
    _run(source, "connections", "add", "kraken", "--key", API_KEY, "--account", "Kraken",
         "--secret-file", str(secret))  # fmt: skip
    _run(source, "connections", "sync")
    backup = tmp_path / "backup.json"
    _run(source, "export", str(backup), "--all-users")
    assert SECRET not in backup.read_text() and API_KEY not in backup.read_text()
    _run(target, "restore", str(backup))

    listed = json.loads(_run(target, "connections", "list", "--json").stdout)
    assert _without_ids(json.loads(_run(source, "connections", "list", "--json").stdout)) == (
        _without_ids(listed)
    )
    small_kraken.calls.clear()
    resumed = json.loads(_run(target, "connections", "sync", "--json").stdout)
    assert [{"trades": 0, "deposits": 0, "withdrawals": 0}] == [s["added"] for s in resumed]
    starts = {method: form.get("start") for method, form in small_kraken.calls}
    assert str(T0 + 60) == starts["TradesHistory"] and str(T0) == starts["DepositStatus"]
