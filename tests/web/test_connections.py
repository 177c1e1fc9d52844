"""Settings → Connections in a real browser, the server syncing against Kraken's API on
loopback (tests/connectors/kraken_server.py): an exchange connected with a key the page
never shows again, synced now with what it added said in words, a refused key shown in
plain words, and a connection removed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.connectors.kraken_server import API_KEY, SECRET, Kraken, ccxt_environment, small_account
from tests.web.conftest import Server, sign_in, start_server_with


@pytest.fixture(scope="module")
def kraken() -> Iterator[Kraken]:
    exchange = small_account()
    yield exchange
    exchange.close()


@pytest.fixture(scope="module")
def server(kraken: Kraken, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo, its exchanges pointed at the Kraken on loopback."""
    running = start_server_with(ccxt_environment(kraken), tmp_path_factory.mktemp("connections"))
    yield running
    running.process.terminate()
    running.process.wait(timeout=20)


def _connect(page: Page, account: str, secret: str) -> None:
    page.get_by_label("Exchange", exact=True).fill("kraken")
    page.get_by_label("Account", exact=True).fill(account)
    page.get_by_label("API key", exact=True).fill(API_KEY)
    page.get_by_label("API secret", exact=True).fill(secret)
    page.get_by_role("button", name="Connect").click()


def test_an_exchange_is_connected_synced_and_removed(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    table = page.get_by_role("table", name="Connections")
    page.get_by_role("button", name="Connect").click()  # empty: every field says what it needs
    expect(page.get_by_text("Paste the key's secret.")).to_be_visible()

    _connect(page, "Kraken", SECRET)
    row = table.get_by_role("row").filter(has_text="Kraken")
    expect(row).to_contain_text("Not synced yet")
    expect(page.get_by_label("API secret", exact=True)).to_have_value("")  # not kept
    assert SECRET not in page.content() and API_KEY not in page.content()

    row.get_by_role("button", name="Sync now").click()
    expect(row.get_by_role("status")).to_have_text("Added 1 trades, 1 deposits.")
    expect(row).to_contain_text("Synced just now")
    expect(page.get_by_role("table", name="Accounts")).to_contain_text("Kraken")

    row.get_by_role("button", name="Remove the kraken connection").click()
    expect(table.get_by_role("row").filter(has_text="Kraken")).to_have_count(0)


def test_a_refused_key_says_so_in_plain_words(page: Page) -> None:
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    _connect(page, "Kraken old key", "d3Jvbmcgc2VjcmV0")
    row = (
        page.get_by_role("table", name="Connections")
        .get_by_role("row")
        .filter(has_text="Kraken old key")
    )
    row.get_by_role("button", name="Sync now").click()
    status = row.get_by_test_id("connection-status")
    expect(status).to_have_text(
        "Sync failed: kraken refused the API key or secret: check them, or make a new key"
    )


def test_linking_a_brokerage_on_a_server_without_plaid_keys_says_so(page: Page) -> None:
    """This server has no Plaid keys: the page says what the server lacks, and links
    nothing (the Link window itself needs Plaid's script from the internet)."""
    page.troubles.expect_failure("/connections/plaid/link-token")  # type: ignore[attr-defined]
    sign_in(page, page.base)  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    linking = page.get_by_role("group", name="Link a brokerage")
    linking.get_by_role("button", name="Link with Plaid").click()
    expect(linking.get_by_role("status")).to_have_text("Name the account the brokerage syncs into.")
    linking.get_by_label("Brokerage account").fill("Schwab IRA")
    linking.get_by_role("button", name="Link with Plaid").click()
    expect(linking.get_by_role("status")).to_contain_text("Plaid is not set up on this server")
