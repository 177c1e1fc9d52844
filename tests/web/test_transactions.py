"""The Transactions page in a real browser: the ledger grid (filters, pages, delete) and
uploading exports (dry run first, every row error, then Import)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import DEMO_PASSWORD, DEMO_USER

API = "/api/v1"
DASH = "\u2013"  # the en dash of the pager: Rows 1 (en dash) 50 of 132
FIRST_PAGE = f"Rows 1{DASH}"

GOOD_TRADES = (
    "date,type,symbol,quantity,price,fees,asset_type\n"
    "2026-12-01,buy,IBM,3,250.5,1,stock\n"
    "2026-12-02,buy,KO,10,70.25,0,stock\n"
)
BAD_TRADES = (
    "date,type,symbol,quantity,price,fees,asset_type\n"
    "2026-11-02,buy,ORCL,3,190.5,1,stock\n"
    "2026-11-03,buy,ORCL,three,200,0,stock\n"
    "2026-13-04,sell,ORCL,1,210,0,stock\n"
)
ROBINHOOD = (
    '"Activity Date","Process Date","Settle Date","Instrument","Description",'
    '"Trans Code","Quantity","Price","Amount"\n'
    '"11/03/2026","11/03/2026","11/05/2026","NVDA","NVIDIA Corp","Buy","2","$140.00",'
    '"($280.00)"\n'
    '"11/04/2026","11/04/2026","11/05/2026","AAPL","AAPL 1/17/2027 Call $200.00","BTO",'
    '"1","$3.00","($300.00)"\n'
    '"11/05/2026","11/05/2026","11/05/2026","","ACH Deposit","ACH","","","$1,000.00"\n'
)


def open_transactions(page: Page) -> None:
    """Sign in straight onto /transactions (the other pages are not this module's)."""
    page.goto(page.base + "/transactions")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill(DEMO_USER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Transactions")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=FIRST_PAGE)).to_be_visible()


def total(page: Page, **query: Any) -> int:
    """How many transactions the API holds for this query (the user's own session)."""
    answer = page.request.get(page.base + API + "/transactions", params={"limit": 1, **query})  # type: ignore[attr-defined]
    assert answer.ok, answer.text()
    return int(answer.json()["total"])


def grid(page: Page) -> Locator:
    return page.get_by_role("region", name="Transactions", exact=True)


def symbols_in_grid(page: Page) -> list[str]:
    return grid(page).locator('.ag-center-cols-container [col-id="symbol"]').all_inner_texts()


def choose_file(page: Page, name: str, text: str) -> None:
    page.get_by_label("File to upload").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )


def test_a_generic_trades_csv_is_previewed_then_imported_into_the_grid(page: Page) -> None:
    """The dry run shows generic-trades and its preview without storing anything; Import
    stores the rows, says how many were added, and the grid shows them."""
    open_transactions(page)
    before = total(page)
    page.get_by_label("Into account").select_option("Fidelity")
    choose_file(page, "trades.csv", GOOD_TRADES)

    dry_run = page.get_by_label("Dry run")
    expect(dry_run.get_by_test_id("detected-format")).to_contain_text("generic-trades")
    expect(dry_run).to_contain_text("100%")
    expect(dry_run).to_contain_text("utf-8")
    preview = page.get_by_role("table", name="Preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview).to_contain_text("IBM")
    expect(preview).to_contain_text("$250.50")
    assert total(page) == before, "a dry run must store nothing"

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Imported trades.csv")).to_contain_text(
        "Added 2, duplicates 0"
    )
    assert total(page) == before + 2
    assert total(page, symbol="IBM") == 1
    expect(grid(page).get_by_role("gridcell", name="IBM", exact=True)).to_be_visible()
    expect(grid(page).get_by_role("gridcell", name="KO", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text=FIRST_PAGE)).to_contain_text(
        f"of {before + 2}"
    )


def test_a_csv_with_bad_rows_names_each_line_and_column_and_stores_nothing(page: Page) -> None:
    """A bad quantity on line 3 and a bad date on line 4 are both listed with their line
    and column, no Import is offered, and the ledger is unchanged."""
    page.troubles.expect_failure(API + "/uploads")  # type: ignore[attr-defined]
    open_transactions(page)
    before = total(page)
    page.get_by_label("Into account").select_option("Fidelity")
    choose_file(page, "bad.csv", BAD_TRADES)

    errors = page.get_by_role("table", name="Row errors")
    expect(errors.locator("tbody tr")).to_have_count(2)
    expect(errors).to_contain_text("file line 3, column quantity")
    expect(errors).to_contain_text("not a number: 'three'")
    expect(errors).to_contain_text("file line 4, column date")
    expect(page.get_by_text("nothing was imported")).to_be_visible()
    expect(page.get_by_test_id("detected-format")).to_contain_text("generic-trades")
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
    assert total(page) == before
    assert total(page, symbol="ORCL") == 0


def test_an_unrecognized_file_is_said_in_plain_words(page: Page) -> None:
    """A file whose header matches no format is explained (what its first line reads)."""
    page.troubles.expect_failure(API + "/uploads")  # type: ignore[attr-defined]
    open_transactions(page)
    page.get_by_label("Into account").select_option("Fidelity")
    choose_file(page, "mystery.csv", "colour,flavour\nred,sweet\n")
    failure = page.locator(".upload-failure")
    expect(failure).to_contain_text("quantdesk cannot read this file")
    expect(failure).to_contain_text("colour, flavour")
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)


