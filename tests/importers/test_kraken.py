"""Kraken ledgers.csv and trades.csv exports import with their meaning intact."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.transactions import Origin, Transaction
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.coinbase import is_fiat
from quantdesk.importers.kraken import split_pair, ticker
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "ledgers-2024-new-layout": ("kraken/kraken_ledgers_2024_new_layout.csv", "GBP"),
    "ledgers-cointaxman": ("kraken/kraken_ledgers_cointaxman.csv", "EUR"),
    "ledgers-staking-uabean": ("kraken/kraken_ledgers_staking_uabean.csv", "USD"),
    "trades-cointaxman": ("kraken/kraken_trades_cointaxman.csv", "EUR"),
}
FORMAT_OF = {
    "ledgers-2024-new-layout": "kraken-ledgers",
    "ledgers-cointaxman": "kraken-ledgers",
    "ledgers-staking-uabean": "kraken-ledgers",
    "trades-cointaxman": "kraken-trades",
}
WALLET_LEDGER = (
    '"txid","refid","time","type","subtype","aclass","asset","wallet","amount","fee","balance"\n'
    '"L1","D1","2024-03-01 09:00:00","deposit","","currency","ZEUR","spot / main",'
    "500.0000,0.0000,500.0000\n"
    '"L2","T1","2024-03-01 10:00:00","trade","tradespot","currency","ZEUR","spot / main",'
    "-300.0000,0.7800,199.2200\n"
    '"L3","T1","2024-03-01 10:00:00","trade","tradespot","currency","XETH","spot / main",'
    "0.1000000000,0.0000000000,0.1000000000\n"
    '"L4","T2","2024-03-02 10:00:00","trade","tradespot","currency","XETH","spot / main",'
    "-0.0500000000,0.0000000000,0.0500000000\n"
    '"L5","T2","2024-03-02 10:00:00","trade","tradespot","currency","XXBT","spot / main",'
    "0.0025000000,0.0000050000,0.0024950000\n"
    '"L6","R1","2024-03-03 00:00:00","transfer","spottostaking","currency","XETH",'
    '"spot / main",-0.0500000000,0.0000000000,0.0000000000\n'
    '"L7","R1","2024-03-03 00:00:01","transfer","stakingfromspot","currency","ETH2.S",'
    '"earn / bonded",0.0500000000,0.0000000000,0.0500000000\n'
    '"L8","S1","2024-03-10 00:00:00","staking","","currency","ETH2.S","earn / bonded",'
    "0.0001000000,0.0000000000,0.0501000000\n"
    '"L9","W1","2024-03-11 00:00:00","withdrawal","","currency","XXBT","spot / main",'
    "-0.0020000000,0.0000100000,0.0004850000\n"
    '"L10","W2","2024-03-12 00:00:00","withdrawal","","currency","ZEUR","spot / main",'
    "-100.0000,0.0900,99.1300\n"
)
TRADES = (
    '"txid","ordertxid","pair","time","type","ordertype","price","cost","fee","vol","margin",'
    '"misc","ledgers"\n'
    '"T1","O1","XETHZEUR","2024-03-01 10:00:00.1234","buy","market",3000.00000,300.00000,'
    '0.78000,0.10000000,0.00000,"","L2,L3"\n'
    '"T2","O2","XETHXXBT","2024-03-02 10:00:00.5","sell","limit",0.05000,0.00250000,'
    '0.00000500,0.05000000,0.00000,"","L4,L5"'
)
LONG_TRADES = (
    "txid,ordertxid,pair,time,type,ordertype,price,cost,fee,vol,margin,misc,ledgers,postxid,"
    "posstatus,cprice,ccost,cfee,cvol,cmargin,net,trades\n"
    'T9,O9,XBTUSDC,2024-04-01 12:00:00.0001,buy,limit,60000,600,1.2,0.01,0,,"L1,L2",,,,,,,,,\n'
)


def ledger_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def imported_change(ledger: list[Transaction]) -> dict[str, Decimal]:
    """Units of each coin and cash of each currency the imported entries move."""
    moved: dict[str, Decimal] = defaultdict(Decimal)
    sign = {T.BUY: 1, T.TRANSFER_IN: 1, T.STAKING_REWARD: 1, T.SELL: -1, T.TRANSFER_OUT: -1}
    for t in ledger:
        if t.origin is Origin.UNKNOWN_BASIS:
            continue
        moved[t.currency] += t.cash_effect()
        if t.instrument is not None and t.quantity is not None:
            if t.type is T.CONVERSION:
                moved[t.instrument.symbol] += t.quantity
            else:
                moved[t.instrument.symbol] += sign[t.type] * t.quantity
    return {k: v.quantize(Decimal("1e-12")) for k, v in moved.items() if v}


def balance_change(
    rows: list[dict[str, str]], skip_refids: frozenset[str] = frozenset()
) -> dict[str, Decimal]:
    """Last minus opening balance per ticker (summed over wallets), from the balance column,
    less the net change of rows in ``skip_refids``."""
    first: dict[tuple[str, str], Decimal] = {}
    last: dict[tuple[str, str], Decimal] = {}
    change: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if not row["txid"]:
            continue
        wallet = (row["asset"], row.get("wallet", ""))
        net = Decimal(row["amount"]) - Decimal(row["fee"])
        first.setdefault(wallet, Decimal(row["balance"]) - net)
        last[wallet] = Decimal(row["balance"])
        if row["refid"] in skip_refids:
            change[ticker(row["asset"])] -= net
    for wallet, balance in last.items():
        change[ticker(wallet[0])] += balance - first[wallet]
    return {k: v.quantize(Decimal("1e-12")) for k, v in change.items() if v}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kraken_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each real sample gives the reviewed golden ledger."""
    path, currency = CASES[case]
    imported = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency)
    check_golden("kraken", case, outcome(imported), update_golden)


