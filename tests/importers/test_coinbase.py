"""Coinbase retail, Pro fills and Pro account exports import with their meaning intact."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.transactions import Origin
from quantdesk.domain.transactions import TransactionType as T
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample
from tests.importers.test_kraken import imported_change

CASES = {
    "pro-account-rotki": ("coinbase/coinbase_pro_account_statement_rotki.csv", "USD"),
    "pro-fills-real": ("coinbase/coinbase_pro_fills_real.csv", "USD"),
    "reward-income-2024": ("coinbase/coinbase_reward_income_2024_gfsk.csv", "EUR"),
    "transactions-2025": ("coinbase/coinbase_transactions_2025_e2g.csv", "EUR"),
    "legacy-preamble-2023": ("coinbase/coinbase_transactions_legacy_preamble_gfsk.csv", "EUR"),
}
FORMAT_OF = {
    "pro-account-rotki": "coinbase-pro-account",
    "pro-fills-real": "coinbase-pro-fills",
    "reward-income-2024": "coinbase",
    "transactions-2025": "coinbase",
    "legacy-preamble-2023": "coinbase",
}
SPOT_2021 = (
    "Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,"
    "Spot Price at Transaction,Subtotal,Total (inclusive of fees and/or spread),"
    "Fees and/or Spread,Notes\n"
    "2021-03-01T10:00:00Z,Deposit,USD,500,USD,1.00,500.00,500.00,0.00,Deposit from bank\n"
    "2021-03-02T10:00:00Z,Advanced Trade Buy,BTC,0.005,USD,48000.00,240.00,241.44,1.44,"
    "Bought 0.005 BTC for 241.44 USD\n"
    "2021-03-03T10:00:00Z,Learning Reward,GRT,2.5,USD,2.00,5.00,5.00,0.00,"
    "Received 2.5 GRT from Coinbase Earn\n"
    "2021-03-04T10:00:00Z,Sell,BTC,0.001,USD,50000.00,50.00,49.25,0.75,"
    "Sold 0.001 BTC for 49.25 USD\n"
    "2021-03-05T10:00:00Z,Send,BTC,0.001,USD,50000.00,50.00,50.00,0.00,"
    "Sent 0.001 BTC to bc1qexample\n"
    "2021-03-06T10:00:00Z,Receive,ETH,0.2,USD,1500.00,300.00,300.00,0.00,"
    "Received 0.2 ETH from an external account\n"
    "2021-03-07T10:00:00Z,Retail Staking Transfer,ETH,0.2,USD,1500.00,300.00,300.00,0.00,\n"
    "2021-03-08T10:00:00Z,Withdrawal,USD,100,USD,1.00,100.00,100.00,0.00,Withdrawal to bank\n"
)
FEES_2019 = (
    "Timestamp,Transaction Type,Asset,Quantity Transacted,Spot Price Currency,"
    "Spot Price at Transaction,Subtotal,Total (inclusive of fees),Fees,Notes\n"
    "2019-05-01T08:00:00Z,Buy,ETH,1.5,GBP,150.00,225.00,228.38,3.38,Bought 1.5 ETH\n"
    "2019-06-01T08:00:00Z,Convert,ETH,0.5,GBP,200.00,98.50,100.00,,"
    "Converted 0.5 ETH to 0.01 BTC\n"
    "2019-07-01T08:00:00Z,Coinbase Earn,XLM,10,GBP,0.08,0.80,0.80,0.00,"
    "Received 10 XLM from Coinbase Earn\n"
)
CURRENCY_2017 = (
    "Timestamp,Transaction Type,Asset,Quantity Transacted,CAD Spot Price at Transaction,"
    "CAD Amount Transacted (Inclusive of Coinbase Fees),Address,Notes\n"
    "2017-12-01T15:00:00Z,Buy,BTC,0.01,14000.00,145.00,,Bought 0.01 BTC for $145.00 CAD\n"
    "2017-12-10T15:00:00Z,Send,BTC,0.002,16000.00,,1BitcoinAddress,\n"
)
FILLS_NO_PORTFOLIO = (
    "trade id,product,side,created at,size,size unit,price,fee,total,price/fee/total unit\n"
    "11,ETH-BTC,BUY,2020-01-02T03:04:05.678Z,2.00000000,ETH,0.02,0.0001,-0.0401,BTC\n"
    "12,ETH-BTC,SELL,2020-01-03T03:04:05.678Z,1.00000000,ETH,0.021,0.00005,0.02095,BTC\n"
    "13,BTC-EUR,SELL,2020-01-04T03:04:05.678Z,0.03000000,BTC,7000,1.05,208.95,EUR\n"
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_coinbase_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each real sample gives the reviewed golden ledger."""
    path, currency = CASES[case]
    imported = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency)
    check_golden("coinbase", case, outcome(imported), update_golden)


