"""The champion/challenger A/B test: starting it, and the promotion policy that ends it.

A test starts when a challenger is registered: the challenger alias moves to it and the routing
experiment stored for the model (read by every API replica) sends it ``ab_test.share`` of the
entities, or lets it score every request in the champion's shadow. At every monitor run,
:meth:`ABTestManager.step` compares the two arms on the predictions whose labels have arrived,
with a real statistical test (:mod:`driftwarden.stats.abtest`), stores a snapshot of the
statistics, and applies :func:`decide`:

* a guardrail broken (the challenger's p99 latency or error rate) stops the test and rejects it;
* before ``min_labelled`` labelled rows per arm, nothing is decided (until ``max_duration``);
* significantly worse: stopped and rejected at once;
* significantly better by at least ``min_effect``, after ``min_duration``: promoted;
* undecided at ``max_duration``: ended without promotion.

The metric follows the champion's task (:func:`ab_test_metric`): a classifier is judged on
accuracy or ROC AUC, which rise as it improves; a regression model on its mean squared or
absolute error (:data:`~driftwarden.stats.LOSS_METRICS`), which fall. "Better" and "worse" read
the direction: for an error, the challenger wins by a loss lower than the champion's, and
``min_effect`` is relative to the champion's loss (0.02: a 2 % lower MSE) rather than absolute.
The metric is resolved when the test starts and stored with it, and the test is decided on that
metric to its end.

Promotion moves the champion alias (the registry keeps the previous champion, so a rollback is
one command) and records the statistics that decided it; every ending turns the routing off.
Drift is always measured against the profile of the version that served a window, so the
reference follows the promotion by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from driftwarden.core import ABTestSettings, Clock, ConflictError, NotFoundError, Settings
from driftwarden.core.errors import ConfigError
from driftwarden.monitoring.run import THRESHOLD, RunOutcome
from driftwarden.registry import ModelRegistry
from driftwarden.stats import (
    LOSS_METRICS,
    ArmComparison,
    InsufficientDataError,
    bootstrap_auc_difference,
    delong_test,
    mcnemar_test,
    paired_loss_test,
    two_proportion_test,
    welch_loss_test,
)
from driftwarden.store import (
    add_ab_snapshot,
    begin_ab_test,
    get_ab_test,
    labelled_scores,
    paired_shadow_scores,
    record_routing,
    running_ab_test,
    update_ab_test,
)

__all__ = [
    "AB_CLASSIFICATION_METRICS",
    "AB_REGRESSION_METRICS",
    "ABDecision",
    "ABTestManager",
    "Action",
    "ArmData",
    "Guardrails",
    "ab_test_metric",
    "compare_arms",
    "decide",
]

logger = logging.getLogger(__name__)

Action = Literal["continue", "promote", "reject", "end"]
_ENDED: dict[str, str] = {"promote": "promoted", "reject": "rejected", "end": "ended"}
_CLASSIFIER = "binary_classification"

#: The metrics a test of classifiers decides on (scores: higher is better), the default first.
AB_CLASSIFICATION_METRICS: tuple[str, ...] = ("accuracy", "roc_auc")
#: The metrics a test of regression models decides on (errors: lower is better), the default
#: first: mean squared error, the square of the RMSE the retraining gates use, and mean
#: absolute error.
AB_REGRESSION_METRICS: tuple[str, ...] = LOSS_METRICS


def ab_test_metric(configured: str | None, task: str) -> str:
    """The metric ``ab_test.metric`` set to ``configured`` decides on for a champion of ``task``.

    Unset, the task's default: ``accuracy`` for a classifier, ``mse`` for a regression model.

    Raises
    ------
    ConfigError
        ``configured`` is a metric of the other task (``mse`` for a classifier, ``roc_auc``
        for a regression model); the message names ``ab_test.metric`` and the choices.

    Examples
    --------
    >>> ab_test_metric(None, "regression"), ab_test_metric("roc_auc", "binary_classification")
    ('mse', 'roc_auc')
    """
    regression = task == "regression"
    allowed = AB_REGRESSION_METRICS if regression else AB_CLASSIFICATION_METRICS
    if configured is None:
        return allowed[0]
    if configured not in allowed:
        kind = "a regression model" if regression else "a classifier"
        raise ConfigError(
            f"ab_test.metric = {configured!r} cannot decide an A/B test of {kind}; use one of "
            f"{', '.join(allowed)}, or leave ab_test.metric unset to decide on {allowed[0]}",
            key="ab_test.metric",
        )
    return configured


@dataclass(frozen=True, slots=True)
class ArmData:
    """The labelled predictions of both arms since the test started.

    In split mode the arms are different rows; in shadow mode the same rows (``paired``), and
    ``champion_label`` is ``challenger_label``. A classifier's scores are probabilities and its
    labels 0 or 1; a regression model's scores are its predicted values and its labels the
    true values.
    """

    champion_score: NDArray[np.float64]
    champion_label: NDArray[np.float64]
    challenger_score: NDArray[np.float64]
    challenger_label: NDArray[np.float64]
    paired: bool

    @property
    def n_champion(self) -> int:
        """Labelled rows of the champion's arm."""
        return len(self.champion_score)

    @property
    def n_challenger(self) -> int:
        """Labelled rows of the challenger's arm."""
        return len(self.challenger_score)


