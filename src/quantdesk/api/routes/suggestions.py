"""Target allocations, the suggestions they give (rebalancing trades, tax-loss harvesting,
risk alerts, each trade with its effect), optimized allocations and the order list (what
``quantdesk targets``, ``quantdesk suggest`` and ``quantdesk optimize`` show;
services/suggest.py, services/advice.py, services/optimize_plan.py). Nothing here trades:
suggestions are never executed."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.api.deps import Caller, CallerDep
from quantdesk.api.routes.analytics import AnalyticsQuery, what_if_engine
from quantdesk.api.schemas import Strict
from quantdesk.domain.errors import InvalidInput, NotFound
from quantdesk.services import advice, suggest
from quantdesk.services.analytics import WhatIfEngine
from quantdesk.services.optimize_plan import (
    OptimizeRequest,
    class_bounds,
    optimize_plan,
    optimized_json,
)
from quantdesk.services.summary import SummaryConfig, summarize

router = APIRouter(tags=["suggestions"])
#: The period the effects of suggestions are measured over.
EFFECTS_PERIOD = "1Y"


class TargetsIn(Strict):
    """The whole allocation (it replaces the stored one)."""

    weights: dict[str, Decimal] = Field(
        description="Weight by asset type in lower case (stock, etf, bond, fund, crypto, "
        "other) or by symbol; they must sum to exactly 1.",
        examples=[{"etf": "0.6", "bond": "0.3", "AAPL": "0.1"}],
    )
    band: Decimal = Field(
        default=suggest.DEFAULT_BAND, description="Tolerance around each target, 0.05 is ±5%."
    )
    min_trade: Decimal = Field(
        default=suggest.DEFAULT_MIN_TRADE, description="Trades worth less are dropped."
    )
    cash_flow: Decimal = Field(
        default=Decimal(0), description="Cash to invest (+) or withdraw (-), base currency."
    )
    concentration_limit: Decimal = Field(
        default=suggest.DEFAULT_CONCENTRATION_LIMIT,
        description="The largest weight one asset may have before an alert (0.25 is 25%).",
    )
    var_budget: Decimal = Field(
        default=suggest.DEFAULT_VAR_BUDGET,
        description="The 1-day 95% VaR allowed, as a fraction of the value.",
    )


class SuggestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = None
    min_loss: Decimal = Field(default=suggest.DEFAULT_MIN_LOSS, ge=0)
    short_rate: Decimal = Field(default=suggest.DEFAULT_SHORT_RATE, ge=0, le=1)
    long_rate: Decimal = Field(default=suggest.DEFAULT_LONG_RATE, ge=0, le=1)


class OptimizeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective: Literal[
        "max_sharpe", "min_volatility", "efficient_return", "efficient_risk", "risk_parity", "hrp"
    ] = "max_sharpe"
    covariance: Literal["sample", "ledoit_wolf"] = "ledoit_wolf"
    period: Literal["1Y", "3Y", "5Y", "ALL"] = "3Y"
    min_weight: float = Field(default=0.0, ge=0, le=1)
    max_weight: float = Field(default=1.0, gt=0, le=1)
    target_return: float | None = Field(default=None, description="Annual, for efficient_return")
    target_risk: float | None = Field(default=None, description="Annual, for efficient_risk")
    class_min: list[str] = Field(default=[], description="CLASS:MIN, e.g. bond:0.2")
    class_max: list[str] = Field(default=[], description="CLASS:MAX, e.g. crypto:0.1")


class OrdersQuery(SuggestQuery, OptimizeQuery):
    source: Literal["rebalance", "harvest", "optimize"] = "rebalance"


def _engine(caller: Caller, period: str) -> WhatIfEngine:
    return what_if_engine(caller, AnalyticsQuery(period=period))  # type: ignore[arg-type]


def _advice(caller: Caller, q: SuggestQuery) -> advice.Advice:
    engine, reason = None, None
    try:
        engine = _engine(caller, EFFECTS_PERIOD)
    except InvalidInput as e:
        reason = str(e)
    return advice.advise(
        caller.uow,
        engine,
        clock=caller.services.clock,
        as_of=q.as_of,
        min_loss=q.min_loss,
        short_rate=q.short_rate,
        long_rate=q.long_rate,
        no_engine_reason=reason,
    )


def optimize_request(q: OptimizeQuery) -> OptimizeRequest:
    return OptimizeRequest(
        objective=q.objective,
        covariance=q.covariance,
        min_weight=q.min_weight,
        max_weight=q.max_weight,
        target_return=q.target_return,
        target_risk=q.target_risk,
        class_bounds=class_bounds(q.class_min, q.class_max),
    )


AccountScope = Annotated[
    str | None,
    Query(
        max_length=100,
        description="An account by name: its own targets (it is then rebalanced on its own).",
    ),
]


@router.get("/targets")
def get_targets(caller: CallerDep, account: AccountScope = None) -> dict[str, Any]:
    """The caller's target allocation, or one account's own (empty weights when never
    set), and which accounts have targets of their own."""
    found = suggest.targets_json(suggest.show_targets(caller.uow, account))
    with caller.uow(commit=False) as store:
        found["accounts_with_targets"] = list(store.targets.scoped_accounts().values())
    return found


@router.delete("/targets", status_code=204)
def delete_targets(caller: CallerDep, account: AccountScope = None) -> Response:
    """Remove the portfolio's targets, or one account's own (it then follows the
    portfolio's again)."""
    suggest.clear_targets(caller.uow, account)
    return Response(status_code=204)


@router.put("/targets")
def put_targets(body: TargetsIn, caller: CallerDep, account: AccountScope = None) -> dict[str, Any]:
    """Replace the target allocation (of the portfolio, or of one account); weights not
    summing to 1 are a 422 naming the sum."""
    found = suggest.set_targets(
        caller.uow,
        body.weights,
        body.band,
        body.min_trade,
        cash_flow=body.cash_flow,
        concentration_limit=body.concentration_limit,
        var_budget=body.var_budget,
        account=account,
        clock=caller.services.clock,
    )
    return suggest.targets_json(found)


@router.get("/suggestions")
def get_suggestions(caller: CallerDep, query: Annotated[SuggestQuery, Query()]) -> dict[str, Any]:
    """Rebalancing trades toward the targets and the taxable lots whose sale would harvest
    a loss above ``min_loss`` (with wash-sale conflicts and replacements), each with its
    rationale and its effect on volatility, VaR, Sharpe and drift; and the risk alerts."""
    return advice.advice_json(_advice(caller, query), summary_available=_llm() is not None)


@router.get("/suggestions/optimize")
def get_optimized(caller: CallerDep, query: Annotated[OptimizeQuery, Query()]) -> dict[str, Any]:
    """An optimized allocation of the held instruments (PyPortfolioOpt), the efficient
    frontier with the current portfolio, and the trades that reach it; an infeasible
    constraint is a 422 naming it."""
    engine = _engine(caller, query.period)
    found = optimize_plan(caller.uow, engine, optimize_request(query), clock=caller.services.clock)
    return optimized_json(found)


def _llm() -> SummaryConfig | None:
    """The deployment's language model (``QUANTDESK_LLM_BASE_URL``), off when unset. A
    deployment setting, not a user's: a user-given URL would let any user make the
    server call any address."""
    return SummaryConfig.from_env(os.environ)


@router.post("/suggestions/summary")
def post_summary(caller: CallerDep, query: Annotated[SuggestQuery, Query()]) -> dict[str, Any]:
    """A plain-words summary of the suggestions by the deployment's language model. Every
    number in it must be one of the answer's (else 422 naming it); 404 when this
    deployment has no model, 503 when the model fails. The suggestions never depend on it."""
    config = _llm()
    if config is None:
        raise NotFound(
            "no language model is configured (QUANTDESK_LLM_BASE_URL): the suggestions "
            "work fully without one"
        )
    answer = advice.advice_json(_advice(caller, query), summary_available=True)
    written = summarize(answer, config)
    return {"text": written.text, "model": written.model, "endpoint": written.endpoint}


@router.get(
    "/suggestions/orders.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The order list"}},
)
def get_orders(caller: CallerDep, query: Annotated[OrdersQuery, Query()]) -> Response:
    """The suggested orders of one source as CSV, for the user to place at their broker:
    quantdesk never places an order."""
    source = query.source
    if source == "optimize":
        engine = _engine(caller, query.period)
        plan = optimize_plan(
            caller.uow, engine, optimize_request(query), clock=caller.services.clock
        ).plan
        orders = advice.trade_orders(source, plan.trades)
        as_of = caller.services.clock().date()
    else:
        found = _advice(caller, query)
        as_of = found.suggestions.as_of
        orders = (
            advice.rebalance_orders(found)
            if source == "rebalance"
            else advice.harvest_orders(found)
        )
    name = f"quantdesk-orders-{source}-{as_of.isoformat()}.csv"
    return Response(
        advice.orders_csv(orders),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
