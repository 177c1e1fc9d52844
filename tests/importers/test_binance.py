"""Binance statement, Auto-Invest and trade-history exports import with their meaning intact."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from quantdesk.domain.transactions import TransactionType
from quantdesk.importers.binance import split_pair
from quantdesk.store.database import make_engine, migrate
from tests.importers.broker_golden import Imported, check_golden, import_bytes, outcome, sample

CASES = {
    "statement-uabean": ("binance/binance_transaction_history_uabean.csv", "UAH"),
    "statement-rotki": ("binance/binance_transaction_history_rotki.csv", "EUR"),
    "auto-invest-dalirp2": ("binance/binance_auto_invest_dalirp2.csv", "USD"),
}

STATEMENT = """UTC_Time,Account,Operation,Coin,Change,Remark
2024-03-01 10:00:00,Spot,Deposit,EUR,1000,
2024-03-02 11:00:00,Spot,Transaction Spend,EUR,-500.00,
2024-03-02 11:00:00,Spot,Transaction Buy,BTC,0.01000000,
2024-03-02 11:00:00,Spot,Transaction Fee,BTC,-0.00001000,
2024-03-03 12:00:00,Spot,Simple Earn Flexible Interest,BTC,0.00000100,
2024-03-04 13:00:00,Spot,Sell,BTC,-0.00500000,
2024-03-04 13:00:00,Spot,Sell,USDT,310.00000000,
2024-03-04 13:00:00,Spot,Fee,BNB,-0.00050000,
2024-03-05 14:00:00,Spot,Withdraw,USDT,-100.00000000,Withdraw fee is included
2024-03-06 15:00:00,Spot,Simple Earn Flexible Subscription,USDT,-50.00000000,
"""

TRADES_PAIR = """Date(UTC),Pair,Side,Price,Executed,Amount,Fee
2024-01-02 09:30:00,BTCUSDT,BUY,40000,0.5BTC,20000USDT,0.0005BTC
2024-01-03 10:00:00,BTCUSDT,SELL,42000,0.2BTC,8400USDT,8.4USDT
2024-01-04 11:00:00,ETHBTC,BUY,0.05,1ETH,0.05BTC,0.0001BNB
2024-01-05 12:00:00,BTCEUR,BUY,38000,0.1BTC,3800EUR,3.8EUR
"""

TRADES_MARKET = """Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin
2024-02-01 08:00:00,SOLFDUSD,BUY,100,10,1000,0.01,SOL
2024-02-02 08:00:00,SOLEUR,SELL,95,5,475,0.475,EUR
2024-02-03 08:00:00,DOGEUSDT,SELL,0.1,1000,100,0.0002,BNB
"""

DEPOSITS = """Date(UTC+0),Coin,Network,Amount,Address,TXID,Status
2024-04-01 09:00:00,BTC,BTC,0.25,bc1qexampleaddress,txid-btc-1,Completed
2024-04-02 09:00:00,USDT,TRX,500,TExampleAddress,txid-usdt-1,Completed
2024-04-03 09:00:00,ETH,ETH,1.5,0xexample,,Pending
"""

WITHDRAWALS = """Date(UTC+0),Coin,Network,Amount,Address,TXID,Status,Fee
2024-04-05 09:00:00,BTC,BTC,0.1,bc1qexampleaddress,txid-btc-2,Completed,0.0002
2024-04-06 09:00:00,USDT,TRX,200,TExampleAddress,,Cancelled,1
"""


def _cleaned_rotki() -> bytes:
    """The rotki sample without its three deliberately broken rows."""
    text = sample(CASES["statement-rotki"][0]).read_text()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for cells in csv.reader(io.StringIO(text)):
        if cells[1] == "" or cells[4] == "" or cells[3] == "ABC":
            continue
        writer.writerow(cells)
    return out.getvalue().encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_binance_sample_imports_to_its_golden_ledger(
    case: str, tmp_path: Path, update_golden: bool
) -> None:
    """Each real sample gives its reviewed golden outcome."""
    path, currency = CASES[case]
    imported = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency)
    check_golden("binance", case, outcome(imported), update_golden)


def test_rotki_sample_is_refused_naming_its_broken_rows(tmp_path: Path) -> None:
    """The rotki test file's empty time, empty coin and fake operation refuse the import."""
    path, currency = CASES["statement-rotki"]
    imported = import_bytes(tmp_path, sample(path).read_bytes(), currency=currency)
    issues = [issue.describe() for issue in imported.report.issues]
    assert imported.report.added == 0
    assert issues == [
        "line 5, column 'UTC_Time': date is empty",
        "line 6, column 'Coin': coin is empty",
        "line 42, column 'Operation': unknown Binance operation 'ABC'",
    ]


