"""The REST API over real HTTP on loopback: a holding edit to its recomputed analytics,
and the cached analytics under concurrent clients (issue: benchmarks/api).

(a) K sequential PATCH /api/v1/holdings/{id} {"quantity": ...} (If-Match: the version
    the previous answer's ETag gave), each answered with the analytics recomputed,
    timed end to end with httpx (request sent to answer read): p50/p95 for 10 assets
    x 1 year (goal p95 <= 30 ms) and 200 assets x 10 years (goal p95 <= 100 ms).
    Peer, in this process on the same database, each HTTP edit followed by one of its
    own: the same edit through the services directly (holdings.edit_holding, then
    materialize.materialized_analytics with the route's default options), so the cost
    of HTTP (auth, routing, validation, serialization, uvicorn, loopback, the client)
    shows as a ratio. Bounded by --edits and --edit-seconds.
(b) GET /api/v1/analytics (cached) from 50 concurrent clients for 30 s: goal >= 500
    requests/s on a 2-core machine, p99 <= 50 ms, zero errors. Two runs: a closed loop
    (each client asks again as soon as it is answered: the most the server does) and an
    open loop paced at the goal's 500 requests/s (the latency at that load; a closed
    loop of 50 clients at R requests/s waits 50/R s on average, so its p99 can only
    reach 50 ms above ~1,000 requests/s). The load generator writes plain HTTP/1.1 on
    asyncio streams, one keep-alive connection per client (~0.1 ms of client CPU a
    request); httpx.AsyncClient (--client httpx) spends several ms a request at 50
    connections and measures itself rather than the server. Peers: the stored analytics
    looked up in process (what a request costs when the route's memory misses), and
    the same load on GET /healthz (the ceiling of uvicorn and a sync route here).

The server is uvicorn (log level warning, no access log) in a subprocess (this script
with --serve) on 127.0.0.1 at a free port, over a temporary SQLite file, or over --db
(e.g. a PostgreSQL URL, migrated first). Each scenario is a user of its own, registered,
signed in and given an API token over HTTP, on the simulated market: one account holding
N exchange-traded assets, each bought on the first session Y years ago and traded every
quarter (--trades-per-year) at that day's close, and a simulated close of every session
stored labelled simulated. The simulated universe has 58 stocks, ETFs and funds; beyond
them the assets are synthetic stocks whose closes are a universe instrument's closes
times a seeded random walk (the universe is too small for 200 distinct assets).
--profile DIR adds a pass with py-spy on the server (when on PATH, or PY_SPY names it:
`pip install py-spy`) and cProfile on the in-process edits, and prints where the time
goes.

Run: .venv/bin/python benchmarks/api.py [--quick] [--edits 50] [--duration 30]
     [--clients 50] [--scenarios 10x1,200x10] [--db URL] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import math
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from quantdesk import bootstrap
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.market.providers.simulated import SimulatedMarket
from quantdesk.market.providers.simulated_universe import SPECS
from quantdesk.services import holdings, materialize, portfolio
from quantdesk.services.analytics import ClosesCache, Options
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.portfolio import LedgerCache
from quantdesk.services.prices import choose_market
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.unit_of_work import UserUnitOfWork
from rawhttp import RawConnection  # benchmarks/rawhttp.py

PASSWORD = "benchmark password 1"
ACCOUNT = "Bench"
API = "/api/v1"
EXCHANGE = (AssetType.STOCK, AssetType.ETF, AssetType.FUND)
#: Goals of the issue, per (assets, years): p95 of an edit over HTTP, in ms.
EDIT_GOALS = {(10, 1): 30.0, (200, 10): 100.0}
GET_RATE_GOAL = 500.0  # requests/s
GET_P99_GOAL = 50.0  # ms
CLOCK = bootstrap.utc_now


# the server ----------------------------------------------------------------------------
def serve(url: str, port: int) -> None:
    """The child process: the API at ``url`` served by uvicorn on 127.0.0.1:``port``."""
    import uvicorn  # noqa: PLC0415 - only the child serves

    from quantdesk.api.app import create_app  # noqa: PLC0415
    from quantdesk.api.settings import ApiSettings  # noqa: PLC0415

    parent = os.getppid()

    def orphaned() -> None:  # the benchmark died without stopping us: stop too
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    app = create_app(ApiSettings(database_url=url), engine=bootstrap.open_database(url))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server(url: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A uvicorn subprocess serving ``url``; yields its base URL once /healthz answers."""
    port = free_port()
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield base, child
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the portfolio -------------------------------------------------------------------------
@dataclass
class Scenario:
    assets: int
    years: int

    @property
    def name(self) -> str:
        return f"{self.assets}x{self.years}y"


