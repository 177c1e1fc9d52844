"""The holdings page in a real browser: editing the grid moves the risk picture, conflicts
roll back, undo, what-if, paste, grouping and CSV export."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from playwright.sync_api import Locator, Page, Route, expect

from tests.web.conftest import sign_in

HOLDINGS = "/api/v1/holdings"


def _open(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Holdings").click()
    expect(page.get_by_role("heading", level=1, name="Holdings")).to_be_visible()
    expect(page.locator(".ag-center-cols-container .ag-row").first).to_be_visible()
    expect(card(page, "total_value")).not_to_have_text("…")


def _holding(page: Page, symbol: str) -> dict[str, Any]:
    answer = page.request.get(page.base + HOLDINGS)  # type: ignore[attr-defined]
    assert answer.ok
    rows = [h for h in answer.json()["holdings"] if h["symbol"] == symbol]
    assert len(rows) == 1, rows
    return rows[0]


def _holding_list(page: Page) -> list[dict[str, Any]]:
    answer = page.request.get(page.base + HOLDINGS)  # type: ignore[attr-defined]
    assert answer.ok
    holdings: list[dict[str, Any]] = answer.json()["holdings"]
    return holdings


def cell(page: Page, row_id: str, column: str) -> Locator:
    return page.locator(f'.ag-center-cols-container [row-id="{row_id}"] [col-id="{column}"]')


def card(page: Page, key: str) -> Locator:
    return page.get_by_test_id(f"metric-{key}").locator('[data-role="current"]')


def _column_in_row_order(page: Page, column: str) -> list[str]:
    """The texts of a column's cells, top to bottom (the grid's DOM order is not row order)."""
    texts: list[str] = page.evaluate(
        """(column) => [...document.querySelectorAll(
                `.ag-body [row-index] [col-id="${column}"]`)]
            .map((cell) => [Number(cell.closest("[row-index]").getAttribute("row-index")),
                            cell.textContent.trim()])
            .sort((a, b) => a[0] - b[0]).map((pair) => pair[1])""",
        column,
    )
    return texts


def _type_into(page: Page, target: Locator, text: str) -> None:
    """Double-click a cell to edit it, replace its text and commit with Enter."""
    target.dblclick()
    editor = target.locator("input")
    expect(editor).to_be_focused()
    editor.fill(text)
    editor.press("Enter")


def test_editing_a_quantity_moves_its_market_value_and_the_metric_cards(page: Page) -> None:
    """Typing a new quantity saves it, and the row's market value and the cards change."""
    _open(page)
    aapl = _holding(page, "AAPL")
    value_before = cell(page, aapl["id"], "market_value").inner_text()
    total_before = card(page, "total_value").inner_text()
    var_before = card(page, "var").inner_text()

    _type_into(page, cell(page, aapl["id"], "quantity"), "33")

    expect(cell(page, aapl["id"], "quantity")).to_have_text("33")
    expect(cell(page, aapl["id"], "market_value")).not_to_have_text(value_before)
    expect(card(page, "total_value")).not_to_have_text(total_before)
    expect(card(page, "var")).not_to_have_text(var_before)
    expect(page.get_by_role("status")).to_contain_text("Saved AAPL (Fidelity) quantity")
    assert _holding(page, "AAPL")["quantity"] == "33"
    edit_ms = page.locator(".holdings-cards").get_attribute("data-edit-ms")
    assert edit_ms is not None and int(edit_ms) < 1000, edit_ms


def test_undo_restores_the_previous_quantity(page: Page) -> None:
    """After an edit, the Undo button (and Ctrl+Z) put the previous quantity back in the ledger."""
    _open(page)
    msft = _holding(page, "MSFT")
    _type_into(page, cell(page, msft["id"], "quantity"), "12")
    expect(page.get_by_role("status")).to_contain_text("Saved MSFT")
    _type_into(page, cell(page, msft["id"], "quantity"), "1,014.5")
    expect(cell(page, msft["id"], "quantity")).to_have_text("1,014.5")
    expect(page.get_by_role("status")).to_contain_text("1,014.5")

    page.get_by_role("button", name="Undo").click()
    expect(cell(page, msft["id"], "quantity")).to_have_text("12")
    expect(page.get_by_role("status")).to_contain_text("Undone")
    cell(page, msft["id"], "price").click()
    page.keyboard.press("Control+z")
    expect(cell(page, msft["id"], "quantity")).to_have_text(msft["quantity"])
    expect(page.get_by_role("button", name="Undo")).to_be_disabled()
    assert _holding(page, "MSFT")["quantity"] == msft["quantity"]


