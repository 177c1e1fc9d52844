"""Repositories: the ledger's reads and writes, scoped to one user, on one connection.

Every query that touches user data filters by ``user_id``; callers cannot reach another
user's rows through these methods.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter

from quantdesk.domain.accounts import Account, AccountKind
from quantdesk.domain.errors import Conflict, NotFound
from quantdesk.domain.instruments import AssetType, Instrument, InstrumentKey, first_priced
from quantdesk.domain.market import DailyCloses
from quantdesk.domain.materialized import AnalyticsWrite, StoredState
from quantdesk.domain.positions import Quote
from quantdesk.domain.transactions import (
    INFLOW_PRIORITY_MAX,
    SAME_TIME_PRIORITY,
    LotPick,
    Origin,
    Transaction,
    TransactionType,
)
from quantdesk.store.connections import ConnectionsRepository
from quantdesk.store.known_instruments import KnownInstruments
from quantdesk.store.market_quotes import MarketPrices, MarketQuotes, Versions
from quantdesk.store.settings import SettingsRepository
from quantdesk.store.tables import (
    accounts,
    imports,
    instruments,
    ledger_changes,
    portfolio_analytics,
    portfolio_history,
    price_revisions,
    prices,
    quotes,
    transactions,
    user_prices,
    users,
)
from quantdesk.store.targets import TargetsRepository

_INSERT_BATCH = 5_000
# Ledger order in SQL, the same as transactions.ledger_order_key.
_INFLOWS = [t.value for t, p in SAME_TIME_PRIORITY.items() if p <= INFLOW_PRIORITY_MAX]
_DAY_BUCKET = case(
    (transactions.c.timed, 1),
    (transactions.c.type.in_(_INFLOWS), 0),
    (
        and_(  # a conversion's receiving leg (quantity not negative) brings units in
            transactions.c.type == TransactionType.CONVERSION.value,
            func.substr(cast(transactions.c.quantity, String), 1, 1) != "-",
        ),
        0,
    ),
    else_=2,
)
_SAME_TIME_ORDER = case(
    (transactions.c.origin == Origin.UNKNOWN_BASIS.value, -1),
    *((transactions.c.type == t.value, p) for t, p in SAME_TIME_PRIORITY.items()),
    else_=99,
)
_IN_BATCH = 900  # stays under every engine's bound-parameter limit


def get_or_create_user(conn: Connection, name: str, now: datetime) -> int:
    found = conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one_or_none()
    if found is not None:
        return int(found)
    result = conn.execute(insert(users).values(name=name, created_at=now))
    return _new_id(result)


#: A transaction to insert with its keys resolved: (account id, instrument id, entry).
NewRow = tuple[int, int | None, Transaction]


def instruments_by_symbol(conn: Connection, symbols: Iterable[str]) -> dict[str, list[Instrument]]:
    """Every instrument (shared by all users) of each symbol."""
    found: dict[str, list[Instrument]] = {}
    unique = sorted(set(symbols))
    for start in range(0, len(unique), _IN_BATCH):
        chunk = unique[start : start + _IN_BATCH]
        for row in conn.execute(_INSTRUMENTS_OF_SYMBOLS, {"symbols": chunk}):
            found.setdefault(row.symbol, []).append(instrument_of_row(row))
    return found


def ensure_instruments(
    conn: Connection, wanted: Iterable[Instrument], now: datetime, *, create: bool = True
) -> dict[InstrumentKey, int]:
    """Ids of the given instruments (by symbol and asset type), creating the missing ones
    unless ``create`` is False."""
    by_key = {i.key: i for i in wanted}

    def known() -> dict[InstrumentKey, int]:
        return {
            instrument.key: instrument.id
            for found in instruments_by_symbol(conn, (k.symbol for k in by_key)).values()
            for instrument in found
            if instrument.key in by_key and instrument.id is not None
        }

    ids = known()
    missing = [i for k, i in by_key.items() if k not in ids]
    if not missing or not create:
        return ids
    # Instruments are shared: another user's import may create the same one at this
    # moment, so a duplicate is skipped (waiting for that import) rather than an error.
    conn.execute(
        insert_skipping_duplicates(conn.dialect.name),
        [
            {
                "symbol": i.symbol,
                "asset_type": i.asset_type.value,
                "currency": i.currency,
                "name": i.name,
                "created_at": now,
            }
            for i in missing
        ],
    )
    return known()


# The statements of every request, built once: building one per call (and its cache
# key per execution) cost more than running it on a warm connection.
_USER = bindparam("user_id", type_=users.c.id.type)
_INSTRUMENTS_OF_SYMBOLS = select(instruments).where(
    instruments.c.symbol.in_(bindparam("symbols", expanding=True))
)
_INSTRUMENT_BY_ID = select(instruments).where(instruments.c.id == bindparam("instrument_id"))
_ACCOUNTS_OF_USER = select(accounts).where(accounts.c.user_id == _USER).order_by(accounts.c.name)
_ACCOUNT_BY_ID = select(accounts).where(
    accounts.c.user_id == _USER, accounts.c.id == bindparam("account_id")
)
_LOCK_USER = (
    select(users.c.ledger_revision, users.c.market).where(users.c.id == _USER).with_for_update()
)
_REVISION_OF_USER = select(users.c.ledger_revision).where(users.c.id == _USER)
_BUMP_REVISION = (
    update(users).where(users.c.id == _USER).values(ledger_revision=users.c.ledger_revision + 1)
)
_INSERT_CHANGE = insert(ledger_changes)
_FINGERPRINTS_IN_ACCOUNT = select(transactions.c.fingerprint).where(
    transactions.c.account_id == bindparam("account_id"),
    transactions.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
)
_LATEST_IMPORT = (
    select(imports.c.sha256, imports.c.created_at)
    .where(
        imports.c.user_id == _USER,
        imports.c.format == bindparam("format"),
        imports.c.scope == bindparam("scope"),
        imports.c.sha256 != "",
    )
    .order_by(imports.c.id.desc())
    .limit(1)
)
_ANY_ENTRY_OF_ACCOUNT = (
    select(transactions.c.id)
    .where(transactions.c.account_id == bindparam("account_id"), transactions.c.user_id == _USER)
    .limit(1)
)
_IMPORT_SPANS = (
    select(
        imports.c.format,
        transactions.c.type,
        func.min(transactions.c.traded_at),
        func.max(transactions.c.traded_at),
    )
    .join(imports, imports.c.id == transactions.c.import_id)
    .where(
        transactions.c.account_id == bindparam("account_id"),
        transactions.c.user_id == _USER,
        transactions.c.origin == Origin.IMPORT.value,
    )
    .group_by(imports.c.format, transactions.c.type)
)
_RECORDED_ENTRIES = (
    select(
        transactions.c.id,
        transactions.c.type,
        transactions.c.instrument_id,
        transactions.c.currency,
        transactions.c.traded_at,
        transactions.c.trade_date,
        transactions.c.timed,
    )
    .join(imports, imports.c.id == transactions.c.import_id)
    .where(
        transactions.c.account_id == bindparam("account_id"),
        transactions.c.user_id == _USER,
        transactions.c.origin == Origin.IMPORT.value,
        transactions.c.trade_date >= bindparam("since", type_=transactions.c.trade_date.type),
        transactions.c.trade_date <= bindparam("until", type_=transactions.c.trade_date.type),
    )
)
#: The symbols of coins: a coin a conversion is valued in is a currency of the entry,
#: but priced as a coin, not converted as an FX pair.
COIN_SYMBOLS = select(instruments.c.symbol).where(
    instruments.c.asset_type == AssetType.CRYPTO.value
)
_LEDGER_CURRENCIES = (
    select(transactions.c.currency)
    .where(transactions.c.user_id == _USER, transactions.c.currency.not_in(COIN_SYMBOLS))
    .distinct()
)
_MAX_TRANSACTION_ID = select(func.coalesce(func.max(transactions.c.id), 0))
_LEDGER_FIRST_DAY = select(func.min(transactions.c.trade_date)).where(
    transactions.c.user_id == _USER
)


@functools.cache
def _priced_instruments() -> Select[Any]:
    """Every instrument in a user's ledger (cash aside) with its first trade date."""
    first = (
        select(
            transactions.c.instrument_id,
            func.min(transactions.c.trade_date).label("first_day"),
        )
        .where(transactions.c.user_id == _USER, transactions.c.instrument_id.is_not(None))
        .group_by(transactions.c.instrument_id)
        .subquery()
    )
    return (
        select(instruments, first.c.first_day)
        .join(first, first.c.instrument_id == instruments.c.id)
        .where(instruments.c.asset_type != AssetType.CASH.value)
        .order_by(instruments.c.symbol)
    )


