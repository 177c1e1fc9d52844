"""The scaled-out stack on one machine (issue 9: benchmarks/stack): PostgreSQL, Redis,
`quantdesk serve --workers N` and `quantdesk worker`, under a bounded loopback load of
simulated users with mixed reads, grid edits and uploads.

Setup: a fresh PostgreSQL database (``--db``, dropped and created), a Redis database of
its own (``--redis``, flushed), U users registered, signed in and given API tokens over
HTTP, each with one account holding 5 ETFs and stocks and one crypto asset (BTC) bought
two years ago (closes stored once, shared); the load starts once the job worker has
finished the recomputes the seed's uploads queued. ``--warmup S``: S seconds of the same
load first, not measured (every worker's caches warm, as in a server that has been up).

Load (open loop, no coordinated omission; benchmarks/rawhttp.py, ~0.1 ms of client CPU
a request): each user sends one request every ``--think`` seconds on average
(exponential gaps) for ``--seconds``: 60% reads (GET /holdings, GET
/analytics?period=ALL), 25% grid edits (GET the holdings, PATCH one with its version:
a 409 from a race with the same user's own earlier edit counts apart, not as an
error), 10% uploads (a trades CSV, which queues a recompute job when it adds
anything), 5% price refreshes (POST /prices/refresh). A latency counts from the
request's scheduled time.

Market (``--market``): live (the default) is Yahoo on loopback
(benchmarks/fake_yahoo.py) behind the Redis price cache the workers share; its calls
during the load are counted and reported as quote calls per symbol batch per quote TTL
(goal: 1, however many workers and users ask). Bitcoin trades around the clock, so its
quote is asked once per TTL at any hour; the ETFs' and stocks' quotes only while NYSE
is open (a quote fetched while its market is closed stays fresh until it opens).
simulated is the offline market.
Reported per kind: count, p50, p95, p99, errors (5xx, refused connections, timeouts);
the jobs the worker finished; the CPU seconds the API workers, the job worker (its work
horses included), PostgreSQL and this load generator spent during the load, against the
machine's cores x the load's duration (where the capacity goes); the same load
against one API worker as the peer; and the machine's speed before and after (the CPU
of a fixed Python loop), to tell a change of the code from a change of the machine.

Run: .venv/bin/python benchmarks/stack.py [--users 200] [--seconds 60] [--workers 4]
     [--think 2.0] [--warmup 0] [--db postgresql+psycopg://postgres@127.0.0.1:5432/quantdesk_stack]
     [--redis redis://127.0.0.1:6379/8] [--market live|simulated] [--no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis
from sqlalchemy import create_engine, make_url, text

from api import free_port, sign_up  # benchmarks/api.py: the same registration and ports
from fake_yahoo import FakeYahoo  # benchmarks/fake_yahoo.py: the live market, counted
from rawhttp import RawConnection  # benchmarks/rawhttp.py: a client that costs ~0.1 ms

ROOT = Path(__file__).resolve().parents[1]
QUANTDESK = str(Path(sys.executable).parent / "quantdesk")
API = "/api/v1"
SYMBOLS = (
    ("VTI", "etf"),
    ("BND", "etf"),
    ("AAPL", "stock"),
    ("MSFT", "stock"),
    ("SPY", "etf"),
    ("BTC", "crypto"),  # quoted around the clock: the quote TTL is seen at any hour
)
GOAL_P99_MS = 200.0
#: The load's mix: each kind up to its cumulative share.
MIX = (("read", 0.6), ("edit", 0.85), ("upload", 0.95), ("refresh", 1.0))


def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (on its server's postgres database)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not answer /healthz in 90 s")


def trades(day: str, units: int) -> bytes:
    rows = ["date,type,symbol,quantity,price,asset_type"]
    rows += [f"{day},buy,{s},{units},100,{t}" for s, t in SYMBOLS]
    return ("\n".join(rows) + "\n").encode()


def seed_user(base: str, k: int, market: str) -> str:
    """User ``u{k}`` on ``market`` with one account and a priced portfolio; their API
    token. The first one also refreshes the prices (the closes are shared by every
    user: stored once)."""
    _, token = sign_up(base, f"u{k:04d}")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=300, headers=auth) as client:
        chosen = client.put(f"{API}/prices/market", json={"market": market})
        assert chosen.status_code == 200, chosen.text
        account = client.post(f"{API}/accounts", json={"name": "Broker", "kind": "brokerage"})
        assert account.status_code == 201, account.text
        up = client.post(
            f"{API}/uploads",
            files={"file": ("t.csv", trades("2024-12-02", 10 + k % 7), "text/csv")},
            data={"account": "Broker"},
        )
        assert up.status_code == 200, up.text
        if k == 0:
            refreshed = client.post(f"{API}/prices/refresh")
            assert refreshed.status_code == 200, refreshed.text
    return token


def seed(base: str, users: int, market: str) -> list[str]:
    """Users with a priced portfolio each (8 at a time: a password hash each costs); their
    API tokens."""
    first = seed_user(base, 0, market)
    with ThreadPoolExecutor(8) as pool:
        return [first, *pool.map(lambda k: seed_user(base, k, market), range(1, users))]


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    #: (seconds into the load a request was due, its latency): where the tail happens.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    #: Live market: the upstream calls during the load, by route, and each quote
    #: call's symbols.
    upstream: Counter[str] = field(default_factory=Counter)
    batches: list[tuple[str, ...]] = field(default_factory=list)
    #: CPU seconds spent during the load, by who spent them.
    cpu: dict[str, float] = field(default_factory=dict)
    #: How long the load ran, until its last answer (longer than asked when overloaded).
    cpu_wall: float = 0.0


def _processes() -> dict[int, tuple[int, str, int]]:
    """Every process: (parent, command name, CPU ticks of itself and its waited-for
    children)."""
    found: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # after the name: state, ppid, ...; utime, stime, cutime, cstime are fields 14-17
        found[int(entry.name)] = (int(fields[1]), name, sum(int(x) for x in fields[11:15]))
    return found


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree (``roots``: name -> pid), of every
    PostgreSQL process, and of this load generator."""
    tick = os.sysconf("SC_CLK_TCK")
    table = _processes()
    found: dict[str, float] = {}
    for label, root in roots.items():
        tree, grown = {root}, True
        while grown:
            more = {pid for pid, (parent, _, _) in table.items() if parent in tree} - tree
            grown = bool(more)
            tree |= more
        found[label] = sum(table[p][2] for p in tree if p in table) / tick
    found["PostgreSQL"] = sum(t for _, name, t in table.values() if name == "postgres") / tick
    mine = os.times()
    found["load generator"] = mine.user + mine.system
    return found


