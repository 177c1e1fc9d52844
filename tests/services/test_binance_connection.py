"""A Binance account synced through ccxt's own Binance client, against Binance's API on
127.0.0.1 (tests/connectors/binance_server.py, which keeps Binance's limits: trades per
market paged by id, deposits and withdrawals in windows of at most 90 days): every
market the account touched read once and then only from the next trade id, fees paid
in BNB recorded, history imported from Binance's statement not counted twice, and a
failure midway resumed where it stopped."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from quantdesk.services import connection_sync, connections
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault
from tests.conftest import NOW, clock
from tests.connectors.binance_server import (
    API_KEY,
    SECRET,
    Binance,
    ccxt_environment,
    deposit,
    my_trade,
    small_account,
)
from tests.services.conftest import units_in

HELD = {"USDT": Decimal(200), "BTC": Decimal("0.0079"), "BNB": Decimal("0.4985")}


@pytest.fixture
def binance(monkeypatch: pytest.MonkeyPatch) -> Iterator[Binance]:
    server = small_account()
    for key, value in ccxt_environment(server).items():
        monkeypatch.setenv(key, value)
    yield server
    server.close()


def _connect(uow: SqlUnitOfWork, box: Vault, secret: str = SECRET, key: str = API_KEY) -> int:
    made = connections.add_connection(
        uow, box, provider="binance", account="Binance", api_key=key, secret=secret, clock=clock
    )
    return made.id


def _units(uow: SqlUnitOfWork) -> dict[str, Decimal]:
    return units_in(uow, "Binance")


def _asked(binance: Binance, path: str) -> list[dict[str, str]]:
    return [params for called, params in binance.calls if called == path]


def test_a_sync_reads_the_markets_the_account_touched_and_the_next_only_new_trades(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    connection = _connect(uow, box)
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert first.error is None, first.error
    assert {"deposits": 1, "withdrawals": 1} == {
        s: first.added[s] for s in ("deposits", "withdrawals")
    }
    assert {} == first.differences  # the BNB fees consumed: the ledger holds what Binance does
    assert HELD == _units(uow)
    # only the markets between assets held, deposited or withdrawn: not ETH's
    assert {"BNBUSDT", "BTCUSDT"} == {p["symbol"] for p in _asked(binance, "/api/v3/myTrades")}
    windows = _asked(binance, "/sapi/v1/capital/deposit/hisrec")
    assert datetime(2017, 7, 1, tzinfo=UTC) == _moment(windows[0]["startTime"])
    assert all(int(w["endTime"]) - int(w["startTime"]) < 90 * 86_400_000 for w in windows)

    binance.calls.clear()
    again = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert again.error is None and 0 == sum(again.added.values())
    assert {"BNBUSDT": "8", "BTCUSDT": "12"} == {
        p["symbol"]: p["fromId"] for p in _asked(binance, "/api/v3/myTrades")
    }
    assert 1 == len(_asked(binance, "/sapi/v1/capital/deposit/hisrec"))  # one recent window

    # an ETH deposit makes ETH's markets part of the account
    recently = int(NOW.timestamp() * 1000) - 7_200_000
    binance.deposits.append(deposit("ETH", "2", recently, "0xdeposit2"))
    binance.trades["ETHBTC"] = [
        my_trade("ETHBTC", 3, recently + 60_000, buyer=False, price="0.035", qty="1",
                 commission="0.000035", commission_asset="BTC"),
    ]  # fmt: skip
    binance.balances.update(ETH="1.00000000", BTC="0.04286500")
    later = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert later.error is None, later.error
    assert 1 == later.added["deposits"] and {} == later.differences
    assert Decimal(1) == _units(uow)["ETH"]


def _moment(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def test_deposits_of_years_ago_are_found_by_walking_binance_s_90_day_windows(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    binance.deposits.insert(0, deposit("BTC", "0.5", 1_520_000_000_000, "btc-2018"))  # 2018-03
    binance.withdrawals.insert(0, {**binance.withdrawals[0], "id": "w2018", "txId": "w2018",
                                   "amount": "0.5", "transactionFee": "0",
                                   "applyTime": "2018-04-02 10:00:00"})  # fmt: skip
    synced = connection_sync.sync_connection(uow, box, _connect(uow, box), clock=clock)
    assert synced.error is None, synced.error
    assert 2 == synced.added["deposits"] and 2 == synced.added["withdrawals"]
    assert {} == synced.differences


STATEMENT = """User_ID,UTC_Time,Account,Operation,Coin,Change,Remark
354937868,2025-12-29 09:20:00,Spot,Deposit,USDT,1000.00000000,
354937868,2025-12-29 09:21:00,Spot,Buy,BNB,0.50000000,
354937868,2025-12-29 09:21:00,Spot,Transaction Related,USDT,-300.00000000,
354937868,2025-12-29 09:21:00,Spot,Fee,BNB,-0.00050000,
"""


def test_a_first_sync_starts_after_the_history_imported_from_binance_s_statement(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    connection = _connect(uow, box)
    imported = import_stream(
        uow, io.BytesIO(STATEMENT.encode()), "statement.csv", ImportOptions("Binance"), clock=clock
    )
    assert imported.ok and imported.added, imported.issues
    synced = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert synced.error is None, synced.error
    assert 0 == synced.added["deposits"] and 1 == synced.added["withdrawals"]
    assert {} == synced.differences and HELD == _units(uow)  # nothing counted twice
    assert any("synced from 2025-12-29 09:21:00 UTC on" in note for note in synced.notes)


def test_binance_s_statement_imported_after_a_sync_adds_only_what_the_sync_did_not_read(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    """The statement has no trade ids: its deposit and its trade (with the BNB fee) match
    the synced entries by type, coin and second, so they are duplicates; a card purchase
    (``Buy Crypto``), which the API sync does not read, is added, and so is a second
    deposit of the same amount in the same second (one synced deposit matches one)."""
    connection = _connect(uow, box)
    synced = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert synced.error is None and HELD == _units(uow)
    card = (
        STATEMENT
        + "354937868,2025-12-29 09:30:00,Spot,Buy Crypto,BTC,0.00100000,\n"
        + "354937868,2025-12-29 09:20:00,Spot,Deposit,USDT,1000.00000000,\n"  # a second one
    )
    imported = import_stream(
        uow, io.BytesIO(card.encode()), "statement.csv", ImportOptions("Binance"), clock=clock
    )
    assert imported.ok and 2 == imported.added, imported.issues
    assert {2, 3} == set(imported.other_source_lines)  # the deposit; the buy, its fee
    assert imported.duplicates == len(imported.other_source_lines)
    assert {**HELD, "BTC": Decimal("0.0089"), "USDT": Decimal(1200)} == _units(uow)


def test_a_statement_reaching_past_the_sync_adds_the_new_days_and_the_next_sync_skips_them(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    """A statement exported after a sync adds what came after it (a later deposit); the
    next sync finds that deposit among the entries files recorded, and says so."""
    connection = _connect(uow, box)
    assert connection_sync.sync_connection(uow, box, connection, clock=clock).error is None
    later = STATEMENT + "354937868,2026-11-24 13:30:00,Spot,Deposit,USDT,50.00000000,\n"
    imported = import_stream(
        uow, io.BytesIO(later.encode()), "statement.csv", ImportOptions("Binance"), clock=clock
    )
    assert imported.ok and 1 == imported.added, imported.issues
    assert Decimal(250) == _units(uow)["USDT"]
    recently = int(NOW.timestamp() * 1000) - 7_200_000  # 13:30, as in the statement
    binance.deposits.append(deposit("USDT", "50", recently, "0xdeposit-late"))
    binance.balances["USDT"] = "250.00000000"
    again = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert again.error is None, again.error
    assert (0, 1) == (again.added["deposits"], again.duplicates["deposits"])
    assert {} == again.differences and Decimal(250) == _units(uow)["USDT"]
    assert any(
        note.startswith("deposits: already in the ledger from files") for note in again.notes
    ), again.notes


def test_a_rate_limit_midway_stores_nothing_and_the_next_sync_resumes(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    connection = _connect(uow, box)
    binance.fail["/api/v3/myTrades"] = (429, -1003, "Too many requests; current limit is 6000")
    failed = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert "rate-limit" == failed.error_kind and "rate limiting" in (failed.error or "")
    assert "error" == failed.connection.status and {} == _units(uow)
    assert {"deposits": None, "trades": None, "withdrawals": None} == (
        failed.connection.synced_through
    )
    del binance.fail["/api/v3/myTrades"]
    resumed = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert resumed.error is None and {} == resumed.differences and HELD == _units(uow)
    assert "ok" == resumed.connection.status


@pytest.mark.parametrize(
    ("key", "secret"), [("someone-else-s-key", SECRET), (API_KEY, "a-wrong-secret")]
)
def test_a_wrong_key_or_secret_is_said_plainly_and_stores_nothing(
    uow: SqlUnitOfWork, box: Vault, binance: Binance, key: str, secret: str
) -> None:
    refused = connection_sync.sync_connection(
        uow, box, _connect(uow, box, secret=secret, key=key), clock=clock
    )
    assert "bad-key" == refused.error_kind and "refused the API key" in (refused.error or "")
    assert {} == _units(uow)


def test_a_window_with_more_deposits_than_one_answer_holds_is_read_whole(
    uow: SqlUnitOfWork, box: Vault, binance: Binance
) -> None:
    """Binance answers at most 1,000 records a window (newest first here): 1,100 deposits
    in one day are read by narrowing the window, not cut to the newest 1,000."""
    day = int(NOW.timestamp() * 1000) - 86_400_000
    binance.deposits += [deposit("USDT", "1", day + 60_000 * n, f"0xmany{n}") for n in range(1100)]
    binance.balances["USDT"] = "1300.00000000"
    synced = connection_sync.sync_connection(uow, box, _connect(uow, box), clock=clock)
    assert synced.error is None, synced.error
    assert 1101 == synced.added["deposits"] and {} == synced.differences
