"""The settings page in a real browser: preferences that persist, field errors, write-only
provider keys, and the accounts list."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import sign_in


def _open_settings(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    expect(page.get_by_label("Default benchmark")).not_to_have_value("")


def test_a_changed_rate_and_benchmark_persist_after_a_reload(page: Page) -> None:
    """The risk-free rate entered as a percent and a lower-case benchmark are saved, and
    a reload shows them (the benchmark upper-cased)."""
    _open_settings(page)
    expect(page.get_by_label("Risk-free rate (% per year)")).to_have_value("4")
    page.get_by_label("Risk-free rate (% per year)").fill("3.25")
    page.get_by_label("Default benchmark").fill("qqq")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.reload()
    expect(page.get_by_label("Risk-free rate (% per year)")).to_have_value("3.25")
    expect(page.get_by_label("Default benchmark")).to_have_value("QQQ")


def test_a_rate_out_of_range_is_shown_next_to_its_field(page: Page) -> None:
    """An 80% rate is refused by the API and its reason shows beside the rate field (in
    the dark theme); nothing is saved."""
    page.troubles.expect_failure("/api/v1/settings")  # type: ignore[attr-defined]
    _open_settings(page)
    page.get_by_role("button", name="Toggle dark mode").click()
    rate = page.get_by_label("Risk-free rate (% per year)")
    before = page.request.get(page.base + "/api/v1/settings").json()  # type: ignore[attr-defined]
    rate.fill("80")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#risk-free-error")).to_contain_text("between -0.05 and 0.5")
    expect(rate).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("status")).to_have_text("")
    after = page.request.get(page.base + "/api/v1/settings").json()  # type: ignore[attr-defined]
    assert before == after


def test_a_saved_provider_key_shows_only_its_last_four_characters(page: Page) -> None:
    """After saving, the key is gone from the page: the field is empty and says only that
    it is set and how it ends; Clear and Save make it not set."""
    secret = "AVSECRETKEY01234"
    _open_settings(page)
    status = page.get_by_test_id("alpha-vantage-key-status")
    expect(status).to_have_text("not set")
    page.get_by_label("Alpha Vantage API key", exact=True).fill(secret)
    expect(page.get_by_label("Alpha Vantage API key", exact=True)).to_have_attribute(
        "type", "password"
    )
    page.get_by_role("button", name="Save settings").click()
    expect(status).to_have_text("set, ends in 1234")
    expect(page.get_by_label("Alpha Vantage API key", exact=True)).to_have_value("")
    page.reload()
    expect(status).to_have_text("set, ends in 1234")
    assert secret not in page.content()
    page.get_by_role("button", name="Clear Alpha Vantage API key").click()
    page.get_by_role("button", name="Save settings").click()
    expect(status).to_have_text("not set")


def test_an_account_is_added_renamed_and_deleted(page: Page) -> None:
    """A new account shows in the list; a rename shows at once; deleting it asks first,
    and then it is gone."""
    _open_settings(page)
    accounts = page.get_by_role("table", name="Accounts")
    page.get_by_label("Name", exact=True).fill("Kraken spot")
    page.get_by_label("Kind", exact=True).select_option("exchange")
    page.get_by_label("Institution", exact=True).fill("Kraken")
    page.get_by_label("Currency", exact=True).fill("eur")
    page.get_by_role("button", name="Add account").click()
    row = accounts.get_by_role("row").filter(has_text="Kraken spot")
    expect(row).to_contain_text("exchange")
    expect(row).to_contain_text("EUR")
    page.get_by_role("button", name="Edit account Kraken spot").click()
    page.get_by_label("Name of account Kraken spot").fill("Kraken main")
    page.get_by_role("button", name="Save account Kraken spot").click()
    expect(accounts.get_by_role("row").filter(has_text="Kraken main")).to_be_visible()
    page.get_by_role("button", name="Delete account Kraken main").click()
    confirm = page.get_by_role("group", name="Confirm deleting account Kraken main")
    expect(confirm).to_contain_text("every entry")
    confirm.get_by_role("button", name="Yes, delete").click()
    expect(accounts.get_by_role("row").filter(has_text="Kraken main")).to_have_count(0)
