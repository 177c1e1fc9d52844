"""The composition root: the only place that wires adapters into services."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from platformdirs import user_data_dir
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from quantdesk.domain.errors import QuantdeskError
from quantdesk.store.database import current_revision, head_revision, make_engine, migrate
from quantdesk.store.unit_of_work import SqlUnitOfWork

DEFAULT_USER = "local"


class SchemaOutdated(QuantdeskError):
    """The database is not migrated to the version this quantdesk needs."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_database_url() -> str:
    """``QUANTDESK_DATABASE_URL``, else a SQLite file in the user's data directory."""
    url = os.environ.get("QUANTDESK_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(user_data_dir('quantdesk', appauthor=False)) / 'quantdesk.db'}"


def open_database(url: str) -> Engine:
    """An engine at the current schema.

    A SQLite file (embedded mode) is migrated on open; a server database must be
    migrated on purpose with ``quantdesk db upgrade``, never as a side effect.
    """
    engine = make_engine(url)
    if make_url(engine.url).get_backend_name() == "sqlite":
        if current_revision(engine) != head_revision():
            migrate(engine)
        return engine
    current = current_revision(engine)
    if current != head_revision():
        engine.dispose()
        raise SchemaOutdated(
            f"the database is at schema {current or 'none'}, this quantdesk needs "
            f"{head_revision()}: run `quantdesk db upgrade`"
        )
    return engine


def upgrade_database(url: str) -> str:
    """Migrate the database at ``url`` to this version's schema; returns the revision."""
    engine = make_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return head_revision()


def unit_of_work(engine: Engine, user: str = DEFAULT_USER) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, user, utc_now)
