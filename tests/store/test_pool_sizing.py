"""`quantdesk serve --workers N` sizes each worker's connection pool so that all workers
together stay within what the database server allows (past it, the server refuses new
connections and requests fail instead of waiting their turn)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from quantdesk.store.database import RESERVED_CONNECTIONS, fit_pool, make_engine


@pytest.mark.parametrize("workers", [1, 4, 16])
def test_the_workers_pools_together_fit_the_server_s_connections(
    engine: Engine, workers: int
) -> None:
    pool = fit_pool(engine, workers)
    if engine.dialect.name == "sqlite":
        assert pool is None  # no server to run out of
        return
    assert pool is not None
    asked = (
        "SHOW max_connections"
        if engine.dialect.name == "postgresql"
        else ("SELECT @@max_connections")
    )
    with engine.connect() as conn:
        allowed = int(conn.execute(text(asked)).scalar_one())
    each = pool["pool_size"] + pool["max_overflow"]
    assert workers * each <= allowed - RESERVED_CONNECTIONS
    assert 2 <= each <= 30 and 0 <= pool["max_overflow"]


def test_a_worker_s_engine_takes_the_pool_it_was_given(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite's pool is not sized for a server")
    monkeypatch.setenv("QUANTDESK_DB_POOL_SIZE", "3")
    monkeypatch.setenv("QUANTDESK_DB_MAX_OVERFLOW", "4")
    worker = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert 3 == worker.pool.size()  # type: ignore[attr-defined]
        assert 4 == worker.pool._max_overflow  # type: ignore[attr-defined]
    finally:
        worker.dispose()
