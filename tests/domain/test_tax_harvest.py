"""Tax-loss harvesting: IRS Publication 550 wash-sale examples and harvest candidates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.instruments import AssetType, InstrumentKey
from quantdesk.domain.lots import Term, replay
from quantdesk.domain.tax_harvest import (
    CRYPTO_NOTE,
    AcquisitionKind,
    HarvestReport,
    Purchase,
    Replacement,
    SkipReason,
    TaxRates,
    acquisitions,
    harvest_candidates,
    replacements_for,
    wash_sale,
)
from quantdesk.domain.transactions import Transaction
from tests.builders import AAPL, BTC, D, trade

X = InstrumentKey("X", AssetType.STOCK)
VTI = InstrumentKey("VTI", AssetType.ETF)
AS_OF = date(2024, 6, 30)
RATES = TaxRates(short_term=D("0.35"), long_term=D("0.15"))
SALE_DAY = date(2024, 3, 1)


def _harvest(
    ledger: list[Transaction],
    prices: dict[InstrumentKey, Decimal],
    *,
    min_loss: str = "0",
    as_of: date = AS_OF,
    correlations: dict[str, dict[str, Decimal]] | None = None,
) -> HarvestReport:
    lots = replay(ledger).open_lots()
    return harvest_candidates(
        lots,
        prices,
        ledger,
        as_of=as_of,
        min_loss=D(min_loss),
        rates=RATES,
        correlations=correlations,
    )


def _days_before(days: int) -> str:
    return (AS_OF - timedelta(days=days)).isoformat()


# --- IRS Publication 550, wash sales ---------------------------------------------------


def test_pub550_example_1_whole_loss_disallowed_and_added_to_new_basis() -> None:
    """Buy 100 X for $1,000, sell for $750, buy 100 X for $800 within 30 days: the $250
    loss is disallowed; the new stock's basis is $1,050."""
    result = wash_sale(
        units=D("100"),
        proceeds=D("750"),
        basis=D("1000"),
        sale_date=SALE_DAY,
        purchases=[Purchase(SALE_DAY + timedelta(days=10), D("100"), D("800"))],
    )
    assert result.loss == D("250")
    assert result.is_wash_sale
    assert result.washed_units == D("100")
    assert result.disallowed_loss == D("250")
    assert result.deductible_loss == D("0")
    (adjustment,) = result.adjustments
    assert adjustment.matched_units == D("100")
    assert adjustment.disallowed_loss == D("250")
    assert adjustment.adjusted_cost == D("1050")


def test_pub550_example_2_partial_wash_sale() -> None:
    """Buy 100 X for $1,000, sell for $750, buy 50 X for $400 within 30 days: $125 of
    the loss (50 shares) is disallowed, $125 is deductible; the new basis is $525."""
    result = wash_sale(
        units=D("100"),
        proceeds=D("750"),
        basis=D("1000"),
        sale_date=SALE_DAY,
        purchases=[Purchase(SALE_DAY + timedelta(days=20), D("50"), D("400"))],
    )
    assert result.washed_units == D("50")
    assert result.disallowed_loss == D("125")
    assert result.deductible_loss == D("125")
    (adjustment,) = result.adjustments
    assert adjustment.matched_units == D("50")
    assert adjustment.adjusted_cost == D("525")


def test_wash_sale_window_is_30_days_either_side() -> None:
    def disallowed(offset: int) -> Decimal:
        purchase = Purchase(SALE_DAY + timedelta(days=offset), D("100"), D("800"))
        return wash_sale(
            units=D("100"),
            proceeds=D("750"),
            basis=D("1000"),
            sale_date=SALE_DAY,
            purchases=[purchase],
        ).disallowed_loss

    assert disallowed(-30) == D("250")
    assert disallowed(30) == D("250")
    assert disallowed(-31) == D("0")
    assert disallowed(31) == D("0")


def test_wash_sale_matches_purchases_in_order_until_sold_units_run_out() -> None:
    later = Purchase(SALE_DAY + timedelta(days=5), D("80"), D("640"))
    earlier = Purchase(SALE_DAY - timedelta(days=5), D("40"), D("320"))
    result = wash_sale(
        units=D("100"),
        proceeds=D("750"),
        basis=D("1000"),
        sale_date=SALE_DAY,
        purchases=[later, earlier],
    )
    assert [(a.purchase, a.matched_units) for a in result.adjustments] == [
        (earlier, D("40")),
        (later, D("60")),
    ]
    assert [a.disallowed_loss for a in result.adjustments] == [D("100"), D("150")]
    assert result.disallowed_loss == D("250")


