"""The monitor's history over the API: runs, per-feature drift, performance, data quality; a
feature's distribution beside its reference and the confusion matrix and ROC curve of the
labelled rows of any range; and an admin call that runs the monitor now.

Every time range is half-open, ``[start, end)``, and every time is ISO 8601 with a zone
(``2024-05-01T00:00:00Z``). The history filters windows by their end; the distribution and the
classification read the logged rows whose creation time is in the range.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from driftwarden.core.errors import NotFoundError
from driftwarden.monitoring import assemble
from driftwarden.schema import ANY_TEXT_BUT_NUL_PATTERN
from driftwarden.serving.deps import AdminKey, PredictKey, State
from driftwarden.serving.errors import ApiError, CountedRoute
from driftwarden.serving.openapi import errors
from driftwarden.serving.schemas import MAX_ID
from driftwarden.serving.state import ServingState
from driftwarden.stats import (
    NumericProfile,
    ReferenceProfile,
    categorical_histogram,
    numeric_histogram,
    roc_curve,
)
from driftwarden.stats.metrics import classification_metrics, regression_metrics
from driftwarden.store import (
    feature_history,
    labelled_scores,
    list_runs,
    read_window,
    scores_between,
)

__all__ = ["SCORES", "PathId", "Version", "ZonedTime", "check_range", "router"]

#: The name the model's scores go by among the features: the name of the drift report's
#: prediction-drift verdict (``report["prediction"]["feature"]`` of a run's detail).
SCORES = "prediction"

router = APIRouter(route_class=CountedRoute, tags=["monitoring"])

# RFC 3339, as the document's `date-time` format: a date, a time and a zone. Pydantic alone
# would also read "0.5" as seconds since 1970, and a time without a zone as local time.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _zoned_time(value: Any) -> Any:
    if isinstance(value, str) and _RFC3339.fullmatch(value) is None:
        raise PydanticCustomError(
            "datetime_format",
            "expected a time with a zone such as 2024-05-01T00:00:00Z (RFC 3339), got {value}",
            {"value": repr(value)},
        )
    return value


ZonedTime = Annotated[datetime, BeforeValidator(_zoned_time)]
Start = Annotated[
    ZonedTime | None,
    Query(description="Only windows that end at or after this time (RFC 3339, with a zone)."),
]
End = Annotated[
    ZonedTime | None,
    Query(description="Only windows that end before this time; not before `start`."),
]
Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many items.")]
#: The id of an alert, a retraining run or an A/B test in a path.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def check_range(start: datetime | None, end: datetime | None) -> None:
    """Refuse naive times and a range that ends before it starts (422 naming the field)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.utcoffset() is None:
            raise ApiError(
                422,
                "invalid_request",
                f"{name}: expected a time with a zone such as 2024-05-01T00:00:00Z, "
                f"got {value.isoformat()}",
                name,
            )
    if start is not None and end is not None and end < start:
        raise ApiError(422, "invalid_request", "end: the range ends before it starts", "end")


@router.get("/v1/monitoring/runs", dependencies=[PredictKey], summary="Monitor runs")
async def runs(
    state: State,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
    detail: Annotated[
        bool, Query(description="Include each result's full drift report and explanation drift.")
    ] = False,
) -> dict[str, Any]:
    """The latest monitor runs, newest first, each with one result per model version that
    served its window: drift severity, share of drifted features, prediction drift, latency
    percentiles, realised performance (and the labelled rows it rests on), estimated
    performance, and multivariate drift (``multivariate``: adversarial validation's AUC,
    p-value, severity and the features that carry the shift; null when not measured in that
    run). ``detail=true`` adds the full drift ``report`` and ``explanation`` drift."""
    check_range(start, end)
    found = await asyncio.to_thread(
        list_runs,
        state.engine,
        state.model_name,
        start=start,
        end=end,
        limit=limit,
        reports=detail,
    )
    return {"model": state.model_name, "runs": found}


Feature = Annotated[
    str | None,
    Query(pattern=ANY_TEXT_BUT_NUL_PATTERN, description="One feature; all when omitted."),
]


