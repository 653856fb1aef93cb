"""Typed results of the API client, and the values its filters take.

Predictions and feedback outcomes are frozen dataclasses read from the API's JSON; the audit
trail (runs, alerts, tests, models) comes back as the plain JSON objects the API sends, which
the API documents in ``/docs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "ABTestMode",
    "ABTestStatus",
    "AlertStatus",
    "FeedbackOutcome",
    "FeedbackResult",
    "FeedbackStatus",
    "Prediction",
    "RetrainStatus",
    "RoutingMode",
    "Severity",
    "Variant",
]

Variant = Literal["champion", "challenger"]
FeedbackStatus = Literal["recorded", "unchanged", "unknown"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
Severity = Literal["info", "warning", "critical"]
RetrainStatus = Literal["running", "succeeded", "rejected", "failed", "skipped"]
ABTestStatus = Literal["running", "promoted", "rejected", "ended", "aborted"]
RoutingMode = Literal["off", "split", "shadow"]
ABTestMode = Literal["split", "shadow"]


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string, got {value!r}")
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key}: expected an integer, got {value!r}")
    return value


def _float(data: Mapping[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key}: expected a number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Prediction:
    """One scored row, as ``POST /v1/predict`` answers it.

    Attributes
    ----------
    request_id : str
        The client's id, or the one the server generated; send it back with the label.
    probability : float or None
        Probability of the positive class; None for a regression model.
    label : int or None
        1 if ``probability`` reaches the model's threshold, else 0; None for a regression model.
    model_version : int
        The registry version that scored the row.
    variant : {"champion", "challenger"}
        The arm that answered.
    prediction : float
        The model's answer: ``probability`` for a classifier, the predicted value for a
        regression model.

    Examples
    --------
    >>> Prediction.from_json({"request_id": "r1", "prediction": 0.8, "probability": 0.8,
    ...                       "label": 1, "model_version": 3, "variant": "champion"})
    ... # doctest: +NORMALIZE_WHITESPACE
    Prediction(request_id='r1', probability=0.8, label=1, model_version=3, variant='champion',
               prediction=0.8)
    """

    request_id: str
    probability: float | None
    label: int | None
    model_version: int
    variant: Variant
    prediction: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        """Read one prediction of the API's JSON.

        Raises
        ------
        KeyError, TypeError, ValueError
            If a field is missing or of the wrong type.
        """
        variant = _str(data, "variant")
        if variant not in get_args(Variant):
            raise ValueError(f"variant: expected champion or challenger, got {variant!r}")
        probability = None if data.get("probability") is None else _float(data, "probability")
        return cls(
            request_id=_str(data, "request_id"),
            probability=probability,
            label=None if data.get("label") is None else _int(data, "label"),
            model_version=_int(data, "model_version"),
            variant=variant,  # type: ignore[arg-type]  # checked against Variant above
            # A server from before regression models sent the probability alone.
            prediction=_float(data, "prediction")
            if "prediction" in data
            else _float(data, "probability"),
        )


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    """What happened to one label.

    Attributes
    ----------
    request_id : str
    status : {"recorded", "unchanged", "unknown"}
        ``unchanged``: the same label was recorded before; ``unknown``: no logged prediction
        has the id (yet: the label is kept and joins a prediction written later).
    """

    request_id: str
    status: FeedbackStatus

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedbackOutcome:
        """Read one outcome of the API's JSON."""
        status = _str(data, "status")
        if status not in get_args(FeedbackStatus):
            raise ValueError(f"status: expected recorded, unchanged or unknown, got {status!r}")
        return cls(request_id=_str(data, "request_id"), status=status)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """The outcome of every label sent, in the order sent.

    Attributes
    ----------
    results : tuple of FeedbackOutcome
    recorded : int
        Labels recorded now.
    unknown : int
        Labels whose request id matched no logged prediction.

    Examples
    --------
    >>> result = FeedbackResult.from_json({"results": [
    ...     {"request_id": "a", "status": "recorded"}, {"request_id": "b", "status": "unknown"}],
    ...     "recorded": 1, "unknown": 1})
    >>> result.unknown_ids
    ('b',)
    """

    results: tuple[FeedbackOutcome, ...]
    recorded: int
    unknown: int

    @property
    def unchanged(self) -> int:
        """Labels that were recorded before with the same value."""
        return len(self.results) - self.recorded - self.unknown

    @property
    def unknown_ids(self) -> tuple[str, ...]:
        """The request ids that matched no logged prediction, to send again later."""
        return tuple(r.request_id for r in self.results if r.status == "unknown")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeedbackResult:
        """Read the API's answer to ``POST /v1/feedback``."""
        results = data["results"]
        if not isinstance(results, list):
            raise TypeError(f"results: expected a list, got {results!r}")
        return cls(
            results=tuple(FeedbackOutcome.from_json(item) for item in results),
            recorded=_int(data, "recorded"),
            unknown=_int(data, "unknown"),
        )

    @classmethod
    def combine(cls, parts: Sequence[FeedbackResult]) -> FeedbackResult:
        """One result of the results of several requests, in order."""
        return cls(
            results=tuple(outcome for part in parts for outcome in part.results),
            recorded=sum(part.recorded for part in parts),
            unknown=sum(part.unknown for part in parts),
        )
