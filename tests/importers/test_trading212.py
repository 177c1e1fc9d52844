"""Trading 212 history exports of every vintage import with their meaning intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

E2G = "trading212/trading212_export_e2g.csv"
CASES = {
    "2020-old-layout": ("trading212/trading212_2020_old_layout_kapji.csv", "GBP"),
    "2026-new-layout": ("trading212/trading212_2026_new_layout_kapji.csv", "GBP"),
}
# A 2023-24 layout with "Time (UTC)", GBX prices, a currency conversion, a split pair,
# a stock distribution, card rows and a share transfer.
INLINE = (
    "Action,Time (UTC),ISIN,Ticker,Name,Notes,ID,No. of shares,Price / share,"
    "Currency (Price / share),Exchange rate,Result,Currency (Result),Total,Currency (Total),"
    "Withholding tax,Currency (Withholding tax),Stamp duty reserve tax,"
    "Currency (Stamp duty reserve tax),Currency conversion fee,"
    "Currency (Currency conversion fee),Merchant name,Merchant category\n"
    "Deposit,2024-01-02 09:00:00,,,,,d-1,,,,,,,1000.00,GBP,,,,,,,,\n"
    "Market buy,2024-01-03 10:00:00,GB0007980591,BP,BP,,b-1,100,480.50,GBX,1.00,,,"
    "482.91,GBP,,,2.41,GBP,,,,\n"
    "Currency conversion,2024-01-04 11:00:00,,,,100.00 GBP -> 126.50 USD,c-1,,,,,,,"
    "100.00,GBP,,,,,0.15,GBP,,\n"
    "Stock split close,2024-02-01 07:00:00,GB0007980591,BP,BP,,s-1,100,4.82,GBP,,,,"
    "482.00,GBP,,,,,,,,\n"
    "Stock split open,2024-02-01 07:00:01,GB0007980591,BP,BP,,s-2,25,19.28,GBP,,,,"
    "482.00,GBP,,,,,,,,\n"
    "Stock distribution,2024-02-05 07:00:00,US0000000001,SPIN,SpinCo,,x-1,3,0.00,USD,,,,"
    "0.00,GBP,,,,,,,,\n"
    "Card debit,2024-02-06 12:00:00,,,,,k-1,,,,,,,-12.50,GBP,,,,,,,Cafe,RESTAURANTS\n"
    "Spending cashback,2024-02-07 12:00:00,,,,,k-2,,,,,,,0.19,GBP,,,,,,,,\n"
    "Transfer out,2024-02-08 12:00:00,GB0007980591,BP,BP,,t-1,5,4.90,GBP,1.00,,,"
    "24.50,GBP,,,,,,,,\n"
)


def _t212(tmp_path: Path, data: bytes, **options: Any) -> dict[str, Any]:
    return outcome(import_bytes(tmp_path, data, **options))


@pytest.mark.parametrize("case", sorted(CASES))
def test_trading212_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each vintage's sample imports in the account currency with its fees."""
    path, currency = CASES[case]
    result = _t212(tmp_path, sample(path).read_bytes(), currency=currency)
    assert not result["issues"]
    assert result["format"] == "trading212"
    check_golden("trading212", case, result, update_golden)


def test_e2g_sample_is_refused_naming_its_rows_from_another_layout(
    tmp_path: Path, update_golden: bool
) -> None:
    """The last four rows do not line up with the header: each is an issue, nothing is added."""
    result = _t212(tmp_path, sample(E2G).read_bytes(), currency="EUR")
    assert result["added"] == 0
    for line in (11, 12, 13, 14):
        assert any(i.startswith(f"line {line}, column 'Price / share'") for i in result["issues"])
    check_golden("trading212", "e2g-refused", result, update_golden)