@dataclass(frozen=True, slots=True)
class Guardrails:
    """What the guardrails measured: p99 latencies (ms) and the challenger's error rate."""

    champion_p99_ms: float | None = None
    challenger_p99_ms: float | None = None
    challenger_error_rate: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """Plain JSON types."""
        return {
            "champion_p99_ms": self.champion_p99_ms,
            "challenger_p99_ms": self.challenger_p99_ms,
            "challenger_error_rate": self.challenger_error_rate,
        }


@dataclass(frozen=True, slots=True)
class ABDecision:
    """What one step of the policy decided, and its evidence."""

    test_id: int
    action: Action
    reason: str
    n_champion: int
    n_challenger: int
    elapsed: timedelta
    comparison: ArmComparison | None
    guardrails: Guardrails = field(default_factory=Guardrails)

    def statistics(self) -> dict[str, Any]:
        """The evidence, as stored with each snapshot and with the decision."""
        return {
            "reason": self.reason,
            "elapsed_seconds": self.elapsed.total_seconds(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "guardrails": self.guardrails.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "test_id": self.test_id,
            "action": self.action,
            "n_champion": self.n_champion,
            "n_challenger": self.n_challenger,
            **self.statistics(),
        }


def compare_arms(
    data: ArmData,
    settings: ABTestSettings,
    *,
    seed: int = 0,
    task: str = _CLASSIFIER,
    metric: str | None = None,
) -> ArmComparison:
    """The statistical test of the metric that fits how the arms were sampled.

    Parameters
    ----------
    data : ArmData
    settings : ABTestSettings
    seed : int
        Seed of the bootstrap (ROC AUC on split traffic).
    task : {"binary_classification", "regression"}
        The champion's task.
    metric : str, optional
        The metric to decide on (as stored with the test); unset, ``settings.metric`` resolved
        for ``task`` (:func:`ab_test_metric`).

    Raises
    ------
    ConfigError
        The metric is not one of ``task``'s.
    InsufficientDataError
        An arm is empty (for an error: has fewer than 2 rows), or (ROC AUC) holds one class
        only.
    """
    metric = ab_test_metric(settings.metric if metric is None else metric, task)
    if metric in AB_REGRESSION_METRICS:
        if data.paired:
            return paired_loss_test(
                data.champion_label,
                data.champion_score,
                data.challenger_score,
                metric=metric,
                alpha=settings.alpha,
            )
        return welch_loss_test(
            data.champion_label,
            data.champion_score,
            data.challenger_label,
            data.challenger_score,
            metric=metric,
            alpha=settings.alpha,
        )
    if metric == "accuracy":
        correct_a = (data.champion_score >= THRESHOLD).astype(np.int64) == data.champion_label
        correct_b = (data.challenger_score >= THRESHOLD).astype(np.int64) == data.challenger_label
        if data.paired:
            return mcnemar_test(correct_a, correct_b, alpha=settings.alpha)
        return two_proportion_test(
            int(correct_a.sum()),
            len(correct_a),
            int(correct_b.sum()),
            len(correct_b),
            alpha=settings.alpha,
        )
    if data.paired:
        return delong_test(
            data.champion_score, data.challenger_score, data.champion_label, alpha=settings.alpha
        )
    return bootstrap_auc_difference(
        data.champion_score,
        data.champion_label,
        data.challenger_score,
        data.challenger_label,
        alpha=settings.alpha,
        n_resamples=settings.bootstrap_resamples,
        seed=seed,
    )


def _guardrail(guardrails: Guardrails, settings: ABTestSettings) -> str | None:
    """Why a guardrail stops the test, or None."""
    rate = guardrails.challenger_error_rate
    if rate is not None and rate > settings.max_error_rate:
        return (
            f"guardrail: the challenger failed {rate:.2%} of its scoring calls "
            f"(max_error_rate {settings.max_error_rate:.2%})"
        )
    champion, challenger = guardrails.champion_p99_ms, guardrails.challenger_p99_ms
    if champion is not None and challenger is not None and champion > 0:
        ratio = challenger / champion
        slower = challenger - champion
        if ratio > settings.max_latency_ratio and slower > settings.latency_slack_ms:
            return (
                f"guardrail: the challenger's p99 latency {challenger:.1f} ms is {ratio:.2f}x "
                f"the champion's {champion:.1f} ms (max_latency_ratio "
                f"{settings.max_latency_ratio}, latency_slack_ms {settings.latency_slack_ms})"
            )
    return None


def decide(
    test_id: int,
    data: ArmData,
    elapsed: timedelta,
    settings: ABTestSettings,
    guardrails: Guardrails | None = None,
    *,
    seed: int = 0,
    task: str = _CLASSIFIER,
    metric: str | None = None,
) -> ABDecision:
    """Apply the promotion policy to the arms' labelled predictions (see the module docstring).

    Promotion needs the challenger's improvement to reach ``min_effect``, its p-value to be
    below ``alpha`` and its confidence interval to lie above zero. For a score the improvement
    is ``challenger - champion`` and ``min_effect`` absolute; for an error (``mse``, ``mae``)
    it is ``champion - challenger``, the fall of the loss, and must reach ``min_effect`` times
    the champion's loss. A significant change the other way rejects the challenger.

    ``task`` and ``metric`` choose the test as in :func:`compare_arms`.
    """
    guardrails = guardrails or Guardrails()
    n_a, n_b = data.n_champion, data.n_challenger

    def decision(action: Action, reason: str, comparison: ArmComparison | None) -> ABDecision:
        return ABDecision(test_id, action, reason, n_a, n_b, elapsed, comparison, guardrails)

    broken = _guardrail(guardrails, settings)
    if broken is not None:
        return decision("reject", broken, None)
    timed_out = elapsed >= settings.max_duration
    if min(n_a, n_b) < settings.min_labelled:
        reason = (
            f"{n_a} labelled rows on the champion's arm and {n_b} on the challenger's; each "
            f"needs {settings.min_labelled}"
        )
        return decision("end" if timed_out else "continue", reason, None)
    try:
        comparison = compare_arms(data, settings, seed=seed, task=task, metric=metric)
    except InsufficientDataError as exc:
        return decision("end" if timed_out else "continue", f"no comparison yet: {exc}", None)
    errors = comparison.metric in AB_REGRESSION_METRICS
    if errors:
        # Lower is better: the improvement is the fall of the loss, its interval mirrored.
        gain, gain_low = -comparison.difference, -comparison.ci_high
        needed = settings.min_effect * comparison.champion
        wanted = f"a {settings.min_effect:.1%} lower {comparison.metric}"
    else:
        gain, gain_low = comparison.difference, comparison.ci_low
        needed = settings.min_effect
        wanted = f"+{settings.min_effect}"
    summary = _summary(comparison, errors)
    if comparison.significant and gain < 0:
        return decision("reject", f"significantly worse: {summary}", comparison)
    better = comparison.significant and gain_low > 0 and gain >= needed
    if better and elapsed >= settings.min_duration:
        return decision("promote", f"significantly better: {summary}", comparison)
    if timed_out:
        return decision("end", f"no decision after {settings.max_duration}: {summary}", comparison)
    waiting = (
        f"better, waiting for the minimum duration {settings.min_duration}"
        if better
        else f"not decided (needs {wanted} at alpha {settings.alpha})"
    )
    return decision("continue", f"{waiting}: {summary}", comparison)


def _summary(comparison: ArmComparison, errors: bool) -> str:
    metric = comparison.metric
    test = f"{comparison.method} p = {comparison.p_value:.3g}"
    if not errors:
        return (
            f"challenger {metric} {comparison.challenger:.4f} vs champion "
            f"{comparison.champion:.4f} (difference {comparison.difference:+.4f}, {test})"
        )
    # Errors are in the target's units (squared for MSE): significant digits, not decimals.
    relative = (
        f", {comparison.difference / comparison.champion:+.1%}" if comparison.champion > 0 else ""
    )
    return (
        f"challenger {metric} {comparison.challenger:.4g} vs champion {comparison.champion:.4g} "
        f"(difference {comparison.difference:+.4g}{relative}, {test})"
    )


def ab_salt(model_name: str, challenger_version: int, started_at: datetime) -> str:
    """The routing salt of a test: new for each test, the same for the same test (simulations
    replay deterministically)."""
    text = f"{model_name}\x1f{challenger_version}\x1f{started_at.isoformat()}"
    return "ab-" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class ABTestManager:
    """Starts, steps and ends the A/B tests of one registered model.

    Parameters
    ----------
    settings : Settings
    engine
        The store (migrated).
    registry : ModelRegistry
    clock : Clock
    arm_error_rates : callable, optional
        Returns the share of failed scoring calls per arm since its last call (the API knows
        it; the store does not); without it the error-rate guardrail is not checked.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Any,
        registry: ModelRegistry,
        clock: Clock,
        *,
        arm_error_rates: Callable[[], Mapping[str, float | None]] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self._arm_error_rates = arm_error_rates
        # The champion's task per version: a version's task never changes.
        self._tasks: dict[int, str] = {}

    @property
    def model_name(self) -> str:
        """The registered model."""
        return self.registry.name

    def task(self, version: int) -> str:
        """The learning task of ``version`` (``"binary_classification"`` or ``"regression"``).

        Raises
        ------
        NotFoundError
            No such version.
        """
        if version not in self._tasks:
            self._tasks[version] = self.registry.get_version(version).task
        return self._tasks[version]

    # -- starting ------------------------------------------------------------------------------

    def start(
        self,
        challenger_version: int,
        *,
        mode: str | None = None,
        share: float | None = None,
        retrain_run_id: int | None = None,
        actor: str = "retraining",
    ) -> dict[str, Any]:
        """Start a test of ``challenger_version`` against the current champion.

        The test is stored first, then the challenger alias moves, then the routing: every
        replica serves the challenger from its next alias and routing polls.

        Raises
        ------
        ConflictError
            A test of this model is running already, or the version is of another task than
            the champion (a regression model against a classifier); nothing changed.
        ConfigError
            ``ab_test.metric`` names a metric of the other task than the champion's.
        NotFoundError
            There is no champion, or no such version.
        """
        config = self.settings.ab_test
        mode = mode or config.mode
        share = config.share if share is None else share
        champion = self.registry.alias_version(self.registry.champion)
        if champion is None:
            raise NotFoundError(f"model {self.model_name!r} has no champion to test against")
        if champion == challenger_version:
            raise ConflictError(f"version {challenger_version} is the champion already")
        task = self.task(champion)
        if self.task(challenger_version) != task:
            raise ConflictError(
                f"version {challenger_version} is a {self.task(challenger_version)} model and "
                f"the champion (version {champion}) a {task} model; an A/B test compares "
                "models of one task"
            )
        metric = ab_test_metric(config.metric, task)
        now = self.clock.now()
        salt = ab_salt(self.model_name, challenger_version, now)
        test_id = begin_ab_test(
            self.engine,
            {
                "model_name": self.model_name,
                "champion_version": champion,
                "challenger_version": challenger_version,
                "mode": mode,
                "share": share if mode == "split" else 0.0,
                "salt": salt,
                "metric": metric,
                "started_at": now,
                "retrain_run_id": retrain_run_id,
            },
        )
        try:
            self.registry.set_challenger(challenger_version)
            record_routing(
                self.engine,
                self.model_name,
                mode=mode,
                share=share if mode == "split" else 0.0,
                salt=salt,
                changed_by=f"A/B test {test_id} ({actor})",
                clock=self.clock,
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):  # the failure being raised says more
                if self.registry.alias_version(self.registry.challenger) == challenger_version:
                    self.registry.clear_challenger()
                self._finish(test_id, "aborted", f"could not start: {exc}", None, salt=salt)
            raise
        logger.info(
            "A/B test %s started: version %s against champion %s (%s%s)",
            test_id,
            challenger_version,
            champion,
            mode,
            f", share {share}" if mode == "split" else "",
        )
        return get_ab_test(self.engine, test_id)

    # -- stepping ------------------------------------------------------------------------------

    def arm_data(self, test: Mapping[str, Any], end: datetime) -> ArmData:
        """The labelled predictions of both arms from the test's start to ``end``."""
        start: datetime = test["started_at"]
        champion, challenger = test["champion_version"], test["challenger_version"]
        if test["mode"] == "shadow":
            pairs = paired_shadow_scores(self.engine, start, end)
            mask = (pairs.champion_version == champion) & (pairs.challenger_version == challenger)
            labels = pairs.true_label[mask]
            return ArmData(
                pairs.champion_score[mask],
                labels,
                pairs.challenger_score[mask],
                labels,
                paired=True,
            )
        found = labelled_scores(self.engine, start, end)
        a = (found.variant == "champion") & (found.model_version == champion)
        b = (found.variant == "challenger") & (found.model_version == challenger)
        return ArmData(
            found.score[a], found.true_label[a], found.score[b], found.true_label[b], paired=False
        )

    def _guardrails(self, test: Mapping[str, Any], outcome: RunOutcome | None) -> Guardrails:
        champion = challenger = None
        enough = self.settings.ab_test.latency_min_rows
        if outcome is not None:
            a = outcome.result(test["champion_version"])
            b = outcome.result(test["challenger_version"])
            if a is not None and b is not None and min(a.n_rows, b.n_rows) >= enough:
                champion, challenger = a.latency_ms.get("p99"), b.latency_ms.get("p99")
        rate = None
        if self._arm_error_rates is not None:
            rate = self._arm_error_rates().get("challenger")
        return Guardrails(champion, challenger, rate)

    def step(self, outcome: RunOutcome | None = None) -> ABDecision | None:
        """Decide the running test, if any; store the snapshot and act on the decision.

        ``outcome`` is the monitor run that just finished (its latencies feed the guardrail).
        """
        test = running_ab_test(self.engine, self.model_name)
        if test is None:
            return None
        now = self.clock.now()
        moved = self._aliases_moved(test)
        if moved is not None:
            self._finish(test["id"], "aborted", moved, None, salt=test["salt"])
            logger.warning("A/B test %s aborted: %s", test["id"], moved)
            return None
        data = self.arm_data(test, now)
        elapsed = now - test["started_at"]
        task = self.task(test["champion_version"])
        decision = decide(
            test["id"],
            data,
            elapsed,
            self.settings.ab_test,
            self._guardrails(test, outcome),
            seed=test["id"],
            task=task,
            metric=self._stored_metric(test, task),
        )
        add_ab_snapshot(
            self.engine,
            test["id"],
            at=now,
            action=decision.action,
            n_champion=decision.n_champion,
            n_challenger=decision.n_challenger,
            statistics=decision.statistics(),
        )
        if decision.action != "continue":
            self._act(test, decision)
        return decision

    @staticmethod
    def _stored_metric(test: Mapping[str, Any], task: str) -> str | None:
        """The metric stored with the test when it is one of ``task``'s; None (the settings'
        metric) for a test stored before the metric followed the task."""
        stored = test.get("metric")
        allowed = AB_REGRESSION_METRICS if task == "regression" else AB_CLASSIFICATION_METRICS
        return stored if stored in allowed else None

    def _aliases_moved(self, test: Mapping[str, Any]) -> str | None:
        champion = self.registry.alias_version(self.registry.champion)
        challenger = self.registry.alias_version(self.registry.challenger)
        if champion != test["champion_version"]:
            return (
                f"the {self.registry.champion} alias moved to version {champion} outside the test "
                f"(it started against version {test['champion_version']})"
            )
        if challenger != test["challenger_version"]:
            return (
                f"the {self.registry.challenger} alias moved to version {challenger} outside the "
                f"test (it tests version {test['challenger_version']})"
            )
        return None

    def _act(self, test: Mapping[str, Any], decision: ABDecision) -> None:
        version = test["challenger_version"]
        status = _ENDED[decision.action]
        reason = decision.reason
        if decision.action == "promote":
            if self.settings.ab_test.auto_promote:
                self.registry.promote(
                    version, reason=f"A/B test {test['id']}: {reason}", actor="promotion policy"
                )
            else:
                status = "ended"
                reason = (
                    f"the challenger won ({reason}); ab_test.auto_promote is off, so promote it "
                    f"yourself: driftwarden models promote {version}"
                )
        elif self.registry.alias_version(self.registry.challenger) == version:
            self.registry.clear_challenger()
        self._finish(test["id"], status, reason, decision, salt=test["salt"])
        logger.info("A/B test %s %s: %s", test["id"], status, reason)

    def _finish(
        self,
        test_id: int,
        status: str,
        reason: str,
        decision: ABDecision | None,
        *,
        salt: str,
    ) -> None:
        """End a test: routing off first (so no more traffic goes to a loser), then the row."""
        record_routing(
            self.engine,
            self.model_name,
            mode="off",
            share=0.0,
            salt=salt,
            changed_by=f"A/B test {test_id} {status}",
            clock=self.clock,
        )
        update_ab_test(
            self.engine,
            test_id,
            {
                "status": status,
                "ended_at": self.clock.now(),
                "reason": reason,
                "decision": None if decision is None else decision.to_dict(),
            },
        )

    def stop(self, test_id: int, *, reason: str, actor: str) -> dict[str, Any]:
        """Stop a running test by hand: no promotion, the challenger alias removed.

        Raises
        ------
        NotFoundError
            No such test.
        ConflictError
            It is not running.
        """
        test = get_ab_test(self.engine, test_id, snapshots=False)
        if test["status"] != "running":
            raise ConflictError(f"A/B test {test_id} is {test['status']}, not running")
        if self.registry.alias_version(self.registry.challenger) == test["challenger_version"]:
            self.registry.clear_challenger()
        self._finish(test_id, "aborted", f"stopped by {actor}: {reason}", None, salt=test["salt"])
        return get_ab_test(self.engine, test_id)
