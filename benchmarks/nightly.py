"""The nightly recompute (issue 9): every user's analytics recomputed after the day's
closes, on PostgreSQL, by `quantdesk worker` processes taking the nightly run's jobs
from Redis. Goal: 10,000 users x 20 holdings x 5 years in <= 60 s.

Setup (not timed): a fresh database (``--db``, dropped and created) and Redis database
(``--redis``, flushed); the simulated closes of ``--universe`` assets for ``--years``
years (every NYSE session, and SPY, the default benchmark); one template user, on the
simulated market, who imports a generic trades file: a buy of each of ``--holdings``
assets on the first session, then one trade of each a year; then ``--users`` - 1 users
cloned from the template inside PostgreSQL (INSERT ... SELECT), each holding its own
``--holdings`` assets of the universe (a different slice per user) at those assets' own
closes, with its own quantities. The clones' ledgers are what an import would store
(entries, accounts, revisions), so the recompute cannot tell them apart.

Timed, each a nightly run of RQ jobs (``jobs.enqueue_nightly``'s recompute jobs) drained
by ``--workers`` worker processes (`quantdesk worker --burst`):
  first night   no analytics stored yet: every user's full daily history is written;
  next night    one more session's closes stored (what a nightly refresh appends):
                each user's metrics recomputed, the history extended by one day.
Peer: the same next-night recompute of ``--peer-users`` users one at a time in this
process with nothing shared between users (a fresh price cache and closes cache per
user, as one job per user would have), per user, against the batched jobs per user.

Run: .venv/bin/python -u benchmarks/nightly.py [--users 10000] [--holdings 20]
     [--years 5] [--universe 100] [--workers 2]
     [--db postgresql+psycopg://postgres@127.0.0.1:5432/quantdesk_nightly]
     [--redis redis://127.0.0.1:6379/9]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import redis
from sqlalchemy import Engine, text

from api import CLOCK, Scenario, histories, trades_csv  # benchmarks/api.py
from quantdesk import bootstrap, jobs
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.services import materialize, portfolio, prices
from quantdesk.services.analytics import ClosesCache, Options
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.prices import choose_market
from quantdesk.store.market_data import SqlMarketData
from stack import fresh_database  # benchmarks/stack.py

ROOT = Path(__file__).resolve().parents[1]
QUANTDESK = str(Path(sys.executable).parent / "quantdesk")
GOAL_SECONDS = 60.0
TEMPLATE = "u00000"


def store_universe(
    engine: Engine, universe: int, years: int
) -> list[tuple[MarketSymbol, History]]:
    """The simulated closes of ``universe`` assets and SPY, through yesterday."""
    yesterday = CLOCK().date() - timedelta(days=2)
    start = yesterday - timedelta(days=round(365.25 * years))
    series = histories(Scenario(universe, years), start, yesterday)
    store = SqlMarketData(engine, CLOCK)
    names = {s.symbol for s, _ in series}
    if "SPY" not in names:
        spy = histories(Scenario(60, years), start, yesterday)
        series_spy = [(s, h) for s, h in spy if s.symbol == "SPY"]
        for symbol, history in series_spy:
            store.store_closes(symbol, history)
    for symbol, history in series:
        store.store_closes(symbol, history)
    return series


def seed_template(engine: Engine, series: list[tuple[MarketSymbol, History]], holdings: int) -> int:
    uow = bootstrap.unit_of_work(engine, TEMPLATE)
    choose_market(uow, "simulated")
    portfolio.add_account(uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=CLOCK)
    data = trades_csv(series[:holdings], 1, 5)
    report = import_stream(
        uow, io.BytesIO(data), "template.csv", ImportOptions(account="Broker"), clock=CLOCK
    )
    assert report.ok and report.added, [i.describe() for i in report.issues]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM users WHERE name = :n"), {"n": TEMPLATE}).scalar_one())
