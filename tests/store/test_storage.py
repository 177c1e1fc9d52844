"""Storage on every backend: exact Decimals, UTC times, migrations both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, select

from quantdesk.domain.materialized import AnalyticsWrite
from quantdesk.domain.transactions import Transaction, TransactionType
from quantdesk.services import portfolio
from quantdesk.store.database import (
    current_revision,
    downgrade,
    head_revision,
    migrate,
    normalize_url,
)
from quantdesk.store.tables import instruments, portfolio_analytics, portfolio_history, prices
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import NOW, clock

EXACT = [
    Decimal("0.000000000000000001"),  # one wei, in ether
    Decimal("12345678901234567890.123456789012345678"),  # 20 integer digits, 18 decimals
    Decimal("-0.1"),
    Decimal("0.1"),
    Decimal("100"),
]


def test_decimals_round_trip_exactly(engine: Engine) -> None:
    """What goes in comes out, to the 18th decimal, on every backend."""
    with engine.begin() as conn:
        conn.execute(
            insert(instruments).values(
                id=1, symbol="X", asset_type="other", currency="USD", created_at=NOW
            )
        )
        for day, value in enumerate(EXACT, start=1):
            conn.execute(
                insert(prices).values(
                    instrument_id=1,
                    day=datetime(2024, 1, day).date(),
                    source="t",
                    close=value,
                    currency="USD",
                )
            )
        stored = conn.execute(select(prices.c.close).order_by(prices.c.day)).scalars().all()
    assert EXACT == stored
    assert "0.000000000000000001" == format(stored[0], "f")


def test_floats_are_refused_at_the_boundary(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(Exception, match="Decimal"):
        conn.execute(
            insert(instruments).values(
                id=1, symbol="X", asset_type="other", currency="USD", created_at=NOW
            )
        )
        conn.execute(
            insert(prices).values(
                instrument_id=1, day=NOW.date(), source="t", close=0.1, currency="USD"
            )
        )


def test_times_are_stored_in_utc_and_come_back_aware(uow: SqlUnitOfWork) -> None:
    """A trade at 09:30 New York (UTC-5) reads back as 14:30 UTC, microseconds kept."""
    portfolio.add_account(uow, "B", kind="brokerage", institution=None, currency="USD", clock=clock)
    eastern = timezone(timedelta(hours=-5))
    moment = datetime(2024, 1, 2, 9, 30, 0, 123456, tzinfo=eastern)
    with uow() as store:
        account = store.account("B")
        assert account.id is not None
        store.add_transactions(
            [
                (
                    account.id,
                    None,
                    Transaction("B", TransactionType.DEPOSIT, moment, amount=Decimal(5)),
                )
            ],
            NOW,
        )
    (entry,) = portfolio.list_transactions(uow)
    assert datetime(2024, 1, 2, 14, 30, 0, 123456, tzinfo=UTC) == entry.traded_at


def test_migrations_downgrade_and_upgrade_cleanly(engine: Engine) -> None:
    """The schema comes from Alembic and can be taken down to nothing and back."""
    assert head_revision() == current_revision(engine)
    downgrade(engine, "base")
    assert "transactions" not in inspect(engine).get_table_names()
    migrate(engine)
    assert head_revision() == current_revision(engine)
    columns = {c["name"]: c for c in inspect(engine).get_columns("transactions")}
    if engine.dialect.name != "sqlite":  # SQLite keeps exact decimals as text
        assert (38, 18) == (
            columns["quantity"]["type"].precision,
            columns["quantity"]["type"].scale,
        )


def test_server_urls_get_the_shipped_drivers() -> None:
    assert normalize_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert "charset=utf8mb4" in normalize_url("mysql://root@h/db")


class _RacingConnection:
    """The store's connection, with another writer committing rows of ``table`` between
    this transaction's delete of them and its insert (the job worker and a request
    materializing the same analytics)."""

    def __init__(self, conn: Any, engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
        self.conn, self.engine, self.table, self.rows, self.raced = conn, engine, table, rows, False

    def execute(self, statement: Any, *args: Any) -> Any:
        done = self.conn.execute(statement, *args)
        if not self.raced and statement.is_delete and statement.table is self.table:
            self.raced = True
            with self.engine.begin() as other:
                other.execute(insert(self.table), self.rows)
        return done

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.mark.parametrize("days", [1, 200])  # 200: by COPY on PostgreSQL
@pytest.mark.parametrize("raced", ["analytics", "history"])
def test_two_writers_of_the_same_analytics_both_succeed_and_one_answer_stays(
    engine: Engine, raced: str, days: int
) -> None:
    if engine.dialect.name != "postgresql":
        # SQLite has one writer at a time; InnoDB's delete locks the key it looked for
        # until commit, so the other writer's insert waits instead of racing.
        pytest.skip("only PostgreSQL lets the other writer commit in between")
    uow = SqlUnitOfWork(engine, "ann", clock)
    first = NOW.date() - timedelta(days=days - 1)
    mine = [(first + timedelta(days=d), Decimal(100 + d), Decimal(0)) for d in range(days)]
    write = AnalyticsWrite(
        "r1", "*|*|trading", "mine", 1, {}, 1, {"who": "request"}, NOW, first, NOW.date(), mine
    )
    with uow() as store:
        theirs = {
            "analytics": (portfolio_analytics, [{
                "user_id": store.user_id, "request": "r1", "scope": "*|*|trading",
                "fingerprint": "theirs", "revision": 1, "price_stats": {}, "price_revision": 1,
                "computed_at": NOW, "payload": {"who": "job"},
            }]),
            "history": (portfolio_history, [{
                "user_id": store.user_id, "scope": "*|*|trading", "day": first,
                "value": Decimal(1), "flow": Decimal(0),
            }]),
        }[raced]  # fmt: skip
        store.conn = _RacingConnection(store.conn, engine, *theirs)  # type: ignore[assignment]
        assert days == store.store_materialized(write)
        assert store.conn.raced  # type: ignore[attr-defined]
    with uow(commit=False) as store:
        kept = store.stored_analytics("r1")
        history = store.history_of("*|*|trading")
    assert kept is not None and {"who": "request"} == kept["payload"]
    assert mine == history