@dataclass
class Seeded:
    user_id: int
    token: str
    trades: int
    closes: int
    seconds: float
    symbol: str


def sign_up(base: str, name: str) -> tuple[int, str]:
    """Register ``name`` over HTTP, sign in, and make an API token; (user id, token)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post(f"{API}/auth/register", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201, made.text
        session = client.post(f"{API}/auth/login", json={"username": name, "password": PASSWORD})
        assert session.status_code == 200, session.text
        issued = client.post(
            f"{API}/auth/tokens",
            json={"name": "benchmark"},
            headers={"X-CSRF-Token": session.json()["csrf_token"]},
        )
        assert issued.status_code == 201, issued.text
        return int(made.json()["id"]), str(issued.json()["token"])


def histories(scenario: Scenario, start: date, end: date) -> list[tuple[MarketSymbol, History]]:
    """A close of every NYSE session from ``start`` to ``end`` for each asset: the
    simulated universe's stocks, ETFs and funds, then synthetic stocks."""
    market = SimulatedMarket(bootstrap.DEFAULT_SIMULATED_SEED)
    listed = [s for s in SPECS if s.asset_type in EXCHANGE and s.listed < start]
    out: list[tuple[MarketSymbol, History]] = []
    for spec in listed[: scenario.assets]:
        symbol = MarketSymbol(spec.symbol, spec.asset_type, spec.currency)
        out.append((symbol, market.history(symbol, start, end)))
    rng = np.random.default_rng(11)
    for i in range(len(out), scenario.assets):
        base = out[i % len(listed)][1]
        closes = np.array([float(b.close) for b in base.bars])
        walk = closes * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(closes))))
        name = f"SIM{i:03d}"
        bars = tuple(
            Bar(b.day, Decimal(f"{max(v, 0.01):.2f}")) for b, v in zip(base.bars, walk, strict=True)
        )
        out.append((MarketSymbol(name, AssetType.STOCK), History(name, "USD", "simulated", bars)))
    return out


