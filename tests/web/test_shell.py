"""Signing in and moving around the dashboard in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import sign_in


def test_sign_in_shows_the_pages_and_a_wrong_password_is_said(page: Page) -> None:
    """A wrong password is an error on the form (nothing else happens); the right one
    opens the dashboard, and each page of the navigation opens."""
    page.troubles.expect_failure("/api/v1/auth/login")  # type: ignore[attr-defined]
    page.goto(page.base + "/")  # type: ignore[attr-defined]
    page.get_by_label("User name").fill("demo")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    sign_in(page, page.base)  # type: ignore[attr-defined]
    for name in ("Holdings", "Analytics", "Transactions", "Settings", "Dashboard"):
        page.get_by_role("navigation", name="Pages").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1).first).to_be_visible()


def test_dark_mode_is_remembered(page: Page) -> None:
    """The theme toggle switches to dark and a reload keeps it."""
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_a_server_that_cannot_be_reached_is_said_not_taken_for_signed_out(page: Page) -> None:
    """When the session check fails the sign-in form shows with the reason, not silently."""
    page.troubles.expect_failure("/api/v1/auth/session")  # type: ignore[attr-defined]
    page.route("**/api/v1/auth/session", lambda route: route.abort())
    page.goto(page.base + "/")  # type: ignore[attr-defined]
    expect(page.get_by_role("alert")).to_contain_text("Checking whether you are signed in failed")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
