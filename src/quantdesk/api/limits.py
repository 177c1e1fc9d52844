"""The request body limit, enforced before anything reads the body: an over-size upload
is refused with 413 at its Content-Length, or as soon as a chunked body passes the limit,
before it is parsed, spooled to disk or even authenticated."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quantdesk.api.problems import problem

#: Multipart framing and form fields around the file itself.
OVERHEAD = 64 * 1024


def size_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


class BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes (plus framing) get a 413 problem."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit + OVERHEAD
        self.shown = limit

    def _refusal(self) -> JSONResponse:
        return problem(
            413,
            "payload-too-large",
            f"the request body is over the upload limit of {size_text(self.shown)} "
            "(QUANTDESK_MAX_UPLOAD_MB)",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refusal()(scope, receive, send)
                return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await self._refusal()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # the app's own answer after a refusal is dropped
                await send(message)

        await self.app(scope, counted, guarded)