def report_cpu(result: Result) -> None:
    """Who spent the CPU during the load, against the cores x the load's duration."""
    cores, wall = os.cpu_count() or 1, result.cpu_wall
    spent = ", ".join(f"{who} {used:.0f} s" for who, used in result.cpu.items())
    print(f"CPU during the load ({cores} cores x {wall:.0f} s = {cores * wall:.0f} s): {spent}")


def machine_speed(repeats: int = 5) -> float:
    """CPU ms of a fixed pure-Python workload (median of ``repeats``): how fast this
    machine runs Python now. The same code's figures differ from day to day on a shared
    machine (up to 2x seen); this says whether a change of figures is the machine's."""
    times = []
    for _ in range(repeats):
        began = time.process_time()
        total = 0
        for k in range(2_000_000):
            total += k % 7
        times.append((time.process_time() - began) * 1000)
    assert total > 0
    return statistics.median(times)


def report_upstream(result: Result, seconds: float) -> None:
    """Quote calls per distinct symbol batch per quote TTL (goal: 1)."""
    from quantdesk.market.cache import DEFAULT_TTL  # noqa: PLC0415

    windows = max(1, math.ceil(seconds / DEFAULT_TTL))
    distinct = Counter(result.batches)
    calls = sum(distinct.values())
    print(
        f"upstream (Yahoo on loopback) during the load: {dict(result.upstream) or 0};"
        f" {calls} quote calls for {len(distinct)} distinct symbol batches over"
        f" {seconds:.0f} s with a {DEFAULT_TTL:.0f} s quote TTL ({windows} TTL windows):"
        f" {calls / (max(1, len(distinct)) * windows):.2f} calls per batch per TTL"
    )
    from quantdesk.domain.instruments import AssetType  # noqa: PLC0415
    from quantdesk.domain.market import MarketSymbol  # noqa: PLC0415
    from quantdesk.market.sessions import UsEquityHours  # noqa: PLC0415

    reopens = UsEquityHours().closed_until(MarketSymbol("VTI", AssetType.ETF), datetime.now(UTC))
    if reopens is not None:  # the equities' market is closed: say whose quotes were asked
        print(
            f"  (NYSE is closed until {reopens:%Y-%m-%d %H:%M} UTC: a quote fetched while its"
            " market is closed stays fresh until it opens, so only BTC's quote is asked per"
            " TTL now; the ETFs' and stocks' too in a run during market hours)"
        )


