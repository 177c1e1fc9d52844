"""Instruments: one record type for every asset, with its asset type as data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from quantdesk.domain.errors import InvalidInput


class AssetType(StrEnum):
    """What kind of asset an instrument is. Always data, never guessed from a ticker."""

    STOCK = "stock"
    ETF = "etf"
    FUND = "fund"
    BOND = "bond"
    CRYPTO = "crypto"
    CASH = "cash"
    OTHER = "other"
    #: Known only by its symbol so far (its own closes were loaded before any trade):
    #: the first ledger entry that gives the symbol an asset type classifies it.
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, text: str) -> AssetType:
        """An asset type as files give it (``unknown`` is the ledger's, not a file's)."""
        key = text.strip().lower()
        if key in GIVEN_TYPES:
            return cls(key)
        allowed = ", ".join(GIVEN_TYPES)
        raise InvalidInput(f"unknown asset type {text.strip()!r} (one of {allowed})")


#: The asset types a file or a user may give.
GIVEN_TYPES = ("stock", "etf", "fund", "bond", "crypto", "cash", "other")


_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_/:^=]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3,5}$")


def normalize_symbol(text: str) -> str:
    """Upper-case, trimmed ticker; rejects what no exchange would list."""
    symbol = text.strip().upper()
    if not _SYMBOL.match(symbol):
        raise InvalidInput(f"not a valid symbol: {text.strip()!r}")
    return symbol


def normalize_currency(text: str) -> str:
    """ISO 4217 code (or a 3-5 letter crypto code such as USDT), upper-case."""
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidInput(f"not a currency code: {text.strip()!r}")
    return code


class InstrumentKey(NamedTuple):
    """What identifies an instrument in the ledger: its symbol and asset type.

    A NamedTuple rather than a dataclass: the lot engine hashes it for every entry, and a
    tuple hashes in C.
    """

    symbol: str
    asset_type: AssetType

    def __str__(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class Instrument:
    """An asset that can be held: a stock, fund, coin, bond, cash balance or manual asset."""

    symbol: str
    asset_type: AssetType
    currency: str = "USD"
    name: str | None = None
    id: int | None = None
    #: Explicit ids at market-data providers, as (provider, id) pairs sorted by provider.
    provider_ids: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> InstrumentKey:
        return InstrumentKey(self.symbol, self.asset_type)


def first_priced(instruments: Iterable[Instrument]) -> Instrument | None:
    """The first created (lowest id; unsaved ones last) of ``instruments`` that has
    prices (not cash, not of unknown type): a benchmark symbol's instrument."""
    priced = [i for i in instruments if i.asset_type not in (AssetType.CASH, AssetType.UNKNOWN)]
    return min(priced, key=lambda i: (i.id is None, i.id or 0), default=None)