def test_a_gain_is_never_a_wash_sale() -> None:
    result = wash_sale(
        units=D("100"),
        proceeds=D("1200"),
        basis=D("1000"),
        sale_date=SALE_DAY,
        purchases=[Purchase(SALE_DAY, D("100"), D("800"))],
    )
    assert result.loss == D("0")
    assert not result.is_wash_sale
    assert result.adjustments == ()


def test_wash_sale_rejects_a_sale_of_no_units() -> None:
    with pytest.raises(InvalidInput):
        wash_sale(units=D("0"), proceeds=D("0"), basis=D("1"), sale_date=SALE_DAY, purchases=[])


# --- harvest candidates ---------------------------------------------------------------


def test_only_losses_above_the_threshold_are_candidates() -> None:
    ledger = [
        trade("buy", "2024-01-02", "10", "100", account="A", id=1),  # loss 200
        trade("buy", "2024-01-03", "10", "100", instrument=VTI, account="A", id=2),  # loss 100
        trade("buy", "2024-01-04", "10", "100", instrument=X, account="A", id=3),  # loss 99
    ]
    prices = {AAPL: D("80"), VTI: D("90"), X: D("90.1")}
    report = _harvest(ledger, prices, min_loss="100")
    assert [c.lot.instrument for c in report.candidates] == [AAPL]  # 100 is not above 100
    (candidate,) = report.candidates
    assert candidate.units == D("10")
    assert candidate.loss == D("200")
    assert candidate.market_value == D("800")
    assert candidate.term is Term.SHORT
    assert candidate.tax_saved == D("70")  # 200 x 0.35
    assert candidate.conflicts == ()
    assert not candidate.wash.is_wash_sale
    assert candidate.tax_saved_now == D("70")
    assert report.total_loss == D("200")


def test_gains_are_not_candidates() -> None:
    ledger = [trade("buy", "2024-01-02", "10", "100", id=1)]
    assert _harvest(ledger, {AAPL: D("120")}).candidates == ()


def test_exactly_one_year_is_short_term_a_day_more_is_long() -> None:
    """Publication 550: the holding period starts the day after acquisition, so a sale
    on the first anniversary is short term, the day after long term."""
    ledger = [
        trade("buy", "2023-06-30", "10", "100", account="A", id=1),  # one year to AS_OF
        trade("buy", "2023-06-29", "10", "100", account="B", id=2),  # a day more
    ]
    report = _harvest(ledger, {AAPL: D("50")})
    terms = {c.lot.account: (c.term, c.tax_saved) for c in report.candidates}
    assert terms == {"A": (Term.SHORT, D("175")), "B": (Term.LONG, D("75"))}


def test_drip_reinvestment_10_days_ago_in_another_account_is_a_conflict() -> None:
    ledger = [
        trade("buy", "2023-01-10", "100", "10", account="Taxable", id=1),
        trade("dividend", _days_before(10), "2", "7", amount="14", account="IRA", id=2),
    ]
    report = _harvest(ledger, {AAPL: D("7")})
    (candidate,) = [c for c in report.candidates if c.lot.account == "Taxable"]
    (conflict,) = candidate.conflicts
    assert conflict.account == "IRA"
    assert conflict.kind is AcquisitionKind.REINVESTED_DIVIDEND
    assert conflict.quantity == D("2")
    # loss 300 on 100 units; 2 units washed: 6 disallowed, added to the DRIP shares' basis
    assert candidate.wash.washed_units == D("2")
    assert candidate.wash.disallowed_loss == D("6")
    assert candidate.wash.adjustments[0].adjusted_cost == D("20")
    assert candidate.tax_saved_now == D("294") * D("0.15")
    assert candidate.buyback_window_closes == date(2024, 7, 30)
    assert any("wash sale" in note for note in candidate.notes)


