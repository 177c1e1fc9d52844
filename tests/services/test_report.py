"""The tear sheet: the analytics answer's numbers, the holdings and the day, as one
HTML file that needs no network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from quantdesk import bootstrap
from quantdesk.cli.app import app
from quantdesk.domain.errors import InvalidInput
from quantdesk.services import analytics, analytics_view, report
from quantdesk.store.unit_of_work import SqlUnitOfWork


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlUnitOfWork]:
    """The demo ledger (simulated market, a year of trades) of the default user."""
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'demo.db'}"
    result = CliRunner().invoke(app, ["--db", url, "demo"], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    engine = bootstrap.open_database(url)
    yield bootstrap.unit_of_work(engine)
    engine.dispose()


def self_contained(page: str) -> None:
    """Nothing in the page is fetched: no script, style sheet or image from elsewhere."""
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link\b", page)
    assert not re.search(r"<img\b", page)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", _outside_scripts(page))
    assert "@import" not in page


def _outside_scripts(page: str) -> str:
    """The page without its inline scripts (plotly.js mentions sites in its own text)."""
    return re.sub(r"<script>.*?</script>", "", page, flags=re.S)


def test_tearsheet_shows_every_number_of_the_analytics_answer(demo: SqlUnitOfWork) -> None:
    """Returns, ratios, drawdown, VaR and CVaR by every method and the gains are the
    analytics' own, formatted once."""
    sheet = report.build_tearsheet(demo, None, period="1Y", clock=bootstrap.utc_now)
    expected = analytics_view.analytics_json(
        analytics.analyze(demo, None, analytics.Options(period="1Y"), clock=bootstrap.utc_now)
    )
    assert sheet.analytics == expected
    page = sheet.html
    for key in ("twr", "twr_annualized", "mwr", "simple_return", "volatility", "alpha"):
        assert report.percent(expected[key]) in page, key
    for key in ("sharpe", "sortino", "calmar", "beta"):
        assert report.ratio(expected[key]) in page, key
    assert report.percent(expected["max_drawdown"]["value"]) in page
    assert f"trough {expected['max_drawdown']['trough']}" in page
    for kind in ("var", "cvar"):
        for method in ("historical", "parametric", "cornish_fisher", "monte_carlo"):
            for level in ("0.95", "0.99"):
                figure = expected[kind][method][level]
                assert report.money(figure["amount"]) in page
                assert report.percent(figure["fraction"]) in page
    for key in ("unrealized_gain", "realized_gain", "total_value"):
        assert report.money(expected[key]) in page
    assert 'title="Value at Risk: the loss' in page  # definitions on hover


def test_tearsheet_lists_the_holdings_as_of_its_day_with_charts(demo: SqlUnitOfWork) -> None:
    """The holdings table has every symbol held, the day is in the title and the header,
    and the charts are drawn by plotly.js inlined once."""
    sheet = report.build_tearsheet(demo, None, clock=bootstrap.utc_now)
    holdings = sheet.html.split('id="holdings"')[1]
    for symbol in ("VTSAX", "AAPL", "BTC", "SOL"):
        assert f">{symbol}</th>" in holdings
    day = bootstrap.utc_now().date().isoformat()
    assert sheet.as_of.isoformat() == day
    assert f"<title>quantdesk tear sheet as of {day}</title>" in sheet.html
    assert f'<time id="as-of" datetime="{day}">' in sheet.html
    assert sheet.filename == f"quantdesk-tearsheet-{day}.html"
    assert sheet.html.count('class="plotly-graph-div"') == 6
    assert sheet.html.count("plotly.js v") == 1  # the library's banner: included once
    self_contained(sheet.html)


def test_tearsheet_as_of_a_past_day_values_that_day(demo: SqlUnitOfWork) -> None:
    """As of a past day, the period ends then and the holdings are those of that day."""
    day = date.fromordinal(bootstrap.utc_now().date().toordinal() - 40)
    sheet = report.build_tearsheet(demo, None, period="3M", as_of=day, clock=bootstrap.utc_now)
    assert sheet.as_of == day
    assert sheet.analytics["end"] == day.isoformat()
    assert f"Holdings on {day.isoformat()}" in sheet.html


def test_six_months_and_max_are_periods_of_the_tearsheet(demo: SqlUnitOfWork) -> None:
    """6M starts six calendar months before the end; MAX is the whole ledger (ALL)."""
    today = bootstrap.utc_now().date()
    six = report.build_tearsheet(demo, None, period="6M", clock=bootstrap.utc_now)
    assert six.analytics["start"] == report.months_before(today, 6).isoformat()
    everything = report.build_tearsheet(demo, None, period="MAX", clock=bootstrap.utc_now)
    whole = analytics.analyze(demo, None, analytics.Options(period="ALL"), clock=bootstrap.utc_now)
    assert everything.analytics["start"] == whole.start.isoformat()
    assert "period MAX" in everything.html


def test_a_month_back_from_a_long_month_ends_on_the_shorter_month_end() -> None:
    """Six months before August 31st is the last day of February."""
    assert report.months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert report.months_before(date(2026, 3, 15), 6) == date(2025, 9, 15)


def test_unknown_period_future_day_and_blank_benchmark_are_refused() -> None:
    """A bad request is a clear InvalidInput, not a tear sheet of something else."""
    today = date(2026, 12, 6)
    with pytest.raises(InvalidInput, match="unknown period"):
        report.tearsheet_options("2W", "SPY", None, today=today)
    with pytest.raises(InvalidInput, match="future"):
        report.tearsheet_options("1Y", "SPY", date(2026, 12, 7), today=today)
    with pytest.raises(InvalidInput, match="benchmark"):
        report.tearsheet_options("1Y", "  ", None, today=today)


def test_a_benchmark_that_is_no_symbol_is_refused(demo: SqlUnitOfWork) -> None:
    """Markup as a benchmark never reaches the document: it is refused as no symbol."""
    with pytest.raises(InvalidInput, match="not a valid symbol"):
        report.build_tearsheet(demo, None, benchmark="<b>X", clock=bootstrap.utc_now)
