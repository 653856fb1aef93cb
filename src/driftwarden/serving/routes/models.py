"""``GET /v1/models`` and the admin routes that change which model answers."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from driftwarden.registry import lineage
from driftwarden.serving.deps import AdminKey, PredictKey, State, who
from driftwarden.serving.errors import CountedRoute
from driftwarden.serving.openapi import errors
from driftwarden.serving.schemas import ModelChange, PromoteRequest, RoutingUpdate
from driftwarden.serving.state import ServingState

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute)


@router.get("/v1/models", dependencies=[PredictKey], summary="Versions, aliases, loaded models")
async def models(state: State) -> dict[str, Any]:
    """Every registered version with its aliases and holdout metrics, which versions this server
    has loaded, and the champion/challenger experiment. ``task`` is the served model's
    (``binary_classification`` or ``regression``; null before a champion exists)."""
    versions = await asyncio.to_thread(state.models.registry.list_versions)
    loaded = {arm: served.version for arm, served in state.models.models.items()}
    return {
        "model": state.models.registry.name,
        "task": None if state.schema is None else state.schema.task,
        "versions": [v.to_dict() for v in versions],
        "loaded": loaded,
        "routing": asdict(state.router.config),
    }


@router.put(
    "/v1/admin/routing", dependencies=[AdminKey], summary="Change the challenger's share or mode"
)
async def routing(update: RoutingUpdate, request: Request, state: State) -> dict[str, Any]:
    """Set the experiment's mode (off, split, shadow), the challenger's share and its salt.

    The change is stored before it applies, so it outlives a restart and every replica picks it
    up (at its next routing poll, or at once on ``POST /v1/admin/reload``). Omitted fields keep
    their stored values. If the store is unreachable the answer is 503 and nothing changes.
    """
    config = await state.routing.change(
        mode=update.mode, share=update.share, salt=update.salt, changed_by=who(request)
    )
    return asdict(config)


@router.post(
    "/v1/admin/reload", dependencies=[AdminKey], summary="Check the aliases and the routing now"
)
async def reload(state: State) -> dict[str, Any]:
    """Load new champion/challenger versions and the stored routing experiment now instead of
    at the next poll. An unreachable store keeps the current routing (the log says so)."""
    swapped = {arm: await state.models.refresh(arm) for arm in ("champion", "challenger")}
    await state.routing.refresh()
    loaded = {arm: served.version for arm, served in state.models.models.items()}
    return {"swapped": swapped, "loaded": loaded, "routing": asdict(state.router.config)}


@router.get("/v1/models/history", dependencies=[PredictKey], summary="Every champion move")
async def history(state: State) -> dict[str, Any]:
    """The append-only history of the champion alias, oldest first (promotions and rollbacks,
    with who, when and why; a promotion by the A/B policy names its test and statistics), and
    the stack of champions a rollback walks back through."""
    events = await asyncio.to_thread(state.models.registry.history)
    return {
        "model": state.models.registry.name,
        "events": [{**asdict(event), "at": event.at.isoformat()} for event in events],
        "lineage": lineage(events),
    }


async def _moved(state: ServingState, event: Any) -> dict[str, Any]:
    # This replica serves the new champion at once; the others at their next alias poll.
    await state.models.refresh("champion")
    await state.models.refresh("challenger")
    loaded = {arm: served.version for arm, served in state.models.models.items()}
    return {"event": {**asdict(event), "at": event.at.isoformat()}, "loaded": loaded}


@router.post(
    "/v1/models/rollback",
    dependencies=[AdminKey],
    summary="Roll the champion back",
    responses=errors(e404="There is no earlier champion to roll back to."),
)
async def rollback(
    request: Request, state: State, body: ModelChange | None = None
) -> dict[str, Any]:
    """Return the champion alias to the champion before the current one. 404 when there is no
    earlier champion."""
    reason = (body.reason if body is not None else "") or "rollback over the API"
    event = await asyncio.to_thread(
        state.models.registry.rollback, reason=reason, actor=who(request)
    )
    return await _moved(state, event)


@router.post(
    "/v1/models/promote",
    dependencies=[AdminKey],
    summary="Make a version the champion",
    responses=errors(
        e404="The model has no such version.", e409="The version is the champion already."
    ),
)
async def promote(body: PromoteRequest, request: Request, state: State) -> dict[str, Any]:
    """Move the champion alias to a version by hand (the previous champion stays one rollback
    away). 409 when it is the champion already."""
    event = await asyncio.to_thread(
        state.models.registry.promote,
        body.version,
        reason=body.reason or "promoted over the API",
        actor=who(request),
    )
    return await _moved(state, event)
