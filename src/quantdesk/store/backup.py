"""A complete, versioned backup of users' data, restorable into an empty database of any
supported engine (SQLite, PostgreSQL, MySQL/MariaDB).

What a backup holds, per user: the user (name, password hash, market), accounts, imports,
ledger entries (lot picks included), own closes, settings (provider keys as stored), the
portfolio's and each account's targets, connected exchanges and brokerages (their
credentials as stored: encrypted, so restore where the same secret keys are configured;
each resumes its sync where it stopped); and, shared, the instruments those refer to with
their market closes and coverage (so the restored analytics equal the original without a
network). What it leaves out, on purpose: sign-in sessions and API tokens (a restore must
not revive credentials), login attempts, cached quotes, and everything derived (materialized
history and analytics, ledger revisions): they are rebuilt on first use.

The file is JSON (gzip when the name ends in ``.gz``): ``{"format": "quantdesk-backup",
"version": 1, "schema": "<alembic revision>", "created_at", "users": [...], "instruments":
[...], "prices": [...], "price_coverage": [...]}``; values are strings where a float
would lose digits (decimals), ISO text for days and times. Ids are the source database's:
a restore gives every row a new id and maps every reference (account, instrument, import,
the lots a sale picks) to it. A restore is one transaction: all of it or nothing.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from quantdesk.domain.errors import Conflict, InvalidInput, NotFound
from quantdesk.store.market_data import bump_price_revision, market_of
from quantdesk.store.tables import (
    account_target_options,
    account_targets,
    accounts,
    connections,
    imports,
    instruments,
    price_coverage,
    prices,
    target_options,
    targets,
    transactions,
    user_prices,
    user_settings,
    users,
)
from quantdesk.store.types import CalendarDate, ExactDecimal, UTCDateTime

FORMAT = "quantdesk-backup"
VERSION = 1
#: Per-user tables keyed by ``user_id``, in the order a restore inserts them.
USER_TABLES: tuple[Table, ...] = (
    accounts,
    connections,
    imports,
    transactions,
    user_prices,
    user_settings,
    targets,
    target_options,
    account_targets,
    account_target_options,
)


@dataclass(frozen=True)
class RestoreReport:
    users: list[str]
    rows: dict[str, int]


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in row.items():
        if name not in table.c:
            raise InvalidInput(
                f"the backup's {table.name} has a column {name!r} this version lacks"
            )
        kind = table.c[name].type
        if value is None:
            found[name] = None
        elif isinstance(kind, ExactDecimal):
            found[name] = Decimal(value)
        elif isinstance(kind, UTCDateTime):
            moment = datetime.fromisoformat(value)
            found[name] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        elif isinstance(kind, CalendarDate):
            found[name] = date.fromisoformat(value)
        else:
            found[name] = value
    return found


def _rows(conn: Connection, table: Table, *where: Any) -> list[dict[str, Any]]:
    result = conn.execute(select(table).where(*where).order_by(*table.primary_key.columns))
    return [{k: _encode(v) for k, v in row._mapping.items()} for row in result]


def schema_revision(conn: Connection) -> str:
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def export(engine: Engine, names: Sequence[str] | None = None) -> dict[str, Any]:
    """The backup of the users named (every user when ``names`` is None)."""
    with engine.connect() as conn:
        if names is None:
            chosen = _rows(conn, users)
        else:
            chosen = []
            for name in names:
                found = _rows(conn, users, func.lower(users.c.name) == name.lower())
                if not found:
                    raise NotFound(f"no user named {name!r} to back up")
                chosen.extend(found)
        ids = [u["id"] for u in chosen]
        payload: list[dict[str, Any]] = []
        for user in chosen:
            entry: dict[str, Any] = {
                "user": {
                    k: user[k] for k in ("id", "name", "password_hash", "created_at", "market")
                }
            }
            for table in USER_TABLES:
                entry[table.name] = _rows(conn, table, table.c.user_id == user["id"])
            payload.append(entry)
        referenced = _instrument_ids(conn, ids)
        return {
            "format": FORMAT,
            "version": VERSION,
            "schema": schema_revision(conn),
            "created_at": datetime.now(UTC).isoformat(),
            "users": payload,
            "instruments": _rows(conn, instruments, instruments.c.id.in_(referenced)),
            "prices": _rows(conn, prices, prices.c.instrument_id.in_(referenced)),
            "price_coverage": _rows(
                conn, price_coverage, price_coverage.c.instrument_id.in_(referenced)
            ),
        }


def _instrument_ids(conn: Connection, user_ids: Iterable[int]) -> list[int]:
    """The instruments of the users' entries and own closes, and every cash instrument
    (the FX pairs their values are converted with)."""
    ids = list(user_ids)
    query = (
        select(transactions.c.instrument_id)
        .where(transactions.c.user_id.in_(ids), transactions.c.instrument_id.is_not(None))
        .union(
            select(user_prices.c.instrument_id).where(user_prices.c.user_id.in_(ids)),
            select(instruments.c.id).where(instruments.c.asset_type == "cash"),
        )
    )
    return sorted(int(i) for i in conn.execute(query).scalars())


def write(data: Mapping[str, Any], path: Path) -> None:
    raw = json.dumps(data, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)


def read(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise InvalidInput(f"{path.name} is not a quantdesk backup (not JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{path.name} is not a quantdesk backup")
    return data


def restore(engine: Engine, data: Mapping[str, Any]) -> RestoreReport:
    """Restore ``data`` (from :func:`export`) in one transaction. Refused, with nothing
    written, when a user of the backup already exists or the backup is from a newer
    version."""
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InvalidInput(
            f"this backup is version {version!r}; this quantdesk restores version {VERSION} "
            "and older: upgrade quantdesk first"
        )
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        instrument_ids = _restore_instruments(conn, data.get("instruments", []))
        _restore_shared(conn, data, instrument_ids, counts)
        names = []
        for entry in data.get("users", []):
            names.append(_restore_user(conn, entry, instrument_ids, counts))
    return RestoreReport(names, counts)


def _restore_instruments(conn: Connection, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Backup instrument id -> this database's, matching on (symbol, asset type)."""
    mapping: dict[int, int] = {}
    for raw in rows:
        row = _decode(instruments, raw)
        old = row.pop("id")
        found = conn.execute(
            select(instruments.c.id).where(
                instruments.c.symbol == row["symbol"], instruments.c.asset_type == row["asset_type"]
            )
        ).scalar_one_or_none()
        if found is None:
            found = conn.execute(insert(instruments).values(**row)).inserted_primary_key[0]  # type: ignore[index]
        mapping[int(old)] = int(found)
    return mapping


