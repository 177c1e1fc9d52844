"""Opening a database: SQLite migrates itself, a server database must be upgraded on purpose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quantdesk import bootstrap
from quantdesk.store.database import (
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
)


def test_sqlite_file_is_created_and_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'q.db'}"
    engine = bootstrap.open_database(url)
    assert head_revision() == current_revision(engine)
    engine.dispose()


def test_default_database_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTDESK_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert "sqlite:////tmp/elsewhere.db" == bootstrap.default_database_url()
    monkeypatch.delenv("QUANTDESK_DATABASE_URL")
    assert bootstrap.default_database_url().endswith("quantdesk.db")


@pytest.mark.skipif(
    not os.environ.get("QUANTDESK_TEST_POSTGRES_URL"),
    reason="QUANTDESK_TEST_POSTGRES_URL is not set",
)
def test_server_database_behind_the_code_asks_for_db_upgrade() -> None:
    url = os.environ["QUANTDESK_TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/postgres"
    engine = make_engine(url)
    migrate(engine)
    downgrade(engine, "base")
    try:
        with pytest.raises(bootstrap.SchemaOutdated, match="quantdesk db upgrade"):
            bootstrap.open_database(url)
    finally:
        engine.dispose()
