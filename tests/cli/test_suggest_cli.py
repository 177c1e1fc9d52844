"""`quantdesk targets set/show` and `quantdesk suggest` as a user runs them."""

from __future__ import annotations

from tests.cli.test_cli import Quantdesk, qd  # noqa: F401 - the fixture

TRADES = (
    "date,type,symbol,quantity,price,fees,asset_type\n"
    "2026-01-05,buy,VTI,70,100,0,etf\n"
    "2026-01-05,buy,BND,30,100,0,bond\n"
)
PRICES = "date,symbol,close\n2026-11-20,VTI,100\n2026-11-20,BND,80\n"


def _portfolio(qd: Quantdesk) -> None:  # noqa: F811
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    qd("import", qd.file("t.csv", TRADES), "--account", "Broker")
    qd("prices", "import", qd.file("p.csv", PRICES))


def test_targets_set_and_show(qd: Quantdesk) -> None:  # noqa: F811
    assert {} == qd.json("targets", "show")["weights"]
    qd("targets", "set", "etf=0.6", "bond=0.3", "aapl=0.1", "--band", "0.03", "--min-trade", "25")
    assert {
        "weights": {"AAPL": "0.1", "bond": "0.3", "etf": "0.6"},
        "by_class": {"bond": "0.3", "etf": "0.6"},
        "by_symbol": {"AAPL": "0.1"},
        "band": "0.03",
        "min_trade": "25",
    } == qd.json("targets", "show")
    shown = qd("targets", "show").stdout
    assert "asset class" in shown and "AAPL" in shown


def test_bad_weights_are_refused_naming_the_sum(qd: Quantdesk) -> None:  # noqa: F811
    refused = qd("targets", "set", "etf=0.6", "bond=0.3", ok=False)
    assert 1 == refused.exit_code
    assert "target weights sum to 0.9, not 1" in refused.stderr
    assert 2 == qd("targets", "set", "etf", ok=False).exit_code


def test_suggest_json_trades_and_harvests(qd: Quantdesk) -> None:  # noqa: F811
    _portfolio(qd)
    qd("targets", "set", "etf=0.6", "bond=0.4")
    found = qd.json("suggest", "--as-of", "2026-11-24")
    assert [("sell", "VTI", "1360"), ("buy", "BND", "1360")] == [
        (t["action"], t["symbol"], t["value"]) for t in found["rebalance"]["trades"]
    ]
    assert all(t["rationale"] for t in found["rebalance"]["trades"])
    [candidate] = found["harvest"]["candidates"]
    assert ("BND", "600", "222") == (
        candidate["symbol"],
        candidate["loss"],
        candidate["tax_saved"],
    )
    text = qd("suggest", "--as-of", "2026-11-24").stdout
    assert "Tax-loss harvesting" in text and "VTI" in text
