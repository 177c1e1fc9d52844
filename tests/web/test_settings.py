"""The settings page in a real browser: preferences that persist, field errors, write-only
provider keys, the accounts list with each account's taxes, and the target allocation the
Suggestions page shares."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import sign_in


def _api(page: Page, path: str) -> str:
    base: str = page.base  # type: ignore[attr-defined]
    return base + "/api/v1" + path


def _open_settings(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    expect(page.get_by_label("Default benchmark")).not_to_have_value("")


def _saved_notice(page: Page) -> Locator:
    """The preferences form's own status line (the targets editor has another)."""
    return page.get_by_role("form", name="Preferences").get_by_role("status")


def test_a_changed_rate_and_benchmark_persist_after_a_reload(page: Page) -> None:
    """The risk-free rate entered as a percent and a lower-case benchmark are saved, and
    a reload shows them (the benchmark upper-cased)."""
    _open_settings(page)
    expect(page.get_by_label("Risk-free rate (% per year)")).to_have_value("4")
    page.get_by_label("Risk-free rate (% per year)").fill("3.25")
    page.get_by_label("Default benchmark").fill("qqq")
    page.get_by_role("button", name="Save settings").click()
    expect(_saved_notice(page)).to_have_text("Saved.")
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
    expect(_saved_notice(page)).to_have_text("")
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


def _taxable(page: Page, name: str) -> bool:
    """What GET /api/v1/accounts says of the account named `name`."""
    answer = page.request.get(_api(page, "/accounts"))
    assert answer.ok, answer.text()
    (account,) = [a for a in answer.json() if a["name"] == name]
    return bool(account["taxable"])


def test_an_accounts_taxes_are_set_and_returned_to_its_kind(page: Page) -> None:
    """The Taxes column shows each account's treatment. A brokerage account marked
    tax-advantaged stays so after a reload (and the API says taxable false); "By kind"
    makes it taxable again. A new account can be added tax-advantaged."""
    _open_settings(page)
    accounts = page.get_by_role("table", name="Accounts")
    expect(accounts.get_by_role("columnheader", name="Taxes")).to_be_visible()
    fidelity = accounts.get_by_role("row").filter(has_text="Fidelity").filter(has_text="brokerage")
    ira = accounts.get_by_role("row").filter(has_text="Vanguard IRA")
    expect(fidelity).to_contain_text("taxable")
    expect(fidelity).not_to_contain_text("tax-advantaged")
    expect(ira).to_contain_text("tax-advantaged")

    page.get_by_role("button", name="Edit account Fidelity").click()
    taxes = page.get_by_label("Taxes of account Fidelity")
    expect(taxes).to_have_value("taxable")  # the effective treatment, not "By kind"
    taxes.select_option(label="Tax-advantaged")
    page.get_by_role("button", name="Save account Fidelity").click()
    expect(fidelity).to_contain_text("tax-advantaged")
    page.reload()
    expect(fidelity).to_contain_text("tax-advantaged")
    assert _taxable(page, "Fidelity") is False

    page.get_by_role("button", name="Edit account Fidelity").click()
    expect(page.get_by_label("Taxes of account Fidelity")).to_have_value("advantaged")
    page.get_by_label("Taxes of account Fidelity").select_option(label="By kind")
    page.get_by_role("button", name="Save account Fidelity").click()
    expect(page.get_by_role("button", name="Edit account Fidelity")).to_be_visible()
    expect(fidelity).not_to_contain_text("tax-advantaged")
    expect(fidelity).to_contain_text("taxable")
    assert _taxable(page, "Fidelity") is True

    expect(page.get_by_label("Taxes", exact=True)).to_have_value("kind")
    page.get_by_label("Name", exact=True).fill("Employer HSA")
    page.get_by_label("Taxes", exact=True).select_option(label="Tax-advantaged")
    page.get_by_role("button", name="Add account").click()
    hsa = accounts.get_by_role("row").filter(has_text="Employer HSA")
    expect(hsa).to_contain_text("brokerage")
    expect(hsa).to_contain_text("tax-advantaged")
    expect(page.get_by_label("Taxes", exact=True)).to_have_value("kind")
    assert _taxable(page, "Employer HSA") is False


def test_targets_saved_in_settings_show_on_the_suggestions_page(page: Page) -> None:
    """The Suggestions page, seen first without targets, shows the targets saved in
    Settings' target allocation section once its link is followed (one shared cache)."""
    sign_in(page, page.base)  # type: ignore[attr-defined]
    answer = page.request.get(_api(page, "/holdings"))
    assert answer.ok, answer.text()
    classes = sorted({h["asset_type"] for h in answer.json()["holdings"]} - {"cash"})
    percents = dict.fromkeys(classes, 100 // len(classes))
    percents[classes[0]] += 100 - sum(percents.values())
    nav = page.get_by_role("navigation", name="Pages")
    nav.get_by_role("link", name="Suggestions").click()
    expect(page.get_by_test_id("no-targets")).to_be_visible()

    nav.get_by_role("link", name="Settings").click()
    section = page.get_by_role("region", name="Target allocation")
    expect(section).to_be_visible()
    for i, (cls, percent) in enumerate(percents.items(), start=1):
        if i > 1:
            section.get_by_role("button", name="Add a row").click()
        section.get_by_label(f"Target {i}: asset class or symbol").fill(cls)
        section.get_by_label(f"Target {i}: weight (%)").fill(str(percent))
    expect(section.get_by_test_id("weight-sum")).to_contain_text("100%")
    section.get_by_label("Band").fill("4")
    section.get_by_role("button", name="Save targets").click()
    expect(section.get_by_role("status")).to_have_text("Saved.")
    expect(section.get_by_test_id("targets-summary")).to_contain_text("band ±4%")

    section.get_by_role("link", name="See the suggestions").click()
    expect(page.get_by_role("heading", level=1, name="Suggestions")).to_be_visible()
    summary = page.get_by_test_id("targets-summary")
    for cls, percent in percents.items():
        expect(summary).to_contain_text(f"{cls} {percent}%")
    expect(summary).to_contain_text("band ±4%")
    expect(page.get_by_test_id("no-targets")).to_have_count(0)
    expect(page.get_by_test_id("as-of")).to_contain_text("as of")  # worked out for them
    expect(page.get_by_role("button", name="Edit targets")).to_have_attribute(
        "aria-expanded", "false"
    )
