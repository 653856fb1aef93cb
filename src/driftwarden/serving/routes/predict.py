"""``POST /v1/predict``: score one row or a batch, log every row, answer after the commit."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from numpy.typing import NDArray
from pydantic import ValidationError

from driftwarden.core import new_request_id
from driftwarden.schema import PredictionRequest
from driftwarden.serving.deps import State, require_predict_key
from driftwarden.serving.errors import ApiError, RequestTooLarge
from driftwarden.serving.model_router import Arm
from driftwarden.serving.models import ServedModel
from driftwarden.serving.openapi import API_KEY_SCOPE
from driftwarden.serving.schemas import BatchPrediction, Prediction
from driftwarden.serving.state import ServingState
from driftwarden.store import PredictionRow

__all__ = ["openapi_body", "router"]

logger = logging.getLogger(__name__)
router = APIRouter()


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace local ``$ref``s by their definitions, so the schema stands alone in OpenAPI."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def openapi_body(row_model: type[PredictionRequest], max_rows: int) -> dict[str, Any]:
    """The request body's JSON Schema as /docs shows it: one row, or ``{"rows": [...]}`` of at
    most ``max_rows`` rows (more is a 413)."""
    row = row_model.model_json_schema()
    row = _inline(row, row.pop("$defs", {}))
    rows = {
        "type": "object",
        "title": "Batch",
        "description": "Rows to score, answered in order. A client `request_id` may appear "
        "once per batch (a repeated one is a 422 naming the second row).",
        "properties": {
            "rows": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}
        },
        "required": ["rows"],
        "additionalProperties": False,
    }
    return {"oneOf": [row, rows]}


def _parse(state: ServingState, raw: bytes) -> tuple[list[PredictionRequest], bool, dict[str, int]]:
    """Validate the body; return its rows, whether it was a batch, and the client ids by row."""
    model = state.request_model
    if model is None:
        raise ApiError(503, "no_model", "no champion model is loaded; run `driftwarden train`")
    try:
        data = json.loads(raw)
    # ValueError too: an integer of more than 4300 digits is refused by int() itself.
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}", "body") from exc
    batch = isinstance(data, dict) and "rows" in data
    items = data["rows"] if batch else [data]
    if batch and (not isinstance(items, list) or not items):
        raise ApiError(422, "invalid_request", "rows must be a non-empty list of rows", "rows")
    if batch and len(data) > 1:
        extra = next(key for key in data if key != "rows")
        raise ApiError(
            422,
            "invalid_request",
            f"{extra}: expected a batch body with the single key 'rows', got {extra!r} too; "
            "send request ids and features inside each row",
            extra,
        )
    limit = state.settings.serving.max_request_rows
    if len(items) > limit:
        raise ApiError(
            413, "batch_too_large", f"{len(items)} rows sent; at most {limit} per request", "rows"
        )
    rows: list[PredictionRequest] = []
    client_ids: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            row = model.model_validate(item)
        except ValidationError as exc:
            prefix: tuple[Any, ...] = ("rows", index) if batch else ()
            errors = [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from exc
        rid = row.request_id
        if rid is not None:
            # Both rows would be answered but only one logged: the store keeps one per id.
            if rid in client_ids:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"rows.{index}.request_id: expected an id unique in the batch, got {rid!r}, "
                    f"the id of rows.{client_ids[rid]} too; give every row its own id",
                    f"rows.{index}.request_id",
                )
            client_ids[rid] = index
        rows.append(row)
    return rows, batch, client_ids


async def _answered_before(
    state: ServingState, client_ids: dict[str, int]
) -> dict[int, Prediction]:
    """The stored answers of rows whose client ``request_id`` was logged already, by position.

    A retry must get the answer the client may have missed, not a new score from a model that
    may have changed since. Only committed rows are found: while a row waits in the spool (the
    store is down) its retry is scored again, and the idempotent insert keeps the first row.
    """
    if not client_ids or not state.settings.serving.log_predictions:
        return {}
    logged = await state.writer.find_logged(client_ids)
    return {
        # Client ids never end with ":shadow" (the request model refuses them), so the stored
        # row is one that an arm answered.
        client_ids[rid]: _answer(row, cast(Arm, row.variant))
        for rid, row in logged.items()
    }


def _answer(row: PredictionRow, variant: Arm) -> Prediction:
    """The answer of a logged row: a regression model's row has no class (``label`` None)."""
    classified = row.label is not None
    return Prediction(
        request_id=row.request_id,
        prediction=row.score,
        probability=row.score if classified else None,
        label=row.label,
        model_version=row.model_version,
        variant=variant,
    )


