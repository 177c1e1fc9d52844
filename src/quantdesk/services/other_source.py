"""Entries an account already holds from its other kind of source: its files, or a
connection's sync.

An exchange's export and its API do not always share ids (Binance's exports have none;
a brokerage's export and Plaid never do), so the same trade read from both would count
twice, whichever came first. An entry is taken to be one the other kind of source
already recorded when that source holds an entry of the same type, instrument and
currency on the same trade date, within a second of it (or at any time that day when
either has no time of day: a date-only export, Plaid). Each recorded entry stands for
one entry only, so two genuine trades against one recorded are one duplicate and one
new entry. What only one source lists (a card purchase or a convert in Binance's
statement, which its API sync does not read; a withholding tax Plaid did not list) is
added. Entries that share ids with what the ledger holds are duplicates anyway
(:func:`quantdesk.services.import_file._fingerprint`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from quantdesk.domain.transactions import Transaction

#: The import format of a connection's sync ends with this (``binance-api``).
SYNC_FORMAT = "-api"

#: An entry as the store lists it for matching: its id, type, instrument id (None for
#: cash), currency, moment, trade date and whether it had a time of day.
RecordedEntry = tuple[int, str, int | None, str, datetime, date, bool]

#: How far apart the same moment may be in two sources (one rounds, one truncates).
SAME_MOMENT = timedelta(seconds=1)


def is_sync(fmt: str) -> bool:
    return fmt.endswith(SYNC_FORMAT)


class RecordedElsewhere:
    """The entries of an account's other kind of source, by type, instrument, currency
    and trade date, each matched at most once (``used``: ids of those matched before,
    kept from chunk to chunk of an import)."""

    def __init__(self, entries: Iterable[RecordedEntry], used: set[int]) -> None:
        self.used = used
        self.by_day: dict[tuple[str, int | None, str, date], list[RecordedEntry]] = {}
        for entry in entries:
            _, entry_type, instrument_id, currency, _, day, _ = entry
            self.by_day.setdefault((entry_type, instrument_id, currency, day), []).append(entry)

    def take(self, instrument_id: int | None, entry: Transaction) -> bool:
        """Whether ``entry`` is one of them (that one is then used up)."""
        found = self.by_day.get((entry.type.value, instrument_id, entry.currency, entry.traded_on))
        for recorded_id, *_, moment, _, timed in found or ():
            if recorded_id in self.used:
                continue
            if timed and entry.timed and abs(moment - entry.traded_at) > SAME_MOMENT:
                continue
            self.used.add(recorded_id)
            return True
        return False