def test_a_dropped_robinhood_export_is_detected_with_its_skipped_rows(page: Page) -> None:
    """Dropping a Robinhood-shaped CSV on the drop zone detects robinhood, previews its
    rows and lists the option row it skips; the formats list names robinhood too."""
    open_transactions(page)
    page.get_by_label("Into account").select_option("Fidelity")
    zone = page.get_by_role("region", name="Drop an export file here")
    transfer = page.evaluate_handle(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: "text/csv" }));
            return transfer;
        }""",
        ["robinhood.csv", ROBINHOOD],
    )
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})

    expect(zone).to_contain_text("robinhood.csv")
    expect(page.get_by_test_id("detected-format")).to_contain_text("robinhood")
    preview = page.get_by_role("table", name="Preview")
    expect(preview).to_contain_text("NVDA")
    expect(preview).to_contain_text("deposit")
    skipped = page.get_by_role("list", name="Skipped rows")
    expect(skipped).to_contain_text("option contract")
    expect(skipped).to_contain_text("line 3")

    page.get_by_text("Which files can I upload?").click()
    formats = page.locator(".formats-table")
    expect(formats).to_contain_text("Robinhood account activity report")
    expect(formats).to_contain_text("Activity Date, Process Date")


def test_filtering_by_symbol_shows_only_that_symbol_in_dark_mode(page: Page) -> None:
    """Typing a symbol narrows the grid to it (the count is the server's), and clearing
    the filters brings every row back; the page reads in the dark theme."""
    open_transactions(page)
    everything = total(page)
    spy = total(page, symbol="SPY")
    assert 0 < spy < everything

    page.get_by_label("Symbol").fill("spy")
    summary = page.get_by_role("status").filter(has_text=FIRST_PAGE)
    expect(summary).to_have_text(f"Rows 1{DASH}{min(spy, 50)} of {spy}")
    assert set(symbols_in_grid(page)) == {"SPY"}

    page.get_by_label("Type").select_option("dividend")
    dividends = total(page, symbol="SPY", type="dividend")
    expect(summary).to_have_text(f"Rows 1{DASH}{dividends} of {dividends}")

    page.get_by_role("button", name="Clear filters").click()
    expect(summary).to_contain_text(f"of {everything}")
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_deleting_a_row_asks_first_and_then_removes_it(page: Page) -> None:
    """Delete opens a confirmation naming the transaction; Cancel keeps it, Delete
    removes it from the ledger and the grid."""
    open_transactions(page)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "quantdesk_csrf")
    accounts = page.request.get(page.base + API + "/accounts").json()  # type: ignore[attr-defined]
    fidelity = next(a["id"] for a in accounts if a["name"] == "Fidelity")
    made = page.request.post(  # type: ignore[attr-defined]
        page.base + API + "/transactions",
        data={
            "account_id": fidelity,
            "type": "buy",
            "symbol": "T",
            "asset_type": "stock",
            "quantity": "5",
            "price": "22",
            "date": "2026-12-03",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert made.ok, made.text()

    page.get_by_label("Symbol").fill("T")
    expect(page.get_by_role("status").filter(has_text=FIRST_PAGE)).to_have_text(
        f"Rows 1{DASH}1 of 1"
    )
    delete = grid(page).get_by_role("button", name="Delete buy 5 T on 2026-12-03 in Fidelity")
    delete.click()
    dialog = page.get_by_role("dialog", name="Delete this transaction?")
    expect(dialog).to_contain_text("buy 5 T on 2026-12-03 in Fidelity")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert total(page, symbol="T") == 1

    delete.click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status").filter(has_text="No transactions match")).to_be_visible()
    assert total(page, symbol="T") == 0


def test_the_ledger_pages_through_the_server_with_a_chosen_page_size(page: Page) -> None:
    """With 25 rows per page the pager says which rows are shown and Next and Previous
    page fetch the following and preceding rows from the server."""
    open_transactions(page)
    everything = total(page)
    assert everything > 25
    page.get_by_label("Rows per page").select_option("25")
    summary = page.locator(".page-summary")
    expect(summary).to_have_text(f"Rows 1{DASH}25 of {everything}")
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()

    page.get_by_role("button", name="Next page").click()
    last = min(50, everything)
    expect(summary).to_have_text(f"Rows 26{DASH}{last} of {everything}")
    expect(grid(page).locator(".ag-center-cols-container .ag-row")).to_have_count(last - 25)

    page.get_by_role("button", name="Previous page").click()
    expect(summary).to_have_text(f"Rows 1{DASH}25 of {everything}")
