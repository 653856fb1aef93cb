"""Scores, holdout metrics and feature importances of a fitted pipeline.

What a model's "score" is depends on its task: the probability of the positive class for a
binary classifier, the predicted value for a regressor. :func:`predict_scores` and
:func:`evaluate` tell the two apart by the pipeline's final estimator
(``sklearn.base.is_regressor``), so a loaded model needs no label saying which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.base import is_regressor
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    root_mean_squared_error,
)
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

# For permutation importance: each metric from labels and scores, as scikit-learn's scorer of
# that name computes it (a classifier's label is the class of the larger probability, so a
# score above one half), and whether more is better.
_HARD_LABEL: Final = 0.5
_SCORERS: Final[dict[str, tuple[Callable[[NDArray[Any], NDArray[np.float64]], float], bool]]] = {
    "roc_auc": (lambda y, s: _roc_auc(y, s), True),
    "accuracy": (lambda y, s: accuracy_score(y, s > _HARD_LABEL), True),
    "precision": (lambda y, s: precision_score(y, s > _HARD_LABEL, zero_division=0), True),
    "recall": (lambda y, s: recall_score(y, s > _HARD_LABEL, zero_division=0), True),
    "f1": (lambda y, s: f1_score(y, s > _HARD_LABEL, zero_division=0), True),
    "log_loss": (lambda y, s: log_loss(y, s, labels=[0, 1]), False),
    "brier": (lambda y, s: brier_score_loss(y, s, pos_label=1), False),
    "rmse": (lambda y, s: root_mean_squared_error(y, s), False),
    "mae": (lambda y, s: mean_absolute_error(y, s), False),
    "r2": (lambda y, s: r2_score(y, s), True),
    "mape": (lambda y, s: mean_absolute_percentage_error(y, s), False),
}


def _roc_auc(labels: NDArray[Any], scores: NDArray[np.float64]) -> float:
    """``roc_auc_score`` by the Mann–Whitney rank sum: the same figure, without the checks that
    cost more than the sum on a holdout of a few thousand rows, asked for a hundred times."""
    positive = np.asarray(labels) == 1
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    if n_positive == 0 or n_negative == 0:
        return float("nan")  # undefined, as scikit-learn says (with a warning)
    ranks = rankdata(scores)
    return (float(ranks[positive].sum()) - n_positive * (n_positive + 1) / 2) / (
        n_positive * n_negative
    )


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


def predict_scores(
    model: Pipeline, features: pd.DataFrame | NDArray[np.float64]
) -> NDArray[np.float64]:
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
        means = _permutation_importances(
            model, features.reset_index(drop=True), labels, chosen_metric, n_repeats, seed
        )
    return dict(sorted(means.items(), key=lambda item: -item[1]))


def _permutation_importances(
    model: Pipeline, features: pd.DataFrame, labels: NDArray[Any], metric: str,
    n_repeats: int, seed: int,
) -> dict[str, float]:  # fmt: skip
    """:func:`sklearn.inspection.permutation_importance`'s figures, from one call of the model
    per feature instead of one per feature and repeat, and one encoding of the rows.

    The shuffles are scikit-learn's own (one seed drawn from ``seed``, the same sequence of
    cumulative shuffles for every column), so the figures are the same; a test holds them to it.
    What differs is the cost. A pipeline pays a fixed price per call (checks, its column
    transformer's encoders) that on a holdout of a few thousand rows is much of the work, so the
    ``n_repeats`` shuffled copies of the rows are stacked and scored together. And where the
    pipeline's steps before the model turn each feature into one column of the same name (the
    pipelines :func:`~driftwarden.training.build_pipeline` makes), the rows are encoded once and
    the encoded column is shuffled: the encoding works row by row, so that is the same as
    encoding the shuffled rows.
    """
    score_of, higher_is_better = _SCORERS[metric]
    n = len(features)
    baseline = score_of(labels, predict_scores(model, features))
    random_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    encoded = _encoded_columns(model, features)
    stacked: pd.DataFrame | None = None  # the rows n_repeats times, when they cannot be encoded
    means: dict[str, float] = {}
    for name in features.columns:
        shuffles = np.random.RandomState(random_seed)
        order = np.arange(n)
        orders: list[NDArray[np.int64]] = []
        for _ in range(n_repeats):
            shuffles.shuffle(order)
            # scikit-learn shuffles the already shuffled column: compose the orders.
            orders.append(order.copy() if not orders else orders[-1][order])
        rows = np.concatenate(orders)
        if encoded is None:
            if stacked is None:
                stacked = pd.concat([features] * n_repeats, ignore_index=True)
            kept = stacked[name]
            stacked[name] = features[name].iloc[rows].reset_index(drop=True)
            scores = predict_scores(model, stacked)
            stacked[name] = kept
        else:
            matrix, columns = encoded
            tiled = np.tile(matrix, (n_repeats, 1))
            tiled[:, columns[name]] = matrix[rows, columns[name]]
            scores = predict_scores(model[-1], tiled)
        drops = [score_of(labels, scores[i * n : (i + 1) * n]) for i in range(n_repeats)]
        losses = [baseline - d if higher_is_better else d - baseline for d in drops]
        means[name] = float(np.mean(losses))
    return means


def _encoded_columns(
    model: Pipeline, features: pd.DataFrame
) -> tuple[NDArray[np.float64], dict[str, int]] | None:
    """The rows as the model's final step sees them, and each feature's column there; None
    where the steps before it do not map features one to one onto named columns."""
    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return None
    head = model[:-1]
    try:
        names = [str(name) for name in head.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):  # a step that cannot name its output
        return None
    if sorted(names) != sorted(map(str, features.columns)):
        return None
    matrix = np.asarray(head.transform(features), dtype=np.float64)
    return matrix, {name: index for index, name in enumerate(names)}
