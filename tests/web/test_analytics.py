"""The analytics page in a real browser: the period and benchmark pickers drive the
metric panel and the charts, metrics explain themselves on hover, and the tear sheet
downloads as one HTML file that reads offline."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import ARTIFACTS, sign_in

CHARTS = (
    "Correlation heatmap",
    "Risk contribution by holding",
    "Daily return histogram",
    "Rolling volatility",
    "Rolling sharpe",
    "Rolling beta",
)


def open_analytics(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
    expect(page.get_by_test_id("metric-twr")).not_to_contain_text("…")
    expect(page.get_by_test_id("period-label")).to_contain_text("daily returns")


def test_changing_the_period_updates_the_metrics_and_charts_render(page: Page) -> None:
    """Picking 3M changes the period label and the return shown; every chart draws."""
    open_analytics(page)
    period = page.get_by_role("radiogroup", name="Period")
    expect(period.get_by_role("radio", name="1Y")).to_have_attribute("aria-checked", "true")
    label = page.get_by_test_id("period-label")
    year_return = page.get_by_test_id("metric-twr").locator(".value").inner_text()
    year_label = label.inner_text()
    for name in CHARTS:
        expect(page.get_by_role("img", name=name).locator("svg").first).to_be_visible()
    period.get_by_role("radio", name="3M").click()
    expect(label).not_to_have_text(year_label)
    expect(label).to_contain_text("3M")
    expect(page.get_by_test_id("metric-twr").locator(".value")).not_to_have_text(year_return)
    expect(page.get_by_test_id("var-monte_carlo-0.99")).to_contain_text("$")
    expect(page.get_by_test_id("cvar-historical-0.95")).to_contain_text("%")
    for name in CHARTS:
        expect(page.get_by_role("img", name=name).locator("svg").first).to_be_visible()
    histogram = page.get_by_role("img", name="Daily return histogram")
    expect(histogram).to_contain_text("VaR 95%")  # the VaR and CVaR lines' legend
    expect(histogram).to_contain_text("CVaR 95%")


def test_six_months_and_max_are_offered_and_answered(page: Page) -> None:
    """6M and MAX, which the engine names otherwise, give their own spans."""
    open_analytics(page)
    period = page.get_by_role("radiogroup", name="Period")
    label = page.get_by_test_id("period-label")
    period.get_by_role("radio", name="6M").click()
    expect(label).to_contain_text("6M")
    expect(label).not_to_contain_text("updating")
    six = label.inner_text()
    period.get_by_role("radio", name="MAX").click()
    expect(label).to_contain_text("MAX")
    expect(label).not_to_contain_text("updating")
    assert six.split("·")[1] != label.inner_text().split("·")[1]  # another span of days


def test_hovering_a_metric_shows_its_definition(page: Page) -> None:
    """Each metric, VaR cell and chart carries its definition as a hover title."""
    open_analytics(page)
    sortino = page.get_by_test_id("metric-sortino")
    sortino.hover()
    expect(sortino).to_have_attribute("title", re.compile("downside deviation"))
    expect(page.get_by_test_id("metric-max_drawdown_dates")).to_have_attribute(
        "title", re.compile("Recovered")
    )
    expect(page.get_by_test_id("var-cornish_fisher-0.95")).to_have_attribute(
        "title", re.compile("Value at Risk.*Cornish-Fisher")
    )
    for key in ("twr", "mwr", "calmar", "beta", "alpha", "realized_gain", "unrealized_gain"):
        expect(page.get_by_test_id(f"metric-{key}")).to_have_attribute("title", re.compile(r"\w+"))


def test_an_unknown_benchmark_is_explained_to_the_user(page: Page) -> None:
    """A benchmark without closes says why beta is missing; a malformed one is refused."""
    open_analytics(page)
    field = page.get_by_role("combobox", name="Benchmark")
    field.fill("zzznope")
    field.press("Enter")
    problem = page.get_by_role("status", name="Benchmark problem")
    expect(problem).to_contain_text("ZZZNOPE")
    expect(page.get_by_test_id("metric-beta").locator(".value")).to_have_text("—")
    page.troubles.expect_failure("benchmark=B%40D")  # type: ignore[attr-defined]
    field.fill("b@d")
    field.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not a valid symbol")
    field.fill("QQQ")
    field.press("Enter")
    expect(page.get_by_test_id("metric-beta").locator(".value")).not_to_have_text("—")
    expect(page.get_by_test_id("period-label")).to_contain_text("benchmark QQQ")


def test_the_tear_sheet_downloads_and_reads_offline(page: Page) -> None:
    """The link saves quantdesk-tearsheet-<day>.html of the chosen period; opened with
    no network at all, its charts draw and its numbers match the page's."""
    open_analytics(page)
    page.get_by_role("radiogroup", name="Period").get_by_role("radio", name="3M").click()
    expect(page.get_by_test_id("period-label")).to_contain_text("3M")
    # the previous period's numbers stay on screen until the new answer arrives
    expect(page.get_by_test_id("period-label")).not_to_contain_text("updating")
    end = re.search(r"to (\d{4}-\d{2}-\d{2})", page.get_by_test_id("period-label").inner_text())
    assert end is not None
    volatility = page.get_by_test_id("metric-volatility").locator(".value").inner_text()
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download tear sheet").click()
    download = downloading.value
    assert download.suggested_filename == f"quantdesk-tearsheet-{end.group(1)}.html"
    target = ARTIFACTS.parent / "tearsheet-3M.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    download.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert "period 3M" in text and volatility in text
    offline = page.context.browser.new_context(  # type: ignore[union-attr]
        offline=True, viewport={"width": 1440, "height": 900}
    )
    try:
        sheet = offline.new_page()
        sheet.goto(target.as_uri())
        expect(sheet.get_by_role("heading", level=1)).to_have_text("Portfolio tear sheet")
        expect(sheet.locator(".plotly-graph-div .main-svg").first).to_be_visible()
        expect(sheet.locator("#holdings")).to_contain_text("VTSAX")
        sheet.screenshot(path=str(ARTIFACTS / "tearsheet_offline.png"), full_page=True)
    finally:
        offline.close()


def test_the_page_reads_in_dark_mode(page: Page) -> None:
    """In dark mode the panel, the table and the charts show on the dark background."""
    open_analytics(page)
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    for name in CHARTS:
        expect(page.get_by_role("img", name=name).locator("svg").first).to_be_visible()
    expect(page.get_by_test_id("metric-sharpe")).to_be_visible()