def _count_unseen(state: ServingState, features: list[dict[str, Any]]) -> None:
    for name, known in state.known_categories.items():
        unseen = sum(1 for f in features if f[name] is not None and f[name] not in known)
        if unseen:
            state.metrics.unseen_categories.labels(name).inc(unseen)


def _log_rows(
    served: ServedModel,
    variant: str,
    ids: list[str],
    rows: list[PredictionRequest],
    features: list[dict[str, Any]],
    scores: Sequence[float],
    *,
    created_at: datetime,
    latency_ms: float,
    parents: Sequence[str] | None = None,
) -> list[PredictionRow]:
    """The rows to log; ``parents`` are the request ids that shadow rows shadow, by row."""
    parent_ids: Sequence[str | None] = [None] * len(ids) if parents is None else parents
    regression = served.is_regression
    return [
        PredictionRow(
            request_id=request_id,
            created_at=created_at,
            model_version=served.version,
            variant=variant,
            features=record,
            score=score,
            label=None if regression else int(score >= served.threshold),
            latency_ms=latency_ms,
            entity_id=row.entity_value(),
            parent_request_id=parent,
        )
        for request_id, parent, row, score, record in zip(
            ids, parent_ids, rows, scores, features, strict=True
        )
    ]


def _record(
    made: list[PredictionRow],
    served: ServedModel,
    variant: str,
    ids: list[str],
    rows: list[PredictionRequest],
    features: list[dict[str, Any]],
    created_at: datetime,
    started: float,
    parents: Sequence[str] | None,
    scores: NDArray[np.float64],
) -> list[PredictionRow]:
    """The rows to log of a scored batch's share (``ServedModel.score``'s ``record``).

    Called as soon as the batch is scored, so ``latency_ms`` is the time from ``started`` to
    the scores; the rows are also kept in ``made``, for the answer.
    """
    latency = (time.perf_counter() - started) * 1000
    made.extend(_log_rows(served, variant, ids, rows, features, scores.tolist(),
                          created_at=created_at, latency_ms=latency, parents=parents))  # fmt: skip
    return made


def _answered_by(answers: dict[int, Prediction]) -> tuple[str, str]:
    """The (version, variant) labels of a request's answers: one arm, ``mixed`` or ``none``."""
    arms = {(str(a.model_version), a.variant) for a in answers.values()}
    if not arms:
        return "none", "none"
    if len(arms) == 1:
        return next(iter(arms))
    return "mixed", "mixed"


