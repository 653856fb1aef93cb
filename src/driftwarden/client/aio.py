"""``AsyncDriftwardenClient``: the asyncio twin of ``DriftwardenClient``.

Same methods, same arguments, same results and errors, awaited; the requests are built and the
answers read by the same code, so the two clients cannot drift apart. Each method's full
documentation is on the synchronous client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from driftwarden.client import _routes, api
from driftwarden.client._call import (
    DEFAULT_BASE_URL,
    Call,
    ClientBase,
    finish,
    retry_delay,
    unavailable,
)
from driftwarden.client.errors import ApiError
from driftwarden.client.models import (
    ABTestMode,
    ABTestStatus,
    AlertStatus,
    FeedbackResult,
    Prediction,
    RetrainStatus,
    RoutingMode,
    Severity,
)

__all__ = ["AsyncDriftwardenClient"]

T = TypeVar("T")


class AsyncDriftwardenClient(ClientBase):
    """A client of one driftwarden API over ``httpx.AsyncClient``.

    Parameters are those of :class:`~driftwarden.client.api.DriftwardenClient`; ``http`` is an
    ``httpx.AsyncClient``, e.g. ``httpx.AsyncClient(transport=httpx.ASGITransport(app),
    base_url="http://test")`` to drive an app in this process (its lifespan is not run by
    the transport: start it, or use a server).

    Examples
    --------
    >>> import asyncio
    >>> async def main() -> None:
    ...     async with AsyncDriftwardenClient(admin_key="s3cret") as client:
    ...         print(await client.health())
    >>> asyncio.run(main())  # doctest: +SKIP
    {'status': 'ok'}
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        admin_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(api_key=api_key, admin_key=admin_key, retries=retries)
        self._owns_http = http is None
        self._http = (
            http if http is not None else httpx.AsyncClient(base_url=base_url, timeout=timeout)
        )

    @property
    def base_url(self) -> str:
        """The URL requests are sent under."""
        return str(self._http.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client this client created (a client passed as ``http`` stays open)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncDriftwardenClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    content=call.content(),
                    headers=self._headers(call),
                )
            except httpx.TransportError as exc:
                delay = retry_delay(call, attempt, self.retries, None)
                if delay is None:
                    url = self.base_url.rstrip("/") + call.path
                    raise unavailable(exc, url) from exc
            else:
                delay = retry_delay(call, attempt, self.retries, response)
                if delay is None:
                    return finish(call, response, hint=self._hint(call))
            await asyncio.sleep(delay)
            attempt += 1

    # -- health --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /health``."""
        return await self._send(_routes.health())

    async def ready(self) -> dict[str, Any]:
        """``GET /ready``; a 503 (not ready) is returned, not raised."""
        return await self._send(_routes.ready())

    async def metrics(self) -> str:
        """``GET /metrics``: the Prometheus exposition text."""
        return await self._send(_routes.metrics())

    # -- models --------------------------------------------------------------------------------

    async def models(self) -> dict[str, Any]:
        """``GET /v1/models``."""
        return await self._send(_routes.models())

    async def model_history(self) -> list[dict[str, Any]]:
        """``GET /v1/models/history``: the events, oldest first."""
        return await self._send(_routes.model_history())

    async def promote(self, version: int, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/models/promote`` (admin)."""
        return await self._send(_routes.promote(version, reason))

    async def rollback(self, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/models/rollback`` (admin)."""
        return await self._send(_routes.rollback(reason))

    async def set_routing(
        self,
        *,
        mode: RoutingMode | None = None,
        share: float | None = None,
        salt: str | None = None,
    ) -> dict[str, Any]:
        """``PUT /v1/admin/routing`` (admin); omitted fields keep their stored values."""
        return await self._send(_routes.set_routing(mode, share, salt))

    async def reload(self) -> dict[str, Any]:
        """``POST /v1/admin/reload`` (admin)."""
        return await self._send(_routes.reload())

    # -- predictions and labels ----------------------------------------------------------------

    async def predict(self, row: Mapping[str, Any]) -> Prediction:
        """``POST /v1/predict`` with one row."""
        return await self._send(_routes.predict(row))

    async def predict_batch(self, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """``POST /v1/predict`` with ``{"rows": [...]}``; ``[]`` for no rows, without a request."""
        if not rows:
            return []
        return await self._send(_routes.predict_batch(rows))

    async def feedback(
        self, labels: Mapping[str, Any] | Iterable[tuple[str, Any]]
    ) -> FeedbackResult:
        """``POST /v1/feedback``, in chunks of ``api.FEEDBACK_CHUNK_SIZE`` labels, in order."""
        found = _routes.feedback_items(labels)
        if not found:
            return FeedbackResult(results=(), recorded=0, unknown=0)
        parts: list[FeedbackResult] = []
        first_404: ApiError | None = None
        for offset, request_ids, call in _routes.feedback_chunks(found, api.FEEDBACK_CHUNK_SIZE):
            try:
                parts.append(await self._send(call))
            except ApiError as exc:
                _routes.shift_field(exc, offset)
                parts.append(_routes.unknown_chunk(exc, request_ids))
                first_404 = first_404 or exc
        return _routes.merge_feedback(parts, first_404)

    # -- monitoring ----------------------------------------------------------------------------

    async def monitoring_runs(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        detail: bool = False,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/runs``: runs, newest first."""
        return await self._send(_routes.monitoring_runs(start, end, limit, detail))

    async def drift(
        self,
        *,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/drift``: points, oldest first."""
        return await self._send(_routes.feature_points("drift", feature, start, end, limit))

    async def quality(
        self,
        *,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/quality``: points, oldest first."""
        return await self._send(_routes.feature_points("quality", feature, start, end, limit))

    async def performance(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/performance``: points, oldest first."""
        return await self._send(_routes.performance(start, end, limit))

    async def distribution(
        self, feature: str, *, start: datetime, end: datetime, version: int | None = None
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/distribution``: a feature beside its reference."""
        return await self._send(_routes.distribution(feature, start, end, version))

    async def classification(
        self,
        *,
        start: datetime,
        end: datetime,
        version: int | None = None,
        threshold: float = 0.5,
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/classification``: confusion matrix and ROC curve."""
        return await self._send(_routes.classification(start, end, version, threshold))

    async def regression(
        self, *, start: datetime, end: datetime, version: int | None = None
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/regression``: a regression model's errors and residuals."""
        return await self._send(_routes.regression(start, end, version))

    async def run_monitor(self) -> dict[str, Any]:
        """``POST /v1/monitoring/run`` (admin)."""
        return await self._send(_routes.run_monitor())

    # -- alerts --------------------------------------------------------------------------------

    async def alerts(
        self,
        *,
        status: AlertStatus | None = None,
        severity: Severity | None = None,
        rule: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /v1/alerts``: alerts, newest first."""
        return await self._send(_routes.alerts(status, severity, rule, start, end, limit))

    async def alert(self, alert_id: int, /) -> dict[str, Any]:
        """``GET /v1/alerts/{id}``."""
        return await self._send(_routes.alert(alert_id))

    async def acknowledge(self, alert_id: int, /) -> dict[str, Any]:
        """``POST /v1/alerts/{id}/ack`` (admin)."""
        return await self._send(_routes.acknowledge(alert_id))

    async def mute(self, alert_id: int, /, *, minutes: float) -> dict[str, Any]:
        """``POST /v1/alerts/{id}/mute`` (admin)."""
        return await self._send(_routes.mute(alert_id, minutes))

    # -- retraining ----------------------------------------------------------------------------

    async def retrain(self, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/retrain`` (admin); a 409 carries the skipped run as ``error.body["run"]``."""
        return await self._send(_routes.retrain(reason))

    async def retraining_runs(
        self, *, status: RetrainStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``GET /v1/retraining/runs``: runs, newest first."""
        return await self._send(_routes.retraining_runs(status, limit))

    async def retraining_run(self, run_id: int, /) -> dict[str, Any]:
        """``GET /v1/retraining/runs/{id}``."""
        return await self._send(_routes.retraining_run(run_id))

    # -- A/B tests -----------------------------------------------------------------------------

    async def ab_tests(
        self, *, status: ABTestStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``GET /v1/ab-tests``: tests, newest first."""
        return await self._send(_routes.ab_tests(status, limit))

    async def ab_test(self, test_id: int, /) -> dict[str, Any]:
        """``GET /v1/ab-tests/{id}``."""
        return await self._send(_routes.ab_test(test_id))

    async def start_ab_test(
        self, version: int, *, mode: ABTestMode | None = None, share: float | None = None
    ) -> dict[str, Any]:
        """``POST /v1/ab-tests`` (admin)."""
        return await self._send(_routes.start_ab_test(version, mode, share))

    async def stop_ab_test(self, test_id: int, /, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/ab-tests/{id}/stop`` (admin)."""
        return await self._send(_routes.stop_ab_test(test_id, reason))
