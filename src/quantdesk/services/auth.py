"""Who a request is: registration, login (rate limited), sessions, API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory
profile). Session and API tokens are 256-bit random strings; only their SHA-256 hashes are
stored, so a copy of the database lets nobody in. A browser session also carries a CSRF
token (double submit: the page echoes it in ``X-CSRF-Token`` on every write).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from quantdesk.domain.errors import (
    InvalidFields,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from quantdesk.services.ports import AuthUnitOfWork, StoredTokenLike

SESSION = "session"
API_TOKEN = "api"  # noqa: S105 - the kind of a token, not a secret
TOKEN_PREFIX = "qd_"  # noqa: S105 - a label before the random part, not a secret
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}").fullmatch
_NAME_RULE = "a user name is 1 to 100 letters, digits or . _ @ - and starts with a letter or digit"

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name takes as long
    as a wrong password and the answer does not tell which names exist (made on first
    use: hashing costs tens of milliseconds, not to be paid by every import)."""
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """At most ``per_account`` failed logins per user name and ``per_address`` per client
    address within ``window``; beyond, logins are refused until the window passes."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: int
    user_name: str
    kind: str  # session or api
    token_id: int
    csrf_hash: str | None
    #: The user's ledger revision and market when the request was authenticated.
    ledger_revision: int = 0
    market: str = "live"
    #: The settings the user had chosen then (None: not read with the token).
    settings: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class IssuedSession:
    user_id: int
    user_name: str
    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    name: str
    token: str
    created_at: datetime
    expires_at: datetime | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def valid_name(name: str) -> str:
    cleaned = name.strip()
    if not _NAME(cleaned):
        raise InvalidFields([("username", _NAME_RULE)])
    return cleaned


def _valid_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidFields(
            [("password", f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")]
        )
    return password


def register(
    uow: AuthUnitOfWork,
    name: str,
    password: str,
    *,
    clock: Callable[[], datetime],
    market: str = "live",
) -> int:
    """Create a user with a password; returns its id. A taken name is a Conflict."""
    cleaned = valid_name(name)
    hashed = _hasher.hash(_valid_password(password))
    with uow() as store:
        return store.create_user(cleaned, hashed, clock(), market)


def set_password(
    uow: AuthUnitOfWork, name: str, password: str, *, clock: Callable[[], datetime]
) -> int:
    """Give a user (a CLI user, say) a password, creating the user if new; their
    sessions and tokens end. Returns the user's id."""
    cleaned = valid_name(name)
    hashed = _hasher.hash(_valid_password(password))
    with uow() as store:
        found = store.user(cleaned)
        if found is None:
            return store.create_user(cleaned, hashed, clock(), "live")
        store.set_password(found.id, hashed)
        store.delete_tokens(found.id)
        return found.id


def login(
    uow: AuthUnitOfWork,
    name: str,
    password: str,
    *,
    address: str,
    clock: Callable[[], datetime],
    limits: LoginLimits = LoginLimits(),
    session_ttl: timedelta = timedelta(days=14),
) -> IssuedSession:
    """Check a name and password and open a browser session.

    Refused with :class:`TooManyAttempts` once the account or the address has
    ``limits`` failures in the window (even with the right password: a guesser must not
    learn it was right); a wrong name or password is :class:`NotAuthenticated` without
    saying which.
    """
    now = clock()
    subjects = [f"user:{name.strip().casefold()}", f"addr:{address}"]
    # Every attempt is recorded (and committed) before it is checked, so that attempts
    # running at the same moment count each other: the limit holds under concurrency.
    with uow() as store:
        store.record_failure(subjects, now)
    with uow() as store:
        since = now - limits.window
        for subject, limit in zip(subjects, (limits.per_account, limits.per_address), strict=True):
            count, oldest = store.failures(subject, since)
            if count > limit:  # this attempt included
                wait = limits.window - (now - oldest) if oldest is not None else limits.window
                raise TooManyAttempts(
                    "too many failed logins"
                    + (" for this account" if subject.startswith("user:") else " from here")
                    + f"; try again in {max(1, int(wait.total_seconds()) // 60 + 1)} minute(s)",
                    retry_after=max(1, int(wait.total_seconds()) + 1),
                )
        user = store.user(name.strip())
        ok = _verify(user.password_hash if user else None, password)
        if user is not None and ok and _hasher.check_needs_rehash(user.password_hash or ""):
            store.set_password(user.id, _hasher.hash(password))
    if user is None or not ok:  # the attempt stays recorded as a failure
        raise NotAuthenticated("wrong user name or password")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with uow() as store:
        store.clear_failures(subjects[0])
        store.forget_attempt(subjects[1], now)  # a success is not a failure
        store.clear_failures(subjects[1], before=now - limits.window)
        store.delete_expired(now)
        store.add_token(
            user_id=user.id,
            kind=SESSION,
            token_hash=digest(token),
            csrf_hash=digest(csrf),
            name=None,
            now=now,
            expires_at=now + session_ttl,
        )
    return IssuedSession(user.id, user.name, token, csrf, now + session_ttl)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    uow: AuthUnitOfWork, token: str, *, kind: str, clock: Callable[[], datetime]
) -> Principal:
    """The caller a session cookie or bearer token stands for; NotAuthenticated when it
    is unknown, expired, or of the other kind."""
    now = clock()
    with uow() as store:
        found = store.token(digest(token))
        if found is None or found.kind != kind:
            raise NotAuthenticated("not signed in, or the session or token is no longer valid")
        if found.expires_at is not None and found.expires_at <= now:
            store.delete_token(found.user_id, found.id)
            raise NotAuthenticated("the session or token has expired; sign in again")
        last = found.last_used_at
        if last is None or now - last > timedelta(minutes=1):  # one write a minute at most
            store.touch_token(found.id, now)
    return Principal(
        found.user_id,
        found.user_name,
        found.kind,
        found.id,
        found.csrf_hash,
        found.ledger_revision,
        found.market,
        found.settings,
    )


def csrf_matches(principal: Principal, csrf_token: str | None) -> bool:
    """Whether a write from a browser session carries the session's CSRF token."""
    if principal.csrf_hash is None or not csrf_token:
        return False
    return hmac.compare_digest(principal.csrf_hash, digest(csrf_token))


def logout(uow: AuthUnitOfWork, principal: Principal) -> None:
    with uow() as store:
        store.delete_token(principal.user_id, principal.token_id)


def create_api_token(
    uow: AuthUnitOfWork,
    principal: Principal,
    name: str,
    *,
    clock: Callable[[], datetime],
    expires_in_days: int | None = None,
) -> IssuedToken:
    """A bearer token for scripts; its secret is shown once, here."""
    label = name.strip()
    if not 1 <= len(label) <= 100:
        raise InvalidInput("a token name has 1 to 100 characters")
    now = clock()
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with uow() as store:
        token_id = store.add_token(
            user_id=principal.user_id,
            kind=API_TOKEN,
            token_hash=digest(secret),
            csrf_hash=None,
            name=label,
            now=now,
            expires_at=expires,
        )
    return IssuedToken(token_id, label, secret, now, expires)


def list_api_tokens(uow: AuthUnitOfWork, principal: Principal) -> list[StoredTokenLike]:
    with uow(commit=False) as store:
        return list(store.tokens(principal.user_id, API_TOKEN))


def revoke_api_token(uow: AuthUnitOfWork, principal: Principal, token_id: int) -> None:
    with uow() as store:
        if not store.delete_token(principal.user_id, token_id, kind=API_TOKEN):
            raise NotFound(f"no API token {token_id}")
