"""The OpenAPI document at ``/openapi.json``: every status each operation answers, and its keys.

FastAPI documents what a route's signature says: parameters, the body model, the success answer
and a 422 in a model of its own. What the server adds around the routes is added here, for every
route, from what the route is built of, so that a new route is documented by the same rules:

* every error answer has the one body :class:`ErrorBody` (``serving/errors.py`` writes it);
* a route that takes a body answers 400 (not JSON); one with any parameter or body answers 422;
* every route answers 413 (``serving.max_request_bytes``, see ``serving/limits.py``);
* keys, as this server is configured: a route guarded by the predict key answers 401 and names
  the key under ``security`` only when ``serving.api_key`` is set (without it those routes are
  open); one guarded by the admin key names that key, and answers 401 without it, or 403 to
  every request while ``serving.admin_api_key`` is unset;
* a ``/v1`` route answers 503 when the store or the registry is unreachable (with
  ``Retry-After`` for the store), and one with a path parameter 404.

Statuses a route adds itself (404, 409) keep their descriptions from its ``responses``.
``tests/serving/test_contract.py`` walks every route and holds each one to these rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from driftwarden.core import Settings
from driftwarden.serving.deps import require_admin_key, require_predict_key
from driftwarden.serving.errors import RETRY_AFTER_SECONDS, all_routes

__all__ = [
    "API_KEY_SCOPE",
    "ErrorBody",
    "KeyScope",
    "api_routes",
    "errors",
    "install_openapi",
    "key_scope",
]

KeyScope = Literal["predict", "admin"]

#: The ``openapi_extra`` key of a route that checks a key in its body rather than through a
#: dependency (``/v1/predict`` does, to count and time its refusals); removed from the document.
API_KEY_SCOPE = "x-driftwarden-key"

_ERROR_REF = "#/components/schemas/ErrorBody"

_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON (`error` is `malformed_json`, `field` is `body`).",
    401: "The key this route needs was not presented: send it as `X-API-Key: <key>` or "
    "`Authorization: Bearer <key>`.",
    403: "Admin actions are disabled on this server: `serving.admin_api_key` is not set.",
    404: "Not found; `field` names what was looked up.",
    409: "Conflicts with the current state; `detail` says which.",
    413: "The body is larger than `serving.max_request_bytes` (or, for `/v1/predict`, holds "
    "more rows than `serving.max_request_rows`); `detail` names the limit.",
    422: "A parameter or a field of the body is missing or invalid; `field` names it as a "
    "dotted path (`rows.3.tenure`).",
    503: "The prediction store or the model registry is unreachable (nothing was written), or "
    "no model is loaded; send the request again after `Retry-After` seconds when given.",
}


def errors(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route's own error statuses: ``errors(e404="no such version")``.

    The statuses every route of its kind answers are added by :func:`install_openapi`; a route
    names only the ones its own logic adds (a missing resource, a conflict with the state).
    """
    return {
        int(name.removeprefix("e")): {"description": text} for name, text in descriptions.items()
    }


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="A machine-readable code, e.g. `invalid_request`.")
    detail: str = Field(description="What was expected, what came, and what to do.")
    field: str | None = Field(
        description="The offending parameter or body field as a dotted path, `body` for the "
        "body as a whole; null when no one field is at fault."
    )


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route of ``app`` (the documented kind) with the path it answers at."""
    for path, route in all_routes(app):
        if isinstance(route, APIRoute):
            yield path, route


def key_scope(route: APIRoute) -> KeyScope | None:
    """Which key guards ``route``: from its dependencies, or its :data:`API_KEY_SCOPE`."""
    calls = set(_calls(route.dependant))
    if require_admin_key in calls:
        return "admin"
    if require_predict_key in calls:
        return "predict"
    declared = (route.openapi_extra or {}).get(API_KEY_SCOPE)
    if declared in ("predict", "admin"):
        return declared  # type: ignore[no-any-return]
    return None


def _takes_body(route: APIRoute, operation: dict[str, Any]) -> bool:
    return route.body_field is not None or "requestBody" in operation


def _error_statuses(route: APIRoute, operation: dict[str, Any], settings: Settings) -> set[int]:
    """The error statuses ``route`` can answer with (see the module docstring)."""
    statuses = {413}
    dependant = route.dependant
    body = _takes_body(route, operation)
    if body:
        statuses |= {400, 422}
    if dependant.query_params or dependant.path_params or dependant.header_params:
        statuses.add(422)
    if dependant.path_params:
        statuses.add(404)
    scope = key_scope(route)
    serving = settings.serving
    if scope == "predict" and serving.api_key is not None:
        statuses.add(401)
    if scope == "admin":
        # Without an admin key every admin action is refused (403); with one, a request
        # without it is unauthorised (401).
        statuses.add(403 if serving.admin_api_key is None else 401)
    if route.path.startswith("/v1/"):
        statuses.add(503)
    declared = {int(code) for code in route.responses if str(code).isdigit()}
    return statuses | {code for code in declared if code >= 400}


def _error_response(status: int, description: str | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or _DESCRIPTIONS.get(status, "An error."),
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }
    if status == 503:
        response["headers"] = {
            "Retry-After": {
                "description": f"Seconds to wait before sending again ({RETRY_AFTER_SECONDS} "
                "when the store is unreachable); absent when waiting will not help.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return response


def _security(scope: KeyScope | None, settings: Settings) -> list[dict[str, list[str]]] | None:
    if scope == "admin":
        return [{"AdminKey": []}]
    if scope == "predict" and settings.serving.api_key is not None:
        # The admin key opens every route the predict key opens.
        return [{"PredictKey": []}, {"AdminKey": []}]
    if scope == "predict":
        return []
    return None


def _document(route: APIRoute, operation: dict[str, Any], settings: Settings) -> None:
    operation.pop(API_KEY_SCOPE, None)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(_error_statuses(route, operation, settings)):
        declared = route.responses.get(status, route.responses.get(str(status), {}))
        if "content" in declared or "model" in declared:
            # A route that answers this status with a body of its own (``/ready``'s 503).
            continue
        # FastAPI's own 422 (its validation model) is replaced: the handlers answer ErrorBody.
        responses[str(status)] = _error_response(status, declared.get("description"))
    security = _security(key_scope(route), settings)
    if security is not None:
        operation["security"] = security


def _drop_unused_validation_models(document: dict[str, Any]) -> None:
    """FastAPI's own 422 models are replaced by :class:`ErrorBody` everywhere."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def install_openapi(
    app: FastAPI,
    settings: Settings,
    bodies: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json`` and ``/docs``) the document above.

    ``bodies`` gives the JSON Schema of the request body of ``(path, method)``: a body whose
    valid values depend on the served model's schema, or one a route reads by hand.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
        components["securitySchemes"] = {
            "PredictKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "`serving.api_key`, for predictions, labels and reads (also "
                "accepted as `Authorization: Bearer <key>`); the admin key opens these too.",
            },
            "AdminKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "`serving.admin_api_key`, for every action that changes state "
                "(also accepted as `Authorization: Bearer <key>`).",
            },
        }
        for (path, method), body in (bodies or {}).items():
            operation = document["paths"][path][method]
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": body}},
            }
        for path, route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = document["paths"][path].get(method.lower())
                if operation is not None:
                    _document(route, operation, settings)
        _drop_unused_validation_models(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
