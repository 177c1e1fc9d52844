"""Analytics: the metric set (the CLI's JSON), the daily series for charts, the
correlation matrix and the what-if of hypothetical holdings."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from quantdesk.api.deps import Caller, CallerDep
from quantdesk.api.schemas import Id, WhatIfIn
from quantdesk.domain.errors import InvalidInput
from quantdesk.services import analytics, analytics_view, materialize
from quantdesk.services.lru import Lru
from quantdesk.services.portfolio import LedgerCache

router = APIRouter(prefix="/analytics", tags=["analytics"])
log = logging.getLogger("quantdesk.api")


class AnalyticsQuery(BaseModel):
    """The options of ``quantdesk analytics``, as query parameters."""

    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None
    period: Literal["1M", "3M", "YTD", "1Y", "3Y", "5Y", "ALL"] | None = None
    benchmark: str | None = Field(
        default=None, min_length=1, max_length=40, description="Default: the user's setting."
    )
    risk_free: float | None = Field(
        default=None, gt=-0.5, lt=1, description="Default: the user's setting."
    )
    confidence: str = Field(
        default="0.95,0.99", max_length=100, description="VaR confidences, comma separated"
    )
    horizon: int = Field(default=1, ge=1, le=250)
    calendar: Literal["auto", "trading", "daily"] = "auto"
    account_id: Id | None = None
    account: str | None = Field(default=None, max_length=100, description="An account by name")
    asset_class: Literal["stock", "etf", "fund", "bond", "crypto", "cash", "other"] | None = None
    explain: bool = False


def _needs_store(caller: Caller, query: AnalyticsQuery) -> bool:
    """Whether the options of ``query`` read the database (an account named, or the
    user's default benchmark or rate not in memory)."""
    if query.account_id is not None or query.account is not None:
        return True
    defaulted = query.benchmark is None or query.risk_free is None
    return defaulted and caller.settings_cache().get(caller.user_id) is None


def options_of(caller: Caller, query: AnalyticsQuery) -> analytics.Options:
    try:
        confidences = tuple(float(c) for c in query.confidence.split(",") if c.strip())
    except ValueError:
        raise InvalidInput(
            f"confidence takes fractions such as 0.95,0.99, got {query.confidence!r}"
        ) from None
    account = query.account
    if query.account_id is not None or account is not None:
        with caller.uow(commit=False) as store:
            if query.account_id is not None:
                account = store.account_by_id(query.account_id).name
            elif account is not None:
                account = store.account(account).name
    benchmark, risk_free = query.benchmark, query.risk_free
    if benchmark is None or risk_free is None:
        defaults = caller.user_settings()
        benchmark = defaults.benchmark if benchmark is None else benchmark
        risk_free = float(defaults.risk_free) if risk_free is None else risk_free
    options = analytics.Options(
        start=query.start,
        end=query.end,
        period=query.period,
        benchmark=benchmark.strip().upper(),
        risk_free=risk_free,
        confidences=confidences,
        horizon=query.horizon,
        calendar=query.calendar,
        account=account,
        asset_class=query.asset_class,
    )
    options.validate()
    return options


def closes_cache(caller: Caller) -> analytics.ClosesCache:
    """This app's closes as float arrays, reused while no close changed."""
    return caller.services.cache("closes", analytics.ClosesCache)


def ledger_cache(caller: Caller) -> LedgerCache:
    """This app's recently read ledgers, reused while their revision stands."""
    return caller.services.cache("ledgers", LedgerCache)


def _materialized(
    caller: Caller, options: analytics.Options, *, explain: bool, stale_prices: bool = False
) -> materialize.Materialized:
    return materialize.materialized_analytics(
        caller.uow,
        caller.price_cache(),
        options,
        clock=caller.services.clock,
        explain=explain,
        closes_cache=closes_cache(caller),
        ledger_cache=ledger_cache(caller),
        stats_cache=caller.services.cache("market-stats", materialize.MarketStatsCache),
        stale_prices=stale_prices,
    )


def _answer_of(
    caller: Caller, options: analytics.Options, explain: bool, *, key: tuple[Any, ...] | None = None
) -> Answer:
    """The answer to the options. With ``key`` (a GET /analytics), a stored answer that
    only market closes made stale is returned at once, and computed again in the
    background (:class:`_Refresher`), unless this process just refreshed the caller's
    prices (:func:`forget_answers`): then it is computed now."""
    answers = _answers(caller)
    stale_ok = key is not None and not answers.wants_fresh(caller.user_id)
    found = _materialized(caller, options, explain=explain, stale_prices=stale_ok)
    if key is not None and found.stale:
        fresh = Caller(caller.principal, caller.services)  # its own memo: reads anew
        caller.services.cache("analytics-refresher", _Refresher).refresh(
            key, lambda: _answer_of(fresh, options, explain), answers
        )
    elif key is not None:
        answers.served_fresh(caller.user_id)
    return _body(found.payload), found.versions


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def _answer_key(
    caller: Caller, options: analytics.Options, explain: bool, revision: int
) -> tuple[Any, ...]:
    return (
        caller.user_id,
        materialize.request_key(options, explain=explain),
        revision,
        caller.principal.market,
        caller.services.clock().date(),
    )


def _answers(caller: Caller) -> _Answers:
    return caller.services.cache("analytics-answers", _Answers)


def _analyze(caller: Caller, options: analytics.Options) -> analytics.Report:
    return analytics.analyze(
        caller.uow,
        caller.price_cache(),
        options,
        clock=caller.services.clock,
        closes_cache=closes_cache(caller),
        ledger_cache=ledger_cache(caller),
    )


def fresh_analytics(caller: Caller, query: AnalyticsQuery) -> dict[str, Any]:
    """The analytics of a query, as stored or recomputed (GET /analytics's answer), kept
    as this process's answer to the query at the ledger revision they were computed at
    (a GET /analytics after an edit is then served from memory)."""
    options = options_of(caller, query)
    answers = _answers(caller)
    mark = answers.mark()
    found = _materialized(caller, options, explain=query.explain)
    if found.versions is not None:
        key = _answer_key(caller, options, query.explain, found.versions[0])
        answers.put(key, (_body(found.payload), found.versions), mark)
    return found.payload


Query_ = Annotated[AnalyticsQuery, Query()]

#: How long an answer is served from this process without asking the database whether
#: market closes changed (a change of the user's own ledger is seen at once: the ledger
#: revision, read with the session or token, is part of the key).
PRICE_RECHECK_SECONDS = 5.0


def forget_answers(caller: Caller) -> None:
    """After the caller's prices changed: their next analytics are read afresh (computed
    now, not served stale while computed in the background)."""
    answers = caller.services.caches.get("analytics-answers")
    if answers is not None:
        answers.forget(caller.user_id)


#: An answer and the versions it was computed from (``Materialized.versions``).
Answer = tuple[bytes, tuple[int, int, int] | None]


class _Answers:
    """Serialized analytics answers by user, request, ledger revision, market and day.

    Single flight: a missing answer is computed once per key, by the request that asks
    first; the requests asking meanwhile wait for it and get its answer, or its error
    (an error is never stored: the next request computes afresh). Stale while
    revalidate: an answer older than ``recheck`` seconds (PRICE_RECHECK_SECONDS) is
    revalidated by one request while the others keep getting it: it stands, and is
    served for another ``recheck`` seconds, if the versions it was computed from are
    still the database's (one small read), else it is computed again. A refresh that
    fails leaves it in place, serves it to the refreshing request too (the error is
    logged) and the next request tries again. Only market closes can make a stored answer
    stale: a ledger edit changes the revision, hence the key, so it is never served stale.
    """

    def __init__(
        self,
        size: int = 4096,
        *,
        recheck: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.recheck = recheck  # None: PRICE_RECHECK_SECONDS, read when asked
        self.clock = clock
        self.items: OrderedDict[tuple[Any, ...], tuple[Answer, float]] = OrderedDict()
        #: The computation in progress of each key being computed or refreshed.
        self.flights: dict[tuple[Any, ...], Future[Answer]] = {}
        #: Users whose prices this process just refreshed (:meth:`forget`): their next
        #: answer is computed at once, never served stale.
        self.fresh: set[int] = set()
        #: Bumped by every forget(): an answer computed elsewhere since is not kept.
        self.forgets = 0
        self.lock = threading.Lock()

    def _fresh(self, stored_at: float) -> bool:
        recheck = PRICE_RECHECK_SECONDS if self.recheck is None else self.recheck
        return self.clock() - stored_at <= recheck

    def cached(self, key: tuple[Any, ...]) -> bytes | None:
        """The answer if it can be served without computing or waiting: fresh, or stale
        while another request refreshes it. None: call :meth:`answer`."""
        with self.lock:
            found = self.items.get(key)
            if found is None or (not self._fresh(found[1]) and key not in self.flights):
                return None
            self.items.move_to_end(key)
            return found[0][0]

    def answer(
        self,
        key: tuple[Any, ...],
        compute: Callable[[], Answer],
        versions: Callable[[], tuple[int, int, int]] | None = None,
    ) -> bytes:
        """The answer of ``key``: stored, or computed by ``compute`` (blocks; call it off
        the event loop), at most one computation of a key at a time. ``versions``: reads
        the database's current versions, to revalidate a stale answer without computing
        it again."""
        with self.lock:
            found = self.items.get(key)
            flight = self.flights.get(key)
            if found is not None:
                self.items.move_to_end(key)
                if flight is not None or self._fresh(found[1]):
                    return found[0][0]
            if flight is not None:  # missing, being computed: wait for it below
                mine = False
            else:
                flight = self.flights[key] = Future()
                mine = True
        if not mine:
            return flight.result()[0]
        try:
            kept = found[0] if found is not None else None
            if kept is not None and kept[1] is not None and versions is not None:
                done = kept if versions() == kept[1] else compute()
            else:
                done = compute()
        except BaseException as error:
            with self.lock:
                if self.flights.get(key) is flight:
                    del self.flights[key]
            flight.set_exception(error)  # to the requests waiting for it, if any
            if found is None or not isinstance(error, Exception):
                raise
            log.warning("refreshing analytics failed; serving the stored answer", exc_info=True)
            return found[0][0]
        with self.lock:
            # not stored when forget() dropped the flight meanwhile (prices refreshed)
            if self.flights.get(key) is flight:
                del self.flights[key]
                self._keep(key, done)
        flight.set_result(done)
        return done[0]

    def mark(self) -> int:
        """Taken before computing an answer elsewhere (:meth:`put`)."""
        with self.lock:
            return self.forgets

    def put(self, key: tuple[Any, ...], done: Answer, mark: int) -> None:
        """Keep an answer computed elsewhere (the analytics an edit answers with, or one
        computed again in the background), unless prices were refreshed since ``mark``
        (it may have read them before) or a request is computing it."""
        with self.lock:
            if self.forgets == mark and key not in self.flights:
                self._keep(key, done)

    def _keep(self, key: tuple[Any, ...], done: Answer) -> None:
        self.items[key] = (done, self.clock())
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def wants_fresh(self, user_id: int) -> bool:
        with self.lock:
            return user_id in self.fresh

    def served_fresh(self, user_id: int) -> None:
        with self.lock:
            self.fresh.discard(user_id)

    def forget(self, user_id: int) -> None:
        """Drop a user's answers (their prices were just refreshed), and see that the
        computations in progress for them do not store what they read before, and that
        their next answer is computed rather than served stale."""
        with self.lock:
            self.fresh.add(user_id)
            self.forgets += 1
            for key in [k for k in self.items if k[0] == user_id]:
                del self.items[key]
            for key in [k for k in self.flights if k[0] == user_id]:
                del self.flights[key]


class _Refresher:
    """Computes again, one at a time in a thread of its own, the answers served stale
    because market closes changed since they were stored (a daily close of a widely held
    symbol makes every holder's answer stale at once: computed in their requests, they
    would queue behind each other). Each key is queued once; what is computed replaces
    the stale answer in memory and in the database."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="analytics-refresh")
        self.pending: set[tuple[Any, ...]] = set()
        self.lock = threading.Lock()

    def refresh(
        self, key: tuple[Any, ...], compute: Callable[[], Answer], answers: _Answers
    ) -> None:
        with self.lock:
            if key in self.pending:
                return
            self.pending.add(key)

        mark = answers.mark()

        def run() -> None:
            try:
                answers.put(key, compute(), mark)
            except Exception:  # the stale answer stays; the next stale read asks again
                log.warning("computing stale analytics again failed", exc_info=True)
            finally:
                with self.lock:
                    self.pending.discard(key)

        self.pool.submit(run)


@router.get("", response_model=dict[str, Any])
async def get_analytics(caller: CallerDep, query: Query_) -> Response:
    """Returns (simple, time- and money-weighted) and the risk metric set, exactly as
    ``quantdesk analytics --json`` prints them (docs/cli-json.md). Stored per request
    and recomputed only when the ledger, the prices or the day changed."""
    # async: a stored answer is served from the event loop without a thread; the
    # database is only read in the threadpool (an account named in the query, the user's
    # settings not in memory, or the answer to compute)
    if _needs_store(caller, query):
        options = await run_in_threadpool(options_of, caller, query)
    else:
        options = options_of(caller, query)
    key = _answer_key(caller, options, query.explain, caller.principal.ledger_revision)
    answers = _answers(caller)
    body = answers.cached(key)
    if body is None:

        def versions() -> tuple[int, int, int]:
            with caller.uow(commit=False) as store:
                return store.versions()

        body = await run_in_threadpool(
            answers.answer,
            key,
            lambda: _answer_of(caller, options, query.explain, key=key),
            versions,
        )
    return Response(body, media_type="application/json")


def _report(caller: Caller, query: AnalyticsQuery) -> analytics.Report:
    return _analyze(caller, options_of(caller, query))


@router.get("/history")
def get_history(caller: CallerDep, query: Query_) -> list[dict[str, Any]]:
    """The daily series for charts: value, net flow, return, cumulative return,
    drawdown and the benchmark's cumulative return (``quantdesk history --json``)."""
    return analytics_view.history_json(analytics.history_rows(_report(caller, query)))


@router.get("/correlation")
def get_correlation(caller: CallerDep, query: Query_) -> dict[str, Any]:
    """The correlation matrix of the held assets' daily returns over the period."""
    report = _report(caller, query)
    matrix = report.metrics.correlation
    symbols = [k.symbol for k in report.frames.instruments]
    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "symbols": symbols if matrix is not None else [],
        "matrix": []
        if matrix is None
        else [[analytics_view.number(v) for v in row] for row in matrix.tolist()],
        "warnings": report.warnings,
    }


def what_if_engine(caller: Caller, query: AnalyticsQuery) -> analytics.WhatIfEngine:
    """The what-if engine of a request, prepared once (it reads the ledger and prices;
    each what-if after that is pure numpy) and kept while the ledger revision, the market,
    the prices and the day stand. What-if is a POST: its principal is fresh."""
    options = options_of(caller, query)
    with caller.uow(commit=False) as store:
        prices = store.price_versions()
    p = caller.principal
    key = (
        p.user_id,
        p.ledger_revision,
        p.market,
        prices,
        caller.services.clock().date(),
        materialize.request_key(options, explain=False),
    )
    engines: Lru[analytics.WhatIfEngine] = caller.services.cache("what-if-engines", lambda: Lru(64))
    return engines.get_or_load(key, lambda: analytics.WhatIfEngine(_analyze(caller, options)))


@router.post("/what-if")
def what_if(body: WhatIfIn, caller: CallerDep, query: Query_) -> dict[str, Any]:
    """The metric set of the current holdings and of hypothetical ones (units added or
    removed per symbol), each held through the period; nothing is saved."""
    changes = {s.strip().upper(): v for s, v in body.changes.items()}
    result = what_if_engine(caller, query).evaluate(changes)
    return {
        "quantities": {s: [a, b] for s, (a, b) in result.quantities.items()},
        "current": analytics_view.metric_set_json(result.current),
        "hypothetical": analytics_view.metric_set_json(result.hypothetical),
    }
