"""Retraining over the API: ask for one, and read every run with its steps and gates."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from driftwarden.schema import ANY_TEXT_BUT_NUL_PATTERN
from driftwarden.serving.deps import AdminKey, PredictKey, State, who
from driftwarden.serving.errors import CountedRoute, error_body
from driftwarden.serving.routes.monitoring import Limit, PathId
from driftwarden.serving.schemas import BODY_CONFIG
from driftwarden.store import get_retrain_run, list_retrain_runs

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute, tags=["retraining"])


class RetrainBody(BaseModel):
    """Why a retraining is asked for (kept on the run)."""

    model_config = BODY_CONFIG

    reason: str = Field(default="", max_length=1000, pattern=ANY_TEXT_BUT_NUL_PATTERN)


@router.post(
    "/v1/retrain",
    dependencies=[AdminKey],
    status_code=202,
    summary="Retrain now",
    responses={
        202: {"description": "a retraining started; follow it at /v1/retraining/runs/{id}"},
        409: {"description": "one is running already; this request was recorded, not queued"},
    },
)
async def retrain(request: Request, state: State, body: RetrainBody | None = None) -> Any:
    """Start a retraining of the champion in the background: fetch data, train, validate on the
    recent holdout, register the candidate as challenger and start its A/B test. The request is
    recorded either way; while another retraining runs it starts nothing (409)."""
    reason = (body.reason if body is not None else "") or f"requested by {who(request)}"
    found = await asyncio.to_thread(state.retrainer.request, "manual", reason, wait=False)
    if found["status"] == "skipped":
        content = {**error_body("conflict", found["error"]), "run": jsonable_encoder(found)}
        return JSONResponse(status_code=409, content=content)
    return found


@router.get(
    "/v1/retraining/runs", dependencies=[PredictKey], summary="Retraining runs, newest first"
)
async def runs(
    state: State,
    status: Annotated[
        Literal["running", "succeeded", "rejected", "failed", "skipped"] | None, Query()
    ] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every retraining run (or request that was skipped) with its trigger, evidence, steps,
    validation gates, the candidate version and the A/B test it started."""
    found = await asyncio.to_thread(
        list_retrain_runs, state.engine, model_name=state.model_name, status=status, limit=limit
    )
    return {"model": state.model_name, "runs": found}


@router.get("/v1/retraining/runs/{run_id}", dependencies=[PredictKey], summary="One retraining run")
async def run(run_id: PathId, state: State) -> dict[str, Any]:
    """One run with every step's result."""
    return await asyncio.to_thread(get_retrain_run, state.engine, run_id)