def trades_csv(series: list[tuple[MarketSymbol, History]], per_year: int, years: int) -> bytes:
    """A buy of about $10,000 of each asset on the first session, then ``per_year``
    trades a year of a tenth of that, alternately bought and sold, at the day's close."""
    lines = ["date,type,symbol,quantity,price,fees,asset_type"]
    count = per_year * years
    for i, (symbol, history) in enumerate(series):
        bars = history.bars
        first = bars[0]
        units = max(1, round(10_000 / float(first.close)))
        kind = symbol.asset_type.value
        lines.append(f"{first.day},buy,{symbol.symbol},{units},{first.close},0,{kind}")
        step = max(1, units // 10)
        for j in range(1, count + 1):
            bar = bars[min(len(bars) - 1, j * len(bars) // (count + 1) + i % 5)]
            side = "buy" if j % 2 else "sell"
            lines.append(f"{bar.day},{side},{symbol.symbol},{step},{bar.close},0,{kind}")
    return ("\n".join(lines) + "\n").encode()


def seed(engine: Engine, base: str, scenario: Scenario, per_year: int) -> Seeded:
    """A user on the simulated market with the scenario's account, trades and closes."""
    began = time.perf_counter()
    user_id, token = sign_up(base, f"bench-{scenario.name}-{uuid.uuid4().hex[:8]}")
    uow = UserUnitOfWork(engine, user_id)
    choose_market(uow, "simulated")
    portfolio.add_account(
        uow, ACCOUNT, kind="brokerage", institution=None, currency="USD", clock=CLOCK
    )
    yesterday = CLOCK().date() - timedelta(days=1)
    start = yesterday - timedelta(days=round(365.25 * scenario.years))
    series = histories(scenario, start, yesterday)
    store = SqlMarketData(engine, CLOCK)
    closes = sum(store.store_closes(symbol, history) for symbol, history in series)
    data = trades_csv(series, per_year, scenario.years)
    report = import_stream(
        uow, io.BytesIO(data), "bench-trades.csv", ImportOptions(account=ACCOUNT), clock=CLOCK
    )
    assert report.ok, [i.describe() for i in report.issues]
    seconds = time.perf_counter() - began
    return Seeded(user_id, token, report.added, closes, seconds, series[0][0].symbol)


# measures ------------------------------------------------------------------------------
def ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.array(seconds) * 1000, q))


@dataclass
class Edits:
    http: list[float] = field(default_factory=list)
    local: list[float] = field(default_factory=list)
    answer_bytes: int = 0
    stopped: bool = False


def edit_once(
    client: httpx.Client, holding: str, version: str, quantity: Decimal
) -> tuple[float, str, int]:
    began = time.perf_counter()
    answer = client.patch(
        f"{API}/holdings/{holding}",
        json={"quantity": str(quantity)},
        headers={"If-Match": f'"{version}"'},
    )
    took = time.perf_counter() - began
    assert answer.status_code == 200, answer.text
    body = answer.json()
    etag = answer.headers["ETag"].strip('"')
    assert body["holding"]["version"] == etag
    assert body["holding"]["quantity"] == str(quantity), body["holding"]
    assert body["analytics"]["end"] and body["analytics"]["twr"] is not None
    return took, etag, len(answer.content)


#: The in-process peer keeps the same caches as the server's app does.
CLOSES = ClosesCache()
LEDGERS = LedgerCache()


def local_once(
    uow: UserUnitOfWork, cache: Any, holding: str, version: str, quantity: Decimal
) -> tuple[float, str]:
    began = time.perf_counter()
    edited = holdings.edit_holding(
        uow, holding, version=version, quantity=quantity, clock=CLOCK, ledger_cache=LEDGERS
    )
    result = materialize.materialized_analytics(
        uow, cache, Options(), clock=CLOCK, closes_cache=CLOSES, ledger_cache=LEDGERS
    )
    took = time.perf_counter() - began
    assert not result.cached
    return took, edited.version


def run_edits(
    client: httpx.Client,
    uow: UserUnitOfWork,
    cache: Any,
    holding: dict[str, Any],
    count: int,
    warmup: int,
    budget: float,
    *,
    local: bool = True,
) -> Edits:
    """``count`` edits over HTTP, each followed by one in process (alternating
    quantities: every edit changes the holding, and both kinds see the same ledger);
    ``warmup`` pairs first, untimed (one only when a pair takes over a second). Stops
    early after ``budget`` seconds once 3 edits are timed. Without ``local``, each HTTP
    edit is followed by an untimed one over HTTP that puts the quantity back."""
    out = Edits()
    version = str(holding["version"])
    held = Decimal(str(holding["quantity"]))
    began = time.perf_counter()
    k = 0
    while len(out.http) < count:
        if len(out.http) >= 3 and time.perf_counter() - began > budget:
            out.stopped = True
            break
        timed = k >= warmup
        pair = time.perf_counter()
        took, version, size = edit_once(client, holding["id"], version, held + 1)
        out.answer_bytes = size
        if timed:
            out.http.append(took)
        if local:
            took, version = local_once(uow, cache, holding["id"], version, held)
            if timed:
                out.local.append(took)
        else:
            _, version, _ = edit_once(client, holding["id"], version, held)
        k += 1
        if not timed and time.perf_counter() - pair > 1.0:
            warmup = k
    return out


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    errors: Counter[str]
    client_cpu: float
    server_cpu: float | None
    answer_bytes: int
    #: Open loop: scheduled requests not sent by the end plus a grace period.
    missed: int = 0
    #: When each answered request started, in seconds from the start of the run.
    offsets: list[float] = field(default_factory=list)

    def slow_seconds(self, limit_ms: float) -> list[tuple[int, float, int]]:
        """(second, worst latency in ms, requests over ``limit_ms``) of each second of
        the run in which a request started that took longer than ``limit_ms``."""
        worst: dict[int, float] = {}
        over: Counter[int] = Counter()
        for start, took in zip(self.offsets, self.latencies, strict=True):
            second = int(start)
            worst[second] = max(worst.get(second, 0.0), took * 1000)
            if took * 1000 > limit_ms:
                over[second] += 1
        return [(t, worst[t], over[t]) for t in sorted(over)]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def hammer(
    base: str,
    token: str,
    clients: int,
    duration: float,
    server_pid: int,
    *,
    path: str = f"{API}/analytics",
    client: str = "raw",
    rate: float | None = None,
) -> Load:
    """``clients`` concurrent clients, each on a keep-alive connection of its own,
    GET ``path`` for ``duration`` seconds after two untimed requests each (warm-up).

    Closed loop (``rate`` None): each client sends its next request when the previous
    one is answered, as fast as the server goes. Open loop: the clients send on a fixed
    schedule that adds up to ``rate`` requests/s, and a latency counts from the request's
    scheduled time (a server that falls behind shows its queueing, no coordinated
    omission)."""
    latencies: list[float] = []
    starts: list[float] = []
    errors: Counter[str] = Counter()
    size = 0
    warm = asyncio.Barrier(clients + 1)
    go = asyncio.Event()
    times: dict[str, float] = {}
    missed = [0]  # scheduled requests never sent (open loop, server far behind)
    grace = min(10.0, duration)

    async def one(get: Callable[[str], Any], began: float | None = None) -> None:
        nonlocal size
        began = time.perf_counter() if began is None else began
        try:
            status, length = await get(path)
        except (OSError, asyncio.IncompleteReadError, httpx.HTTPError, ValueError) as error:
            errors[type(error).__name__] += 1
            return
        took = time.perf_counter() - began
        if status != 200:
            errors[f"HTTP {status}"] += 1
            return
        latencies.append(took)
        starts.append(began)
        size = length

    async def run_client(number: int, session: _Session) -> None:
        async with session.connection() as get:
            for _ in range(2):
                await one(get)
            await warm.wait()
            await go.wait()
            deadline = times["deadline"]
            if rate is None:
                while time.perf_counter() < deadline:
                    await one(get)
                return
            every = clients / rate
            due = times["began"] + every * number / clients
            while due < deadline:
                if time.perf_counter() > deadline + grace:  # far behind: give up the rest
                    missed[0] += math.ceil((deadline - due) / every)
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await one(get, due)
                due += every

    async with (_RawSession if client == "raw" else _HttpxSession)(base, token, clients) as session:
        tasks = [asyncio.create_task(run_client(i, session)) for i in range(clients)]
        await warm.wait()
        latencies.clear()
        starts.clear()
        if errors:
            for task in tasks:
                task.cancel()
            raise RuntimeError(f"errors while warming up: {dict(errors)}")
        cpu, server = time.process_time(), cpu_seconds(server_pid)
        times["began"] = time.perf_counter()
        times["deadline"] = times["began"] + duration
        go.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - times["began"]
        cpu = time.process_time() - cpu
        after = cpu_seconds(server_pid)
        server_cpu = None if server is None or after is None else after - server
    began = times["began"]
    offsets = [t - began for t in starts]
    return Load(seconds, latencies, errors, cpu, server_cpu, size, missed[0], offsets)


class _Session:
    async def __aenter__(self) -> _Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def connection(self) -> contextlib.AbstractAsyncContextManager[Callable[[str], Any]]:
        raise NotImplementedError


class _HttpxSession(_Session):
    """One httpx.AsyncClient with a pool of ``clients`` keep-alive connections."""

    def __init__(self, base: str, token: str, clients: int) -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
            timeout=30,
        )

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    @contextlib.asynccontextmanager
    async def connection(self) -> Any:
        async def get(path: str) -> tuple[int, int]:
            answer = await self.client.get(path)
            return answer.status_code, len(answer.content)

        yield get


