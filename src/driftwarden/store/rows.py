"""One prediction to log, as the writer, the spool and the inserts see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftwarden.core import ConfigError

__all__ = ["VARIANTS", "PredictionRow"]

VARIANTS = frozenset({"champion", "challenger", "shadow"})
# What serving appends to a request id to log the challenger's shadow score of it.
_SHADOW_SUFFIX = ":shadow"


@dataclass(frozen=True, slots=True)
class PredictionRow:
    """One prediction to log.

    ``score`` is the positive class's probability of a classifier, or the predicted value of a
    regression model; ``label`` is the classifier's predicted class, ``None`` for regression.

    ``parent_request_id`` is set on a shadow row only: the request id of the answered row it
    shadows, under which that request's label arrives.

    Raises
    ------
    ConfigError
        If ``created_at`` is naive or ``variant`` is not champion, challenger or shadow.
    """

    request_id: str
    created_at: datetime
    model_version: int
    variant: str
    features: Mapping[str, Any] = field(hash=False)
    score: float
    label: int | None
    latency_ms: float
    entity_id: str | None = None
    parent_request_id: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ConfigError(
                f"PredictionRow.created_at must be timezone-aware, got the naive "
                f"{self.created_at.isoformat()}; take it from a Clock"
            )
        if self.variant not in VARIANTS:
            raise ConfigError(
                f"PredictionRow.variant must be one of {sorted(VARIANTS)}, got {self.variant!r}"
            )

    def to_record(self) -> dict[str, Any]:
        """Return the row as JSON-ready values (``created_at`` as ISO 8601 in UTC)."""
        record = self.to_params()
        record["created_at"] = self.created_at.astimezone(UTC).isoformat()
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PredictionRow:
        """Inverse of :meth:`to_record`.

        A key the record lacks (spooled before the field existed) takes the field's default,
        except that a shadow row spooled before rows named their parent gets it from its
        request id, as migration 0004 gave it to the shadow rows already stored.
        """
        values = dict(record)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        if "parent_request_id" not in values and values.get("variant") == "shadow":
            request_id: str = values["request_id"]
            if request_id.endswith(_SHADOW_SUFFIX):
                values["parent_request_id"] = request_id.removesuffix(_SHADOW_SUFFIX)
        return cls(**values)

    def to_params(self) -> dict[str, Any]:
        """Return the column values for an insert."""
        # Spelled out: dataclasses.asdict deep-copies the features, on the hot path.
        return {
            "request_id": self.request_id,
            "created_at": self.created_at,
            "model_version": self.model_version,
            "variant": self.variant,
            "features": dict(self.features),
            "score": self.score,
            "label": self.label,
            "latency_ms": self.latency_ms,
            "entity_id": self.entity_id,
            "parent_request_id": self.parent_request_id,
        }
