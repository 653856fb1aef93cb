"""The retrain policy: when a monitor run asks for a new model version.

After each run, :meth:`RetrainPolicy.check` looks at what the champion's monitoring shows and
returns a :class:`RetrainRequest` naming its trigger and evidence, or None:

* ``drift``: critical drift of the champion in ``retraining.policy.drift_runs`` runs in a row;
* ``performance``: realised performance (on labels that arrived) below the champion's holdout
  figure by ``retraining.policy.performance_drop`` or more (relative);
* ``concept``: ADWIN found the champion's labelled error rate rising;
* ``schedule``: ``retraining.schedule`` has passed since the last retraining started.

The policy only asks. Whether a retraining starts (one at a time, a cooldown after each, none
while an A/B test runs) is decided, and recorded, where requests are carried out
(:mod:`driftwarden.retraining`), which this layer does not import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftwarden.core import Clock, Settings
from driftwarden.monitoring.run import RunOutcome
from driftwarden.store import list_retrain_runs, list_runs, load_state, save_state

__all__ = ["RetrainPolicy", "RetrainRequest"]


@dataclass(frozen=True, slots=True)
class RetrainRequest:
    """A request for a retraining: why, and the figures that show it."""

    trigger: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"trigger": self.trigger, "reason": self.reason, "evidence": dict(self.evidence)}


class RetrainPolicy:
    """Decides from monitor runs whether the champion needs retraining.

    Parameters
    ----------
    settings : Settings
        ``retraining`` (policy, schedule) and ``monitor.min_labelled``.
    engine
        The store: earlier runs and retrainings.
    model_name : str
    clock : Clock
    """

    def __init__(self, settings: Settings, engine: Any, model_name: str, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.model_name = model_name
        self.clock = clock

    def check(self, outcome: RunOutcome) -> RetrainRequest | None:
        """The request this run calls for, the most pressing first, or None."""
        policy = self.settings.retraining.policy
        if policy.enabled and outcome.champion is not None:
            for found in (
                self._performance(outcome),
                self._concept(outcome),
                self._drift(outcome),
            ):
                if found is not None:
                    return found
        return self._schedule(outcome.window_end)

    def _performance(self, outcome: RunOutcome) -> RetrainRequest | None:
        policy = self.settings.retraining.policy
        result = outcome.result(outcome.champion) if outcome.champion is not None else None
        if policy.performance_drop is None or result is None or result.performance is None:
            return None
        realised = result.performance.get(policy.metric)
        holdout = result.holdout.get(policy.metric)
        if realised is None or holdout is None or holdout <= 0:
            return None
        drop = (holdout - float(realised)) / holdout
        if drop < policy.performance_drop:
            return None
        return RetrainRequest(
            "performance",
            f"the champion's realised {policy.metric} {float(realised):.4f} is {drop:.1%} below "
            f"its holdout {holdout:.4f} (retraining.policy.performance_drop "
            f"{policy.performance_drop:.0%}) on {result.n_labelled} labelled predictions",
            {
                "model_version": result.model_version,
                "metric": policy.metric,
                "realised": float(realised),
                "holdout": holdout,
                "drop": drop,
                "n_labelled": result.n_labelled,
                "monitor_run": outcome.run_id,
            },
        )

    def _concept(self, outcome: RunOutcome) -> RetrainRequest | None:
        if not self.settings.retraining.policy.concept_drift:
            return None
        for change in outcome.changes:
            if (
                change.stream == "error"
                and change.model_version == outcome.champion
                and change.after > change.before
            ):
                return RetrainRequest(
                    "concept",
                    f"ADWIN found the champion's error rate rising from {change.before:.3f} to "
                    f"{change.after:.3f} over its last {change.n_seen} labelled predictions",
                    {
                        "model_version": change.model_version,
                        "before": change.before,
                        "after": change.after,
                        "n_seen": change.n_seen,
                        "monitor_run": outcome.run_id,
                    },
                )
        return None

    def _drift(self, outcome: RunOutcome) -> RetrainRequest | None:
        needed = self.settings.retraining.policy.drift_runs
        runs = list_runs(self.engine, self.model_name, limit=needed)
        if len(runs) < needed:
            return None
        streak: list[dict[str, Any]] = []
        for run in runs:
            result = next(
                (r for r in run["results"] if r["model_version"] == outcome.champion), None
            )
            if run["status"] != "ok" or result is None or result["severity"] != "critical":
                return None
            streak.append(result)
        return RetrainRequest(
            "drift",
            f"critical drift of the champion (version {outcome.champion}) in the last {needed} "
            f"monitor runs (retraining.policy.drift_runs)",
            {
                "model_version": outcome.champion,
                "monitor_runs": [run["id"] for run in runs],
                "share_drifted": [r["share_drifted"] for r in streak],
            },
        )

    def _schedule(self, now: datetime) -> RetrainRequest | None:
        every = self.settings.retraining.schedule
        if every is None:
            return None
        started = [
            run for run in list_retrain_runs(self.engine, model_name=self.model_name, limit=20)
            if run["status"] != "skipped"
        ]  # fmt: skip
        if started:
            since = started[0]["requested_at"]
        else:
            # Nothing retrained yet: the schedule counts from the first run that saw it.
            key = f"{self.model_name}:schedule_since"
            stored = load_state(self.engine, key).get(key)
            if stored is None:
                save_state(self.engine, {key: now.isoformat()}, updated_at=self.clock.now())
                return None
            since = datetime.fromisoformat(stored)
        if now - since < every:
            return None
        return RetrainRequest(
            "schedule",
            f"{every} passed since {since.isoformat()} (retraining.schedule)",
            {"since": since.isoformat()},
        )
