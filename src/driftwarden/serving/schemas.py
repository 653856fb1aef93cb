"""Response and request bodies of the API (the feature rows are built from the schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "BatchPrediction",
    "FeedbackItem",
    "FeedbackOutcome",
    "FeedbackRequest",
    "FeedbackResponse",
    "Prediction",
    "RoutingUpdate",
]


class Prediction(BaseModel):
    """One scored row."""

    request_id: str = Field(description="The client's id, or one the server generated.")
    probability: float = Field(description="Probability of the positive class.")
    label: int = Field(description="1 if probability >= the model's threshold, else 0.")
    model_version: int = Field(description="The registry version that scored the row.")
    variant: Literal["champion", "challenger"] = Field(description="The arm that answered.")


class BatchPrediction(BaseModel):
    """Scored rows, in request order."""

    predictions: list[Prediction]


class FeedbackItem(BaseModel):
    """The true label of an earlier prediction."""

    request_id: str = Field(min_length=1, max_length=128)
    label: int | bool | str = Field(
        description="1/0, true/false, or the target's class name (the positive one counts as 1)."
    )


class FeedbackRequest(BaseModel):
    """True labels, one or many; sending one again changes nothing."""

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

    mode: Literal["off", "split", "shadow"] | None = None
    share: float | None = Field(default=None, ge=0.0, le=1.0)
    salt: str | None = Field(default=None, min_length=1, max_length=128)
