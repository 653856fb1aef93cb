"""The API's routes as :class:`~driftwarden.client._call.Call` objects, and the feedback
chunking; shared by the sync and the async client."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from driftwarden.client._call import (
    Call,
    Params,
    feedback_result,
    items,
    json_object,
    prediction,
    predictions,
    text,
)
from driftwarden.client.errors import ApiError
from driftwarden.client.models import FeedbackOutcome, FeedbackResult, Prediction

__all__ = [
    "ab_test",
    "ab_tests",
    "acknowledge",
    "alert",
    "alerts",
    "classification",
    "distribution",
    "feature_points",
    "feedback_chunks",
    "feedback_items",
    "health",
    "merge_feedback",
    "metrics",
    "model_history",
    "models",
    "monitoring_runs",
    "mute",
    "performance",
    "predict",
    "predict_batch",
    "promote",
    "ready",
    "regression",
    "reload",
    "retrain",
    "retraining_run",
    "retraining_runs",
    "rollback",
    "run_monitor",
    "set_routing",
    "shift_field",
    "start_ab_test",
    "stop_ab_test",
    "unknown_chunk",
]


# -- encoding ----------------------------------------------------------------------------------


def _row(row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A feature row to send: NaN is a missing value (null), as in pandas' ``to_json``."""
    if not isinstance(row, Mapping):
        raise TypeError(f"{where}: expected a mapping of feature names to values, got {row!r}")
    clean: dict[str, Any] = {}
    for key, value in row.items():
        if not isinstance(key, str):
            raise TypeError(f"{where}: feature names must be strings, got {key!r}")
        if isinstance(value, float):
            if math.isnan(value):
                value = None
            elif math.isinf(value):
                raise ValueError(
                    f"{where}.{key}: expected a finite number, got {value}; "
                    "send None for a missing value"
                )
        clean[key] = value
    return clean


def _time(name: str, value: datetime | None) -> str | None:
    """``value`` as ISO 8601 with its zone; naive datetimes are refused before anything is sent."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(value).__name__} {value!r}")
    if value.utcoffset() is None:
        raise ValueError(
            f"{name}: expected a datetime with a zone, got the naive {value.isoformat()}; "
            "pass e.g. datetime(2024, 5, 1, tzinfo=UTC) (the API refuses times without a zone)"
        )
    return value.isoformat()


def _id(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer id, got {value!r}")
    return value


def _params(**values: str | int | float | bool | None) -> Params:
    return {key: value for key, value in values.items() if value is not None}


# -- feedback in chunks ------------------------------------------------------------------------


def _label(request_id: object, label: object) -> bool | int | float | str:
    if isinstance(label, bool | int | float | str):
        return label
    item = getattr(label, "item", None)  # numpy and pandas scalars
    if callable(item):
        plain = item()
        if isinstance(plain, bool | int | float | str):
            return plain
    raise TypeError(
        f"label of {request_id!r}: expected 0, 1, True, False, a class name or (for a "
        f"regression model) a number, got {label!r}"
    )


def feedback_items(
    labels: Mapping[str, Any] | Iterable[tuple[str, Any]],
) -> list[dict[str, Any]]:
    """The ``labels`` items of ``POST /v1/feedback``, in order."""
    pairs = labels.items() if isinstance(labels, Mapping) else labels
    found: list[dict[str, Any]] = []
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(
                f"labels: expected a mapping or (request_id, label) pairs, got the item {pair!r}"
            )
        request_id, label = pair
        if not isinstance(request_id, str):
            raise TypeError(f"request ids are strings, got {request_id!r}")
        found.append({"request_id": request_id, "label": _label(request_id, label)})
    return found


def feedback_chunks(
    found: Sequence[dict[str, Any]], size: int
) -> Iterator[tuple[int, list[str], Call[FeedbackResult]]]:
    """The requests that send ``found``, ``size`` items each: each one's first index, its
    request ids and the call."""
    if size < 1:
        raise ValueError(f"the feedback chunk size must be at least 1, got {size}")
    for offset in range(0, len(found), size):
        chunk = list(found[offset : offset + size])
        call = Call("POST", "/v1/feedback", feedback_result, body={"labels": chunk},
                    idempotent=True)  # fmt: skip
        yield offset, [item["request_id"] for item in chunk], call


_LABELS_FIELD = re.compile(r"^labels\.(\d+)\.")


def shift_field(error: ApiError, offset: int) -> ApiError:
    """``error`` of a chunk starting at ``offset``, its field and detail renumbered to the
    position in everything sent (``labels.3.label`` of the second chunk of 10 000 is
    ``labels.10003.label``)."""
    field = error.field
    match = _LABELS_FIELD.match(field or "")
    if offset and field is not None and match is not None:
        shifted = f"labels.{int(match.group(1)) + offset}.{field[match.end() :]}"
        error.detail = error.detail.replace(field, shifted, 1)
        error.field = shifted
    return error


def unknown_chunk(error: ApiError, request_ids: list[str]) -> FeedbackResult:
    """The result of a chunk that the API refused because none of its ids is known (a 404
    ``unknown_request_id``); any other error is raised. The API keeps such labels, so a chunk
    of unknown ids among known ones is as if sent in one request."""
    if error.status != 404 or error.error != "unknown_request_id":
        raise error
    outcomes = tuple(FeedbackOutcome(request_id=rid, status="unknown") for rid in request_ids)
    return FeedbackResult(results=outcomes, recorded=0, unknown=len(outcomes))


def merge_feedback(parts: list[FeedbackResult], first_404: ApiError | None) -> FeedbackResult:
    """One result of the chunks' results, in order; when no id of any chunk was known, the
    first chunk's 404 is raised, as the API does for one request."""
    merged = FeedbackResult.combine(parts)
    if first_404 is not None and merged.unknown == len(merged.results):
        raise first_404
    return merged