class LedgerRepository:
    """One user's accounts and transactions, plus the shared instruments and prices."""

    def __init__(
        self,
        conn: Connection,
        user_id: int,
        *,
        market: str | None = None,
        stored_market: str | None = None,
        memo: RequestMemo | None = None,
    ) -> None:
        self.conn = conn
        self.user_id = user_id
        #: What the transactions of one request share, when the caller gives one.
        self.memo = memo
        #: ``--market`` for one command: overrides the user's stored market.
        self.market_override = market
        #: The stored market, read once a transaction (or known already: the API reads it
        #: with the caller's token).
        self._market: str | None = stored_market
        #: The ledger revision while this transaction holds the user's lock (nobody else
        #: can move it then); None: read it each time.
        self._revision: int | None = None
        #: The parameters of the ledger statement (``_ledger_query``).
        self._bound = {"user_id": user_id}
        #: Whether the user has closes of their own and their market's price versions,
        #: as this transaction read them with :meth:`versions` (None: not read).
        self._prices: tuple[bool, Versions] | None = None

    @property
    def settings(self) -> SettingsRepository:
        """This user's settings (store/settings.py), in the same transaction."""
        return SettingsRepository(self.conn, self.user_id)

    @property
    def targets(self) -> TargetsRepository:
        """This user's target allocation (store/targets.py), in the same transaction."""
        return TargetsRepository(self.conn, self.user_id)

    @property
    def connections(self) -> ConnectionsRepository:
        """This user's exchange and broker connections (store/connections.py)."""
        return ConnectionsRepository(self.conn, self.user_id)

    # accounts -----------------------------------------------------------------------
    def add_account(self, account: Account, now: datetime) -> Account:
        taken = {a.name.casefold(): a.name for a in self.list_accounts()}
        if account.name.casefold() in taken:
            raise Conflict(f"an account named '{taken[account.name.casefold()]}' already exists")
        result = self.conn.execute(
            insert(accounts).values(
                user_id=self.user_id,
                name=account.name,
                kind=account.kind.value,
                institution=account.institution,
                currency=account.currency,
                created_at=now,
                taxable=account.taxable,
            )
        )
        return Account(
            account.name,
            account.kind,
            account.currency,
            account.institution,
            _new_id(result),
            account.taxable,
        )

    def list_accounts(self) -> list[Account]:
        rows = self.conn.execute(_ACCOUNTS_OF_USER, self._bound)
        return [_account(row) for row in rows]

    def find_account(self, name: str) -> Account | None:
        row = self.conn.execute(
            select(accounts).where(accounts.c.user_id == self.user_id, accounts.c.name == name)
        ).one_or_none()
        return None if row is None else _account(row)

    def account(self, name: str) -> Account:
        found = self.find_account(name)
        if found is None:
            known = ", ".join(a.name for a in self.list_accounts()) or "none yet"
            raise NotFound(
                f"no account named '{name}' (accounts: {known}); create it with "
                f"`quantdesk accounts add '{name}' --kind KIND`"
            )
        return found

    def account_by_id(self, account_id: int) -> Account:
        """One of this user's accounts by id; another user's is as absent as a missing one."""
        row = self.conn.execute(
            _ACCOUNT_BY_ID, {"user_id": self.user_id, "account_id": account_id}
        ).one_or_none()
        if row is None:
            raise NotFound(f"no account {account_id}")
        return _account(row)

    def delete_account(self, account_id: int) -> None:
        """Delete one of this user's accounts with its entries."""
        self.account_by_id(account_id)
        first = self.conn.execute(
            select(func.min(transactions.c.trade_date)).where(
                transactions.c.account_id == account_id, transactions.c.user_id == self.user_id
            )
        ).scalar_one_or_none()
        self._ledger_changed(first if isinstance(first, date) else None)
        self.conn.execute(
            delete(transactions).where(
                transactions.c.account_id == account_id, transactions.c.user_id == self.user_id
            )
        )
        self.conn.execute(
            delete(accounts).where(accounts.c.id == account_id, accounts.c.user_id == self.user_id)
        )

    def update_account(self, account_id: int, values: dict[str, Any]) -> Account:
        """Rename or re-describe one of this user's accounts (a name stays unique)."""
        current = self.account_by_id(account_id)
        name = values.get("name")
        if name is not None and name.casefold() != current.name.casefold():
            taken = {a.name.casefold() for a in self.list_accounts()}
            if name.casefold() in taken:
                raise Conflict(f"an account named '{name}' already exists")
        if values:
            self.conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.user_id == self.user_id)
                .values(**values)
            )
        if name is not None and name != current.name:
            # the entries carry their account's name: a ledger read before is stale now,
            # though no value changed (so no day to redo)
            self._bump_revision()
        return self.account_by_id(account_id)

    # instruments --------------------------------------------------------------------
    def instruments_by_symbol(self, symbols: Iterable[str]) -> dict[str, list[Instrument]]:
        return instruments_by_symbol(self.conn, symbols)

    def instrument_by_id(self, instrument_id: int) -> Instrument:
        known = None if self.memo is None else self.memo.instruments
        kept = None if known is None else known.of_id(instrument_id)
        if kept is not None:
            return kept
        row = self.conn.execute(_INSTRUMENT_BY_ID, {"instrument_id": instrument_id}).one_or_none()
        if row is None:
            raise NotFound(f"no instrument {instrument_id}")
        found = instrument_of_row(row)
        if known is not None:
            known.keep([found])
        return found

    def first_priced_instrument(self, symbol: str) -> Instrument | None:
        """The :func:`first_priced` instrument of ``symbol``, if any; kept by the app once
        found (a later one comes after it)."""
        known = None if self.memo is None else self.memo.instruments
        kept = None if known is None else known.first_priced(symbol)
        if kept is not None:
            return kept
        first = first_priced(self.instruments_by_symbol([symbol]).get(symbol, []))
        if first is not None and known is not None:
            known.keep_first_priced(symbol, first)
        return first

    def instruments_of(self, keys: Iterable[InstrumentKey]) -> dict[InstrumentKey, Instrument]:
        """The instruments of ``keys`` that exist (from the app's known instruments when
        the request has them: ``RequestMemo.instruments``)."""
        wanted = set(keys)
        known = None if self.memo is None else self.memo.instruments
        found = {} if known is None else known.of_keys(wanted)
        missing = wanted - found.keys()
        if missing:
            read = [
                i
                for group in self.instruments_by_symbol({k.symbol for k in missing}).values()
                for i in group
            ]
            if known is not None:
                known.keep(read)
            found.update((i.key, i) for i in read if i.key in missing)
        return found

    def search_instruments(self, text: str, limit: int) -> list[Instrument]:
        """Instruments whose symbol starts with ``text`` or whose name contains it."""
        needle = text.strip().upper()
        pattern = needle.replace("\\", "").replace("%", "").replace("_", "\\_")
        rows = self.conn.execute(
            select(instruments)
            .where(
                instruments.c.asset_type != "unknown",
                or_(
                    instruments.c.symbol.like(f"{pattern}%", escape="\\"),
                    func.upper(instruments.c.name).like(f"%{pattern}%", escape="\\"),
                ),
            )
            .order_by(func.length(instruments.c.symbol), instruments.c.symbol)
            .limit(limit)
        )
        return [instrument_of_row(row) for row in rows]

    def page_transactions(
        self,
        *,
        account_id: int | None,
        symbol: str | None,
        types: Sequence[str],
        start: date | None,
        end: date | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Transaction], int]:
        """A page of the user's ledger (newest first) and how many entries match."""
        conditions = []
        if account_id is not None:
            conditions.append(transactions.c.account_id == account_id)
        if types:
            conditions.append(transactions.c.type.in_(list(types)))
        if symbol is not None:
            ids = select(instruments.c.id).where(instruments.c.symbol == symbol)
            conditions.append(transactions.c.instrument_id.in_(ids))
        if start is not None:
            conditions.append(transactions.c.trade_date >= start)
        if end is not None:
            conditions.append(transactions.c.trade_date <= end)
        query = self._ledger_query().where(*conditions)
        count = (
            select(func.count())
            .select_from(transactions)
            .where(transactions.c.user_id == self.user_id, *conditions)
        )
        total = int(self.conn.execute(count).scalar_one())
        query = query.order_by(None).order_by(
            transactions.c.trade_date.desc(),
            _DAY_BUCKET.desc(),
            transactions.c.traded_at.desc(),
            _SAME_TIME_ORDER.desc(),
            transactions.c.id.desc(),
        )
        rows = self.conn.execute(query.limit(limit).offset(offset), self._bound)
        return list(map(_Converter(), rows)), total

    def ensure_instruments(
        self, wanted: Iterable[Instrument], now: datetime
    ) -> dict[InstrumentKey, int]:
        """Ids of the given instruments, creating those that do not exist yet."""
        return ensure_instruments(self.conn, wanted, now)

    def lock(self) -> None:
        """Hold this user's ledger until the transaction ends: imports and edits of one
        user run one at a time (each validates the whole ledger), other users' do not
        wait. SQLite has no FOR UPDATE and its driver opens the transaction only at the
        first write: a no-op write of the user's row takes SQLite's write lock at once, so
        everything read after it is read inside the transaction that will write."""
        if self.conn.dialect.name == "sqlite":
            self.conn.execute(
                update(users)
                .where(users.c.id == self.user_id)
                .values(ledger_revision=users.c.ledger_revision)
            )
            return
        row = self.conn.execute(_LOCK_USER, self._bound).one()
        self._revision, self._market = int(row.ledger_revision), str(row.market)

    def classify_instrument(self, instrument_id: int, asset_type: AssetType) -> None:
        """Give an instrument of unknown type its asset type (its closes stay attached)."""
        # Not a ledger change: an entry never names an instrument of unknown type (an
        # import asks for the type first); only closes loaded before any trade do.
        self.conn.execute(
            update(instruments)
            .where(instruments.c.id == instrument_id, instruments.c.asset_type == "unknown")
            .values(asset_type=asset_type.value)
        )

    # transactions -------------------------------------------------------------------
    def existing_fingerprints(self, account_id: int, fingerprints: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(fingerprints), _IN_BATCH):
            chunk = fingerprints[start : start + _IN_BATCH]
            found.update(
                self.conn.execute(
                    _FINGERPRINTS_IN_ACCOUNT, {"account_id": account_id, "fingerprints": chunk}
                ).scalars()
            )
        return found

    def add_transactions(
        self, rows: Sequence[NewRow], now: datetime, *, import_id: int | None = None
    ) -> int:
        """Insert rows in order (ids grow with insertion order); returns how many.

        Imports insert a hundred thousand rows at a time, so this binds parameters itself
        with the columns' own SQLAlchemy bind processors (the same conversions as any
        other insert) and hands them to the driver's executemany in one call a batch.
        """
        if not rows:
            return 0
        self._ledger_changed(min(t.traded_on for _, _, t in rows))
        self._forget_quotes(instrument for _, instrument, _ in rows)
        bulk = _bulk_insert(self.conn.dialect)
        shared = {"user_id": self.user_id, "import_id": import_id, "created_at": now}
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = rows[start : start + _INSERT_BATCH]
            self.conn.exec_driver_sql(bulk.sql, bulk.bind(batch, shared))
        return len(rows)

    def start_import(self, *, filename: str, fmt: str, scope: str, now: datetime) -> int:
        """Open an import record; its id tags every entry the import adds."""
        result = self.conn.execute(
            insert(imports).values(
                user_id=self.user_id,
                filename=filename[:255],
                format=fmt,
                scope=scope,
                sha256="",
                rows=0,
                added=0,
                created_at=now,
            )
        )
        return _new_id(result)

    def finish_import(self, import_id: int, *, sha256: str, rows: int, added: int) -> None:
        self.conn.execute(
            update(imports)
            .where(imports.c.id == import_id, imports.c.user_id == self.user_id)
            .values(sha256=sha256, rows=rows, added=added)
        )

    def latest_import(self, fmt: str, scope: str) -> tuple[str, datetime] | None:
        """The content hash and time of this user's latest finished import of a format
        into a scope, if any."""
        row = self.conn.execute(
            _LATEST_IMPORT, {"user_id": self.user_id, "format": fmt, "scope": scope}
        ).first()
        return None if row is None else (row.sha256, row.created_at)

    def _ledger_query(self, account_id: int | None = None, types: Sequence[str] = ()) -> Any:
        """The ledger statement, narrowed; run it with ``self._bound`` (its ``user_id``
        is a bound parameter: binding it with ``.params()`` would copy the statement,
        which cost more than running it)."""
        query = _whole_ledger()
        if account_id is not None:
            query = query.where(transactions.c.account_id == account_id)
        if types:
            query = query.where(transactions.c.type.in_(list(types)))
        return query

    def iter_ledger(
        self, *, types: Sequence[str] = (), exclude_import: int | None = None
    ) -> Iterator[Transaction]:
        """The user's whole ledger in ledger order, streamed in batches."""
        query = self._ledger_query(types=types)
        if exclude_import is not None:
            query = query.where(
                or_(transactions.c.import_id.is_(None), transactions.c.import_id != exclude_import)
            )
        result = self.conn.execute(query.execution_options(yield_per=5_000), self._bound)
        convert = _Converter()
        for batch in result.partitions():
            yield from map(convert, batch)

    def ledger(self, *, account_id: int | None = None) -> list[Transaction]:
        """The user's ledger (or one account's) in ledger order."""
        rows = self.conn.execute(self._ledger_query(account_id), self._bound)
        return list(map(_Converter(), rows))

    def ledger_of_origin(self, origin: Origin) -> list[Transaction]:
        """The user's entries of one origin, in ledger order."""
        query = self._ledger_query().where(transactions.c.origin == origin.value)
        return list(map(_Converter(), self.conn.execute(query, self._bound)))

    def transaction(self, transaction_id: int) -> Transaction:
        row = self.conn.execute(
            self._ledger_query().where(transactions.c.id == transaction_id), self._bound
        ).one_or_none()
        if row is None:
            raise NotFound(f"no transaction {transaction_id}")
        return _Converter()(row)

    def _ledger_changed(self, from_day: date | None) -> None:
        """Bump the user's ledger revision and note the earliest day the change touched
        (materialized analytics are redone from there)."""
        if from_day is None:
            return
        revision = self._bump_revision()
        self.conn.execute(
            _INSERT_CHANGE, {"user_id": self.user_id, "revision": revision, "from_day": from_day}
        )

    def _bump_revision(self) -> int:
        """Move the user's ledger revision on (what a process caches of their ledger is
        stale then); the new revision."""
        self.conn.execute(_BUMP_REVISION, self._bound)
        if self._revision is not None:  # locked: this transaction's bump is the only one
            self._revision += 1
        return self.ledger_revision()

    def ledger_revision(self) -> int:
        if self._revision is not None:
            return self._revision
        found = self.conn.execute(_REVISION_OF_USER, self._bound).scalar_one()
        return int(found)

    def changed_since(self, revision: int) -> date | None:
        """The earliest day touched by the changes after ``revision`` (None: none)."""
        found = self.conn.execute(
            select(func.min(ledger_changes.c.from_day)).where(
                ledger_changes.c.user_id == self.user_id,
                ledger_changes.c.revision > revision,
            )
        ).scalar_one_or_none()
        return found if isinstance(found, date) else None

    def _trade_day(self, transaction_id: int) -> date | None:
        found = self.conn.execute(
            select(transactions.c.trade_date).where(
                transactions.c.id == transaction_id, transactions.c.user_id == self.user_id
            )
        ).scalar_one_or_none()
        return found if isinstance(found, date) else None

    def delete_transaction(self, transaction_id: int) -> None:
        self._ledger_changed(self._trade_day(transaction_id))
        result = self.conn.execute(
            delete(transactions).where(
                transactions.c.id == transaction_id, transactions.c.user_id == self.user_id
            )
        )
        if result.rowcount == 0:
            raise NotFound(f"no transaction {transaction_id}")

    def update_transaction(self, transaction_id: int, values: dict[str, Any]) -> None:
        old = self._trade_day(transaction_id)
        new = values.get("trade_date")
        self._ledger_changed(min(old, new) if old is not None and isinstance(new, date) else old)
        if "instrument_id" in values:
            self._forget_quotes()
        result = self.conn.execute(
            update(transactions)
            .where(transactions.c.id == transaction_id, transactions.c.user_id == self.user_id)
            .values(**values)
        )
        if result.rowcount == 0:
            raise NotFound(f"no transaction {transaction_id}")

    def has_transactions(self, account_id: int) -> bool:
        found = self.conn.execute(
            _ANY_ENTRY_OF_ACCOUNT, {"user_id": self.user_id, "account_id": account_id}
        ).first()
        return found is not None

    def import_spans(self, account_id: int) -> list[tuple[str, str, datetime, datetime]]:
        """Per import format and entry type, the first and the last moment of the
        account's imported entries (whether files or a connection's sync recorded any,
        and how far: services/other_source.py)."""
        rows = self.conn.execute(
            _IMPORT_SPANS, {"user_id": self.user_id, "account_id": account_id}
        ).all()
        return [(str(fmt), str(kind), first, last) for fmt, kind, first, last in rows]

    def recorded_entries(
        self, account_id: int, *, synced: bool, since: date, until: date
    ) -> list[tuple[int, str, int | None, str, datetime, date, bool]]:
        """The account's entries imported by a connection's sync (``synced``) or from
        files, of trade dates ``since`` to ``until``: id, type, instrument id, currency,
        moment, trade date and whether it had a time of day (services/other_source.py
        matches them)."""
        from_sync = imports.c.format.like("%-api")  # other_source.SYNC_FORMAT
        rows = self.conn.execute(
            _RECORDED_ENTRIES.where(from_sync if synced else ~from_sync),
            {"user_id": self.user_id, "account_id": account_id, "since": since, "until": until},
        ).all()
        return [
            (int(n), str(t), i, str(c), at, day, bool(timed)) for n, t, i, c, at, day, timed in rows
        ]

    def latest_transaction_ids(self, count: int) -> list[int]:
        """The ids of this user's ``count`` newest entries, oldest first."""
        found = self.conn.execute(
            select(transactions.c.id)
            .where(transactions.c.user_id == self.user_id)
            .order_by(transactions.c.id.desc())
            .limit(count)
        ).scalars()
        return sorted(int(i) for i in found)

    def has_instrument_entries(self, account_id: int, instrument_id: int) -> bool:
        found = self.conn.execute(
            select(transactions.c.id)
            .where(
                transactions.c.user_id == self.user_id,
                transactions.c.account_id == account_id,
                transactions.c.instrument_id == instrument_id,
            )
            .limit(1)
        ).first()
        return found is not None

    def max_transaction_id(self) -> int:
        """The highest transaction id of any user (0 when there is none)."""
        return int(self.conn.execute(_MAX_TRANSACTION_ID).scalar_one())

    # prices -------------------------------------------------------------------------
    def store_user_closes(
        self, rows: Sequence[tuple[int, date, Decimal, str]], *, source: str
    ) -> int:
        """Store this user's closes (instrument id, day, close, currency); a close for a day
        that already has one replaces it."""
        self._ledger_changed(min((day for _, day, _, _ in rows), default=None))
        if rows:
            self.conn.execute(
                update(users)
                .where(users.c.id == self.user_id)
                .values(closes_revision=users.c.closes_revision + 1)
            )
        days: dict[int, list[date]] = {}
        for instrument_id, day, _, _ in rows:
            days.setdefault(instrument_id, []).append(day)
        for instrument_id, wanted in days.items():
            for start in range(0, len(wanted), _IN_BATCH):
                self.conn.execute(
                    delete(user_prices).where(
                        user_prices.c.user_id == self.user_id,
                        user_prices.c.instrument_id == instrument_id,
                        user_prices.c.day.in_(wanted[start : start + _IN_BATCH]),
                    )
                )
        latest = {(i, d): (c, cur) for i, d, c, cur in rows}  # the file's last word per day
        values = [
            {
                "user_id": self.user_id,
                "instrument_id": i,
                "day": d,
                "close": c,
                "currency": cur,
                "source": source,
            }
            for (i, d), (c, cur) in latest.items()
        ]
        self._forget_quotes()  # the user's own closes move their latest quotes
        self._prices = None
        for start in range(0, len(values), _INSERT_BATCH):
            self.conn.execute(insert(user_prices), values[start : start + _INSERT_BATCH])
        return len(values)

    def latest_quotes(self, as_of: date) -> dict[InstrumentKey, Quote]:
        """The latest price on or before ``as_of`` of every instrument: the newest day
        wins, and on the same day the user's own close wins over the market's close, which
        wins over its live quote. The market is the user's: a live ledger never sees simulated
        prices and a simulated one never sees real ones."""
        market = self.market()
        remembered = (market, as_of)
        shared = None if self.memo is None else self.memo.quotes.get(remembered)
        if shared is not None:
            return dict(shared.quotes)
        kept = None if self.memo is None else self.memo.market
        found = None
        if kept is not None:
            own, versions = self._price_state()
            if not own:  # the market's, as the app keeps them while their versions stand
                found = self._market_prices(kept, market, as_of, versions)
        if found is None:
            quotes_found, held = self._latest(as_of, every=False)
            found = MarketPrices(quotes_found, frozenset(held))
        if self.memo is not None:
            self.memo.quotes[remembered] = found
        return dict(found.quotes)

    def market_latest_quotes(self, as_of: date) -> dict[InstrumentKey, Quote]:
        """The latest price on or before ``as_of`` of every instrument of the user's
        market (its closes, then its live quotes), whoever holds it: what
        ``latest_quotes`` answers for a user without closes of their own, read once for
        many such users."""
        kept = None if self.memo is None else self.memo.market
        if kept is None:
            return self._latest(as_of, every=True)[0]
        versions = self._price_state()[1]
        return dict(self._market_prices(kept, self.market(), as_of, versions).quotes)

    def _price_state(self) -> tuple[bool, Versions]:
        """Whether the user has closes of their own, and the versions of their market's
        closes and live quotes (store/market_quotes.py): read with :meth:`versions`,
        once a transaction."""
        if self._prices is None:
            self.versions()
        assert self._prices is not None
        return self._prices

    def _market_prices(
        self, kept: MarketQuotes, market: str, as_of: date, versions: Versions
    ) -> MarketPrices:
        def read() -> MarketPrices:
            found, held = self._latest(as_of, every=True)
            return MarketPrices(found, frozenset(held))

        return kept.get(market, as_of, versions, read)

    def _latest(
        self, as_of: date, *, every: bool
    ) -> tuple[dict[InstrumentKey, Quote], dict[int, InstrumentKey]]:
        last_days, own_rows, market_rows, live = _latest_statements(
            self.market() == "simulated", every
        )
        asked = {"user_id": self.user_id, "as_of": as_of}
        quotes_found: dict[InstrumentKey, Quote] = {}
        held: dict[int, InstrumentKey] = {}
        days: dict[bool, list[tuple[int, date]]] = {True: [], False: []}
        for row in self.conn.execute(last_days, asked):
            held[row.id] = InstrumentKey(row.symbol, AssetType(row.asset_type))
            for own, day in ((True, row.own), (False, row.market)):
                if day is not None:
                    days[own].append((row.id, day))
        for query, own in ((own_rows, True), (market_rows, False)):
            for start in range(0, len(days[own]), _IN_BATCH // 2):
                pairs = set(days[own][start : start + _IN_BATCH // 2])
                # the rows of these instruments on these days, then only each one's day
                chosen = {
                    **asked,
                    "ids": sorted({i for i, _ in pairs}),
                    "days": sorted({d for _, d in pairs}),
                }
                for row in self.conn.execute(query, chosen):
                    if (row.instrument_id, row.day) not in pairs:
                        continue
                    key = held[row.instrument_id]
                    known = quotes_found.get(key)
                    if known is None or (not own and row.day > known.as_of):
                        quotes_found[key] = Quote(row.close, row.currency, row.day, row.source)
        for row in self.conn.execute(live, asked):
            day = row.as_of.date()
            if day > as_of:
                continue
            key = InstrumentKey(row.symbol, AssetType(row.asset_type))
            known = quotes_found.get(key)
            if known is None or day > known.as_of:  # a close of the same day wins
                quotes_found[key] = Quote(row.price, row.price_currency, day, row.source)
        return quotes_found, held

    def _forget_quotes(self, instrument_ids: Iterable[int | None] | None = None) -> None:
        """Drop the remembered latest quotes: all of them, or those that do not cover the
        instruments of ``instrument_ids`` (entries for them were just added)."""
        if self.memo is None or not self.memo.quotes:
            return
        wanted = None if instrument_ids is None else {i for i in instrument_ids if i is not None}
        self.memo.quotes = {
            key: found
            for key, found in self.memo.quotes.items()
            if wanted is not None and wanted <= found.instruments
        }

    # market data --------------------------------------------------------------------
    def daily_closes(
        self, keys: Iterable[InstrumentKey], start: date, end: date
    ) -> dict[InstrumentKey, DailyCloses]:
        """Closes of each instrument from ``start`` to ``end``, oldest first, with their
        currency: the user's own where they have one for the day, else the market's (the
        user's market: live or simulated, never both)."""
        wanted = set(keys)
        ids = {
            i.id: i.key
            for found in self.instruments_by_symbol(k.symbol for k in wanted).values()
            for i in found
            if i.key in wanted and i.id is not None
        }
        if not ids:
            return {}
        simulated = self.market() == "simulated"
        by_key: dict[InstrumentKey, dict[date, tuple[Decimal, str]]] = {}
        market_scope = (
            prices.c.source == "simulated" if simulated else prices.c.source != "simulated"
        )
        for table, own in ((prices, False), (user_prices, True)):
            query = select(
                table.c.instrument_id, table.c.day, table.c.close, table.c.currency
            ).where(table.c.instrument_id.in_(list(ids)), table.c.day >= start, table.c.day <= end)
            query = (
                query.where(table.c.user_id == self.user_id) if own else query.where(market_scope)
            )
            for row in self.conn.execute(query.order_by(table.c.day)):
                days = by_key.setdefault(ids[row.instrument_id], {})
                if own or row.day not in days:  # the user's own close wins its day
                    days[row.day] = (row.close, row.currency)
        out: dict[InstrumentKey, DailyCloses] = {}
        for key, days in by_key.items():
            ordered_days = sorted(days)
            currency = days[ordered_days[-1]][1]  # one currency per series: the latest's
            kept = [d for d in ordered_days if days[d][1] == currency]
            other = tuple(d for d in ordered_days if days[d][1] != currency)
            out[key] = DailyCloses(kept, [days[d][0] for d in kept], currency, len(other), other)
        return out

    def own_closes(self, key: InstrumentKey, start: date, end: date) -> list[tuple[date, Decimal]]:
        """This user's own closes of one instrument in a range, oldest first."""
        rows = self.conn.execute(
            select(user_prices.c.day, user_prices.c.close)
            .join(instruments, instruments.c.id == user_prices.c.instrument_id)
            .where(
                user_prices.c.user_id == self.user_id,
                instruments.c.symbol == key.symbol,
                instruments.c.asset_type == key.asset_type.value,
                user_prices.c.day >= start,
                user_prices.c.day <= end,
            )
            .order_by(user_prices.c.day)
        )
        return [(row.day, row.close) for row in rows]

    def market(self) -> str:
        """``live`` or ``simulated``: where this user's market prices come from."""
        if self.market_override is not None:
            return self.market_override
        if self._market is None:
            found = self.conn.execute(select(users.c.market).where(users.c.id == self.user_id))
            self._market = str(found.scalar_one())
        return self._market

    def set_market(self, market: str) -> None:
        self.conn.execute(update(users).where(users.c.id == self.user_id).values(market=market))
        self._market = market

    def priced_instruments(self) -> list[tuple[Instrument, date]]:
        """Every instrument in this user's ledger (cash aside) with its first trade date:
        what a price refresh fetches, and from when."""
        rows = self.conn.execute(_priced_instruments(), self._bound)
        return [(instrument_of_row(row), row.first_day) for row in rows]

    def ledger_currencies(self) -> set[str]:
        """Every currency this user's ledger holds or trades in: its accounts' and its
        entries' (cash of another currency held in an account, a price's currency; not a
        coin a conversion is valued in). The analytics convert each into the base
        currency, so a refresh fetches its FX closes."""
        found = set(self.conn.execute(_LEDGER_CURRENCIES, self._bound).scalars())
        return found | {a.currency for a in self.list_accounts()}

    def ledger_first_day(self) -> date | None:
        """The day of this user's first entry (None: an empty ledger): where their
        analytics start, and from when a refresh fetches their benchmark's closes."""
        first: date | None = self.conn.execute(_LEDGER_FIRST_DAY, self._bound).scalar_one()
        return first

    def set_provider_id(self, symbol: str, provider: str, provider_id: str | None) -> Instrument:
        """Fix (or, with None, clear) the id ``provider`` knows ``symbol`` by."""
        found = [
            i
            for i in self.instruments_by_symbol([symbol]).get(symbol, [])
            if i.asset_type is not AssetType.CASH
        ]
        if not found:
            raise NotFound(f"no instrument {symbol!r}")
        if len(found) > 1:
            kinds = ", ".join(i.asset_type.value for i in found)
            raise Conflict(f"{symbol} is several instruments ({kinds}); cannot tell which")
        instrument = found[0]
        ids = dict(instrument.provider_ids)
        if provider_id:
            ids[provider] = provider_id
        else:
            ids.pop(provider, None)
        self.conn.execute(
            update(instruments)
            .where(instruments.c.id == instrument.id)
            .values(provider_ids=ids or None)
        )
        return replace(instrument, provider_ids=tuple(sorted(ids.items())))

    # materialized analytics -----------------------------------------------------------
    def price_versions(self) -> tuple[int, int]:
        """The revision of the user's market's closes and of the user's own closes: while
        both stand, every close the user's analytics read is as it was."""
        return self.versions()[1:]

    def versions(self) -> tuple[int, int, int]:
        """The ledger revision and the price versions (:meth:`price_versions`), in one
        statement: what decides whether stored analytics still stand."""
        row = self.conn.execute(
            _versions_statement(), {"user_id": self.user_id, "market": self.market()}
        ).one()
        return self._versions_of(row)

    def _versions_of(self, row: Row[Any]) -> tuple[int, int, int]:
        """The versions of a row of ``_versions_statement``; what it also read, whether
        the user has closes of their own and the versions of the market's latest prices,
        is kept for this transaction (it asks them no more)."""
        revision = self._revision if self._revision is not None else int(row.ledger_revision)
        self._prices = bool(row.own), (row.market_revision, row.quotes_revision)
        return revision, int(row.market_revision or 0), int(row.closes_revision)

    def has_own_closes(self) -> bool:
        """Whether the user has any closes of their own (their analytics then read more
        than the market's closes)."""
        if self._prices is not None:
            return self._prices[0]
        found = self.conn.execute(
            select(user_prices.c.day).where(user_prices.c.user_id == self.user_id).limit(1)
        )
        return found.first() is not None

    def price_stats(self, keys: Iterable[InstrumentKey]) -> dict[str, list[object]]:
        """Per instrument of the user's market: how many closes, the first and last day
        (a cheap fingerprint of the market closes the analytics read)."""
        wanted = list(dict.fromkeys(keys))
        names = sorted({k.symbol for k in wanted})
        if not names:
            return {}
        simulated = self.market() == "simulated"
        scope = prices.c.source == "simulated" if simulated else prices.c.source != "simulated"
        rows = self.conn.execute(
            select(
                instruments.c.symbol,
                instruments.c.asset_type,
                func.count(),
                func.min(prices.c.day),
                func.max(prices.c.day),
            )
            .join(prices, prices.c.instrument_id == instruments.c.id)
            .where(instruments.c.symbol.in_(names), scope)
            .group_by(instruments.c.symbol, instruments.c.asset_type)
        )
        out: dict[str, list[object]] = {}
        for symbol, kind, count, first, last in rows:
            key = InstrumentKey(symbol, AssetType(kind))
            if key in wanted:
                out[f"{kind}:{symbol}"] = [int(count), str(first), str(last)]
        return out

    def closes_through(self, key: InstrumentKey, last: date) -> int:
        """How many market closes of ``key`` there are up to ``last`` (inclusive)."""
        simulated = self.market() == "simulated"
        scope = prices.c.source == "simulated" if simulated else prices.c.source != "simulated"
        found = self.conn.execute(
            select(func.count())
            .select_from(prices.join(instruments, instruments.c.id == prices.c.instrument_id))
            .where(
                instruments.c.symbol == key.symbol,
                instruments.c.asset_type == key.asset_type.value,
                prices.c.day <= last,
                scope,
            )
        ).scalar_one()
        return int(found)

    def analytics_state(
        self, request: str
    ) -> tuple[tuple[int, int, int], dict[str, Any] | None, date | None]:
        """:meth:`versions`, :meth:`stored_analytics` and :meth:`changed_since` its
        revision, in one statement: what an API request reads before it knows whether
        its stored answer stands."""
        row = self.conn.execute(
            _analytics_state_statement(),
            {"user_id": self.user_id, "market": self.market(), "request": request},
        ).one()
        stored = None if row.request is None else _stored_answer(row)
        changed = row.changed if isinstance(row.changed, date) else None
        return self._versions_of(row), stored, changed

    def stored_analytics(self, request: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(portfolio_analytics).where(
                portfolio_analytics.c.user_id == self.user_id,
                portfolio_analytics.c.request == request,
            )
        ).one_or_none()
        return None if row is None else _stored_answer(row)

    def store_materialized(self, write: AnalyticsWrite) -> int:
        """Store this user's answer to a request and rewrite its days of history (see
        :func:`store_materialized`); how many history rows were written."""
        return store_materialized(self.conn, [(self.user_id, write)])

    def history_of(self, scope: str) -> list[tuple[date, Decimal, Decimal]]:
        rows = self.conn.execute(
            select(portfolio_history.c.day, portfolio_history.c.value, portfolio_history.c.flow)
            .where(portfolio_history.c.user_id == self.user_id, portfolio_history.c.scope == scope)
            .order_by(portfolio_history.c.day)
        )
        return [(row.day, row.value, row.flow) for row in rows]


def _stored_answer(row: Row[Any]) -> dict[str, Any]:
    return {
        "fingerprint": row.fingerprint,
        "revision": row.revision,
        "price_stats": row.price_stats,
        "price_revision": int(row.price_revision),
        "payload": row.payload,
        "scope": row.scope,
    }


def read_share(
    conn: Connection, wanted: Mapping[int, tuple[str, str]]
) -> tuple[dict[int, StoredState], dict[int, tuple[int, list[Transaction]]]]:
    """For each user id of ``wanted`` (its market and the request asked): the state that
    decides whether its stored answer stands, and its ledger with the revision it was
    read at; six statements for a whole nightly share, not six for each user."""
    ids = sorted(wanted)
    if not ids:
        return {}, {}
    requests = sorted({request for _, request in wanted.values()})
    markets: dict[str, int] = {
        str(row.market): int(row.revision)
        for row in conn.execute(select(price_revisions.c.market, price_revisions.c.revision))
    }
    heads = {
        row.id: (int(row.ledger_revision), int(row.closes_revision))
        for row in conn.execute(
            select(users.c.id, users.c.ledger_revision, users.c.closes_revision).where(
                users.c.id.in_(ids)
            )
        )
    }
    stored = {
        row.user_id: _stored_answer(row)
        for row in conn.execute(
            select(portfolio_analytics).where(
                portfolio_analytics.c.user_id.in_(ids), portfolio_analytics.c.request.in_(requests)
            )
        )
        if wanted[row.user_id][1] == row.request
    }
    changed = {
        (row.user_id, row.request): row.day
        for row in conn.execute(
            select(
                ledger_changes.c.user_id,
                portfolio_analytics.c.request,
                func.min(ledger_changes.c.from_day).label("day"),
            )
            .join(
                portfolio_analytics,
                and_(
                    portfolio_analytics.c.user_id == ledger_changes.c.user_id,
                    ledger_changes.c.revision > portfolio_analytics.c.revision,
                ),
            )
            .where(
                portfolio_analytics.c.user_id.in_(ids), portfolio_analytics.c.request.in_(requests)
            )
            .group_by(ledger_changes.c.user_id, portfolio_analytics.c.request)
        )
    }
    own = set(
        conn.execute(
            select(user_prices.c.user_id).where(user_prices.c.user_id.in_(ids)).distinct()
        ).scalars()
    )
    currencies: dict[int, set[str]] = {}
    for user_id, currency in conn.execute(
        select(accounts.c.user_id, accounts.c.currency).where(accounts.c.user_id.in_(ids))
    ):
        currencies.setdefault(user_id, set()).add(currency)
    ledgers: dict[int, list[Transaction]] = {}
    held: dict[int, dict[InstrumentKey, None]] = {}
    coins = set(conn.execute(COIN_SYMBOLS).scalars())
    convert = _Converter()
    rows = conn.execute(
        select(transactions.c.user_id, *_LEDGER_COLUMNS, instruments.c.currency)
        .join(accounts, accounts.c.id == transactions.c.account_id)
        .outerjoin(instruments, instruments.c.id == transactions.c.instrument_id)
        .where(transactions.c.user_id.in_(ids))
        .order_by(
            transactions.c.user_id,
            transactions.c.trade_date,
            _DAY_BUCKET,
            transactions.c.traded_at,
            _SAME_TIME_ORDER,
            transactions.c.id,
        )
    )
    for row in rows:
        entry = convert(row[1:-1])
        ledgers.setdefault(row[0], []).append(entry)
        if entry.currency not in coins:  # cash of other currencies (as ledger_currencies)
            currencies.setdefault(row[0], set()).add(entry.currency)
        if entry.instrument is not None and entry.instrument.asset_type is not AssetType.CASH:
            held.setdefault(row[0], {})[entry.instrument] = None
            currencies.setdefault(row[0], set()).add(row[-1])
    states: dict[int, StoredState] = {}
    for user_id, (market, request) in wanted.items():
        if user_id not in heads:  # gone since
            continue
        revision, closes_revision = heads[user_id]
        states[user_id] = StoredState(
            (revision, markets.get(market, 0), closes_revision),
            stored.get(user_id),
            changed.get((user_id, request)),
            user_id in own,
            tuple(held.get(user_id, {})),  # as the ledger lists them: a set, in effect
            frozenset(currencies.get(user_id, set())),
        )
    return states, {u: (heads[u][0], ledgers.get(u, [])) for u in states}


_CLEAR_ANALYTICS = delete(portfolio_analytics).where(
    portfolio_analytics.c.user_id == bindparam("u"),
    portfolio_analytics.c.request == bindparam("r"),
)
_CLEAR_HISTORY = delete(portfolio_history).where(
    portfolio_history.c.user_id == bindparam("u"),
    portfolio_history.c.scope == bindparam("s"),
    portfolio_history.c.day >= bindparam("first", type_=portfolio_history.c.day.type),
    portfolio_history.c.day <= bindparam("last", type_=portfolio_history.c.day.type),
)


def store_materialized(conn: Connection, writes: Sequence[tuple[int, AnalyticsWrite]]) -> int:
    """Store each user's answer to a request (replacing the one stored) and rewrite its
    scope's days of history, for many users at once (a nightly share: four statements,
    not seven for each user); how many history rows were written.

    Deleted then inserted as one step that a concurrent writer of the same rows (the job
    worker and a request materializing the same analytics) cannot break: if the other
    committed its rows between these deletes and inserts, the step is redone once,
    deleting what it wrote (both computed the same answer from the same inputs)."""
    if not writes:
        return 0
    answers = [
        {
            "user_id": user_id,
            "request": w.request,
            "scope": w.scope,
            "fingerprint": w.fingerprint,
            "revision": w.revision,
            "price_stats": w.price_stats,
            "price_revision": w.price_revision,
            "computed_at": w.computed_at,
            "payload": w.payload,
        }
        for user_id, w in writes
    ]
    days = [
        {"user_id": user_id, "scope": w.scope, "day": d, "value": v, "flow": f}
        for user_id, w in writes
        for d, v, f in w.rows
        if w.from_day <= d <= w.until
    ]
    for attempt in range(2):
        try:
            with conn.begin_nested():
                conn.execute(_CLEAR_ANALYTICS, [{"u": u, "r": w.request} for u, w in writes])
                conn.execute(insert(portfolio_analytics), answers)
                conn.execute(
                    _CLEAR_HISTORY,
                    [
                        {"u": u, "s": w.scope, "first": w.from_day, "last": w.until}
                        for u, w in writes
                    ],
                )
                _insert_history(conn, days)
            return len(days)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


#: From how many rows history goes in by COPY on PostgreSQL (an executemany spent ~23 µs
#: of Python a row: a first night's 1,254 days a user, an upload's rewrite of months).
_COPY_FROM = 64


def _insert_history(conn: Connection, days: Sequence[dict[str, Any]]) -> None:
    if not days:
        return
    if conn.dialect.name != "postgresql" or len(days) < _COPY_FROM:
        conn.execute(insert(portfolio_history), days)
        return
    import psycopg  # noqa: PLC0415 - the PostgreSQL driver, only for PostgreSQL

    raw = conn.connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    columns = ("user_id", "scope", "day", "value", "flow")
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY portfolio_history ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in days:
                copy.write_row(tuple(row[c] for c in columns))
    except psycopg.errors.UniqueViolation as error:  # as SQLAlchemy would say it
        raise IntegrityError("COPY portfolio_history", None, error) from error


def insert_skipping_duplicates(dialect: str, table: Table = instruments) -> Any:
    """An INSERT that skips rows whose key already exists, on every supported engine."""
    if dialect == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL / MariaDB


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _account(row: Row[Any]) -> Account:
    taxable = None if row.taxable is None else bool(row.taxable)
    return Account(
        row.name, AccountKind(row.kind), row.currency, row.institution, int(row.id), taxable
    )


def instrument_of_row(row: Row[Any]) -> Instrument:
    """An instrument from a row of the instruments table (and maybe other columns)."""
    ids = row.provider_ids if "provider_ids" in row._fields else None
    return Instrument(
        row.symbol,
        AssetType(row.asset_type),
        row.currency,
        row.name,
        int(row.id),
        tuple(sorted((ids or {}).items())),
    )


#: Columns that differ per entry, in the order :func:`_varying` gives them.
_VARYING = (
    "account_id",
    "type",
    "instrument_id",
    "quantity",
    "price",
    "fees",
    "amount",
    "currency",
    "traded_at",
    "settles_on",
    "acquired_on",
    "split_ratio",
    "link",
    "lot_selection",
    "origin",
    "external_id",
    "description",
    "fingerprint",
    "source_line",
    "trade_date",
    "timed",
)
#: Columns one insert batch shares.
_SHARED = ("user_id", "import_id", "created_at")


def _varying(row: NewRow) -> list[Any]:
    account_id, instrument_id, t = row
    return [
        account_id,
        t.type.value,
        instrument_id,
        t.quantity,
        t.price,
        t.fees,
        t.amount,
        t.currency,
        t.traded_at,
        t.settles_on,
        t.acquired_on,
        t.split_ratio,
        t.link,
        [{"lot": p.lot_id, "quantity": str(p.quantity)} for p in t.lot_selection]
        if t.lot_selection
        else None,
        t.origin.value,
        t.external_id,
        t.description,
        t.fingerprint,
        t.source_line,
        t.traded_on,
        t.timed,
    ]


class _BulkInsert:
    """An INSERT of every transactions column compiled for one dialect, with the bind
    processors of its columns, for the driver's executemany.

    The values go through each column type's own SQLAlchemy bind processor, as in any
    other insert; what is skipped is the per-row statement machinery, which costs more
    than the insert itself at a hundred thousand rows.
    """

    def __init__(self, dialect: Dialect) -> None:
        names = [*_VARYING, *_SHARED]
        compiled = insert(transactions).compile(dialect=dialect, column_keys=names)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.names = names
        order = list(compiled.positiontup or names) if self.positional else names
        self.pick = itemgetter(*(names.index(name) for name in order))
        self.processors = {n: transactions.c[n].type._cached_bind_processor(dialect) for n in names}
        self.varying = [
            (i, process)
            for i, name in enumerate(_VARYING)
            if (process := self.processors[name]) is not None
        ]

    def bind(self, rows: Sequence[NewRow], shared: dict[str, Any]) -> list[Any]:
        constants = []
        for name in _SHARED:
            value, process = shared[name], self.processors[name]
            constants.append(value if value is None or process is None else process(value))
        bound: list[Any] = []
        for row in rows:
            values = _varying(row)
            for i, process in self.varying:
                value = values[i]
                if value is not None:
                    values[i] = process(value)
            values.extend(constants)
            bound.append(
                self.pick(values) if self.positional else dict(zip(self.names, values, strict=True))
            )
        return bound


_BULK: dict[str, _BulkInsert] = {}


def _bulk_insert(dialect: Dialect) -> _BulkInsert:
    key = f"{dialect.name}+{dialect.driver}"
    if key not in _BULK:
        _BULK[key] = _BulkInsert(dialect)
    return _BULK[key]


@functools.cache
def _versions_statement() -> Select[Any]:
    """A user's ledger and closes revisions, their market's price and quotes revisions
    (NULL before its first write) and whether they have closes of their own (bound
    parameters ``user_id`` and ``market``)."""
    market = bindparam("market", type_=users.c.market.type)

    def of_market(column: Any) -> Any:
        return select(column).where(price_revisions.c.market == market).scalar_subquery()

    own = exists().where(user_prices.c.user_id == users.c.id)
    return select(
        users.c.ledger_revision,
        users.c.closes_revision,
        of_market(price_revisions.c.revision).label("market_revision"),
        of_market(price_revisions.c.quotes_revision).label("quotes_revision"),
        own.label("own"),
    ).where(users.c.id == bindparam("user_id", type_=users.c.id.type))


@functools.cache
def _analytics_state_statement() -> Select[Any]:
    """``_versions_statement`` with the stored answer to a request (bound parameter
    ``request``; NULLs when there is none) and the earliest day the ledger changes after
    its revision touched."""
    versions = _versions_statement()
    answer = portfolio_analytics
    changed = (
        select(func.min(ledger_changes.c.from_day))
        .where(
            ledger_changes.c.user_id == users.c.id,
            ledger_changes.c.revision > answer.c.revision,
        )
        .scalar_subquery()
    )
    return versions.add_columns(*answer.c, changed.label("changed")).select_from(
        users.outerjoin(
            answer,
            and_(
                answer.c.user_id == users.c.id,
                answer.c.request == bindparam("request", type_=answer.c.request.type),
            ),
        )
    )


@dataclass
class RequestMemo:
    """What the transactions of one request share: the latest quotes they read, by market
    and day (an API edit reads them for the holding, then again for the analytics it
    answers with; nothing in between moves a price); and the markets' latest prices the
    process keeps from request to request (``market``; store/market_quotes.py), which a
    user without closes of their own is priced at; and the instruments the process has
    read (``instruments``)."""

    quotes: dict[tuple[str, date], MarketPrices] = field(default_factory=dict)
    market: MarketQuotes | None = None
    #: The instruments the app has read (store/known_instruments.py).
    instruments: KnownInstruments | None = None


@functools.cache
def _whole_ledger() -> Select[Any]:
    """A user's whole ledger in ledger order (bound parameter ``user_id``), built once:
    every analytics compute and holdings read asks it."""
    return (
        select(*_LEDGER_COLUMNS)
        .join(accounts, accounts.c.id == transactions.c.account_id)
        .outerjoin(instruments, instruments.c.id == transactions.c.instrument_id)
        .where(transactions.c.user_id == bindparam("user_id", type_=users.c.id.type))
        .order_by(
            transactions.c.trade_date,
            _DAY_BUCKET,
            transactions.c.traded_at,
            _SAME_TIME_ORDER,
            transactions.c.id,
        )
    )


@functools.cache
def _latest_statements(
    simulated: bool, every: bool = False
) -> tuple[Select[Any], Select[Any], Select[Any], Select[Any]]:
    """The statements of ``LedgerRepository.latest_quotes`` for a live or a simulated
    market, built once (their values are bound parameters: ``user_id``, ``as_of``, and
    the ``ids`` and ``days`` of the rows step); building them anew each time cost more
    than running them. ``every``: those of ``market_latest_quotes`` (every instrument,
    no user's own closes).

    Two steps whose plans do not hang on the tables' statistics: each instrument's last
    day of its own and of the market's closes (a max per instrument: one backward index
    seek each), then the rows of exactly those days. Joined in one statement, PostgreSQL
    could re-run the max for every close of a freshly loaded table (180 ms for 5
    holdings). Only what the user can hold is read: the instruments of their entries and
    own closes, and the cash instruments (FX pairs); never a scan of every user's prices.
    """
    user: BindParameter[int] = bindparam("user_id", type_=users.c.id.type)
    as_of: BindParameter[date] = bindparam("as_of", type_=prices.c.day.type)
    relevant = (
        select(transactions.c.instrument_id)
        .where(transactions.c.user_id == user)
        .union(
            select(user_prices.c.instrument_id).where(user_prices.c.user_id == user),
            select(instruments.c.id).where(instruments.c.asset_type == "cash"),
        )
        .subquery()
    )
    market = prices.c.source == "simulated" if simulated else prices.c.source != "simulated"
    scopes = {
        True: [user_prices.c.day <= as_of, user_prices.c.user_id == user],
        False: [prices.c.day <= as_of, market],
    }

    def last_day(table: Table, own: bool) -> Any:
        return (
            select(func.max(table.c.day))
            .where(table.c.instrument_id == instruments.c.id, *scopes[own])
            .scalar_subquery()
        )

    last_days = select(
        instruments.c.id,
        instruments.c.symbol,
        instruments.c.asset_type,
        (null() if every else last_day(user_prices, True)).label("own"),
        last_day(prices, False).label("market"),
    )
    if not every:
        last_days = last_days.where(instruments.c.id.in_(select(relevant.c[0])))
    rows = [
        select(table).where(
            table.c.instrument_id.in_(bindparam("ids", expanding=True)),
            table.c.day.in_(bindparam("days", expanding=True)),
            *scopes[own],
        )
        for table, own in ((user_prices, True), (prices, False))
    ]
    live = (
        select(quotes, instruments.c.symbol, instruments.c.asset_type)
        .join(instruments, instruments.c.id == quotes.c.instrument_id)
        .where(
            quotes.c.source == "simulated" if simulated else quotes.c.source != "simulated",
        )
    )
    if not every:
        live = live.where(quotes.c.instrument_id.in_(select(relevant.c[0])))
    return last_days, rows[0], rows[1], live


_LEDGER_COLUMNS = (
    transactions.c.id,
    accounts.c.name,
    transactions.c.type,
    instruments.c.symbol,
    instruments.c.asset_type,
    transactions.c.quantity,
    transactions.c.price,
    transactions.c.fees,
    transactions.c.amount,
    transactions.c.currency,
    transactions.c.traded_at,
    transactions.c.settles_on,
    transactions.c.acquired_on,
    transactions.c.split_ratio,
    transactions.c.link,
    transactions.c.lot_selection,
    transactions.c.origin,
    transactions.c.external_id,
    transactions.c.description,
    transactions.c.fingerprint,
    transactions.c.source_line,
    transactions.c.trade_date,
    transactions.c.timed,
)
_TYPES = {t.value: t for t in TransactionType}
_ORIGINS = {o.value: o for o in Origin}


class _Converter:
    """Rows of :data:`_LEDGER_COLUMNS` to Transactions, sharing instrument keys.

    The ledger is loaded whole for every replay, so this is a hot path: positional
    unpacking and dictionary look-ups instead of attribute access and Enum calls.
    """

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], InstrumentKey] = {}

    def __call__(self, row: Any) -> Transaction:
        (
            id_,
            account,
            kind,
            symbol,
            asset_type,
            quantity,
            price,
            fees,
            amount,
            currency,
            traded_at,
            settles_on,
            acquired_on,
            split_ratio,
            link,
            selection,
            origin,
            external_id,
            description,
            fingerprint,
            source_line,
            trade_date,
            timed,
        ) = row
        key = None
        if symbol is not None:
            key = self.keys.get((symbol, asset_type))
            if key is None:
                key = self.keys[(symbol, asset_type)] = InstrumentKey(symbol, AssetType(asset_type))
        return Transaction(
            account,
            _TYPES[kind],
            traded_at,
            key,
            quantity,
            price,
            fees,
            amount,
            currency,
            settles_on,
            acquired_on,
            split_ratio,
            link,
            tuple(LotPick(int(p["lot"]), Decimal(str(p["quantity"]))) for p in selection)
            if selection
            else (),
            _ORIGINS[origin],
            external_id,
            description,
            fingerprint,
            source_line,
            id_,
            trade_date,
            bool(timed),
        )