def test_a_buy_31_days_ago_is_not_a_conflict_but_30_days_is() -> None:
    ledger = [
        trade("buy", "2023-01-10", "100", "10", account="A", id=1),
        trade("buy", _days_before(31), "5", "8", account="B", id=2),
    ]
    report = _harvest(ledger, {AAPL: D("7")})
    assert all(c.conflicts == () for c in report.candidates)

    ledger[1] = trade("buy", _days_before(30), "5", "8", account="B", id=2)
    report = _harvest(ledger, {AAPL: D("7")})
    (old,) = [c for c in report.candidates if c.lot.lot_id == 1]
    assert [p.ref for p in old.conflicts] == [2]


def test_a_lot_bought_recently_does_not_conflict_with_itself() -> None:
    ledger = [trade("buy", _days_before(5), "10", "100", id=1)]
    (candidate,) = _harvest(ledger, {AAPL: D("90")}).candidates
    assert candidate.conflicts == ()


def test_an_outside_transfer_in_counts_on_its_acquisition_date_internal_moves_do_not() -> None:
    ledger = [
        trade("buy", "2023-01-10", "100", "10", account="A", id=1),
        # moved between the user's accounts: not a purchase
        trade("transfer_out", _days_before(3), "50", account="A", link="m", id=2),
        trade("transfer_in", _days_before(3), "50", account="B", link="m", id=3),
        # arrived from another broker, bought 5 days ago: a purchase
        trade(
            "transfer_in",
            _days_before(1),
            "4",
            "9",
            account="C",
            acquired_on=_days_before(5),
            id=4,
        ),
        # arrived now, bought long ago: not in the window
        trade(
            "transfer_in", _days_before(1), "3", "9", account="C", acquired_on="2020-01-01", id=5
        ),
    ]
    kinds = {p.ref: p.kind for p in acquisitions(ledger)}
    assert kinds == {
        1: AcquisitionKind.BUY,
        4: AcquisitionKind.TRANSFER_IN,
        5: AcquisitionKind.TRANSFER_IN,
    }
    report = _harvest(ledger, {AAPL: D("7")})
    (from_a,) = [c for c in report.candidates if c.lot.lot_id == 1 and c.lot.account == "A"]
    assert [p.ref for p in from_a.conflicts] == [4]


def test_crypto_is_flagged() -> None:
    ledger = [trade("buy", "2024-01-02", "1", "60000", instrument=BTC, id=1)]
    (candidate,) = _harvest(ledger, {BTC: D("40000")}).candidates
    assert candidate.is_crypto
    assert CRYPTO_NOTE in candidate.notes
    assert "crypto" in CRYPTO_NOTE and "jurisdiction" in CRYPTO_NOTE


def test_replacements_exclude_the_same_symbol_and_sort_by_correlation() -> None:
    correlations = {
        "AAPL": {
            "AAPL": D("1"),
            "QQQ": D("0.91"),
            "XLK": D("0.95"),
            "MSFT": D("0.9"),
            "SPY": D("0.85"),
        }
    }
    ledger = [trade("buy", "2024-01-02", "10", "100", id=1)]
    (candidate,) = _harvest(ledger, {AAPL: D("80")}, correlations=correlations).candidates
    assert candidate.replacements == (
        Replacement("XLK", D("0.95")),
        Replacement("QQQ", D("0.91")),
        Replacement("MSFT", D("0.9")),
    )
    assert [r.symbol for r in replacements_for("AAPL", correlations, D("0.92"))] == ["XLK"]
    assert replacements_for("AAPL", None) == ()


def test_lots_without_price_or_basis_are_skipped_not_guessed() -> None:
    ledger = [
        trade("buy", "2024-01-02", "10", "100", id=1),
        trade("buy", "2024-01-02", "10", "100", instrument=VTI, id=2),
    ]
    report = _harvest(ledger, {AAPL: D("80")})
    assert [c.lot.instrument for c in report.candidates] == [AAPL]
    assert [(s.lot.instrument, s.reason) for s in report.skipped] == [(VTI, SkipReason.NO_PRICE)]


def test_candidates_are_sorted_largest_loss_first() -> None:
    ledger = [
        trade("buy", "2024-01-02", "10", "100", id=1),
        trade("buy", "2024-01-02", "10", "100", instrument=VTI, id=2),
    ]
    report = _harvest(ledger, {AAPL: D("95"), VTI: D("50")})
    assert [c.lot.instrument for c in report.candidates] == [VTI, AAPL]
    assert report.total_loss == D("550")  # 500 + 50
    assert report.total_tax_saved == D("192.5")
