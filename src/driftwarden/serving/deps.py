"""Request dependencies: the server's state and the two API-key scopes.

Keys come from the ``Authorization: Bearer <key>`` or ``X-API-Key`` header, are compared in
constant time, and are never logged. ``predict`` is optional (off unless ``serving.api_key`` is
set); ``admin`` guards every action that changes state and is required for those routes (they are
disabled while ``serving.admin_api_key`` is unset).

They are coroutines, though they never wait: FastAPI runs a plain function dependency in a
worker thread, two thread hops on every request for a few attribute reads.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from driftwarden.serving.errors import ApiError
from driftwarden.serving.state import ServingState

__all__ = [
    "AdminKey",
    "PredictKey",
    "State",
    "get_state",
    "require_admin_key",
    "require_predict_key",
    "who",
]


async def get_state(request: Request) -> ServingState:
    """The state :func:`~driftwarden.serving.app.create_app` keeps on the app."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(get_state)]


def who(request: Request) -> str:
    """Who an admin action is recorded as: the admin key names no person, so the client's
    address is what the server knows of who."""
    client = request.client.host if request.client is not None else "unknown"
    return f"admin API key from {client}"


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def _matches(presented: str | None, expected: SecretStr) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.get_secret_value().encode())


async def require_predict_key(request: Request, state: State) -> None:
    """Allow the request if no predict key is set, or if it presents that key (or the admin's)."""
    expected = state.settings.serving.api_key
    if expected is None:
        return
    presented = _presented(request)
    admin = state.settings.serving.admin_api_key
    if _matches(presented, expected) or (admin is not None and _matches(presented, admin)):
        return
    raise ApiError(401, "unauthorized", "send the API key as 'Authorization: Bearer <key>'")


async def require_admin_key(request: Request, state: State) -> None:
    """Allow the request only with the admin key; refuse when no admin key is configured."""
    expected = state.settings.serving.admin_api_key
    if expected is None:
        raise ApiError(
            403,
            "forbidden",
            "admin actions are disabled: set serving.admin_api_key "
            "(DRIFTWARDEN_SERVING__ADMIN_API_KEY)",
        )
    if not _matches(_presented(request), expected):
        raise ApiError(401, "unauthorized", "this action needs the admin API key")


PredictKey = Depends(require_predict_key)
AdminKey = Depends(require_admin_key)
