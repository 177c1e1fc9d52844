"""Connected accounts: a crypto exchange read through ccxt with a read-only API key, or a
brokerage linked through Plaid, each synced into one account of the ledger
(services/connection_sync.py). Here: connecting, listing, re-keying and removing them.

Credentials are kept encrypted (a :class:`SecretBox`: store/vault.py) and are never
returned, logged or put in an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from quantdesk.connectors import plaid_client
from quantdesk.connectors.ccxt_client import exchanges
from quantdesk.domain.errors import InvalidInput
from quantdesk.services import portfolio
from quantdesk.services.ports import LedgerStore

STREAMS = ("trades", "deposits", "withdrawals")
#: The streams of the providers that do not read those three.
OWN_STREAMS = {"plaid": ("investments",), "coinbase": ("transactions",)}
#: The provider name of a brokerage linked through Plaid.
PLAID = "plaid"


class SecretBox(Protocol):
    def encrypt(self, secret: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


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


def view(record: ConnectionRecord) -> ConnectionView:
    """A connection as shown."""
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
        return view(store.connections.get(made))


def list_connections(uow: ConnectedUnitOfWork) -> list[ConnectionView]:
    with uow(commit=False) as store:
        return [view(r) for r in store.connections.list()]


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
        return view(store.connections.get(connection_id))
