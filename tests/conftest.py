"""Shared fixtures: a database per backend (SQLite always; PostgreSQL and MariaDB when
their URLs are set, and then they must be reachable), a fixed clock, and Decimal traps."""

from __future__ import annotations

import decimal
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import settings
from sqlalchemy import Engine, delete, inspect, text

from quantdesk.bootstrap import DEFAULT_USER
from quantdesk.services import portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.services.import_report import ImportReport
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.tables import metadata
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.connectors.kraken_server import Kraken, ccxt_environment, small_account

#: The tests' secret key (store/vault.py): none of them writes a key file of the user's.
os.environ.setdefault("QUANTDESK_SECRET_KEYS", Fernet.generate_key().decode())

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)

# CI explores the same examples every run (a red CI is then always reproducible);
# developers' runs explore new ones each time: `pytest --hypothesis-seed=N` replays one.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

BACKENDS = {
    "postgres": "QUANTDESK_TEST_POSTGRES_URL",
    "mysql": "QUANTDESK_TEST_MYSQL_URL",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite the golden files' expectations"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _trap_float_decimals() -> Iterator[None]:
    """`Decimal(0.1)` or comparing a Decimal with a float fails loudly in every test."""
    context = decimal.getcontext()
    previous = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    yield
    context.traps[decimal.FloatOperation] = previous


def clock() -> datetime:
    return NOW


def broker_with(uow: SqlUnitOfWork, trades: str) -> ImportReport:
    """A dollar brokerage account "Broker" holding what the generic ``trades`` file
    records (imported, and required to import cleanly)."""
    portfolio.add_account(
        uow, "Broker", kind="brokerage", institution=None, currency="USD", clock=clock
    )
    report = import_stream(
        uow, io.BytesIO(trades.encode()), "t.csv", ImportOptions("Broker"), clock=clock
    )
    assert report.ok and report.added, report.issues
    return report


def _server_engine(name: str) -> Engine:
    url = os.environ.get(BACKENDS[name])
    if not url:
        pytest.skip(f"{BACKENDS[name]} is not set")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            pytest.fail(f"{name} at {url} is unreachable under CI: {error}")
        pytest.skip(f"{name} unreachable: {error}")
    return engine


def _fresh_schema(engine: Engine) -> None:
    """Drop whatever a previous run left, then build the schema with the migrations."""
    tables = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        metadata.drop_all(conn, tables=[t for t in metadata.sorted_tables if t.name in tables])
        if "alembic_version" in tables:
            conn.execute(text("DROP TABLE alembic_version"))
    migrate(engine)


@pytest.fixture(scope="session")
def _server_engines() -> Iterator[dict[str, Engine]]:
    """Server engines, migrated once per session and disposed at its end."""
    engines: dict[str, Engine] = {}
    yield engines
    for server in engines.values():
        server.dispose()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, _server_engines: dict[str, Engine]
) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    name = request.param
    if name == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'quantdesk.db'}")
        migrate(sqlite)
        yield sqlite
        sqlite.dispose()
        return
    if name not in _server_engines:
        server = _server_engine(name)
        _fresh_schema(server)
        _server_engines[name] = server
    server = _server_engines[name]
    yield server
    with server.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, DEFAULT_USER, clock)


@pytest.fixture
def sqlite_uow(tmp_path: Path) -> Iterator[SqlUnitOfWork]:
    """SQLite only: for tests about files and streams rather than about storage."""
    engine = make_engine(f"sqlite:///{tmp_path / 'quantdesk.db'}")
    migrate(engine)
    yield SqlUnitOfWork(engine, DEFAULT_USER, clock)
    engine.dispose()


@pytest.fixture
def small_kraken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Kraken]:
    """A Kraken account on loopback (tests/connectors/kraken_server.py) that ccxt's
    Kraken client is pointed at: one deposit and one buy."""
    server = small_account()
    for key, value in ccxt_environment(server).items():
        monkeypatch.setenv(key, value)
    yield server
    server.close()
