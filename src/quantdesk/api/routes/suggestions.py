"""Target allocations and the rebalancing and tax-loss-harvesting suggestions they give
(what ``quantdesk targets`` and ``quantdesk suggest`` show; services/suggest.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import Strict
from quantdesk.services import suggest

router = APIRouter(tags=["suggestions"])


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


@router.get("/targets")
def get_targets(caller: CallerDep) -> dict[str, Any]:
    """The caller's target allocation (empty weights when never set)."""
    return suggest.targets_json(suggest.show_targets(caller.uow))


@router.put("/targets")
def put_targets(body: TargetsIn, caller: CallerDep) -> dict[str, Any]:
    """Replace the target allocation; weights not summing to 1 are a 422 naming the sum."""
    found = suggest.set_targets(
        caller.uow, body.weights, body.band, body.min_trade, clock=caller.services.clock
    )
    return suggest.targets_json(found)


@router.get("/suggestions")
def get_suggestions(
    caller: CallerDep,
    as_of: date | None = None,
    min_loss: Annotated[Decimal, Query(ge=0)] = suggest.DEFAULT_MIN_LOSS,
    short_rate: Annotated[Decimal, Query(ge=0, le=1)] = suggest.DEFAULT_SHORT_RATE,
    long_rate: Annotated[Decimal, Query(ge=0, le=1)] = suggest.DEFAULT_LONG_RATE,
) -> dict[str, Any]:
    """Rebalancing trades toward the targets (each with its rationale) and the taxable
    lots whose sale would harvest a loss above ``min_loss``, with wash-sale conflicts."""
    return suggest.suggestions_json(
        suggest.suggestions(
            caller.uow,
            clock=caller.services.clock,
            as_of=as_of,
            min_loss=min_loss,
            short_rate=short_rate,
            long_rate=long_rate,
        )
    )
