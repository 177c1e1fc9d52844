"""One user's settings row (store side of services/settings.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from quantdesk.store import vault
from quantdesk.store.tables import user_settings, users
from quantdesk.store.vault import is_encrypted

#: The settings columns (every one nullable: NULL is "the app's default").
SETTING_COLUMNS = ("base_currency", "benchmark", "risk_free", "alpha_vantage_key", "coingecko_key")
#: The columns that hold secrets: stored encrypted (store/vault.py), read decrypted. A key
#: saved in clear before secrets were encrypted is read as it is until `secrets rotate`.
SECRET_COLUMNS = ("alpha_vantage_key", "coingecko_key")


def chosen_settings(row: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """The settings a user chose, from a row of their ``user_settings`` columns (each
    named ``prefix`` + column; NULL: not chosen), secrets decrypted."""
    found = {name: row[prefix + name] for name in SETTING_COLUMNS if row[prefix + name] is not None}
    for name in SECRET_COLUMNS:
        if name in found and is_encrypted(found[name]):
            found[name] = vault.current().decrypt(found[name])
    return found


class SettingsRepository:
    """The settings of one user, on the connection (and transaction) of a unit of work."""

    def __init__(self, conn: Connection, user_id: int) -> None:
        self.conn = conn
        self.user_id = user_id

    def values(self) -> dict[str, Any]:
        """The settings the user chose (columns not NULL); empty when they chose none."""
        row = self.conn.execute(
            select(*(user_settings.c[name] for name in SETTING_COLUMNS)).where(
                user_settings.c.user_id == self.user_id
            )
        ).first()
        return {} if row is None else chosen_settings(row._mapping)

    def save(self, values: dict[str, Any], now: datetime) -> None:
        """Set the given columns (None clears one back to the default), others unchanged."""
        unknown = set(values) - set(SETTING_COLUMNS)
        if unknown:
            raise ValueError(f"not settings: {sorted(unknown)}")
        changed = {**values, "updated_at": now}
        for name in SECRET_COLUMNS:
            if changed.get(name) is not None:
                changed[name] = vault.current().encrypt(str(changed[name]))
        where = user_settings.c.user_id == self.user_id
        if self.conn.execute(update(user_settings).where(where).values(changed)).rowcount:
            return
        try:
            with self.conn.begin_nested():  # a concurrent first save may insert first
                self.conn.execute(insert(user_settings).values(user_id=self.user_id, **changed))
        except IntegrityError:
            self.conn.execute(update(user_settings).where(where).values(changed))


def rotate_setting_secrets(conn: Connection, box: vault.Vault) -> int:
    """Every user's provider keys re-encrypted under the vault's first key (a key still in
    clear text encrypted); how many."""
    count = 0
    rows = conn.execute(
        select(user_settings.c.user_id, *(user_settings.c[n] for n in SECRET_COLUMNS))
    )
    for row in rows.all():
        values = {n: box.rotate(row._mapping[n]) for n in SECRET_COLUMNS if row._mapping[n]}
        if values:
            conn.execute(
                update(user_settings).where(user_settings.c.user_id == row.user_id).values(values)
            )
            count += len(values)
    return count


@dataclass(frozen=True)
class RecomputeChoices:
    """What a background recompute needs of a user before it starts: who (id), their
    market, and the analytics settings they chose (None: the app's default)."""

    user_id: int
    market: str
    benchmark: str | None
    risk_free: Any


def recompute_choices(conn: Connection, names: Sequence[str]) -> dict[str, RecomputeChoices]:
    """Those of ``names`` that are users, read in one statement (a nightly share's users
    at once, not three reads each)."""
    rows = conn.execute(
        select(
            users.c.name,
            users.c.id,
            users.c.market,
            user_settings.c.benchmark,
            user_settings.c.risk_free,
        )
        .outerjoin(user_settings, user_settings.c.user_id == users.c.id)
        .where(users.c.name.in_(list(names)))
    )
    return {
        row.name: RecomputeChoices(int(row.id), str(row.market), row.benchmark, row.risk_free)
        for row in rows
    }
