"""A 50 MB export is streamed: memory does not grow with the file, and every row lands.

Each import runs in its own process so that its peak resident memory can be read on its
own. With the in-memory window set small, a 12 MB and a 50 MB file must peak within
40 MB of each other: the file, its rows and its validation are never held whole.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

CHILD = r"""
import io, json, resource, sys
from datetime import UTC, datetime
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.unit_of_work import SqlUnitOfWork
from pathlib import Path

def clock():
    return datetime(2026, 11, 24, tzinfo=UTC)

path, db = Path(sys.argv[1]), sys.argv[2]
engine = make_engine(f"sqlite:///{db}")
migrate(engine)
uow = SqlUnitOfWork(engine, "big", clock)
portfolio.add_account(uow, "Broker", kind="brokerage", institution=None, currency="USD",
                      clock=clock)
with path.open("rb") as stream:
    report = import_stream(uow, stream, path.name, ImportOptions(account="Broker"),
                           clock=clock, in_memory_limit=5_000)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the import's peak
units = {p.instrument.symbol: str(p.quantity)
         for p in portfolio.current_positions(uow, as_of=clock().date())}
print(json.dumps({"ok": report.ok, "rows": report.rows, "added": report.added,
                  "issues": [i.describe() for i in report.issues[:5]],
                  "units": units, "peak_mib": peak_kib / 1024}))
"""

NOTE = "Executed through the web trading platform; commission per the current schedule. " * 2


def _write_export(path: Path, megabytes: int) -> dict[str, int]:
    """A valid trades export of about `megabytes`, and the units it leaves per symbol."""
    rng = random.Random(megabytes)
    held: dict[str, int] = {}
    target, size, n = megabytes * 1024 * 1024, 0, 0
    with path.open("w") as out:
        out.write("date,type,symbol,quantity,price,fees,asset_type,description\n")
        while size < target:
            symbol = f"S{rng.randrange(200):03d}"
            day = (date(2000, 1, 3) + timedelta(days=n // 40)).isoformat()
            units = held.get(symbol, 0)
            if units > 5 and rng.random() < 0.45:  # often the whole position: lots close
                quantity, kind = rng.choice([units, rng.randint(1, units)]), "sell"
                held[symbol] = units - quantity
            else:
                quantity, kind = rng.randint(1, 50), "buy"
                held[symbol] = units + quantity
            price = rng.randint(100, 99_999) / 100
            line = f"{day},{kind},{symbol},{quantity},{price},0.5,stock,{NOTE}{n}\n"
            out.write(line)
            size, n = size + len(line), n + 1
    return {symbol: units for symbol, units in held.items() if units}


def _import_in_child(path: Path, tmp: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(tmp / f"{path.stem}.db")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_50_mb_export_imports_whole_with_memory_that_does_not_grow_with_it(
    tmp_path: Path,
) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _write_export(small, 12)
    expected = _write_export(large, 50)
    assert large.stat().st_size >= 50 * 1024 * 1024

    first = _import_in_child(small, tmp_path)
    second = _import_in_child(large, tmp_path)

    assert (True, [], second["rows"]) == (second["ok"], second["issues"], second["added"])
    assert {s: str(u) for s, u in expected.items()} == second["units"]
    assert first["ok"] and first["added"] > 40_000
    # 38 MB more file, four times the rows: the peak may not follow it
    assert second["peak_mib"] - first["peak_mib"] < 40, (first["peak_mib"], second["peak_mib"])
