"""``POST /v1/feedback``: true labels for earlier predictions, idempotent, per-item outcomes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from driftwarden.serving.deps import PredictKey, State
from driftwarden.serving.errors import ApiError
from driftwarden.serving.schemas import FeedbackOutcome, FeedbackRequest, FeedbackResponse
from driftwarden.serving.state import ServingState
from driftwarden.store import record_labels

__all__ = ["router"]

router = APIRouter()


def _binary(state: ServingState, index: int, value: int | bool | str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if value in (0, 1):
            return value
    elif state.schema is not None and state.schema.positive_label is not None:
        return int(value == str(state.schema.positive_label))
    raise ApiError(
        422,
        "invalid_request",
        f"labels.{index}.label: expected 0, 1, true, false or a class name, got {value!r}",
        f"labels.{index}.label",
    )


@router.post(
    "/v1/feedback",
    dependencies=[PredictKey],
    response_model=FeedbackResponse,
    summary="Record true labels for earlier predictions",
)
async def feedback(body: FeedbackRequest, state: State) -> FeedbackResponse:
    """Record labels; sending the same label again changes nothing, and an unknown request id is
    reported for its own item without failing the others. Labels may arrive days later."""
    items = [(item.request_id, _binary(state, i, item.label)) for i, item in enumerate(body.labels)]
    outcomes = await asyncio.to_thread(
        record_labels, state.engine, items, received_at=state.clock.now()
    )
    results = [FeedbackOutcome(request_id=rid, status=outcomes[rid]) for rid, _ in items]
    return FeedbackResponse(
        results=results,
        recorded=sum(r.status == "recorded" for r in results),
        unknown=sum(r.status == "unknown" for r in results),
    )
