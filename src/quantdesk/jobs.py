"""Background jobs on RQ (Redis Queue): analytics recomputed after imports and edits, the
prices of every held symbol refreshed, and a nightly recompute of every user.

Why RQ: the jobs call the same synchronous services the CLI and the API call, and RQ runs
plain Python functions (``quantdesk worker`` runs them in its own process, one at a time:
RQ's SimpleWorker); it needs only the Redis deployments already run for the price
cache; its jobs, their status and their failures are plain Redis data any process can
read (``quantdesk jobs``, ``GET /api/v1/jobs``).
Celery brings a broker abstraction and a beat process this does not need; arq wants
asyncio services; Dramatiq's retries are as good but its results need a middleware.

Every job is idempotent: its id names what it does and for which state (a recompute is for
one user at one ledger revision), so enqueueing the same work twice while it waits is one
job, and running it twice stores the same answer. A job that fails is retried
:data:`RETRIES` times after :data:`RETRY_INTERVALS` seconds. Jobs carry no database URL
(no password goes into Redis): a worker serves the database at ``QUANTDESK_DATABASE_URL``
(``quantdesk --db URL worker`` sets it), the one its API workers share.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus
from sqlalchemy import Connection, Engine, select

from quantdesk import bootstrap
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.materialized import AnalyticsWrite
from quantdesk.market.http import upstream_calls
from quantdesk.services import analytics, connection_sync, materialize, prices
from quantdesk.services.settings import DEFAULT_BENCHMARK, DEFAULT_RISK_FREE
from quantdesk.store import vault
from quantdesk.store.connections import every_connection
from quantdesk.store.market_data import SqlMarketData
from quantdesk.store.repositories import read_share, store_materialized
from quantdesk.store.settings import RecomputeChoices, recompute_choices
from quantdesk.store.tables import users
from quantdesk.store.unit_of_work import ReadingUnitOfWork, UserUnitOfWork

log = logging.getLogger(__name__)
QUEUE_NAME = "quantdesk"
RETRIES = 3
RETRY_INTERVALS = [5, 30, 120]
#: Users per nightly recompute job.
NIGHTLY_SHARE = 100
#: How long finished jobs (and their results) stay visible.
RESULT_TTL = 7 * 24 * 3600


_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    """One engine per database per worker process (jobs of the same database share it)."""
    if url not in _ENGINES:
        _ENGINES[url] = bootstrap.open_database(url)
    return _ENGINES[url]


def close_engines() -> None:
    """Dispose of the engines the jobs opened in this process (and what their recomputes
    kept)."""
    _KEPT.clear()
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def _database() -> Engine:
    return _engine(bootstrap.default_database_url())


def redis_url() -> str:
    url = os.environ.get("QUANTDESK_REDIS_URL")
    if not url:
        raise InvalidInput("background jobs need Redis: set QUANTDESK_REDIS_URL")
    return url


def queue(url: str | None = None) -> Queue:
    """The job queue at ``url`` (default ``QUANTDESK_REDIS_URL``): one per URL in this
    process, over one Redis connection pool. A client made for each call opened a new
    connection for every import and edit that queued a recompute (about 1 ms of the
    request's CPU) and left it open until the cycle collector found it."""
    return _queue_at(url or redis_url())


@functools.cache
def _queue_at(url: str) -> Queue:
    return Queue(QUEUE_NAME, connection=Redis.from_url(url))


def _user_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(users.c.name).order_by(users.c.name)).scalars())


# The jobs ---------------------------------------------------------------------------------
@dataclass
class _Kept:
    """What the recomputes of one worker process share from job to job, per engine: the
    price cache of each market, the closes already read as arrays and the market's facts
    the fingerprints read. Every entry is keyed by the price versions it was read at, so
    a later job never takes a stale one: each nightly share then reads only what changed,
    not every close of the market again."""

    wirings: dict[str, bootstrap.MarketWiring]
    closes: analytics.ClosesCache
    stats: materialize.MarketStatsCache


_KEPT: dict[int, _Kept] = {}  # by id() of an engine of _ENGINES