@pytest.mark.parametrize(
    ("case", "data", "currency"),
    [
        ("spot-price-2021-inline", SPOT_2021, "USD"),
        ("fees-2019-inline", FEES_2019, "GBP"),
        ("currency-in-header-2017-inline", CURRENCY_2017, "CAD"),
        ("fills-no-portfolio-inline", FILLS_NO_PORTFOLIO, "EUR"),
    ],
)
def test_coinbase_vintages_without_sample_import_to_their_golden_ledger(
    case: str, data: str, currency: str, tmp_path: Path, update_golden: bool
) -> None:
    """Header vintages with no real sample, written inline, import as documented."""
    imported = import_bytes(tmp_path, data.encode(), currency=currency)
    assert imported.report.issues == []
    check_golden("coinbase", case, outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_coinbase_sample_is_detected_without_a_format(case: str, tmp_path: Path) -> None:
    """Auto-detection names the right Coinbase format with full confidence."""
    path, currency = CASES[case]
    report = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency).report
    assert (report.format, report.confidence) == (FORMAT_OF[case], 1.0)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (SPOT_2021, "coinbase"),
        (FEES_2019, "coinbase"),
        (CURRENCY_2017, "coinbase"),
        (FILLS_NO_PORTFOLIO, "coinbase-pro-fills"),
    ],
)
def test_inline_vintages_are_detected(data: str, name: str, tmp_path: Path) -> None:
    """Every header vintage is recognised without --format."""
    report = import_bytes(tmp_path, data.encode()).report
    assert (report.format, report.confidence) == (name, 1.0)


def test_pro_account_holdings_equal_the_final_balance_per_unit(tmp_path: Path) -> None:
    """Grouped trades, their fees and the transfers add up to the statement's balances."""
    path = sample("coinbase/coinbase_pro_account_statement_rotki.csv")
    imported = import_bytes(tmp_path, path.read_bytes())
    last: dict[str, Decimal] = {}
    for row in csv.DictReader(io.StringIO(path.read_text())):
        last[row["Amount/balance unit"]] = Decimal(row["Balance"])
    assert imported.report.unknown_basis == []
    assert imported_change(imported.ledger) == {
        unit: balance.quantize(Decimal("1e-12")) for unit, balance in last.items() if balance
    }
    assert outcome(imported)["positions"] == {
        "BTC (crypto)": "4.62208578",
        "ETH (crypto)": "18.5",
    }


def test_fills_are_priced_so_cash_equals_the_total_column(tmp_path: Path) -> None:
    """Every fiat fill moves exactly its signed total (fee included) in cash."""
    path = sample("coinbase/coinbase_pro_fills_real.csv")
    imported = import_bytes(tmp_path, path.read_bytes())
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in csv.DictReader(io.StringIO(path.read_text())):
        totals[row["price/fee/total unit"]] += Decimal(row["total"])
    cash: dict[str, Decimal] = defaultdict(Decimal)
    for t in imported.ledger:
        cash[t.currency] += t.cash_effect()
    assert {k: v.quantize(Decimal("1e-9")) for k, v in cash.items()} == {
        k: v.quantize(Decimal("1e-9")) for k, v in totals.items()
    }


