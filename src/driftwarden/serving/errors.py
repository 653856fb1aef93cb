"""One error format for every 4xx and 5xx: ``{"error": code, "detail": message, "field": name}``.

Domain errors map to one status each; request validation errors name the offending field as a
dotted path from the body (``rows.3.tenure``), so a client can fix exactly that value. A body
that is not JSON is a 400 ``malformed_json``, and a body that is JSON but not an object is a 422;
both name the field ``body``. A store outage is a 503 with ``Retry-After``: nothing was written,
and the request may be sent again.

:class:`CountedRoute` counts every answer of a route in ``driftwarden_requests_total``, including
the ones these handlers write (401, 403, 422, 503).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from driftwarden.core.errors import (
    ConfigError,
    ConflictError,
    DataError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    SchemaMismatchError,
    SpoolFullError,
    StoreUnavailableError,
)

__all__ = [
    "ApiError",
    "CountedRoute",
    "RequestTooLarge",
    "all_routes",
    "allowed_methods",
    "error_body",
    "install_error_handlers",
    "too_large_detail",
]

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[DriftwardenError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (SchemaMismatchError, 422, "schema_mismatch"),
    (DataError, 422, "invalid_data"),
    (ConfigError, 409, "conflict"),
    (ConflictError, 409, "conflict"),
    (SpoolFullError, 503, "spool_full"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (RegistryError, 503, "registry_unavailable"),
)

# Seconds a client should wait before sending a request again after a store outage: long
# enough not to hammer a database that is restarting, short enough that labels arrive soon.
RETRY_AFTER_SECONDS = 5

# Validation errors that mean "the body is not a JSON object at all".
_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type", "missing"})


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


class ApiError(Exception):
    """An error raised by a route with its status, code and field."""

    def __init__(self, status: int, error: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field


def error_body(error: str, detail: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": error, "detail": detail, "field": field}


def _field(location: Sequence[Any]) -> str | None:
    if tuple(location) in ((), ("body",)):
        # The body as a whole is wrong (not an object, or absent): name it, so a client can
        # tell this from an error without a field.
        return "body"
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or None


def _json_kind(value: Any) -> str:
    """How JSON calls the type of ``value``, with its article."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _message(error: dict[str, Any], field: str | None) -> str:
    if field == "body" and error.get("type") in _NOT_AN_OBJECT:
        got = "no body" if error.get("type") == "missing" else _json_kind(error.get("input"))
        return f"expected a JSON object, got {got}; send the fields as one JSON object"
    if error.get("type") == "extra_forbidden":
        return "unknown key; check its spelling or leave it out"
    return str(error.get("msg", "invalid request"))


def _malformed(error: dict[str, Any]) -> JSONResponse:
    location = error.get("loc", ())
    position = location[-1] if location else "?"
    reason = (error.get("ctx") or {}).get("error", "JSON decode error")
    detail = (
        f"the body is not valid JSON: {reason} (character {position}); "
        "send one JSON object with the content type application/json"
    )
    return JSONResponse(error_body("malformed_json", detail, "body"), status_code=400)


def _store_unavailable(detail: str, error: str = "store_unavailable") -> JSONResponse:
    return JSONResponse(
        error_body(error, detail),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # A misspelt key is also a missing one; naming the misspelling is what helps.
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        if first.get("type") == "json_invalid":
            return _malformed(first)
        field = _field(first.get("loc", ()))
        message = _message(first, field)
        detail = f"{field}: {message}" if field else message
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return JSONResponse(error_body("invalid_request", detail, field), status_code=422)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.detail, exc.field), status_code=exc.status)

    @app.exception_handler(RequestTooLarge)
    async def too_large(_: Request, exc: RequestTooLarge) -> JSONResponse:
        return JSONResponse(
            error_body("request_too_large", str(exc.detail), "body"),
            status_code=413,
            # The rest of the body was not read: the connection cannot be reused.
            headers={"Connection": "close"},
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # The route that refused knows only its own methods; another route may serve the
            # same path with others (GET and POST /v1/ab-tests are two routes).
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return JSONResponse(
            error_body(code.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(DriftwardenError)
    async def domain_error(_: Request, exc: DriftwardenError) -> JSONResponse:
        for kind, status, code in _STATUS:
            if isinstance(exc, kind):
                if status == 503 and issubclass(kind, StoreUnavailableError):
                    return _store_unavailable(str(exc), code)
                field = getattr(exc, "column", None) or getattr(exc, "key", None)
                return JSONResponse(error_body(code, str(exc), field), status_code=status)
        logger.exception("unclassified error")
        return JSONResponse(error_body("internal_error", str(exc)), status_code=500)

    async def store_outage(_: Request, exc: Exception) -> JSONResponse:
        # Untranslated driver errors carry the SQL and its parameters: log them, answer without.
        logger.warning("the prediction store is unreachable: %s", str(exc).splitlines()[0])
        return _store_unavailable(
            "the prediction store is unreachable; nothing was written, "
            f"send the request again in {RETRY_AFTER_SECONDS} seconds"
        )

    app.add_exception_handler(OperationalError, store_outage)
    app.add_exception_handler(InterfaceError, store_outage)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "the server failed to handle the request; see its log"),
            status_code=500,
        )


def all_routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute]]:
    """Every route of ``app`` with the path it answers at.

    FastAPI 0.150 keeps included routers as routers (their routes are found through them);
    older versions copy the routes into ``app.routes``.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            yield getattr(route, "path_format", getattr(route, "path", "")), route
        return
    for context in iterate(app.routes):
        yield context.path_format or "", context.original_route


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route of ``app`` answers at ``path``, sorted."""
    methods: set[str] = set()
    for _, route in all_routes(app):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) is not None:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _endpoint(path: str) -> str:
    """The ``endpoint`` label of a route: ``/v1/admin/routing`` is ``admin_routing``."""
    return re.sub(r"[^a-z0-9]+", "_", path.removeprefix("/v1/").lower()).strip("_")


class CountedRoute(APIRoute):
    """A route whose every answer counts in ``driftwarden_requests_total{endpoint,status}``.

    The status is read from the response as it is sent, so refusals written by the handlers
    above (a missing key, a body that does not validate) count too: those happen before the
    endpoint function runs. An error no handler answers counts as 500.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.endpoint_label = _endpoint(self.path)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, then count the answer and time it."""
        # Wrapping handle, not self.app: an included router's routes answer through an app of
        # their own that FastAPI builds from get_route_handler, and handle is where both meet.
        metrics = scope["app"].state.serving.metrics
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        metrics.in_flight.inc()
        try:
            await super().handle(scope, receive, send_and_note)
        except HTTPException as exc:  # a 405 of an included route is raised, not sent, here
            status = exc.status_code
            raise
        finally:
            metrics.in_flight.dec()
            metrics.requests.labels(self.endpoint_label, str(status)).inc()
            metrics.latency.labels(self.endpoint_label).observe(time.perf_counter() - started)
