"""A brokerage linked through Plaid, with plaid-python's own client against Plaid's API on
127.0.0.1 (tests/connectors/plaid_server.py): the public token exchanged and kept
encrypted, investment transactions recorded page by page and once, the next sync from
the last synced day, holdings compared, and Plaid's errors in plain words."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from quantdesk.domain.errors import InvalidInput
from quantdesk.services import connection_sync, connections, portfolio
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault, new_key
from tests.conftest import clock
from tests.connectors.plaid_server import (
    ACCESS_TOKEN,
    PUBLIC_TOKEN,
    Plaid,
    movement,
    plaid_environment,
)


@pytest.fixture
def plaid(monkeypatch: pytest.MonkeyPatch) -> Iterator[Plaid]:
    server = Plaid()
    server.transactions = [
        movement("pl-dep-1", "2026-01-05", "cash", "deposit", None, 0, 1, -10000),
        movement("pl-buy-1", "2026-01-06", "buy", "buy", 0, 10, 250, 2501, fees=1),
        movement("pl-buy-2", "2026-02-02", "buy", "buy", 1, 5, 180, 900),
        movement("pl-div-1", "2026-03-20", "cash", "dividend", 0, 0, 0, -35.5),
        movement("pl-sell-1", "2026-04-01", "sell", "sell", 1, -2, 200, -400),
    ]
    server.holdings = {0: 10, 1: 3, 2: 7034.5}  # 2: the cash position
    for key, value in plaid_environment(server).items():
        monkeypatch.setenv(key, value)
    yield server
    server.close()


def _link(uow: SqlUnitOfWork, box: Vault) -> int:
    return connections.add_plaid_connection(
        uow, box, public_token=PUBLIC_TOKEN, account="IRA", clock=clock
    ).id


def test_a_linked_brokerage_syncs_its_investments_once_and_then_from_the_last_day(
    engine: Engine, uow: SqlUnitOfWork, plaid: Plaid
) -> None:
    box = Vault.from_keys(new_key())
    connection = _link(uow, box)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM connections")).scalar_one()
    assert ACCESS_TOKEN not in stored
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert first.error is None, first.error
    assert 5 == first.added["investments"] and {} == first.differences
    assert [0, 2, 4] == [offset for _, offset in plaid.asked]  # three pages of two
    units = {
        p.instrument.symbol: p.quantity
        for p in portfolio.current_positions(uow, account="IRA", as_of=clock().date())
    }
    assert {"VTI": Decimal(10), "AAPL": Decimal(3), "USD": Decimal("7034.5")} == units

    plaid.asked.clear()
    plaid.transactions.append(movement("pl-div-2", "2026-04-01", "cash", "dividend", 0, 0, 0, -7))
    again = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert 1 == again.added["investments"] and 1 == again.duplicates["investments"]
    assert "2026-04-01" == plaid.asked[0][0]  # from the last synced day, inclusive


BROKER_EXPORT = """date,type,symbol,quantity,price,fees,amount,asset_type
2026-01-05,deposit,,,,,10000,
2026-01-06,buy,VTI,10,250,1,,etf
2026-03-20,dividend,VTI,,,,35.5,etf
2026-03-20,tax,VTI,,,,5.3,etf
2026-04-01T20:30:00-04:00,sell,AAPL,2,200,0,,stock
2026-05-04,buy,VTI,1,260,0,,etf
2026-05-04,buy,VTI,1,260,0,,etf
"""


def test_the_brokerage_s_own_export_imported_after_a_sync_adds_only_the_later_days(
    uow: SqlUnitOfWork, plaid: Plaid
) -> None:
    """The brokerage's export shares no ids with Plaid: its rows that match a synced
    entry's type, instrument, currency and trade date are duplicates (the sale at 20:30
    New York time too, though that is the next day in UTC); the withholding tax Plaid
    did not list and two later buys are added."""
    box = Vault.from_keys(new_key())
    connection = _link(uow, box)
    assert connection_sync.sync_connection(uow, box, connection, clock=clock).error is None
    imported = import_stream(
        uow, io.BytesIO(BROKER_EXPORT.encode()), "ira.csv", ImportOptions("IRA"), clock=clock
    )
    assert imported.ok and 3 == imported.added, imported.issues
    assert [2, 3, 4, 6] == imported.other_source_lines
    units = {
        p.instrument.symbol: p.quantity
        for p in portfolio.current_positions(uow, account="IRA", as_of=clock().date())
    }
    assert {"VTI": Decimal(12), "AAPL": Decimal(3), "USD": Decimal("6509.2")} == units


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        ("ITEM_LOGIN_REQUIRED", "revoked", "sign in again"),
        ("RATE_LIMIT_EXCEEDED", "rate-limit", "rate limiting"),
        ("NO_INVESTMENT_ACCOUNTS", "permission", "no investment accounts"),
    ],
)
def test_plaids_errors_are_said_in_plain_words_and_store_nothing(
    uow: SqlUnitOfWork, plaid: Plaid, code: str, kind: str, words: str
) -> None:
    box = Vault.from_keys(new_key())
    connection = _link(uow, box)
    plaid.fail = code
    report = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert kind == report.error_kind and words in (report.error or "")
    assert [] == portfolio.current_positions(uow, account="IRA", as_of=clock().date())


def test_a_bad_public_token_links_nothing(uow: SqlUnitOfWork, plaid: Plaid) -> None:
    with pytest.raises(InvalidInput, match="INVALID_PUBLIC_TOKEN"):
        connections.add_plaid_connection(
            uow, Vault.from_keys(new_key()), public_token="public-wrong", account="IRA", clock=clock
        )
    assert [] == connections.list_connections(uow)
