"""Scores, holdout metrics and feature importances of a fitted pipeline.

What a model's "score" is depends on its task: the probability of the positive class for a
binary classifier, the predicted value for a regressor. :func:`predict_scores` and
:func:`evaluate` tell the two apart by the pipeline's final estimator
(``sklearn.base.is_regressor``), so a loaded model needs no label saying which it is.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import is_regressor
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from driftwarden.core.errors import ConfigError, DataError
from driftwarden.schema import FeatureSchema
from driftwarden.stats.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    ClassificationMetrics,
    RegressionMetrics,
    classification_metrics,
    regression_metrics,
)

__all__ = [
    "binary_labels",
    "check_metric",
    "evaluate",
    "feature_importances",
    "is_regression_model",
    "predict_scores",
    "regression_target",
    "task_metrics",
]

# The scikit-learn scorer measuring each metric, for permutation importance. Scorers are
# "greater is better", so the errors are negated: the mean drop of a negated error is its rise.
_SCORERS: Final[dict[str, str]] = {
    "roc_auc": "roc_auc",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
    "mape": "neg_mean_absolute_percentage_error",
}
# Values of a target column shown in an error.
_SHOWN = 5


def task_metrics(task: str) -> tuple[str, ...]:
    """The quality metrics of a model of ``task``, the headline metric first.

    Parameters
    ----------
    task : {"binary_classification", "regression"}

    Returns
    -------
    tuple of str
        :data:`~driftwarden.stats.metrics.CLASSIFICATION_METRICS` or
        :data:`~driftwarden.stats.metrics.REGRESSION_METRICS`.

    Raises
    ------
    ConfigError
        ``task`` is neither.
    """
    if task == "regression":
        return REGRESSION_METRICS
    if task == "binary_classification":
        return CLASSIFICATION_METRICS
    raise ConfigError(
        f"task {task!r} is not supported: the tasks are 'binary_classification' and 'regression'",
        key="task",
    )


def check_metric(metric: str, task: str) -> str:
    """Return ``metric`` if a model of ``task`` has it, else raise naming what it has.

    Raises
    ------
    ConfigError
        ``metric`` is not a metric of ``task``: RMSE asked of a classifier, ROC AUC of a
        regressor, or an unknown name. The message names the metric, the task and the metrics
        the task has.

    Examples
    --------
    >>> check_metric("rmse", "regression")
    'rmse'
    """
    known = task_metrics(task)
    if metric not in known:
        other = "regression" if task == "binary_classification" else "binary_classification"
        hint = (
            f" ({metric!r} is a metric of {other} models)" if metric in task_metrics(other) else ""
        )
        raise ConfigError(
            f"metric {metric!r} is not a metric of a {task} model{hint}; its metrics are "
            f"{', '.join(known)}: choose one of those",
            key="metric",
        )
    return metric


def is_regression_model(model: Any) -> bool:
    """Whether ``model`` (a pipeline or an estimator) predicts a number rather than a class.

    Decided by the final estimator of a pipeline (``sklearn.base.is_regressor``).
    """
    final = model[-1] if isinstance(model, Pipeline) and len(model.steps) else model
    return bool(is_regressor(final))


def binary_labels(target: pd.Series[Any], schema: FeatureSchema) -> NDArray[np.int64]:
    """The target as 0/1, 1 where it equals the schema's positive label.

    Raises
    ------
    DataError
        The target has missing values, or does not hold exactly two classes, or the positive
        label is not one of them.
    """
    name = schema.target or "target"
    if target.isna().any():
        raise DataError(
            f"target column {name!r} has {int(target.isna().sum())} missing values; "
            "drop those rows or fill them before training"
        )
    classes = sorted({str(v) for v in target.unique()})
    if len(classes) != 2:
        shown = ", ".join(classes[:10]) + (" ..." if len(classes) > 10 else "")
        raise DataError(
            f"target column {name!r} must hold exactly two classes for binary classification, "
            f"found {len(classes)}: {shown}"
        )
    positive = schema.positive_label
    if positive is None or str(positive) not in classes:
        raise DataError(
            f"positive label {positive!r} is not one of the target's classes {classes}; "
            "set schema.positive_label in driftwarden.toml"
        )
    labels: NDArray[np.int64] = (target.astype(str) == str(positive)).to_numpy().astype(np.int64)
    return labels


def regression_target(target: pd.Series[Any], schema: FeatureSchema) -> NDArray[np.float64]:
    """The target of a regression as float64 numbers.

    Numbers written as text (``"3.5"``, as some files hold them) are read as numbers.

    Raises
    ------
    DataError
        The target has missing values, values that are not numbers (text, booleans) or
        infinite values; the message names the column, the offending values and the fix.
    """
    name = schema.target or "target"
    if pd.api.types.is_bool_dtype(target):
        raise DataError(
            f"regression target column {name!r} holds booleans, which regression cannot "
            "predict; set schema.task = 'binary_classification' in driftwarden.toml"
        )
    missing = np.asarray(target.isna(), dtype=bool)
    odd = np.zeros(len(target), dtype=bool)
    if not pd.api.types.is_numeric_dtype(target):
        # Cells of a text column: blanks are missing (the schema's convention), booleans are
        # not numbers even though pandas would read them as 0 and 1.
        blank = target.map(lambda v: isinstance(v, str) and not v.strip())
        missing = missing | np.asarray(blank, dtype=bool)
        odd = np.asarray(target.map(lambda v: isinstance(v, bool | np.bool_)), dtype=bool)
    if missing.any():
        raise DataError(
            f"regression target column {name!r} has {int(missing.sum()):,} missing values; "
            "drop those rows or fill them before training"
        )
    numbers = pd.to_numeric(target, errors="coerce")
    bad = target[np.asarray(numbers.isna(), dtype=bool) | odd]
    if len(bad):
        shown = ", ".join(repr(v) for v in pd.unique(bad)[:_SHOWN])
        raise DataError(
            f"regression target column {name!r} has {len(bad):,} values that are not numbers "
            f"({shown}); regression needs numbers: clean or drop those rows, or set "
            "schema.task = 'binary_classification' in driftwarden.toml for a two-class target"
        )
    values: NDArray[np.float64] = numbers.to_numpy(dtype=np.float64)
    infinite = int(np.isinf(values).sum())
    if infinite:
        raise DataError(
            f"regression target column {name!r} has {infinite:,} infinite values; drop "
            "those rows or replace them with finite numbers"
        )
    return values


def predict_scores(model: Pipeline, features: pd.DataFrame) -> NDArray[np.float64]:
    """Each row's score: the positive class's probability, or a regressor's predicted value."""
    raw = model.predict(features) if is_regression_model(model) else model.predict_proba(features)
    if raw.ndim == 2:
        raw = raw[:, 1]
    scores: NDArray[np.float64] = np.asarray(raw, dtype=np.float64)
    return scores


