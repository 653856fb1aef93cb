"""``GET /v1/models`` and the admin routes that change which model answers."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from driftwarden.serving.deps import AdminKey, PredictKey, State
from driftwarden.serving.errors import CountedRoute
from driftwarden.serving.schemas import RoutingUpdate

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute)


@router.get("/v1/models", dependencies=[PredictKey], summary="Versions, aliases, loaded models")
async def models(state: State) -> dict[str, Any]:
    """Every registered version with its aliases and holdout metrics, which versions this server
    has loaded, and the champion/challenger experiment."""
    versions = await asyncio.to_thread(state.models.registry.list_versions)
    loaded = {arm: served.version for arm, served in state.models.models.items()}
    return {
        "model": state.models.registry.name,
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
    # The admin key names no person: the client's address is what the server knows of who.
    client = request.client.host if request.client is not None else "unknown"
    config = await state.routing.change(
        mode=update.mode,
        share=update.share,
        salt=update.salt,
        changed_by=f"admin API key from {client}",
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
