"""`quantdesk analytics` and `quantdesk history` on the demo ledger (simulated market)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from quantdesk.cli.app import app

KEYS = {
    "total_value", "total_cost_basis", "unrealized_gain", "realized_gain", "twr",
    "twr_annualized", "mwr", "volatility", "sharpe", "sortino", "calmar", "beta", "alpha",
    "max_drawdown", "var", "cvar", "correlation", "contributions", "observations",
    "annualization", "calendar", "benchmark", "risk_free", "warnings", "simple_return",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    result = CliRunner().invoke(app, ["--db", url, "demo"], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    return ["--db", url]


def run(demo: list[str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, [*demo, *args], catch_exceptions=False)
    assert code == result.exit_code, result.output
    return result


def test_analytics_json_has_every_metric_of_the_contract(demo: list[str]) -> None:
    """The JSON carries the documented keys, VaR by method then confidence, money as text."""
    data = json.loads(run(demo, "analytics", "--period", "1Y", "--json").stdout)
    assert KEYS <= set(data)
    assert {"historical", "parametric", "cornish_fisher", "monte_carlo"} == set(data["var"])
    assert {"0.95", "0.99"} == set(data["var"]["historical"])
    figure = data["var"]["historical"]["0.95"]
    assert figure["fraction"] > 0 and float(figure["amount"]) > 0  # a loss, as a positive
    assert data["max_drawdown"]["value"] < 0
    assert (365, "daily") == (data["annualization"], data["calendar"])  # the demo holds coins
    assert len(data["correlation"]["symbols"]) == len(data["correlation"]["matrix"])


def test_explain_shows_the_flows_behind_the_returns(demo: list[str]) -> None:
    """--explain lists every flow and the sub-periods whose chain is the TWR."""
    data = json.loads(run(demo, "analytics", "--explain", "--json").stdout)
    growth = 1.0
    for period in data["explain"]["sub_periods"]:
        growth *= 1 + period["return"]
    assert pytest.approx(data["twr"], rel=1e-9) == growth - 1
    assert data["explain"]["flows"]


def test_history_series_ends_at_the_reported_value(demo: list[str]) -> None:
    """The daily series' last value is the analytics' total value."""
    rows = json.loads(run(demo, "history", "--period", "3M", "--json").stdout)
    data = json.loads(run(demo, "analytics", "--period", "3M", "--json").stdout)
    assert rows[-1]["value"] == data["total_value"]
    assert 0.0 == rows[0]["cumulative_return"]
    assert all(r["drawdown"] <= 0 for r in rows)


def test_what_if_reports_both_sides_without_saving(demo: list[str]) -> None:
    """--what-if gives current and hypothetical metrics; positions stay as they were."""
    before = run(demo, "positions", "--json").stdout
    data = json.loads(run(demo, "analytics", "--what-if", "BTC=+1", "--json").stdout)
    assert [data["what_if"]["quantities"]["BTC"][0] + 1] == [
        data["what_if"]["quantities"]["BTC"][1]
    ]
    assert data["what_if"]["hypothetical"]["volatility"] > data["what_if"]["current"]["volatility"]
    assert before == run(demo, "positions", "--json").stdout


def test_bad_options_are_clear_errors(demo: list[str]) -> None:
    """An unknown period or a confidence out of range is refused with the reason."""
    assert "unknown period" in run(demo, "analytics", "--period", "2W", code=1).output
    assert "confidence" in run(demo, "analytics", "--confidence", "95", code=1).output
    assert "not in this portfolio" in run(demo, "analytics", "--what-if", "ZZZ=+1", code=1).output


def test_table_output_names_each_methods_definition(demo: list[str]) -> None:
    """The table says how each number is defined (the tooltips' text)."""
    text = run(demo, "analytics", "--period", "YTD").stdout
    assert "Time-weighted" in text and "Money-weighted" in text and "XIRR" in text


def test_history_carries_rolling_volatility_sharpe_and_beta(demo: list[str]) -> None:
    """Rolling 63- and 252-return series are null until their window is full."""
    rows = json.loads(run(demo, "history", "--period", "3Y", "--json").stdout)
    assert {} == rows[0]["rolling"]
    assert rows[62]["rolling"]["volatility_63"] is None
    assert rows[63]["rolling"]["volatility_63"] > 0
    assert rows[-1]["rolling"]["beta_252"] is not None


def test_one_asset_class_is_its_own_scope(demo: list[str]) -> None:
    """--asset-class crypto measures the coins alone, on the daily calendar."""
    data = json.loads(run(demo, "analytics", "--asset-class", "crypto", "--json").stdout)
    assert {"BTC", "ETH", "SOL"} == set(data["correlation"]["symbols"])
    assert (365, "crypto") == (data["annualization"], data["asset_class"])
    assert "asset type" in run(demo, "analytics", "--asset-class", "gold", code=1).output
