"""OFX and QFX downloads import through ofxtools with their meaning intact."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.importers import registry
from quantdesk.importers.ofx import sniff
from tests.importers.broker_golden import check_golden, import_bytes, outcome, sample

CASES = {
    "fidelity": "fidelity/fidelity.ofx",
    "vanguard-401k": "vanguard/vanguard_401k.qfx",
    "vanguard-brokerage": "vanguard/vanguard_brokerage.ofx",
    "etrade": "etrade/etrade_09092023.QFX",
}

HEADER = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20240301120000[-5:EST]<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
"""


def _investment(transactions: str, seclist: str) -> bytes:
    return (
        HEADER + "<INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        "<INVSTMTRS><DTASOF>20240301<CURDEF>USD"
        "<INVACCTFROM><BROKERID>example.com<ACCTID>X-1</INVACCTFROM>\n"
        "<INVTRANLIST><DTSTART>20240101<DTEND>20240301\n"
        + transactions
        + "</INVTRANLIST>\n</INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1>\n"
        "<SECLISTMSGSRSV1><SECLIST>\n" + seclist + "</SECLIST></SECLISTMSGSRSV1>\n</OFX>\n"
    ).encode()


_INV = "<SUBACCTSEC>CASH<SUBACCTFUND>CASH"
TRANSACTIONS = f"""<BUYSTOCK><INVBUY><INVTRAN>
<FITID>T1<DTTRADE>20240102230000.000[-5:EST]<MEMO>BUY LATE</INVTRAN>
<SECID><UNIQUEID>111111111<UNIQUEIDTYPE>CUSIP</SECID><UNITS>10<UNITPRICE>50<COMMISSION>1.00
<FEES>0.50<LOAD>0.25<TOTAL>-501.75{_INV}</INVBUY><BUYTYPE>BUY</BUYSTOCK>
<REINVEST><INVTRAN><FITID>T2<DTTRADE>20240110160000.000[-5:EST]<MEMO>REINVEST</INVTRAN><SECID>
<UNIQUEID>222222222<UNIQUEIDTYPE>CUSIP</SECID><INCOMETYPE>DIV<TOTAL>-25.00<SUBACCTSEC>CASH
<UNITS>0.5<UNITPRICE>0.0</REINVEST>
<INCOME><INVTRAN><FITID>T3<DTTRADE>20240115<MEMO>LT CAP GAIN</INVTRAN><SECID>
<UNIQUEID>222222222<UNIQUEIDTYPE>CUSIP</SECID><INCOMETYPE>CGLONG<TOTAL>12.34{_INV}</INCOME>
<INCOME><INVTRAN><FITID>T4<DTTRADE>20240116<MEMO>BOND INTEREST</INVTRAN><SECID>
<UNIQUEID>333333333<UNIQUEIDTYPE>CUSIP</SECID><INCOMETYPE>INTEREST<TOTAL>7.50{_INV}</INCOME>
<INVEXPENSE><INVTRAN><FITID>T5<DTTRADE>20240117<MEMO>ADR FEE</INVTRAN><SECID>
<UNIQUEID>111111111<UNIQUEIDTYPE>CUSIP</SECID><TOTAL>-0.20{_INV}</INVEXPENSE>
<SPLIT><INVTRAN><FITID>T6<DTTRADE>20240118<MEMO>2 FOR 1</INVTRAN><SECID><UNIQUEID>111111111
<UNIQUEIDTYPE>CUSIP</SECID><SUBACCTSEC>CASH<OLDUNITS>10<NEWUNITS>20<NUMERATOR>2<DENOMINATOR>1
</SPLIT>
<TRANSFER><INVTRAN><FITID>T7<DTTRADE>20240119<MEMO>ACAT IN</INVTRAN><SECID><UNIQUEID>444444444
<UNIQUEIDTYPE>CUSIP</SECID><SUBACCTSEC>CASH<UNITS>3<TFERACTION>IN<POSTYPE>LONG<AVGCOSTBASIS>300
</TRANSFER>
<JRNLSEC><INVTRAN><FITID>T8<DTTRADE>20240120<MEMO>JOURNAL</INVTRAN><SECID><UNIQUEID>111111111
<UNIQUEIDTYPE>CUSIP</SECID><SUBACCTTO>MARGIN<SUBACCTFROM>CASH<UNITS>5</JRNLSEC>
<BUYOPT><INVBUY><INVTRAN><FITID>T9<DTTRADE>20240121<MEMO>BTO CALL</INVTRAN><SECID>
<UNIQUEID>OPT1<UNIQUEIDTYPE>OTHER</SECID><UNITS>1<UNITPRICE>2.5<TOTAL>-250{_INV}</INVBUY>
<OPTBUYTYPE>BUYTOOPEN<SHPERCTRCT>100</BUYOPT>
<RETOFCAP><INVTRAN><FITID>T10<DTTRADE>20240122<MEMO>RETURN OF CAPITAL</INVTRAN><SECID>
<UNIQUEID>111111111<UNIQUEIDTYPE>CUSIP</SECID><TOTAL>4.00{_INV}</RETOFCAP>
<SELLSTOCK><INVSELL><INVTRAN><FITID>T11<DTTRADE>20240201100000.000[-5:EST]<MEMO>SELL</INVTRAN>
<SECID><UNIQUEID>111111111<UNIQUEIDTYPE>CUSIP</SECID><UNITS>-5<UNITPRICE>30<COMMISSION>1.00
<TOTAL>149.00<CURRENCY><CURRATE>1.35<CURSYM>CAD</CURRENCY>{_INV}</INVSELL><SELLTYPE>SELL
</SELLSTOCK>
<INVEXPENSE><INVTRAN><FITID>T12<DTTRADE>20240202<MEMO>FOREIGN TAX WITHHELD</INVTRAN><SECID>
<UNIQUEID>222222222<UNIQUEIDTYPE>CUSIP</SECID><TOTAL>-1.50{_INV}</INVEXPENSE>
<INVBANKTRAN><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240203<TRNAMT>1000.00<FITID>T13
<NAME>ACH DEPOSIT</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>
<INVBANKTRAN><STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240204<TRNAMT>-200.00<FITID>T14
<NAME>ACH WITHDRAWAL</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>
<INVBANKTRAN><STMTTRN><TRNTYPE>INT<DTPOSTED>20240205<TRNAMT>0.42<FITID>T15<NAME>CASH INTEREST
</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>
<INVBANKTRAN><STMTTRN><TRNTYPE>SRVCHG<DTPOSTED>20240206<TRNAMT>-5.00<FITID>T16<NAME>WIRE FEE
</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>
<INVBANKTRAN><STMTTRN><TRNTYPE>OTHER<DTPOSTED>20240207<TRNAMT>3.00<FITID>T17<NAME>ADJUSTMENT
</STMTTRN><SUBACCTFUND>CASH</INVBANKTRAN>
<TRANSFER><INVTRAN><FITID>T18<DTTRADE>20240208<MEMO>ACAT OUT</INVTRAN><SECID>
<UNIQUEID>444444444<UNIQUEIDTYPE>CUSIP</SECID><SUBACCTSEC>CASH<UNITS>-1<TFERACTION>OUT
<POSTYPE>LONG</TRANSFER>
"""
SECLIST = """<STOCKINFO><SECINFO>
<SECID><UNIQUEID>111111111<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>EXAMPLE CORP
<TICKER>EXC</SECINFO></STOCKINFO>
<MFINFO><SECINFO><SECID><UNIQUEID>222222222<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>EXAMPLE FUND
</SECINFO></MFINFO>
<DEBTINFO><SECINFO><SECID><UNIQUEID>333333333<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>EXAMPLE BOND
<TICKER>EXB</SECINFO><PARVALUE>1000<DEBTTYPE>COUPON</DEBTINFO>
<OTHERINFO><SECINFO><SECID><UNIQUEID>444444444<UNIQUEIDTYPE>CUSIP</SECID><SECNAME>EXAMPLE OTHER
<TICKER>EXO</SECINFO></OTHERINFO>
<OPTINFO><SECINFO><SECID><UNIQUEID>OPT1<UNIQUEIDTYPE>OTHER</SECID><SECNAME>EXC CALL
<TICKER>EXC240621C50</SECINFO><OPTTYPE>CALL<STRIKEPRICE>50<DTEXPIRE>20240621<SHPERCTRCT>100
</OPTINFO>
"""

