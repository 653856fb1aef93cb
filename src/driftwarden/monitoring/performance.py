"""Which performance metric a rule watches for a model's task, and how far it has worsened.

A classifier is watched on a score that drops when it worsens (ROC AUC by default); a regression
model on an error that rises (RMSE by default). Both rules that watch a metric, the
``performance_drop`` alert and the retraining policy's trigger, read a relative worsening
against the version's holdout figure from here, so that 0.10 means "10 % worse" for both.
"""

from __future__ import annotations

from collections.abc import Mapping

from driftwarden.core import Settings
from driftwarden.core.errors import ConfigError

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "check_task_settings",
    "default_metric",
    "task_of",
    "watched_metric",
    "worsening",
]

#: The metrics a classifier can be watched on: higher is better.
CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")
#: The metrics a regression model can be watched on: errors, lower is better.
REGRESSION_METRICS = ("rmse", "mae")


def default_metric(task: str) -> str:
    """``rmse`` for a regression model, ``roc_auc`` for a classifier."""
    return "rmse" if task == "regression" else "roc_auc"


def task_of(holdout: Mapping[str, float]) -> str:
    """The task of a version known only by its holdout metrics (a regression model has RMSE)."""
    return "regression" if "rmse" in holdout else "binary_classification"


def watched_metric(configured: str | None, task: str, key: str) -> str:
    """The metric a rule set to ``configured`` watches for a model of ``task``.

    Raises
    ------
    ConfigError
        ``configured`` is a metric of the other task: RMSE of a classifier, ROC AUC of a
        regression model. ``key`` names the setting in the message.
    """
    if configured is None:
        return default_metric(task)
    regression = task == "regression"
    allowed = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS
    if configured not in allowed:
        kind = "a regression model" if regression else "a classifier"
        raise ConfigError(
            f"{key} = {configured!r} cannot watch {kind}; use one of {', '.join(allowed)}, or "
            f"leave {key} unset to watch {default_metric(task)}",
            key=key,
        )
    return configured


def worsening(metric: str, value: float, holdout: float) -> float | None:
    """How much worse ``value`` is than ``holdout``, relative to it; 0 when it is as good or
    better. None when the holdout figure cannot be divided by (zero or negative)."""
    if holdout <= 0:
        return None
    if metric in REGRESSION_METRICS:
        return max(0.0, (value - holdout) / holdout)
    return max(0.0, (holdout - value) / holdout)


def check_task_settings(settings: Settings, task: str) -> None:
    """Refuse, before anything runs, a performance setting that cannot watch a model of ``task``.

    Raises
    ------
    ConfigError
        ``alerts.rules.performance_drop.metric``, ``retraining.policy.metric``,
        ``retraining.metric`` or ``ab_test.metric`` names a metric of the other task (RMSE for
        a classifier, ROC AUC for a regression model).
    """
    from driftwarden.monitoring.abtest import ab_test_metric  # abtest builds on this module

    watched_metric(
        settings.alerts.rules.performance_drop.metric, task, "alerts.rules.performance_drop.metric"
    )
    watched_metric(settings.retraining.policy.metric, task, "retraining.policy.metric")
    watched_metric(settings.retraining.metric, task, "retraining.metric")
    ab_test_metric(settings.ab_test.metric, task)
