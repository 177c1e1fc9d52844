"""Plain HTTP/1.1 on asyncio streams, one keep-alive connection per simulated client: a
load generator that costs ~0.1 ms of client CPU a request. httpx's async pool costs
several ms a request at 50 connections and more at 200, and on a 2-core machine the
benchmark would measure its own client rather than the server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

#: A connection idle this long is not reused: uvicorn closes kept-alive connections after
#: 5 s, and a request sent as it closes one is lost (as httpx's keepalive_expiry does).
IDLE_SECONDS = 4.0


class RawConnection:
    """One keep-alive connection to ``host:port``, opened on first use and again after the
    server closed it (its keep-alive timeout). Answers need a Content-Length (uvicorn
    gives one to every JSON answer)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        host_port = base.removeprefix("http://")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.head = f"Host: {host_port}\r\n{extra}"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.used = time.monotonic()  # when the connection last got an answer

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one request."""
        idle = time.monotonic() - self.used
        if self.streams is not None and (self.streams[0].at_eof() or idle > IDLE_SECONDS):
            self.close()  # the server closes it at its keep-alive timeout: not reused then
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = f"{method} {path} HTTP/1.1\r\n{self.head}"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        try:
            writer.write(head.encode() + b"\r\n" + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            lines = answer.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = None
            for line in lines[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                raise ValueError("an answer without Content-Length")
            answer_body = await reader.readexactly(length)
            self.used = time.monotonic()
            return status, answer_body
        except BaseException:
            self.close()
            raise

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path)

    async def json(self, method: str, path: str, payload: Any) -> tuple[int, bytes]:
        return await self.request(method, path, json.dumps(payload).encode(), "application/json")

    async def upload(
        self, path: str, filename: str, content: bytes, fields: dict[str, str]
    ) -> tuple[int, bytes]:
        """A multipart/form-data POST of one file and some form fields."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return await self.request("POST", path, body, f"multipart/form-data; boundary={boundary}")

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None