class _Recomputer:
    """Recomputes users' analytics in one process, sharing between users what does not
    depend on the user: the price cache of each market, and the closes already read (a
    user without closes of their own reads the market's, the same for every user); and,
    within one job, the market's latest quotes, and the writes: stored together."""

    def __init__(self) -> None:
        self.engine = _database()
        kept = _KEPT.setdefault(
            id(self.engine),
            _Kept({}, analytics.ClosesCache(size=1024), materialize.MarketStatsCache()),
        )
        self.wirings, self.closes, self.stats = kept.wirings, kept.closes, kept.stats
        self.batch = analytics.BatchReads()  # lives as long as this job
        self.writes: list[tuple[int, AnalyticsWrite]] = []

    def choices(self, conn: Connection, names: list[str]) -> dict[str, RecomputeChoices]:
        """The ids and settings of those of ``names`` that are users, read at once, and
        (for more than one) their stored states and ledgers, read at once for them all."""
        chosen = recompute_choices(conn, names)
        if len(chosen) > 1:
            wanted = {
                c.user_id: (
                    c.market,
                    materialize.request_key(_dashboard_options(c), explain=False),
                )
                for c in chosen.values()
            }
            states, ledgers = read_share(conn, wanted)
            for user_id, state in states.items():
                self.batch.states[(user_id, wanted[user_id][1])] = state
            for user_id, (revision, ledger) in ledgers.items():
                self.batch.ledgers.put((user_id, revision), ledger)
        return chosen

    def __call__(
        self, conn: Connection, user: str, chosen: RecomputeChoices | None
    ) -> dict[str, Any]:
        """The user's recompute, reading on ``conn``; what it stores waits in ``writes``
        for :meth:`store`."""
        if chosen is None:  # gone since the job was queued: nothing to do
            return {"user": user, "computed": False, "reason": "no such user"}
        uow = ReadingUnitOfWork(conn, chosen.user_id, stored_market=chosen.market)
        if chosen.market not in self.wirings:
            self.wirings[chosen.market] = bootstrap.market_data(
                self.engine, market=chosen.market, offline=True
            )
        try:
            found = materialize.prepare_analytics(
                uow,
                self.wirings[chosen.market].cache,
                _dashboard_options(chosen),
                clock=bootstrap.utc_now,
                closes_cache=self.closes,
                stats_cache=self.stats,
                batch=self.batch,
            )
        except InvalidInput as e:  # an empty ledger has nothing to compute: done, and said
            return {"user": user, "computed": False, "reason": str(e)}
        if found.write is not None:
            self.writes.append((chosen.user_id, found.write))
        done = found.materialized
        return {"user": user, "computed": not done.cached, "history_rows": done.history_rows}

    def store(self) -> None:
        """Store the writes waiting, in one transaction (a handful of statements for a
        whole share, not several for each user)."""
        with self.engine.begin() as conn:
            store_materialized(conn, self.writes)
        self.writes = []


def _dashboard_options(chosen: RecomputeChoices) -> analytics.Options:
    """What the dashboard asks first (GET /analytics with the user's defaults)."""
    risk_free = DEFAULT_RISK_FREE if chosen.risk_free is None else chosen.risk_free
    return analytics.Options(
        period="ALL", benchmark=chosen.benchmark or DEFAULT_BENCHMARK, risk_free=float(risk_free)
    )


def recompute(user: str) -> dict[str, Any]:
    """Store the user's analytics as the dashboard asks for them (their benchmark and
    risk-free rate), so the next page load is served from the database."""
    run = _Recomputer()
    with run.engine.connect() as conn:
        done = run(conn, user, run.choices(conn, [user]).get(user))
    run.store()
    return done


def recompute_users(names: list[str]) -> dict[str, Any]:
    """:func:`recompute` of each of ``names`` in turn (the nightly run's share of one
    job): one process, one engine, the market's closes read once for them all, and what
    they store written together at the end. A user whose recompute fails is named in the
    result and the others go on (and are stored); the job fails (and is retried, redoing
    only what is not stored) if any did."""
    run = _Recomputer()
    computed, failed = 0, {}
    with run.engine.connect() as conn:  # every read of the share on one connection
        chosen = run.choices(conn, names)
        for name in names:
            try:
                computed += bool(run(conn, name, chosen.get(name))["computed"])
            except Exception as error:  # one user's failure is reported below, not raised
                log.exception("recompute of %s failed", name)
                failed[name] = f"{type(error).__name__}: {error}"
    run.store()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(names)} recomputes failed: {failed}")
    return {"users": len(names), "computed": computed}


def refresh_all(every: int | None = None) -> dict[str, Any]:
    """Quotes and closes of every symbol any user holds, each fetched once: the holdings
    of every user of a market are read at once (one query), and the market's price cache
    asked once per symbol (quotes within their TTL and stored closes are not fetched
    again). With ``every`` (seconds), the next refresh is scheduled that much later
    (``quantdesk jobs schedule``)."""
    engine = _database()
    before = {p: upstream_calls(p) for p in prices.PROVIDERS}
    symbols: set[str] = set()
    errors: dict[str, str] = {}
    held = SqlMarketData(engine, bootstrap.utc_now).held_by_market()
    for market, holding in sorted(held.items()):
        wiring = bootstrap.market_data(engine, market=market, offline=bootstrap.offline_requested())
        report = prices.refresh_held(
            holding.held,
            holding.currencies,
            None if wiring.offline else wiring.cache,
            clock=bootstrap.utc_now,
            simulated=wiring.simulated_closes,
            benchmarks=prices.benchmark_symbols(
                holding.held, holding.benchmarks, DEFAULT_BENCHMARK
            ),
        )
        symbols.update(report.symbols)
        errors.update(report.errors)
    calls = {p: upstream_calls(p) - before[p] for p in prices.PROVIDERS}
    found: dict[str, Any] = {"symbols": sorted(symbols), "errors": errors, "upstream_calls": calls}
    if every:
        due = bootstrap.utc_now() + timedelta(seconds=every)
        found["next"] = schedule_refresh(queue(), due, every).id
        found["sync"] = enqueue_sync(queue()).id  # the connections, on the same schedule
    return found


