"""Market-data values: what a provider is asked about (:class:`MarketSymbol`) and what it
answers (:class:`LiveQuote`, :class:`Bar`, :class:`History`). Pure values, no I/O.

Prices are ``Decimal`` (built from the provider's text, never from a binary float that
was not first printed), times are aware UTC. A price is always above 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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

    @property
    def key(self) -> str:
        """The symbol's identity in caches and stores: asset type, symbol and currency."""
        return f"{self.asset_type.value}:{self.symbol}:{self.currency}"

    @classmethod
    def from_key(cls, key: str) -> MarketSymbol:
        """The symbol of a :attr:`key` (tickers may contain ``:`` themselves)."""
        kind, rest = key.split(":", 1)
        symbol, currency = rest.rsplit(":", 1)
        return cls(symbol, AssetType(kind), currency)

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
class DailyCloses:
    """Stored closes of one instrument, oldest first, all in ``currency`` (its latest
    close's); ``left_out`` counts closes in another currency that could not join them,
    on ``left_out_days``."""

    days: list[date]
    closes: list[Decimal]
    currency: str
    left_out: int = 0
    left_out_days: tuple[date, ...] = ()
