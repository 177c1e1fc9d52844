"""One user's connections (store side of services/connections.py). Credentials are kept
as the Fernet tokens the service hands over; this module never sees them in clear."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from quantdesk.domain.errors import Conflict, NotFound
from quantdesk.store.settings import rotate_setting_secrets
from quantdesk.store.tables import accounts, connections
from quantdesk.store.vault import Vault


@dataclass(frozen=True)
class StoredConnection:
    id: int
    account_id: int
    account: str
    provider: str
    #: The encrypted credentials (a Fernet token).
    credentials: str
    status: str
    error: str | None
    cursor: dict[str, Any]
    last_sync_at: datetime | None
    created_at: datetime


class ConnectionsRepository:
    """The connections of one user, on the connection (and transaction) of a unit of work."""

    def __init__(self, conn: Connection, user_id: int) -> None:
        self.conn = conn
        self.user_id = user_id

    def _select(self) -> Any:
        return (
            select(connections, accounts.c.name.label("account_name"))
            .join(accounts, accounts.c.id == connections.c.account_id)
            .where(connections.c.user_id == self.user_id)
        )

    @staticmethod
    def _of(row: Any) -> StoredConnection:
        return StoredConnection(
            row.id,
            row.account_id,
            row.account_name,
            row.provider,
            row.credentials,
            row.status,
            row.error,
            dict(row.cursor or {}),
            row.last_sync_at,
            row.created_at,
        )

    def list(self) -> list[StoredConnection]:
        return [self._of(r) for r in self.conn.execute(self._select().order_by(connections.c.id))]

    def get(self, connection_id: int) -> StoredConnection:
        row = self.conn.execute(self._select().where(connections.c.id == connection_id)).first()
        if row is None:
            raise NotFound(f"no connection {connection_id}")
        return self._of(row)

    def add(self, account_id: int, provider: str, credentials: str, now: datetime) -> int:
        taken = self.conn.execute(
            select(connections.c.id).where(connections.c.account_id == account_id)
        ).first()
        if taken is not None:
            raise Conflict(f"the account already has a connection ({taken.id})")
        made = self.conn.execute(
            insert(connections).values(
                user_id=self.user_id,
                account_id=account_id,
                provider=provider,
                credentials=credentials,
                status="new",
                error=None,
                cursor={},
                created_at=now,
            )
        )
        assert made.inserted_primary_key is not None
        return int(made.inserted_primary_key[0])

    def update(self, connection_id: int, **values: Any) -> None:
        allowed = {"credentials", "status", "error", "cursor", "last_sync_at"}
        if set(values) - allowed:
            raise ValueError(f"not connection fields: {sorted(set(values) - allowed)}")
        self.conn.execute(
            update(connections)
            .where(connections.c.id == connection_id, connections.c.user_id == self.user_id)
            .values(**values)
        )

    def remove(self, connection_id: int) -> None:
        done = self.conn.execute(
            delete(connections).where(
                connections.c.id == connection_id, connections.c.user_id == self.user_id
            )
        )
        if not done.rowcount:
            raise NotFound(f"no connection {connection_id}")


def every_credential(conn: Connection) -> list[tuple[int, str]]:
    """(id, encrypted credentials) of every user's connections: `secrets rotate`."""
    rows = conn.execute(select(connections.c.id, connections.c.credentials))
    return [(r.id, r.credentials) for r in rows]


def replace_credential(conn: Connection, connection_id: int, token: str) -> None:
    conn.execute(
        update(connections).where(connections.c.id == connection_id).values(credentials=token)
    )


def rotate_secrets(engine: Engine, vault: Vault) -> int:
    """Re-encrypt every stored secret (every user's connections' credentials and provider
    keys) under the vault's first key, in one transaction; how many were rewritten. A
    key still in clear text (stored before secrets were encrypted) is encrypted."""
    count = 0
    with engine.begin() as conn:
        for connection_id, token in every_credential(conn):
            replace_credential(conn, connection_id, vault.rotate(token))
            count += 1
        count += rotate_setting_secrets(conn, vault)
    return count


def every_connection(engine: Engine) -> list[tuple[int, int]]:
    """(user id, connection id) of every user's connections: the scheduled sync."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(connections.c.user_id, connections.c.id).order_by(connections.c.id)
        )
        return [(int(u), int(c)) for u, c in rows]
