"""One HTTP server on 127.0.0.1 answering JSON, for the fake exchange and aggregator APIs
of the connection tests: each gives a function from a :class:`Request` to a status and a
JSON body."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    #: The query string as sent (signatures are computed over it).
    query: str
    body: str
    headers: dict[str, str]

    def params(self) -> dict[str, str]:
        """The query's (or a form body's) parameters, the last of each name."""
        text = self.query if self.method == "GET" else self.body
        return {k: v[-1] for k, v in parse_qs(text).items()}


Answer = Callable[[Request], tuple[int, Any]]


class JsonServer:
    """Serves ``answer`` on a free port of 127.0.0.1 until :meth:`close`."""

    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                request = Request(self.command, parts.path, parts.query, body, dict(self.headers))
                status, found = answer(request)
                payload = json.dumps(found).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def do_PUT(self) -> None:
                self._handle()

            def do_DELETE(self) -> None:
                self._handle()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
