"""Entries an account already holds from its other kind of source: its files, or a
connection's sync.

An exchange's export and its API do not always share ids (Binance's exports have none;
a brokerage's export and Plaid never do), so the same trade read from both would count
twice, whichever came first. An entry is taken to be one the other kind of source
already recorded when that source holds an entry of the same kind (a trade, a deposit,
a withdrawal, anything else), instrument and currency at the same second, or on the
same day when either has no time of day (a date-only export, Plaid). What only one
source lists (a card purchase or a convert in Binance's statement, which its API sync
does not read) is added. Entries that share ids with what the ledger holds are
duplicates anyway (:func:`quantdesk.services.import_file._fingerprint`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from quantdesk.domain.transactions import Transaction
from quantdesk.domain.transactions import TransactionType as T

#: The import format of a connection's sync ends with this (``binance-api``).
SYNC_FORMAT = "-api"

#: The kinds of entries: a sync lists each in a stream of its own; every other type is
#: of the kind ``other``.
KINDS: dict[str, frozenset[T]] = {
    "trades": frozenset({T.BUY, T.SELL, T.CONVERSION}),
    "deposits": frozenset({T.DEPOSIT, T.TRANSFER_IN}),
    "withdrawals": frozenset({T.WITHDRAWAL, T.TRANSFER_OUT}),
}

#: An entry as the store lists it for matching: its type, instrument id (None for
#: cash), currency, moment and whether it had a time of day.
RecordedEntry = tuple[str, int | None, str, datetime, bool]


def kind_of(entry_type: T) -> str:
    return next((kind for kind, types in KINDS.items() if entry_type in types), "other")


def is_sync(fmt: str) -> bool:
    return fmt.endswith(SYNC_FORMAT)


class RecordedElsewhere:
    """The entries of an account's other kind of source, looked up by kind, instrument,
    currency and second (or day)."""

    def __init__(self, entries: Iterable[RecordedEntry]) -> None:
        self.seconds: set[tuple[str, int | None, str, datetime]] = set()
        self.days: set[tuple[str, int | None, str, date]] = set()
        self.untimed_days: set[tuple[str, int | None, str, date]] = set()
        for entry_type, instrument_id, currency, moment, timed in entries:
            kind = kind_of(T(entry_type))
            day = (kind, instrument_id, currency, moment.date())
            self.days.add(day)
            if timed:
                self.seconds.add((kind, instrument_id, currency, moment.replace(microsecond=0)))
            else:
                self.untimed_days.add(day)

    def holds(self, instrument_id: int | None, entry: Transaction) -> bool:
        kind = kind_of(entry.type)
        day = (kind, instrument_id, entry.currency, entry.traded_at.date())
        if not entry.timed:
            return day in self.days
        second = entry.traded_at.replace(microsecond=0)
        return day in self.untimed_days or (kind, instrument_id, entry.currency, second) in (
            self.seconds
        )