async def _history(
    state: Any, feature: str | None, start: datetime | None, end: datetime | None, limit: int
) -> list[dict[str, Any]]:
    check_range(start, end)
    return await asyncio.to_thread(
        feature_history,
        state.engine,
        state.model_name,
        feature=feature,
        start=start,
        end=end,
        limit=limit,
    )


@router.get("/v1/monitoring/drift", dependencies=[PredictKey], summary="Per-feature drift")
async def drift(
    state: State,
    feature: Feature = None,
    start: Start = None,
    end: End = None,
    limit: Limit = 10_000,
) -> dict[str, Any]:
    """Each feature's drift verdict over time, oldest first: method, statistic, thresholds,
    p-value, severity and sample sizes of every window."""
    found = await _history(state, feature, start, end, limit)
    points = [{k: v for k, v in row.items() if not k.endswith("_rate")} for row in found]
    return {"model": state.model_name, "points": points}


@router.get("/v1/monitoring/quality", dependencies=[PredictKey], summary="Data quality")
async def quality(
    state: State,
    feature: Feature = None,
    start: Start = None,
    end: End = None,
    limit: Limit = 10_000,
) -> dict[str, Any]:
    """Each feature's missing, invalid, out-of-range and unseen-category rates over time."""
    found = await _history(state, feature, start, end, limit)
    keep = ("model_version", "window_end", "feature", "n_current")
    points = [{k: v for k, v in row.items() if k in keep or k.endswith("_rate")} for row in found]
    return {"model": state.model_name, "points": points}


@router.get("/v1/monitoring/performance", dependencies=[PredictKey], summary="Performance")
async def performance(
    state: State, start: Start = None, end: End = None, limit: Limit = 1000
) -> dict[str, Any]:
    """Realised performance (on the labelled rows, recomputed as late labels arrive) beside
    the performance estimated from the scores alone, per window and model version, oldest
    first. ``n_labelled`` is how many labelled rows each realised figure rests on."""
    check_range(start, end)
    found = await asyncio.to_thread(
        list_runs, state.engine, state.model_name, start=start, end=end, limit=limit
    )
    points = [
        {
            "window_start": result["window_start"],
            "window_end": result["window_end"],
            "model_version": result["model_version"],
            "n_rows": result["n_rows"],
            "n_labelled": result["n_labelled"],
            "realised": result["performance"],
            "realised_at": result["performance_at"],
            "estimated": result["estimated"],
        }
        for run in reversed(found)
        for result in run["results"]
    ]
    return {"model": state.model_name, "points": points}


WindowStart = Annotated[
    ZonedTime, Query(description="Rows logged at or after this time (RFC 3339, with a zone).")
]
WindowEnd = Annotated[
    ZonedTime, Query(description="Rows logged before this time; not before `start`.")
]


def _profile(state: ServingState, version: int | None) -> tuple[int, ReferenceProfile]:
    """The version asked for (the champion by default) and its reference profile."""
    references = state.monitor.references
    if version is None:
        version = references.champion()
        if version is None:
            raise ApiError(
                404,
                "not_found",
                f"version: model {state.model_name!r} has no champion; pass a version",
                "version",
            )
    try:
        return version, references.profile(version)
    except NotFoundError as exc:
        raise ApiError(
            404,
            "not_found",
            f"version: model {state.model_name!r} has no version {version} with a reference "
            f"profile ({exc})",
            "version",
        ) from exc


def _distribution(
    state: ServingState, feature: str, start: datetime, end: datetime, version: int | None
) -> dict[str, Any]:
    version, profile = _profile(state, version)
    target = profile.features.get(feature)
    if target is not None:
        chunks = read_window(state.engine, start, end, model_version=version)
        values = assemble(chunks, {feature: target.kind}).features[feature]
        histogram = (
            numeric_histogram(target, values)
            if isinstance(target, NumericProfile)
            else categorical_histogram(target, values)
        )
    elif feature == SCORES and profile.prediction is not None:
        _, scores = scores_between(state.engine, start, end, model_version=version)
        histogram = numeric_histogram(profile.prediction, scores)
    else:
        known = [*profile.features, *([SCORES] if profile.prediction is not None else [])]
        raise ApiError(
            404,
            "not_found",
            f"feature: version {version} of model {state.model_name!r} has no feature "
            f"{feature!r}; its features are {', '.join(known)}",
            "feature",
        )
    found = histogram.to_dict()
    return {
        "model": state.model_name,
        "feature": feature,
        "kind": found.pop("kind"),
        "model_version": version,
        "window_start": start.astimezone(UTC),
        "window_end": end.astimezone(UTC),
        **found,
    }


