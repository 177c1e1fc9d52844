"""The one provider interface every market-data source satisfies, and its value types.

Prices are ``Decimal`` (built from the provider's text, never from a binary float that
was not first printed), times are aware UTC. A provider never returns a price of 0 or
below: such an answer is treated as no answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from quantdesk.domain.errors import ProviderError
from quantdesk.domain.instruments import AssetType


@dataclass(frozen=True, slots=True)
class MarketSymbol:
    """What a provider is asked about: the ledger's symbol and asset type, its currency,
    and explicit provider ids where the user (or a resolution) fixed them.

    ``ids`` pairs provider name and that provider's id, e.g. ``(("coingecko", "bitcoin"),)``
    or ``(("yahoo", "BRK-B"),)``: an explicit id always wins over a provider's own mapping.
    """

    symbol: str
    asset_type: AssetType
    currency: str = "USD"
    ids: tuple[tuple[str, str], ...] = ()

    def id_for(self, provider: str) -> str | None:
        for name, value in self.ids:
            if name == provider:
                return value
        return None

    @property
    def is_fx(self) -> bool:
        """An FX pair such as ``EURUSD`` (see :func:`fx_pair`): price of 1 base in quote."""
        return self.asset_type is AssetType.CASH and len(self.symbol) == 6

    def __str__(self) -> str:
        return self.symbol


def fx_pair(base: str, quote: str) -> MarketSymbol:
    """The FX pair whose price converts one unit of ``base`` into ``quote`` (EUR->USD)."""
    return MarketSymbol(f"{base}{quote}", AssetType.CASH, quote)


@dataclass(frozen=True, slots=True)
class LiveQuote:
    """The latest price of a symbol as one provider gave it.

    ``as_of`` is the market time of the price (the provider's, not ours); ``fetched_at``
    is when we asked. ``stale`` is True when every provider failed and this is the last
    known price; ``note`` says anything a user should see (e.g. how a ticker was mapped).
    """

    symbol: str
    price: Decimal
    currency: str
    as_of: datetime
    source: str
    fetched_at: datetime
    stale: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily close (split-adjusted, not dividend-adjusted) in the symbol's currency."""

    day: date
    close: Decimal


@dataclass(frozen=True, slots=True)
class History:
    """Daily closes of one symbol for a range, oldest first, from one provider."""

    symbol: str
    currency: str
    source: str
    bars: tuple[Bar, ...]


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
