"""A connection's sync: what is new on the exchange or brokerage, into the ledger,
incrementally and safely.

A sync reads each stream (trades, deposits, withdrawals) from where the last good sync
of that stream stopped (a record still pending is read again until it completes), and
stores all it read in one transaction, in time order, together with each stream's new
starting point: a sync that fails midway (a rate limit on the last stream, a crash)
stores nothing, and the next resumes from the last good point. (One transaction, not
one per stream: a coin withdrawn must find the trade that bought it, whichever stream
it came in.) Entries go through the import pipeline
(services/import_file.import_parsed), so a trade also imported from the exchange's CSV
export with the same id is not counted twice. Exports do not always carry the API's ids
(Binance's carry none): a stream's first sync starts after the account's latest entry
of its kinds imported from a file, and a record that matches an entry imported from a
file (same type, instrument, currency and trade date, within a second:
services/other_source.py) is already in the ledger; a file imported after a sync is
held to the same rule. Then the
exchange's balances are compared with the units the ledger holds in the account, and
any difference is reported.

Credentials are kept encrypted (a :class:`SecretBox`: store/vault.py) and are never
returned, logged or put in an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from quantdesk.connectors import plaid_client
from quantdesk.connectors.binance_session import BinanceSession
from quantdesk.connectors.ccxt_client import ExchangeSession
from quantdesk.connectors.coinbase_session import CoinbaseSession
from quantdesk.connectors.session import Batch, ConnectorError
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import Issues, Notices, ParsedTransaction
from quantdesk.importers.ccxt_entries import trade_entries, transfer_entries
from quantdesk.importers.coinbase_api import transaction_entries
from quantdesk.importers.csvio import CsvDialect
from quantdesk.importers.plaid_entries import investment_entries
from quantdesk.importers.table import ParseContext
from quantdesk.services import portfolio
from quantdesk.services.connections import (
    PLAID,
    ConnectedUnitOfWork,
    ConnectionView,
    SecretBox,
    view,
)
from quantdesk.services.import_file import import_parsed
from quantdesk.services.other_source import SYNC_FORMAT, is_sync


class SessionLike(Protocol):
    """An exchange (ccxt) or a linked brokerage (Plaid): its streams of history, each
    read from a starting point (an instant or a day, as the stream counts), and units."""

    @property
    def streams(self) -> tuple[str, ...]: ...
    def read(self, stream: str, since: Any) -> Batch: ...
    def balances(self) -> dict[str, Decimal]: ...
    def start_after(self, moment: datetime) -> Any: ...


SessionFactory = Callable[[str, dict[str, str], datetime], SessionLike]


def open_session(provider: str, credentials: dict[str, str], now: datetime) -> SessionLike:
    """The session of ``provider``, reading history up to ``now``."""
    if provider == PLAID:
        return plaid_client.PlaidSession(credentials, today=now.date())
    if provider == "binance":
        return BinanceSession(credentials, now=now)
    if provider == "coinbase":
        return CoinbaseSession(credentials)
    return ExchangeSession(provider, credentials)


@dataclass
class SyncReport:
    connection: ConnectionView
    added: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    #: Assets whose units differ between the exchange and the ledger's account.
    differences: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None
    #: Records not recorded on purpose (a cancelled trade, a pending deposit) and records
    #: the user has to record themselves (a derivative, an unknown kind), with why.
    notes: list[str] = field(default_factory=list)


def _notes(stream: str, notices: Notices) -> list[str]:
    found = [
        f"{stream}: {reason} (records {_lines(lines)})" for reason, lines in notices.skipped.items()
    ]
    found += [f"{stream}: to record yourself: {i.reason}" for i in notices.to_resolve]
    return found


def _lines(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines)


def _parse(
    stream: str, records: list[dict[str, Any]], provider: str, ctx: ParseContext, first: int
) -> list[ParsedTransaction]:
    if provider == PLAID:
        securities = {str(r.get("security_id")): r.get("_security") or {} for r in records}
        return list(investment_entries(ctx, records, securities, first_line=first))
    if provider == "coinbase":
        return list(transaction_entries(ctx, records, first_line=first))
    if stream == "trades":
        return list(trade_entries(ctx, records, exchange=provider, first_line=first))
    return list(transfer_entries(ctx, records, first_line=first))


def sync_connection(
    uow: ConnectedUnitOfWork,
    box: SecretBox,
    connection_id: int,
    *,
    clock: Callable[[], datetime],
    factory: SessionFactory = open_session,
) -> SyncReport:
    """Read what is new on the exchange and store it (see the module's notes). A failure
    is recorded on the connection in plain words and returned, not raised."""
    with uow(commit=False) as store:
        record = store.connections.get(connection_id)
    credentials = json.loads(box.decrypt(record.credentials))
    cursor = dict(record.cursor)
    report = SyncReport(view(record))
    try:
        session = factory(record.provider, credentials, clock())
        first_reads = any(stream not in cursor for stream in session.streams)
        imported = _imported_through(uow, record.account) if first_reads else {}
        read: list[tuple[str, Batch]] = []
        for stream in session.streams:
            since = cursor.get(stream)
            if stream not in cursor and stream in imported:
                since = session.start_after(imported[stream])
                report.notes.append(
                    f"{stream}: synced from {imported[stream]:%Y-%m-%d %H:%M:%S} UTC on; the "
                    "history before came from files imported into the account"
                )
            read.append((stream, session.read(stream, since)))
        issues = Issues()
        entries: list[ParsedTransaction] = []
        spans: dict[str, range] = {}
        first = 1
        for stream, batch in read:  # the sync's records numbered in order, stream by stream
            notices = Notices()
            ctx = ParseContext(clock().date(), issues, notices, CsvDialect("utf-8", ","))
            entries += _parse(stream, batch.records, record.provider, ctx, first)
            spans[stream] = range(first, first + len(batch.records))
            first += len(batch.records)
            report.notes += _notes(stream, notices)
        duplicates: list[int] = []
        from_files: list[int] = []
        with uow() as store:  # everything read and each stream's new starting point, or nothing
            if entries or issues:
                done = import_parsed(
                    store,
                    sorted(entries, key=lambda e: e.transaction.traded_at),
                    source=f"{record.provider} API",
                    fmt=f"{record.provider}{SYNC_FORMAT}",
                    account=record.account,
                    issues=issues,
                    notices=Notices(),
                    now=clock(),
                )
                if issues:
                    reasons = "; ".join(i.reason for i in done.issues[:3])
                    raise ConnectorError("exchange", f"the ledger cannot record ({reasons})")
                duplicates, from_files = done.duplicate_lines, done.other_source_lines
            for stream, batch in read:
                lines = spans[stream]
                recorded = sorted({n for n in from_files if n in lines})
                if recorded:
                    report.notes.append(
                        f"{stream}: already in the ledger from files imported into the account,"
                        f" with no id in common (records {_lines(recorded)})"
                    )
                report.duplicates[stream] = sum(1 for n in duplicates if n in lines)
                found = sum(1 for e in entries if e.line in lines)
                report.added[stream] = found - report.duplicates[stream]
                cursor[stream] = batch.resume
            store.connections.update(connection_id, cursor=cursor)
        report.differences = _differences(uow, record.account, session.balances())
    except ConnectorError as error:
        report.error, report.error_kind = str(error), error.kind
    with uow() as store:
        store.connections.update(
            connection_id,
            status="error" if report.error else "ok",
            error=report.error,
            last_sync_at=clock(),
        )
        report.connection = view(store.connections.get(connection_id))
    return report


#: The entries of each stream: where the account holds such entries imported from a
#: file, a stream's first sync starts after the latest.
STREAM_TYPES = {
    "trades": frozenset({T.BUY, T.SELL, T.CONVERSION}),
    "deposits": frozenset({T.DEPOSIT, T.TRANSFER_IN}),
    "withdrawals": frozenset({T.WITHDRAWAL, T.TRANSFER_OUT}),
    "investments": frozenset(T),
    "transactions": frozenset(T),
}


def _imported_through(uow: ConnectedUnitOfWork, account: str) -> dict[str, datetime]:
    """The latest entry of each stream's kinds imported from a file into ``account``."""
    with uow(commit=False) as store:
        target = store.account(account)
        assert target.id is not None  # a stored account
        spans = store.import_spans(target.id)
    found: dict[str, datetime] = {}
    for fmt, entry_type, _, last in spans:
        if is_sync(fmt):
            continue
        for stream, types in STREAM_TYPES.items():
            if T(entry_type) in types and (stream not in found or last > found[stream]):
                found[stream] = last
    return found


def _differences(
    uow: ConnectedUnitOfWork, account: str, balances: dict[str, Decimal]
) -> dict[str, tuple[Decimal, Decimal]]:
    """(exchange, ledger) units of each asset where they differ."""
    held: dict[str, Decimal] = {}
    for position in portfolio.current_positions(uow, account=account, as_of=date.max):
        symbol = position.instrument.symbol
        held[symbol] = held.get(symbol, Decimal(0)) + position.quantity
    return {
        code: (balances.get(code, Decimal(0)), held.get(code, Decimal(0)))
        for code in sorted(set(balances) | set(held))
        if balances.get(code, Decimal(0)) != held.get(code, Decimal(0))
    }
