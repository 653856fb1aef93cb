"""Train a model version: split, fit, validate on the holdout, profile the reference.

:func:`train` returns everything the registry stores with a version: the fitted pipeline, holdout
metrics, the reference profile of the training rows and of the model's scores, feature
importances, and a hash and row count of the data. It registers nothing itself, so a training
that fails part-way leaves no trace in the registry.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from driftwarden.core.errors import DataError
from driftwarden.schema import FeatureSchema
from driftwarden.stats import ReferenceProfile
from driftwarden.stats.metrics import ClassificationMetrics
from driftwarden.training.evaluate import (
    binary_labels,
    evaluate,
    feature_importances,
    predict_scores,
)
from driftwarden.training.pipeline import ModelParams, build_pipeline

__all__ = ["Holdout", "TrainingResult", "data_hash", "train"]

logger = logging.getLogger(__name__)

Holdout = Literal["stratified", "time"]
Progress = Callable[[str], None]

# Each class needs this many rows so that both splits hold it and the holdout AUC means something.
_MIN_ROWS_PER_CLASS = 10


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """A fitted model version and the evidence that goes with it."""

    model: Pipeline
    schema: FeatureSchema
    params: ModelParams
    metrics: ClassificationMetrics
    train_metrics: ClassificationMetrics
    profile: ReferenceProfile
    importances: dict[str, float]
    data_hash: str
    n_rows: int
    n_train: int
    n_holdout: int
    holdout: Holdout
    extra: dict[str, Any] = field(default_factory=dict)


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values and column names (row order matters; the index does not)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _split(
    frame: pd.DataFrame, labels: np.ndarray[Any, Any], schema: FeatureSchema,
    holdout: Holdout, test_size: float, seed: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:  # fmt: skip
    positions = np.arange(len(frame))
    if holdout == "time":
        if schema.time_column is None or schema.time_column not in frame.columns:
            raise DataError(
                "a time-based holdout needs the schema's time_column in the data; set "
                "schema.time_column in driftwarden.toml or use holdout = 'stratified'"
            )
        order = np.argsort(pd.to_datetime(frame[schema.time_column]).to_numpy(), kind="stable")
        cut = len(frame) - max(round(len(frame) * test_size), 1)
        return order[:cut], order[cut:]
    train_idx, test_idx = train_test_split(
        positions, test_size=test_size, stratify=labels, random_state=seed
    )
    return np.sort(train_idx), np.sort(test_idx)


def train(
    frame: pd.DataFrame,
    schema: FeatureSchema,
    *,
    params: ModelParams | None = None,
    holdout: Holdout = "stratified",
    test_size: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
) -> TrainingResult:
    """Fit and validate a model on ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Features, the target and optionally the entity id and time columns of the schema.
    schema : FeatureSchema
        Must name a target; its task must be binary classification.
    params : ModelParams, optional
    holdout : {"stratified", "time"}
        A stratified random holdout, or the latest ``test_size`` share by ``schema.time_column``.
    test_size : float
        Share of rows held out for validation.
    seed : int
        Seed of the split and of the importance permutations.
    progress : callable, optional
        Called with a short message as each step starts.

    Raises
    ------
    DataError
        No target in the schema, an empty frame, a target that is not binary, too few rows of a
        class, a time holdout without a time column.
    SchemaMismatchError
        The frame does not match the schema (a feature column missing, text in a numeric column).
    """
    say = progress or (lambda message: logger.info(message))
    if schema.target is None:
        raise DataError("the schema names no target column; set schema.target (driftwarden init)")
    if schema.target not in frame.columns:
        raise DataError(
            f"target column {schema.target!r} is not in the data (columns: "
            f"{', '.join(map(str, frame.columns))}); check schema.target"
        )
    if schema.task != "binary_classification":  # pragma: no cover - the only task so far
        raise DataError(f"task {schema.task!r} is not supported yet")
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size must be between 0 and 1, got {test_size}")
    if len(frame) == 0:
        raise DataError("the data has no rows; nothing to train on")
    say(f"validating {len(frame):,} rows against the schema ({len(schema.features)} features)")
    data = schema.coerce_frame(frame)
    labels = binary_labels(data[schema.target], schema)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < _MIN_ROWS_PER_CLASS:
        raise DataError(
            f"each class needs at least {_MIN_ROWS_PER_CLASS} rows to train and validate; "
            f"found {int(counts[1])} positive and {int(counts[0])} negative"
        )
    features = data[schema.feature_names]
    train_idx, test_idx = _split(data, labels, schema, holdout, test_size, seed)
    x_train, x_test = features.iloc[train_idx], features.iloc[test_idx]
    y_train, y_test = labels[train_idx], labels[test_idx]
    if len(np.unique(y_test)) < 2 or len(np.unique(y_train)) < 2:
        raise DataError(
            "the holdout or the training split holds only one class; use more data or a "
            "stratified holdout"
        )

    params = params or ModelParams(random_state=seed)
    with threadpool_limits(limits=params.n_threads, user_api="openmp"):
        return _fit_and_validate(
            frame, schema, params, x_train, y_train, x_test, y_test, holdout, seed, say
        )


def _fit_and_validate(
    frame: pd.DataFrame,
    schema: FeatureSchema,
    params: ModelParams,
    x_train: pd.DataFrame,
    y_train: np.ndarray[Any, Any],
    x_test: pd.DataFrame,
    y_test: np.ndarray[Any, Any],
    holdout: Holdout,
    seed: int,
    say: Progress,
) -> TrainingResult:
    say(f"fitting on {len(x_train):,} rows, holding out {len(x_test):,} ({holdout})")
    model = build_pipeline(schema, params).fit(x_train, y_train)

    say("evaluating on the holdout")
    metrics = evaluate(model, x_test, y_test)
    train_metrics = evaluate(model, x_train, y_train)

    say("profiling the training data and the model's scores")
    # Scores on the holdout, not on the training rows: a boosted model is over-confident on rows
    # it was fitted on, and production scores look like holdout scores. Comparing live scores with
    # training-row scores would report prediction drift for a perfectly healthy model.
    profile = ReferenceProfile.fit(
        x_train, schema.kinds(), scores=None, ranges=_ranges(schema)
    ).with_scores(predict_scores(model, x_test))

    say("measuring feature importances on the holdout")
    importances = feature_importances(model, x_test, y_test, seed=seed)
    return TrainingResult(
        model=model,
        schema=schema,
        params=params,
        metrics=metrics,
        train_metrics=train_metrics,
        profile=profile,
        importances=importances,
        data_hash=data_hash(frame),
        n_rows=len(frame),
        n_train=len(x_train),
        n_holdout=len(x_test),
        holdout=holdout,
    )


def _ranges(schema: FeatureSchema) -> dict[str, tuple[float, float]]:
    """Allowed ranges the schema declares for numeric features (for the out-of-range check)."""
    return {
        f.name: (float(f.min), float(f.max))
        for f in schema.features
        if f.kind == "numeric" and f.min is not None and f.max is not None
    }
