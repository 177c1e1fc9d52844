"""The suggestions page in a real browser: targets set in the editor give rebalancing
trades with their rationale and effect, refusals are explained where they happen, the
harvest section answers its inputs, an optimization draws its frontier and weights (and an
infeasible one says why), and each section's orders download as CSV.

The tests share one demo server (module scope) and run in file order: the first one sees
the demo before any targets are set; the others set the targets they need through the API.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from tests.web.conftest import ARTIFACTS, sign_in

ORDERS_HEADER = "source,account,action,symbol,units,est_price,est_value,rationale"


def _api(page: Page, path: str) -> str:
    base: str = page.base  # type: ignore[attr-defined]
    return base + "/api/v1" + path


def _held_classes(page: Page) -> list[str]:
    """The asset classes the demo holds (cash is never a target)."""
    answer = page.request.get(_api(page, "/holdings"))
    assert answer.ok, answer.text()
    return sorted({h["asset_type"] for h in answer.json()["holdings"]} - {"cash"})


def _percents(classes: list[str]) -> dict[str, int]:
    """Whole percents adding up to 100, the remainder on the first class."""
    share = 100 // len(classes)
    found = dict.fromkeys(classes, share)
    found[classes[0]] += 100 - share * len(classes)
    return found


def _put_targets(page: Page, **options: str) -> dict[str, Any]:
    """Set targets over every held class through the API (the page's own CSRF cookie)."""
    return _put_weights(page, _percents(_held_classes(page)), **options)


def _put_weights(page: Page, percents: dict[str, int], **options: str) -> dict[str, Any]:
    """Set the portfolio's targets to these whole percents through the API."""
    weights = {c: str(p / 100) for c, p in percents.items()}
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "quantdesk_csrf")
    answer = page.request.put(
        _api(page, "/targets"),
        data={"weights": weights, **options},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.ok, answer.text()
    return answer.json()  # type: ignore[no-any-return]


def _open(page: Page) -> None:
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Suggestions").click()
    expect(page.get_by_role("heading", level=1, name="Suggestions")).to_be_visible()


def _open_with_targets(page: Page, **options: str) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    _put_targets(page, **options)
    _open(page)
    expect(page.get_by_test_id("as-of")).to_contain_text("as of")


def test_without_targets_the_editor_opens_and_saved_targets_give_trades(page: Page) -> None:
    """Before any targets the editor is open with one line saying why (not an error);
    weights by the held asset classes that add up to 100% are saved and give rebalancing
    trades, each with its rationale and its effect, and the figures now."""
    sign_in(page, page.base)  # type: ignore[attr-defined]
    percents = _percents(_held_classes(page))
    _open(page)
    expect(page.get_by_test_id("no-targets")).to_contain_text("No targets set yet")
    expect(page.get_by_test_id("broker-note")).to_have_text(
        "quantdesk never places orders: take this list to your broker."
    )
    sum_line = page.get_by_test_id("weight-sum")
    for i, (cls, percent) in enumerate(percents.items(), start=1):
        if i > 1:
            page.get_by_role("button", name="Add a row").click()
        page.get_by_label(f"Target {i}: asset class or symbol").fill(cls)
        page.get_by_label(f"Target {i}: weight (%)").fill(str(percent))
    expect(sum_line).to_contain_text("100%")
    expect(sum_line).to_have_class(re.compile(r"\bok\b"))
    page.get_by_label("Band").fill("5")
    page.get_by_label("Minimum trade value").fill("50")
    page.get_by_role("button", name="Save targets").click()

    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    summary = page.get_by_test_id("targets-summary")
    for cls in percents:
        expect(summary).to_contain_text(cls)
    expect(page.get_by_role("button", name="Edit targets")).to_have_attribute(
        "aria-expanded", "false"
    )

    trades = page.get_by_role("table", name="Rebalancing trades")
    expect(trades).to_be_visible()
    first = trades.locator("tbody tr").first
    expect(first).to_contain_text(re.compile(r"Buy|Sell"))
    expect(first).to_contain_text("target")  # the rationale: "... against a 40% target ..."
    expect(first).to_contain_text(re.compile(r"vol [\d.]+% → [\d.]+%"))
    plan = page.get_by_test_id("rebalance-effect")
    expect(plan).to_contain_text("Effect of the whole plan:")
    expect(plan).to_contain_text(re.compile(r"drift [\d.]+% → [\d.]+%"))
    buckets = page.get_by_role("table", name="Buckets")
    for cls in percents:
        expect(buckets).to_contain_text(cls)

    var = page.get_by_test_id("now-var")
    expect(var).to_contain_text("$")
    expect(var).to_have_attribute("title", re.compile(r"historical.*95%.*1-day", re.S))
    expect(page.get_by_test_id("now-volatility")).to_contain_text("%")
    # no language model is configured in the tests: nothing is said about a summary
    expect(page.get_by_role("button", name="Summarize in plain words")).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("targets-summary")).to_be_visible()