def _restore_shared(
    conn: Connection, data: Mapping[str, Any], ids: Mapping[int, int], counts: dict[str, int]
) -> None:
    """Market closes and coverage the database does not have yet."""
    have = {
        (int(i), d, s)
        for i, d, s in conn.execute(
            select(prices.c.instrument_id, prices.c.day, prices.c.source).where(
                prices.c.instrument_id.in_(list(ids.values()))
            )
        )
    }
    fresh = []
    for raw in data.get("prices", []):
        row = _decode(prices, raw)
        row["instrument_id"] = ids[int(row["instrument_id"])]
        if (row["instrument_id"], row["day"], row["source"]) not in have:
            fresh.append(row)
    if fresh:
        conn.execute(insert(prices), fresh)
        for market in sorted({market_of(row["source"]) for row in fresh}):
            bump_price_revision(conn, market)  # what was computed from the closes is stale
    counts["prices"] = len(fresh)
    covered = set(
        conn.execute(
            select(price_coverage.c.instrument_id).where(
                price_coverage.c.instrument_id.in_(list(ids.values()))
            )
        ).scalars()
    )
    coverage = []
    for raw in data.get("price_coverage", []):
        row = _decode(price_coverage, raw)
        row["instrument_id"] = ids[int(row["instrument_id"])]
        if row["instrument_id"] not in covered:
            coverage.append(row)
    if coverage:
        conn.execute(insert(price_coverage), coverage)


def _restore_user(
    conn: Connection,
    entry: Mapping[str, Any],
    instrument_ids: Mapping[int, int],
    counts: dict[str, int],
) -> str:
    person = _decode(users, entry["user"])
    person.pop("id")
    name = person["name"]
    taken = conn.execute(
        select(users.c.id).where(func.lower(users.c.name) == name.lower())
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"user {name!r} already exists here: restore into an empty database")
    user_id = int(conn.execute(insert(users).values(**person)).inserted_primary_key[0])  # type: ignore[index]
    account_ids: dict[int, int] = {}
    import_ids: dict[int, int] = {}
    entry_ids: dict[int, int] = {}
    for table in USER_TABLES:
        rows = [_decode(table, raw) for raw in entry.get(table.name, [])]
        for row in rows:
            row["user_id"] = user_id
            if "account_id" in row:
                row["account_id"] = account_ids[int(row["account_id"])]
            if "instrument_id" in row and row["instrument_id"] is not None:
                row["instrument_id"] = instrument_ids[int(row["instrument_id"])]
            if table is transactions and row["import_id"] is not None:
                row["import_id"] = import_ids[int(row["import_id"])]
        if table in (accounts, imports, transactions):
            target = {accounts: account_ids, imports: import_ids, transactions: entry_ids}[table]
            picked: list[tuple[int, Any]] = []
            for row in rows:
                old = int(row.pop("id"))
                if table is transactions and row.get("lot_selection"):
                    picked.append((old, row.pop("lot_selection")))
                result = conn.execute(insert(table).values(**row))
                target[old] = int(result.inserted_primary_key[0])  # type: ignore[index]
            for old, selection in picked:
                remapped = [{**p, "lot": entry_ids[int(p["lot"])]} for p in selection]
                conn.execute(
                    transactions.update()
                    .where(transactions.c.id == entry_ids[old])
                    .values(lot_selection=remapped)
                )
        elif rows:
            if table is connections:  # numbered anew, as accounts are
                rows = [{k: v for k, v in row.items() if k != "id"} for row in rows]
            conn.execute(insert(table), rows)
        counts[table.name] = counts.get(table.name, 0) + len(rows)
    counts["users"] = counts.get("users", 0) + 1
    return str(name)
