"""What materialized analytics store for one request of one user: the metric set with the
fingerprint of its inputs, and the days of the scope's daily history to rewrite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quantdesk.domain.instruments import InstrumentKey


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


@dataclass(frozen=True)
class StoredState:
    """What decides whether a user's stored answer to a request still stands, read for
    many users at once (a nightly share): the ledger revision and the price versions, the
    stored answer (as ``LedgerStore.stored_analytics`` gives it; None: none), the earliest
    day touched by the ledger changes after its revision, whether the user has closes
    of their own, the instruments of their ledger (cash aside) and the currencies of
    those and of their accounts (what the closes read are fingerprinted by)."""

    versions: tuple[int, int, int]
    stored: dict[str, Any] | None
    changed_since: date | None
    own_closes: bool
    held: tuple[InstrumentKey, ...]
    currencies: frozenset[str]