def test_cleaned_rotki_sample_imports_to_its_golden_ledger(
    tmp_path: Path, update_golden: bool
) -> None:
    """Without its broken rows the rotki sample imports every trade, reward and transfer."""
    imported = import_bytes(tmp_path, _cleaned_rotki(), currency="EUR")
    assert imported.report.issues == []
    check_golden("binance", "statement-rotki-cleaned", outcome(imported), update_golden)


@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("trades-pair", TRADES_PAIR),
        ("trades-market", TRADES_MARKET),
        ("statement-inline", STATEMENT),
        ("deposits", DEPOSITS),
        ("withdrawals", WITHDRAWALS),
    ],
)
def test_binance_inline_layout_imports_to_its_golden_ledger(
    case: str, data: str, tmp_path: Path, update_golden: bool
) -> None:
    """Layouts without a sample import to their reviewed golden outcome."""
    imported = import_bytes(tmp_path, data.encode(), currency="EUR")
    assert imported.report.issues == []
    check_golden("binance", case, outcome(imported), update_golden)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (STATEMENT, "binance-statement"),
        ("User_ID," + STATEMENT.replace("\n2024", "\n1,2024"), "binance-statement"),
        (TRADES_PAIR, "binance-trades"),
        (TRADES_MARKET, "binance-trades"),
        (DEPOSITS, "binance-deposits"),
        (WITHDRAWALS, "binance-withdrawals"),
    ],
)
def test_binance_layouts_are_detected_without_a_format(
    data: str, name: str, tmp_path: Path
) -> None:
    """Every layout is recognized from its header alone, with full confidence."""
    report = import_bytes(tmp_path, data.encode(), currency="EUR").report
    assert (report.format, report.confidence) == (name, 1.0)
    assert report.issues == []


def test_statement_fiat_buy_nets_the_fee_taken_from_the_coin(tmp_path: Path) -> None:
    """A buy for EUR whose fee Binance took in BTC records the BTC received and the fee in EUR."""
    ledger = import_bytes(tmp_path, STATEMENT.encode(), currency="EUR").ledger
    (buy,) = [t for t in ledger if t.type is TransactionType.BUY]
    assert (buy.quantity, buy.price, buy.fees, buy.currency) == (
        Decimal("0.00999"),
        Decimal(50000),
        Decimal("0.5"),
        "EUR",
    )
    assert buy.quantity * buy.price + buy.fees == 500  # type: ignore[operator]


def test_statement_crypto_trade_is_a_linked_conversion_with_the_bnb_fee_consumed(
    tmp_path: Path,
) -> None:
    """BTC sold for USDT is two conversion legs valued in USDT; the BNB fee is a sale at 0."""
    ledger = import_bytes(tmp_path, STATEMENT.encode(), currency="EUR").ledger
    legs = [t for t in ledger if t.type is TransactionType.CONVERSION]
    assert [(t.instrument.symbol if t.instrument else None, t.quantity) for t in legs] == [
        ("BTC", Decimal("-0.005")),
        ("USDT", Decimal(310)),
    ]
    assert legs[0].link == legs[1].link is not None
    assert {t.currency for t in legs} == {"USDT"}
    assert all(t.quantity is not None and t.price is not None for t in legs)
    assert abs(legs[0].quantity * legs[0].price) == legs[1].quantity * legs[1].price == 310  # type: ignore[operator]
    (fee,) = [t for t in ledger if t.type is TransactionType.SELL]
    assert (fee.instrument.symbol if fee.instrument else None, fee.quantity, fee.price) == (
        "BNB",
        Decimal("0.0005"),
        Decimal(0),
    )


def test_newest_first_statement_gives_the_same_entries(tmp_path: Path) -> None:
    """A statement written newest first imports the same entries as oldest first."""
    lines = STATEMENT.strip().split("\n")
    reversed_file = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    first = import_bytes(tmp_path / "a", STATEMENT.encode(), currency="EUR")
    second = import_bytes(tmp_path / "b", reversed_file.encode(), currency="EUR")

    def key(imported: Imported) -> list[tuple[str, ...]]:
        return sorted(
            tuple(str(v) for v in (t.type.value, t.traded_at, t.instrument, t.quantity, t.price))
            for t in imported.ledger
        )

    assert key(first) == key(second)


def test_reimport_adds_nothing_and_an_overlapping_export_adds_only_new_rows(
    tmp_path: Path,
) -> None:
    """Content fingerprints make a repeated or overlapping statement add only what is new."""
    (tmp_path / "db").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'ledger.db'}")
    migrate(engine)
    lines = STATEMENT.strip().split("\n")
    older = "\n".join(lines[:6]) + "\n"  # up to the 2024-03-03 reward
    newer = "\n".join([lines[0], *lines[2:]]) + "\n"  # from the 2024-03-02 trade on
    first = import_bytes(tmp_path, older.encode(), currency="EUR", engine=engine)
    assert first.report.added == 3  # the deposit, the BTC buy and the reward
    again = import_bytes(tmp_path, older.encode(), currency="EUR", engine=engine)
    assert again.report.added == 0
    overlap = import_bytes(tmp_path, newer.encode(), currency="EUR", engine=engine)
    # the BTC->USDT conversion (2 legs), its BNB fee and the USDT withdrawal, plus the
    # opening of unknown basis for the BNB the fee consumed; the buy and reward are known
    assert (overlap.report.added, len(overlap.report.opening_ids)) == (5, 1)
    assert overlap.report.duplicates == 2
    full = import_bytes(tmp_path, STATEMENT.encode(), currency="EUR", engine=engine)
    assert full.report.added == 0


