"""E*TRADE CSV downloads import with their meaning intact.

No real E*TRADE CSV was available: the inline files follow the layouts documented in
../shared/formats/FORMATS.md section 5 and are unvalidated against a real export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.services import portfolio
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import DEFAULT_USER, clock
from tests.importers.broker_golden import check_golden, import_bytes, ledger_engine, outcome

LEGACY = (
    "For Account:,####1234\n"
    "\n"
    "TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,Price,Commission,Description\n"
    "01/03/24,Transfer,CASH,,,5000.00,,0.00,ONLINE TRANSFER      FROM  CHECKING\n"
    "01/04/24,Bought,EQ,AAPL,10,-1852.95,184.80,4.95,APPLE INC            COM\n"
    "01/05/24,Bought,MF,VFIAX,2.5,-1000.00,400.00,0.00,VANGUARD 500 INDEX ADMIRAL\n"
    "02/15/24,Dividend,EQ,AAPL,,2.40,,0.00,APPLE INC CASH DIV ON 10 SHS\n"
    "02/15/24,Interest,CASH,,,0.37,,0.00,INTEREST ON CREDIT BALANCE\n"
    "02/20/24,Sold,EQ,AAPL,-4,731.05,184.00,4.95,APPLE INC            COM\n"
    "02/21/24,Bought,OPTN,AAPL Mar 15 '24 $190 Call,1,-120.00,1.20,0.65,CALL AAPL 03/15/24 190\n"
    "02/28/24,Fee,CASH,,,-25.00,,0.00,WIRE FEE\n"
    "03/01/24,Direct Debit,CASH,,,-300.00,,0.00,DIRECT DEBIT UTILITY\n"
    "03/02/24,Transfer,EQ,MSFT,5,0.00,,0.00,TRANSFER OF SECURITY IN\n"
    "03/03/24,Adjustment,CASH,,,1.25,,0.00,ADJUSTMENT\n"
)
ACTIVITY = (
    "Activity/Trade Date,Transaction Date,Settlement Date,Activity Type,Description,Symbol,"
    "Cusip,Quantity #,Price $,Amount $,Commission,Category,Note\n"
    "01/02/2025,01/02/2025,01/02/2025,Deposit,DIRECT DEPOSIT,,,0,0,2000.00,0,Transfer,\n"
    "01/06/2025,01/06/2025,01/07/2025,Bought,VISA INC COM CL A,V,92826C839,5,250.00,"
    "-1250.00,0,Trade,\n"
    "03/03/2025,03/03/2025,03/03/2025,Qualified Dividend,VISA INC COM CL A,V,92826C839,"
    "0,0,2.95,0,Income,\n"
    "03/03/2025,03/03/2025,03/03/2025,Foreign Tax,TAIWAN SEMI ADR,TSM,874039100,0,0,"
    "-0.44,0,Tax,\n"
    "04/01/2025,04/01/2025,04/02/2025,Sold,VISA INC COM CL A,V,92826C839,-2,300.00,"
    "599.98,0.02,Trade,\n"
    "04/02/2025,04/02/2025,04/02/2025,Withdrawal,ONLINE TRANSFER TO CHECKING,,,0,0,"
    "-500.00,0,Transfer,\n"
)


def test_legacy_layout_imports_to_its_golden_ledger(tmp_path: Path, update_golden: bool) -> None:
    """The legacy download, after its account preamble, maps every documented type."""
    imported = import_bytes(tmp_path, LEGACY.encode(), filename="DownloadTxnHistory.csv")
    check_golden("etrade", "inline-legacy", outcome(imported), update_golden)


def test_activity_layout_imports_to_its_golden_ledger(tmp_path: Path, update_golden: bool) -> None:
    """The 2025+ All Transactions export maps trades, income, tax and cash."""
    imported = import_bytes(tmp_path, ACTIVITY.encode(), filename="transactions.csv")
    check_golden("etrade", "inline-activity", outcome(imported), update_golden)


@pytest.mark.parametrize(("data", "preamble"), [(LEGACY, [1]), (ACTIVITY, [])])
def test_etrade_csv_is_detected_with_confidence(
    data: str, preamble: list[int], tmp_path: Path
) -> None:
    """Both layouts are recognized without --format; the legacy preamble is reported."""
    imported = import_bytes(tmp_path, data.encode())
    assert imported.report.format == "etrade"
    assert imported.report.confidence == 1.0
    assert imported.report.notices.skipped.get("preamble before the header", []) == preamble


def test_reimport_adds_nothing_and_a_newer_export_adds_only_new_rows(tmp_path: Path) -> None:
    """The same export adds 0; a longer overlapping export adds only its new rows."""
    older = "".join(ACTIVITY.splitlines(keepends=True)[:-2])
    first = import_bytes(tmp_path, older.encode())
    again = import_bytes(tmp_path, older.encode(), engine=first.uow.engine)
    newer = import_bytes(tmp_path, ACTIVITY.encode(), engine=first.uow.engine)
    assert first.report.added == 4 and again.report.added == 0
    assert newer.report.added == 2


def test_bad_number_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An unreadable amount is an issue at its line and column; nothing is stored."""
    bad = LEGACY.replace("-1852.95", "-18x2.95")
    imported = import_bytes(tmp_path, bad.encode())
    assert imported.report.added == 0 and imported.ledger == []
    assert [i.describe() for i in imported.report.issues] == [
        "line 5, column 'Amount': not a number: '18x2.95'"
    ]


def test_bad_date_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """An impossible date is an issue at its line and column."""
    bad = ACTIVITY.replace(
        "03/03/2025,03/03/2025,03/03/2025,Qualified", "13/03/2025,03/03/2025,03/03/2025,Qualified"
    )
    imported = import_bytes(tmp_path, bad.encode())
    assert imported.report.added == 0
    assert [(i.line, i.column) for i in imported.report.issues] == [(4, "Activity/Trade Date")]


def test_unknown_transaction_type_refuses_the_import(tmp_path: Path) -> None:
    """A type the importer does not know is refused, never guessed."""
    bad = LEGACY.replace("Direct Debit", "Margin Call")
    imported = import_bytes(tmp_path, bad.encode())
    assert imported.report.added == 0
    assert [i.describe() for i in imported.report.issues] == [
        "line 12, column 'TransactionType': unknown E*TRADE transaction type 'Margin Call'"
    ]


def test_forcing_etrade_on_an_ofx_is_refused(tmp_path: Path) -> None:
    """--format etrade on E*TRADE's QFX download says it is an OFX file."""
    data = b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX></OFX>\n"
    with pytest.raises(InvalidInput, match=r"is a ofx file.*not etrade"):
        import_bytes(tmp_path, data, fmt="etrade")


def test_the_legacy_preamble_account_routes_rows_to_that_account(tmp_path: Path) -> None:
    """`For Account:,####1234` names the account: with a quantdesk account of that name
    the rows go there, not to the import's --account; without one they fall back to it
    and the report says so."""
    fallback = import_bytes(tmp_path / "a", LEGACY.encode())
    assert {"####1234": "Broker"} == fallback.report.account_fallbacks
    engine = ledger_engine(tmp_path)
    portfolio.add_account(
        SqlUnitOfWork(engine, DEFAULT_USER, clock),
        "####1234",
        kind="brokerage",
        institution=None,
        currency="USD",
        clock=clock,
    )
    routed = import_bytes(tmp_path, LEGACY.encode(), engine=engine)
    assert routed.report.ok and {} == routed.report.account_fallbacks
    assert {"####1234"} == {t.account for t in routed.ledger if t.origin.value == "import"}
