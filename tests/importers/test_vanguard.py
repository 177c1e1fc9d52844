"""Vanguard Download Center CSVs import with their meaning intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

SAMPLE = "vanguard/vanguard_OfxDownload_two_sections.csv"
POSITIONS = "Account Number,Investment Name,Symbol,Shares,Share Price,Total Value,\n"
TRANSACTIONS = (
    "Account Number,Trade Date,Settlement Date,Transaction Type,Transaction Description,"
    "Investment Name,Symbol,Shares,Share Price,Principal Amount,Commissions and Fees,"
    "Net Amount,Accrued Interest,Account Type,\n"
)
OLDER = (
    "Account Number,Trade Date,Settlement Date,Transaction Type,Transaction Description,"
    "Investment Type,Investment Name,Symbol,Shares,Share Price,Principal Amount,"
    "Commission Fees,Net Amount,Accrued Interest,Account Type,\n"
)
# Real exports sign Net Amount (buys negative); a positions table that the transactions
# fully explain (VTI 10 - 4 + 0.5 reinvested; VFIAX 2 + 0.25 reinvested).
SIGNED = (
    POSITIONS
    + "12345678,Vanguard Total Stock Market ETF,VTI,6.50,250.00,1625.00,\n"
    + "12345678,Vanguard 500 Index Fund Admiral,VFIAX,2.25,400.00,900.00,\n"
    + "12345678,Vanguard Federal Money Market Fund,VMFXX,4000.00,1.00,4000.00,\n"
    + "\n\n"
    + TRANSACTIONS
    + "12345678,2024-01-02,2024-01-02,Funds Received,Funds Received,"
    "Vanguard Federal Money Market Fund,VMFXX,0.00,1.00,5000.00,0.00,5000.00,0.00,CASH,\n"
    "12345678,2024-01-02,2024-01-02,Sweep in,Sweep In,"
    "Vanguard Federal Money Market Fund,VMFXX,5000.00,1.00,-5000.00,0.00,-5000.00,0.00,CASH,\n"
    "12345678,2024-01-03,2024-01-05,Buy,Buy,Vanguard Total Stock Market ETF,VTI,10.00,"
    "230.00,-2300.00,0.00,-2300.00,0.00,CASH,\n"
    "12345678,2024-01-04,2024-01-05,Buy,Buy,Vanguard 500 Index Fund Admiral,VFIAX,2.00,"
    "400.00,-800.00,0.00,-800.00,0.00,CASH,\n"
    "12345678,2024-03-28,2024-03-28,Dividend,Dividend Received,"
    "Vanguard Total Stock Market ETF,VTI,0.00,0.00,120.00,0.00,120.00,0.00,CASH,\n"
    "12345678,2024-03-28,2024-03-28,Reinvestment,Dividend Reinvestment,"
    "Vanguard Total Stock Market ETF,VTI,0.50,240.00,-120.00,0.00,-120.00,0.00,CASH,\n"
    "12345678,2024-03-29,2024-03-29,Capital gain (LT),Long-term capital gain,"
    "Vanguard 500 Index Fund Admiral,VFIAX,0.25,400.00,-100.00,0.00,-100.00,0.00,CASH,\n"
    "12345678,2024-04-10,2024-04-12,Sell,Sell,Vanguard Total Stock Market ETF,VTI,-4.00,"
    "250.00,1000.00,1.00,999.00,0.00,CASH,\n"
    "12345678,2024-04-12,2024-04-12,Sweep out,Sweep Out,"
    "Vanguard Federal Money Market Fund,VMFXX,-999.00,1.00,999.00,0.00,999.00,0.00,CASH,\n"
    "12345678,2024-05-01,2024-05-01,Withdrawal,Withdrawal,"
    "Vanguard Federal Money Market Fund,VMFXX,0.00,1.00,-500.00,0.00,-500.00,0.00,CASH,\n"
    "12345678,2024-05-02,2024-05-02,Conversion (outgoing),Conversion,"
    "Vanguard 500 Index Fund Investor,VFINX,-3.00,400.00,0.00,0.00,0.00,0.00,CASH,\n"
)
OLDER_FILE = (
    OLDER + "87654321,01/05/2023,01/06/2023,Buy,Buy,ETF,Vanguard S&P 500 ETF,VOO,3.00,350.00,"
    "-1050.00,0.00,-1050.00,0.00,CASH,\n"
    "87654321,02/01/2023,02/01/2023,Transfer (incoming),Transfer,Mutual Fund,"
    "Vanguard Wellington Fund,VWELX,12.00,0.00,0.00,0.00,0.00,0.00,CASH,\n"
    "87654321,02/02/2023,02/02/2023,Interest,Interest,Money Market Fund,"
    "Vanguard Federal Money Market Fund,VMFXX,0.00,1.00,3.21,0.00,3.21,0.00,CASH,\n"
)


def test_vanguard_two_table_sample_imports_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """The two-table sample skips its positions and imports its transactions."""
    path = sample(SAMPLE)
    imported = import_bytes(tmp_path, path.read_bytes(), filename="OfxDownload.csv")
    check_golden("vanguard", "two-sections", outcome(imported), update_golden)


def test_signed_export_imports_to_its_golden_ledger(tmp_path: Path, update_golden: bool) -> None:
    """A signed two-table export maps every transaction type as documented."""
    imported = import_bytes(tmp_path, SIGNED.encode(), filename="OfxDownload.csv")
    check_golden("vanguard", "inline-signed", outcome(imported), update_golden)


def test_older_layout_imports_to_its_golden_ledger(tmp_path: Path, update_golden: bool) -> None:
    """The older layout (Investment Type, Commission Fees, MM/DD/YYYY) imports alone."""
    imported = import_bytes(tmp_path, OLDER_FILE.encode(), filename="OfxDownload.csv")
    assert imported.report.format == "vanguard"
    check_golden("vanguard", "inline-older", outcome(imported), update_golden)


def test_imported_positions_match_the_positions_table_the_history_explains(
    tmp_path: Path,
) -> None:
    """Where the transactions cover the whole history, positions equal the positions table."""
    result = outcome(import_bytes(tmp_path, SIGNED.encode(), filename="OfxDownload.csv"))
    assert result["positions"] == {"VFIAX (stock)": "2.25", "VTI (stock)": "6.5"}
    assert result["skipped"]["positions table: a snapshot, not transactions"] == [2, 3, 4]


def test_direction_comes_from_the_type_not_the_sign(tmp_path: Path) -> None:
    """Unsigned and signed buys both add units; a reinvestment with its dividend is a buy."""
    imported = import_bytes(tmp_path, SIGNED.encode(), filename="OfxDownload.csv")
    kinds = [(t.type.value, t.instrument.symbol if t.instrument else None) for t in imported.ledger]
    assert ("buy", "VTI") in kinds and ("sell", "VTI") in kinds
    assert kinds.count(("dividend", "VTI")) == 1  # income once, the reinvestment buys


def test_vanguard_csv_is_detected_with_confidence(tmp_path: Path) -> None:
    """The positions header and a transactions-only file are both recognized."""
    two = import_bytes(tmp_path, SIGNED.encode(), filename="a.csv")
    alone = tmp_path / "alone"
    alone.mkdir()
    only = import_bytes(alone, (TRANSACTIONS + SIGNED.split(TRANSACTIONS)[1]).encode())
    assert (two.report.format, two.report.confidence) == ("vanguard", 1.0)
    assert (only.report.format, only.report.confidence) == ("vanguard", 1.0)
    assert only.report.added == two.report.added


def test_reimport_adds_nothing_and_a_newer_export_adds_only_new_rows(tmp_path: Path) -> None:
    """The same export adds 0; a longer overlapping export adds only its new rows."""
    lines = SIGNED.splitlines(keepends=True)
    older = "".join(lines[:-2])
    first = import_bytes(tmp_path, older.encode(), filename="a.csv")
    again = import_bytes(tmp_path, older.encode(), filename="a.csv", engine=first.uow.engine)
    newer = import_bytes(tmp_path, SIGNED.encode(), filename="b.csv", engine=first.uow.engine)
    assert first.report.added > 0 and again.report.added == 0
    assert newer.report.added == 1  # the Withdrawal; the Conversion is left to resolve


def test_bad_number_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable share count is an issue at its line and column; nothing is stored."""
    bad = SIGNED.replace("VTI,10.00,230.00", "VTI,ten,230.00")
    imported = import_bytes(tmp_path, bad.encode(), filename="a.csv")
    assert imported.report.added == 0 and imported.ledger == []
    assert [i.describe() for i in imported.report.issues] == [
        "line 10, column 'Shares': not a number: 'ten'"
    ]


def test_bad_date_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable trade date is an issue at its line and column."""
    bad = SIGNED.replace("12345678,2024-01-03,", "12345678,2024-13-03,")
    imported = import_bytes(tmp_path, bad.encode(), filename="a.csv")
    assert imported.report.added == 0
    assert any(i.line == 10 and i.column == "Trade Date" for i in imported.report.issues)


def test_unknown_transaction_type_refuses_the_import(tmp_path: Path) -> None:
    """A type the importer does not know is refused, never guessed."""
    bad = SIGNED.replace("Withdrawal,Withdrawal", "Exchange,Exchange")
    imported = import_bytes(tmp_path, bad.encode(), filename="a.csv")
    assert imported.report.added == 0
    assert [i.describe() for i in imported.report.issues] == [
        "line 17, column 'Transaction Type': unknown Vanguard transaction type 'Exchange'"
    ]


def test_forcing_vanguard_on_another_brokers_csv_is_refused(tmp_path: Path) -> None:
    """--format vanguard on a file without its header is a clear error."""
    with pytest.raises(InvalidInput, match="not a vanguard file"):
        import_bytes(tmp_path, b"Date,Thing\n2024-01-01,x\n", fmt="vanguard")
