"""The one provider interface every market-data source satisfies, and its value types.

Prices are ``Decimal`` (built from the provider's text, never from a binary float that
was not first printed), times are aware UTC. A provider never returns a price of 0 or
below: such an answer is treated as no answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from quantdesk.domain.errors import ProviderError
from quantdesk.domain.market import Bar, History, LiveQuote, MarketSymbol, fx_pair

__all__ = [
    "Bar",
    "History",
    "LiveQuote",
    "MarketSymbol",
    "Provider",
    "QuoteBatch",
    "Resolution",
    "fx_pair",
]


@dataclass(frozen=True, slots=True)
class QuoteBatch:
    """The answer to one batched quote call: quotes for the symbols the provider knew,
    and a per-symbol error (usually :class:`UnknownSymbol`) for each it did not."""

    quotes: Mapping[str, LiveQuote] = field(default_factory=dict)
    errors: Mapping[str, ProviderError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a provider identifies a ledger symbol, and why (shown to the user)."""

    provider: str
    provider_id: str
    reason: str


class Provider(Protocol):
    """One market-data source.

    Whole-call failures raise :class:`ProviderUnavailable` (or :class:`RateLimited`);
    a symbol the provider does not know is :class:`UnknownSymbol` (in ``QuoteBatch.errors``
    for batches). Every upstream HTTP call is one call, counted by the HTTP layer.
    """

    #: Short lower-case name: ``yahoo``, ``coingecko``, ``alphavantage``, ``simulated``.
    name: str
    #: Most symbols one quote call may carry (the cache never sends more).
    max_batch: int

    def supports(self, symbol: MarketSymbol) -> bool:
        """Whether this provider can price ``symbol`` at all (by asset type, not by name)."""
        ...

    def resolve(self, symbol: MarketSymbol) -> Resolution:
        """This provider's id for ``symbol``; raises UnknownSymbol if it has none."""
        ...

    def quotes(self, symbols: Sequence[MarketSymbol], *, now: datetime) -> QuoteBatch:
        """Latest prices of up to ``max_batch`` symbols in one upstream call."""
        ...

    def history(self, symbol: MarketSymbol, start: date, end: date) -> History:
        """Daily closes from ``start`` to ``end`` inclusive (may be empty: no trading)."""
        ...