@pytest.mark.parametrize(
    ("case", "data", "currency"),
    [
        ("ledgers-wallet-no-subclass", WALLET_LEDGER, "EUR"),
        ("trades-legacy-inline", TRADES, "EUR"),
        ("trades-long-form-inline", LONG_TRADES, "USD"),
    ],
)
def test_kraken_layouts_without_sample_import_to_their_golden_ledger(
    case: str, data: str, currency: str, tmp_path: Path, update_golden: bool
) -> None:
    """The ledgers layout with wallet but no subclass and both trades.csv forms import."""
    imported = import_bytes(tmp_path, data.encode(), currency=currency)
    check_golden("kraken", case, outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_kraken_sample_is_detected_without_a_format(case: str, tmp_path: Path) -> None:
    """Auto-detection names the right Kraken format with full confidence."""
    path, currency = CASES[case]
    report = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency).report
    assert (report.format, report.confidence) == (FORMAT_OF[case], 1.0)


def test_new_layout_ledger_holdings_equal_the_balance_column(tmp_path: Path) -> None:
    """Imported units and cash move each asset as much as Kraken's running balance,
    except the one-legged trade the sample lacks a counter-leg for (left to resolve)."""
    path = sample("kraken/kraken_ledgers_2024_new_layout.csv")
    imported = import_bytes(tmp_path, path.read_bytes(), currency="GBP")
    assert imported.report.issues == []
    assert len(imported.report.notices.to_resolve) == 1
    expected = balance_change(ledger_rows(path), frozenset({"TO2IGX-JOJX7-VGAZII"}))
    assert imported_change(imported.ledger) == expected
    assert set(expected) == {"GBP", "USDT"}


def test_staking_ledger_holdings_equal_the_balance_column(tmp_path: Path) -> None:
    """Staked USDC.M is USDC: the deposit and the reward add up to the balances."""
    path = sample("kraken/kraken_ledgers_staking_uabean.csv")
    imported = import_bytes(tmp_path, path.read_bytes())
    assert imported_change(imported.ledger) == balance_change(ledger_rows(path))
    assert imported_change(imported.ledger) == {"USDC": Decimal("1001.12345678")}


def test_inline_wallet_ledger_holdings_equal_the_balance_column(tmp_path: Path) -> None:
    """Trades, coin fees, staking into ETH2.S and withdrawals match the balances."""
    imported = import_bytes(tmp_path, WALLET_LEDGER.encode(), currency="EUR")
    assert imported.report.issues == []
    rows = list(csv.DictReader(io.StringIO(WALLET_LEDGER)))
    assert imported_change(imported.ledger) == balance_change(rows)


def test_cointaxman_trades_with_a_split_ledgers_cell_are_refused(tmp_path: Path) -> None:
    """14 cells under 13 headers is refused with the line named, never a wrong ledger."""
    path = sample("kraken/kraken_trades_cointaxman.csv")
    imported = import_bytes(tmp_path, path.read_bytes(), currency="EUR")
    assert imported.ledger == []
    assert next(i.describe() for i in imported.report.issues) == (
        "line 2: 14 cells but the header names 13 columns (a row from another layout, "
        "or a value with an unquoted comma)"
    )


def test_reimporting_a_ledger_adds_nothing(tmp_path: Path) -> None:
    """A second import of the same ledgers.csv adds no rows."""
    data = sample("kraken/kraken_ledgers_2024_new_layout.csv").read_bytes()
    first = import_bytes(tmp_path, data, currency="GBP")
    again = import_bytes(tmp_path, data, currency="GBP", engine=first.uow.engine)
    assert first.report.added > 0
    assert again.report.added == 0