def test_a_conflicting_edit_rolls_back_and_shows_the_current_holding(page: Page) -> None:
    """When the holding changed elsewhere after the page loaded, the edit is refused (409),
    the grid rolls back to the holding as it is now and a message says so."""
    page.troubles.expect_failure(HOLDINGS + "/")  # type: ignore[attr-defined]
    _open(page)
    nvda = _holding(page, "NVDA")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "quantdesk_csrf")
    changed = page.request.patch(
        f"{page.base}{HOLDINGS}/{nvda['id']}",  # type: ignore[attr-defined]
        data={"quantity": "31"},
        headers={"If-Match": f'"{nvda["version"]}"', "X-CSRF-Token": csrf},
    )
    assert changed.ok, changed.text()

    _type_into(page, cell(page, nvda["id"], "quantity"), "45")

    message = page.get_by_role("alert").filter(has_text="changed elsewhere")
    expect(message).to_contain_text("NVDA (Fidelity)")
    expect(message).to_contain_text("now 31 units")
    expect(cell(page, nvda["id"], "quantity")).to_have_text("31")
    assert _holding(page, "NVDA")["quantity"] == "31"


def test_what_if_shows_hypothetical_metrics_and_discard_leaves_the_ledger_alone(
    page: Page,
) -> None:
    """In what-if mode a quantity edit changes the row and the cards' what-if values only;
    Discard restores the grid and nothing reaches the ledger."""
    _open(page)
    vti = _holding(page, "VTI")
    value_before = cell(page, vti["id"], "market_value").inner_text()
    page.get_by_role("button", name="What-if mode").click()
    expect(page.get_by_role("region", name="What-if")).to_be_visible()

    _type_into(page, cell(page, vti["id"], "quantity"), "150")

    expect(cell(page, vti["id"], "quantity")).to_have_text("150")
    expect(cell(page, vti["id"], "quantity")).to_have_class(re.compile("hypothetical"))
    expect(cell(page, vti["id"], "market_value")).not_to_have_text(value_before)
    sharpe_what_if = page.get_by_test_id("metric-sharpe").locator('[data-role="what-if"]')
    expect(sharpe_what_if).to_contain_text("→")
    expect(
        page.get_by_test_id("metric-total_value").locator('[data-role="what-if"]')
    ).to_contain_text("what-if $")
    expect(page.get_by_role("region", name="What-if")).to_contain_text("VTI +100")
    page.screenshot(path="test-artifacts/screenshots/holdings-what-if-active.png", full_page=True)

    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_role("region", name="What-if")).to_have_count(0)
    expect(cell(page, vti["id"], "quantity")).to_have_text(vti["quantity"])
    expect(cell(page, vti["id"], "market_value")).to_have_text(value_before)
    expect(page.locator('[data-role="what-if"]')).to_have_count(0)
    after = _holding(page, "VTI")
    assert (after["quantity"], after["version"]) == (vti["quantity"], vti["version"])


def test_saving_a_what_if_applies_each_change_to_the_ledger(page: Page) -> None:
    """Save in what-if mode writes each hypothetical quantity and leaves the mode."""
    _open(page)
    spy, bnd = _holding(page, "SPY"), _holding(page, "BND")
    page.get_by_role("button", name="What-if mode").click()
    cell(page, spy["id"], "quantity").click()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    _type_into(page, cell(page, bnd["id"], "quantity"), "80")
    expect(page.get_by_role("region", name="What-if")).to_contain_text("SPY +2, BND -5")
    assert _holding(page, "SPY")["quantity"] == spy["quantity"], "nothing saved yet"

    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("region", name="What-if")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Saved 2 what-if change(s)")
    assert _holding(page, "SPY")["quantity"] == "7"
    assert _holding(page, "BND")["quantity"] == "80"
    expect(cell(page, spy["id"], "quantity")).not_to_have_class(re.compile("hypothetical"))


def test_consolidated_view_has_one_row_per_symbol_and_is_read_only(page: Page) -> None:
    """Consolidated across accounts sums each symbol's holdings and offers no editing."""
    _open(page)
    page.get_by_label("Consolidated across accounts").check()
    expect(page.locator(".ag-center-cols-container [row-id='all-USD-USD']")).to_be_visible()
    expect(page.locator(".ag-center-cols-container .ag-row")).to_have_count(13)
    usd = cell(page, "all-USD-USD", "quantity")
    usd.dblclick()
    expect(usd.locator("input")).to_have_count(0)
    expect(page.get_by_role("button", name="What-if mode")).to_be_disabled()


