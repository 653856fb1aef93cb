"""Response and request bodies of the API (the feature rows are built from the schema)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from driftwarden.schema import ANY_TEXT_BUT_NUL_PATTERN

__all__ = [
    "BODY_CONFIG",
    "MAX_ID",
    "BatchPrediction",
    "FeedbackItem",
    "FeedbackOutcome",
    "FeedbackRequest",
    "FeedbackResponse",
    "JsonInt",
    "ModelChange",
    "Prediction",
    "PromoteRequest",
    "RoutingUpdate",
]


#: The configuration of every request body model: unknown keys are refused, and types are
#: strict, so that a body validates exactly when the OpenAPI document says it does (lax parsing
#: would read ``false`` as a share of 0 and ``"2"`` as version 2, which the document refuses).
BODY_CONFIG = ConfigDict(extra="forbid", strict=True)


#: The largest id or version number the API takes. Ids are 32-bit integer columns in the
#: store, so a larger number names nothing; refusing it (422) keeps it from reaching the
#: database, whose drivers fail on it rather than find nothing.
MAX_ID = 2**31 - 1


def _json_integer(value: object) -> object:
    # JSON Schema's integer is any number without a fractional part, 2.0 included; strict
    # parsing alone would refuse 2.0, lax parsing would also take "2" and true.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer field of a body, as JSON Schema defines one.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class Prediction(BaseModel):
    """One scored row."""

    request_id: str = Field(
        description="The client's id, or one the server generated (a UUIDv7 as 32 hex digits, "
        "so generated ids sort by time)."
    )
    prediction: float = Field(
        description="The model's answer: the probability of the positive class for a "
        "classifier, the predicted value for a regression model."
    )
    probability: float | None = Field(
        description="Probability of the positive class; null for a regression model."
    )
    label: int | None = Field(
        description="1 if probability >= the model's threshold, else 0; null for a regression "
        "model."
    )
    model_version: int = Field(description="The registry version that scored the row.")
    variant: Literal["champion", "challenger"] = Field(description="The arm that answered.")


class BatchPrediction(BaseModel):
    """Scored rows, in request order."""

    predictions: list[Prediction]


class FeedbackItem(BaseModel):
    """The true label of an earlier prediction."""

    model_config = BODY_CONFIG

    request_id: str = Field(min_length=1, max_length=128, pattern=ANY_TEXT_BUT_NUL_PATTERN)
    # bool first: serialised as given, true stays true rather than becoming 1.
    label: bool | int | float | str = Field(
        description='For a classifier: 1/0, "1"/"0", true/false, or the name of the target\'s '
        "positive class (which counts as 1). For a regression model: the true value, a number."
    )

    @field_validator("label", mode="plain", json_schema_input_type=bool | int | float | str)
    @classmethod
    def _json_scalar(cls, value: object) -> bool | int | float | str:
        # A plain validator: null or a list fail with the item's own location
        # (labels.3.label), not one error per member of the union; and 1.0 is not read as 1.
        # Which values are valid depends on the model's task: the route decides that.
        if isinstance(value, bool | int | float | str):
            return value
        # A custom error: a ValueError's message would start with "Value error, ".
        raise PydanticCustomError(
            "label_type",
            'expected 0, 1, "0", "1", true, false, a class name or a number, got {got}',
            {"got": json.dumps(value, default=repr)},
        )


class FeedbackRequest(BaseModel):
    """True labels, one or many; sending one again changes nothing."""

    model_config = BODY_CONFIG

    labels: list[FeedbackItem] = Field(min_length=1, max_length=10_000)


class FeedbackOutcome(BaseModel):
    """What happened to one label."""

    request_id: str
    status: Literal["recorded", "unchanged", "unknown"]


class FeedbackResponse(BaseModel):
    """Per-item outcomes: an unknown id fails only its own item."""

    results: list[FeedbackOutcome]
    recorded: int
    unknown: int


class RoutingUpdate(BaseModel):
    """A change to the champion/challenger experiment (omitted fields keep their values)."""

    model_config = BODY_CONFIG

    mode: Literal["off", "split", "shadow"] | None = None
    share: float | None = Field(default=None, ge=0.0, le=1.0)
    salt: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=ANY_TEXT_BUT_NUL_PATTERN
    )


class ModelChange(BaseModel):
    """Why the champion changes (kept in the promotion history)."""

    model_config = BODY_CONFIG

    reason: str = Field(default="", max_length=1000, pattern=ANY_TEXT_BUT_NUL_PATTERN)


class PromoteRequest(ModelChange):
    """The version to make the champion."""

    version: JsonInt = Field(ge=1, le=MAX_ID)
