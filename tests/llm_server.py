"""A fake OpenAI-compatible chat completions server on 127.0.0.1, for the language-model
summary's tests (services and API)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    """An OpenAI-compatible chat completions server: answers ``content`` in OpenAI's
    shape, or ``status`` with ``raw`` text, after ``delay`` seconds; logs each request."""

    content: str = ""
    status: int = 200
    raw: str | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    released: threading.Event = field(default_factory=threading.Event)

    def reply(self) -> bytes:
        if self.raw is not None:
            return self.raw.encode()
        return json.dumps(
            {
                "id": "chatcmpl-9f2c1",
                "object": "chat.completion",
                "created": 1796546400,
                "model": "qwen2.5-7b-instruct",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 812, "completion_tokens": 96, "total_tokens": 908},
            }
        ).encode()


@contextmanager
def chat_server(content: str = "") -> Iterator[ChatServer]:
    """An OpenAI-compatible server on 127.0.0.1 for the life of the block."""
    state = ChatServer(content)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Received(self.path, headers, body))
            if state.delay:
                state.released.wait(state.delay)
            payload = state.reply()
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    state.url = f"http://{host!s}:{port}/v1"
    yield state
    state.released.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
