"""The instruments an API app has read, by key and by id, kept from request to request.

An instrument's id is its key's for good: instruments are shared, created once and never
deleted, and the only change of a key (``classify_instrument``: an instrument of unknown
type given its type) makes a new key, which is looked up afresh. A holdings read asked
the database for the instruments of every position (a third of its CPU, for rows that
never change): the ids it needs are taken from here once read.

Kept as read: the identity (id, symbol, type) is exact; the provider ids an instrument
may be given later are not followed (price fetching reads them from the table).

Also the first priced instrument of a symbol (the benchmark's, :func:`benchmark_key`):
the lowest id stays the lowest, as ids only grow. Only an instrument of unknown type
with a lower id, classified later, would be missed, until the app restarts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from quantdesk.domain.instruments import Instrument, InstrumentKey


class KnownInstruments:
    """Instruments by key and by id, up to ``size`` of them (then started afresh)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.by_key: dict[InstrumentKey, Instrument] = {}
        self.by_id: dict[int, Instrument] = {}
        self.first_by_symbol: dict[str, Instrument] = {}
        self.lock = threading.Lock()

    def keep(self, found: Iterable[Instrument]) -> None:
        with self.lock:
            for instrument in found:
                if instrument.id is None:
                    continue
                if len(self.by_id) >= self.size:
                    self.by_key.clear()
                    self.by_id.clear()
                    self.first_by_symbol.clear()
                self.by_key[instrument.key] = instrument
                self.by_id[instrument.id] = instrument

    def of_keys(self, keys: Iterable[InstrumentKey]) -> dict[InstrumentKey, Instrument]:
        """The known ones of ``keys``."""
        with self.lock:
            return {k: i for k in keys if (i := self.by_key.get(k)) is not None}

    def of_id(self, instrument_id: int) -> Instrument | None:
        with self.lock:
            return self.by_id.get(instrument_id)

    def first_priced(self, symbol: str) -> Instrument | None:
        with self.lock:
            return self.first_by_symbol.get(symbol)

    def keep_first_priced(self, symbol: str, instrument: Instrument) -> None:
        with self.lock:
            if len(self.first_by_symbol) >= self.size:
                self.first_by_symbol.clear()
            self.first_by_symbol[symbol] = instrument
