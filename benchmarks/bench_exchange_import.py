"""Exchange-export import benchmark: a 100,000-row Binance transaction-history statement
(and a Coinbase transaction-history export) detected, parsed, validated, de-duplicated
and stored into SQLite, then imported again (every row a duplicate).

Goal (issue 6): a 100,000-row exchange export in <= 3 s median on the project machine.
Peers, run in the same process:
- the raw floor: csv.reader + sqlite3 executemany of the same rows as text;
- quantdesk's own generic-trades file holding the same ledger entries (what the
  exchange's layout costs over the ledger's own).

    .venv/bin/python benchmarks/bench_exchange_import.py [--rows 100000] [--repeat 5]
        [--shape binance|coinbase|both]
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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.import_report import ImportReport
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.unit_of_work import SqlUnitOfWork

NOW = datetime(2026, 11, 24, tzinfo=UTC)
START = datetime(2021, 1, 1, tzinfo=UTC)
COINS = [f"C{i:02d}" for i in range(60)]
ACCOUNT = "Exchange"


def clock() -> datetime:
    return NOW


def make_binance(rows: int, seed: int = 11) -> tuple[bytes, bytes]:
    """A Binance statement of spot trades against USDT (three rows each: the coin
    received, the coin spent, the fee), after one USDT deposit; and the same ledger as
    a generic-trades file (conversion legs)."""
    rng = random.Random(seed)
    out = io.StringIO()
    generic = io.StringIO()
    out.write("User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n")
    generic.write("date,type,symbol,quantity,price,fees,currency,asset_type,link\n")
    out.write(f"1,{START:%Y-%m-%d %H:%M:%S},Spot,Deposit,USDT,50000000,\n")
    generic.write(f"{START:%Y-%m-%dT%H:%M:%S}Z,transfer_in,USDT,50000000,1,0,USD,crypto,\n")
    held: dict[str, Decimal] = {}
    written, n = 1, 0
    while written + 3 <= rows:
        n += 1
        at = START + timedelta(seconds=60 * n)
        when = f"{at:%Y-%m-%d %H:%M:%S}"
        coin = rng.choice(COINS)
        price = Decimal(rng.randint(100, 500_000)) / 100
        units = held.get(coin, Decimal(0))
        if units > 1 and rng.random() < 0.4:
            quantity = (units * Decimal(rng.randint(1, 100)) / 100).quantize(Decimal("0.0001"))
            proceeds = (quantity * price).quantize(Decimal("0.01"))
            fee = (proceeds / 1000).quantize(Decimal("0.00000001"))
            held[coin] = units - quantity
            out.write(
                f"1,{when},Spot,Transaction Sold,{coin},-{quantity},\n"
                f"1,{when},Spot,Transaction Revenue,USDT,{proceeds},\n"
                f"1,{when},Spot,Transaction Fee,USDT,-{fee},\n"
            )
            link = f"s{n}"
            generic.write(
                f"{at:%Y-%m-%dT%H:%M:%S}Z,conversion,{coin},-{quantity},{price},0,USDT,crypto,"
                f"{link}\n{at:%Y-%m-%dT%H:%M:%S}Z,conversion,USDT,{proceeds},1,{fee},USDT,"
                f"crypto,{link}\n"
            )
        else:
            quantity = Decimal(rng.randint(1, 10_000)) / 100
            cost = (quantity * price).quantize(Decimal("0.01"))
            fee = (quantity / 1000).quantize(Decimal("0.00000001"))
            held[coin] = units + quantity - fee
            out.write(
                f"1,{when},Spot,Transaction Buy,{coin},{quantity},\n"
                f"1,{when},Spot,Transaction Spend,USDT,-{cost},\n"
                f"1,{when},Spot,Transaction Fee,{coin},-{fee},\n"
            )
            link = f"b{n}"
            generic.write(
                f"{at:%Y-%m-%dT%H:%M:%S}Z,conversion,USDT,-{cost},1,0,USDT,crypto,{link}\n"
                f"{at:%Y-%m-%dT%H:%M:%S}Z,conversion,{coin},{quantity},{price},0,USDT,crypto,"
                f"{link}\n"
            )
        written += 3
    return out.getvalue().encode(), generic.getvalue().encode()


def make_coinbase(rows: int, seed: int = 13) -> tuple[bytes, bytes]:
    """A Coinbase transaction history (one row per buy or sell, paid in USD) and the
    same ledger as a generic-trades file."""
    rng = random.Random(seed)
    out = io.StringIO()
    generic = io.StringIO()
    out.write(
        "ID,Timestamp,Transaction Type,Asset,Quantity Transacted,Price Currency,"
        "Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),"
        "Fees and/or Spread,Notes\n"
    )
    generic.write("date,type,symbol,quantity,price,fees,currency,asset_type,external_id\n")
    held: dict[str, Decimal] = {}
    for n in range(rows):
        at = START + timedelta(seconds=60 * n)
        coin = rng.choice(COINS)
        price = Decimal(rng.randint(100, 500_000)) / 100
        units = held.get(coin, Decimal(0))
        if units > 1 and rng.random() < 0.4:
            quantity = (units * Decimal(rng.randint(1, 100)) / 100).quantize(Decimal("0.0001"))
            kind, sign = "Sell", "-"
            held[coin] = units - quantity
        else:
            quantity = Decimal(rng.randint(1, 10_000)) / 100
            kind, sign = "Buy", ""
            held[coin] = units + quantity
        subtotal = (quantity * price).quantize(Decimal("0.01"))
        fee = Decimal("1.99")
        total = subtotal + fee if kind == "Buy" else subtotal - fee
        ident = f"{n:024x}"
        out.write(
            f"{ident},{at:%Y-%m-%d %H:%M:%S} UTC,{kind},{coin},{sign}{quantity},USD,"
            f"${price},${subtotal},${total},${fee},{kind} {quantity} {coin}\n"
        )
        generic.write(
            f"{at:%Y-%m-%dT%H:%M:%S}Z,{kind.lower()},{coin},{quantity},{price},{fee},USD,"
            f"crypto,{ident}\n"
        )
    return out.getvalue().encode(), generic.getvalue().encode()


def fresh_database(folder: Path, name: str) -> SqlUnitOfWork:
    engine = make_engine(f"sqlite:///{folder / name}")
    migrate(engine)
    uow = SqlUnitOfWork(engine, "bench", clock)
    portfolio.add_account(
        uow, ACCOUNT, kind="exchange", institution=None, currency="USD", clock=clock
    )
    return uow


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_import(path: Path, data: bytes) -> None:
    connection = sqlite3.connect(path)
    rows = csv.reader(io.StringIO(data.decode()))
    width = len(next(rows))
    columns = ", ".join(f"c{i} TEXT" for i in range(width))
    connection.execute(f"CREATE TABLE t ({columns})")
    marks = ",".join("?" * width)
    with connection:
        connection.executemany(f"INSERT INTO t VALUES ({marks})", rows)
    connection.close()


def timed_import(uow: SqlUnitOfWork, data: bytes) -> tuple[float, ImportReport]:
    options = ImportOptions(account=ACCOUNT, allow_unknown_basis=True)
    started = time.perf_counter()
    report = import_stream(uow, io.BytesIO(data), "export.csv", options, clock=clock)
    return time.perf_counter() - started, report


def bench(shape: str, rows: int, repeat: int) -> None:
    data, generic = make_binance(rows) if shape == "binance" else make_coinbase(rows)
    count = data.count(b"\n") - 1
    print(f"\n{shape}: {count:,} rows ({len(data) / 1e6:.1f} MB); {repeat} runs")
    ours, again, peers, floors = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(repeat):
            uow = fresh_database(folder, f"x{run}.db")
            seconds, first = timed_import(uow, data)
            assert first.ok and first.format.startswith(shape), (first.format, first.issues[:5])
            ours.append(seconds)
            seconds, second = timed_import(uow, data)
            assert second.ok and second.added == 0, second.added
            again.append(seconds)
            uow.engine.dispose()
            peer = fresh_database(folder, f"g{run}.db")
            seconds, report = timed_import(peer, generic)
            assert report.ok, report.issues[:5]
            peers.append(seconds)
            peer.engine.dispose()
            floors.append(timed(lambda run=run: raw_import(folder / f"raw{run}.db", data)))
    m = statistics.median(ours)
    print(f"  format detected: {first.format}; {first.added:,} ledger entries stored")
    print(
        f"  import (detect, parse, validate, dedupe, store)  median {m:6.3f} s  "
        f"goal 3 s: {'PASS' if m <= 3 else 'FAIL'}"
    )
    r = statistics.median(again)
    print(f"  re-import (every row a duplicate)                median {r:6.3f} s")
    g = statistics.median(peers)
    print(
        f"  peer: same ledger as generic-trades              median {g:6.3f} s  ratio {m / g:5.2f}x"
    )
    f = statistics.median(floors)
    print(
        f"  peer: csv.reader + sqlite3 executemany           median {f:6.3f} s  ratio {m / f:5.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shape", choices=("binance", "coinbase", "both"), default="both")
    args = parser.parse_args()
    for shape in ("binance", "coinbase") if args.shape == "both" else (args.shape,):
        bench(shape, args.rows, args.repeat)


if __name__ == "__main__":
    main()
