"""Analytics: the metric set (the CLI's JSON), the daily series for charts, the
correlation matrix and the what-if of hypothetical holdings."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.api.deps import Caller, CallerDep
from quantdesk.api.schemas import Id, WhatIfIn
from quantdesk.domain.errors import InvalidInput
from quantdesk.services import analytics, analytics_view, materialize

router = APIRouter(prefix="/analytics", tags=["analytics"])


class AnalyticsQuery(BaseModel):
    """The options of ``quantdesk analytics``, as query parameters."""

    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None
    period: Literal["1M", "3M", "YTD", "1Y", "3Y", "5Y", "ALL"] | None = None
    benchmark: str = Field(default="SPY", min_length=1, max_length=40)
    risk_free: float = Field(default=0.04, gt=-0.5, lt=1)
    confidence: str = Field(
        default="0.95,0.99", max_length=100, description="VaR confidences, comma separated"
    )
    horizon: int = Field(default=1, ge=1, le=250)
    calendar: Literal["auto", "trading", "daily"] = "auto"
    account_id: Id | None = None
    account: str | None = Field(default=None, max_length=100, description="An account by name")
    asset_class: Literal["stock", "etf", "fund", "bond", "crypto", "cash", "other"] | None = None
    explain: bool = False


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
    options = analytics.Options(
        start=query.start,
        end=query.end,
        period=query.period,
        benchmark=query.benchmark.strip().upper(),
        risk_free=query.risk_free,
        confidences=confidences,
        horizon=query.horizon,
        calendar=query.calendar,
        account=account,
        asset_class=query.asset_class,
    )
    options.validate()
    return options


def fresh_analytics(caller: Caller, query: AnalyticsQuery) -> dict[str, Any]:
    return materialize.materialized_analytics(
        caller.uow,
        caller.price_cache(),
        options_of(caller, query),
        clock=caller.services.clock,
        explain=query.explain,
    ).payload


Query_ = Annotated[AnalyticsQuery, Query()]

#: How long an answer is served from this process without asking the database whether
#: market closes changed (a change of the user's own ledger is seen at once: the ledger
#: revision, read with the session or token, is part of the key).
PRICE_RECHECK_SECONDS = 5.0


def forget_answers(caller: Caller) -> None:
    """After the caller's prices changed: their next analytics are read afresh."""
    answers = caller.services.caches.get("analytics-answers")
    if answers is not None:
        answers.forget(caller.user_id)


class _Answers:
    """Serialized analytics answers by user, request, ledger revision, market and day."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], tuple[bytes, float]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            found = self.items.get(key)
            if found is None or time.monotonic() - found[1] > PRICE_RECHECK_SECONDS:
                return None
            self.items.move_to_end(key)
            return found[0]

    def forget(self, user_id: int) -> None:
        """Drop a user's answers (their prices were just refreshed)."""
        with self.lock:
            for key in [k for k in self.items if k[0] == user_id]:
                del self.items[key]

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        with self.lock:
            self.items[key] = (body, time.monotonic())
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


@router.get("", response_model=dict[str, Any])
def get_analytics(caller: CallerDep, query: Query_) -> Response:
    """Returns (simple, time- and money-weighted) and the risk metric set, exactly as
    ``quantdesk analytics --json`` prints them (docs/cli-json.md). Stored per request
    and recomputed only when the ledger, the prices or the day changed."""
    options = options_of(caller, query)
    p = caller.principal
    key = (
        p.user_id,
        materialize.request_key(options, explain=query.explain),
        p.ledger_revision,
        p.market,
        caller.services.clock().date(),
    )
    answers = caller.services.cache("analytics-answers", _Answers)
    body = answers.get(key)
    if body is None:
        payload = materialize.materialized_analytics(
            caller.uow,
            caller.price_cache(),
            options,
            clock=caller.services.clock,
            explain=query.explain,
        ).payload
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        answers.put(key, body)
    return Response(body, media_type="application/json")


def _report(caller: Caller, query: AnalyticsQuery) -> analytics.Report:
    return analytics.analyze(
        caller.uow, caller.price_cache(), options_of(caller, query), clock=caller.services.clock
    )


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


class _Engines:
    """What-if engines by user, ledger revision and request: preparing one reads the
    ledger and prices; each what-if after that is pure numpy."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], analytics.WhatIfEngine] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, caller: Caller, query: AnalyticsQuery) -> analytics.WhatIfEngine:
        options = options_of(caller, query)
        with caller.uow(commit=False) as store:
            revision = store.ledger_revision()
        today = caller.services.clock().date()
        key = (caller.user_id, revision, today, materialize.request_key(options, explain=False))
        with self.lock:
            engine = self.items.get(key)
            if engine is not None:
                self.items.move_to_end(key)
                return engine
        engine = analytics.WhatIfEngine(
            analytics.analyze(
                caller.uow, caller.price_cache(), options, clock=caller.services.clock
            )
        )
        with self.lock:
            self.items[key] = engine
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return engine


@router.post("/what-if")
def what_if(body: WhatIfIn, caller: CallerDep, query: Query_) -> dict[str, Any]:
    """The metric set of the current holdings and of hypothetical ones (units added or
    removed per symbol), each held through the period; nothing is saved."""
    changes = {s.strip().upper(): v for s, v in body.changes.items()}
    engines = caller.services.cache("what-if-engines", _Engines)
    result = engines.get(caller, query).evaluate(changes)
    return {
        "quantities": {s: [a, b] for s, (a, b) in result.quantities.items()},
        "current": analytics_view.metric_set_json(result.current),
        "hypothetical": analytics_view.metric_set_json(result.hypothetical),
    }
