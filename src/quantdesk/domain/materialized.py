"""What materialized analytics store for one request of one user: the metric set with the
fingerprint of its inputs, and the days of the scope's daily history to rewrite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class AnalyticsWrite:
    """The stored answer to ``request`` (replacing the one stored, if any) and the
    scope's history from ``from_day`` through ``until`` (replaced by ``rows``: day, value,
    net flow)."""

    request: str
    scope: str
    fingerprint: str
    revision: int
    price_stats: dict[str, list[object]]
    price_revision: int
    payload: dict[str, Any]
    computed_at: datetime
    from_day: date
    until: date
    rows: Sequence[tuple[date, Decimal, Decimal]]