def test_targets_are_checked_before_saving_and_a_refusal_is_shown_beside_the_form(
    page: Page,
) -> None:
    """Weights that do not add up to 100% are caught on the page; a VaR budget of 0 is
    refused by the API and its reason shows next to the form (in the dark theme)."""
    page.troubles.expect_failure("/api/v1/targets")  # type: ignore[attr-defined]
    _open_with_targets(page)
    page.get_by_role("button", name="Toggle dark mode").click()
    page.get_by_role("button", name="Edit targets").click()
    weight = page.get_by_label("Target 1: weight (%)")
    original = weight.input_value()
    weight.fill(str(int(original) + 7))
    expect(page.get_by_test_id("weight-sum")).to_contain_text("must be 100%")
    page.get_by_role("button", name="Save targets").click()
    expect(page.get_by_role("alert").filter(has_text="must add up to exactly 100%")).to_be_visible()
    weight.fill(original)
    page.get_by_label("VaR budget").fill("0")
    page.get_by_role("button", name="Save targets").click()
    expect(page.get_by_test_id("targets-problem")).to_contain_text("VaR budget")
    after = page.request.get(_api(page, "/targets")).json()
    assert after["var_budget"] != "0"


def test_targets_that_leave_a_holding_uncovered_are_explained(page: Page) -> None:
    """Targets saved for one class only: the suggestions' refusal (holdings with no
    target) is said beside the editor, which stays open, instead of an error banner."""
    page.troubles.expect_failure("/api/v1/suggestions?")  # type: ignore[attr-defined]
    _open_with_targets(page)
    classes = _held_classes(page)
    page.get_by_role("button", name="Edit targets").click()
    for _ in range(len(classes) - 1):
        page.get_by_role("button", name="Remove target 2").click()
    page.get_by_label("Target 1: asset class or symbol").fill(classes[0])
    page.get_by_label("Target 1: weight (%)").fill("100")
    page.get_by_role("button", name="Save targets").click()
    refused = page.get_by_test_id("suggestions-refused")
    expect(refused).to_contain_text("no target")
    expect(page.get_by_label("Target 1: asset class or symbol")).to_be_visible()
    expect(page.locator(".error-banner")).to_have_count(0)
    _put_targets(page)  # the next tests start from targets over every class


def test_the_harvest_section_answers_its_inputs(page: Page) -> None:
    """Candidates (or an explicit message) for the default $100 minimum loss, wash sales
    flagged; a larger minimum loss asks again and says when nothing is left."""
    _open_with_targets(page)
    section = page.get_by_role("region", name="Tax-loss harvesting")
    candidates = section.get_by_role("table", name="Tax-loss harvesting candidates")
    empty = section.get_by_test_id("harvest-empty")
    expect(candidates.or_(empty)).to_be_visible()
    if candidates.is_visible():
        expect(section.get_by_test_id("harvest-totals")).to_contain_text("est. tax saved")
        row = candidates.locator("tbody tr").first
        expect(row).to_contain_text("no buyback until after")
        expect(row).to_contain_text(re.compile(r"vol [\d.]+% →"))
        washes = candidates.locator("tbody tr.sug-wash")
        for i in range(washes.count()):
            expect(washes.nth(i)).to_contain_text("Wash sale")
    else:
        expect(empty).to_contain_text("No lots at a loss above $100")
    with page.expect_response(re.compile(r"/api/v1/suggestions\?.*min_loss=1000000")) as answered:
        section.get_by_label("Minimum loss (USD)").fill("1000000")
        section.get_by_label("Short-term tax rate (%)").fill("40")
        section.get_by_role("button", name="Apply").click()
    assert answered.value.ok
    assert "short_rate=0.4" in answered.value.url
    expect(empty).to_contain_text("No lots at a loss above $1,000,000")


