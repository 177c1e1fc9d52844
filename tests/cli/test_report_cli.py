"""`quantdesk report --html FILE`: the tear sheet of the demo ledger, written offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from quantdesk.cli.app import app
from quantdesk.services import report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    result = CliRunner().invoke(app, ["--db", url, "demo"], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    return ["--db", url]


def run(demo: list[str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*demo, *args], catch_exceptions=False)
    assert code == result.exit_code, result.output
    return result.output


def test_report_writes_the_analytics_numbers_and_holdings(demo: list[str], tmp_path: Path) -> None:
    """The file has the numbers `analytics --json` prints, the holdings and a chart."""
    target = tmp_path / "sheet.html"
    said = run(demo, "report", "--html", str(target), "--period", "1Y", "--benchmark", "SPY")
    data = json.loads(run(demo, "analytics", "--period", "1Y", "--json"))
    page = target.read_text(encoding="utf-8")
    assert f"as of {data['end']} written to" in said
    assert f'<time id="as-of" datetime="{data["end"]}">' in page
    for key in ("twr", "mwr", "volatility", "simple_return"):
        assert report.percent(data[key]) in page, key
    assert report.ratio(data["sharpe"]) in page
    assert report.money(data["var"]["historical"]["0.99"]["amount"]) in page
    assert report.money(data["cvar"]["monte_carlo"]["0.95"]["amount"]) in page
    assert report.money(data["unrealized_gain"]) in page
    assert ">VTSAX</th>" in page and ">NVDA</th>" in page
    assert 'class="plotly-graph-div"' in page
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", page)  # reads offline


def test_report_as_of_a_day_names_that_day(demo: list[str], tmp_path: Path) -> None:
    """--as-of ends the period on that day; --period 6M and MAX are understood."""
    target = tmp_path / "old.html"
    run(demo, "report", "--html", str(target), "--period", "6M", "--as-of", "2026-10-01")
    page = target.read_text(encoding="utf-8")
    assert "Holdings on 2026-10-01" in page
    assert "period 6M (2026-04-01 to 2026-10-01)" in page
    run(demo, "report", "--html", str(target), "--period", "MAX")
    assert "period MAX" in target.read_text(encoding="utf-8")


def test_report_refuses_a_bad_period_or_day_and_writes_nothing(
    demo: list[str], tmp_path: Path
) -> None:
    """An unknown period or a malformed day is an error and no file appears."""
    target = tmp_path / "none.html"
    said = run(demo, "report", "--html", str(target), "--period", "2W", code=1)
    assert "unknown period" in said
    said = run(demo, "report", "--html", str(target), "--as-of", "yesterday", code=2)
    assert "YYYY-MM-DD" in said
    assert not target.exists()
