"""The web dashboard in a real browser: Debian's headless Chromium driven by Playwright
against `quantdesk serve --demo` on 127.0.0.1.

Where no Chromium exists the browser tests skip and say why, except under CI, where
they must run (`.ci/run` installs it). The production build (`make web`) must exist:
`make test` builds it first. Each test's page screenshots go to
test-artifacts/screenshots/; any console error or failed request fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The build under test (the server reads the same variable): `make web` writes web/dist.
DIST = Path(os.environ.get("QUANTDESK_WEB_DIST") or ROOT / "web" / "dist")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("QUANTDESK_CHROMIUM", "/usr/bin/chromium")
DEMO_USER, DEMO_PASSWORD = "demo", "quantdesk-demo"


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    db: str
    process: subprocess.Popen[bytes]


def start_server(
    folder: Path,
    *,
    demo: bool = True,
    extra: tuple[str, ...] = (),
    serve_args: tuple[str, ...] = (),
) -> Server:
    """`quantdesk serve [--demo]` on a free loopback port, over a fresh SQLite file."""
    port = _free_port()
    db = f"sqlite:///{folder / 'web.db'}"
    command = str(Path(sys.executable).parent / "quantdesk")
    args = [command, "--db", db, *extra, "serve", "--port", str(port), *serve_args]
    if demo:
        args.append("--demo")
    with (folder / "server.log").open("wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((folder / "server.log").read_text())
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, db, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start in 90 s: " + (folder / "server.log").read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo (user demo, password quantdesk-demo, the demo portfolio loaded), fresh for
    each test module: one feature's edits never reach another's tests."""
    _need((DIST / "index.html").is_file(), f"the web build {DIST} is missing (run `make web`)")
    running = start_server(tmp_path_factory.mktemp("web"))
    yield running
    running.process.terminate()
    running.process.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _need(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        f"no Chromium at {CHROMIUM} (apt-get install -y chromium)",
    )
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only for browser tests

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def start_server_with(environment: dict[str, str], folder: Path) -> Server:
    """:func:`start_server` of the demo with ``environment`` set for the server only (a
    fake exchange's or aggregator's address on loopback, its keys)."""
    _need((DIST / "index.html").is_file(), f"the web build {DIST} is missing (run `make web`)")
    saved = {k: os.environ.get(k) for k in environment}
    os.environ.update(environment)
    try:
        return start_server(folder)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Troubles:
    """What went wrong in the page: console errors, uncaught exceptions, failed requests."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_failure(self, fragment: str) -> None:
        """A request that this test makes fail on purpose (a bad upload)."""
        self.expected.append(fragment)

    def unexpected(self) -> list[str]:
        return [t for t in self.console + self.failed if not any(f in t for f in self.expected)]


@pytest.fixture
def page(browser: object, server: Server, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (1440x900, a laptop screen) on the demo server; fails the
    test on any console error or failed request it did not expect."""
    from playwright.sync_api import Browser  # noqa: PLC0415

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    tab = context.new_page()
    troubles = Troubles()
    tab.on(
        "console",
        lambda m: (
            troubles.console.append(f"console {m.type}: {m.text} ({m.location.get('url')})")
            if m.type == "error"
            else None
        ),
    )
    tab.on("pageerror", lambda e: troubles.console.append(f"page error: {e}"))
    tab.on(
        "response",
        lambda r: (
            troubles.failed.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )
    tab.troubles = troubles  # type: ignore[attr-defined]
    tab.base = server.url  # type: ignore[attr-defined]
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    problems = troubles.unexpected()
    assert not problems, "the page had errors:\n" + "\n".join(problems)


def sign_in(tab: object, base: str) -> None:
    """Open the dashboard and sign in as the demo user."""
    from playwright.sync_api import Page, expect  # noqa: PLC0415

    assert isinstance(tab, Page)
    tab.goto(base + "/")
    tab.get_by_label("User name").fill(DEMO_USER)
    tab.get_by_label("Password").fill(DEMO_PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("navigation", name="Pages")).to_be_visible()