def test_pasting_a_block_edits_the_cells_and_refuses_what_is_not_a_number(page: Page) -> None:
    """A block copied from a spreadsheet lands on the focused cell and the ones below it;
    a cell that is not a number is refused with a message."""
    _open(page)
    rows = page.request.get(page.base + HOLDINGS).json()["holdings"]  # type: ignore[attr-defined]
    first, second = rows[0], rows[1]
    cell(page, first["id"], "quantity").click()
    page.locator(".holdings-grid").evaluate(
        """(grid, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const paste = { clipboardData: data, bubbles: true, cancelable: true };
            document.activeElement.dispatchEvent(new ClipboardEvent("paste", paste));
        }""",
        "0.05\nabc\n",
    )
    expect(page.get_by_role("status")).to_contain_text("Pasted 1 cell(s), 1 refused")
    expect(page.get_by_role("alert")).to_contain_text('"abc" is not a number')
    expect(cell(page, first["id"], "quantity")).to_have_text("0.05")
    expect(page.get_by_role("status")).to_contain_text("Saved")
    after = page.request.get(page.base + HOLDINGS).json()["holdings"]  # type: ignore[attr-defined]
    assert after[0]["quantity"] == "0.05"
    assert after[1]["quantity"] == second["quantity"]


def test_grouping_by_account_shows_a_subtotal_per_account_and_the_total(page: Page) -> None:
    """Group by account keeps each account's rows together with a subtotal row per account
    above the pinned total, in light and dark themes."""
    _open(page)
    page.get_by_label("Group by").select_option("account")
    pinned = page.locator(".ag-pinned-left-floating-bottom .ag-row")
    expect(pinned).to_have_count(4)
    first = pinned.and_(page.locator('[row-index="b-0"]'))
    expect(first).to_contain_text("Coinbase")
    expect(first).to_contain_text("Subtotal (4)")
    expect(pinned.and_(page.locator('[row-index="b-1"]'))).to_contain_text("Fidelity")
    expect(pinned.and_(page.locator('[row-index="b-3"]'))).to_contain_text("Total (14)")
    groups = page.locator('.ag-pinned-left-cols-container [col-id="group"]').all_inner_texts()
    assert groups == sorted(groups), groups
    page.get_by_role("columnheader", name="Market value").click()
    groups = page.locator('.ag-pinned-left-cols-container [col-id="group"]').all_inner_texts()
    assert groups == sorted(groups), "a sort keeps each account's rows together"
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_stale_and_missing_prices_are_flagged_with_a_tooltip(page: Page) -> None:
    """A price weeks old is marked stale and a missing one is marked missing, each cell
    explaining itself on hover, and the page names the holdings concerned."""

    served: list[str] = []

    def doctored(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        served.append(body["as_of"])
        for holding in body["holdings"]:
            if holding["symbol"] == "BTC":
                holding["price_as_of"] = "2026-11-01"
            if holding["symbol"] == "ETH":
                holding.update(price=None, price_missing=True, market_value=None)
                holding.update(unrealized_gain=None, price_as_of=None)
        route.fulfill(response=answer, json=body)

    page.route("**/api/v1/holdings?*", doctored)
    _open(page)
    rows = {h["symbol"]: h["id"] for h in _holding_list(page)}
    stale = cell(page, rows["BTC"], "price")
    expect(stale).to_have_class(re.compile("stale-price"))
    expect(cell(page, rows["ETH"], "price")).to_have_class(re.compile("missing-price"))
    expect(cell(page, rows["ETH"], "price")).to_have_text("no price")
    expect(cell(page, rows["ETH"], "market_value")).to_have_text("—")
    expect(page.get_by_text("2 holding(s) with a stale or missing price")).to_be_visible()
    expect(page.locator(".ag-pinned-left-floating-bottom")).to_contain_text("Total (14)")
    total = page.locator('.ag-floating-bottom [row-id="total:Total"]')
    expect(total.locator('[col-id="market_value"]')).to_have_text("—")
    expect(total.locator('[col-id="weight"]')).to_have_text("—")
    stale.hover()
    # the age counts to the day the holdings were valued (the server's today)
    age = (date.fromisoformat(served[-1]) - date(2026, 11, 1)).days
    expect(page.locator(".ag-tooltip")).to_contain_text(
        f"Stale price: as of 2026-11-01 ({age} days old)"
    )


def test_export_csv_downloads_every_row(page: Page) -> None:
    """Export CSV downloads a file with a line per holding and the total."""
    _open(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    path = download.value.path()
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith('"Symbol","Account","Asset type","Quantity"')
    holdings = page.request.get(page.base + HOLDINGS).json()["holdings"]  # type: ignore[attr-defined]
    assert len(lines) == 1 + len(holdings) + 1
    for holding in holdings:
        assert any(f'"{holding["symbol"]}","{holding["account"]}"' in line for line in lines)
    assert lines[-1].startswith('"Total (')
