"""A provider's API on 127.0.0.1 for tests: registered replies, in order, and a request log.

Adapters are tested against it over real HTTP (their base URL points here), never against
the internet; replies carry the providers' real response shapes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What the server answers: a JSON-able body or raw text, a status, headers, a delay."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None


Responder = Reply | Callable[[Request], Reply]


class Upstream:
    """Serves registered routes; each route's replies are used in order, the last repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Responder]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                request = Request(
                    parts.path, params, {k.lower(): v for k, v in self.headers.items()}
                )
                reply = upstream._reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = (reply.raw if reply.raw is not None else json.dumps(reply.body)).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, *replies: Responder) -> None:
        with self._lock:
            self.routes[path] = list(replies)

    def calls(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _reply(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            replies = self.routes.get(request.path)
            if not replies:
                return Reply({"error": f"no route for {request.path}"}, status=404)
            responder = replies.pop(0) if len(replies) > 1 else replies[0]
        return responder(request) if callable(responder) else responder

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve() -> Iterator[Upstream]:
    with Upstream() as upstream:
        yield upstream
