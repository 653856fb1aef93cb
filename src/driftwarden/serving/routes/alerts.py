"""Alerts over the API: list them with filters, read one with its history, acknowledge, mute."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from driftwarden.schema import ANY_TEXT_BUT_NUL_PATTERN
from driftwarden.serving.deps import AdminKey, PredictKey, State, who
from driftwarden.serving.errors import CountedRoute
from driftwarden.serving.openapi import errors
from driftwarden.serving.routes.monitoring import End, Limit, PathId, Start, check_range
from driftwarden.serving.schemas import BODY_CONFIG
from driftwarden.store import alert_events, get_alert, list_alerts

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute, tags=["alerts"])


class MuteRequest(BaseModel):
    """How long to send nothing about an alert."""

    model_config = BODY_CONFIG

    minutes: float = Field(gt=0, le=60 * 24 * 365, description="Length of the mute.")


@router.get("/v1/alerts", dependencies=[PredictKey], summary="Alerts, newest first")
async def alerts(
    state: State,
    status: Annotated[Literal["open", "acknowledged", "resolved"] | None, Query()] = None,
    severity: Annotated[Literal["info", "warning", "critical"] | None, Query()] = None,
    rule: Annotated[
        str | None,
        Query(pattern=ANY_TEXT_BUT_NUL_PATTERN, description="e.g. feature_drift, performance_drop"),
    ] = None,
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Alerts opened in ``[start, end)`` that match every filter given."""
    check_range(start, end)
    found = await asyncio.to_thread(
        list_alerts,
        state.engine,
        model_name=state.model_name,
        status=status,
        severity=severity,
        rule=rule,
        start=start,
        end=end,
        limit=limit,
    )
    return {"model": state.model_name, "alerts": found}


@router.get("/v1/alerts/{alert_id}", dependencies=[PredictKey], summary="One alert and its history")
async def alert(alert_id: PathId, state: State) -> dict[str, Any]:
    """The alert and every event of its life: opened, escalated, notified (per channel), delivery
    failures, acknowledged, muted, resolved."""
    found = await asyncio.to_thread(get_alert, state.engine, alert_id)
    found["events"] = await asyncio.to_thread(alert_events, state.engine, alert_id)
    return found


@router.post(
    "/v1/alerts/{alert_id}/ack",
    dependencies=[AdminKey],
    summary="Acknowledge",
    responses=errors(e409="The alert is resolved."),
)
async def acknowledge(alert_id: PathId, request: Request, state: State) -> dict[str, Any]:
    """Mark the alert as seen: it stays active and can still escalate, but sends no reminders.
    A resolved alert cannot be acknowledged (409)."""
    monitor = state.monitor
    return await asyncio.to_thread(monitor.alerts.acknowledge, alert_id, by=who(request))


@router.post(
    "/v1/alerts/{alert_id}/mute",
    dependencies=[AdminKey],
    summary="Mute",
    responses=errors(e409="The alert is resolved."),
)
async def mute(
    alert_id: PathId, body: MuteRequest, request: Request, state: State
) -> dict[str, Any]:
    """Send nothing about the alert for ``minutes``; it is still updated and listed."""
    monitor = state.monitor
    return await asyncio.to_thread(
        monitor.alerts.mute, alert_id, timedelta(minutes=body.minutes), by=who(request)
    )