# -- the routes --------------------------------------------------------------------------------


def health() -> Call[dict[str, Any]]:
    """``GET /health``."""
    return Call("GET", "/health", json_object, idempotent=True)


def ready() -> Call[dict[str, Any]]:
    """``GET /ready``: its 503 (not ready) is an answer."""
    return Call("GET", "/ready", json_object, idempotent=True, answers=frozenset({503}))


def metrics() -> Call[str]:
    """``GET /metrics``."""
    return Call("GET", "/metrics", text, idempotent=True)


def models() -> Call[dict[str, Any]]:
    """``GET /v1/models``."""
    return Call("GET", "/v1/models", json_object, idempotent=True)


def model_history() -> Call[list[dict[str, Any]]]:
    """``GET /v1/models/history``: its events."""
    return Call("GET", "/v1/models/history", items("events"), idempotent=True)


def promote(version: int, reason: str) -> Call[dict[str, Any]]:
    """``POST /v1/models/promote``."""
    body = {"version": _id("version", version), "reason": reason}
    return Call("POST", "/v1/models/promote", json_object, body=body, admin=True)


def rollback(reason: str) -> Call[dict[str, Any]]:
    """``POST /v1/models/rollback``."""
    return Call("POST", "/v1/models/rollback", json_object, body={"reason": reason}, admin=True)


def set_routing(mode: str | None, share: float | None, salt: str | None) -> Call[dict[str, Any]]:
    """``PUT /v1/admin/routing`` with the fields given (the others keep their values)."""
    body = _params(mode=mode, share=share, salt=salt)
    return Call("PUT", "/v1/admin/routing", json_object, body=body, admin=True)


def reload() -> Call[dict[str, Any]]:
    """``POST /v1/admin/reload``."""
    return Call("POST", "/v1/admin/reload", json_object, admin=True)


def predict(row: Mapping[str, Any]) -> Call[Prediction]:
    """``POST /v1/predict`` with one row; idempotent when it carries a ``request_id``."""
    body = _row(row, "row")
    again = body.get("request_id") is not None
    return Call("POST", "/v1/predict", prediction, body=body, idempotent=again)


def predict_batch(rows: Sequence[Mapping[str, Any]]) -> Call[list[Prediction]]:
    """``POST /v1/predict`` with ``{"rows": [...]}``; idempotent when every row has an id."""
    body = [_row(row, f"rows.{i}") for i, row in enumerate(rows)]
    again = all(row.get("request_id") is not None for row in body)
    return Call("POST", "/v1/predict", predictions, body={"rows": body}, idempotent=again)


def monitoring_runs(
    start: datetime | None, end: datetime | None, limit: int, detail: bool
) -> Call[list[dict[str, Any]]]:
    """``GET /v1/monitoring/runs``."""
    params = _params(start=_time("start", start), end=_time("end", end), limit=limit,
                     detail=detail)  # fmt: skip
    return Call("GET", "/v1/monitoring/runs", items("runs"), params=params, idempotent=True)


