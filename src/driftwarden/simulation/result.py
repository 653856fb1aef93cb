"""What a simulation records: its configuration, the drift it injected, and the system's own
account of the run (read back through the API), as plain JSON-ready values.

The report (:mod:`driftwarden.simulation.report`) is computed from this alone, so a result saved
as ``result.json`` can be rendered again without running anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DayRecord", "SimulationResult"]


@dataclass(frozen=True, slots=True)
class DayRecord:
    """Realised performance over one simulated day, on every prediction of that day whose
    outcome the simulation knows (all of them: it drew the labels).

    ``live`` is what driftwarden served (the champion, or a challenger for its share), ``frozen``
    a copy of the first champion scoring the same rows, never retrained.
    """

    day: int
    start: str  # ISO 8601, UTC
    n: int
    live_accuracy: float
    frozen_accuracy: float
    live_roc_auc: float | None
    frozen_roc_auc: float | None
    champion_version: int


@dataclass(slots=True)
class SimulationResult:
    """Everything a report needs.

    Attributes
    ----------
    config : dict
        ``scenarios`` (names), ``days``, ``rate`` (predictions per day), ``label_delay`` (ISO 8601
        duration), ``seed``, ``start`` and ``end`` (ISO 8601), ``monitor_interval``, ``model``.
    injections : list of dict
        One per injected drift: ``kind``, ``start``, ``end`` (None for seasonal), ``columns``,
        ``magnitude``, ``description`` (times ISO 8601, UTC).
    days : list of DayRecord
    drift : list of dict
        ``GET /v1/monitoring/drift`` items: ``model_version``, ``window_end``, ``feature``,
        ``method``, ``statistic``, ``warning``, ``critical``, ``p_value``, ``severity``, ...
    performance : list of dict
        ``GET /v1/monitoring/performance`` items: ``model_version``, ``window_end``,
        ``n_labelled``, ``realised`` (metrics, or None before enough labels), ``realised_at``,
        ``estimated``.
    alerts : list of dict
        ``GET /v1/alerts`` items: ``id``, ``rule``, ``subject``, ``severity``, ``status``,
        ``opened_at``, ``resolved_at``, ``model_version``, ``title``.
    retraining_runs : list of dict
        ``GET /v1/retraining/runs`` items.
    ab_tests : list of dict
        ``GET /v1/ab-tests`` items.
    history : list of dict
        ``GET /v1/models/history`` events (``action``, ``from_version``, ``to_version``, ``at``,
        ``reason``, ``actor``).
    seconds : float
        Wall time of the run.
    """

    config: dict[str, Any]
    injections: list[dict[str, Any]] = field(default_factory=list)
    days: list[DayRecord] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    performance: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    retraining_runs: list[dict[str, Any]] = field(default_factory=list)
    ab_tests: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationResult:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["days"] = [DayRecord(**day) for day in values.get("days", [])]
        return cls(**values)

    def save(self, path: Path) -> None:
        """Write the result as JSON."""
        path.write_text(json.dumps(self.to_dict(), indent=1, default=str), "utf-8")

    @classmethod
    def load(cls, path: Path) -> SimulationResult:
        """Read a result written by :meth:`save`."""
        return cls.from_dict(json.loads(path.read_text("utf-8")))
