"""A nightly share reads its users in turn on one connection: a user whose reads fail
leaves the connection clean for the next one, and nothing is written through it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from quantdesk.services import portfolio
from quantdesk.store.unit_of_work import ReadingUnitOfWork, SqlUnitOfWork
from tests.conftest import clock


def test_a_failed_read_leaves_the_shared_connection_clean_for_the_next_user(
    engine: Engine,
) -> None:
    ids = {}
    for name in ("ann", "bob"):
        uow = SqlUnitOfWork(engine, name, clock)
        portfolio.add_account(
            uow, f"{name}'s broker", kind="brokerage", institution=None, currency="USD", clock=clock
        )
        with uow(commit=False) as store:
            ids[name] = store.user_id
    with engine.connect() as conn:
        with (
            pytest.raises(DBAPIError),
            ReadingUnitOfWork(conn, ids["ann"], stored_market=None)(commit=False) as store,
        ):
            store.conn.execute(text("SELECT no_such_column FROM accounts"))
        with ReadingUnitOfWork(conn, ids["bob"], stored_market=None)(commit=False) as store:
            assert ["bob's broker"] == [a.name for a in store.list_accounts()]


def test_a_reading_unit_of_work_refuses_to_write(engine: Engine) -> None:
    with (
        engine.connect() as conn,
        pytest.raises(RuntimeError, match="writes nothing"),
        ReadingUnitOfWork(conn, 1, stored_market=None)(),
    ):
        pass
