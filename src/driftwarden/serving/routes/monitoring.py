"""The monitor's history over the API: runs, per-feature drift, performance, data quality; and
an admin call that runs the monitor now.

Every time range is half-open, ``[start, end)``, on the end of each window, and every time is
ISO 8601 with a zone (``2024-05-01T00:00:00Z``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from driftwarden.serving.deps import AdminKey, PredictKey, State
from driftwarden.serving.errors import ApiError, CountedRoute
from driftwarden.store import feature_history, list_runs

__all__ = ["check_range", "router"]

router = APIRouter(route_class=CountedRoute, tags=["monitoring"])

Start = Annotated[
    datetime | None, Query(description="Only windows that end at or after this time (ISO 8601).")
]
End = Annotated[datetime | None, Query(description="Only windows that end before this time.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="At most this many items.")]


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
    detail: Annotated[bool, Query(description="Include each result's full drift report.")] = False,
) -> dict[str, Any]:
    """The latest monitor runs, newest first, each with one result per model version that
    served its window: drift severity, share of drifted features, prediction drift, latency
    percentiles, realised performance (and the labelled rows it rests on) and estimated
    performance."""
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


Feature = Annotated[str | None, Query(description="One feature; all when omitted.")]


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


@router.post(
    "/v1/monitoring/run", dependencies=[AdminKey], summary="Run the monitor over the latest window"
)
async def run_now(state: State) -> dict[str, Any]:
    """Run the monitor now over the window ending now, apply the alert rules, and return what
    it found (the loop keeps its own schedule)."""
    report = await asyncio.to_thread(state.monitor.run_once)
    return report.to_dict()
