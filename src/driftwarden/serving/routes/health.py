"""``GET /health`` (liveness), ``GET /ready`` (model loaded, store reachable), ``GET /metrics``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from driftwarden.core.errors import StoreUnavailableError
from driftwarden.serving.deps import State
from driftwarden.store import check_reachable

__all__ = ["router"]

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    """Always ``ok`` while the process runs."""
    return {"status": "ok"}


_READY_BODY = {
    "type": "object",
    "properties": {
        "ready": {"type": "boolean"},
        "champion": {"type": ["integer", "null"]},
        "store": {"type": "object"},
        "process": {"type": "integer"},
    },
    "required": ["ready", "champion", "store", "process"],
}


@router.get(
    "/ready",
    summary="Readiness: a model is loaded and the store reachable",
    responses={
        200: {"description": "Ready.", "content": {"application/json": {"schema": _READY_BODY}}},
        503: {
            "description": "Not ready: no champion is loaded or the store is unreachable; "
            "the same body says which.",
            "content": {"application/json": {"schema": _READY_BODY}},
        },
    },
)
async def ready(state: State) -> JSONResponse:
    """503 until a champion is loaded; reports the store and the spool. While the database is
    unreachable the server still answers (rows wait in the spool), and says so here."""
    champion = state.models.get("champion")
    try:
        await asyncio.to_thread(check_reachable, state.engine)
        store: dict[str, Any] = {"reachable": True}
    except StoreUnavailableError as exc:
        store = {"reachable": False, "detail": str(exc)}
    store["spooled_rows"] = state.writer.spool_size
    store["degraded"] = state.writer.degraded
    store["logging"] = state.settings.serving.log_predictions
    store["spool_file"] = state.writer.spool.path.name
    store["spool_full"] = state.writer.spool.full
    store["next_replay_in_seconds"] = state.writer.seconds_until_replay()
    body = {
        "ready": champion is not None and bool(store["reachable"]),
        "champion": None if champion is None else champion.version,
        "store": store,
        # Which process answered: behind one port, `serve --workers N` runs N of them.
        "process": os.getpid(),
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(state: State) -> Response:
    """Request counts, latency, in-flight requests, model info, log queue depth and spool size,
    and the latest monitor pass's figures."""
    state.metrics.log_queue_depth.set(state.writer.queue_depth)
    state.metrics.spool_rows.set(state.writer.spool_size)
    state.metrics.model.info(
        {arm: str(served.version) for arm, served in state.models.models.items()}
    )
    # In a worker thread: the monitor's figures may be read from the store.
    body = await asyncio.to_thread(state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
