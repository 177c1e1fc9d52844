"""Fidelity accounts history exports import with their meaning intact."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.transactions import TransactionType as T
from quantdesk.importers.base import Issues, Notices
from quantdesk.importers.csvio import open_csv
from quantdesk.importers.registry import by_name, detect_csv
from quantdesk.importers.table import ParseContext
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
    "cma-single-account": "fidelity/fidelity_cma_History_for_Account.csv",
    "all-accounts-2025": "fidelity/fidelity_all_accounts_transactions.csv",
}

# The 2026 all-accounts vintage (no sample): blank lines first, ($) headers, every empty
# number quoted as "" and negative quantities quoted.
VINTAGE_2026 = (
    "\r\n\r\n"
    "Run Date,Account,Account Number,Action,Symbol,Description,Type,Price ($),Quantity,"
    "Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\r\n"
    '03/04/2026,"Individual","Z12345678","YOU SOLD APPLE INC (AAPL) (Cash)",AAPL,'
    '"APPLE INC",Cash,200.5,"-2","","0.02","",400.98,03/05/2026\r\n'
    '03/03/2026,"Individual","Z12345678","REDEMPTION FROM CORE ACCOUNT FIDELITY '
    'GOVERNMENT MONEY MARKET (SPAXX) (Cash)",SPAXX,"FIDELITY GOVERNMENT MONEY MARKET",'
    'Cash,1,"-1500","","","",1500,""\r\n'
    '03/02/2026,"Individual","Z12345678","YOU BOUGHT APPLE INC (AAPL) (Cash)",AAPL,'
    '"APPLE INC",Cash,150.25,"10","","","",-1502.5,03/03/2026\r\n'
    '03/01/2026,"Roth IRA","Y87654321","Electronic Funds Transfer Received (Cash)", ,'
    '"No Description",Cash,"","","","","",2000,""\r\n'
    "\r\n"
    '"The data and information in this spreadsheet is provided to you solely for your '
    'use and is not for distribution."\r\n'
    "Date downloaded 03/05/2026 9:12 am\r\n"
)

# The per-account vintage without the Account columns, with a running cash balance.
SINGLE_ACCOUNT = (
    "Run Date,Action,Symbol,Description,Type,Quantity,Price ($),Commission ($),Fees ($),"
    "Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date\n"
    "02/10/2026,FOREIGN TAX PAID TAIWAN SEMICONDUCTOR (TSM) (Cash),TSM,TAIWAN SEMICONDUCTOR,"
    "Cash,,,,,,-1.5,2120.39,\n"
    "02/10/2026,DIVIDEND RECEIVED TAIWAN SEMICONDUCTOR (TSM) (Cash),TSM,TAIWAN SEMICONDUCTOR,"
    "Cash,,,,,,10.25,2121.89,\n"
    "02/03/2026,YOU BOUGHT TAIWAN SEMICONDUCTOR (TSM) (Cash),TSM,TAIWAN SEMICONDUCTOR,Cash,"
    "4,219.59,4.95,0.02,,-883.33,2111.64,02/04/2026\n"
    "02/02/2026,REINVESTMENT FIDELITY GOVERNMENT MONEY MARKET (SPAXX) (Cash),SPAXX,"
    "FIDELITY GOVERNMENT MONEY MARKET,Cash,1.97,1,,,,-1.97,2994.97,\n"
    "02/02/2026,DIVIDEND RECEIVED FIDELITY GOVERNMENT MONEY MARKET (SPAXX) (Cash),SPAXX,"
    "FIDELITY GOVERNMENT MONEY MARKET,Cash,,,,,,1.97,2994.97,\n"
    "02/01/2026,DIRECT DEPOSIT ACME PAYROLL (Cash), ,No Description,Cash,,,,,,3000,3000,\n"
    "02/01/2026,CHECK PAID # 1001 (Cash), ,No Description,Cash,,,,,,-7,2993,\n"
)
INLINE = {"all-accounts-2026": VINTAGE_2026, "single-account-cash-balance": SINGLE_ACCOUNT}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fidelity_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each Fidelity sample gives the entries, notices and positions of its golden file."""
    path = sample(CASES[case])
    imported = import_bytes(tmp_path, path.read_bytes(), filename=path.name)
    check_golden("fidelity", case, outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(INLINE))
def test_fidelity_vintage_without_a_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """The 2026 and per-account header vintages import to their golden ledgers."""
    imported = import_bytes(tmp_path, INLINE[case].encode())
    check_golden("fidelity", case, outcome(imported), update_golden)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fidelity_samples_are_detected_without_a_format(case: str, tmp_path: Path) -> None:
    """Every sample is recognised as Fidelity, knowing every column of its header."""
    imported = import_bytes(tmp_path, sample(CASES[case]).read_bytes())
    assert imported.report.format == "fidelity"
    assert imported.report.confidence == 1.0
    assert imported.report.issues == []


def test_the_all_accounts_export_keeps_each_account_number() -> None:
    """Rows of the all-accounts layout carry their Fidelity account number."""
    data = sample(CASES["all-accounts-2025"]).read_bytes()
    dialect, records = open_csv(io.BytesIO(data))
    detected = detect_csv(records)
    assert detected.format is by_name("fidelity")
    ctx = ParseContext(date(2026, 12, 6), Issues(), Notices(), dialect)
    assert detected.format.csv_parser is not None
    parsed = list(detected.format.csv_parser(detected.header, records, ctx))
    accounts = {p.account for p in parsed}
    assert accounts == {"111111111", "222222222", "333333333", "444444444", "555555555"}


