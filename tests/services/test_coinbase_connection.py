"""A Coinbase account synced through ccxt's own Coinbase client, against Coinbase's App
API on 127.0.0.1 (tests/connectors/coinbase_server.py: wallets and their transactions,
every call's CDP JWT checked): buys, converts, Advanced Trade fills, sends, deposits and
rewards recorded once (a trade's two wallet records are one trade), each wallet resumed
after its last transaction, a pending one recorded once it completes, and failures said
plainly with nothing partial stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from quantdesk.services import connection_sync, connections
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.unit_of_work import SqlUnitOfWork
from quantdesk.store.vault import Vault
from tests.conftest import NOW, clock
from tests.connectors.coinbase_server import (
    KEY_NAME,
    LEGACY_KEY,
    LEGACY_SECRET,
    SECRET,
    Coinbase,
    ccxt_environment,
    small_account,
    transaction,
)
from tests.services.conftest import units_in

HELD = {"USD": Decimal("519.88"), "BTC": Decimal("0.005"), "ETH": Decimal("0.0905")}
RECENTLY = int(NOW.timestamp() * 1000) - 3_600_000


@pytest.fixture
def coinbase(monkeypatch: pytest.MonkeyPatch) -> Iterator[Coinbase]:
    server = small_account()
    for key, value in ccxt_environment(server).items():
        monkeypatch.setenv(key, value)
    yield server
    server.close()


def _connect(uow: SqlUnitOfWork, box: Vault, secret: str = SECRET) -> int:
    made = connections.add_connection(
        uow, box, provider="coinbase", account="Coinbase", api_key=KEY_NAME, secret=secret,
        clock=clock,
    )  # fmt: skip
    return made.id


def _units(uow: SqlUnitOfWork) -> dict[str, Decimal]:
    return units_in(uow, "Coinbase")


def test_every_wallet_s_history_is_recorded_once_and_the_next_sync_reads_only_what_is_new(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    connection = _connect(uow, box)
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert first.error is None, first.error
    assert {} == first.differences and HELD == _units(uow)  # each trade counted once
    # deposit, buy, the convert's 2 legs, send, reward, fill
    assert {"transactions": 7} == first.added
    assert any("the USD side of a buy" in note for note in first.notes)
    assert "ok" == first.connection.status

    coinbase.calls.clear()
    again = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert {"transactions": 0} == again.added
    asked = {path: params for path, params in coinbase.calls if path.endswith("/transactions")}
    for account in coinbase.accounts:  # each wallet from after its last transaction
        assert (
            account.transactions[-1]["id"]
            == (asked[f"/v2/accounts/{account.id}/transactions"]["starting_after"])
        )

    coinbase.account("ETH").transactions.append(
        transaction("staking_reward", "0.00010000", "ETH", "0.20", RECENTLY)
    )
    coinbase.account("ETH").balance = "0.09060000"
    later = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert {"transactions": 1} == later.added and {} == later.differences


def test_a_pending_send_is_recorded_by_the_sync_after_it_completes(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    btc = coinbase.account("BTC")
    btc.transactions.append(
        transaction("send", "-0.00100000", "BTC", "-50.00", RECENTLY, status="pending")
    )
    btc.transactions.append(transaction("send", "0.00200000", "BTC", "100.00", RECENTLY + 1000))
    btc.balance = "0.00700000"  # the pending send has not left yet
    connection = _connect(uow, box)
    first = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert first.error is None and {} == first.differences
    assert any("is pending" in note for note in first.notes)
    btc.transactions[-2]["status"] = "completed"
    btc.balance = "0.00600000"
    later = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert {"transactions": 1} == later.added and {} == later.differences
    assert Decimal("0.006") == _units(uow)["BTC"]


def test_a_rate_limit_midway_stores_nothing_and_the_next_sync_resumes(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    connection = _connect(uow, box)
    eth = coinbase.account("ETH")
    coinbase.fail[f"/v2/accounts/{eth.id}"] = (429, "rate_limit_exceeded", "Too many requests")
    failed = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert "rate-limit" == failed.error_kind and {} == _units(uow)
    assert {"transactions": None} == failed.connection.synced_through
    coinbase.fail.clear()
    resumed = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert resumed.error is None and {} == resumed.differences and HELD == _units(uow)


def test_another_key_or_a_key_without_the_read_scope_is_said_plainly(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    wrong = _connect(uow, box, secret=other.decode())
    refused = connection_sync.sync_connection(uow, box, wrong, clock=clock)
    assert "bad-key" == refused.error_kind and "refused the API key" in (refused.error or "")
    connections.remove_connection(uow, wrong)
    garbled = _connect(uow, box, secret="-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END")
    unusable = connection_sync.sync_connection(uow, box, garbled, clock=clock)
    assert "bad-key" == unusable.error_kind and "cannot sign" in (unusable.error or "")
    connections.remove_connection(uow, garbled)
    coinbase.fail["/v2/accounts"] = (403, "invalid_scope", "Invalid scope")
    scoped = connection_sync.sync_connection(uow, box, _connect(uow, box), clock=clock)
    assert "permission" == scoped.error_kind and {} == _units(uow)


RETAIL_EXPORT = (
    "ID,Timestamp,Transaction Type,Asset,Quantity Transacted,Price Currency,Price at "
    "Transaction,Subtotal,Total (inclusive of fees and/or spread),Fees and/or Spread,Notes\n"
    "623d6507925c200001fcb001,2025-12-29 09:20:00 UTC,Deposit,USD,1000,USD,$1.00,$1000.00,"
    "$1000.00,$0.00,Deposit from bank\n"
    "623d6507925c200001fcb002,2025-12-29 09:21:00 UTC,Buy,BTC,0.01,USD,$50000.00,$500.00,"
    "$500.00,$0.00,Bought 0.01 BTC for 500 USD\n"
)


def test_a_first_sync_starts_after_the_history_imported_from_coinbase_s_export(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    connection = _connect(uow, box)
    imported = import_stream(
        uow, io.BytesIO(RETAIL_EXPORT.encode()), "coinbase.csv", ImportOptions("Coinbase"),
        clock=clock,
    )  # fmt: skip
    assert imported.ok and 2 == imported.added, imported.issues
    synced = connection_sync.sync_connection(uow, box, connection, clock=clock)
    assert synced.error is None, synced.error
    assert {} == synced.differences and HELD == _units(uow)  # the export's two not again
    assert {"transactions": 5} == synced.added


@pytest.mark.parametrize(
    "pasted",
    [
        "".join(SECRET.split("\n")),  # into a browser's one-line field: line breaks gone
        " ".join(SECRET.split("\n")),  # into a terminal: line breaks become spaces
        SECRET.replace("\n", "\\n"),  # from cdp_api_key.json: the line breaks written \n
    ],
)
def test_a_key_pasted_on_one_line_or_from_coinbase_s_key_file_still_signs(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase, pasted: str
) -> None:
    synced = connection_sync.sync_connection(
        uow, box, _connect(uow, box, secret=pasted), clock=clock
    )
    assert synced.error is None, synced.error
    assert HELD == _units(uow)


def test_a_legacy_api_key_signs_its_calls_with_its_secret_and_syncs_the_same(
    uow: SqlUnitOfWork, box: Vault, coinbase: Coinbase
) -> None:
    """A key made before Coinbase's CDP keys (a key and a plain secret) signs each call
    with HMAC-SHA256 (ccxt's own signing, which the server checks), and syncs the same
    history; a wrong secret is said plainly and stores nothing."""
    wrong = connections.add_connection(
        uow, box, provider="coinbase", account="Coinbase", api_key=LEGACY_KEY,
        secret=LEGACY_SECRET[::-1], clock=clock,
    )  # fmt: skip
    refused = connection_sync.sync_connection(uow, box, wrong.id, clock=clock)
    assert "bad-key" == refused.error_kind, refused.error
    assert {} == _units(uow)
    connections.remove_connection(uow, wrong.id)
    made = connections.add_connection(
        uow, box, provider="coinbase", account="Coinbase", api_key=LEGACY_KEY,
        secret=LEGACY_SECRET, clock=clock,
    )  # fmt: skip
    synced = connection_sync.sync_connection(uow, box, made.id, clock=clock)
    assert synced.error is None, synced.error
    assert {} == synced.differences and HELD == _units(uow)
