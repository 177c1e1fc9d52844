"""A pooled server connection idle for over a second is pinged before it is handed out,
and one the server closed meanwhile is replaced: the transaction that takes it succeeds.
A connection handed back and taken again at once is not pinged (a round trip a
transaction under load)."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from quantdesk.store.database import PING_AFTER_IDLE_SECONDS, make_engine

KILL = {
    "QUANTDESK_TEST_POSTGRES_URL": "SELECT pg_terminate_backend({pid})",
    "QUANTDESK_TEST_MYSQL_URL": "KILL {pid}",
}
BACKEND_ID = {
    "QUANTDESK_TEST_POSTGRES_URL": "SELECT pg_backend_pid()",
    "QUANTDESK_TEST_MYSQL_URL": "SELECT CONNECTION_ID()",
}


@pytest.mark.parametrize("variable", sorted(KILL))
def test_a_connection_the_server_closed_while_idle_is_replaced_at_checkout(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set")
    engine, other = make_engine(url, pool_size=1, max_overflow=0), make_engine(url)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    try:
        with engine.connect() as conn:
            first = conn.execute(text(BACKEND_ID[variable])).scalar_one()
        with engine.connect() as conn:  # at once: the same connection, not pinged
            assert first == conn.execute(text(BACKEND_ID[variable])).scalar_one()
        assert [] == pings
        with other.connect() as admin:
            admin.execute(text(KILL[variable].format(pid=int(first))))
            admin.commit()
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.3)
        with engine.connect() as conn:  # pinged, found dead, replaced
            again = conn.execute(text(BACKEND_ID[variable])).scalar_one()
        assert again != first
        assert len(pings) == 1
    finally:
        engine.dispose()
        other.dispose()
