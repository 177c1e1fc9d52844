"""Connected accounts: a crypto exchange read through ccxt with a read-only API key,
synced into one account of the ledger, incrementally and safely.

A sync reads each stream (trades, deposits, withdrawals) from where the last good sync
of that stream stopped (a record still pending is read again until it completes), and
stores all it read in one transaction, in time order, together with each stream's new
starting point: a sync that fails midway (a rate limit on the last stream, a crash)
stores nothing, and the next resumes from the last good point. (One transaction, not
one per stream: a coin withdrawn must find the trade that bought it, whichever stream
it came in.) Entries go through the import pipeline
(services/import_file.import_parsed), so a trade also imported from the exchange's CSV
export is not counted twice; and a stream's first sync starts after the account's
latest entry of that stream imported from a file (Binance's exports carry no trade
ids to recognize). Then the exchange's balances are compared with the units the ledger
holds in the account, and any difference is reported.

Credentials are kept encrypted (a :class:`SecretBox`: store/vault.py) and are never
returned, logged or put in an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from quantdesk.connectors import plaid_client
from quantdesk.connectors.binance_session import BinanceSession
from quantdesk.connectors.ccxt_client import ExchangeSession, exchanges
from quantdesk.connectors.coinbase_session import CoinbaseSession
from quantdesk.connectors.session import Batch, ConnectorError
from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.transactions import Origin
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import Issues, Notices, ParsedTransaction
from quantdesk.importers.ccxt_entries import trade_entries, transfer_entries
from quantdesk.importers.coinbase_api import transaction_entries
from quantdesk.importers.csvio import CsvDialect
from quantdesk.importers.plaid_entries import investment_entries
from quantdesk.importers.table import ParseContext
from quantdesk.services import portfolio
from quantdesk.services.import_file import import_parsed
from quantdesk.services.ports import LedgerStore

STREAMS = ("trades", "deposits", "withdrawals")
#: The streams of the providers that do not read those three.
OWN_STREAMS = {"plaid": ("investments",), "coinbase": ("transactions",)}
#: The provider name of a brokerage linked through Plaid.
PLAID = "plaid"


class SecretBox(Protocol):
    def encrypt(self, secret: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


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


class ConnectionRecord(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def account(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def credentials(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def cursor(self) -> dict[str, Any]: ...
    @property
    def last_sync_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


class ConnectionsStore(Protocol):
    def list(self) -> list[Any]: ...
    def get(self, connection_id: int) -> Any: ...
    def add(self, account_id: int, provider: str, credentials: str, now: datetime) -> int: ...
    def update(self, connection_id: int, **values: Any) -> None: ...
    def remove(self, connection_id: int) -> None: ...


class ConnectedStore(LedgerStore, Protocol):
    @property
    def connections(self) -> ConnectionsStore: ...


class ConnectedUnitOfWork(Protocol):
    def __call__(self, *, commit: bool = True) -> AbstractContextManager[ConnectedStore]: ...


@dataclass(frozen=True)
class ConnectionView:
    """A connection as shown: never its credentials."""

    id: int
    account: str
    provider: str
    status: str
    error: str | None
    last_sync_at: datetime | None
    created_at: datetime
    #: How far each stream is synced (ms since the epoch; a day's ordinal for Plaid),
    #: None before the first sync.
    synced_through: dict[str, int | None]


def _view(record: ConnectionRecord) -> ConnectionView:
    return ConnectionView(
        record.id,
        record.account,
        record.provider,
        record.status,
        record.error,
        record.last_sync_at,
        record.created_at,
        {s: _through(record.cursor.get(s)) for s in OWN_STREAMS.get(record.provider, STREAMS)},
    )


def _through(resume: Any) -> int | None:
    """How far a stream is synced, from its resume point (a number, or a stream's own
    state that says it: Binance's trades)."""
    if isinstance(resume, dict):
        resume = resume.get("through")
    return int(resume) if resume is not None else None


def _credentials(api_key: str, secret: str, password: str | None) -> str:
    if not api_key.strip() or not secret.strip():
        raise InvalidInput("a connection needs the API key and its secret")
    found = {"api_key": api_key.strip(), "secret": secret.strip()}
    if password:
        found["password"] = password
    return json.dumps(found)


def add_connection(
    uow: ConnectedUnitOfWork,
    box: SecretBox,
    *,
    provider: str,
    account: str,
    api_key: str,
    secret: str,
    password: str | None = None,
    clock: Callable[[], datetime],
) -> ConnectionView:
    """Connect ``provider`` (a ccxt exchange id) to ``account`` (made, kind exchange,
    when the ledger has none of that name); nothing is read until the first sync."""
    name = provider.strip().lower()
    if name not in exchanges():
        raise InvalidInput(f"unknown exchange {provider!r} (any exchange id ccxt supports)")
    token = box.encrypt(_credentials(api_key, secret, password))
    return _connect(uow, account, name, token, kind="exchange", institution=name, clock=clock)


def add_plaid_connection(
    uow: ConnectedUnitOfWork,
    box: SecretBox,
    *,
    public_token: str,
    account: str,
    clock: Callable[[], datetime],
    exchange: Callable[[str], dict[str, str]] = plaid_client.exchange_public_token,
) -> ConnectionView:
    """Keep the brokerage that Plaid Link linked (its public token exchanged for an access
    token, stored encrypted) as a connection into ``account`` (made, kind brokerage)."""
    if not public_token.strip():
        raise InvalidInput("Plaid Link gives a public token: send it")
    token = box.encrypt(json.dumps(exchange(public_token.strip())))
    return _connect(uow, account, PLAID, token, kind="brokerage", institution=None, clock=clock)


def _connect(
    uow: ConnectedUnitOfWork,
    account: str,
    provider: str,
    token: str,
    *,
    kind: str,
    institution: str | None,
    clock: Callable[[], datetime],
) -> ConnectionView:
    """The connection of ``provider`` (encrypted credentials ``token``) into ``account``,
    made (of ``kind``) when the ledger has none of that name."""
    with uow(commit=False) as store:
        missing = store.find_account(account) is None
    if missing:
        portfolio.add_account(
            uow, account, kind=kind, institution=institution, currency="USD", clock=clock
        )
    with uow() as store:
        target = store.account(account)
        assert target.id is not None
        made = store.connections.add(target.id, provider, token, clock())
        return _view(store.connections.get(made))


def list_connections(uow: ConnectedUnitOfWork) -> list[ConnectionView]:
    with uow(commit=False) as store:
        return [_view(r) for r in store.connections.list()]


def remove_connection(uow: ConnectedUnitOfWork, connection_id: int) -> None:
    """Forget the connection and its credentials; what it synced stays in the ledger."""
    with uow() as store:
        store.connections.remove(connection_id)


def rotate_credentials(
    uow: ConnectedUnitOfWork,
    box: SecretBox,
    connection_id: int,
    *,
    api_key: str,
    secret: str,
    password: str | None = None,
) -> ConnectionView:
    """New credentials for a connection (a new key after the old one was revoked)."""
    token = box.encrypt(_credentials(api_key, secret, password))
    with uow() as store:
        store.connections.get(connection_id)
        store.connections.update(connection_id, credentials=token, status="new", error=None)
        return _view(store.connections.get(connection_id))


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
    report = SyncReport(_view(record))
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
        with uow() as store:  # everything read and each stream's new starting point, or nothing
            if entries or issues:
                done = import_parsed(
                    store,
                    sorted(entries, key=lambda e: e.transaction.traded_at),
                    source=f"{record.provider} API",
                    fmt=f"{record.provider}-api",
                    account=record.account,
                    issues=issues,
                    notices=Notices(),
                    now=clock(),
                )
                if issues:
                    reasons = "; ".join(i.reason for i in done.issues[:3])
                    raise ConnectorError("exchange", f"the ledger cannot record ({reasons})")
                duplicates = done.duplicate_lines
            for stream, batch in read:
                lines = spans[stream]
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
        report.connection = _view(store.connections.get(connection_id))
    return report


#: The entries of each stream: where the account holds such entries imported from a
#: file, a stream's first sync starts after the latest (an exchange's export and its API
#: do not always share ids: Binance's exports have none).
STREAM_TYPES = {
    "trades": frozenset({T.BUY, T.SELL, T.CONVERSION}),
    "deposits": frozenset({T.DEPOSIT, T.TRANSFER_IN}),
    "withdrawals": frozenset({T.WITHDRAWAL, T.TRANSFER_OUT}),
    "investments": frozenset(T),
    "transactions": frozenset(T),
}


def _imported_through(uow: ConnectedUnitOfWork, account: str) -> dict[str, datetime]:
    """The latest imported entry of each stream's kinds in ``account``."""
    with uow(commit=False) as store:
        target = store.account(account)
        entries = store.ledger(account_id=target.id)
    found: dict[str, datetime] = {}
    for entry in entries:
        if entry.origin is not Origin.IMPORT:
            continue
        for stream, kinds in STREAM_TYPES.items():
            if entry.type in kinds and (stream not in found or entry.traded_at > found[stream]):
                found[stream] = entry.traded_at
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