@router.get(
    "/v1/monitoring/distribution",
    dependencies=[PredictKey],
    summary="A feature's distribution beside its reference",
    responses=errors(
        e404="The version has no such feature, or no reference profile; `field` says which."
    ),
)
async def distribution(
    state: State,
    feature: Annotated[
        str,
        Query(
            pattern=ANY_TEXT_BUT_NUL_PATTERN,
            description=f"A feature of the version's profile, or {SCORES!r}: the scores.",
        ),
    ],
    start: WindowStart,
    end: WindowEnd,
    version: Annotated[
        Version, Query(description="The model version; the champion when omitted.")
    ] = None,
) -> dict[str, Any]:
    """One feature of the rows a model version scored in ``[start, end)`` beside the reference
    of that version, as proportions over the same bins (``reference`` and ``current`` each sum
    to 1, or are all 0 without a value).

    A numeric feature (and the scores, named ``prediction``) comes in at most 40 bins of the
    reference's quantile grid: ``edges`` holds one more value than the bins, bin ``k`` being
    ``[edges[k], edges[k+1])``; values below the first edge count in the first bin and values
    at or above the last in the last. A categorical feature comes as the reference's
    ``categories`` (most frequent first), ``(other)`` for the rare labels the reference folded
    together, and ``(unseen)`` for labels it has never seen, which ``unseen`` also counts by
    name. ``n_missing`` counts the rows without a usable value. 404 for an unknown feature
    (naming the known ones) or a version without a reference profile."""
    check_range(start, end)
    return await asyncio.to_thread(_distribution, state, feature, start, end, version)


# Points of the predicted-against-true scatter the regression read returns, at most.
_MAX_PAIRS = 500
# Bins of its residual histogram, at most.
_RESIDUAL_BINS = 40