BANK = (
    HEADER
    + """<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>123<ACCTID>B-9<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20240101<DTEND>20240301
<STMTTRN><TRNTYPE>DIRECTDEP<DTPOSTED>20240105<TRNAMT>2500.00<FITID>B1<NAME>SALARY</STMTTRN>
<STMTTRN><TRNTYPE>CHECK<DTPOSTED>20240106<TRNAMT>-120.00<FITID>B2<NAME>CHECK 101</STMTTRN>
<STMTTRN><TRNTYPE>FEE<DTPOSTED>20240107<TRNAMT>-2.00<FITID>B3<NAME>MONTHLY FEE</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>2378.00<DTASOF>20240301</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""
).encode()

CREDIT_CARD = (
    HEADER
    + """<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<CCSTMTRS><CURDEF>USD<CCACCTFROM><ACCTID>4111</CCACCTFROM>
<BANKTRANLIST><DTSTART>20240101<DTEND>20240301
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20240105<TRNAMT>-25.00<FITID>C1<NAME>SHOP</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>-25.00<DTASOF>20240301</LEDGERBAL>
</CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>
</OFX>
"""
).encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_ofx_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each OFX/QFX sample gives the entries, notices and positions of its golden file."""
    path = sample(CASES[case])
    imported = import_bytes(tmp_path, path.read_bytes(), filename=path.name)
    check_golden("ofx", case, outcome(imported), update_golden)


def test_every_investment_transaction_kind_maps_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """Buys, reinvestments, income, expenses, splits, transfers and cash map as documented."""
    imported = import_bytes(tmp_path, _investment(TRANSACTIONS, SECLIST), filename="all.ofx")
    check_golden("ofx", "inline-all-kinds", outcome(imported), update_golden)


def test_trade_date_is_the_date_in_the_brokers_offset(tmp_path: Path) -> None:
    """A trade at 23:00 EST is stored at 04:00 UTC the next day but keeps its own date."""
    imported = import_bytes(tmp_path, _investment(TRANSACTIONS, SECLIST), filename="all.ofx")
    buy = next(t for t in imported.ledger if t.external_id == "T1")
    assert buy.timed
    assert buy.traded_at.isoformat() == "2024-01-03T04:00:00+00:00"
    assert buy.traded_on == date(2024, 1, 2)


def test_reinvest_with_zero_unit_price_takes_total_over_units(tmp_path: Path) -> None:
    """Vanguard's UNITPRICE 0.0 on a REINVEST becomes TOTAL/UNITS, and the units are bought."""
    imported = import_bytes(tmp_path, _investment(TRANSACTIONS, SECLIST), filename="all.ofx")
    reinvest = next(t for t in imported.ledger if t.external_id == "T2")
    assert reinvest.type.value == "dividend"
    assert reinvest.quantity == 0.5 and reinvest.price == 50 and reinvest.amount == 25


def test_ofx_is_detected_without_a_format_with_full_confidence(tmp_path: Path) -> None:
    """An OFX file is recognized by its first bytes, however its name ends."""
    imported = import_bytes(tmp_path, sample(CASES["etrade"]).read_bytes(), filename="dl.txt")
    assert imported.report.format == "ofx"
    assert imported.report.confidence == 1.0


@pytest.mark.parametrize(
    "head",
    [
        b"OFXHEADER:100\nDATA:OFXSGML",
        b"\xef\xbb\xbf  \r\nOFXHEADER:100",
        b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n<OFX>',
        b"\n\n<OFX><SIGNONMSGSRSV1>",
    ],
)
def test_sniff_recognizes_ofx_headers(head: bytes) -> None:
    """SGML and XML OFX headers, with or without a BOM, are recognized."""
    assert sniff(head)
    assert registry.sniff_document(head) is not None


def test_sniff_does_not_take_a_csv_for_ofx() -> None:
    """A CSV export is not an OFX document."""
    assert not sniff(b"Account Number,Trade Date,Settlement Date\n1,2024-01-01,2024-01-02\n")


def test_forcing_ofx_on_a_csv_is_refused(tmp_path: Path) -> None:
    """--format ofx on a CSV names the mismatch."""
    data = sample("vanguard/vanguard_OfxDownload_two_sections.csv").read_bytes()
    with pytest.raises(InvalidInput, match=r"not a ofx file"):
        import_bytes(tmp_path, data, fmt="ofx")


def test_forcing_vanguard_on_an_ofx_is_refused(tmp_path: Path) -> None:
    """--format vanguard on an OFX download says it is an ofx file."""
    data = sample(CASES["vanguard-401k"]).read_bytes()
    with pytest.raises(InvalidInput, match=r"is a ofx file.*not vanguard"):
        import_bytes(tmp_path, data, filename="x.qfx", fmt="vanguard")


def test_reimporting_an_ofx_adds_nothing(tmp_path: Path) -> None:
    """The same download imported twice adds its entries once."""
    data = sample(CASES["fidelity"]).read_bytes()
    first = import_bytes(tmp_path, data, filename="a.ofx")
    again = import_bytes(tmp_path, data, filename="a.ofx", engine=first.uow.engine)
    assert first.report.added == 19
    assert again.report.added == 0 and not again.report.issues


def test_an_overlapping_newer_download_adds_only_the_new_transaction(tmp_path: Path) -> None:
    """A download without its last transaction, then the full one: only that one is added."""
    data = sample(CASES["etrade"]).read_bytes()
    blocks = list(re.finditer(rb"<BUYSTOCK>.*?</BUYSTOCK>\s*", data, re.S))
    older = data[: blocks[-1].start()] + data[blocks[-1].end() :]
    first = import_bytes(tmp_path, older, filename="old.qfx")
    newer = import_bytes(tmp_path, data, filename="new.qfx", engine=first.uow.engine)
    assert first.report.added == 3
    assert newer.report.added == 1
    assert [t.external_id for t in newer.ledger].count("230712_B_0") == 1


def test_malformed_ofx_is_refused_naming_what_ofxtools_reported(tmp_path: Path) -> None:
    """Elements out of the OFX order are refused with ofxtools' own words."""
    bad = _investment(
        TRANSACTIONS.replace(
            "<SUBACCTTO>MARGIN<SUBACCTFROM>CASH", "<SUBACCTFROM>CASH<SUBACCTTO>MARGIN"
        ),
        SECLIST,
    )
    with pytest.raises(InvalidInput, match=r"ofxtools reported: .*SUBACCTTO"):
        import_bytes(tmp_path, bad, filename="bad.ofx")


def test_truncated_ofx_is_refused(tmp_path: Path) -> None:
    """A download cut off in the middle is refused, not half-imported."""
    data = sample(CASES["etrade"]).read_bytes()
    with pytest.raises(InvalidInput, match="not a readable OFX/QFX file"):
        import_bytes(tmp_path, data[: len(data) // 2], filename="cut.qfx")


def test_unmapped_cash_transaction_type_is_left_to_resolve(tmp_path: Path) -> None:
    """A cash row of TRNTYPE OTHER without a recognizable meaning is left to the user."""
    imported = import_bytes(tmp_path, _investment(TRANSACTIONS, SECLIST), filename="all.ofx")
    assert any("type OTHER (ADJUSTMENT)" in i.reason for i in imported.report.notices.to_resolve)
    assert all(t.external_id != "T17" for t in imported.ledger)


def test_bank_statement_ofx_imports_as_cash_entries(tmp_path: Path, update_golden: bool) -> None:
    """A bank statement's transactions become deposits, withdrawals and fees in its currency."""
    imported = import_bytes(tmp_path, BANK, filename="bank.ofx", currency="EUR")
    check_golden("ofx", "inline-bank", outcome(imported), update_golden)


def test_credit_card_statement_ofx_is_refused(tmp_path: Path) -> None:
    """A credit card statement is not an investment account's download."""
    with pytest.raises(InvalidInput, match="credit card statement"):
        import_bytes(tmp_path, CREDIT_CARD, filename="card.ofx")
