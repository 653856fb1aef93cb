"""One error format for every 4xx and 5xx: ``{"error": code, "detail": message, "field": name}``.

Domain errors map to one status each; request validation errors name the offending field as a
dotted path from the body (``rows.3.tenure``), so a client can fix exactly that value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from driftwarden.core.errors import (
    ConfigError,
    DataError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    SchemaMismatchError,
    StoreUnavailableError,
)

__all__ = ["ApiError", "error_body", "install_error_handlers"]

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[DriftwardenError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (SchemaMismatchError, 422, "schema_mismatch"),
    (DataError, 422, "invalid_data"),
    (ConfigError, 409, "conflict"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (RegistryError, 503, "registry_unavailable"),
)


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
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field(first.get("loc", ()))
        message = str(first.get("msg", "invalid request"))
        detail = f"{field}: {message}" if field else message
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return JSONResponse(error_body("invalid_request", detail, field), status_code=422)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.error, exc.detail, exc.field), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            error_body(code.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DriftwardenError)
    async def domain_error(_: Request, exc: DriftwardenError) -> JSONResponse:
        for kind, status, code in _STATUS:
            if isinstance(exc, kind):
                field = getattr(exc, "column", None) or getattr(exc, "key", None)
                return JSONResponse(error_body(code, str(exc), field), status_code=status)
        logger.exception("unclassified error")
        return JSONResponse(error_body("internal_error", str(exc)), status_code=500)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "the server failed to handle the request; see its log"),
            status_code=500,
        )
