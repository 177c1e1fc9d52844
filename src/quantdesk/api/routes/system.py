"""Liveness and metrics (no authentication: they say nothing about anyone's data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from quantdesk.api.deps import ServicesDep
from quantdesk.api.problems import ERROR_RESPONSES

router = APIRouter(tags=["system"])


@router.get("/healthz", responses={503: ERROR_RESPONSES[503]})
def healthz(services: ServicesDep) -> Any:
    """``ok`` when the database answers."""
    with services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"}},
)
def metrics() -> Response:
    """Prometheus metrics, among them ``quantdesk_upstream_calls_total``."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
