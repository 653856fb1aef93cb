"""``POST /v1/feedback``: true labels for earlier predictions, idempotent, per-item outcomes.

An unknown request id fails only its own item while any other label of the request is known. A
request none of whose ids is known is a 404 naming the first of them: nothing it sent joined a
prediction, which is almost always a wrong id. Its labels are kept all the same (as for every
unknown id), since a prediction may still wait in a server's spool; sending them again later is
harmless.
"""

from __future__ import annotations

import asyncio
import json
import math

from fastapi import APIRouter

from driftwarden.schema import FeatureSchema
from driftwarden.serving.deps import PredictKey, State
from driftwarden.serving.errors import ApiError, CountedRoute
from driftwarden.serving.schemas import FeedbackOutcome, FeedbackRequest, FeedbackResponse
from driftwarden.store import record_labels

__all__ = ["router"]

router = APIRouter(route_class=CountedRoute)

# The binary spellings every model accepts, whatever its target's class names.
_BINARY: dict[str, int] = {"0": 0, "1": 1}


def _class_names(schema: FeatureSchema | None) -> dict[str, int]:
    """The class names a label may be given as, and what each means.

    The schema records only the positive class, so that is the one name known; the negative
    class is sent as 0, "0" or false.
    """
    if schema is None or schema.positive_label is None:
        return {}
    return {str(schema.positive_label): 1}


def _expected(names: dict[str, int]) -> str:
    binary = 'expected 0, 1, "0", "1", true or false'
    positive = [name for name, value in names.items() if value == 1]
    if not positive:
        return f"{binary} (the model's schema names no positive class)"
    return f"{binary}, or the positive class {json.dumps(positive[0])}"


def _number(index: int, value: bool | int | float | str) -> float:
    """A regression model's true value: a finite number, or a string that is one.

    Raises
    ------
    ApiError
        422 naming ``labels.<index>.label``.
    """
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is not None and math.isfinite(number):
        return number
    field = f"labels.{index}.label"
    raise ApiError(
        422,
        "invalid_request",
        f"{field}: the model is a regression model, whose label is its target's true value: "
        f"expected a finite number, got {json.dumps(value)}",
        field,
    )


def _binary(names: dict[str, int], index: int, value: bool | int | float | str) -> int:
    """``value`` as 0 or 1; anything that is not one of the accepted spellings is refused.

    Raises
    ------
    ApiError
        422 naming ``labels.<index>.label``; a typo must not become a silent 0.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if value in (0, 1):
            return value
    elif isinstance(value, float):
        pass  # 1.0 is not read as 1: a number with a point is a regression label
    elif value in _BINARY:
        return _BINARY[value]
    elif value in names:
        return names[value]
    field = f"labels.{index}.label"
    raise ApiError(
        422,
        "invalid_request",
        f"{field}: {_expected(names)}, got {json.dumps(value)}; send the negative class as 0 "
        "or false",
        field,
    )


@router.post(
    "/v1/feedback",
    dependencies=[PredictKey],
    response_model=FeedbackResponse,
    summary="Record true labels for earlier predictions",
    responses={
        400: {"description": "malformed JSON"},
        404: {"description": "no request id of the request is known; `field` names the first"},
        422: {"description": "a label or key is invalid; `field` names it, nothing is recorded"},
        503: {"description": "the store is unreachable; retry after `Retry-After` seconds"},
    },
)
async def feedback(body: FeedbackRequest, state: State) -> FeedbackResponse:
    """Record labels (a class for a classifier, the true value for a regression model);
    sending the same label again changes nothing, and an unknown request id is
    reported for its own item without failing the others (a request whose every id is unknown is
    a 404 naming the first). Labels may arrive days later.

    Every label is checked before any is written, so a refused request records nothing. While
    the store is unreachable the answer is a 503 with ``Retry-After``: send the same labels again.
    """
    schema = state.schema
    items: list[tuple[str, float]]
    if schema is not None and schema.is_regression:
        items = [(item.request_id, _number(i, item.label)) for i, item in enumerate(body.labels)]
    else:
        names = _class_names(schema)
        items = [
            (item.request_id, _binary(names, i, item.label)) for i, item in enumerate(body.labels)
        ]
    outcomes = await asyncio.to_thread(
        record_labels, state.engine, items, received_at=state.clock.now()
    )
    results = [FeedbackOutcome(request_id=rid, status=outcomes[rid]) for rid, _ in items]
    if all(r.status == "unknown" for r in results):
        field = "labels.0.request_id"
        more = f" (nor any of the other {len(results) - 1})" if len(results) > 1 else ""
        raise ApiError(
            404,
            "unknown_request_id",
            f"{field}: expected the request_id of an answered prediction, got "
            f"{json.dumps(results[0].request_id)}{more}; send the id /v1/predict answered with. "
            "The labels are kept in case their predictions are still being written",
            field,
        )
    return FeedbackResponse(
        results=results,
        recorded=sum(r.status == "recorded" for r in results),
        unknown=sum(r.status == "unknown" for r in results),
    )