def test_an_optimization_draws_the_frontier_and_compares_weights(page: Page) -> None:
    """Max Sharpe over 3Y: the frontier with the current and the optimized portfolio
    marked, the weights side by side, and the trades to get there with their effect."""
    _open_with_targets(page)
    section = page.get_by_role("region", name="Optimized allocation")
    section.get_by_label("Objective").select_option(label="Max Sharpe")
    section.get_by_label("Covariance").select_option(label="Ledoit-Wolf shrinkage")
    section.get_by_role("radiogroup", name="Period").get_by_role("radio", name="3Y").click()
    section.get_by_role("button", name="Run optimization").click()
    chart = section.get_by_role("img", name="Efficient frontier")
    expect(chart.locator("svg").first).to_be_visible()
    expect(chart).to_contain_text("Current")
    expect(chart).to_contain_text("Optimized")
    weights = section.get_by_role("table", name="Weights, current and optimized")
    expect(weights.locator("tbody tr").first).to_be_visible()
    assert weights.locator("tbody tr").count() >= 2
    expect(section.get_by_role("table", name="Portfolio performance")).to_contain_text("Optimized")
    trades = section.get_by_role("table", name="Optimized allocation trades")
    expect(trades.locator("tbody tr").first).to_contain_text(re.compile(r"vol [\d.]+% →"))
    link = section.get_by_role("link", name=re.compile("Export orders \\(CSV\\)"))
    expect(link).to_have_attribute("href", re.compile(r"source=optimize&objective=max_sharpe"))


def test_an_infeasible_optimization_says_which_constraint(page: Page) -> None:
    """A cap of 1% per asset cannot add up to 100%: the API's reason shows in the section."""
    page.troubles.expect_failure("/api/v1/suggestions/optimize")  # type: ignore[attr-defined]
    _open_with_targets(page)
    section = page.get_by_role("region", name="Optimized allocation")
    section.get_by_label("Max weight per asset (%)").fill("1")
    section.get_by_role("button", name="Run optimization").click()
    problem = section.get_by_test_id("optimize-problem")
    expect(problem).to_contain_text("cannot be done")
    expect(problem).to_contain_text("0.01")
    expect(section.get_by_role("img", name="Efficient frontier")).to_have_count(0)


def test_the_rebalancing_orders_download_as_csv(page: Page) -> None:
    """The rebalancing section's export saves a CSV of the suggested orders with the
    broker's columns; the page says quantdesk places none of them."""
    _open_with_targets(page)
    expect(page.get_by_test_id("broker-note")).to_contain_text("never places orders")
    expect(page.get_by_role("table", name="Rebalancing trades")).to_be_visible()
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Export orders (CSV) of the rebalancing").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".csv")
    target = ARTIFACTS.parent / "orders-rebalance.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    download.save_as(target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ORDERS_HEADER
    assert len(lines) > 1 and all(line.startswith("rebalance,") for line in lines[1:])


def test_risk_alerts_show_their_severity(page: Page) -> None:
    """A tight VaR budget gives an alert in plain words, styled by its severity."""
    _open_with_targets(page, var_budget="0.001", concentration_limit="0.05")
    alerts = page.get_by_role("list", name="Risk alerts")
    expect(alerts.get_by_role("listitem").first).to_be_visible()
    first = alerts.get_by_role("listitem").first
    expect(first).to_have_attribute("data-severity", re.compile("critical|warning"))
    expect(first).to_contain_text(re.compile(r"Critical|Warning"))
    expect(alerts).to_contain_text("VaR")