def test_an_overlapping_newer_ledger_adds_only_its_new_rows(tmp_path: Path) -> None:
    """An older export (last rows missing) then the full one adds only the new entries."""
    lines = sample("kraken/kraken_ledgers_2024_new_layout.csv").read_bytes().splitlines(True)
    older = b"".join(lines[:-10])
    first = import_bytes(tmp_path, older, currency="GBP", allow_unknown_basis=True)
    full = import_bytes(tmp_path, b"".join(lines), currency="GBP", engine=first.uow.engine)
    fresh = import_bytes(tmp_path / "fresh", b"".join(lines), currency="GBP")
    imported = [t for t in fresh.ledger if t.origin is Origin.IMPORT]
    old = [t for t in first.ledger if t.origin is Origin.IMPORT]
    assert len([t for t in full.ledger if t.origin is Origin.IMPORT]) == len(imported)
    assert len(imported) > len(old)


def test_trades_csv_after_ledgers_csv_does_not_double_count(tmp_path: Path) -> None:
    """A trade's ledger refid is its trades.csv txid: importing both adds no trade twice."""
    ledgers = import_bytes(tmp_path, WALLET_LEDGER.encode(), currency="EUR")
    trades = import_bytes(tmp_path, TRADES.encode(), currency="EUR", engine=ledgers.uow.engine)
    assert trades.report.issues == []
    assert trades.report.added == 0


def test_a_bad_amount_refuses_the_ledger_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable number is an issue with its line and column; nothing is imported."""
    data = WALLET_LEDGER.replace("-300.0000,", "-3x0.0000,")
    imported = import_bytes(tmp_path, data.encode(), currency="EUR")
    assert imported.ledger == []
    assert next(i.describe() for i in imported.report.issues).startswith("line 3, column 'amount':")


def test_a_bad_time_refuses_the_ledger_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable time is an issue with its line and column."""
    data = WALLET_LEDGER.replace("2024-03-10 00:00:00", "2024-13-45 00:00:00")
    imported = import_bytes(tmp_path, data.encode(), currency="EUR")
    assert imported.ledger == []
    assert next(i.describe() for i in imported.report.issues).startswith("line 9, column 'time':")


def test_an_unknown_ledger_type_refuses_the_import(tmp_path: Path) -> None:
    """A ledger type Kraken is not known to write is an issue, not a guess."""
    data = WALLET_LEDGER.replace('"staking"', '"mystery"')
    imported = import_bytes(tmp_path, data.encode(), currency="EUR")
    assert imported.ledger == []
    assert [i.describe() for i in imported.report.issues] == [
        "line 9, column 'type': unknown Kraken ledger type 'mystery'"
    ]


def test_a_one_legged_trade_is_left_to_resolve(tmp_path: Path) -> None:
    """A trade whose counter-leg is missing is reported for the user, not invented."""
    data = "\n".join(line for line in WALLET_LEDGER.splitlines() if '"L3"' not in line)
    imported = import_bytes(tmp_path, data.encode(), currency="EUR")
    assert next(i.describe() for i in imported.report.notices.to_resolve).startswith(
        "line 3: trade T1 has one leg only (-300.0000 EUR, fee 0.7800)"
    )


@pytest.mark.parametrize(
    ("pair", "split"),
    [
        ("XXBTZEUR", ("BTC", "EUR")),
        ("XBTUSDC", ("BTC", "USDC")),
        ("ETHUSD", ("ETH", "USD")),
        ("USDCUSD", ("USDC", "USD")),
        ("XETHXXBT", ("ETH", "BTC")),
        ("XXDGZUSD", ("DOGE", "USD")),
        ("SOL/EUR", ("SOL", "EUR")),
        ("DOTETH", ("DOT", "ETH")),
    ],
)
def test_pairs_split_with_the_asset_table(pair: str, split: tuple[str, str]) -> None:
    """Kraken pairs split into base and quote tickers by the known quote assets."""
    assert split_pair(pair) == split


def test_staking_suffixes_and_legacy_codes_become_tickers() -> None:
    """Suffixes of staking wallets are dropped and X/Z codes mapped."""
    codes = ["XXBT", "XBT.M", "ETH2.S", "ETH2", "DOT28.S", "USDC.M", "ZGBP", "SOL.F", "MANA"]
    assert [ticker(c) for c in codes] == [
        "BTC",
        "BTC",
        "ETH",
        "ETH",
        "DOT",
        "USDC",
        "GBP",
        "SOL",
        "MANA",
    ]
    assert is_fiat("GBP") and not is_fiat("USDT")