def test_convert_gives_two_linked_legs_valued_at_the_total(tmp_path: Path) -> None:
    """The BTC to XRP Convert gives up BTC and receives XRP, both worth the Total."""
    path = sample("coinbase/coinbase_transactions_2025_e2g.csv")
    imported = import_bytes(tmp_path, path.read_bytes(), currency="EUR")
    legs = [t for t in imported.ledger if t.type is T.CONVERSION]
    assert [(t.instrument.symbol if t.instrument else None, t.quantity) for t in legs] == [
        ("BTC", Decimal("-0.00363125")),
        ("XRP", Decimal("156.145683")),
    ]
    assert legs[0].link == legs[1].link
    for leg in legs:
        assert leg.gross is not None
        assert leg.gross.quantize(Decimal("0.00001")) == Decimal("351.66322")


def test_reimporting_the_transaction_history_adds_nothing(tmp_path: Path) -> None:
    """A second import of the same report adds no rows."""
    data = sample("coinbase/coinbase_transactions_2025_e2g.csv").read_bytes()
    first = import_bytes(tmp_path, data, currency="EUR")
    again = import_bytes(tmp_path, data, currency="EUR", engine=first.uow.engine)
    assert first.report.added > 0
    assert again.report.added == 0


def test_an_overlapping_newer_fills_export_adds_only_its_new_rows(tmp_path: Path) -> None:
    """An older fills export (last rows missing) then the full one adds only new fills."""
    lines = sample("coinbase/coinbase_pro_fills_real.csv").read_bytes().splitlines(True)
    first = import_bytes(tmp_path, b"".join(lines[:-20]))
    full = import_bytes(tmp_path, b"".join(lines), engine=first.uow.engine)
    ours = [t for t in full.ledger if t.origin is Origin.IMPORT]
    assert len([t for t in first.ledger if t.origin is Origin.IMPORT]) == len(lines) - 21
    assert len(ours) == len(lines) - 1
    assert len({t.external_id for t in ours}) == len(ours)


def test_a_bad_number_refuses_the_report_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable number is an issue with its line and column; nothing is imported."""
    data = SPOT_2021.replace("241.44,1.44", "24x.44,1.44")
    imported = import_bytes(tmp_path, data.encode())
    assert imported.ledger == []
    assert next(i.describe() for i in imported.report.issues).startswith(
        "line 3, column 'Total (inclusive of fees and/or spread)':"
    )


def test_a_bad_timestamp_refuses_the_fills_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable time is an issue with its line and column."""
    data = FILLS_NO_PORTFOLIO.replace("2020-01-03T03:04:05.678Z", "yesterday")
    imported = import_bytes(tmp_path, data.encode())
    assert imported.ledger == []
    assert next(i.describe() for i in imported.report.issues).startswith(
        "line 3, column 'created at':"
    )


def test_an_unknown_transaction_type_refuses_the_report(tmp_path: Path) -> None:
    """A type Coinbase is not known to write is an issue, not a guess."""
    data = SPOT_2021.replace(",Sell,", ",Borrow,")
    imported = import_bytes(tmp_path, data.encode())
    assert imported.ledger == []
    assert [i.describe() for i in imported.report.issues] == [
        "line 5, column 'Transaction Type': unknown Coinbase transaction type 'Borrow'"
    ]


def test_a_convert_without_its_notes_is_refused(tmp_path: Path) -> None:
    """A Convert whose Notes do not name what was received cannot be booked."""
    data = FEES_2019.replace("Converted 0.5 ETH to 0.01 BTC", "")
    imported = import_bytes(tmp_path, data.encode(), currency="GBP")
    assert [i.describe() for i in imported.report.issues] == [
        "line 3, column 'Notes': a Convert needs 'Converted QTY ASSET to QTY ASSET' in Notes"
    ]


def test_an_unknown_pro_statement_type_refuses_the_import(tmp_path: Path) -> None:
    """A Pro statement row of an unknown type is an issue."""
    path = sample("coinbase/coinbase_pro_account_statement_rotki.csv")
    data = path.read_text().replace("default,withdrawal,2018", "default,loan,2018")
    imported = import_bytes(tmp_path, data.encode())
    assert [i.describe() for i in imported.report.issues] == [
        "line 10, column 'Type': unknown Coinbase Pro statement type 'loan'"
    ]
