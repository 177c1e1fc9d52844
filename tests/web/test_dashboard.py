"""The dashboard page ("/") in a real browser: metric cards, allocation, performance and
drawdown charts, stale prices flagged, failures shown, live refresh, both themes."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import Page, Route, expect

from tests.web.conftest import ARTIFACTS, sign_in

CARDS = ("total_value", "day_change", "twr", "mwr", "sharpe", "var", "max_drawdown")
CHARTS = (
    "Allocation by asset class and asset",
    "Allocation by account",
    "Cumulative return of the portfolio vs SPY",
    "Drawdown from the running peak",
)


def _charts_drawn(page: Page) -> None:
    for name in CHARTS:
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible(timeout=20_000)
        expect(chart.locator("svg").first).to_be_attached(timeout=20_000)


def test_cards_show_the_portfolio_and_the_charts_draw(page: Page) -> None:
    """After sign-in every card shows a real number within seconds, and the allocation,
    performance and drawdown charts are drawn."""
    started = time.monotonic()
    sign_in(page, page.base)  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    total = page.get_by_test_id("metric-total_value").locator(".value")
    expect(total).to_have_text(re.compile(r"^\$\d{1,3}(,\d{3})*\.\d\d$"))
    assert time.monotonic() - started < 10, "the cards took too long"
    for key in CARDS:
        value = page.get_by_test_id(f"metric-{key}").locator(".value")
        expect(value).not_to_have_text("…")
        if key != "day_change":
            expect(value).not_to_have_text("—")
    expect(page.get_by_test_id("metric-var")).to_have_attribute(
        "title", re.compile("Historical simulation")
    )
    expect(page.get_by_test_id("metric-var").locator(".value")).to_have_text(re.compile(r"^\$"))
    expect(page.get_by_test_id("metric-day_change").locator(".label").nth(1)).to_have_text(
        re.compile("%")
    )
    expect(page.get_by_role("heading", name="Performance vs SPY")).to_be_visible()
    _charts_drawn(page)
    expect(page.get_by_test_id("as-of")).to_contain_text(re.compile(r"as of \d"))
    # the sunburst names the demo's asset classes and the account donut its accounts
    expect(page.get_by_role("img", name="Allocation by asset class and asset")).to_contain_text(
        "Funds"
    )
    expect(page.get_by_role("img", name="Allocation by account")).to_contain_text("Vanguard IRA")
    # a reload (a cold start of the page, signed in) shows the cards quickly
    started = time.monotonic()
    page.reload()
    expect(total).to_have_text(re.compile(r"^\$\d"))
    shown_after = time.monotonic() - started
    assert shown_after < 3, f"the cards took {shown_after:.1f} s after a reload"
    # the demo's prices are fresh: no stale warning, nothing left out
    expect(page.get_by_test_id("stale-prices")).to_have_count(0)
    expect(page.get_by_test_id("excluded")).to_have_count(0)


def test_a_failing_history_request_is_shown_and_the_cards_still_show(page: Page) -> None:
    """When the value history cannot be loaded the user sees an alert saying so (with a
    retry), while the cards from the analytics answer still show."""
    page.troubles.expect_failure("/api/v1/analytics/history")  # type: ignore[attr-defined]

    def fail(route: Route) -> None:
        route.fulfill(
            status=400,
            content_type="application/problem+json",
            body=json.dumps(
                {"type": "urn:quantdesk:bad-period", "title": "Bad", "detail": "The history broke"}
            ),
        )

    page.route(re.compile(r"/api/v1/analytics/history"), fail)
    sign_in(page, page.base)  # type: ignore[attr-defined]
    alert = page.get_by_role("alert").filter(has_text="Loading the value history failed").first
    expect(alert).to_be_visible(timeout=15_000)
    expect(alert).to_contain_text("The history broke")
    expect(page.get_by_role("button", name="Retry").first).to_be_visible()
    expect(page.get_by_test_id("metric-total_value").locator(".value")).to_have_text(
        re.compile(r"^\$\d")
    )
    expect(
        page.get_by_role("img", name="Allocation by account").locator("svg").first
    ).to_be_attached(timeout=20_000)


def test_stale_and_unpriced_holdings_are_named_and_left_out_of_the_allocation(page: Page) -> None:
    """A holding with an old price and one without any price are named in a warning, and
    the unpriced one is listed as excluded from the allocation rather than valued at 0."""

    def doctor(route: Route) -> None:
        answer = route.fetch().json()
        for holding in answer["holdings"]:
            if holding["symbol"] == "AAPL":
                holding["price_as_of"] = "2026-10-01"
            if holding["symbol"] == "NVDA":
                holding.update(price=None, price_as_of=None, market_value=None, price_missing=True)
        route.fulfill(json=answer)

    page.route(re.compile(r"/api/v1/holdings(\?|$)"), doctor)
    sign_in(page, page.base)  # type: ignore[attr-defined]
    stale = page.get_by_test_id("stale-prices")
    expect(stale).to_contain_text("AAPL in Fidelity (price from 2026-10-01)")
    expect(stale).to_contain_text("NVDA in Fidelity (no price)")
    expect(page.get_by_test_id("excluded")).to_contain_text("NVDA in Fidelity (no price)")
    sunburst = page.get_by_role("img", name="Allocation by asset class and asset")
    expect(sunburst.locator("svg").first).to_be_attached(timeout=20_000)
    expect(sunburst).to_contain_text("AAPL")
    expect(sunburst).not_to_contain_text("NVDA")


def test_the_dashboard_refreshes_every_minute(page: Page) -> None:
    """With the page open for a minute, the server is asked to refresh the prices, and the
    analytics, history and holdings are asked again."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    page.clock.install()
    sign_in(page, page.base)  # type: ignore[attr-defined]
    expect(page.get_by_test_id("metric-total_value").locator(".value")).to_have_text(
        re.compile(r"^\$\d")
    )

    def count(fragment: str) -> int:
        return sum(1 for url in asked if re.search(fragment, url))

    fragments = (r"/prices/refresh", r"/analytics\?", r"/analytics/history", r"/holdings")
    before = {f: count(f) for f in fragments}
    page.clock.fast_forward("01:01")
    for fragment, n in before.items():
        deadline = time.monotonic() + 10
        while count(fragment) <= n and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert count(fragment) > n, f"{fragment} was not refetched after a minute"
    expect(page.get_by_test_id("metric-total_value").locator(".value")).to_have_text(
        re.compile(r"^\$\d")
    )


def test_dark_theme_shows_the_dashboard_readably(page: Page) -> None:
    """In the dark theme the cards and charts are drawn on dark panels with light text."""
    sign_in(page, page.base)  # type: ignore[attr-defined]
    _charts_drawn(page)
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    card = page.get_by_test_id("metric-total_value")
    expect(card).to_have_css("background-color", "rgb(27, 31, 38)")
    expect(card.locator(".value")).to_have_css("color", "rgb(230, 232, 235)")
    axis_label = (
        page.get_by_role("img", name="Drawdown from the running peak").locator("g.xtick text").first
    )
    expect(axis_label).to_have_css("fill", "rgb(230, 230, 230)", timeout=10_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard_dark_viewport.png"))
