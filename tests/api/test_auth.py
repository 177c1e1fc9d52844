"""Who a request is: sign-up, sign-in and its limits, the session cookie and its CSRF
token, API tokens, and what the database keeps of passwords and tokens."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.services.auth import LoginLimits
from quantdesk.store.database import make_engine, migrate
from quantdesk.store.tables import auth_tokens, users
from tests.api.conftest import PASSWORD, browser, script
from tests.conftest import NOW

PROBLEM = "application/problem+json"
TYPE = "urn:quantdesk:problem:"
WINDOW = timedelta(minutes=15)
HERE, ELSEWHERE = ("10.0.0.1", 50000), ("10.0.0.2", 50000)


@dataclass
class Clock:
    """A clock the test moves."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def _limited(engine: Engine, clock: Clock, *, per_account: int, per_address: int) -> FastAPI:
    limits = LoginLimits(per_account=per_account, per_address=per_address, window=WINDOW)
    settings = ApiSettings(database_url=str(engine.url), login_limits=limits, offline=True)
    return create_app(settings, engine=engine, clock=clock)


def _register(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/register", json={"username": name, "password": password})


def _login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"username": name, "password": password})


def _problem(answer: Any) -> tuple[int, str, str]:
    return answer.status_code, answer.headers["content-type"], answer.json()["type"]


def _cookies(answer: Any) -> dict[str, tuple[bool, str, bool]]:
    """Each cookie set: (HttpOnly, SameSite in lower case, Secure)."""
    found: dict[str, tuple[bool, str, bool]] = {}
    for header in answer.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[name] = (
                bool(morsel["httponly"]),
                morsel["samesite"].lower(),
                bool(morsel["secure"]),
            )
    return found


# registration -----------------------------------------------------------------------------
def test_register_refuses_a_short_password_naming_the_field(sqlite_app: FastAPI) -> None:
    """A password under 8 characters is a 422 whose errors name body.password."""
    answer = _register(TestClient(sqlite_app), "ann", "short")
    assert (422, PROBLEM, TYPE + "validation-error") == _problem(answer)
    assert ["body.password"] == [e["field"] for e in answer.json()["errors"]]


def test_register_refuses_a_malformed_name_naming_the_field(sqlite_app: FastAPI) -> None:
    """A user name with spaces is a 422 whose errors name body.username."""
    answer = _register(TestClient(sqlite_app), "ann smith")
    assert (422, PROBLEM, TYPE + "validation-error") == _problem(answer)
    assert ["body.username"] == [e["field"] for e in answer.json()["errors"]]


def test_register_refuses_a_taken_name_and_keeps_the_first_password(app: FastAPI) -> None:
    """Registering a taken name is 409, and the name still signs in with its own password."""
    client = TestClient(app)
    assert 201 == _register(client, "ann").status_code
    answer = _register(client, "ann", "another password")
    assert (409, PROBLEM, TYPE + "conflict") == _problem(answer)
    assert 401 == _login(client, "ann", "another password").status_code
    assert 200 == _login(client, "ann").status_code


# login ------------------------------------------------------------------------------------
def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(app: FastAPI) -> None:
    """A failed login is 401 and does not say whether the name or the password was wrong."""
    client = TestClient(app)
    assert 201 == _register(client, "ann").status_code
    wrong_password = _login(client, "ann", "not the password")
    unknown_name = _login(client, "nobody", "not the password")
    assert (401, PROBLEM, TYPE + "not-authenticated") == _problem(wrong_password)
    assert "wrong user name or password" == wrong_password.json()["detail"]
    assert wrong_password.json() == unknown_name.json()


def test_login_sets_an_http_only_lax_session_cookie_not_secure_by_default(
    sqlite_app: FastAPI,
) -> None:
    """The session cookie is HttpOnly and SameSite=Lax; the CSRF cookie is readable by the
    page; neither is Secure unless configured (the embedded server speaks plain HTTP)."""
    client = TestClient(sqlite_app)
    assert 201 == _register(client, "ann").status_code
    answer = _login(client, "ann")
    expected = {"quantdesk_session": (True, "lax", False), "quantdesk_csrf": (False, "lax", False)}
    assert expected == _cookies(answer)
    assert answer.json()["csrf_token"] == client.cookies["quantdesk_csrf"]


