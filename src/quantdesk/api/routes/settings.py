"""Per-user settings: base currency, benchmark, risk-free rate, price provider keys."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/settings", tags=["settings"])
