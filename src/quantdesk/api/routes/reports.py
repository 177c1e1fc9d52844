"""Reports: the self-contained HTML tear sheet."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from quantdesk.api.deps import CallerDep
from quantdesk.api.routes.analytics import closes_cache, ledger_cache
from quantdesk.services import report

router = APIRouter(prefix="/reports", tags=["reports"])


class TearSheetQuery(BaseModel):
    """What the tear sheet covers."""

    model_config = ConfigDict(extra="forbid")

    period: Literal["1M", "3M", "6M", "YTD", "1Y", "3Y", "5Y", "MAX", "ALL"] = "1Y"
    benchmark: str = Field(default="SPY", min_length=1, max_length=40)
    as_of: date | None = Field(default=None, description="The last day (default today).")


@router.get(
    "/tearsheet",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The tear sheet"}},
)
def get_tearsheet(caller: CallerDep, query: Annotated[TearSheetQuery, Query()]) -> Response:
    """The portfolio's tear sheet (metrics, charts, holdings as of a day) as one HTML
    file that reads offline (plotly.js inline), as an attachment."""
    sheet = report.build_tearsheet(
        caller.uow,
        caller.price_cache(),
        period=query.period,
        benchmark=query.benchmark,
        as_of=query.as_of,
        clock=caller.services.clock,
        closes_cache=closes_cache(caller),
        ledger_cache=ledger_cache(caller),
    )
    return Response(
        sheet.html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{sheet.filename}"',
            "Cache-Control": "no-store",
        },
    )
