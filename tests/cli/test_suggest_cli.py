"""`quantdesk targets set/show` and `quantdesk suggest` as a user runs them."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta
from pathlib import Path

import pytest

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
        "cash_flow": "0",
        "concentration_limit": "0.25",
        "var_budget": "0.03",
        "account": None,
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


def _history(qd: Quantdesk) -> None:  # noqa: F811
    """VTI, QQQ and BND bought on 2026-06-01 with 120 weekday closes each since."""
    qd("accounts", "add", "Broker", "--kind", "brokerage")
    qd("accounts", "add", "IRA", "--kind", "retirement")
    trades = "date,type,symbol,quantity,price,fees,asset_type\n2026-06-01,buy,VTI,50,100,0,etf\n"
    trades += "2026-06-01,buy,QQQ,30,100,0,etf\n"
    qd("import", qd.file("t.csv", trades), "--account", "Broker")
    bonds = "date,type,symbol,quantity,price,fees,asset_type\n2026-06-01,buy,BND,20,100,0,etf\n"
    qd("import", qd.file("b.csv", bonds), "--account", "IRA")
    rows = ["date,symbol,close"]
    day, k = date(2026, 6, 1), 0
    while k < 120:
        if day.weekday() < 5:
            vti = 100 * (1 + 0.0006 * k + 0.02 * math.sin(k / 3))
            qqq = 100 * (1 + 0.0009 * k + 0.035 * math.sin(k / 2.5 + 1))
            bnd = 100 * (1 + 0.0001 * k + 0.004 * math.cos(k / 4))
            rows += [f"{day},VTI,{vti:.2f}", f"{day},QQQ,{qqq:.2f}", f"{day},BND,{bnd:.2f}"]
            k += 1
        day += timedelta(days=1)
    qd("prices", "import", qd.file("p.csv", "\n".join(rows) + "\n"))


def test_targets_options_and_suggest_orders(qd: Quantdesk, tmp_path: Path) -> None:  # noqa: F811
    _history(qd)
    qd(
        "targets",
        "set",
        "VTI=0.4",
        "QQQ=0.2",
        "BND=0.4",
        "--cash-flow",
        "1000",
        "--var-budget",
        "0.5",
    )
    assert ("1000", "0.5") == tuple(
        qd.json("targets", "show")[k] for k in ("cash_flow", "var_budget")
    )
    found = qd.json("suggest")
    assert all(t["effect"] is not None for t in found["rebalance"]["trades"])
    assert any("1,000" in n or "1000" in n for n in found["notes"]), found["notes"]
    orders = tmp_path / "orders.csv"
    shown = qd("suggest", "--orders", str(orders)).stdout
    assert "quantdesk places no order" in shown and "All trades together" in shown
    rows = list(csv.DictReader(io.StringIO(orders.read_text())))
    assert [(t["action"], t["symbol"]) for t in found["rebalance"]["trades"]] == [
        (r["action"], r["symbol"]) for r in rows
    ]


def test_optimize_prints_weights_and_writes_orders(qd: Quantdesk, tmp_path: Path) -> None:  # noqa: F811
    _history(qd)
    found = qd.json("optimize", "--objective", "min_volatility", "--period", "1Y")
    weights = {w["symbol"]: w["optimized"] for w in found["weights"]}
    assert {"BND", "QQQ", "VTI"} == set(weights)
    assert math.isclose(1.0, sum(weights.values()), abs_tol=1e-9)
    assert weights["BND"] == max(weights.values())  # the least volatile carries the most
    orders = tmp_path / "opt.csv"
    text = qd("optimize", "--objective", "hrp", "--period", "1Y", "--orders", str(orders)).stdout
    assert "Weights" in text and orders.read_text().startswith("source,account,action")
    refused = qd("optimize", "--max-weight", "0.2", "--period", "1Y", ok=False)
    assert 1 == refused.exit_code and "0.2" in refused.stderr


def test_a_summary_needs_a_configured_model(
    qd: Quantdesk,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QUANTDESK_LLM_BASE_URL", raising=False)
    _history(qd)
    qd("targets", "set", "etf=1")
    refused = qd("suggest", "--summary", ok=False)
    assert 1 == refused.exit_code and "QUANTDESK_LLM_BASE_URL" in refused.stderr


def test_an_account_keeps_targets_of_its_own(qd: Quantdesk) -> None:  # noqa: F811
    _history(qd)
    qd("targets", "set", "VTI=0.6", "QQQ=0.4")
    qd("targets", "set", "BND=0.5", "VTI=0.5", "--account", "IRA", "--min-trade", "1")
    shown = qd.json("targets", "show", "--account", "IRA")
    assert ("IRA", {"BND": "0.5", "VTI": "0.5"}) == (shown["account"], shown["weights"])
    found = qd.json("suggest")
    [ira] = found["account_plans"]
    assert {("IRA", "sell", "BND"), ("IRA", "buy", "VTI")} == {
        (t["account"], t["action"], t["symbol"]) for t in ira["trades"]
    }
    assert "IRA (its own targets)" in qd("suggest").stdout
    qd("targets", "clear", "--account", "IRA")
    # back under the portfolio's targets, which name no bond: said, not guessed
    uncovered = qd("suggest", ok=False)
    assert "holdings with no target: BND (etf)" in uncovered.stderr
    missing = qd("targets", "show", "--account", "Nowhere", ok=False)
    assert 1 == missing.exit_code and "no account named 'Nowhere'" in missing.stderr