async def user_loop(
    base: str, token: str, seconds: float, think: float, result: Result, seed_: int
) -> None:
    rng = random.Random(seed_)
    connection = RawConnection(base, {"Authorization": f"Bearer {token}"})
    began = time.perf_counter()
    due = began + rng.expovariate(1 / think)
    while due < began + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        roll = rng.random()
        kind = next(k for k, share in MIX if roll < share)
        try:
            if kind == "read":
                status, _ = await connection.get(
                    rng.choice([f"{API}/holdings", f"{API}/analytics?period=ALL"])
                )
            elif kind == "edit":
                status, body = await connection.get(f"{API}/holdings")
                if status == 200:
                    rows = json.loads(body)["holdings"]
                    row = rng.choice([r for r in rows if r["symbol"] != "USD"] or rows)
                    status, _ = await connection.json(
                        "PATCH",
                        f"{API}/holdings/{row['id']}",
                        {"quantity": str(10 + rng.randint(0, 20)), "version": row["version"]},
                    )
            elif kind == "upload":
                status, _ = await connection.upload(
                    f"{API}/uploads", "t.csv", trades("2026-11-02", 1), {"account": "Broker"}
                )
            else:
                status, _ = await connection.request("POST", f"{API}/prices/refresh")
            took = time.perf_counter() - due
            if status == 409:
                result.conflicts += 1
            elif status >= 400:
                result.errors[f"{kind} HTTP {status}"] += 1
            else:
                result.latencies.setdefault(kind, []).append(took)
                result.timeline.append((due - began, took))
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            result.errors[f"{kind} {type(error).__name__}"] += 1
        due += rng.expovariate(1 / think)
    connection.close()


