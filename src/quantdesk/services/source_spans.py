"""Which source recorded which stretch of an account's history: files, or a connection.

An exchange's export and its API do not always share ids (Binance's exports have none;
a brokerage's export and Plaid never do), so the same trade read from both would count
twice. So each kind of entry of an account (trades; deposits; withdrawals; the rest:
dividends, interest, fees) is taken, over a stretch of time, from one kind of source:
where the account's entries of a kind came from a connection's sync, from the first to
the last, a file's entries of that kind are the ones the sync recorded, and are skipped;
where they came from files, a sync's are skipped the same way. Before and after that
stretch, both add what is new. Entries that share ids with what the ledger holds are
duplicates anyway (:func:`quantdesk.services.import_file._fingerprint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from quantdesk.domain.transactions import Transaction
from quantdesk.domain.transactions import TransactionType as T

#: The import format of a connection's sync ends with this (``binance-api``).
SYNC_FORMAT = "-api"

#: The kinds of entries, each taken from one kind of source over a stretch of time;
#: every other type is of the kind ``other``.
KINDS: dict[str, frozenset[T]] = {
    "trades": frozenset({T.BUY, T.SELL, T.CONVERSION}),
    "deposits": frozenset({T.DEPOSIT, T.TRANSFER_IN}),
    "withdrawals": frozenset({T.WITHDRAWAL, T.TRANSFER_OUT}),
}

#: What the store reports of an account's imported entries: per import format and entry
#: type, the first and the last moment traded.
ImportSpan = tuple[str, str, datetime, datetime]


def kind_of(entry_type: T) -> str:
    return next((kind for kind, types in KINDS.items() if entry_type in types), "other")


def is_sync(fmt: str) -> bool:
    return fmt.endswith(SYNC_FORMAT)


@dataclass(frozen=True)
class Stretch:
    """The span of one kind of entries that another kind of source recorded."""

    kind: str
    first: datetime
    last: datetime
    #: Who recorded it: the connections' providers (``binance``); none for files.
    providers: frozenset[str]

    def holds(self, moment: datetime, *, timed: bool = True) -> bool:
        """Whether an entry at ``moment`` falls in the stretch: by its day when it has no
        time of day (a date-only export, Plaid), else by the instant."""
        if not timed:
            return self.first.date() <= moment.date() <= self.last.date()
        return self.first <= moment <= self.last

    @property
    def reason(self) -> str:
        span = f"{self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M} UTC"
        if not self.providers:
            return f"the account's {self.kind} of {span} were imported from files"
        names = " and ".join(sorted(self.providers))
        return f"the account's {names} connection synced its {self.kind} of {span}"


def recorded_elsewhere(spans: Sequence[ImportSpan], *, syncing: bool) -> dict[str, Stretch]:
    """Per kind, the stretch the other kind of source recorded: the syncs' when
    ``syncing`` is False (a file is imported), else the files'."""
    found: dict[str, Stretch] = {}
    for fmt, entry_type, first, last in spans:
        if is_sync(fmt) == syncing:
            continue
        kind = kind_of(T(entry_type))
        providers = frozenset({fmt.removesuffix(SYNC_FORMAT)} if is_sync(fmt) else ())
        was = found.get(kind, Stretch(kind, first, last, providers))
        found[kind] = Stretch(
            kind, min(first, was.first), max(last, was.last), providers | was.providers
        )
    return found


def recorded_by(stretches: dict[str, Stretch], entry: Transaction) -> Stretch | None:
    """The stretch of another kind of source that already holds an entry of this type at
    this entry's moment, if any."""
    stretch = stretches.get(kind_of(entry.type))
    held = stretch is not None and stretch.holds(entry.traded_at, timed=entry.timed)
    return stretch if held else None
