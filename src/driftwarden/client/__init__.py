"""A typed httpx client of the whole driftwarden API, sync and asyncio.

Used by the simulation, the dashboard and the CLI; it imports only :mod:`driftwarden.core`
(for the error tree), httpx and the standard library, so it runs wherever the API is reachable.

* :class:`DriftwardenClient` (over ``httpx.Client``) and :class:`AsyncDriftwardenClient` (over
  ``httpx.AsyncClient``): one method per route, the same on both.
* :class:`Prediction` and :class:`FeedbackResult`: typed answers of predictions and labels; the
  audit trail (runs, alerts, tests, models) comes as the API's JSON objects.
* :class:`ApiError` and its subclasses for non-2xx answers, each also the matching
  :mod:`driftwarden.core` error (a 404 is a ``NotFoundError``); :class:`ApiUnavailableError`
  when no answer came.

Examples
--------
>>> from fastapi.testclient import TestClient  # doctest: +SKIP
>>> with TestClient(create_app(settings)) as http:  # doctest: +SKIP
...     client = DriftwardenClient(http=http, admin_key="s3cret")
...     client.predict({"usage": 12.5, "plan": "basic"})
Prediction(request_id='0190...', probability=0.31, label=0, model_version=1, variant='champion',
           prediction=0.31)
"""

from driftwarden.client.aio import AsyncDriftwardenClient
from driftwarden.client.api import FEEDBACK_CHUNK_SIZE, DriftwardenClient
from driftwarden.client.errors import (
    ApiConflictError,
    ApiError,
    ApiNotFoundError,
    ApiTimeoutError,
    ApiUnavailableError,
    AuthError,
    InvalidRequestError,
    RegistryUnavailableError,
    ServiceUnavailableError,
    error_for_status,
)
from driftwarden.client.models import (
    ABTestMode,
    ABTestStatus,
    AlertStatus,
    FeedbackOutcome,
    FeedbackResult,
    FeedbackStatus,
    Prediction,
    RetrainStatus,
    RoutingMode,
    Severity,
    Variant,
)

__all__ = [
    "FEEDBACK_CHUNK_SIZE",
    "ABTestMode",
    "ABTestStatus",
    "AlertStatus",
    "ApiConflictError",
    "ApiError",
    "ApiNotFoundError",
    "ApiTimeoutError",
    "ApiUnavailableError",
    "AsyncDriftwardenClient",
    "AuthError",
    "DriftwardenClient",
    "FeedbackOutcome",
    "FeedbackResult",
    "FeedbackStatus",
    "InvalidRequestError",
    "Prediction",
    "RegistryUnavailableError",
    "RetrainStatus",
    "RoutingMode",
    "ServiceUnavailableError",
    "Severity",
    "Variant",
    "error_for_status",
]