class _RawSession(_Session):
    """Plain HTTP/1.1 GETs (benchmarks/rawhttp.py), a keep-alive connection per client:
    ~0.1 ms of client CPU a request, where httpx's pool costs several ms at 50."""

    def __init__(self, base: str, token: str, clients: int) -> None:
        self.base, self.headers = base, {"Authorization": f"Bearer {token}"}

    @contextlib.asynccontextmanager
    async def connection(self) -> Any:
        connection = RawConnection(self.base, self.headers)

        async def get(path: str) -> tuple[int, int]:
            status, body = await connection.get(path)
            return status, len(body)

        try:
            yield get
        finally:
            connection.close()


def cached_local(uow: UserUnitOfWork, cache: Any, count: int) -> list[float]:
    """The stored analytics looked up in process, one call at a time."""
    times = []
    for _ in range(count):
        began = time.perf_counter()
        result = materialize.materialized_analytics(uow, cache, Options(), clock=CLOCK)
        times.append(time.perf_counter() - began)
        assert result.cached
    return times


# profiles ------------------------------------------------------------------------------
def py_spy() -> str | None:
    """py-spy on PATH (or PY_SPY=/path/to/py-spy); not a dependency of the project."""
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


@contextlib.contextmanager
def sampled(pid: int, out: Path) -> Iterator[None]:
    """py-spy samples ``pid`` (collapsed stacks in ``out``) while the block runs."""
    spy = py_spy()
    if spy is None:
        print("    (no py-spy on PATH nor in PY_SPY: no server profile)")
        yield
        return
    child = subprocess.Popen(
        [
            *(spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250"),
            *("--nonblocking", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach
    try:
        yield
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def summarize_stacks(path: Path, top: int = 12) -> str:
    """Where the server's busy samples went, from py-spy's collapsed stacks: by part
    (the event loop thread, or the project function a worker thread runs), by project
    function anywhere on the stack, and by function at the top of the stack. Idle
    samples (a worker thread waiting for work, the event loop waiting in select) are
    left out."""
    if not path.exists():
        return "    (no samples)"
    parts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        raw = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        frames = [_short(f) for f in raw]
        if not frames:
            continue
        if frames[-1].startswith(_IDLE_LEAVES) and (
            len(frames) < 2 or frames[-2].startswith(_IDLE_CALLERS)
        ):
            idle += count
            continue
        total += count
        own[frames[-1]] += count
        ours = [f for r, f in zip(raw, frames, strict=True) if "quantdesk/" in r]
        for name in set(ours):
            inclusive[name] += count
        worker = any(f.startswith("WorkerThread.run (") for f in frames)
        if worker:
            parts[f"worker thread: {ours[0]}" if ours else "worker thread: other"] += count
        else:
            parts["event loop: uvicorn, h11, Starlette/FastAPI, socket I/O"] += count
    if not total:
        return "    (no samples)"

    def listing(counts: Counter[str]) -> list[str]:
        return [f"      {n / total:6.1%}  {name}" for name, n in counts.most_common(top)]

    return "\n".join(
        [
            f"    {total} busy samples ({idle} idle ones left out); shares of the busy ones",
            "    by part (the event loop, or what a worker thread runs):",
            *listing(parts),
            "    project functions, inclusive (anywhere on the stack):",
            *listing(inclusive),
            "    own (the function at the top of the stack):",
            *listing(own),
        ]
    )


def _short(frame: str) -> str:
    """``fn (path/to/module.py:12)`` as ``fn (module.py)``."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    return f"{name} ({Path(file).name})" if where else name


_IDLE_LEAVES = ("Condition.wait (", "EpollSelector.select (", "select (")
_IDLE_CALLERS = ("Queue.get (", "BaseEventLoop._run_once (")


def profile_local(run: Callable[[], object], out: Path, top: int = 15) -> str:
    """cProfile ``run``: the full listing into ``out`` (.prof and .txt), a summary back."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    profiler.dump_stats(out.with_suffix(".prof"))
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    out.with_suffix(".txt").write_text(text.getvalue())
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(ct for _, _, _, ct, _ in table.values())
    rows = ["    inclusive (cumulative time) and own time, share of the whole:"]
    by_cumulative = sorted(table.items(), key=lambda item: -item[1][3])
    for (file, line, name), (_, calls, own, cumulative, _) in by_cumulative[:top]:
        rows.append(
            f"      {cumulative / total:6.1%} {own / total:6.1%}  {name} ({file}:{line}) x{calls}"
        )
    rows.append("    own time, the largest:")
    by_own = sorted(table.items(), key=lambda item: -item[1][2])
    for (file, line, name), (_, calls, own, _, _) in by_own[:top]:
        rows.append(f"      {own / total:6.1%}  {name} ({file}:{line}) x{calls}")
    return "\n".join(rows)


# the run -------------------------------------------------------------------------------
@dataclass
class Row:
    scenario: str
    figure: str
    measured: str
    goal: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def parse_scenarios(text: str) -> list[Scenario]:
    out = []
    for item in text.split(","):
        assets, _, years = item.strip().lower().partition("x")
        out.append(Scenario(int(assets), int(years.rstrip("y"))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--scenarios", default="10x1,200x10", help="ASSETSxYEARS, comma separated")
    parser.add_argument("--edits", type=int, default=50, help="timed edits per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="untimed edits first")
    parser.add_argument(
        "--edit-seconds",
        type=float,
        default=150.0,
        help="stop a scenario's edits after this long (once 3 are timed)",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of GET load")
    parser.add_argument("--clients", type=int, default=50, help="concurrent GET clients")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator of (b): plain HTTP/1.1 on asyncio streams, or httpx.AsyncClient",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=GET_RATE_GOAL,
        help="(b) also at this offered rate, open loop (0: closed loop only)",
    )
    parser.add_argument("--trades-per-year", type=int, default=4)
    parser.add_argument("--get-on", default="all", help="scenarios for (b): all, none or names")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", type=Path, help="also profile; write profiles here")
    parser.add_argument("--timeout", type=float, default=1500.0, help="hard limit, seconds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 edits, 3 s of load")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    if args.quick:
        args.edits, args.warmup, args.duration = min(args.edits, 5), 1, min(args.duration, 3.0)
    args.edits = max(1, min(args.edits, 1000))
    args.duration = max(1.0, min(args.duration, 120.0))
    args.clients = max(1, min(args.clients, 200))

    def out_of_time(*_: object) -> None:
        raise TimeoutError(f"the benchmark ran past --timeout {args.timeout:.0f} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(max(1, int(args.timeout)))
    try:
        with tempfile.TemporaryDirectory(prefix="quantdesk-api-bench-") as tmp:
            run(args, Path(tmp))
    finally:
        signal.alarm(0)


def run(args: argparse.Namespace, tmp: Path) -> None:
    url = args.db or f"sqlite:///{tmp / 'api.db'}"
    if make_url(url).get_backend_name() != "sqlite":
        bootstrap.upgrade_database(url)
    engine = bootstrap.open_database(url)
    scenarios = parse_scenarios(args.scenarios)
    get_on = {
        s.name
        for s in scenarios
        if args.get_on == "all"
        or s.name in args.get_on.split(",")
        or f"{s.assets}x{s.years}" in args.get_on.split(",")
    }
    backend = make_url(url).get_backend_name()
    print(
        f"quantdesk API on uvicorn (subprocess) at 127.0.0.1, {backend} database; "
        f"{os.cpu_count()} CPUs; {args.edits} edits, {args.clients} clients x "
        f"{args.duration:g} s"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[Row] = []
    cache = bootstrap.market_data(engine, market="simulated", offline=False).cache
    with server(url, tmp / "server.log") as (base, child):
        for scenario in scenarios:
            rows += run_scenario(
                args, engine, base, child, cache, scenario, scenario.name in get_on
            )
        if get_on:
            rows.append(ceiling(args, base, child))
    engine.dispose()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("(another process busy on this machine inflates every figure; run it alone)")
    print()
    names = ("scenario", "figure", "measured", "goal")
    widths = [max(len(n), *(len(getattr(r, n)) for r in rows)) for n in names]
    print("  ".join(f"{n:<{w}}" for n, w in zip(names, widths, strict=True)))
    for r in rows:
        cells = [r.scenario, r.figure, r.measured, r.goal]
        print("  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)), r.verdict)


def ceiling(args: argparse.Namespace, base: str, child: subprocess.Popen[bytes]) -> Row:
    """The same load on GET /healthz (one SELECT 1, no auth): what uvicorn, the sync
    route's thread hop and the load generator allow on this machine at best."""
    seconds = min(args.duration, 5.0)
    result = asyncio.run(
        hammer(base, "-", args.clients, seconds, child.pid, path="/healthz", client=args.client)
    )
    server = f", server CPU {result.server_cpu / result.seconds:.0%}" if result.server_cpu else ""
    print(
        f"\nceiling: {args.clients} clients x {result.seconds:.1f} s of GET /healthz: "
        f"{result.rate:.0f} requests/s, p99 {ms(result.latencies, 99):.1f} ms, "
        f"client CPU {result.client_cpu / result.seconds:.0%}{server}"
    )
    return Row(
        "-", f"GET /healthz, {args.clients} clients (ceiling)", f"{result.rate:.0f}/s", "(peer)"
    )


def run_scenario(
    args: argparse.Namespace,
    engine: Engine,
    base: str,
    child: subprocess.Popen[bytes],
    cache: Any,
    scenario: Scenario,
    load: bool,
) -> list[Row]:
    name = scenario.name
    print(f"\n== {name}: {scenario.assets} assets x {scenario.years} year(s) ==")
    seeded = seed(engine, base, scenario, args.trades_per_year)
    print(
        f"    seeded in {seeded.seconds:.1f} s: {seeded.trades:,} trades, "
        f"{seeded.closes:,} simulated closes"
    )
    uow = UserUnitOfWork(engine, seeded.user_id)
    headers = {"Authorization": f"Bearer {seeded.token}"}
    rows: list[Row] = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        began = time.perf_counter()
        first = client.get(f"{API}/analytics")
        cold = time.perf_counter() - began
        assert first.status_code == 200, first.text
        payload = first.json()
        print(
            f"    first GET /analytics (computed and stored): {cold * 1000:.0f} ms, "
            f"{len(first.content) / 1024:.0f} KiB; {len(payload['correlation']['symbols'])} "
            f"assets, {payload['start']} to {payload['end']}, TWR {payload['twr']:.2%}, "
            f"volatility {payload['volatility']:.2%}"
        )
        for warning in payload.get("warnings", []):
            print(f"    analytics warning: {warning}")
        listed = client.get(f"{API}/holdings").json()["holdings"]
        holding = next(h for h in listed if h["symbol"] == seeded.symbol and h["editable"])
        edits = run_edits(client, uow, cache, holding, args.edits, args.warmup, args.edit_seconds)
        goal = EDIT_GOALS.get((scenario.assets, scenario.years))
        p50, p95 = ms(edits.http, 50), ms(edits.http, 95)
        l50, l95 = ms(edits.local, 50), ms(edits.local, 95)
        stopped = f" (--edit-seconds {args.edit_seconds:g} reached)" if edits.stopped else ""
        print(
            f"(a) {len(edits.http)} edits over HTTP{stopped}: p50 {p50:.1f} ms, p95 {p95:.1f} "
            f"ms (answer {edits.answer_bytes / 1024:.0f} KiB); in process: p50 {l50:.1f} ms, "
            f"p95 {l95:.1f} ms; HTTP / in-process (p50) = {p50 / l50:.2f}x"
        )
        rows.append(
            Row(
                name,
                f"edit over HTTP p50 / p95 ({len(edits.http)} edits)",
                f"{p50:.1f} / {p95:.1f} ms",
                f"p95 <= {goal:g} ms" if goal else "",
                verdict(p95 <= goal) if goal else "",
            )
        )
        rows.append(
            Row(
                name,
                "edit in process p50 / p95 (peer)",
                f"{l50:.1f} / {l95:.1f} ms",
                f"HTTP/peer {p50 / l50:.2f}x",
            )
        )
        if args.profile:
            profile_edits(args, client, uow, cache, child, seeded.symbol, name, len(edits.http))
        if not load:
            return rows
        client.get(f"{API}/analytics").raise_for_status()  # stored for the current inputs
        local_get = cached_local(uow, cache, 50)
        local_ms = statistics.median(local_get) * 1000
        print(
            f"    peer: the stored analytics looked up in process (materialized_analytics, "
            f"fingerprint unchanged), one at a time: {local_ms:.2f} ms median"
        )
        rows.append(
            Row(
                name,
                "stored-analytics lookup in process (peer)",
                f"{local_ms:.2f} ms",
                "(peer)",
            )
        )
        runs = [("closed loop", None)] + ([("paced", args.rate)] if args.rate else [])
        for label, rate in runs:
            result = asyncio.run(
                hammer(
                    base,
                    seeded.token,
                    args.clients,
                    args.duration,
                    child.pid,
                    client=args.client,
                    rate=rate,
                )
            )
            g50, g95, g99 = (ms(result.latencies, q) for q in (50, 95, 99))
            n_errors = sum(result.errors.values())
            cpu = f"client CPU {result.client_cpu / result.seconds:.0%}"
            if result.server_cpu is not None:
                cpu += f", server CPU {result.server_cpu / result.seconds:.0%} of one core"
            what = f"{label} at {rate:g}/s offered" if rate else label
            print(
                f"(b) {what}, {args.clients} clients x {result.seconds:.1f} s of cached GET "
                f"/analytics ({result.answer_bytes / 1024:.0f} KiB each): "
                f"{len(result.latencies):,} answers, {result.rate:.0f} requests/s, "
                f"p50 {g50:.1f} ms, p95 {g95:.1f} ms, p99 {g99:.1f} ms, {n_errors} errors "
                f"{dict(result.errors) or ''}; {cpu}"
            )
            slow = result.slow_seconds(GET_P99_GOAL) if rate else []
            if slow:  # when the stalls happen (a closed loop of 50 is always over)
                shown = ", ".join(f"{t}s: {n} (max {w:.0f} ms)" for t, w, n in slow[:12])
                more = f" and {len(slow) - 12} more" if len(slow) > 12 else ""
                print(
                    f"    answers over {GET_P99_GOAL:g} ms by second of the run they started "
                    f"in: {shown}{more}"
                )
            if result.missed:
                print(
                    f"    {result.missed:,} scheduled requests never sent: the server was "
                    f"still {min(10.0, args.duration):g} s behind the schedule at its end"
                )
            rows += [
                Row(
                    name,
                    f"cached GET {what}: requests/s",
                    f"{result.rate:.0f}",
                    f">= {GET_RATE_GOAL:g}",
                    verdict(result.rate >= GET_RATE_GOAL * (0.98 if rate else 1)),
                ),
                Row(
                    name,
                    f"cached GET {what}: p50 / p95 / p99",
                    f"{g50:.1f} / {g95:.1f} / {g99:.1f} ms",
                    f"p99 <= {GET_P99_GOAL:g} ms",
                    verdict(g99 <= GET_P99_GOAL),
                ),
                Row(name, f"cached GET {what}: errors", str(n_errors), "0", verdict(not n_errors)),
            ]
        if args.profile:
            stacks = args.profile / f"get-{name}.txt"
            seconds = min(args.duration, 10.0)
            with sampled(child.pid, stacks):
                asyncio.run(
                    hammer(base, seeded.token, args.clients, seconds, child.pid, client=args.client)
                )
            print(f"    server profile of {seconds:g} s of cached GET load ({stacks}):")
            print(summarize_stacks(stacks))
    return rows


def profile_edits(
    args: argparse.Namespace,
    client: httpx.Client,
    uow: UserUnitOfWork,
    cache: Any,
    child: subprocess.Popen[bytes],
    symbol: str,
    name: str,
    count: int,
) -> None:
    """py-spy on the server through ``count`` HTTP edits, then cProfile on as many
    in-process ones."""
    args.profile.mkdir(parents=True, exist_ok=True)
    stacks = args.profile / f"edit-http-{name}.txt"
    with sampled(child.pid, stacks):
        run_edits(
            client,
            uow,
            cache,
            holding_now(client, symbol),
            count,
            0,
            args.edit_seconds,
            local=False,
        )
    print(f"    server profile of {count} HTTP edits ({stacks}):")
    print(summarize_stacks(stacks))
    fresh = holding_now(client, symbol)

    def local_edits() -> None:
        version = str(fresh["version"])
        held = Decimal(str(fresh["quantity"]))
        for k in range(count):
            quantity = held + (1 if k % 2 == 0 else 0)
            _, version = local_once(uow, cache, fresh["id"], version, quantity)
        if count % 2:  # put it back
            local_once(uow, cache, fresh["id"], version, held)

    where = args.profile / f"edit-local-{name}"
    summary = profile_local(local_edits, where)
    print(f"    cProfile of {count} in-process edits ({where}.txt):")
    print(summary)


def holding_now(client: httpx.Client, symbol: str) -> dict[str, Any]:
    listed = client.get(f"{API}/holdings").json()["holdings"]
    found: dict[str, Any] = next(h for h in listed if h["symbol"] == symbol and h["editable"])
    return found


if __name__ == "__main__":
    main()
