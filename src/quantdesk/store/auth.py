"""Users' credentials, sessions, API tokens and login attempts.

Secrets never reach the database: sessions and tokens are stored as SHA-256 hashes of
random tokens, passwords as argon2id hashes (made by the service).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, insert, select, update

from quantdesk.domain.errors import Conflict
from quantdesk.store.settings import SETTING_COLUMNS, chosen_settings
from quantdesk.store.tables import auth_tokens, login_attempts, user_settings, users

#: The prefix of the settings columns in a token's row.
_SETTING = "setting_"


@dataclass(frozen=True, slots=True)
class StoredUser:
    id: int
    name: str
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: int
    user_id: int
    user_name: str
    kind: str
    csrf_hash: str | None
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    #: The user's ledger revision and market, read with the token (the API's caches key on
    #: them, so a request needs no second query to know whether they are still good).
    ledger_revision: int = 0
    market: str = "live"
    #: The settings the user chose (``store.settings.chosen_settings``), read with the
    #: token: a request needs no other query to know them.
    settings: dict[str, Any] = field(default_factory=dict)


class AuthRepository:
    """Credentials across users: the one repository that is not scoped to a user, used
    only to find out who a request is."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def user(self, name: str) -> StoredUser | None:
        # Names are matched without regard to case on every engine (MySQL's collation
        # would anyway): "Ann" and "ann" are one user.
        row = self.conn.execute(
            select(users.c.id, users.c.name, users.c.password_hash)
            .where(func.lower(users.c.name) == name.lower())
            .order_by(users.c.id)
            .limit(1)
        ).one_or_none()
        return None if row is None else StoredUser(int(row.id), row.name, row.password_hash)

    def create_user(self, name: str, password_hash: str, now: datetime, market: str) -> int:
        if self.user(name) is not None:
            raise Conflict(f"the user name '{name}' is taken")
        result = self.conn.execute(
            insert(users).values(
                name=name, password_hash=password_hash, created_at=now, market=market
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )

    def add_token(
        self,
        *,
        user_id: int,
        kind: str,
        token_hash: str,
        csrf_hash: str | None,
        name: str | None,
        now: datetime,
        expires_at: datetime | None,
    ) -> int:
        result = self.conn.execute(
            insert(auth_tokens).values(
                user_id=user_id,
                kind=kind,
                token_hash=token_hash,
                csrf_hash=csrf_hash,
                name=name,
                created_at=now,
                expires_at=expires_at,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def token(self, token_hash: str) -> StoredToken | None:
        row = self.conn.execute(_token_statement(), {"token_hash": token_hash}).one_or_none()
        if row is None:
            return None
        return StoredToken(
            int(row.id),
            int(row.user_id),
            row.user_name,
            row.kind,
            row.csrf_hash,
            row.name,
            row.created_at,
            row.expires_at,
            row.last_used_at,
            int(row.ledger_revision),
            row.market,
            chosen_settings(row._mapping, _SETTING),
        )

    def touch_token(self, token_id: int, now: datetime) -> None:
        self.conn.execute(
            update(auth_tokens).where(auth_tokens.c.id == token_id).values(last_used_at=now)
        )

    def tokens(self, user_id: int, kind: str) -> list[StoredToken]:
        rows = self.conn.execute(
            select(auth_tokens, users.c.name.label("user_name"))
            .join(users, users.c.id == auth_tokens.c.user_id)
            .where(auth_tokens.c.user_id == user_id, auth_tokens.c.kind == kind)
            .order_by(auth_tokens.c.id)
        )
        return [
            StoredToken(
                int(r.id),
                int(r.user_id),
                r.user_name,
                r.kind,
                r.csrf_hash,
                r.name,
                r.created_at,
                r.expires_at,
                r.last_used_at,
            )
            for r in rows
        ]

    def delete_token(self, user_id: int, token_id: int, *, kind: str | None = None) -> bool:
        """Delete one of this user's tokens (of ``kind``, if given); False when the user
        has no such token."""
        query = delete(auth_tokens).where(
            auth_tokens.c.id == token_id, auth_tokens.c.user_id == user_id
        )
        if kind is not None:
            query = query.where(auth_tokens.c.kind == kind)
        return bool(self.conn.execute(query).rowcount)

    def delete_tokens(self, user_id: int) -> None:
        """End every session and API token of a user."""
        self.conn.execute(delete(auth_tokens).where(auth_tokens.c.user_id == user_id))

    def delete_expired(self, now: datetime) -> None:
        self.conn.execute(delete(auth_tokens).where(auth_tokens.c.expires_at < now))

    def record_failure(self, subjects: list[str], now: datetime) -> None:
        self.conn.execute(
            insert(login_attempts), [{"subject": s[:200], "attempted_at": now} for s in subjects]
        )

    def failures(self, subject: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures of ``subject`` since ``since``, and the oldest of them."""
        row = self.conn.execute(
            select(func.count(), func.min(login_attempts.c.attempted_at)).where(
                login_attempts.c.subject == subject[:200],
                login_attempts.c.attempted_at >= since,
            )
        ).one()
        return int(row[0]), row[1]

    def forget_attempt(self, subject: str, at: datetime) -> None:
        """Forget the attempt of ``subject`` recorded at ``at`` (it succeeded)."""
        self.conn.execute(
            delete(login_attempts).where(
                login_attempts.c.subject == subject[:200], login_attempts.c.attempted_at == at
            )
        )

    def clear_failures(self, subject: str, before: datetime | None = None) -> None:
        """Forget ``subject``'s failures (all, or those older than ``before``)."""
        query = delete(login_attempts).where(login_attempts.c.subject == subject[:200])
        if before is not None:
            query = query.where(login_attempts.c.attempted_at < before)
        self.conn.execute(query)


@functools.cache
def _token_statement() -> Select[Any]:
    """A token with its user's name, ledger revision, market and settings: built once
    (every request asks it; building it anew each time cost more than running it)."""
    chosen = (user_settings.c[name].label(_SETTING + name) for name in SETTING_COLUMNS)
    return (
        select(
            auth_tokens,
            users.c.name.label("user_name"),
            users.c.ledger_revision,
            users.c.market,
            *chosen,
        )
        .join(users, users.c.id == auth_tokens.c.user_id)
        .outerjoin(user_settings, user_settings.c.user_id == auth_tokens.c.user_id)
        .where(
            auth_tokens.c.token_hash == bindparam("token_hash", type_=auth_tokens.c.token_hash.type)
        )
    )