def test_e2g_sample_without_its_misaligned_rows_imports(
    tmp_path: Path, update_golden: bool
) -> None:
    """Without the four pasted rows the E2G export imports, dividends with their tax."""
    lines = sample(E2G).read_bytes().split(b"\n")[:10]
    result = _t212(tmp_path, b"\n".join(lines) + b"\n", currency="EUR")
    assert not result["issues"]
    check_golden("trading212", "e2g-first-rows", result, update_golden)


def test_inline_layout_imports_to_its_golden_ledger(tmp_path: Path, update_golden: bool) -> None:
    """Time (UTC), stamp duty, conversion, split pair, distribution, card rows, transfer."""
    result = _t212(tmp_path, INLINE.encode(), currency="GBP")
    assert not result["issues"]
    check_golden("trading212", "inline-2024-layout", result, update_golden)


def test_split_records_the_shares_added(tmp_path: Path) -> None:
    """A 4-to-1 reverse split of 100 shares removes 75."""
    result = _t212(tmp_path, INLINE.encode(), currency="GBP")
    (split,) = [e for e in result["entries"] if e["type"] == "split"]
    assert split["quantity"] == "-75"
    assert result["positions"] == {"GB0007980591 (stock)": "20"}


def test_stamp_duty_is_a_fee_of_the_buy(tmp_path: Path) -> None:
    """The buy's price is (Total - stamp duty) / shares, in GBP."""
    result = _t212(tmp_path, INLINE.encode(), currency="GBP")
    (buy,) = [e for e in result["entries"] if e["type"] == "buy"]
    assert (buy["price"], buy["fees"], buy["currency"]) == ("4.805", "2.41", "GBP")


def test_detection_has_full_confidence(tmp_path: Path) -> None:
    """The newest layout is detected without --format and every column is known."""
    result = _t212(tmp_path, sample(CASES["2026-new-layout"][0]).read_bytes(), currency="GBP")
    assert (result["format"], result["confidence"]) == ("trading212", 1.0)


def test_reimport_adds_nothing_and_a_newer_export_adds_only_new_rows(tmp_path: Path) -> None:
    """Rows already imported are recognised in a later, overlapping export."""
    header, *rows = INLINE.splitlines()
    older = "\n".join([header, *rows[:4]]) + "\n"
    first = import_bytes(tmp_path, older.encode(), currency="GBP")
    assert first.report.added == 5  # deposit, buy, conversion (2 legs and a fee)
    engine = first.uow.engine
    again = import_bytes(tmp_path, older.encode(), currency="GBP", engine=engine)
    assert again.report.added == 0
    later = import_bytes(tmp_path, INLINE.encode(), currency="GBP", engine=engine)
    assert later.report.added == 4  # split, card debit, cashback, transfer out


def test_bad_number_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    """A Total that is not a number refuses the import, naming its line and column."""
    data = INLINE.replace("482.91,GBP", "48x.91,GBP").encode()
    result = _t212(tmp_path, data, currency="GBP")
    assert result["added"] == 0
    assert any(i.startswith("line 3, column 'Total'") for i in result["issues"])


def test_bad_time_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    """A time that is not a date refuses the import, naming its line and column."""
    data = INLINE.replace("2024-01-03 10:00:00", "2024-13-03 10:00:00").encode()
    result = _t212(tmp_path, data, currency="GBP")
    assert any(i.startswith("line 3, column 'Time (UTC)'") for i in result["issues"])


def test_unknown_action_is_refused(tmp_path: Path) -> None:
    """An action the importer does not know refuses the import."""
    data = INLINE.replace("Spending cashback", "Mystery bonus").encode()
    result = _t212(tmp_path, data, currency="GBP")
    assert result["added"] == 0
    assert any("unknown Trading 212 action 'Mystery bonus'" in i for i in result["issues"])


def test_truncated_row_is_refused(tmp_path: Path) -> None:
    """A row with fewer cells than the header refuses the import."""
    data = INLINE.replace(",Cafe,RESTAURANTS", "").encode()
    result = _t212(tmp_path, data, currency="GBP")
    assert any(i.startswith("line 8: truncated row") for i in result["issues"])
