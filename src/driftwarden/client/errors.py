"""The exceptions the API client raises.

An answer outside 2xx becomes an :class:`ApiError` carrying the API's error body
(``{"error": code, "detail": message, "field": name}``). Each status the API uses on purpose has a
subclass that also derives from the :mod:`driftwarden.core` error of the same meaning, so code
that catches ``NotFoundError`` or ``ConflictError`` catches the remote kind as well::

    DriftwardenError
    ├── ApiError                      any non-2xx answer; status, error, detail, field, body
    │   ├── AuthError                 401, 403: no key, a wrong key, or admin actions disabled
    │   ├── InvalidRequestError       (also ValueError) 400, 413, 422: ``field`` names the value
    │   ├── ApiNotFoundError          (also NotFoundError) 404
    │   ├── ApiConflictError          (also ConflictError) 409; ``body["run"]`` on POST /v1/retrain
    │   └── ServiceUnavailableError   (also StoreUnavailableError) 503; ``retry_after`` in seconds
    │       └── RegistryUnavailableError   (also RegistryError) 503 ``registry_unavailable``
    └── ApiUnavailableError           (also ConnectionError) no answer at all: refused, reset
        └── ApiTimeoutError           (also TimeoutError) no answer in time; the server may
                                      have handled the request

Any other status (405, 500...) is a plain :class:`ApiError`.
"""

from __future__ import annotations

from typing import Any

from driftwarden.core.errors import (
    ConflictError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    StoreUnavailableError,
)

__all__ = [
    "ApiConflictError",
    "ApiError",
    "ApiNotFoundError",
    "ApiTimeoutError",
    "ApiUnavailableError",
    "AuthError",
    "InvalidRequestError",
    "RegistryUnavailableError",
    "ServiceUnavailableError",
    "error_for_status",
]

# Longest part of a body that is not the API's JSON error (a proxy's HTML page) kept as detail.
_MAX_TEXT = 300


class ApiError(DriftwardenError):
    """The API answered with a status outside 2xx.

    Parameters
    ----------
    status : int
        The HTTP status.
    error : str
        The API's error code (``not_found``, ``invalid_request``, ``conflict``...).
    detail : str
        The API's message: what it expected, what came, what to do.
    field : str or None, optional
        The offending field as a dotted path (``rows.3.usage``), when the API names one.
    body : dict or None, optional
        The whole JSON body of the answer (a 409 of ``POST /v1/retrain`` carries the skipped
        run as ``body["run"]``).
    method, url : str, optional
        The request that was answered.
    hint : str or None, optional
        What the client can add, e.g. that it holds no admin key.

    Examples
    --------
    >>> err = ApiError(422, "invalid_request", "usage: Field required", "usage",
    ...                method="POST", url="http://h/v1/predict")
    >>> str(err)
    "POST http://h/v1/predict answered 422 invalid_request: usage: Field required (field 'usage')"
    >>> isinstance(err, DriftwardenError)
    True
    """

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        field: str | None = None,
        *,
        body: dict[str, Any] | None = None,
        method: str = "",
        url: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(status, error, detail, field)
        self.status = status
        self.error = error
        self.detail = detail
        self.field = field
        self.body = body
        self.method = method
        self.url = url
        self.hint = hint

    def __str__(self) -> str:
        # Built from the attributes, so a chunked call that shifts ``field`` reads right.
        where = f"{self.method} {self.url} answered " if self.url else ""
        message = f"{where}{self.status} {self.error}: {self.detail}"
        if self.field is not None:
            message += f" (field {self.field!r})"
        if self.hint:
            message += f"; {self.hint}"
        return message


class AuthError(ApiError):
    """401 or 403: the key is missing or wrong, or admin actions are disabled on the server."""


class InvalidRequestError(ApiError, ValueError):
    """400, 413 or 422: the request was refused as sent; ``field`` names what to fix."""


class ApiNotFoundError(ApiError, NotFoundError):
    """404: the alert, run, test, version or request id does not exist."""


class ApiConflictError(ApiError, ConflictError):
    """409: the action collides with the state (a test runs already, a retraining runs...)."""


class ServiceUnavailableError(ApiError, StoreUnavailableError):
    """503: the store is unreachable, no model is loaded, or the registry failed.

    Nothing was written; the same request may be sent again after ``retry_after`` seconds (the
    ``Retry-After`` header, None when absent).
    """

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class RegistryUnavailableError(ServiceUnavailableError, RegistryError):
    """503 ``registry_unavailable``: the model registry failed or holds something unusable."""


class ApiUnavailableError(DriftwardenError, ConnectionError):
    """No answer came: the connection was refused or broke, or the name did not resolve.

    Parameters
    ----------
    message : str
        What failed and what to check.
    url : str
        The URL that was asked.
    """

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        return str(self.args[0])


class ApiTimeoutError(ApiUnavailableError, TimeoutError):
    """No answer came in time; the server may still have handled the request."""


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form (which this API never sends) is None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def error_for_status(
    status: int,
    body: Any,
    *,
    text: str = "",
    method: str = "",
    url: str = "",
    retry_after: str | None = None,
    hint: str | None = None,
) -> ApiError:
    """The error that an answer of ``status`` with ``body`` stands for.

    Parameters
    ----------
    status : int
        The HTTP status, outside 2xx.
    body : Any
        The decoded JSON body, or None when it was not JSON.
    text : str, optional
        The raw body, the detail when ``body`` is not the API's error body.
    method, url : str, optional
        The request, named in the message.
    retry_after : str or None, optional
        The ``Retry-After`` header.
    hint : str or None, optional
        Appended to the message.

    Returns
    -------
    ApiError
        The subclass for the status (not raised).

    Examples
    --------
    >>> err = error_for_status(404, {"error": "not_found", "detail": "no alert has id 7",
    ...                              "field": None})
    >>> isinstance(err, NotFoundError), err.detail
    (True, 'no alert has id 7')
    """
    known = isinstance(body, dict) and isinstance(body.get("error"), str)
    if known:
        error = str(body["error"])
        detail = str(body.get("detail", ""))
        field = body.get("field")
        field = None if field is None else str(field)
    else:
        error = "http_error"
        detail = text.strip()[:_MAX_TEXT] or "(empty body)"
        field = None
    kwargs: dict[str, Any] = {
        "body": body if isinstance(body, dict) else None,
        "method": method,
        "url": url,
        "hint": hint,
    }
    if status == 503:
        kind = RegistryUnavailableError if error == "registry_unavailable" else None
        return (kind or ServiceUnavailableError)(
            status, error, detail, field, retry_after=_retry_after(retry_after), **kwargs
        )
    cls: type[ApiError] = ApiError
    if status in (401, 403):
        cls = AuthError
    elif status in (400, 413, 422):
        cls = InvalidRequestError
    elif status == 404:
        cls = ApiNotFoundError
    elif status == 409:
        cls = ApiConflictError
    return cls(status, error, detail, field, **kwargs)