def feature_points(
    what: Literal["drift", "quality"],
    feature: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Call[list[dict[str, Any]]]:
    """``GET /v1/monitoring/drift`` or ``/v1/monitoring/quality``."""
    params = _params(feature=feature, start=_time("start", start), end=_time("end", end),
                     limit=limit)  # fmt: skip
    return Call("GET", f"/v1/monitoring/{what}", items("points"), params=params, idempotent=True)


def performance(
    start: datetime | None, end: datetime | None, limit: int
) -> Call[list[dict[str, Any]]]:
    """``GET /v1/monitoring/performance``."""
    params = _params(start=_time("start", start), end=_time("end", end), limit=limit)
    path = "/v1/monitoring/performance"
    return Call("GET", path, items("points"), params=params, idempotent=True)


def distribution(
    feature: str, start: datetime, end: datetime, version: int | None
) -> Call[dict[str, Any]]:
    """``GET /v1/monitoring/distribution``."""
    params = _params(feature=feature, start=_time("start", start), end=_time("end", end),
                     version=None if version is None else _id("version", version))  # fmt: skip
    path = "/v1/monitoring/distribution"
    return Call("GET", path, json_object, params=params, idempotent=True)


def classification(
    start: datetime, end: datetime, version: int | None, threshold: float
) -> Call[dict[str, Any]]:
    """``GET /v1/monitoring/classification``."""
    params = _params(start=_time("start", start), end=_time("end", end),
                     version=None if version is None else _id("version", version),
                     threshold=threshold)  # fmt: skip
    path = "/v1/monitoring/classification"
    return Call("GET", path, json_object, params=params, idempotent=True)


def regression(start: datetime, end: datetime, version: int | None) -> Call[dict[str, Any]]:
    """``GET /v1/monitoring/regression``."""
    params = _params(start=_time("start", start), end=_time("end", end),
                     version=None if version is None else _id("version", version))  # fmt: skip
    return Call("GET", "/v1/monitoring/regression", json_object, params=params, idempotent=True)


def run_monitor() -> Call[dict[str, Any]]:
    """``POST /v1/monitoring/run``."""
    return Call("POST", "/v1/monitoring/run", json_object, admin=True)


def alerts(
    status: str | None,
    severity: str | None,
    rule: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Call[list[dict[str, Any]]]:
    """``GET /v1/alerts``."""
    params = _params(status=status, severity=severity, rule=rule, start=_time("start", start),
                     end=_time("end", end), limit=limit)  # fmt: skip
    return Call("GET", "/v1/alerts", items("alerts"), params=params, idempotent=True)


def alert(alert_id: int) -> Call[dict[str, Any]]:
    """``GET /v1/alerts/{id}``."""
    path = f"/v1/alerts/{_id('alert_id', alert_id)}"
    return Call("GET", path, json_object, idempotent=True)


def acknowledge(alert_id: int) -> Call[dict[str, Any]]:
    """``POST /v1/alerts/{id}/ack``."""
    return Call("POST", f"/v1/alerts/{_id('alert_id', alert_id)}/ack", json_object, admin=True)


def mute(alert_id: int, minutes: float) -> Call[dict[str, Any]]:
    """``POST /v1/alerts/{id}/mute``."""
    path = f"/v1/alerts/{_id('alert_id', alert_id)}/mute"
    return Call("POST", path, json_object, body={"minutes": minutes}, admin=True)


def retrain(reason: str) -> Call[dict[str, Any]]:
    """``POST /v1/retrain``."""
    return Call("POST", "/v1/retrain", json_object, body={"reason": reason}, admin=True)


def retraining_runs(status: str | None, limit: int) -> Call[list[dict[str, Any]]]:
    """``GET /v1/retraining/runs``."""
    params = _params(status=status, limit=limit)
    return Call("GET", "/v1/retraining/runs", items("runs"), params=params, idempotent=True)


def retraining_run(run_id: int) -> Call[dict[str, Any]]:
    """``GET /v1/retraining/runs/{id}``."""
    path = f"/v1/retraining/runs/{_id('run_id', run_id)}"
    return Call("GET", path, json_object, idempotent=True)


def ab_tests(status: str | None, limit: int) -> Call[list[dict[str, Any]]]:
    """``GET /v1/ab-tests``."""
    params = _params(status=status, limit=limit)
    return Call("GET", "/v1/ab-tests", items("ab_tests"), params=params, idempotent=True)


def ab_test(test_id: int) -> Call[dict[str, Any]]:
    """``GET /v1/ab-tests/{id}``."""
    return Call("GET", f"/v1/ab-tests/{_id('test_id', test_id)}", json_object, idempotent=True)


def start_ab_test(version: int, mode: str | None, share: float | None) -> Call[dict[str, Any]]:
    """``POST /v1/ab-tests``."""
    body = {"version": _id("version", version), **_params(mode=mode, share=share)}
    return Call("POST", "/v1/ab-tests", json_object, body=body, admin=True)


def stop_ab_test(test_id: int, reason: str) -> Call[dict[str, Any]]:
    """``POST /v1/ab-tests/{id}/stop``."""
    path = f"/v1/ab-tests/{_id('test_id', test_id)}/stop"
    return Call("POST", path, json_object, body={"reason": reason}, admin=True)
