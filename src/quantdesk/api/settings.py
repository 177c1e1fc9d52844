"""The API's settings, from the environment (each has a safe default for one machine)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from quantdesk.domain.errors import InvalidInput
from quantdesk.services.auth import LoginLimits


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw!r}") from None


DEFAULT_REQUEST_THREADS = 4


@dataclass(frozen=True)
class ApiSettings:
    database_url: str
    #: Send the session cookie only over HTTPS (``QUANTDESK_COOKIE_SECURE``): turn on
    #: behind TLS; off by default because the embedded server listens on plain HTTP.
    cookie_secure: bool = False
    #: Largest upload accepted, in bytes (``QUANTDESK_MAX_UPLOAD_MB``, default 50 MB).
    max_upload_bytes: int = 50 * 1024 * 1024
    session_ttl: timedelta = timedelta(days=14)
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    #: ``--offline``: price requests serve only what is stored.
    offline: bool = False
    #: The web dashboard's build (``QUANTDESK_WEB_DIST``; default: ``web/dist``).
    web_dist: Path | None = None
    #: How many requests one process runs at a time in its threadpool
    #: (``QUANTDESK_REQUEST_THREADS``, default 4; 0: anyio's default of 40). The routes
    #: are CPU-bound Python holding the GIL: past a few threads, a busy process runs its
    #: requests in turns of the interpreter's switch interval instead of one after the
    #: other, and each database round trip waits for the GIL again. The others queue on
    #: the event loop, in order. benchmarks/stack.py (4 workers on 2 cores): 40 threads
    #: p99 163 ms and 56 s of API CPU, 4 threads 123 ms and 50 s, 2 threads 122 ms; 1
    #: thread is worse (a process idles while its one request waits for the database).
    request_threads: int = DEFAULT_REQUEST_THREADS

    @classmethod
    def from_env(cls, database_url: str, *, offline: bool = False) -> ApiSettings:
        return cls(
            database_url=database_url,
            cookie_secure=_flag("QUANTDESK_COOKIE_SECURE", False),
            max_upload_bytes=_int("QUANTDESK_MAX_UPLOAD_MB", 50) * 1024 * 1024,
            session_ttl=timedelta(days=_int("QUANTDESK_SESSION_DAYS", 14)),
            login_limits=LoginLimits(
                per_account=_int("QUANTDESK_LOGIN_LIMIT_ACCOUNT", 5),
                per_address=_int("QUANTDESK_LOGIN_LIMIT_ADDRESS", 20),
                window=timedelta(minutes=_int("QUANTDESK_LOGIN_WINDOW_MINUTES", 15)),
            ),
            offline=offline,
            web_dist=Path(os.environ["QUANTDESK_WEB_DIST"])
            if os.environ.get("QUANTDESK_WEB_DIST")
            else None,
            request_threads=_int("QUANTDESK_REQUEST_THREADS", DEFAULT_REQUEST_THREADS),
        )