async def load(base: str, tokens: list[str], seconds: float, think: float) -> Result:
    result = Result()
    await asyncio.gather(
        *(user_loop(base, t, seconds, think, result, k) for k, t in enumerate(tokens))
    )
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(title: str, result: Result, seconds: float) -> float:
    print(f"\n{title}")
    print(f"{'kind':8} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    every: list[float] = []

    def line(kind: str, values: list[float]) -> str:
        cuts = " ".join(f"{pct(values, q):8.1f}" for q in (0.5, 0.95, 0.99))
        return f"{kind:8} {len(values):7d} {cuts}"

    for kind in ("read", "edit", "upload", "refresh"):
        values = result.latencies.get(kind, [])
        every += values
        print(line(kind, values))
    print(line("all", every) + f"   {len(every) / seconds:.0f} requests/s")
    print(f"errors: {dict(result.errors) or 0}; 409 (the same user's own race): {result.conflicts}")
    report_timeline(result, seconds)
    return pct(every, 0.99)


def report_timeline(result: Result, seconds: float, windows: int = 6) -> None:
    """p50 and p99 of the requests due in each part of the load: a tail that grows from
    start to end is a backlog (more work than capacity), one in a single window a stall."""
    width = seconds / windows
    parts = []
    for k in range(windows):
        due = [took for at, took in result.timeline if k * width <= at < (k + 1) * width]
        cuts = f"{pct(due, 0.5):.0f}/{pct(due, 0.99):.0f}"
        parts.append(f"{k * width:.0f}-{(k + 1) * width:.0f} s: {cuts}")
    print("p50/p99 ms by when the request was due: " + ", ".join(parts))


def drain(queue: redis.Redis, limit: float = 300) -> None:
    """Wait until the job worker has no job queued or running (at most ``limit`` s)."""
    from rq import Queue  # noqa: PLC0415

    jobs = Queue("quantdesk", connection=queue)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and (len(jobs) or jobs.started_job_registry.count):
        time.sleep(0.5)


def run_stack(
    args: argparse.Namespace, workers: int, folder: Path
) -> tuple[Result, int, FakeYahoo | None]:
    fresh_database(args.db)
    queue = redis.Redis.from_url(args.redis)
    queue.flushdb()
    env = {**os.environ, "QUANTDESK_REDIS_URL": args.redis, "QUANTDESK_DATABASE_URL": args.db}
    upstream = None
    if args.market == "live":  # Yahoo on loopback, counting every call
        upstream = FakeYahoo()
        env.update(
            QUANTDESK_PROVIDERS="yahoo",
            QUANTDESK_YAHOO_BASE_URL=upstream.url,
            QUANTDESK_YAHOO_COOKIE_URL=f"{upstream.url}/cookie",
        )
        env.pop("QUANTDESK_OFFLINE", None)
    log = folder / f"stack-{workers}.log"
    subprocess.run(
        [QUANTDESK, "--db", args.db, "db", "upgrade"], check=True, env=env, capture_output=True
    )
    port = free_port()
    api = start(
        [QUANTDESK, "--db", args.db, "serve", "--port", str(port), "--workers", str(workers)],
        env,
        log,
    )
    worker = start([QUANTDESK, "--db", args.db, "worker"], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, api, log)
        tokens = seed(base, args.users, args.market)
        drain(queue)  # the seed's recompute jobs are setup, not load
        if args.warmup > 0:  # the same load, unmeasured: every worker's caches warm
            asyncio.run(load(base, tokens, args.warmup, args.think))
            drain(queue)
        time.sleep(2)
        before = Counter(upstream.calls) if upstream else Counter()
        batches_before = len(upstream.quoted) if upstream else 0
        roots = {"API workers": api.pid, "job worker": worker.pid}
        before_cpu, began = cpu_seconds(roots), time.perf_counter()
        # The generator's own collector paused while it measures: one of its full passes
        # (up to 265 ms on this machine) delayed every request due meanwhile, counted as
        # the server's latency.
        gc.collect()
        gc.disable()
        try:
            result = asyncio.run(load(base, tokens, args.seconds, args.think))
        finally:
            gc.enable()
        after_cpu = cpu_seconds(roots)
        result.cpu = {k: after_cpu[k] - before_cpu[k] for k in after_cpu}
        result.cpu_wall = time.perf_counter() - began
        if upstream is not None:
            result.upstream = Counter(upstream.calls) - before
            result.batches = upstream.quoted[batches_before:]
        from rq import Queue  # noqa: PLC0415

        done = len(Queue("quantdesk", connection=queue).finished_job_registry)
    finally:
        stop(api)
        stop(worker)
        queue.close()
        if upstream is not None:
            upstream.close()
    return result, done, upstream


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds of the same load before the measured one (warms every worker's caches)",
    )
    parser.add_argument(
        "--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/quantdesk_stack"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--no-peer", action="store_true", help="skip the 1-worker peer run")
    parser.add_argument("--logs", help="keep the servers' logs in this folder")
    parser.add_argument(
        "--market",
        choices=("live", "simulated"),
        default="live",
        help="live: Yahoo on loopback (benchmarks/fake_yahoo.py), its calls counted",
    )
    args = parser.parse_args()
    before = machine_speed()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.logs or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        stack, jobs_done, upstream = run_stack(args, args.workers, folder)
        title = (
            f"{args.workers} API workers + 1 job worker, {args.users} users, {args.seconds:.0f} s"
        )
        p99 = report(title, stack, args.seconds)
        print(f"recompute jobs finished by the worker: {jobs_done}")
        report_cpu(stack)
        if upstream is not None:
            report_upstream(stack, args.seconds)
        verdict = "PASS" if p99 <= GOAL_P99_MS and not stack.errors else "FAIL"
        print(f"goal: zero errors and p99 <= {GOAL_P99_MS:.0f} ms: {verdict}")
        if not args.no_peer:
            peer, _, _ = run_stack(args, 1, folder)
            peer_p99 = report("peer: 1 API worker, the same load", peer, args.seconds)
            print(f"p99 ratio 1 worker / {args.workers} workers: {peer_p99 / p99:.2f}x")
        every = [t for values in stack.latencies.values() for t in values]
        p50 = statistics.median(every) * 1000
        print(f"(p50 of every request, {args.workers} workers: {p50:.1f} ms)")
    print(
        f"machine speed: a fixed Python loop took {before:.0f} ms of CPU before the runs and"
        f" {machine_speed():.0f} ms after (compare runs on other days by it)"
    )


if __name__ == "__main__":
    main()
