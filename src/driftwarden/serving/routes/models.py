"""``GET /v1/models`` and the admin routes that change which model answers."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

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
async def routing(update: RoutingUpdate, state: State) -> dict[str, Any]:
    """Set the experiment's mode (off, split, shadow), the challenger's share and its salt."""
    config = state.router.update(mode=update.mode, share=update.share, salt=update.salt)
    return asdict(config)


@router.post("/v1/admin/reload", dependencies=[AdminKey], summary="Check the registry aliases now")
async def reload(state: State) -> dict[str, Any]:
    """Load new champion/challenger versions now instead of at the next poll."""
    swapped = {arm: await state.models.refresh(arm) for arm in ("champion", "challenger")}
    loaded = {arm: served.version for arm, served in state.models.models.items()}
    return {"swapped": swapped, "loaded": loaded}
