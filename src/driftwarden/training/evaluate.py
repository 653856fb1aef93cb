"""Scores, holdout metrics and feature importances of a fitted pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from driftwarden.core.errors import DataError
from driftwarden.schema import FeatureSchema
from driftwarden.stats.metrics import ClassificationMetrics, classification_metrics

__all__ = ["binary_labels", "evaluate", "feature_importances", "predict_scores"]


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


def predict_scores(model: Pipeline, features: pd.DataFrame) -> NDArray[np.float64]:
    """Probability of the positive class for each row."""
    scores: NDArray[np.float64] = model.predict_proba(features)[:, 1].astype(np.float64)
    return scores


def evaluate(
    model: Pipeline, features: pd.DataFrame, labels: NDArray[np.int64], *, threshold: float = 0.5
) -> ClassificationMetrics:
    """Classification metrics of ``model`` on labelled rows."""
    return classification_metrics(labels, predict_scores(model, features), threshold=threshold)


def feature_importances(
    model: Pipeline,
    features: pd.DataFrame,
    labels: NDArray[np.int64],
    *,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> dict[str, float]:
    """Permutation importance of each feature: the mean drop in ROC AUC when it is shuffled.

    Measured on held-out rows, so it says what the model relies on for data it has not seen,
    and it works for any model, unlike impurity importances. Sorted, most important first.

    It scores the rows ``n_repeats`` times per feature, so on a large holdout it is measured on
    a random sample of ``max_rows`` of them (seeded): the figure is a mean drop, which a few
    thousand rows estimate well, and a 20,000-row holdout would otherwise cost a retraining
    most of its time.
    """
    if len(features) > max_rows:
        chosen = np.sort(np.random.default_rng(seed).choice(len(features), max_rows, replace=False))
        features, labels = features.iloc[chosen], labels[chosen]
    result = permutation_importance(
        model, features, labels, scoring="roc_auc", n_repeats=n_repeats, random_state=seed
    )
    means = dict(zip(features.columns, result.importances_mean.tolist(), strict=True))
    return dict(sorted(means.items(), key=lambda item: -item[1]))
