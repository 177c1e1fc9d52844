"""A Kraken account synced through ccxt's own Kraken client, against Kraken's API on
127.0.0.1 (tests/connectors/kraken_server.py): history recorded once and resumed from
where it stopped, a trade also imported from the CSV export not counted twice, failures
said in plain words with nothing partial stored, and the key never stored in clear."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from quantdesk.connectors.ccxt_client import ExchangeSession, failure_of
from quantdesk.services import connection_sync, connections
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.connections import rotate_secrets
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault, new_key
from tests.conftest import clock
from tests.connectors.kraken_server import API_KEY, SECRET, Kraken, funding, trade
from tests.services.conftest import units_in

T0 = 1_767_000_000  # 2025-12-29, seconds


@pytest.fixture
def kraken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Kraken]:
    server = Kraken()
    server.deposits = [
        funding("FTQcuak-V6Za8qrWnhzTx67yYHz8Tg", "ZUSD", "10000.0000", "0.0000", T0),
        funding("FTQcuak-PENDING", "ZUSD", "50.0000", "0.0000", T0 + 100, status="Pending"),
    ]
    server.trades = {
        **trade("TCJTUK-GDK2Y-UXSY7S", "XXBTZUSD", "buy", T0 + 3600.25, "50000.0", "0.1", "13"),
        **trade("TDLH43-DVQXD-2KHVYY", "XETHXXBT", "buy", T0 + 7200.5, "0.0500", "1.0", "0.0001"),
    }
    server.withdrawals = [
        funding("AGBZNBO-5P2XSB-RFVF6J", "XXBT", "0.0100000000", "0.0001000000", T0 + 9000)
    ]
    server.balances = {"ZUSD": "4987.0000", "XXBT": "0.0398000000", "XETH": "1.0000000000"}
    monkeypatch.setenv("QUANTDESK_CCXT_URLS", json.dumps({"kraken": server.url}))
    monkeypatch.setenv("QUANTDESK_CCXT_RATE_LIMIT_MS", "0")  # loopback: no pacing
    yield server
    server.close()


def _connect(uow: SqlUnitOfWork, box: Vault, secret: str = SECRET) -> int:
    made = connections.add_connection(
        uow, box, provider="kraken", account="Kraken", api_key=API_KEY, secret=secret, clock=clock
    )
    return made.id


def _units(uow: SqlUnitOfWork) -> dict[str, Decimal]:
    return units_in(uow, "Kraken")


def test_a_sync_records_the_history_once_and_the_next_asks_only_for_what_is_new(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken
) -> None:
    connection = _connect(uow, box)
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert first.error is None, first.error
    assert {"trades": 3, "deposits": 1, "withdrawals": 1} == first.added  # ETH for BTC: 2 legs
    assert {} == first.differences  # the ledger holds what the exchange says it holds
    assert [
        "deposits: deposit FTQcuak-PENDING is pending (records 4)"
    ]  # after the 2 trades == first.notes
    assert {"BTC": Decimal("0.0398"), "ETH": Decimal(1), "USD": Decimal(4987)} == _units(uow)
    assert "ok" == first.connection.status and first.connection.last_sync_at is not None

    kraken.calls.clear()
    again = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert {"trades": 0, "deposits": 0, "withdrawals": 0} == again.added
    starts = {method: form.get("start") for method, form in kraken.calls}
    assert str(T0 + 7200) == starts["TradesHistory"]  # from the last trade on, not from 0

    kraken.trades.update(
        trade(
            "TNEW11-AAAAA-BBBBBB", "XXBTZUSD", "sell", T0 + 86400.0, "52000.0", "0.01000000", "1.35"
        )
    )
    kraken.balances.update(ZUSD="5505.6500", XXBT="0.0298000000")
    later = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert 1 == later.added["trades"] and {} == later.differences


KRAKEN_EXPORT = (
    '"txid","ordertxid","pair","time","type","ordertype","price","cost","fee","vol",'
    '"margin","misc","ledgers"\n'
    '"TCJTUK-GDK2Y-UXSY7S","OCJTUK-GDK2Y-UXSY7S","XXBTZUSD","2025-12-29 10:20:00.2500",'
    '"buy","limit",50000.0,5000.00000,13.00000,0.10000000,0.00000,"",""\n'
)


def _import_export(uow: SqlUnitOfWork) -> int:
    imported = import_stream(
        uow, io.BytesIO(KRAKEN_EXPORT.encode()), "trades.csv", ImportOptions("Kraken"), clock=clock
    )
    assert imported.ok, imported.issues
    return imported.added


def test_a_first_sync_starts_after_the_history_imported_from_the_export(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken
) -> None:
    connection = _connect(uow, box)
    assert 1 == _import_export(uow)
    synced = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert synced.error is None, synced.error
    assert 2 == synced.added["trades"]  # the ETH trade's two legs; the exported trade once
    assert "trades: synced from 2025-12-29 10:20:00 UTC on" in synced.notes[0]
    starts: dict[str, str | None] = {}
    for method, form in kraken.calls:
        starts.setdefault(method, form.get("start"))  # each stream's first page
    assert str(T0 + 3601) == starts["TradesHistory"]  # the second after the export's last
    assert None is starts["DepositStatus"]  # no deposits were imported: all of them read
    assert {"BTC": Decimal("0.0398"), "ETH": Decimal(1), "USD": Decimal(4987)} == _units(uow)


def test_a_trade_synced_and_then_imported_from_the_export_is_counted_once(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken
) -> None:
    connection = _connect(uow, box)
    assert connection_sync.sync_connection(uow, box, connection, clock=clock).error is None
    assert 0 == _import_export(uow)  # the export's txid is the synced trade's id
    assert {"BTC": Decimal("0.0398"), "ETH": Decimal(1), "USD": Decimal(4987)} == _units(uow)


def test_a_pending_deposit_is_recorded_by_the_sync_after_it_completes(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken
) -> None:
    kraken.deposits.append(
        funding("FTQcuak-LATER", "ZUSD", "25.0000", "0.0000", T0 + 200)  # after the pending one
    )
    kraken.balances["ZUSD"] = "5012.0000"
    connection = _connect(uow, box)
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert 2 == first.added["deposits"] and {} == first.differences
    kraken.deposits[1]["status"] = "Success"  # the 50 USD credited at last
    kraken.balances["ZUSD"] = "5062.0000"
    later = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert 1 == later.added["deposits"] and 1 == later.duplicates["deposits"]  # from it on
    assert {} == later.differences and Decimal(5062) == _units(uow)["USD"]


@pytest.mark.parametrize(
    ("failure", "kind", "words"),
    [
        ("EAPI:Invalid key", "bad-key", "refused the API key"),
        ("EGeneral:Permission denied", "permission", "lacks a permission"),
        ("ETrade:User Locked", "revoked", "access revoked"),
    ],
)
def test_a_refused_sync_says_why_in_plain_words_and_stores_nothing(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken, failure: str, kind: str, words: str
) -> None:
    connection = _connect(uow, box)
    kraken.fail["TradesHistory"] = failure
    report = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert kind == report.error_kind and words in (report.error or "")
    assert "error" == report.connection.status and words in (report.connection.error or "")
    assert API_KEY not in (report.error or "") and SECRET not in (report.error or "")
    assert {} == _units(uow)
    assert all(v is None for v in report.connection.synced_through.values())


def test_a_wrong_secret_is_a_bad_key(uow: SqlUnitOfWork, box: Vault, kraken: Kraken) -> None:
    wrong = "b3RoZXIgc2VjcmV0IG9mIHRoZSBzYW1lIGxlbmd0aCwgbm90IHRoZSBhY2NvdW50J3M="
    report = connection_sync.sync_connection(uow, box, _connect(uow, box, wrong), clock=clock)
    assert "bad-key" == report.error_kind and {} == _units(uow)


def test_a_rate_limit_midway_stores_nothing_and_the_next_sync_resumes(
    uow: SqlUnitOfWork, box: Vault, kraken: Kraken
) -> None:
    connection = _connect(uow, box)
    assert connection_sync.sync_connection(uow, box, connection, clock=clock).error is None
    kraken.trades.update(
        trade("TNEW11-AAAAA-BBBBBB", "XXBTZUSD", "sell", T0 + 86400.0, "52000.0", "0.01", "1.35")
    )
    kraken.withdrawals.append(
        funding("AGBZNBO-NEW", "XXBT", "0.0100000000", "0.0000000000", T0 + 90000)
    )
    kraken.balances.update(ZUSD="5505.6500", XXBT="0.0198000000")
    kraken.fail["WithdrawStatus"] = "EAPI:Rate limit exceeded"  # the last stream
    stopped = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert "rate-limit" == stopped.error_kind and "rate limiting" in (stopped.error or "")
    assert {} == stopped.added and "error" == stopped.connection.status
    assert Decimal("0.0398") == _units(uow)["BTC"]  # the new trade waits with the rest
    assert (T0 + 7200) * 1000 + 500 == stopped.connection.synced_through["trades"]

    del kraken.fail["WithdrawStatus"]
    resumed = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert resumed.error is None and {} == resumed.differences
    assert 1 == resumed.added["trades"] and 1 == resumed.added["withdrawals"]
    assert {"BTC": Decimal("0.0198"), "ETH": Decimal(1), "USD": Decimal("5505.65")} == _units(uow)


def test_credentials_are_encrypted_at_rest_and_open_after_a_key_rotation(
    engine: Engine, uow: SqlUnitOfWork, kraken: Kraken
) -> None:
    old = new_key()
    connection = _connect(uow, Vault.from_keys(old))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM connections")).scalar_one()
    assert API_KEY not in stored and SECRET not in stored and stored.startswith("gAAAA")
    shown = connections.list_connections(uow)[0]
    assert not any(API_KEY in str(v) or SECRET in str(v) for v in vars(shown).values())

    rotated = Vault.from_keys(new_key(), old)  # the new key first, the old one to read
    assert 1 == rotate_secrets(engine, rotated)
    with engine.connect() as conn:
        again = conn.execute(text("SELECT credentials FROM connections")).scalar_one()
    assert again != stored
    with pytest.raises(Exception, match="cannot be opened"):
        Vault.from_keys(old).decrypt(again)  # the old key alone no longer opens it
    report = connection_sync.sync_connection(uow, rotated, connection, clock=clock)
    assert report.error is None and 3 == report.added["trades"]


def test_an_exchange_pointed_elsewhere_keeps_its_api_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """QUANTDESK_CCXT_URLS moves the host only: Binance's /api/v3 and /sapi/v1 stay apart."""
    monkeypatch.setenv("QUANTDESK_CCXT_URLS", json.dumps({"binance": "http://127.0.0.1:9"}))
    api = ExchangeSession("binance", {"api_key": "k", "secret": "s"}).client.urls["api"]
    assert "http://127.0.0.1:9/api/v3" == api["public"]
    assert "http://127.0.0.1:9/sapi/v1" == api["sapi"]


def test_an_exchange_whose_api_needs_per_market_reads_says_what_to_do_instead() -> None:
    import ccxt  # noqa: PLC0415 - ccxt's own error types

    found = failure_of(ccxt.ArgumentsRequired("okx fetchMyTrades() requires a symbol"), "okx")
    assert "exchange" == found.kind
    assert "per market or per currency" in str(found) and "import its CSV export" in str(found)
