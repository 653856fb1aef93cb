"""Champion/challenger A/B tests over the API: list, read with their statistics over time,
start one by hand, stop one."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from driftwarden.schema import ANY_TEXT_BUT_NUL_PATTERN
from driftwarden.serving.deps import AdminKey, PredictKey, State, who
from driftwarden.serving.errors import CountedRoute
from driftwarden.serving.openapi import errors
from driftwarden.serving.routes.monitoring import Limit, PathId
from driftwarden.serving.schemas import BODY_CONFIG, MAX_ID, JsonInt
from driftwarden.store import get_ab_test, list_ab_tests

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute, tags=["A/B tests"])


class StartTest(BaseModel):
    """A test of a registered version against the champion."""

    model_config = BODY_CONFIG

    version: JsonInt = Field(ge=1, le=MAX_ID, description="The version to test as challenger.")
    mode: Literal["split", "shadow"] | None = Field(
        default=None, description="Default: ab_test.mode."
    )
    share: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Split mode; default: ab_test.share."
    )


class StopTest(BaseModel):
    """Why a test is stopped by hand."""

    model_config = BODY_CONFIG

    reason: str = Field(default="", max_length=1000, pattern=ANY_TEXT_BUT_NUL_PATTERN)


@router.get("/v1/ab-tests", dependencies=[PredictKey], summary="A/B tests, newest first")
async def ab_tests(
    state: State,
    status: Annotated[
        Literal["running", "promoted", "rejected", "ended", "aborted"] | None, Query()
    ] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every test with its arms, mode, status and the decision that ended it."""
    found = await asyncio.to_thread(
        list_ab_tests, state.engine, model_name=state.model_name, status=status, limit=limit
    )
    return {"model": state.model_name, "ab_tests": found}


@router.get("/v1/ab-tests/{test_id}", dependencies=[PredictKey], summary="One A/B test")
async def ab_test(test_id: PathId, state: State) -> dict[str, Any]:
    """The test and its snapshots (the statistics of each monitor run, oldest first), and how
    the challenger's schema differs from the champion's (``schema_changes``: the categories and
    ranges a retraining widened; empty when they read the same contract)."""
    found: dict[str, Any] = await asyncio.to_thread(get_ab_test, state.engine, test_id)
    info = await asyncio.to_thread(state.models.registry.get_version, found["challenger_version"])
    found["schema_changes"] = json.loads(info.tags.get("schema_changes", "[]"))
    return found


@router.post(
    "/v1/ab-tests",
    dependencies=[AdminKey],
    status_code=201,
    summary="Start an A/B test",
    responses=errors(
        e404="The model has no such version.",
        e409="Another test runs, or the version is the champion.",
    ),
)
async def start(body: StartTest, request: Request, state: State) -> dict[str, Any]:
    """Test a registered version against the champion: it becomes the challenger and the
    routing of every replica changes through the store. 409 while another test runs."""
    found: dict[str, Any] = await asyncio.to_thread(
        state.monitor.ab_tests.start,
        body.version,
        mode=body.mode,
        share=body.share,
        actor=who(request),
    )
    await state.models.refresh("challenger")
    await state.routing.refresh()
    return found


@router.post(
    "/v1/ab-tests/{test_id}/stop",
    dependencies=[AdminKey],
    summary="Stop an A/B test",
    responses=errors(e409="The test is not running."),
)
async def stop(
    test_id: PathId, request: Request, state: State, body: StopTest | None = None
) -> dict[str, Any]:
    """End a running test without promotion: the routing goes off and the challenger alias is
    removed. 409 when the test is not running."""
    reason = body.reason if body is not None else ""
    found: dict[str, Any] = await asyncio.to_thread(
        state.monitor.ab_tests.stop,
        test_id,
        reason=reason or "no reason given",
        actor=who(request),
    )
    await state.routing.refresh()
    await state.models.refresh("challenger")
    return found
