"""Charles Schwab brokerage transactions exports import with their meaning intact."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.transactions import TransactionType as T
from tests.importers.broker_golden import (
    check_golden,
    import_bytes,
    ledger_engine,
    outcome,
    reimported,
    sample,
    without_last_rows,
)

CASES = {
    "title-and-total": "schwab/schwab_brokerage_transactions_reds.csv",
    "export-e2g": "schwab/schwab_export_e2g.csv",
}

# No title line, no "Transactions Total" row, Price before Quantity, a reverse split
# written as new shares under the ticker and old shares removed under the old CUSIP.
BARE = (
    "Date,Action,Symbol,Description,Price,Quantity,Fees & Comm,Amount\n"
    '03/10/2026,Reverse Split,XYZ,XYZ CORP,,"2",,\n'
    "03/10/2026,Reverse Split,98765X107,XYZ CORP XXXREVERSE SPLIT EFF: 03/10/26,,-20,,\n"
    "03/02/2026 as of 02/27/2026,Sell,XYZ,XYZ CORP,$5.10,5,$0.02,$25.48\n"
    "02/02/2026,Buy,XYZ,XYZ CORP,$4.00,25,,-$100.00\n"
    '02/01/2026,Wire Received,,WIRED FUNDS RECEIVED,,,,"$1,000.00"\n'
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_schwab_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each Schwab sample gives the entries, notices and positions of its golden file."""
    path = sample(CASES[case])
    imported = import_bytes(tmp_path, path.read_bytes(), filename=path.name)
    check_golden("schwab", case, outcome(imported), update_golden)


def test_an_export_without_title_or_total_imports_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """An export without the title line and total row, columns reordered, imports as well."""
    imported = import_bytes(tmp_path, BARE.encode())
    check_golden("schwab", "bare-reordered", outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_schwab_samples_are_detected_without_a_format(case: str, tmp_path: Path) -> None:
    """Every sample is recognised as Schwab, knowing every column of its header."""
    imported = import_bytes(tmp_path, sample(CASES[case]).read_bytes())
    assert imported.report.format == "schwab"
    assert imported.report.confidence == 1.0
    assert imported.report.issues == []


def test_an_as_of_date_trades_on_the_effective_date(tmp_path: Path) -> None:
    """``04/17/2023 as of 04/15/2023`` is booked on 15 April, the effective date."""
    imported = import_bytes(tmp_path, sample(CASES["title-and-total"]).read_bytes())
    (interest,) = [t for t in imported.ledger if t.type is T.INTEREST]
    assert interest.traded_on == date(2023, 4, 15)
    assert interest.amount == Decimal("0.03")


def test_a_paired_reverse_split_leaves_the_new_share_count(tmp_path: Path) -> None:
    """20 old shares removed and 2 new added make a holding of 20 into 2."""
    imported = import_bytes(tmp_path, BARE.encode())
    result = outcome(imported)
    assert result["positions"] == {"XYZ (stock)": "2"}
    assert result["skipped"] == {
        "old shares of the reverse split on line 2 (netted into that row's split)": [3]
    }
    assert result["cash"] == {"USD": "925.48"}


def test_the_transactions_total_matches_the_imported_cash(tmp_path: Path) -> None:
    """The cash the reds sample imports equals its "Transactions Total" row."""
    data = sample(CASES["title-and-total"]).read_text()
    total = re.search(r'"Transactions Total".*"(-?\$[\d,.]+)"', data)
    assert total is not None
    imported = import_bytes(tmp_path, data.encode())
    cash = Decimal(outcome(imported)["cash"]["USD"])
    # Trades are priced from their net cash, so only a sub-cent residue of the
    # 18-decimal price remains.
    assert cash.quantize(Decimal("0.01")) == Decimal("-1574.04")
    assert abs(cash - Decimal("-1574.04")) < Decimal("1e-15")
    assert total[1] == "-$1,574.04"


def test_reimporting_the_same_export_adds_nothing(tmp_path: Path) -> None:
    """A second import of the same file adds no rows."""
    first, again = reimported(tmp_path, sample(CASES["export-e2g"]).read_bytes())
    assert first.report.added > 0
    assert again.report.added == 0
    assert len(again.ledger) == len(first.ledger)


def test_an_overlapping_newer_export_adds_only_the_new_rows(tmp_path: Path) -> None:
    """An export missing its last three rows, then the full one: only those three are added."""
    data = sample(CASES["title-and-total"]).read_text()
    older = without_last_rows(data, r'"\d\d/\d\d/\d{4}', 3)
    engine = ledger_engine(tmp_path)
    first = import_bytes(tmp_path, older.encode(), engine=engine)
    assert first.report.issues == []
    full = import_bytes(tmp_path, data.encode(), engine=engine)
    assert full.report.added == 3  # a dividend, a MoneyLink deposit and a transfer
    assert len(full.ledger) == len(first.ledger) + 3


HEADER = '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'


def test_a_bad_amount_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An amount that is not a number refuses the whole import at its line and column."""
    csv = (
        HEADER
        + '"01/09/2026","MoneyLink Deposit","","John Smith","","","","$25.00"\n'
        + '"01/10/2026","Cash Dividend","SPY","SPDR S&P 500 ETF","","","","$1.2.3"\n'
    )
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.report.added == 0
    assert imported.ledger == []
    (issue,) = imported.report.issues
    assert issue.describe().startswith("line 3, column 'Amount'")


def test_a_bad_date_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A date that is not a date refuses the import at its line and column."""
    csv = HEADER + '"01/09/2026 as of 02/30/2026","Credit Interest","","INT","","","","$1.00"\n'
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    (issue,) = imported.report.issues
    assert issue.describe().startswith("line 2, column 'Date': not a date: '02/30/2026'")


def test_an_unknown_action_refuses_the_import(tmp_path: Path) -> None:
    """An action the importer does not know refuses the import, quoting the action."""
    csv = HEADER + '"01/09/2026","Mystery Credit","","?","","","","$1.00"\n'
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    (issue,) = imported.report.issues
    assert issue.describe() == "line 2, column 'Action': unknown Schwab action 'Mystery Credit'"


def test_a_row_with_an_extra_cell_refuses_the_import(tmp_path: Path) -> None:
    """A row with more cells than the header (an unquoted comma) is refused at its line."""
    csv = HEADER + "01/09/2026,Cash Dividend,SPY,SPDR S&P 500 ETF,,,,$1,259.59\n"
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    assert imported.report.issues[0].describe().startswith("line 2: 9 cells")


def test_a_fidelity_file_forced_as_schwab_is_refused(tmp_path: Path) -> None:
    """Forcing --format schwab on a Fidelity export is a clear error."""
    data = sample("fidelity/fidelity_cma_History_for_Account.csv").read_bytes()
    with pytest.raises(InvalidInput, match="fidelity, not schwab"):
        import_bytes(tmp_path, data, fmt="schwab")