def test_bad_change_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A change that is not a number refuses the import, naming its line and column."""
    data = STATEMENT.replace("0.00000100", "0.0000x100")
    report = import_bytes(tmp_path, data.encode(), currency="EUR").report
    assert report.added == 0
    assert [i.describe() for i in report.issues] == [
        "line 6, column 'Change': not a number: '0.0000x100'"
    ]


def test_bad_time_refuses_the_import_naming_line_and_column(tmp_path: Path) -> None:
    """A time that is not a date refuses the import, naming its line and column."""
    data = STATEMENT.replace("2024-03-05 14:00:00", "2024-13-05 14:00:00")
    report = import_bytes(tmp_path, data.encode(), currency="EUR").report
    assert report.added == 0
    assert [i.describe() for i in report.issues] == [
        "line 10, column 'UTC_Time': not a date and time: '2024-13-05 14:00:00'"
    ]


def test_unknown_operation_refuses_the_import(tmp_path: Path) -> None:
    """An operation the importer does not know refuses the import, naming it."""
    data = STATEMENT.replace("Simple Earn Flexible Interest", "Mystery Bonus")
    report = import_bytes(tmp_path, data.encode(), currency="EUR").report
    assert report.added == 0
    assert [i.describe() for i in report.issues] == [
        "line 6, column 'Operation': unknown Binance operation 'Mystery Bonus'"
    ]


def test_unsuccessful_auto_invest_period_is_skipped_with_its_status(tmp_path: Path) -> None:
    """An Auto-Invest period that did not succeed is reported as skipped, not bought."""
    data = (
        "Auto-Invest Date(UTC),Holding Coin,Amount per period,Trading Fee,Units,From,Status\n"
        "5/1/2022 14:00,ETH,10.00000000 USDT,0.00250000 USDT,0.01000000 ETH,Spot Wallet,Success\n"
        "6/1/2022 14:00,ETH,10.00000000 USDT,0 USDT,0 ETH,Spot Wallet,Failed\n"
    )
    report = import_bytes(tmp_path, data.encode()).report
    assert report.format == "binance-auto-invest"
    assert report.added - len(report.opening_ids) == 2  # the conversion's two legs
    assert report.notices.skipped == {
        "auto-invest period with status 'Failed': nothing was bought": [3]
    }


def test_auto_invest_in_fiat_is_a_buy_with_its_fee(tmp_path: Path) -> None:
    """Auto-Invest paid in EUR is a buy whose cost is the amount per period."""
    data = (
        "Auto-Invest Date(UTC),Holding Coin,Amount per period,Trading Fee,Units,From,Status\n"
        "5/1/2022 14:00,BTC,100.00 EUR,0.10 EUR,0.00300000 BTC,Spot Wallet,Success\n"
    )
    ledger = import_bytes(tmp_path, data.encode(), currency="EUR").ledger
    (buy,) = ledger
    assert buy.type is TransactionType.BUY
    assert (buy.quantity, buy.fees, buy.currency) == (Decimal("0.003"), Decimal("0.1"), "EUR")
    assert buy.quantity * buy.price + buy.fees == 100  # type: ignore[operator]


def test_trade_pair_that_cannot_be_split_is_refused(tmp_path: Path) -> None:
    """A market whose quote asset is unknown refuses the import, naming the column."""
    data = TRADES_MARKET.replace("DOGEUSDT", "DOGEXYZ")
    report = import_bytes(tmp_path, data.encode(), currency="EUR").report
    assert report.added == 0
    assert [i.describe() for i in report.issues] == [
        "line 4, column 'Market': cannot split the pair 'DOGEXYZ' into base and quote"
    ]


@pytest.mark.parametrize(
    ("pair", "split"),
    [
        ("BTCUSDT", ("BTC", "USDT")),
        ("ETHBTC", ("ETH", "BTC")),
        ("SOLFDUSD", ("SOL", "FDUSD")),
        ("BNBTUSD", ("BNB", "TUSD")),
        ("XRPEUR", ("XRP", "EUR")),
        ("ETH/BUSD", ("ETH", "BUSD")),
        ("USDTTRY", ("USDT", "TRY")),
    ],
)
def test_split_pair_takes_the_longest_known_quote_at_the_end(
    pair: str, split: tuple[str, str]
) -> None:
    """Pairs split at the longest known quote asset (FDUSD before USD, TUSD before USD)."""
    assert split_pair(pair) == split
