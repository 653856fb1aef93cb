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
from typing import Any

from fastapi import APIRouter

from driftwarden.schema import DECIMAL_TEXT_PATTERN, FeatureSchema, parse_number_text
from driftwarden.serving.deps import PredictKey, State
from driftwarden.serving.errors import ApiError, CountedRoute
from driftwarden.serving.schemas import (
    FeedbackItem,
    FeedbackOutcome,
    FeedbackRequest,
    FeedbackResponse,
)
from driftwarden.store import record_labels

__all__ = ["openapi_body", "router"]

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


def _label_schema(schema: FeatureSchema | None) -> dict[str, Any]:
    """The labels the served model accepts, as JSON Schema (what :func:`_binary` and
    :func:`_number` let through)."""
    if schema is not None and schema.is_regression:
        return {
            "anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_TEXT_PATTERN}],
            "description": "The target's true value: a number, or one written as text.",
        }
    accepted: list[Any] = [0, 1, *_BINARY, True, False]
    accepted += [name for name in _class_names(schema) if name not in _BINARY]
    return {
        "enum": accepted,
        "description": '1 (or "1", true, or the positive class\'s name) for the positive '
        'class, 0 (or "0", false) for the negative one. 1.0 is refused: a number with a '
        "point is a regression label.",
    }


def openapi_body(schema: FeatureSchema | None) -> dict[str, Any]:
    """The request body's JSON Schema for the model ``schema`` describes: the labels it takes
    depend on its task, which the static :class:`FeedbackRequest` cannot say."""
    body = FeedbackRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    item = FeedbackItem.model_json_schema()
    item["properties"]["label"] = {"title": "Label", **_label_schema(schema)}
    body.pop("$defs", None)
    body["properties"]["labels"]["items"] = item
    return body


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
        # The same reading of text as a numeric feature's, which the document describes.
        number = parse_number_text(value)
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
        404: {
            "description": "No request id of the request is known (`unknown_request_id`); "
            "`field` names the first. The labels are kept all the same."
        },
        422: {"description": "A label or key is invalid; `field` names it, nothing is recorded."},
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