# The key is checked inside the handler rather than as a route dependency, so that a refused
# request is counted and timed like every other answer of this route.
@router.post(
    "/v1/predict",
    response_model=Prediction | BatchPrediction,
    summary="Score one row or a batch of rows",
    responses={
        503: {
            "description": "No champion model is loaded (`no_model`), or the store is "
            "unreachable and the spool is full; retry after `Retry-After` seconds when given."
        },
    },
    openapi_extra={API_KEY_SCOPE: "predict"},
)
async def predict(request: Request, state: State) -> Prediction | BatchPrediction:
    """Score rows with the champion (or the challenger, for the share of entities routed to it).

    The answer comes only after every row is committed to the prediction log (or to the local
    spool while the database is unreachable). A row whose client ``request_id`` is logged
    already is a retry: it gets the stored answer and is neither scored nor logged again.
    """
    started = time.perf_counter()
    state.metrics.in_flight.inc()
    status = "500"
    answers: dict[int, Prediction] = {}
    try:
        await require_predict_key(request, state)
        rows, batch, client_ids = _parse(state, await request.body())
        answers = await _answered_before(state, client_ids)
        ids = [r.request_id or new_request_id() for r in rows]
        # The rows to score: all of them, unless some are retries answered from the log.
        todo = [i for i in range(len(rows)) if i not in answers] if answers else range(len(rows))
        challenger = state.models.get("challenger") is not None
        arms: list[Arm] = [
            state.router.arm(rows[i].entity_value() or ids[i], challenger_available=challenger)
            for i in todo
        ]
        # Every arm's model is taken before any is scored: rows are logged as they are scored,
        # so a request must not fail half-way for want of a model, and a swap meanwhile leaves
        # the request on the models it started with.
        models = {arm: state.models.get(arm) for arm in set(arms)}
        if any(served is None for served in models.values()):
            raise ApiError(503, "no_model", "no champion model is loaded; run driftwarden train")
        now = state.clock.now()

        async def score(arm: Arm, served: ServedModel) -> None:
            positions = [i for i, a in zip(todo, arms, strict=True) if a == arm]
            subset = [rows[i] for i in positions]
            # Logged as validated: the request model has already read a blank optional category
            # as null and refused a blank required one.
            features = [row.feature_values() for row in subset]
            logged: list[PredictionRow] = []
            record = functools.partial(_record, logged, served, arm, [ids[i] for i in positions],
                                       subset, features, now, started, None)  # fmt: skip
            # Returns once the rows are committed (or spooled), when predictions are logged.
            try:
                await served.score(features, record)
            except Exception:
                state.metrics.scoring_calls.labels(arm, "error").inc()
                raise
            state.metrics.scoring_calls.labels(arm, "ok").inc()
            _count_unseen(state, features)
            for i, row in zip(positions, logged, strict=True):
                answers[i] = _answer(row, arm)
            state.metrics.predictions.labels(str(served.version), arm).inc(len(positions))

        # Both arms at once: scored one after the other, the challenger's rows would wait for
        # the champion's to be scored and committed, and its latency, which the A/B test's
        # guardrail compares, would carry the champion's.
        await asyncio.gather(
            *(score(arm, served) for arm, served in models.items() if served is not None)
        )
        if todo and state.router.shadows(challenger_available=challenger):
            scored, scored_ids = (
                (rows, ids)
                if len(todo) == len(rows)
                else ([rows[i] for i in todo], [ids[i] for i in todo])
            )
            task = asyncio.get_running_loop().create_task(_shadow(state, scored, scored_ids, now))
            _background.add(task)
            task.add_done_callback(_background.discard)
        done = [answers[i] for i in range(len(rows))]
        status = "200"
        return BatchPrediction(predictions=done) if batch else done[0]
    except ApiError as exc:
        status = str(exc.status)
        raise
    except RequestValidationError:
        status = "422"
        raise
    except RequestTooLarge:
        status = "413"
        raise
    finally:
        state.metrics.in_flight.dec()
        state.metrics.requests.labels("predict", status).inc()
        state.metrics.predict_requests.labels(*_answered_by(answers), status).inc()
        state.metrics.latency.labels("predict").observe(time.perf_counter() - started)
        state.metrics.log_queue_depth.set(state.writer.queue_depth)
        state.metrics.spool_rows.set(state.writer.spool_size)


# Shadow tasks are kept referenced until they finish, so they are not garbage-collected early.
_background: set[asyncio.Task[None]] = set()


async def _shadow(
    state: ServingState, rows: list[PredictionRequest], ids: list[str], now: datetime
) -> None:
    """Score with the challenger off the response path and log it as the ``shadow`` variant.

    Each shadow row is stored under ``<id>:shadow`` (request ids are unique) with ``<id>`` as its
    ``parent_request_id``, so the label the client sends for ``<id>`` reaches it too.
    """
    served = state.models.get("challenger")
    if served is None:
        return
    try:
        started = time.perf_counter()
        features = [row.feature_values() for row in rows]
        shadow_ids = [f"{request_id}:shadow" for request_id in ids]
        record = functools.partial(_record, [], served, "shadow", shadow_ids, rows, features,
                                   now, started, ids)  # fmt: skip
        await served.score(features, record)
        state.metrics.predictions.labels(str(served.version), "shadow").inc(len(rows))
    except Exception:  # the shadow must never disturb serving
        state.metrics.scoring_calls.labels("challenger", "error").inc()
        logger.exception("shadow scoring failed")
    else:
        state.metrics.scoring_calls.labels("challenger", "ok").inc()
