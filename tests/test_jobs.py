"""Background jobs on RQ against a real Redis: a recompute stores the analytics the
dashboard asks for, the same work queued twice is one job, a failing job is retried and
completes, Redis down loses nothing, and each user sees only their own recomputes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from rq import SimpleWorker
from rq.registry import StartedJobRegistry
from sqlalchemy import Engine

from quantdesk import bootstrap, jobs
from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType
from quantdesk.domain.market import Bar, History, MarketSymbol
from quantdesk.services import analytics, connections, materialize, portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.settings import update_settings
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault
from tests.api.conftest import script
from tests.conftest import clock
from tests.connectors.kraken_server import API_KEY, SECRET, Kraken, trade

TRADES = (
    b"date,type,symbol,quantity,price,asset_type\n"
    b"2026-01-05,buy,VTI,10,100,etf\n2026-06-01,buy,BND,10,80,etf\n"
)
CLOSES = b"date,symbol,close\n2026-06-01,VTI,110\n2026-06-01,BND,80\n2026-11-20,VTI,120\n"
#: A database of its own on the test Redis server: the queue's keys never meet others'.
JOBS_DB = 7


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    base = os.environ.get("QUANTDESK_TEST_REDIS_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("QUANTDESK_TEST_REDIS_URL must be set under CI")
        pytest.skip("QUANTDESK_TEST_REDIS_URL is not set")
    url = base.rsplit("/", 1)[0] + f"/{JOBS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setenv("QUANTDESK_REDIS_URL", url)
    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0])  # retries at once in a burst
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The jobs' database is the worker's QUANTDESK_DATABASE_URL."""
    monkeypatch.setenv("QUANTDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    yield engine
    jobs.close_engines()


def _ledger(engine: Engine, tmp: Path, user: str = "ann") -> SqlUnitOfWork:
    uow = SqlUnitOfWork(engine, user, clock)
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    assert import_stream(uow, io.BytesIO(TRADES), "t.csv", ImportOptions("Broker"), clock=clock).ok
    closes = tmp / "closes.csv"
    closes.write_bytes(CLOSES)
    portfolio.import_prices(uow, closes, clock=clock)
    return uow


def _work(url: str) -> None:
    q = jobs.queue(url)
    SimpleWorker([q], connection=q.connection).work(burst=True)


def test_a_recompute_stores_the_analytics_the_dashboard_asks_for(
    queue_url: str, database: Engine, tmp_path: Path
) -> None:
    uow = _ledger(database, tmp_path)
    with uow(commit=False) as store:
        revision = store.ledger_revision()
    job = jobs.enqueue_recompute(jobs.queue(queue_url), "ann", revision)
    assert job.id.startswith("recompute-ann-") and job.id.endswith(f"-{revision}")
    _work(queue_url)
    assert "finished" == job.get_status(refresh=True)
    assert {"user": "ann", "computed": True} == {
        k: v for k, v in job.return_value().items() if k != "history_rows"
    }
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    served = materialize.materialized_analytics(uow, None, options, clock=bootstrap.utc_now)
    assert served.cached  # the page load is served from what the job stored


def test_the_nightly_run_recomputes_every_user_in_shares_of_users(
    queue_url: str, database: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(jobs, "NIGHTLY_SHARE", 2)
    ledgers = {name: _ledger(database, tmp_path, name) for name in ("ann", "bob", "cy")}
    night = jobs.enqueue_nightly(jobs.queue(queue_url))
    _work(queue_url)
    assert "finished" == night.get_status(refresh=True)
    shares = night.return_value()["recomputes"]
    assert 2 == len(shares)  # three users, two a job
    for job_id in shares:
        assert "finished" == jobs.queue(queue_url).fetch_job(job_id).get_status(refresh=True)
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    for uow in ledgers.values():
        served = materialize.materialized_analytics(uow, None, options, clock=bootstrap.utc_now)
        assert served.cached  # every user's page load is served from what was stored


def test_the_scheduled_sync_reads_every_users_connection_and_says_which_failed(
    queue_url: str, database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Kraken()
    server.trades = trade(
        "TCJTUK-GDK2Y-UXSY7S", "XXBTZUSD", "buy", 1_767_000_060.5, "500", "1", "1"
    )
    monkeypatch.setenv("QUANTDESK_CCXT_URLS", json.dumps({"kraken": server.url}))
    monkeypatch.setenv("QUANTDESK_CCXT_RATE_LIMIT_MS", "0")
    vault = Vault.from_environment()
    try:
        made = {}
        for name, secret in (("ann", SECRET), ("bob", "d3Jvbmc=")):
            uow = SqlUnitOfWork(database, name, clock)
            made[name] = connections.add_connection(
                uow, vault, provider="kraken", account="Kraken", api_key=API_KEY,
                secret=secret, clock=clock,
            ).id  # fmt: skip
        job = jobs.enqueue_sync(jobs.queue(queue_url))
        _work(queue_url)
        assert "finished" == job.get_status(refresh=True)
        assert {"synced": 1, "failed": {made["bob"]: "bad-key"}} == job.return_value()
        ann = connections.list_connections(SqlUnitOfWork(database, "ann", clock))[0]
        assert "ok" == ann.status and ann.synced_through["trades"] is not None
    finally:
        server.close()


def test_the_same_work_queued_twice_is_one_job(
    queue_url: str, database: Engine, tmp_path: Path
) -> None:
    _ledger(database, tmp_path)
    q = jobs.queue(queue_url)
    first = jobs.enqueue_recompute(q, "ann", 5)
    again = jobs.enqueue_recompute(q, "ann", 5)
    other = jobs.enqueue_recompute(q, "ann", 6)
    assert first.id == again.id != other.id
    assert 2 == len(q)
    assert jobs.enqueue_refresh(q).id == jobs.enqueue_refresh(q).id


def test_a_failing_job_is_retried_and_completes(
    queue_url: str, database: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _ledger(database, tmp_path)
    attempts: list[str] = []
    real = jobs.recompute

    def flaky(user: str) -> dict[str, Any]:
        attempts.append(user)
        if len(attempts) < 3:
            raise ConnectionError("the database went away")
        return real(user)

    monkeypatch.setattr(jobs, "recompute", flaky)  # RQ finds the job's function by name
    job = jobs.enqueue_recompute(jobs.queue(queue_url), "ann", 1)
    _work(queue_url)
    assert 3 == len(attempts)
    assert "finished" == job.get_status(refresh=True)
    assert job.return_value()["computed"] is True


def test_a_job_that_keeps_failing_is_shown_failed_with_its_error(
    queue_url: str, database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(user: str) -> dict[str, Any]:
        raise RuntimeError(f"cannot recompute {user}")

    monkeypatch.setattr(jobs, "recompute", broken)
    jobs.enqueue_recompute(jobs.queue(queue_url), "ann", 1)
    _work(queue_url)
    [shown] = jobs.jobs(jobs.queue(queue_url))
    assert ("failed", 0) == (shown.status, shown.retries_left)
    assert shown.id.startswith("recompute-ann-")
    assert "RuntimeError: cannot recompute ann" == shown.error


def test_changes_queue_their_recomputes_over_one_redis_connection(queue_url: str) -> None:
    """Every import and edit queues a recompute: they share the process's connection
    rather than each opening one (and leaving it open until a collection)."""
    server = redis.Redis.from_url(queue_url)
    jobs.after_change("ann", 1)  # the first one may connect
    opened = server.info("stats")["total_connections_received"]
    for revision in range(2, 7):
        assert jobs.after_change("ann", revision) is not None
    assert opened == server.info("stats")["total_connections_received"]
    assert 6 == len(jobs.queue(queue_url))
    server.close()


def test_redis_down_queues_nothing_and_fails_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
    assert jobs.after_change("ann", 3) is None
    monkeypatch.delenv("QUANTDESK_REDIS_URL")
    assert jobs.after_change("ann", 3) is None  # no queue configured


def test_an_upload_queues_a_recompute_that_only_its_user_sees(
    queue_url: str, database: Engine
) -> None:
    app: FastAPI = create_app(
        ApiSettings(database_url="", offline=True), engine=database, clock=clock
    )
    ann, bob = script(app, "ann"), script(app, "bob")
    made = ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    assert 201 == made.status_code
    uploaded = ann.post(
        "/api/v1/uploads",
        files={"file": ("t.csv", TRADES, "text/csv")},
        data={"account": "Broker"},
    )
    assert 200 == uploaded.status_code, uploaded.text
    job_id = uploaded.json()["recompute_job"]
    assert job_id.startswith("recompute-ann-")
    assert [(job_id, "queued")] == [
        (j["id"], j["status"]) for j in ann.get("/api/v1/jobs").json()["jobs"]
    ]
    assert {"configured": True, "jobs": []} == bob.get("/api/v1/jobs").json()
    _work(queue_url)
    [done] = ann.get("/api/v1/jobs").json()["jobs"]
    assert ("finished", True) == (done["status"], done["result"]["computed"])


def test_a_worker_killed_mid_job_leaves_nothing_half_done_and_the_retry_completes(
    queue_url: str, database: Engine, tmp_path: Path
) -> None:
    """kill -9 of the worker (it runs the job itself) in the middle of a recompute:
    nothing is stored, the job is found abandoned, retried, and the next worker completes
    it."""
    _ledger(database, tmp_path)
    q = jobs.queue(queue_url)
    marker = tmp_path / "started"
    job = jobs._enqueue(
        q, "recompute-fault", "tests.job_functions.slow_recompute", "ann", str(marker)
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "QUANTDESK_REDIS_URL": queue_url,
        "QUANTDESK_DATABASE_URL": os.environ["QUANTDESK_DATABASE_URL"],
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "quantdesk"),
            "--db",
            env["QUANTDESK_DATABASE_URL"],
            "worker",
        ],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its scheduler is a child process: killed with it
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, "the worker never started the job"
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.1)
    finally:
        # kill -9 of the worker and its scheduler, as a supervisor stops its group (the
        # scheduler alone outlived the test before, orphaned)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert "started" == job.get_status(refresh=True)  # abandoned where it was
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    with SqlUnitOfWork(database, "ann", clock)(commit=False) as store:
        assert store.stored_analytics(materialize.request_key(options, explain=False)) is None

    # a live worker's maintenance finds it abandoned (its heartbeat lapsed) and retries it
    StartedJobRegistry(queue=q).cleanup(timestamp=time.time() + 3600)
    assert "queued" == job.get_status(refresh=True)
    _work(queue_url)
    assert "finished" == job.get_status(refresh=True)
    assert job.return_value()["computed"] is True


def test_scheduled_refreshes_form_one_chain_each_run_scheduling_the_next(
    queue_url: str, database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUANTDESK_OFFLINE", "1")  # no test reaches a real provider
    _ledger(database, tmp_path)
    q = jobs.queue(queue_url)
    soon = bootstrap.utc_now() + timedelta(seconds=1)
    first = jobs.schedule_refresh(q, soon, 900)
    assert "scheduled" == first.get_status(refresh=True)
    assert first.id == jobs.schedule_refresh(q, soon + timedelta(minutes=5), 900).id
    night = jobs.schedule_nightly(q, "02:00")
    assert night.id == jobs.schedule_nightly(q, "03:30").id
    assert night.id.startswith("nightly-at-")
    # the due refresh runs (as a worker's scheduler would move it) and schedules the next
    q.scheduled_job_registry.remove(first)
    q.enqueue_job(first)
    _work(queue_url)
    done = first.return_value()
    assert "finished" == first.get_status(refresh=True)
    assert {"VTI", "BND"} <= set(done["symbols"])
    following = q.fetch_job(done["next"])
    assert following is not None and "scheduled" == following.get_status(refresh=True)
    assert following.id != first.id
    with pytest.raises(InvalidInput, match="HH:MM"):
        jobs.next_time("2am", bootstrap.utc_now())


def test_recomputes_in_one_worker_keep_the_closes_they_read_yet_see_the_closes_added_since(
    database: Engine,
) -> None:
    """A worker keeps the market's closes it read from one nightly share to the next, and
    each user's settings are read with the share: a close appended between two runs is in
    the second run's answers, at each user's own risk-free rate."""
    market = SqlMarketData(database, clock)
    vti = MarketSymbol("VTI", AssetType.ETF)
    bars = tuple(Bar(date(2026, 11, d), Decimal(98 + d)) for d in (2, 3, 4, 5, 6))
    market.store_closes(vti, History("VTI", "USD", "yahoo", bars[:4]))
    ledgers = {}
    for name in ("ann", "bob"):
        uow = SqlUnitOfWork(database, name, clock)
        portfolio.add_account(
            uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
        )
        buy = b"date,type,symbol,quantity,price,asset_type\n2026-11-02,buy,VTI,10,100,etf\n"
        assert import_stream(uow, io.BytesIO(buy), "t.csv", ImportOptions("Broker"), clock=clock).ok
        ledgers[name] = uow
    update_settings(ledgers["bob"], {"risk_free": "0.02"}, clock=clock)
    chosen = {"ann": 0.04, "bob": 0.02}

    def served(name: str) -> dict[str, Any]:
        options = analytics.Options(period="ALL", benchmark="SPY", risk_free=chosen[name])
        found = materialize.materialized_analytics(
            ledgers[name], None, options, clock=bootstrap.utc_now
        )
        assert found.cached  # what the share stored, at the user's own settings
        return found.payload

    assert {"users": 2, "computed": 2} == jobs.recompute_users(["ann", "bob"])
    assert ["30", "30"] == [served(n)["unrealized_gain"] for n in ledgers]  # 10 x (103 - 100)
    market.store_closes(vti, History("VTI", "USD", "yahoo", bars))  # the night's close: 104
    assert {"users": 2, "computed": 2} == jobs.recompute_users(["ann", "bob"])
    assert ["40", "40"] == [served(n)["unrealized_gain"] for n in ledgers]
    assert [0.04, 0.02] == [served(n)["risk_free"] for n in ledgers]
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    with ledgers["ann"](commit=False) as store:
        stored = store.stored_analytics(materialize.request_key(options, explain=False))
    assert stored is not None  # the closes it read, fingerprinted: all five of VTI's
    assert {"etf:VTI": [5, "2026-11-02", "2026-11-06"]} == stored["price_stats"]


def test_a_share_stores_every_user_it_computed_and_names_the_one_that_failed(
    database: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledgers = {name: _ledger(database, tmp_path, name) for name in ("ann", "bob", "cy")}
    with ledgers["bob"](commit=False) as store:
        broken = store.user_id
    original = materialize.prepare_analytics

    def failing_for_bob(uow: Any, *args: Any, **kwargs: Any) -> Any:
        if uow.user_id == broken:
            raise RuntimeError("disk on fire")
        return original(uow, *args, **kwargs)

    monkeypatch.setattr(materialize, "prepare_analytics", failing_for_bob)
    with pytest.raises(RuntimeError, match=r"1 of 3 recomputes failed.*bob.*disk on fire"):
        jobs.recompute_users(["ann", "bob", "cy"])
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    monkeypatch.setattr(materialize, "prepare_analytics", original)
    served = {
        name: materialize.materialized_analytics(uow, None, options, clock=bootstrap.utc_now)
        for name, uow in ledgers.items()
    }
    assert {"ann": True, "bob": False, "cy": True} == {n: m.cached for n, m in served.items()}


def test_a_share_rewrites_each_users_history_from_their_own_change(
    database: Engine, tmp_path: Path
) -> None:
    """The stored states a share reads for all its users at once send each user's rewrite
    back to their own earliest change: what is stored then is what a fresh compute gives."""
    ledgers = {name: _ledger(database, tmp_path, name) for name in ("ann", "bob")}
    assert {"users": 2, "computed": 2} == jobs.recompute_users(["ann", "bob"])
    late = b"date,type,symbol,quantity,price,asset_type\n2026-03-02,buy,VTI,5,105,etf\n"
    report = import_stream(
        ledgers["ann"], io.BytesIO(late), "late.csv", ImportOptions("Broker"), clock=clock
    )
    assert report.ok and report.added == 1
    assert {"users": 2, "computed": 1} == jobs.recompute_users(["ann", "bob"])  # bob: as stored
    options = analytics.Options(period="ALL", benchmark="SPY", risk_free=0.04)
    fresh = analytics.analyze(ledgers["ann"], None, options, clock=bootstrap.utc_now)
    with ledgers["ann"](commit=False) as store:
        stored = store.history_of(materialize.scope_key(options, fresh.frames.calendar))
    assert [
        (d, round(v, 2)) for d, v in zip(fresh.frames.days, fresh.frames.values, strict=True)
    ] == [(d, round(float(v), 2)) for d, v, _ in stored]
    served = materialize.materialized_analytics(
        ledgers["ann"], None, options, clock=bootstrap.utc_now
    )
    assert served.cached
    assert served.payload["twr"] == pytest.approx(fresh.metrics.twr)