def evaluate(
    model: Pipeline, features: pd.DataFrame, labels: NDArray[Any], *, threshold: float = 0.5
) -> ClassificationMetrics | RegressionMetrics:
    """Holdout metrics of ``model`` on labelled rows.

    Parameters
    ----------
    model : Pipeline
        A fitted binary classifier or regressor.
    features : DataFrame
        Its features, as ``schema.coerce_frame`` gives them.
    labels : ndarray
        0/1 labels for a classifier (:func:`binary_labels`), true values for a regressor
        (:func:`regression_target`).
    threshold : float
        The classifier's decision threshold (not used for a regressor).

    Returns
    -------
    ClassificationMetrics or RegressionMetrics
        After the kind of model.
    """
    scores = predict_scores(model, features)
    if is_regression_model(model):
        return regression_metrics(labels, scores)
    return classification_metrics(labels, scores, threshold=threshold)


def feature_importances(
    model: Pipeline,
    features: pd.DataFrame,
    labels: NDArray[Any],
    *,
    metric: str | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> dict[str, float]:
    """Permutation importance of each feature: how much ``metric`` worsens when it is shuffled.

    Measured on held-out rows, so it says what the model relies on for data it has not seen,
    and it works for any model, unlike impurity importances. Sorted, most important first.

    Parameters
    ----------
    model : Pipeline
        A fitted classifier or regressor.
    features : DataFrame
        Held-out rows.
    labels : ndarray
        Their 0/1 labels or true values.
    metric : str, optional
        The metric whose loss is measured, one of the model's task (:func:`task_metrics`).
        By default ROC AUC for a classifier (the importance is the drop in AUC) and RMSE for a
        regressor (the importance is the rise in RMSE, in the target's unit).
    n_repeats, seed, max_rows
        Shuffles per feature, their seed, and the most rows scored.

    Raises
    ------
    ConfigError
        ``metric`` is not a metric of the model's task (RMSE of a classifier, say).

    Notes
    -----
    It scores the rows ``n_repeats`` times per feature, so on a large holdout it is measured on
    a random sample of ``max_rows`` of them (seeded): the figure is a mean drop, which a few
    thousand rows estimate well, and a 20,000-row holdout would otherwise cost a retraining
    most of its time.
    """
    task = "regression" if is_regression_model(model) else "binary_classification"
    chosen_metric = check_metric(metric or task_metrics(task)[0], task)
    if len(features) > max_rows:
        chosen = np.sort(np.random.default_rng(seed).choice(len(features), max_rows, replace=False))
        features, labels = features.iloc[chosen], labels[chosen]
    # One OpenMP thread: the model is asked for a few thousand rows at a time, where a second
    # thread gains little, and where another process holds a core OpenMP's spinning threads made
    # this over ten times slower (measured: 12 s with one thread, 170 s with two, Telco, both
    # cores busy), as for fitting (ModelParams.n_threads).
    with threadpool_limits(limits=1, user_api="openmp"):
        result = permutation_importance(
            model,
            features,
            labels,
            scoring=_SCORERS[chosen_metric],
            n_repeats=n_repeats,
            random_state=seed,
        )
    means = dict(zip(features.columns, result.importances_mean.tolist(), strict=True))
    return dict(sorted(means.items(), key=lambda item: -item[1]))