def test_cookies_are_secure_when_configured(sqlite_engine: Engine) -> None:
    """With cookie_secure the session and CSRF cookies are sent over HTTPS only."""
    settings = ApiSettings(database_url=str(sqlite_engine.url), cookie_secure=True, offline=True)
    client = TestClient(create_app(settings, engine=sqlite_engine, clock=Clock()))
    assert 201 == _register(client, "ann").status_code
    expected = {"quantdesk_session": (True, "lax", True), "quantdesk_csrf": (False, "lax", True)}
    assert expected == _cookies(_login(client, "ann"))


def test_login_is_limited_per_account_even_with_the_right_password(engine: Engine) -> None:
    """After 3 failures for a name, its logins are 429 with Retry-After from anywhere, even
    with the right password, until the window has passed."""
    clock = Clock()
    app = _limited(engine, clock, per_account=3, per_address=100)
    here, elsewhere = TestClient(app, client=HERE), TestClient(app, client=ELSEWHERE)
    assert 201 == _register(here, "ann").status_code
    assert [401, 401, 401] == [_login(here, "ann", "guess").status_code for _ in range(3)]
    refused = _login(here, "ann")
    assert (429, PROBLEM, TYPE + "too-many-attempts") == _problem(refused)
    assert ("901", 901) == (refused.headers["retry-after"], refused.json()["retry_after"])
    assert 429 == _login(elsewhere, "ann").status_code
    clock.now += WINDOW + timedelta(seconds=1)
    assert 200 == _login(here, "ann").status_code


def test_login_is_limited_per_address(engine: Engine) -> None:
    """After 3 failures from one address (whatever the names), logins from there are 429
    with Retry-After, even with the right password; other addresses still sign in."""
    app = _limited(engine, Clock(), per_account=100, per_address=3)
    here, elsewhere = TestClient(app, client=HERE), TestClient(app, client=ELSEWHERE)
    assert 201 == _register(here, "ann").status_code
    guesses = [_login(here, name, "guess").status_code for name in ("bob", "carol", "dave")]
    assert [401, 401, 401] == guesses
    refused = _login(here, "ann")
    assert (429, PROBLEM, TYPE + "too-many-attempts") == _problem(refused)
    assert "901" == refused.headers["retry-after"]
    assert 200 == _login(elsewhere, "ann").status_code


# sessions and CSRF ------------------------------------------------------------------------
def test_a_browser_write_without_its_csrf_token_is_refused_and_stores_nothing(
    app: FastAPI,
) -> None:
    """A cookie-session write without X-CSRF-Token, or with a wrong one, is 403 and stores
    nothing; with the session's token it goes through."""
    ann = browser(app, "ann")
    account = {"name": "Broker", "kind": "brokerage"}
    missing = ann.client.post("/api/v1/accounts", json=account)
    wrong = ann.client.post("/api/v1/accounts", json=account, headers={"X-CSRF-Token": "forged"})
    assert (403, PROBLEM, TYPE + "forbidden") == _problem(missing)
    assert (403, PROBLEM, TYPE + "forbidden") == _problem(wrong)
    assert [] == ann.get("/api/v1/accounts").json()
    assert 201 == ann.post("/api/v1/accounts", json=account).status_code
    assert ["Broker"] == [a["name"] for a in ann.get("/api/v1/accounts").json()]


def test_a_token_write_needs_no_csrf_token(app: FastAPI) -> None:
    """A script with a bearer token (no cookie, no CSRF header) writes."""
    ann = script(app, "ann")
    assert "X-CSRF-Token" not in ann.headers
    made = ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    assert 201 == made.status_code


def test_logout_ends_the_session_on_the_server(app: FastAPI) -> None:
    """After logout the session is 401, even for a client that kept the cookie."""
    ann = browser(app, "ann")
    kept = ann.client.cookies["quantdesk_session"]
    assert 204 == ann.post("/api/v1/auth/logout").status_code
    assert 401 == ann.get("/api/v1/auth/me").status_code
    replayed = TestClient(app, cookies={"quantdesk_session": kept}).get("/api/v1/auth/me")
    assert (401, PROBLEM, TYPE + "not-authenticated") == _problem(replayed)


def test_a_session_and_a_token_do_not_stand_in_for_each_other(app: FastAPI) -> None:
    """A session token sent as a bearer token is 401, and an API token in the cookie too."""
    ann = browser(app, "ann")
    session = ann.client.cookies["quantdesk_session"]
    token = ann.post("/api/v1/auth/tokens", json={"name": "script"}).json()["token"]
    as_bearer = TestClient(app).get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {session}"}
    )
    as_cookie = TestClient(app, cookies={"quantdesk_session": token}).get("/api/v1/auth/me")
    assert (401, 401) == (as_bearer.status_code, as_cookie.status_code)