def _labelled_pairs(
    state: ServingState, start: datetime, end: datetime, version: int | None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The true labels and scores of the labelled rows of ``[start, end)``."""
    found = labelled_scores(state.engine, start, end, model_version=version)
    labels, scores = found.true_label, found.score
    if version is None:
        # The answered rows: a shadow score is a second score of a request already counted.
        answered = found.variant != "shadow"
        labels, scores = labels[answered], scores[answered]
    return labels, scores


def _require_task(state: ServingState, task: str, other: str) -> None:
    """409 when the served model is not of ``task`` (the read for it is ``other``)."""
    schema = state.schema
    actual = "binary_classification" if schema is None else schema.task
    if actual != task:
        raise ApiError(
            409,
            "wrong_task",
            f"the model {state.model_name!r} is a {actual.replace('_', ' ')} model; read "
            f"{other} instead",
        )


def _classification(
    state: ServingState, start: datetime, end: datetime, version: int | None, threshold: float
) -> dict[str, Any]:
    labels, scores = _labelled_pairs(state, start, end, version)
    if labels.shape[0] == 0:
        return {
            "n_labelled": 0,
            "confusion": {"tp": 0, "fp": 0, "tn": 0, "fn": 0},
            "roc": {"fpr": [], "tpr": [], "thresholds": []},
            "roc_auc": None,
            "accuracy": None,
        }
    metrics = classification_metrics(labels, scores, threshold=threshold).to_dict()
    return {
        "n_labelled": int(labels.shape[0]),
        "confusion": {key: metrics[key] for key in ("tp", "fp", "tn", "fn")},
        "roc": roc_curve(labels, scores).to_dict(),
        "roc_auc": metrics["roc_auc"],
        "accuracy": metrics["accuracy"],
    }


@router.get(
    "/v1/monitoring/classification",
    dependencies=[PredictKey],
    summary="Confusion matrix and ROC curve",
    responses=errors(e409="The model is a regression model: read /v1/monitoring/regression."),
)
async def classification(
    state: State,
    start: WindowStart,
    end: WindowEnd,
    version: Annotated[
        Version, Query(description="Only the rows this version scored; all when omitted.")
    ] = None,
    threshold: Annotated[
        float,
        Query(
            ge=0.0,
            le=1.0,
            description="A row is predicted positive when its score is at least this.",
        ),
    ] = 0.5,
) -> dict[str, Any]:
    """The confusion matrix at ``threshold`` and the ROC curve (at most 200 points, from
    (0, 0) to (1, 1); the first threshold, infinite, is null) of the rows logged in
    ``[start, end)`` that have a label: those ``version`` scored (its shadow scores too), or
    without a version the answered ones, whichever version answered. ``roc_auc``
    is null, and the curve empty, unless both classes are among the labels; with no labelled
    row the counts are 0 and ``accuracy`` is null too."""
    check_range(start, end)
    _require_task(state, "binary_classification", "/v1/monitoring/regression")
    if not 0.0 <= threshold <= 1.0:
        raise ApiError(
            422,
            "invalid_request",
            f"threshold: expected a number in [0, 1], got {threshold}",
            "threshold",
        )
    computed = await asyncio.to_thread(_classification, state, start, end, version, threshold)
    return {
        "model": state.model_name,
        "window_start": start.astimezone(UTC),
        "window_end": end.astimezone(UTC),
        "model_version": version,
        "threshold": threshold,
        **computed,
    }


def _regression(
    state: ServingState, start: datetime, end: datetime, version: int | None
) -> dict[str, Any]:
    labels, predicted = _labelled_pairs(state, start, end, version)
    n = int(labels.shape[0])
    if n == 0:
        return {
            "n_labelled": 0,
            "metrics": None,
            "pairs": {"predicted": [], "actual": []},
            "residuals": {"edges": [], "counts": []},
        }
    metrics = regression_metrics(labels, predicted).to_dict()
    # Evenly spaced rows in time order: the scatter shows the whole window, not its start.
    shown = np.unique(np.linspace(0, n - 1, min(n, _MAX_PAIRS)).round().astype(np.int64))
    residuals = predicted - labels
    counts, edges = np.histogram(residuals, bins=min(_RESIDUAL_BINS, max(1, n // 5)))
    return {
        "n_labelled": n,
        "metrics": metrics,
        "pairs": {
            "predicted": predicted[shown].tolist(),
            "actual": labels[shown].tolist(),
        },
        "residuals": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


@router.get(
    "/v1/monitoring/regression",
    dependencies=[PredictKey],
    summary="Errors of a regression model's labelled predictions",
    responses=errors(e409="The model is a classifier: read /v1/monitoring/classification."),
)
async def regression(
    state: State,
    start: WindowStart,
    end: WindowEnd,
    version: Annotated[
        Version, Query(description="Only the rows this version scored; all when omitted.")
    ] = None,
) -> dict[str, Any]:
    """RMSE, MAE, R² and MAPE (``metrics``, with ``n``) of the rows logged in ``[start, end)``
    that have a label: those ``version`` scored (its shadow scores too), or without a version
    the answered ones. ``pairs`` holds at most 500 (predicted, actual) points evenly spread over
    the rows in time order, and ``residuals`` a histogram of predicted minus actual (``edges``
    one longer than ``counts``). With no labelled row ``metrics`` is null. 409 when the model
    is a classifier (read ``/v1/monitoring/classification``)."""
    check_range(start, end)
    _require_task(state, "regression", "/v1/monitoring/classification")
    computed = await asyncio.to_thread(_regression, state, start, end, version)
    return {
        "model": state.model_name,
        "window_start": start.astimezone(UTC),
        "window_end": end.astimezone(UTC),
        "model_version": version,
        **computed,
    }


@router.post(
    "/v1/monitoring/run", dependencies=[AdminKey], summary="Run the monitor over the latest window"
)
async def run_now(state: State) -> dict[str, Any]:
    """Run the monitor now over the window ending now, apply the alert rules, and return what
    it found (the loop keeps its own schedule)."""
    report = await asyncio.to_thread(state.monitor.run_once)
    return report.to_dict()