def test_the_cash_balance_column_matches_the_imported_cash(tmp_path: Path) -> None:
    """The imported cash equals the file's last running Cash Balance ($)."""
    imported = import_bytes(tmp_path, SINGLE_ACCOUNT.encode())
    result = outcome(imported)
    assert result["cash"] == {"USD": "2120.39"}
    assert result["positions"] == {"TSM (stock)": "4"}


def test_a_bond_purchase_books_accrued_interest_apart(tmp_path: Path) -> None:
    """A bond bought with accrued interest is a buy at its net price plus negative interest."""
    imported = import_bytes(tmp_path, sample(CASES["all-accounts-2025"]).read_bytes())
    bond = [t for t in imported.ledger if t.instrument and t.instrument.symbol == "412003AD7"]
    kinds = {t.type: t for t in bond}
    assert kinds[T.INTEREST].amount == Decimal("-285.69")
    buy = kinds[T.BUY]
    assert buy.quantity == Decimal("55000")
    # (50151.44 paid - 285.69 accrued interest) / 55000 face: the bond's net price.
    assert buy.price == Decimal("0.90665")


def test_reimporting_the_same_export_adds_nothing(tmp_path: Path) -> None:
    """A second import of the same file adds no rows."""
    first, again = reimported(tmp_path, sample(CASES["all-accounts-2025"]).read_bytes())
    assert first.report.added > 0
    assert again.report.added == 0
    assert len(again.ledger) == len(first.ledger)


def test_an_overlapping_newer_export_adds_only_the_new_rows(tmp_path: Path) -> None:
    """An export missing its last three rows, then the full one: only those rows are added."""
    data = sample(CASES["all-accounts-2025"]).read_text()
    older = without_last_rows(data, r"\d\d/\d\d/\d{4},", 3)
    engine = ledger_engine(tmp_path)
    first = import_bytes(tmp_path, older.encode(), engine=engine)
    assert first.report.issues == []
    full = import_bytes(tmp_path, data.encode(), engine=engine)
    # The three rows: a foreign tax, a sale (with its unknown-basis opening) and a bond
    # buy with accrued interest (two entries).
    assert full.report.added == 5
    assert len(full.ledger) == len(first.ledger) + 5


HEADER = (
    "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),"
    "Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n"
)


def test_a_bad_amount_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An amount that is not a number refuses the whole import at its line and column."""
    csv = (
        HEADER
        + "01/05/2026,DIRECT DEPOSIT PAYROLL (Cash), ,No Description,Cash,,,,,,100,\n"
        + "01/06/2026,DIRECT DEBIT CARD CO (Cash), ,No Description,Cash,,,,,,12.3.4,\n"
    )
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.report.added == 0
    assert imported.ledger == []
    assert imported.report.issues[0].describe().startswith("line 3, column 'Amount ($)'")


def test_a_bad_date_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A run date that is not a date refuses the import at its line and column."""
    csv = HEADER + "13/45/2026,DIRECT DEPOSIT PAYROLL (Cash), ,No Description,Cash,,,,,,100,\n"
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    (issue,) = imported.report.issues
    assert issue.describe().startswith("line 2, column 'Run Date': not a date")


def test_an_unknown_action_refuses_the_import(tmp_path: Path) -> None:
    """An action the importer does not know refuses the import, quoting the action."""
    csv = HEADER + "01/05/2026,SOMETHING NEW HAPPENED (Cash), ,No Description,Cash,,,,,,5,\n"
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    (issue,) = imported.report.issues
    assert issue.describe() == (
        "line 2, column 'Action': unknown Fidelity action 'SOMETHING NEW HAPPENED (Cash)'"
    )


def test_a_truncated_row_refuses_the_import(tmp_path: Path) -> None:
    """A row with fewer cells than the header is refused, naming the line."""
    csv = HEADER + "01/05/2026,DIRECT DEPOSIT PAYROLL (Cash), ,No Description,Cash,,,,\n"
    imported = import_bytes(tmp_path, csv.encode())
    assert imported.ledger == []
    assert "line 2: truncated row" in imported.report.issues[0].describe()


def test_a_schwab_file_forced_as_fidelity_is_refused(tmp_path: Path) -> None:
    """Forcing --format fidelity on a Schwab export is a clear error."""
    data = sample("schwab/schwab_export_e2g.csv").read_bytes()
    with pytest.raises(InvalidInput, match=r"not (a )?fidelity"):
        import_bytes(tmp_path, data, fmt="fidelity")


def test_a_foreign_tax_refund_is_income_not_a_charge(tmp_path: Path) -> None:
    """A positive FOREIGN TAX PAID row (tax given back) raises cash as a dividend."""
    csv = HEADER + "01/05/2026,FOREIGN TAX PAID NESTLE (NSRGY) (Cash),NSRGY,NESTLE,Cash,,,,,,2.5,\n"
    imported = import_bytes(tmp_path, csv.encode())
    (entry,) = imported.ledger
    assert entry.type is T.DIVIDEND
    assert entry.amount == Decimal("2.5")
    assert entry.cash_effect() == Decimal("2.5")
