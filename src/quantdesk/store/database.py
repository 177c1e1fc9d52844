"""Engines and migrations for every supported database (SQLite, PostgreSQL, MySQL/MariaDB)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError

from quantdesk.domain.errors import InvalidInput

MIGRATIONS = Path(__file__).with_name("migrations")


SUPPORTED = ("sqlite", "postgresql", "mysql")


def normalize_url(url: str) -> str:
    """Pick the drivers quantdesk ships with when a URL names only the engine; refuse
    what is not a URL of a supported database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            f"not a database URL: {url!r} (e.g. sqlite:////path/quantdesk.db, "
            "postgresql://user@host/db, mysql://user@host/db)"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise InvalidInput(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite, PostgreSQL or "
            "MySQL/MariaDB"
        )
    driver = {
        "postgresql": "postgresql+psycopg",
        "mysql": "mysql+pymysql",
        "mariadb": "mysql+pymysql",
    }
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    if parsed.get_backend_name() == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


#: Connections kept open (and more opened at a peak) by an engine's pool: the API runs
#: blocking work on up to 40 threads (anyio's default), and a pool smaller than that
#: closes and reopens connections under load (for SQLite, rerunning its PRAGMAs).
SQLITE_POOL = {"pool_size": 20, "max_overflow": 30}
SERVER_POOL = {"pool_size": 10, "max_overflow": 20}
#: Connections of the database server left for everything but the API workers: the job
#: workers, migrations, a psql session.
RESERVED_CONNECTIONS = 12


def _server_pool() -> dict[str, int]:
    """The server pool, as ``quantdesk serve --workers`` sized it for each worker
    (``QUANTDESK_DB_POOL_SIZE``, ``QUANTDESK_DB_MAX_OVERFLOW``) or the default."""
    pool = dict(SERVER_POOL)
    for key, name in (("pool_size", "QUANTDESK_DB_POOL_SIZE"),
                      ("max_overflow", "QUANTDESK_DB_MAX_OVERFLOW")):  # fmt: skip
        if os.environ.get(name, "").strip():
            pool[key] = int(os.environ[name])
    return pool


def fit_pool(engine: Engine, workers: int) -> dict[str, int] | None:
    """Each of ``workers`` API processes' pool, sized so that all of them together stay
    within the database server's ``max_connections`` (less :data:`RESERVED_CONNECTIONS`):
    past it the server refuses new connections and requests fail, where a smaller pool
    makes them wait their turn. None for SQLite (no server)."""
    backend = engine.dialect.name
    if backend == "sqlite":
        return None
    asked = "SHOW max_connections" if backend == "postgresql" else "SELECT @@max_connections"
    with engine.connect() as conn:
        allowed = int(conn.execute(text(asked)).scalar_one())
    each = max(2, (allowed - RESERVED_CONNECTIONS) // workers)
    total = min(each, SERVER_POOL["pool_size"] + SERVER_POOL["max_overflow"])
    size = min(SERVER_POOL["pool_size"], total)
    return {"pool_size": size, "max_overflow": total - size, "max_connections": allowed}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with foreign keys on and, for SQLite files, WAL and a busy timeout."""
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            if "poolclass" not in kwargs:  # a file: a QueuePool
                kwargs = {**SQLITE_POOL, **kwargs}
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if backend == "mysql":
        # MySQL's default REPEATABLE READ would let an import that waited for another
        # one's lock (see LedgerRepository.lock) go on reading the ledger as it was
        # before that import: READ COMMITTED, as on PostgreSQL, reads what was committed.
        kwargs.setdefault("isolation_level", "READ COMMITTED")
    if "poolclass" not in kwargs:
        kwargs = {**_server_pool(), **kwargs}
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine, after: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a pooled connection at checkout when it sat idle for more than ``after``
    seconds; a dead one is replaced (the pool retries with a new connection).

    ``pool_pre_ping`` pinged at every checkout: a round trip a transaction, a twentieth
    of a holdings read's CPU under load, where connections come back within
    milliseconds. A server restarted since a connection was last used is what the ping
    is for; a connection used in the last second that the restart broke fails its
    statement instead, which answers 503 and invalidates the pool's older connections
    (SQLAlchemy's disconnect handling), so the next request connects afresh."""

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= after:
            return
        try:
            alive = engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("the database did not answer a ping")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` on ``engine``."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
