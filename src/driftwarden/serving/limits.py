"""The request-size limit: a body over ``serving.max_request_bytes`` is a 413 before it is parsed.

Two checks, both before any JSON parser sees a byte. A request that announces a larger body in
``Content-Length`` is answered at once, without reading it. A body without a length (chunked) or
with one that understates it is counted as it streams in, and reading stops with
:class:`RequestTooLarge` as soon as the count passes the limit, so the server never holds more
than the limit (plus one chunk) of a body it will refuse.

The row limit of ``/v1/predict`` (``serving.max_request_rows``) is the other size limit: it is
checked once the body is parsed, before any row is validated.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "RequestTooLarge", "too_large_detail"]


def too_large_detail(limit: int, sent: int | None = None) -> str:
    """The message of a 413: what the limit is and what to do."""
    size = f"{sent} bytes sent" if sent is not None else "the body goes on past the limit"
    return (
        f"{size}; a request body may hold at most {limit} bytes (serving.max_request_bytes): "
        "split the batch into smaller requests"
    )


class RequestTooLarge(HTTPException):
    """Raised while a body streams in, once it passes the limit.

    An ``HTTPException`` so that FastAPI's body reading passes it on unchanged (it turns any
    other exception into a 400); the app's handler for it answers the 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))
        self.limit = limit


class BodySizeLimit:
    """ASGI middleware enforcing ``limit`` bytes per request body."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(send, too_large_detail(self.limit, declared))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise RequestTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:  # the server answers a malformed length itself
                return None
    return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"error": "request_too_large", "detail": detail, "field": "body"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
