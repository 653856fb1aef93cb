"""How a request is described, sent and read: shared by the sync and the async client.

A :class:`Call` says what to send (method, path, query, JSON body, which key) and how to read the
answer; the clients only carry it over their transport. Everything here is free of I/O, so both
clients send the same requests, read the answers the same way and raise the same errors.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx

from driftwarden.client.errors import ApiError, ApiTimeoutError, ApiUnavailableError
from driftwarden.client.errors import error_for_status as _error_for_status
from driftwarden.client.models import FeedbackResult, Prediction

__all__ = [
    "DEFAULT_BASE_URL",
    "Call",
    "ClientBase",
    "Params",
    "encode_json",
    "feedback_result",
    "finish",
    "items",
    "json_object",
    "prediction",
    "predictions",
    "retry_delay",
    "text",
    "unavailable",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

# Waits between retries: 0.5 s doubling up to 8 s; a Retry-After above 30 s is cut to 30 s.
_FIRST_WAIT = 0.5
_MAX_WAIT = 8.0
_MAX_RETRY_AFTER = 30.0

Params = dict[str, str | int | float | bool]


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer.

    Attributes
    ----------
    method, path : str
        ``path`` is relative to the client's base URL.
    parse : callable
        Reads a successful response (or one of ``answers``).
    params : dict, optional
        Query parameters; None values are left out before a Call is made.
    body : object, optional
        JSON-ready body; None sends no body.
    admin : bool
        Sends the admin key instead of the API key.
    idempotent : bool
        Safe to send again (a GET, labels, rows that carry their own request ids).
    answers : frozenset of int
        Statuses outside 2xx that are answers, not errors (``/ready`` says 503 when not ready).
    """

    method: Literal["GET", "POST", "PUT"]
    path: str
    parse: Callable[[httpx.Response], T]
    params: Params | None = None
    body: object = None
    admin: bool = False
    idempotent: bool = False
    answers: frozenset[int] = frozenset()

    def content(self) -> bytes | None:
        """The body as JSON bytes, or None."""
        return None if self.body is None else encode_json(self.body)


# -- encoding ----------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    """JSON for what ``json`` cannot encode: numpy and pandas scalars have ``item()``."""
    item = getattr(value, "item", None)
    if callable(item):
        plain = item()
        if isinstance(plain, bool | int | float | str) or plain is None:
            return plain
    raise TypeError(
        f"cannot send {type(value).__name__} {value!r} as JSON; "
        "send numbers, strings, booleans or None"
    )


def encode_json(body: object) -> bytes:
    """``body`` as compact UTF-8 JSON; NaN and infinities are refused (JSON has none)."""
    return json.dumps(
        body, default=_scalar, allow_nan=False, ensure_ascii=False, separators=(",", ":")
    ).encode()


# -- reading answers ---------------------------------------------------------------------------


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The body, which must be a JSON object."""
    body = response.json()
    if not isinstance(body, dict):
        raise TypeError(f"expected a JSON object, got {type(body).__name__}")
    return body


def text(response: httpx.Response) -> str:
    """The body as text."""
    return response.text


def items(key: str) -> Callable[[httpx.Response], list[dict[str, Any]]]:
    """Reads ``body[key]``, a list of JSON objects (list routes wrap theirs with the model)."""

    def parse(response: httpx.Response) -> list[dict[str, Any]]:
        found = json_object(response)[key]
        if not isinstance(found, list) or not all(isinstance(i, dict) for i in found):
            raise TypeError(f"{key}: expected a list of JSON objects")
        return found

    return parse


def prediction(response: httpx.Response) -> Prediction:
    """One prediction."""
    return Prediction.from_json(json_object(response))


def predictions(response: httpx.Response) -> list[Prediction]:
    """A batch's predictions, in request order."""
    found = json_object(response)["predictions"]
    if not isinstance(found, list):
        raise TypeError("predictions: expected a list")
    return [Prediction.from_json(item) for item in found]


def feedback_result(response: httpx.Response) -> FeedbackResult:
    """The outcome of every label."""
    return FeedbackResult.from_json(json_object(response))


def _method(response: httpx.Response) -> tuple[str, str]:
    request = response.request
    return request.method, str(request.url)


def finish(call: Call[T], response: httpx.Response, *, hint: str | None = None) -> T:
    """Read the answer to ``call``, or raise the error it stands for.

    Raises
    ------
    ApiError
        The subclass for the status; ``unexpected_response`` when a 2xx body cannot be read.
    """
    status = response.status_code
    method, url = _method(response)
    if response.is_success or status in call.answers:
        try:
            return call.parse(response)
        except (ValueError, KeyError, TypeError) as exc:
            if response.is_success:
                raise ApiError(
                    status,
                    "unexpected_response",
                    f"the answer could not be read ({type(exc).__name__}: {exc}); "
                    "is the server a driftwarden API of the same version as this client?",
                    body=None,
                    method=method,
                    url=url,
                ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    raise _error_for_status(
        status,
        body,
        text=response.text,
        method=method,
        url=url,
        retry_after=response.headers.get("retry-after"),
        hint=hint if status in (401, 403) else None,
    )


def unavailable(exc: httpx.TransportError, url: str) -> ApiUnavailableError:
    """The error for a request that got no answer."""
    with contextlib.suppress(RuntimeError):  # RuntimeError: raised before a request was built
        url = str(exc.request.url)
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(
            f"no answer from the driftwarden API at {url} in time ({cause}); the server may "
            "have handled the request; raise the client's timeout or check the server's load",
            url=url,
        )
    return ApiUnavailableError(
        f"could not reach the driftwarden API at {url} ({cause}); check that "
        "`driftwarden serve` runs there and that base_url names its host and port",
        url=url,
    )


def retry_delay(
    call: Call[Any], attempt: int, retries: int, response: httpx.Response | None
) -> float | None:
    """Seconds to wait before sending ``call`` again, or None not to.

    Only idempotent calls are sent again, after no answer at all (``response`` None) or a 503
    (the server says nothing was written); the wait doubles from 0.5 s, or follows
    ``Retry-After``.
    """
    if attempt >= retries or not call.idempotent:
        return None
    backoff = min(_FIRST_WAIT * 2.0**attempt, _MAX_WAIT)
    if response is None:
        return backoff
    if response.status_code != 503 or 503 in call.answers:
        return None
    header: str | None = response.headers.get("retry-after")
    if not header:
        return backoff
    try:
        return min(max(float(header), 0.0), _MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date, which this API never sends
        return backoff


# -- what both clients share -------------------------------------------------------------------


class ClientBase:
    """Keys, retries and the hints of auth errors; the clients add their transport."""

    def __init__(self, *, api_key: str | None, admin_key: str | None, retries: int) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries: expected an integer >= 0, got {retries!r}")
        self._api_key = api_key
        self._admin_key = admin_key
        self.retries = retries

    def _headers(self, call: Call[Any]) -> dict[str, str]:
        key = self._admin_key if call.admin else (self._api_key or self._admin_key)
        headers: dict[str, str] = {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _hint(self, call: Call[Any]) -> str | None:
        """What this client lacks, for a 401 or 403 (None if it sent the key)."""
        if call.admin and not self._admin_key:
            return "this client has no admin key: pass admin_key= when creating it"
        if not call.admin and not (self._api_key or self._admin_key):
            return "this client has no API key: pass api_key= when creating it"
        return None