# API tokens -------------------------------------------------------------------------------
def test_the_token_list_never_shows_secrets(app: FastAPI) -> None:
    """Listing tokens gives their names and dates, never the secret, even once used."""
    ann = browser(app, "ann")
    made = ann.post("/api/v1/auth/tokens", json={"name": "script", "expires_in_days": 30})
    secret = made.json()["token"]
    used = TestClient(app).get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert "api" == used.json()["auth"]
    listed = ann.get("/api/v1/auth/tokens")
    expected = {"id", "name", "created_at", "expires_at", "last_used_at"}
    assert [expected] == [set(t) for t in listed.json()]
    assert secret not in listed.text


def test_a_revoked_token_is_refused(app: FastAPI) -> None:
    """Once revoked, a token is 401 and no longer listed."""
    ann = browser(app, "ann")
    made = ann.post("/api/v1/auth/tokens", json={"name": "script"}).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    client = TestClient(app)
    assert 200 == client.get("/api/v1/auth/me", headers=bearer).status_code
    assert 204 == ann.delete(f"/api/v1/auth/tokens/{made['id']}").status_code
    refused = client.get("/api/v1/auth/me", headers=bearer)
    assert (401, PROBLEM, TYPE + "not-authenticated") == _problem(refused)
    assert [] == ann.get("/api/v1/auth/tokens").json()


# what the database keeps ------------------------------------------------------------------
def test_passwords_are_stored_as_argon2id_and_tokens_only_as_hashes(
    app: FastAPI, engine: Engine
) -> None:
    """The users table holds an argon2id hash, and auth_tokens no secret of a session, a
    CSRF token or an API token, only their SHA-256 hashes."""
    ann = browser(app, "ann")
    issued = {
        "session": ann.client.cookies["quantdesk_session"],
        "csrf": ann.headers["X-CSRF-Token"],
        "api": ann.post("/api/v1/auth/tokens", json={"name": "script"}).json()["token"],
    }
    with engine.connect() as conn:
        hashes = conn.execute(select(users.c.password_hash)).scalars().all()
        rows = [tuple(row) for row in conn.execute(select(auth_tokens)).all()]
    assert [True] == [h.startswith("$argon2id$") for h in hashes]
    stored = " ".join(str(value) for row in rows for value in row)
    assert dict.fromkeys(issued, False) == {n: s in stored for n, s in issued.items()}
    digests = {hashlib.sha256(s.encode()).hexdigest() for s in issued.values()}
    assert digests <= {str(value) for row in rows for value in row}


def test_logins_at_the_same_moment_cannot_pass_the_limit_together(engine: Engine) -> None:
    """Twelve wrong passwords sent at once get at most the limit's three checks; every
    other one is refused with 429 (each attempt is counted before it is checked)."""
    app = _limited(engine, Clock(), per_account=3, per_address=100)
    assert 201 == _register(TestClient(app), "ann").status_code
    barrier = threading.Barrier(12, timeout=20)
    statuses: list[int] = []

    def guess() -> None:
        client = TestClient(app)
        barrier.wait()
        statuses.append(_login(client, "ann", "wrong password!").status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert 12 == len(statuses)
    assert statuses.count(401) <= 3
    assert 12 == statuses.count(401) + statuses.count(429)


def test_session_says_whether_the_browser_is_signed_in_without_a_401(
    sqlite_app: FastAPI,
) -> None:
    """The page asks before it shows the sign-in form: signed out (no cookie, or a cookie
    no longer valid) is a 200 saying so, signed in names the user; logout ends it."""
    client = TestClient(sqlite_app)
    assert {"signed_in": False, "user": None} == client.get("/api/v1/auth/session").json()
    client.cookies.set("quantdesk_session", "forged")
    assert {"signed_in": False, "user": None} == client.get("/api/v1/auth/session").json()
    client.cookies.clear()
    _register(client, "carol")
    csrf = _login(client, "carol").json()["csrf_token"]
    answer = client.get("/api/v1/auth/session")
    assert (200, True, "carol") == (
        answer.status_code,
        answer.json()["signed_in"],
        answer.json()["user"]["username"],
    )
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert {"signed_in": False, "user": None} == client.get("/api/v1/auth/session").json()
