"""``DriftwardenClient``: a typed, synchronous client of the whole driftwarden API.

One method per route. Reads send the API key (or the admin key when only that is set); actions
that change state send the admin key. A non-2xx answer raises an
:class:`~driftwarden.client.errors.ApiError` subclass that also derives from the matching
:mod:`driftwarden.core` error; no answer at all raises
:class:`~driftwarden.client.errors.ApiUnavailableError`. Nothing is sent twice unless
``retries`` is set, and then only reads, labels and rows that carry their own ``request_id``.

List routes wrap their items with the model's name (``{"model": "churn", "alerts": [...]}``);
the list methods return the items. Times are sent as ISO 8601 with their zone, and naive
datetimes are refused before anything is sent.

For the asyncio twin see :class:`~driftwarden.client.aio.AsyncDriftwardenClient`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from driftwarden.client import _routes
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

__all__ = ["FEEDBACK_CHUNK_SIZE", "DriftwardenClient"]

T = TypeVar("T")

# Labels per POST /v1/feedback: the API refuses more than 10 000 in one request.
FEEDBACK_CHUNK_SIZE = 10_000


class DriftwardenClient(ClientBase):
    """A client of one driftwarden API over ``httpx.Client``.

    Parameters
    ----------
    base_url : str, optional
        Where the API answers; ignored when ``http`` is given (its own base URL is used).
    api_key : str or None, optional
        The ``serving.api_key`` of the server, sent by reads and predictions.
    admin_key : str or None, optional
        The ``serving.admin_api_key``, sent by actions (promote, acknowledge, retrain...), and by
        reads too when ``api_key`` is not set.
    timeout : float, optional
        Seconds to wait for connecting and for each read (of a client this one creates).
    retries : int, optional
        How many times to send an idempotent request again after no answer or a 503 (default
        0: every request is sent once). Idempotent: reads, labels, and rows that all carry a
        ``request_id`` (the API answers such a retry from its log).
    http : httpx.Client or None, optional
        A client to send through, used as is and never closed here: a
        ``fastapi.testclient.TestClient(app)`` drives an app in this process.

    Examples
    --------
    >>> from driftwarden.client import DriftwardenClient
    >>> with DriftwardenClient("http://127.0.0.1:8000", admin_key="s3cret") as client:
    ...     answer = client.predict({"usage": 12.5, "plan": "basic"})  # doctest: +SKIP
    ...     client.feedback({answer.request_id: 1})  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        admin_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 0,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(api_key=api_key, admin_key=admin_key, retries=retries)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)

    @property
    def base_url(self) -> str:
        """The URL requests are sent under."""
        return str(self._http.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP client this client created (a client passed as ``http`` stays open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> DriftwardenClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    content=call.content(),
                    headers=self._headers(call),
                )
            except httpx.TransportError as exc:
                delay = retry_delay(call, attempt, self.retries, None)
                if delay is None:
                    raise unavailable(exc, self.base_url.rstrip("/") + call.path) from exc
            else:
                delay = retry_delay(call, attempt, self.retries, response)
                if delay is None:
                    return finish(call, response, hint=self._hint(call))
            time.sleep(delay)
            attempt += 1

    # -- health ------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /health``: ``{"status": "ok"}`` while the server runs."""
        return self._send(_routes.health())

    def ready(self) -> dict[str, Any]:
        """``GET /ready``: whether a champion is loaded and the store reachable.

        Returns
        -------
        dict
            ``{"ready": bool, "champion": version or None, "store": {...}}``. A server that is
            not ready answers 503 with this same body, which is returned, not raised.
        """
        return self._send(_routes.ready())

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus exposition text."""
        return self._send(_routes.metrics())

    # -- models --------------------------------------------------------------------------------

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``: ``{"model", "versions", "loaded", "routing"}``: every registered
        version with its aliases and holdout metrics, the versions loaded here, the experiment."""
        return self._send(_routes.models())

    def model_history(self) -> list[dict[str, Any]]:
        """``GET /v1/models/history``: every move of the champion alias, oldest first.

        Returns
        -------
        list of dict
            The events: ``sequence``, ``action`` (``promote`` or ``rollback``), ``alias``,
            ``from_version``, ``to_version``, ``at``, ``reason`` and ``actor`` (a promotion by
            the A/B policy names its test and statistics in ``reason``).
        """
        return self._send(_routes.model_history())

    def promote(self, version: int, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/models/promote`` (admin): make ``version`` the champion.

        Returns
        -------
        dict
            ``{"event": {...}, "loaded": {"champion": version, ...}}``.

        Raises
        ------
        ApiConflictError
            ``version`` is the champion already.
        ApiNotFoundError
            No such version.
        """
        return self._send(_routes.promote(version, reason))

    def rollback(self, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/models/rollback`` (admin): back to the champion before the current one.

        Raises
        ------
        ApiNotFoundError
            There is no earlier champion.
        """
        return self._send(_routes.rollback(reason))

    def set_routing(
        self,
        *,
        mode: RoutingMode | None = None,
        share: float | None = None,
        salt: str | None = None,
    ) -> dict[str, Any]:
        """``PUT /v1/admin/routing`` (admin): change the champion/challenger experiment.

        Parameters
        ----------
        mode : {"off", "split", "shadow"}, optional
        share : float, optional
            The challenger's share of entities in ``split`` mode, in [0, 1].
        salt : str, optional
            Reshuffles which entities the challenger gets.

        Returns
        -------
        dict
            The stored experiment (``mode``, ``share``, ``salt``). Omitted fields keep theirs.
        """
        return self._send(_routes.set_routing(mode, share, salt))

    def reload(self) -> dict[str, Any]:
        """``POST /v1/admin/reload`` (admin): check the aliases and the routing now.

        Returns
        -------
        dict
            ``{"swapped": {arm: bool}, "loaded": {arm: version}, "routing": {...}}``.
        """
        return self._send(_routes.reload())

    # -- predictions and labels ----------------------------------------------------------------

    def predict(self, row: Mapping[str, Any]) -> Prediction:
        """``POST /v1/predict`` with one row of features.

        Parameters
        ----------
        row : mapping
            Every feature by name, the entity id if the schema has one, and optionally a
            ``request_id`` of your own (a retry with it is answered from the log, not scored
            again). A float NaN is sent as null (missing), as pandas does.

        Returns
        -------
        Prediction

        Raises
        ------
        InvalidRequestError
            A feature is missing or invalid; ``field`` names it.
        ServiceUnavailableError
            No model is loaded (``error == "no_model"``).

        Examples
        --------
        >>> client.predict({"usage": 12.5, "plan": "basic"}).label  # doctest: +SKIP
        0
        """
        return self._send(_routes.predict(row))

    def predict_batch(self, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """``POST /v1/predict`` with ``{"rows": [...]}``: one prediction per row, in order.

        An empty ``rows`` returns ``[]`` without a request. More rows than the server's
        ``serving.max_request_rows`` is a 413 (:class:`InvalidRequestError`, field ``rows``);
        a row's error names it as ``rows.<i>.<feature>``.
        """
        if not rows:
            return []
        return self._send(_routes.predict_batch(rows))

    def feedback(self, labels: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> FeedbackResult:
        """``POST /v1/feedback``: true labels of earlier predictions, by request id.

        Parameters
        ----------
        labels : mapping or iterable of (request_id, label)
            Each label is 0/1, True/False, "0"/"1" or the name of the target's positive class.

        Returns
        -------
        FeedbackResult
            Each label's outcome (``recorded``, ``unchanged``, ``unknown``), in the order sent.
            An empty ``labels`` gives an empty result without a request.

        Raises
        ------
        ApiNotFoundError
            No request id of any label is known (the API keeps them all the same: a
            prediction may still wait in a server's spool).
        InvalidRequestError
            A label is not one of the accepted spellings; ``field`` is ``labels.<i>.label``,
            ``i`` counting from the first label given.

        Notes
        -----
        More than :data:`FEEDBACK_CHUNK_SIZE` labels (the API's limit per request) go in
        several requests, in order. A chunk none of whose ids is known counts as unknown, as in
        one request. If a chunk is refused, the chunks before it stay recorded; sending
        everything again is harmless (a label sent again is ``unchanged``).

        Examples
        --------
        >>> client.feedback({"0190f5...": 1, "0190f6...": False}).recorded  # doctest: +SKIP
        2
        """
        found = _routes.feedback_items(labels)
        if not found:
            return FeedbackResult(results=(), recorded=0, unknown=0)
        parts: list[FeedbackResult] = []
        first_404: ApiError | None = None
        for offset, request_ids, call in _routes.feedback_chunks(found, FEEDBACK_CHUNK_SIZE):
            try:
                parts.append(self._send(call))
            except ApiError as exc:
                _routes.shift_field(exc, offset)
                parts.append(_routes.unknown_chunk(exc, request_ids))
                first_404 = first_404 or exc
        return _routes.merge_feedback(parts, first_404)

    # -- monitoring ----------------------------------------------------------------------------

    def monitoring_runs(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        detail: bool = False,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/runs``: monitor runs, newest first.

        Parameters
        ----------
        start, end : datetime, optional
            Windows that end in ``[start, end)``; with a zone.
        limit : int, optional
            At most this many runs (1 to 10 000).
        detail : bool, optional
            Include each result's full drift report (``report``).

        Returns
        -------
        list of dict
            Each run with one result per model version that served its window.

        Raises
        ------
        ValueError
            ``start`` or ``end`` is naive (nothing is sent).
        """
        return self._send(_routes.monitoring_runs(start, end, limit, detail))

    def drift(
        self,
        *,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/drift``: each feature's drift verdict per window, oldest first
        (method, statistic, thresholds, p-value, severity, sample sizes); one ``feature`` or
        all."""
        return self._send(_routes.feature_points("drift", feature, start, end, limit))

    def quality(
        self,
        *,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/quality``: each feature's missing, invalid, out-of-range and
        unseen-category rates per window, oldest first."""
        return self._send(_routes.feature_points("quality", feature, start, end, limit))

    def performance(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """``GET /v1/monitoring/performance``: realised performance (``n_labelled`` rows) beside
        the estimate, per window and model version, oldest first; ``limit`` counts runs."""
        return self._send(_routes.performance(start, end, limit))

    def distribution(
        self, feature: str, *, start: datetime, end: datetime, version: int | None = None
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/distribution``: one feature of the rows a version scored in
        ``[start, end)`` beside that version's reference, as proportions over shared bins.

        Parameters
        ----------
        feature : str
            A feature of the version's reference profile, or ``"prediction"`` for the scores.
        start, end : datetime
            The range, with a zone.
        version : int, optional
            The model version (default: the champion).

        Returns
        -------
        dict
            ``kind``, ``model_version``, the window, ``reference`` and ``current`` proportions,
            ``n_reference``, ``n_current`` and ``n_missing``; with ``edges`` (one more than the
            bins) for a numeric feature, with ``categories`` and ``unseen`` (label to count)
            for a categorical one.

        Raises
        ------
        ApiNotFoundError
            An unknown feature or a version without a reference profile (``field`` says which).
        """
        return self._send(_routes.distribution(feature, start, end, version))

    def classification(
        self,
        *,
        start: datetime,
        end: datetime,
        version: int | None = None,
        threshold: float = 0.5,
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/classification``: the confusion matrix at ``threshold`` and the
        ROC curve of the labelled rows logged in ``[start, end)`` (scored by ``version``, or the
        answered rows of every version).

        Returns
        -------
        dict
            ``n_labelled``, ``confusion`` (``tp``, ``fp``, ``tn``, ``fn``), ``roc`` (``fpr``,
            ``tpr``, ``thresholds``; at most 200 points), ``roc_auc`` and ``accuracy`` (None
            when undefined).
        """
        return self._send(_routes.classification(start, end, version, threshold))

    def regression(
        self, *, start: datetime, end: datetime, version: int | None = None
    ) -> dict[str, Any]:
        """``GET /v1/monitoring/regression``: the errors of a regression model's labelled rows
        logged in ``[start, end)`` (scored by ``version``, or the answered rows of every
        version).

        Returns
        -------
        dict
            ``n_labelled``; ``metrics`` (``n``, ``rmse``, ``mae``, ``r2``, ``mape``,
            ``mean_target``, ``mean_prediction``; None without a labelled row); ``pairs``
            (``predicted`` and ``actual``, at most 500 points); ``residuals`` (``edges``,
            ``counts``: predicted minus actual).

        Raises
        ------
        ApiConflictError
            The model is a classifier: read :meth:`classification`.
        """
        return self._send(_routes.regression(start, end, version))

    def run_monitor(self) -> dict[str, Any]:
        """``POST /v1/monitoring/run`` (admin): run the monitor over the window ending now.

        Returns
        -------
        dict
            The report: ``run_id``, the window, ``n_rows``, per-version ``results``, the
            ``firing`` rules and the ``alerts`` opened, updated and resolved.
        """
        return self._send(_routes.run_monitor())

    # -- alerts --------------------------------------------------------------------------------

    def alerts(
        self,
        *,
        status: AlertStatus | None = None,
        severity: Severity | None = None,
        rule: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """``GET /v1/alerts``: alerts opened in ``[start, end)`` matching every filter given,
        newest first. ``rule`` is e.g. ``feature_drift`` or ``performance_drop``."""
        return self._send(_routes.alerts(status, severity, rule, start, end, limit))

    def alert(self, alert_id: int, /) -> dict[str, Any]:
        """``GET /v1/alerts/{id}``: one alert with ``events``, every event of its life.

        Raises
        ------
        ApiNotFoundError
            No alert has that id.
        """
        return self._send(_routes.alert(alert_id))

    def acknowledge(self, alert_id: int, /) -> dict[str, Any]:
        """``POST /v1/alerts/{id}/ack`` (admin): no more reminders; it can still escalate.

        Raises
        ------
        ApiConflictError
            The alert is resolved.
        """
        return self._send(_routes.acknowledge(alert_id))

    def mute(self, alert_id: int, /, *, minutes: float) -> dict[str, Any]:
        """``POST /v1/alerts/{id}/mute`` (admin): send nothing about the alert for ``minutes``
        (more than 0, at most a year); it is still updated and listed."""
        return self._send(_routes.mute(alert_id, minutes))

    # -- retraining ----------------------------------------------------------------------------

    def retrain(self, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/retrain`` (admin): start a retraining in the background.

        Returns
        -------
        dict
            The new run (follow it with :meth:`retraining_run`).

        Raises
        ------
        ApiConflictError
            Another retraining runs: this request was recorded as skipped, not queued; the
            skipped run is ``error.body["run"]``.
        """
        return self._send(_routes.retrain(reason))

    def retraining_runs(
        self, *, status: RetrainStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``GET /v1/retraining/runs``: runs and skipped requests, newest first, with their
        trigger, evidence, steps, gates, candidate version and A/B test."""
        return self._send(_routes.retraining_runs(status, limit))

    def retraining_run(self, run_id: int, /) -> dict[str, Any]:
        """``GET /v1/retraining/runs/{id}``: one run with every step's result.

        Raises
        ------
        ApiNotFoundError
            No run has that id.
        """
        return self._send(_routes.retraining_run(run_id))

    # -- A/B tests -----------------------------------------------------------------------------

    def ab_tests(
        self, *, status: ABTestStatus | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``GET /v1/ab-tests``: every test with its arms, mode, status and decision, newest
        first."""
        return self._send(_routes.ab_tests(status, limit))

    def ab_test(self, test_id: int, /) -> dict[str, Any]:
        """``GET /v1/ab-tests/{id}``: one test with its ``snapshots`` (the statistics of each
        monitor run) and the challenger's ``schema_changes``.

        Raises
        ------
        ApiNotFoundError
            No test has that id.
        """
        return self._send(_routes.ab_test(test_id))

    def start_ab_test(
        self, version: int, *, mode: ABTestMode | None = None, share: float | None = None
    ) -> dict[str, Any]:
        """``POST /v1/ab-tests`` (admin): test ``version`` as challenger against the champion.

        Parameters
        ----------
        version : int
        mode : {"split", "shadow"}, optional
            Default: the server's ``ab_test.mode``.
        share : float, optional
            The challenger's share in split mode, in (0, 1]; default ``ab_test.share``.

        Raises
        ------
        ApiConflictError
            Another test runs.
        """
        return self._send(_routes.start_ab_test(version, mode, share))

    def stop_ab_test(self, test_id: int, /, *, reason: str = "") -> dict[str, Any]:
        """``POST /v1/ab-tests/{id}/stop`` (admin): end a running test without promotion.

        Raises
        ------
        ApiConflictError
            The test is not running.
        """
        return self._send(_routes.stop_ab_test(test_id, reason))