def sync_all() -> dict[str, Any]:
    """Sync every user's connections (their exchanges' new history into their ledgers);
    a connection that fails says why on itself and the others go on."""
    engine = _database()
    box = vault.current()
    done: dict[str, Any] = {"synced": 0, "failed": {}}
    for user_id, connection_id in every_connection(engine):
        report = connection_sync.sync_connection(
            UserUnitOfWork(engine, user_id), box, connection_id, clock=bootstrap.utc_now
        )
        if report.error:
            done["failed"][connection_id] = report.error_kind
        else:
            done["synced"] += 1
    return done


def nightly(at: str | None = None) -> dict[str, Any]:
    """Refresh every held symbol, then enqueue a recompute of every user, in jobs of
    :data:`NIGHTLY_SHARE` users each (a job per user would repeat each job's setup per
    user; one job for all would leave every worker but one idle). With ``at``
    (HH:MM, UTC), the next night's run is scheduled then."""
    refreshed = refresh_all()
    q = queue()
    names = _user_names(_database())
    day = bootstrap.utc_now().strftime("%Y%m%d")
    queued = [
        _enqueue(
            q,
            f"nightly-{day}-users-{start // NIGHTLY_SHARE:05d}",
            f"{__name__}.recompute_users",
            names[start : start + NIGHTLY_SHARE],
        ).id
        for start in range(0, len(names), NIGHTLY_SHARE)
    ]
    found: dict[str, Any] = {
        "refreshed": len(refreshed["symbols"]),
        "users": len(names),
        "recomputes": queued,
    }
    if at:
        found["next"] = schedule_nightly(q, at).id
    return found


# Enqueueing -------------------------------------------------------------------------------
def _slug(user: str) -> str:
    """A user name as RQ takes it in a job id (letters, digits, - and _), kept apart from
    every other name by a short hash."""
    readable = re.sub(r"[^A-Za-z0-9_]", "_", user)[:40]
    return f"{readable}-{hashlib.sha256(user.encode()).hexdigest()[:8]}"


def _enqueue(q: Queue, job_id: str, func: str, *args: Any, at: datetime | None = None) -> Job:
    """The job ``job_id``: the one already waiting, scheduled or running, else a new one
    (run ``at`` that time, by a worker's scheduler, when given). ``func`` is the job's
    import path (what RQ stores and the worker imports)."""
    existing = q.fetch_job(job_id)
    if existing is not None and existing.get_status(refresh=True) in (
        JobStatus.QUEUED,
        JobStatus.STARTED,
        JobStatus.DEFERRED,
        JobStatus.SCHEDULED,
    ):
        return existing
    options: dict[str, Any] = {
        "job_id": job_id,
        "retry": Retry(max=RETRIES, interval=RETRY_INTERVALS),
        "result_ttl": RESULT_TTL,
        "failure_ttl": RESULT_TTL,
        "description": job_id,
    }
    if at is not None:
        scheduled: Job = q.enqueue_at(at, func, *args, **options)
        return scheduled
    return q.enqueue(func, *args, **options)


def enqueue_recompute(q: Queue, user: str, revision: int | None = None) -> Job:
    """Recompute ``user``'s analytics (at ledger ``revision``: one job per revision)."""
    if revision is None:
        with _database().connect() as conn:
            revision = conn.execute(
                select(users.c.ledger_revision).where(users.c.name == user)
            ).scalar_one_or_none()
        if revision is None:
            raise InvalidInput(f"no user named {user!r}")
    return _enqueue(q, f"recompute-{_slug(user)}-{revision}", f"{__name__}.recompute", user)


def enqueue_refresh(q: Queue, now: datetime | None = None) -> Job:
    """Refresh every held symbol (one job per hour: a second request that hour is the
    same job)."""
    hour = (now or bootstrap.utc_now()).strftime("%Y%m%dT%H")
    return _enqueue(q, f"refresh-{hour}", f"{__name__}.refresh_all")


def enqueue_sync(q: Queue, now: datetime | None = None) -> Job:
    """Sync every connection (one job per minute: a second request that minute is the
    same job)."""
    minute = (now or bootstrap.utc_now()).strftime("%Y%m%dT%H%M")
    return _enqueue(q, f"sync-{minute}", f"{__name__}.sync_all")


