"""Linking a brokerage through Plaid Link, in a real browser, end to end: the page asks
the server for a Link token, loads Plaid's Link script and opens it; Link's success
hands the page a public token, which the server exchanges with Plaid and keeps as a
connection; Sync now reads its investments. Plaid's API is the loopback one of
tests/connectors/plaid_server.py, and Plaid's script (from cdn.plaid.com, out of reach
here) is replaced by one that keeps Link's contract (``Plaid.create({token, onSuccess,
onExit}).open()``) and, as Link does, answers only the token Plaid issued."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.connectors.plaid_server import PUBLIC_TOKEN, Plaid, movement, plaid_environment
from tests.web.conftest import Server, sign_in, start_server_with

LINK_TOKEN = "link-sandbox-af1a0311-da53-4636-b754-dd15cc058176"  # what the fake Plaid issues
LINK_SCRIPT = f"""
window.Plaid = {{
  create: function (options) {{
    return {{
      open: function () {{
        // the brokerage signed in within Link's window: Link hands over a public token
        if (options.token === "{LINK_TOKEN}") {{
          options.onSuccess("{PUBLIC_TOKEN}", {{ institution: {{ name: "Test Brokerage" }} }});
        }} else {{
          options.onExit({{ error_code: "INVALID_LINK_TOKEN" }}, {{}});
        }}
      }},
    }};
  }},
}};
"""


@pytest.fixture(scope="module")
def plaid() -> Iterator[Plaid]:
    server = Plaid()
    server.transactions = [
        movement("pl-dep-1", "2026-01-05", "cash", "deposit", None, 0, 1, -10000),
        movement("pl-buy-1", "2026-01-06", "buy", "buy", 0, 10, 250, 2501, fees=1),
    ]
    server.holdings = {0: 10, 2: 7499}  # 2: the cash position
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(plaid: Plaid, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo, with Plaid keys and Plaid's API on loopback."""
    running = start_server_with(plaid_environment(plaid), tmp_path_factory.mktemp("plaid"))
    yield running
    running.process.terminate()
    running.process.wait(timeout=20)


def test_a_brokerage_linked_in_plaid_link_is_kept_and_synced(page: Page) -> None:
    loaded: list[str] = []

    def link_script(route: Route) -> None:
        loaded.append(route.request.url)
        route.fulfill(status=200, content_type="text/javascript", body=LINK_SCRIPT)

    page.route("https://cdn.plaid.com/**", link_script)
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    linking = page.get_by_role("group", name="Link a brokerage")
    linking.get_by_label("Brokerage account").fill("Schwab IRA")
    linking.get_by_role("button", name="Link with Plaid").click()
    expect(linking.get_by_role("status")).to_have_text("Linked: Sync now reads its investments.")
    assert ["https://cdn.plaid.com/link/v2/stable/link-initialize.js"] == loaded

    row = (
        page.get_by_role("table", name="Connections")
        .get_by_role("row")
        .filter(has_text="Schwab IRA")
    )
    expect(row).to_contain_text("plaid")
    row.get_by_role("button", name="Sync now").click()
    expect(row.get_by_role("status")).to_have_text("Added 2 investments.")
    expect(page.get_by_role("table", name="Accounts")).to_contain_text("Schwab IRA")
