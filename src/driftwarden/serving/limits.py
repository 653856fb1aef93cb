"""The request-size limit: a body over ``serving.max_request_bytes`` is a 413 before it is parsed.

Two checks, both before any JSON parser sees a byte. A request that announces a larger body in
``Content-Length`` is answered at once, without reading it. A body without a length (chunked) or
with one that understates it is counted as it streams in, and reading stops with
:class:`~driftwarden.serving.errors.RequestTooLarge` as soon as the count passes the limit, so
the server never holds more than the limit (plus one chunk) of a body it will refuse. Both
answers have the body :func:`~driftwarden.serving.errors.error_body` gives every error.

The row limit of ``/v1/predict`` (``serving.max_request_rows``) is the other size limit: it is
checked once the body is parsed, before any row is validated.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from driftwarden.serving.errors import RequestTooLarge, error_body, too_large_detail

__all__ = ["BodySizeLimit"]


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
    body = json.dumps(error_body("request_too_large", detail, "body")).encode()
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
