"""The retrain policy: when a monitor run asks for a new model version.

After each run, :meth:`RetrainPolicy.check` looks at what the champion's monitoring shows and
returns a :class:`RetrainRequest` naming its trigger and evidence, or None:

* ``drift``: critical drift of the champion in ``retraining.policy.drift_runs`` runs in a row;
* ``performance``: realised performance (on labels that arrived) worse than the champion's
  holdout figure by ``retraining.policy.performance_drop`` or more (relative: a lower score of
  a classifier, a higher error of a regression model);
* ``concept``: ADWIN found the champion's labelled error rate rising;
* ``schedule``: ``retraining.schedule`` has passed since the last retraining started.

The policy only asks. Whether a retraining starts (one at a time, a cooldown after each, none
while an A/B test runs) is decided, and recorded, where requests are carried out
(:mod:`driftwarden.retraining`), which this layer does not import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from driftwarden.core import Clock, ConfigError, Settings
from driftwarden.monitoring.performance import (
    REGRESSION_METRICS,
    task_of,
    watched_metric,
    worsening,
)
from driftwarden.monitoring.run import RunOutcome
from driftwarden.store import list_retrain_runs, list_runs, load_state, save_state

__all__ = ["RetrainPolicy", "RetrainRequest"]

logger = logging.getLogger(__name__)

# Runs searched, newest first, for the champion's latest realised performance.
_RECENT_RUNS = 50


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
    holdout_metrics : callable, optional
        A version's holdout metrics (what a drop is measured from) when the run has no
        result of the champion to read them from.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Any,
        model_name: str,
        clock: Clock,
        *,
        holdout_metrics: Callable[[int], Mapping[str, float]] | None = None,
    ) -> None:
        self._holdout_metrics = holdout_metrics
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
        """The champion's newest realised performance, from this run or an earlier one.

        Labels arrive late: the window a run covers often has none yet, while the windows
        before it get their realised performance recomputed as labels come in. So the newest
        champion result that has one decides, not only this run's.
        """
        policy = self.settings.retraining.policy
        if policy.performance_drop is None or outcome.champion is None:
            return None
        found = self._latest_realised(outcome)
        if found is None:
            return None
        run_id, window_end, performance, n_labelled = found
        holdout_metrics = self._holdout_metrics_of(outcome)
        if holdout_metrics is None:
            return None
        try:
            metric = watched_metric(
                policy.metric, task_of(holdout_metrics), "retraining.policy.metric"
            )
        except ConfigError as exc:
            logger.warning("no performance trigger: %s", exc)
            return None
        realised = performance.get(metric)
        holdout = holdout_metrics.get(metric)
        if realised is None or holdout is None:
            return None
        drop = worsening(metric, float(realised), float(holdout))
        if drop is None or drop < policy.performance_drop:
            return None
        direction = "above" if metric in REGRESSION_METRICS else "below"
        return RetrainRequest(
            "performance",
            f"the champion's realised {metric} {float(realised):.4f} is {drop:.1%} {direction} "
            f"its holdout {holdout:.4f} (retraining.policy.performance_drop "
            f"{policy.performance_drop:.0%}) on {n_labelled} labelled predictions of the window "
            f"ending {window_end.isoformat()}",
            {
                "model_version": outcome.champion,
                "metric": metric,
                "realised": float(realised),
                "holdout": holdout,
                "drop": drop,
                "n_labelled": n_labelled,
                "monitor_run": run_id,
            },
        )

    def _holdout_metrics_of(self, outcome: RunOutcome) -> Mapping[str, float] | None:
        result = outcome.result(outcome.champion) if outcome.champion is not None else None
        metrics: Mapping[str, float] | None = result.holdout if result is not None else None
        if metrics is None and outcome.champion is not None and self._holdout_metrics is not None:
            metrics = self._holdout_metrics(outcome.champion)
        return metrics

    def _latest_realised(
        self, outcome: RunOutcome
    ) -> tuple[int, datetime, dict[str, Any], int] | None:
        result = outcome.result(outcome.champion) if outcome.champion is not None else None
        if result is not None and result.performance is not None:
            return outcome.run_id, outcome.window_end, result.performance, result.n_labelled
        for run in list_runs(self.engine, self.model_name, limit=_RECENT_RUNS):
            for stored in run["results"]:
                if stored["model_version"] == outcome.champion and stored["performance"]:
                    return run["id"], run["window_end"], stored["performance"], stored["n_labelled"]
        return None

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
