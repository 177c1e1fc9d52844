"""Each market's latest prices, kept by an API app from request to request.

A user without closes of their own is priced at their market's latest prices: the last
stored close of each instrument, or its live quote when that is newer. Reading them for
every request cost three statements and hundreds of rows (about a tenth of the CPU of a
holdings read or a grid edit), and they are the same for every such user. They are kept
keyed by the versions that move with every write of them: the market's price revision
(any close stored) and its quotes revision (any live quote stored), both bumped in the
transaction that writes (``store.market_data``). A reader asks the versions first (one
row, or none when its transaction read them already), so nothing kept is ever served
past a write it could have seen. One is kept per app (its requests share it through
``RequestMemo.market``), not per process: a test's database, emptied, counts its
revisions again from the same values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from quantdesk.domain.instruments import InstrumentKey
from quantdesk.domain.positions import Quote

#: (price revision, quotes revision) of a market; None where the market has no row yet.
Versions = tuple[int | None, int | None]


@dataclass(frozen=True, slots=True)
class MarketPrices:
    """A market's latest price of every instrument on a day, and the ids of every
    instrument it was read over (a new instrument is not among them)."""

    quotes: dict[InstrumentKey, Quote]
    instruments: frozenset[int]


class MarketQuotes:
    """The latest prices of each (market, day) at the versions they were read at; one
    entry per (market, day), replaced when the versions move on."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._found: dict[tuple[str, date], tuple[Versions, MarketPrices]] = {}
        self._lock = threading.Lock()

    def get(
        self, market: str, as_of: date, versions: Versions, read: Callable[[], MarketPrices]
    ) -> MarketPrices:
        """The prices kept for these versions, else ``read()`` them (outside the lock: two
        requests that miss together both read, and the later one is kept)."""
        key = (market, as_of)
        with self._lock:
            kept = self._found.get(key)
        if kept is not None and kept[0] == versions:
            return kept[1]
        found = read()
        with self._lock:
            if len(self._found) >= self.size and key not in self._found:
                self._found.clear()  # many days asked (a backfill): start again
            self._found[key] = (versions, found)
        return found