def enqueue_nightly(q: Queue, now: datetime | None = None) -> Job:
    day = (now or bootstrap.utc_now()).strftime("%Y%m%d")
    return _enqueue(q, f"nightly-{day}", f"{__name__}.nightly")


def schedule_refresh(q: Queue, due: datetime, every: int) -> Job:
    """A refresh at ``due`` that schedules the next one ``every`` seconds after it ran:
    one job per minute slot, so scheduling twice is one chain."""
    if every < 60:
        raise InvalidInput("a scheduled refresh runs at most once a minute (every >= 60 s)")
    waiting = _scheduled(q, "refresh-at-")
    if waiting is not None:
        return waiting
    slot = due.strftime("%Y%m%dT%H%M")
    return _enqueue(q, f"refresh-at-{slot}", f"{__name__}.refresh_all", every, at=due)


def _scheduled(q: Queue, prefix: str) -> Job | None:
    """The chain's next run, if one is already scheduled (one chain, however often it
    is started)."""
    for job_id in q.scheduled_job_registry.get_job_ids():
        if job_id.startswith(prefix):
            found = q.fetch_job(job_id)
            if found is not None:
                return found
    return None


def next_time(at: str, now: datetime) -> datetime:
    """The next ``HH:MM`` (UTC) after ``now``."""
    try:
        hour, minute = (int(part) for part in at.split(":"))
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise InvalidInput(f"a time of day is HH:MM in UTC, such as 02:00, not {at!r}") from None
    return due if due > now else due + timedelta(days=1)


def schedule_nightly(q: Queue, at: str, now: datetime | None = None) -> Job:
    """The nightly run at the next ``at`` (HH:MM UTC), which schedules the one after."""
    waiting = _scheduled(q, "nightly-at-")
    if waiting is not None:
        return waiting
    due = next_time(at, now or bootstrap.utc_now())
    return _enqueue(q, f"nightly-at-{due:%Y%m%d}", f"{__name__}.nightly", at, at=due)


# Status -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobView:
    id: str
    status: str
    enqueued_at: datetime | None
    ended_at: datetime | None
    result: Any
    error: str | None
    retries_left: int | None


def _view(job: Job) -> JobView:
    error = None
    if job.get_status() == JobStatus.FAILED:
        latest = job.latest_result()
        info = (latest.exc_string if latest is not None else None) or ""
        error = info.strip().splitlines()[-1] if info.strip() else "failed"
    return JobView(
        job.id,
        JobStatus(job.get_status()).value,
        job.enqueued_at,
        job.ended_at,
        job.return_value() if job.get_status() == JobStatus.FINISHED else None,
        error,
        job.retries_left,
    )


def jobs(q: Queue, user: str | None = None) -> list[JobView]:
    """Recent jobs, newest first: every job, or ``user``'s recomputes and the shared
    refreshes."""
    ids: list[str] = []
    for registry in (
        q.started_job_registry,
        q.finished_job_registry,
        q.failed_job_registry,
        q.scheduled_job_registry,
        q.deferred_job_registry,
    ):
        ids.extend(registry.get_job_ids())
    ids.extend(q.job_ids)
    found = []
    for job in Job.fetch_many(list(dict.fromkeys(ids)), connection=q.connection):
        if job is None:
            continue
        if user is not None and job.id.startswith("recompute-") and job.args[:1] != (user,):
            continue
        if user is not None and job.id.startswith("nightly-"):
            continue
        found.append(_view(job))
    return sorted(
        found, key=lambda j: j.enqueued_at.timestamp() if j.enqueued_at else 0.0, reverse=True
    )


def job_json(j: JobView) -> dict[str, Any]:
    return {
        "id": j.id,
        "status": j.status,
        "enqueued_at": j.enqueued_at.isoformat() if j.enqueued_at else None,
        "ended_at": j.ended_at.isoformat() if j.ended_at else None,
        "result": j.result,
        "error": j.error,
        "retries_left": j.retries_left,
    }


__all__ = [
    "after_change",
    "enqueue_nightly",
    "enqueue_recompute",
    "enqueue_refresh",
    "jobs",
    "queue",
    "schedule_nightly",
    "schedule_refresh",
]


def after_change(user: str, revision: int) -> Job | None:
    """After an import or an edit that left ``user``'s ledger at ``revision``: recompute
    their analytics in the background when a queue is configured. Without Redis, or with
    Redis down, nothing is queued and nothing fails: the analytics are then computed when
    first asked for (slower, never wrong)."""
    if not os.environ.get("QUANTDESK_REDIS_URL"):
        return None
    try:
        return enqueue_recompute(queue(), user, revision)
    except (RedisError, OSError) as error:
        log.warning("recompute of %s not queued (Redis unavailable: %s)", user, error)
        return None
