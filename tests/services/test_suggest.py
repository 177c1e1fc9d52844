"""Targets and suggestions from the ledger: stored per user, validated by the rebalancing
engine's rules, and turned into trades and harvest candidates on every backend."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from quantdesk.domain.errors import InvalidInput
from quantdesk.domain.rebalance import Action
from quantdesk.services import portfolio, suggest
from quantdesk.services.import_file import ImportOptions, import_stream
from quantdesk.store.unit_of_work import SqlUnitOfWork
from tests.conftest import NOW, clock

D = Decimal
BROKER = (
    b"date,type,symbol,quantity,price,asset_type\n"
    b"2026-01-05,buy,VTI,70,100,etf\n"
    b"2026-01-05,buy,BND,30,100,bond\n"
)
IRA = b"date,type,symbol,quantity,price,asset_type\n2026-01-05,buy,BND,10,100,bond\n"
# VTI 70 x 100 = 7000; BND 40 x 80 = 3200: etf 68.6%, bonds 31.4% of 10200
CLOSES = b"date,symbol,close\n2026-11-20,VTI,100\n2026-11-20,BND,80\n"


def _ledger(uow: SqlUnitOfWork) -> None:
    for name, kind, trades in (("Broker", "brokerage", BROKER), ("IRA", "retirement", IRA)):
        portfolio.add_account(uow, name, kind=kind, institution=None, currency="USD", clock=clock)
        report = import_stream(
            uow, io.BytesIO(trades), "t.csv", ImportOptions(account=name), clock=clock
        )
        assert report.ok
    portfolio.import_price_stream(uow, io.BytesIO(CLOSES), clock=clock)


def test_targets_are_stored_and_read_back(uow: SqlUnitOfWork) -> None:
    """Lower-case asset types are classes, other keys symbols (upper-cased); the band and
    minimum trade come back exactly; a new set replaces the old one whole."""
    assert not suggest.show_targets(uow).is_set
    suggest.set_targets(
        uow, {"etf": D("0.5"), "bond": D("0.3"), " aapl ": D("0.2")}, D("0.03"), D(25), clock=clock
    )
    found = suggest.show_targets(uow)
    assert {"etf": D("0.5"), "bond": D("0.3")} == found.by_class
    assert {"AAPL": D("0.2")} == found.by_symbol
    assert (D("0.03"), D(25)) == (found.band, found.min_trade)
    suggest.set_targets(uow, {"etf": D(1)}, clock=clock)
    found = suggest.show_targets(uow)
    assert ({"etf": D(1)}, {}, D("0.05"), D(50)) == (
        found.by_class,
        found.by_symbol,
        found.band,
        found.min_trade,
    )


@pytest.mark.parametrize(
    ("weights", "says"),
    [
        ({"etf": D("0.6"), "bond": D("0.3")}, "target weights sum to 0.9, not 1"),
        ({"etf": D("1.2"), "bond": D("-0.2")}, "negative"),
        ({"cash": D(1)}, "cash is not a target"),
        ({"etf": "lots"}, "not a number"),
        ({}, "no targets given"),
    ],
)
def test_bad_weights_are_refused_and_nothing_is_stored(
    uow: SqlUnitOfWork, weights: dict[str, Decimal], says: str
) -> None:
    suggest.set_targets(uow, {"etf": D(1)}, clock=clock)
    with pytest.raises(InvalidInput, match=says):
        suggest.set_targets(uow, weights, clock=clock)
    assert {"etf": D(1)} == suggest.show_targets(uow).weights


def test_suggestions_need_targets(uow: SqlUnitOfWork) -> None:
    _ledger(uow)
    with pytest.raises(InvalidInput, match="no targets set"):
        suggest.suggestions(uow, clock=clock)


def test_a_drifted_portfolio_sells_the_overweight_and_buys_the_underweight(
    uow: SqlUnitOfWork,
) -> None:
    """etf 68.6% against 60% sells VTI; bonds 31.4% against 40% buy BND, each trade with
    its rationale; the retirement account's BND lot at a loss is no harvest candidate,
    the taxable one (30 x 20 = 600 above 100) is, at the short-term rate."""
    _ledger(uow)
    suggest.set_targets(uow, {"etf": D("0.6"), "bond": D("0.4")}, clock=clock)
    found = suggest.suggestions(uow, clock=clock)
    assert NOW.date() == found.as_of
    trades = [(t.action, t.symbol, t.bucket, t.value) for t in found.plan.trades]
    assert [
        (Action.SELL, "VTI", "etf", D("880")),
        (Action.BUY, "BND", "bond", D("880")),
    ] == trades
    sell, buy = found.plan.trades
    assert "etf is 68.6% against a 60% target" in sell.rationale
    assert "Broker" == sell.account
    assert buy.rationale
    [candidate] = found.harvest.candidates
    assert ("Broker", "BND", D(600)) == (
        candidate.lot.account,
        candidate.lot.instrument.symbol,
        candidate.loss,
    )
    assert D("0.37") * D(600) == candidate.tax_saved
    assert () == found.notes


def test_a_higher_loss_threshold_leaves_no_candidate(uow: SqlUnitOfWork) -> None:
    _ledger(uow)
    suggest.set_targets(uow, {"etf": D("0.6"), "bond": D("0.4")}, clock=clock)
    found = suggest.suggestions(uow, clock=clock, min_loss=D(600))
    assert () == found.harvest.candidates


def test_a_holding_without_a_target_is_refused(uow: SqlUnitOfWork) -> None:
    _ledger(uow)
    suggest.set_targets(uow, {"etf": D(1)}, clock=clock)
    with pytest.raises(InvalidInput, match="holdings with no target: BND"):
        suggest.suggestions(uow, clock=clock)


def test_an_account_marked_tax_advantaged_is_neither_harvested_nor_taxed(
    uow: SqlUnitOfWork,
) -> None:
    """The brokerage account marked tax-advantaged (an HSA, say): its BND lot at a loss is
    no harvest candidate, and its VTI sale realizes no taxable gain."""
    _ledger(uow)
    with uow() as store:
        broker = store.account("Broker")
        assert broker.id is not None
        store.update_account(broker.id, {"taxable": False})
    suggest.set_targets(uow, {"etf": D("0.6"), "bond": D("0.4")}, clock=clock)
    found = suggest.suggestions(uow, clock=clock)
    assert () == found.harvest.candidates
    sell = found.plan.trades[0]
    assert ("Broker", D(0), ()) == (sell.account, sell.realized_gain, sell.lots)


def test_cash_to_invest_goes_to_the_largest_taxable_account_and_is_said(
    uow: SqlUnitOfWork,
) -> None:
    _ledger(uow)
    suggest.set_targets(uow, {"etf": D("0.6"), "bond": D("0.4")}, cash_flow=D(1800), clock=clock)
    found = suggest.suggestions(uow, clock=clock)
    # T = 10200 + 1800 = 12000: etf 7000 (58.3%) is inside its band; bond 3200 (26.7%)
    # buys 4800 - 3200 = 1600, and the 200 left tops etf up toward 60% (inside its band)
    assert ("1800 invested in Broker (its largest account)",) == found.notes
    assert [("buy", "BND", D(1600)), ("buy", "VTI", D(200))] == [
        (t.action.value, t.symbol, t.value) for t in found.plan.trades
    ]
    assert D(12000) == found.plan.total
