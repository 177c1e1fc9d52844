"""Import benchmark: 100,000 generic trades (500 symbols, 5 accounts) into SQLite, then
a rebuild of every lot from the stored ledger (what positions and lots need), and a full
replay that also records every disposal and income item (what gains need).

Goals (issue 2): import <= 3 s, lot rebuild <= 1 s, medians on the project machine.
Peers, run in the same process on the same data, give the floor each step stands on:
- import vs. the raw floor: csv.reader + sqlite3 executemany of the same rows as text;
- rebuild vs. the raw floor: sqlite3 fetching every transaction row.

    .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import replay_ledger
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.unit_of_work import SqlUnitOfWork

ACCOUNTS = [f"Account {i}" for i in range(1, 6)]
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def make_trades(rows: int, symbols: int = 500, seed: int = 7) -> bytes:
    """Valid trades: per account and symbol, buys and sells that never oversell."""
    rng = random.Random(seed)
    names = [f"S{i:03d}" for i in range(symbols)]
    held: dict[tuple[str, str], int] = {}
    start = date(2015, 1, 2)
    out = io.StringIO()
    out.write("date,type,symbol,quantity,price,fees,account,asset_type\n")
    for n in range(rows):
        day = start + timedelta(days=n * 3650 // rows)
        account, symbol = rng.choice(ACCOUNTS), rng.choice(names)
        units = held.get((account, symbol), 0)
        price = Decimal(rng.randint(1_000, 50_000)) / 100
        if units > 0 and rng.random() < 0.4:
            quantity = rng.randint(1, units)
            held[(account, symbol)] = units - quantity
            kind = "sell"
        else:
            quantity = rng.randint(1, 100)
            held[(account, symbol)] = units + quantity
            kind = "buy"
        out.write(f"{day},{kind},{symbol},{quantity},{price},0.99,{account},stock\n")
    return out.getvalue().encode()


def fresh_database(folder: Path, name: str) -> SqlUnitOfWork:
    engine = make_engine(f"sqlite:///{folder / name}")
    migrate(engine)
    uow = SqlUnitOfWork(engine, "bench", clock)
    for account in ACCOUNTS:
        portfolio.add_account(
            uow, account, kind="brokerage", institution=None, currency="USD", clock=clock
        )
    return uow


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_import(path: Path, data: bytes) -> None:
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE t (d TEXT, k TEXT, s TEXT, q TEXT, p TEXT, f TEXT, a TEXT, x TEXT)"
    )
    rows = csv.reader(io.StringIO(data.decode()))
    next(rows)
    with connection:
        connection.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", rows)
    connection.close()


def raw_fetch(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("SELECT * FROM transactions ORDER BY traded_at, id").fetchall()
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = make_trades(args.rows)
    print(
        f"{args.rows:,} trades ({len(data) / 1e6:.1f} MB), 500 symbols, 5 accounts; "
        f"{args.repeat} runs"
    )
    imports, raw_imports, rebuilds, replays, raw_fetches = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(args.repeat):
            uow = fresh_database(folder, f"q{run}.db")
            report = None

            def do_import(uow: SqlUnitOfWork = uow) -> None:
                nonlocal report
                report = import_stream(
                    uow, io.BytesIO(data), "bench.csv", ImportOptions(), clock=clock
                )

            imports.append(timed(do_import))
            assert report is not None and report.ok and report.added == args.rows, report
            raw_imports.append(timed(lambda run=run: raw_import(folder / f"raw{run}.db", data)))

            def rebuild(uow: SqlUnitOfWork = uow, record: bool = False) -> None:
                with uow(commit=False) as store:
                    state = replay_ledger(store, record=record)
                assert state.lots and bool(state.disposals) is record

            rebuilds.append(timed(rebuild))  # the lots, as positions and lots need them
            replays.append(timed(lambda uow=uow: rebuild(uow, record=True)))  # and gains
            raw_fetches.append(timed(lambda run=run: raw_fetch(folder / f"q{run}.db")))
            uow.engine.dispose()
    rows = [
        (
            "import (parse, validate, dedupe, store)",
            imports,
            raw_imports,
            "csv + sqlite3 executemany",
        ),
        ("lot rebuild (load ledger + replay)", rebuilds, raw_fetches, "sqlite3 fetch of all rows"),
        ("full replay (+ disposals and income)", replays, raw_fetches, "sqlite3 fetch of all rows"),
    ]
    for label, ours, peer, peer_label in rows:
        m, p = statistics.median(ours), statistics.median(peer)
        print(
            f"{label:42s} median {m:6.3f} s   peer ({peer_label}) {p:6.3f} s   ratio {m / p:5.1f}x"
        )


if __name__ == "__main__":
    main()