def test_a_summary_in_plain_words_is_labelled_and_a_failure_is_shown_in_place(
    page: Page,
) -> None:
    """With a language model available (stood in for here: the test server has none), the
    button POSTs /suggestions/summary with the CSRF header; a 503 is said in the section,
    and a written summary is labelled with its model and the check of its numbers."""
    page.troubles.expect_failure("/api/v1/suggestions/summary")  # type: ignore[attr-defined]

    def with_summary(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        body["summary_available"] = True
        route.fulfill(response=response, json=body)

    posted: list[dict[str, Any]] = []

    def summary(route: Any) -> None:
        request = route.request
        posted.append(
            {
                "method": request.method,
                "csrf": request.headers.get("x-csrf-token"),
                "url": request.url,
                "body": request.post_data_json,
            }
        )
        if len(posted) == 1:
            route.fulfill(
                status=503,
                content_type="application/problem+json",
                json={
                    "type": "urn:quantdesk:problem:unavailable",
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "no language model is configured",
                },
            )
        else:
            route.fulfill(
                json={
                    "text": "Sell some VTSAX and buy stocks: drift falls from 28% to 0%.",
                    "model": "llama3.1:8b",
                    "endpoint": "http://127.0.0.1:11434",
                }
            )

    page.route(re.compile(r"/api/v1/suggestions\?"), with_summary)
    page.route(re.compile(r"/api/v1/suggestions/summary(\?|$)"), summary)
    _open_with_targets(page)
    section = page.get_by_role("region", name="In plain words")
    section.get_by_role("button", name="Summarize in plain words").click()
    expect(section.get_by_role("alert")).to_contain_text("no language model is configured")
    expect(page.locator(".error-banner")).to_have_count(0)
    section.get_by_role("button", name="Summarize in plain words").click()
    expect(section.get_by_test_id("summary-text")).to_have_text(
        "Sell some VTSAX and buy stocks: drift falls from 28% to 0%."
    )
    expect(section).to_contain_text(
        "Written by a language model (llama3.1:8b); every number in it was checked against"
        " the figures above."
    )
    expect(section.get_by_role("alert")).to_have_count(0)
    assert posted[0]["method"] == "POST" and posted[0]["body"] == {}
    assert posted[0]["csrf"]
    assert "min_loss=100" in posted[0]["url"]  # the same harvest inputs as the figures


def test_a_wash_sale_candidate_is_flagged_clearly(page: Page) -> None:
    """A harvest candidate that would be a wash sale (the demo has none today, so the
    answer is altered here) is flagged in words and its row styled as a warning."""

    def with_wash_sale(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        candidates = body["harvest"]["candidates"]
        assert candidates, "the demo has lots at a loss to harvest"
        candidates[0]["wash_sale"] = True
        route.fulfill(response=response, json=body)

    page.route(re.compile(r"/api/v1/suggestions\?"), with_wash_sale)
    _open_with_targets(page)
    table = page.get_by_role("table", name="Tax-loss harvesting candidates")
    flagged = table.locator("tbody tr.sug-wash")
    expect(flagged).to_have_count(1)
    expect(flagged.locator(".sug-wash-flag")).to_have_text("Wash sale")
    background = flagged.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    expect(table.locator("tbody tr:not(.sug-wash)").first.locator("td").nth(7)).to_contain_text(
        "No"
    )


def _csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "quantdesk_csrf")


def _retirement_account(page: Page) -> dict[str, Any]:
    """The demo's retirement account (GET /accounts)."""
    answer = page.request.get(_api(page, "/accounts"))
    assert answer.ok, answer.text()
    return next(a for a in answer.json() if a["kind"] == "retirement")


def _own_percents(page: Page, account: dict[str, Any]) -> dict[str, int]:
    """Whole percents over what ``account`` holds: half on one symbol of its most held
    class, the other half over its classes (cash is never a target)."""
    answer = page.request.get(_api(page, f"/holdings?account_id={account['id']}"))
    assert answer.ok, answer.text()
    held = [h for h in answer.json()["holdings"] if h["asset_type"] != "cash"]
    assert held, f"the demo's {account['name']} holds something"
    classes = sorted({h["asset_type"] for h in held})
    most = max(classes, key=lambda c: sum(h["asset_type"] == c for h in held))
    symbol = sorted(h["symbol"] for h in held if h["asset_type"] == most)[0]
    share = 50 // len(classes)
    return {symbol: 100 - share * len(classes), **dict.fromkeys(classes, share)}


def _targets_path(account: dict[str, Any]) -> str:
    return "/targets?" + urlencode({"account": account["name"]})


def _remove_own_targets(page: Page, account: dict[str, Any]) -> None:
    answer = page.request.delete(
        _api(page, _targets_path(account)), headers={"X-CSRF-Token": _csrf(page)}
    )
    assert answer.status == 204, answer.text()


def test_an_account_with_targets_of_its_own_is_rebalanced_on_its_own(page: Page) -> None:
    """Portfolio targets over the classes held outside the retirement account leave its
    funds uncovered: the refusal says so, and the account, chosen in the scope picker,
    follows the portfolio's targets until it has its own (no concentration limit or VaR
    budget: those are the portfolio's). Saved, they are listed in the summary and the
    account gets its own sub-section of the rebalancing (buckets, trades or "no trades",
    effect), out of the portfolio's plan; removed, the sub-section is gone."""
    page.troubles.expect_failure("/api/v1/suggestions?")  # type: ignore[attr-defined]
    sign_in(page, page.base)  # type: ignore[attr-defined]
    ira = _retirement_account(page)
    name = ira["name"]
    percents = _own_percents(page, ira)
    symbol = next(iter(percents))
    everywhere = page.request.get(_api(page, "/holdings")).json()["holdings"]
    outside = sorted(
        {h["asset_type"] for h in everywhere if h["account_id"] != ira["id"]} - {"cash"}
    )
    assert set(_held_classes(page)) - set(outside), f"{name} holds a class of its own"
    _put_weights(page, _percents(outside))
    try:
        _open(page)
        expect(page.get_by_test_id("suggestions-refused")).to_contain_text("no target")
        page.get_by_label("Targets for").select_option(label=name)
        expect(page.get_by_test_id("follows-portfolio")).to_have_text(
            f"{name} follows the portfolio's targets; set targets here to rebalance it on its own."
        )
        expect(page.get_by_test_id("suggestions-refused")).to_be_visible()
        expect(page.get_by_label("Concentration limit")).to_have_count(0)
        expect(page.get_by_label("VaR budget")).to_have_count(0)
        expect(page.get_by_role("button", name=f"Remove {name}'s own targets")).to_have_count(0)
        for i, (key, percent) in enumerate(percents.items(), start=1):
            if i > 1:
                page.get_by_role("button", name="Add a row").click()
            page.get_by_label(f"Target {i}: asset class or symbol").fill(key)
            page.get_by_label(f"Target {i}: weight (%)").fill(str(percent))
        expect(page.get_by_test_id("weight-sum")).to_contain_text("100%")
        page.get_by_label("Band").fill("2")
        with page.expect_request(
            lambda r: r.method == "PUT" and "/api/v1/targets?account=" in r.url
        ) as putting:
            page.get_by_role("button", name="Save targets").click()
        sent = putting.value.post_data_json
        assert sent is not None
        assert set(sent["weights"]) == set(percents)
        assert "concentration_limit" not in sent and "var_budget" not in sent

        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        summary = page.get_by_test_id("targets-summary")
        expect(summary).to_contain_text(symbol)
        expect(summary).to_contain_text("band ±2%")
        expect(summary).not_to_contain_text("VaR budget")
        expect(page.get_by_test_id("targets-accounts")).to_contain_text(
            f"{name} has targets of its own"
        )
        own = page.request.get(_api(page, _targets_path(ira))).json()
        assert own["account"] == name and set(own["weights"]) == set(percents)
        assert name in page.request.get(_api(page, "/targets")).json()["accounts_with_targets"]

        plan = page.get_by_role("region", name=f"{name} — its own targets")
        expect(plan).to_be_visible()
        expect(page.get_by_test_id("suggestions-refused")).to_have_count(0)
        expect(plan.get_by_role("table", name=f"{name}: bucket weights")).to_contain_text(symbol)
        trades = plan.get_by_role("table", name=f"{name}: trades toward its own targets")
        expect(trades.or_(plan.get_by_test_id("account-plan-no-trades"))).to_be_visible()
        if trades.is_visible():
            rows = trades.locator("tbody tr")
            for i in range(rows.count()):
                expect(rows.nth(i).locator("td").nth(1)).to_have_text(name)
            expect(rows.first).to_contain_text(re.compile(r"Buy|Sell"))
            expect(rows.first).to_contain_text(re.compile(r"vol [\d.]+% → [\d.]+%"))
        expect(plan.get_by_test_id("account-plan-effect")).to_contain_text(
            f"Effect of {name}'s plan:"
        )
        # the portfolio's own plan leaves the account out
        expect(page.get_by_test_id("rebalance-effect")).to_be_visible()
        portfolio = page.get_by_role("table", name="Rebalancing trades", exact=True)
        if portfolio.count():
            assert name not in portfolio.locator("tbody tr td:nth-child(2)").all_inner_texts()

        page.get_by_role("button", name=f"Remove {name}'s own targets").click()
        expect(page.get_by_role("status").filter(has_text="Removed")).to_contain_text(
            f"{name} follows the portfolio's targets again"
        )
        expect(page.get_by_test_id("follows-portfolio")).to_be_visible()
        expect(page.get_by_test_id("targets-accounts")).to_have_count(0)
        expect(page.get_by_test_id("suggestions-refused")).to_contain_text("no target")
        expect(plan).to_have_count(0)
        assert page.request.get(_api(page, "/targets")).json()["accounts_with_targets"] == []

        # targets over every class again: rebalanced with the rest, no sub-section of its own
        _put_targets(page)
        page.reload()
        expect(page.get_by_role("table", name="Rebalancing trades", exact=True)).to_be_visible()
        expect(plan).to_have_count(0)
        page.get_by_label("Targets for").select_option(label="Whole portfolio")
        expect(page.get_by_test_id("targets-summary")).to_contain_text("concentration limit")
    finally:
        if name in page.request.get(_api(page, "/targets")).json()["accounts_with_targets"]:
            _remove_own_targets(page, ira)
        _put_targets(page)  # the portfolio's targets as the earlier tests left them


def test_with_only_an_account_s_own_targets_that_account_alone_is_rebalanced(
    page: Page,
) -> None:
    """No portfolio targets, but the retirement account has its own: the suggestions are
    made, the rebalancing says only that account is rebalanced and shows its plan."""
    sign_in(page, page.base)  # type: ignore[attr-defined]
    ira = _retirement_account(page)
    name = ira["name"]
    weights = {k: str(p / 100) for k, p in _own_percents(page, ira).items()}
    csrf = {"X-CSRF-Token": _csrf(page)}
    answer = page.request.delete(_api(page, "/targets"), headers=csrf)
    assert answer.status == 204, answer.text()
    try:
        answer = page.request.put(
            _api(page, _targets_path(ira)), data={"weights": weights}, headers=csrf
        )
        assert answer.ok, answer.text()
        _open(page)
        expect(page.get_by_test_id("as-of")).to_contain_text("as of")
        expect(page.get_by_test_id("no-targets")).to_have_count(0)
        expect(page.get_by_test_id("no-portfolio-targets")).to_be_visible()
        expect(page.get_by_test_id("targets-accounts")).to_contain_text(
            f"{name} has targets of its own"
        )
        expect(page.get_by_test_id("rebalance-no-portfolio-targets")).to_contain_text(
            f"only {name}, with targets of its own, is rebalanced"
        )
        expect(page.get_by_role("table", name="Rebalancing trades", exact=True)).to_have_count(0)
        plan = page.get_by_role("region", name=f"{name} — its own targets")
        expect(plan.get_by_role("table", name=f"{name}: bucket weights")).to_be_visible()
    finally:
        _remove_own_targets(page, ira)
        _put_targets(page)  # the portfolio's targets as the earlier tests left them
