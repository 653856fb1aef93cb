"""Train a model version: split, fit, validate on the holdout, profile the reference.

:func:`train` returns everything the registry stores with a version: the fitted pipeline, holdout
metrics, the reference profile of the training rows and of the model's scores, feature
importances, and a hash and row count of the data. It registers nothing itself, so a training
that fails part-way leaves no trace in the registry.

The schema's task decides the model: a binary classifier, whose scores are probabilities of the
positive class and whose metrics are :class:`~driftwarden.stats.metrics.ClassificationMetrics`,
or a regressor, whose scores are its predicted values and whose metrics are
:class:`~driftwarden.stats.metrics.RegressionMetrics`.

The schema is the contract: the model reads its features and nothing else (other columns of the
data are ignored, and reported), and the data must agree with what the schema declares about it
(see :func:`train`, Notes).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from driftwarden.core.errors import DataError, SchemaMismatchError
from driftwarden.schema import DISTINCT_REGRESSION_VALUES, FeatureSchema, Task, parse_times
from driftwarden.stats import EstimatedMetrics, ReferenceProfile, estimated_metrics
from driftwarden.stats.metrics import ClassificationMetrics, RegressionMetrics
from driftwarden.training.evaluate import (
    binary_labels,
    check_metric,
    evaluate,
    feature_importances,
    predict_scores,
    regression_target,
)
from driftwarden.training.pipeline import ModelParams, build_pipeline

__all__ = ["Holdout", "TrainingResult", "data_hash", "holdout_metric", "train", "train_on_split"]

logger = logging.getLogger(__name__)

Holdout = Literal["stratified", "time", "recent"]
Progress = Callable[[str], None]

REFERENCE_SAMPLE_ROWS = 5000
"""Training rows kept with a version for multivariate drift (adversarial validation)."""
HOLDOUT_SAMPLE_ROWS = 2000
"""Holdout rows kept with a version: the reference of explanation drift."""

# Each class needs this many rows so that both splits hold it and the holdout AUC means something.
_MIN_ROWS_PER_CLASS = 10
# A regression needs this many rows, so that the holdout holds a few and its R² means something.
_MIN_ROWS_REGRESSION = 20
# Offending values named per column in an error.
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """A fitted model version and the evidence that goes with it.

    ``metrics`` (holdout) and ``train_metrics`` (training rows) are
    :class:`~driftwarden.stats.metrics.ClassificationMetrics` for a classifier and
    :class:`~driftwarden.stats.metrics.RegressionMetrics` for a regressor; ``profile``'s
    prediction profile is of the holdout scores: probabilities, or predicted values.
    """

    model: Pipeline
    schema: FeatureSchema
    params: ModelParams
    metrics: ClassificationMetrics | RegressionMetrics
    train_metrics: ClassificationMetrics | RegressionMetrics
    profile: ReferenceProfile
    importances: dict[str, float]
    data_hash: str
    n_rows: int
    n_train: int
    n_holdout: int
    holdout: Holdout
    ignored_columns: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    #: Performance estimated from the holdout scores alone (CBPE): what a monitor's estimate on
    #: healthy traffic should read, including the model's own miscalibration. Classifiers only:
    #: None for a regressor, whose errors its predictions alone cannot estimate.
    estimated: EstimatedMetrics | None = None
    #: A seeded sample of the training rows' features (at most :data:`REFERENCE_SAMPLE_ROWS`),
    #: kept with the version: multivariate drift compares windows with rows, not summaries.
    reference_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: A seeded sample of the holdout's features (at most :data:`HOLDOUT_SAMPLE_ROWS`): the
    #: rows whose attributions are the reference of explanation drift.
    holdout_sample: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: The holdout's attribution profile (``driftwarden.explain.AttributionProfile.to_dict``),
    #: when one was computed; registered with the version.
    attributions: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def task(self) -> Task:
        """The learning task of the model: the schema's (``"binary_classification"`` or
        ``"regression"``)."""
        return self.schema.task


def holdout_metric(result: TrainingResult, name: str) -> float | None:
    """One holdout metric of ``result`` by name (``"roc_auc"``, ``"rmse"``...).

    Returns
    -------
    float or None
        The value; None where the metric is undefined on this holdout (ROC AUC of one class,
        R² of a constant target, MAPE with a zero target).

    Raises
    ------
    ConfigError
        ``name`` is not a metric of the model's task: the message names the metric, the task
        and the metrics that task has.
    """
    check_metric(name, result.task)
    value = result.metrics.to_dict()[name]
    return None if value is None else float(value)


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
    """Training and holdout positions: the latest rows by time, or a random split (stratified
    by class for a classifier; a regression target has no classes to stratify)."""
    positions = np.arange(len(frame))
    if holdout == "time":
        if schema.time_column is None or schema.time_column not in frame.columns:
            raise DataError(
                "a time-based holdout needs the schema's time_column in the data; set "
                "schema.time_column in driftwarden.toml or use holdout = 'stratified'"
            )
        column = schema.time_column
        times = parse_times(frame[column], column)
        unknown = int(np.isnat(times).sum())
        if unknown:
            raise DataError(
                f"{unknown:,} of {len(frame):,} rows have no time in {column!r}, so a time-based "
                "holdout cannot place them; fill or drop those rows, or use holdout = "
                "'stratified' ([training] in driftwarden.toml)"
            )
        order = np.argsort(times, kind="stable")
        cut = len(frame) - max(round(len(frame) * test_size), 1)
        return order[:cut], order[cut:]
    stratify = None if schema.is_regression else labels
    train_idx, test_idx = train_test_split(
        positions, test_size=test_size, stratify=stratify, random_state=seed
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
        Must name a target. Its task decides the model: a binary classifier, or a regressor.
    params : ModelParams, optional
        Hyper-parameters; their ``task``, if set, must be the schema's.
    holdout : {"stratified", "time"}
        A random holdout (stratified by class for a classifier; plain random for a regressor),
        or the latest ``test_size`` share by ``schema.time_column``.
    test_size : float
        Share of rows held out for validation.
    seed : int
        Seed of the split and of the importance permutations.
    progress : callable, optional
        Called with a short message as each step starts.

    Raises
    ------
    ConfigError
        ``params`` asks for a task that is not supported, or not the schema's.
    DataError
        No target in the schema, an empty frame, a time holdout without a time column or with
        rows without a time. For a classifier: a target that is not binary, too few rows of a
        class. For a regressor: a target with missing values, values that are not numbers or
        infinite ones, fewer than :data:`~driftwarden.schema.DISTINCT_REGRESSION_VALUES` distinct
        values, or fewer than 20 rows.
    SchemaMismatchError
        The frame does not match the schema: a feature column missing, text in a numeric
        column, a time column that holds values that are not times, or values the schema
        declares absent (see Notes).

    Notes
    -----
    Columns that are neither features nor the target, entity id or time column are ignored, and
    named in a progress message and in ``ignored_columns`` of the result: the schema says what
    the model reads, not whatever the data file happens to hold.

    The schema's ``categories``, ``min``/``max`` and ``nullable`` describe the training data
    (inference reads them from it), and the model version carries them as its contract: the
    request model refuses ``null`` for a feature that is not nullable, and the monitor measures
    drift and out-of-range values against them. Training data that contradicts them (a
    category not listed, a value outside the range, a missing value in a feature that is not
    nullable) means that the declaration is stale, as after editing ``driftwarden.toml`` or
    changing the data file, or that the data is wrong; only the user can tell which. So it is an
    error naming the columns and values, not a silent refresh: refreshing would register a
    contract nobody reviewed, while ``driftwarden.toml`` kept saying otherwise. A schema
    inferred from the same data never fails this check.
    """
    say = progress or (lambda message: logger.info(message))
    if schema.target is None:
        raise DataError("the schema names no target column; set schema.target (driftwarden init)")
    if schema.target not in frame.columns:
        raise DataError(
            f"target column {schema.target!r} is not in the data (columns: "
            f"{', '.join(map(str, frame.columns))}); check schema.target"
        )
    params = params or ModelParams(random_state=seed)
    # Built before any work on the data, so an unsupported task fails first.
    model = build_pipeline(schema, params)
    params = replace(params, task=schema.task)
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size must be between 0 and 1, got {test_size}")
    if len(frame) == 0:
        raise DataError("the data has no rows; nothing to train on")
    used = set(schema.feature_names) | {
        c for c in (schema.target, schema.entity_id, schema.time_column) if c is not None
    }
    ignored = tuple(str(c) for c in frame.columns if c not in used)
    if ignored:
        say(
            f"ignoring {len(ignored)} column{'s' if len(ignored) > 1 else ''} that the schema "
            f"does not list: {', '.join(map(repr, ignored))}"
        )
    say(f"validating {len(frame):,} rows against the schema ({len(schema.features)} features)")
    data = schema.coerce_frame(frame[[c for c in frame.columns if c in used]])
    _check_declared(schema, data)
    labels = _labels(data[schema.target], schema)
    features = data[schema.feature_names]
    train_idx, test_idx = _split(data, labels, schema, holdout, test_size, seed)
    x_train, x_test = features.iloc[train_idx], features.iloc[test_idx]
    y_train, y_test = labels[train_idx], labels[test_idx]
    if not schema.is_regression and (len(np.unique(y_test)) < 2 or len(np.unique(y_train)) < 2):
        raise DataError(
            "the holdout or the training split holds only one class; use more data or a "
            "stratified holdout"
        )

    with threadpool_limits(limits=params.n_threads, user_api="openmp"):
        return _fit_and_validate(
            frame, schema, params, model, x_train, y_train, x_test, y_test, holdout, ignored,
            seed, say,
        )  # fmt: skip


def train_on_split(
    train_frame: pd.DataFrame,
    train_labels: np.ndarray[Any, Any],
    holdout_frame: pd.DataFrame,
    holdout_labels: np.ndarray[Any, Any],
    schema: FeatureSchema,
    *,
    params: ModelParams | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> TrainingResult:
    """Fit on one frame and validate on another, with the labels given as 0/1 for a
    classifier, as numbers for a regressor.

    What retraining uses: the holdout is chosen by the caller (the most recent labelled
    production rows), so that the candidate and the champion are measured on the same rows.
    The frames need the schema's features (other columns are ignored); the data must agree with
    what the schema declares, as in :func:`train`.

    Raises
    ------
    ConfigError
        ``params`` asks for a task that is not the schema's.
    DataError
        An empty split, or labels that do not match the frames' lengths. For a classifier:
        labels that are not 0/1, or a split with one class only. For a regressor: labels that
        are missing, not numbers or infinite, or a training split with fewer than
        :data:`~driftwarden.schema.DISTINCT_REGRESSION_VALUES` distinct values.
    SchemaMismatchError
        The frames do not match the schema.
    """
    say = progress or (lambda message: logger.info(message))
    params = params or ModelParams(random_state=seed)
    model = build_pipeline(schema, params)
    params = replace(params, task=schema.task)
    say(f"validating {len(train_frame) + len(holdout_frame):,} rows against the schema")
    parts = []
    for name, frame, labels in (
        ("training", train_frame, train_labels),
        ("holdout", holdout_frame, holdout_labels),
    ):
        labels = np.asarray(labels)
        if len(frame) == 0:
            raise DataError(f"the {name} split has no rows")
        if len(labels) != len(frame):
            raise DataError(f"the {name} split has {len(frame):,} rows but {len(labels):,} labels")
        if schema.is_regression:
            values = regression_target(pd.Series(labels), schema)
            if name == "training":
                _check_distinct(values, schema)
        else:
            if not np.isin(labels, (0, 1)).all():
                raise DataError(f"the {name} labels must be 0 or 1")
            if len(np.unique(labels)) < 2:
                raise DataError(f"the {name} split holds only one class; it needs both")
            values = labels.astype(np.int64)
        data = schema.coerce_frame(frame[schema.feature_names])
        _check_declared(schema, data)
        parts.append((data, values))
    (x_train, y_train), (x_test, y_test) = parts
    hashed = pd.concat([x_train, x_test], ignore_index=True).assign(
        __label__=np.concatenate([y_train, y_test])
    )
    with threadpool_limits(limits=params.n_threads, user_api="openmp"):
        result = _fit_and_validate(
            hashed, schema, params, model, x_train, y_train, x_test, y_test, "recent", (),
            seed, say,
        )  # fmt: skip
    return result


def _fit_and_validate(
    frame: pd.DataFrame,
    schema: FeatureSchema,
    params: ModelParams,
    model: Pipeline,
    x_train: pd.DataFrame,
    y_train: np.ndarray[Any, Any],
    x_test: pd.DataFrame,
    y_test: np.ndarray[Any, Any],
    holdout: Holdout,
    ignored: tuple[str, ...],
    seed: int,
    say: Progress,
) -> TrainingResult:
    say(f"fitting on {len(x_train):,} rows, holding out {len(x_test):,} ({holdout})")
    model.fit(x_train, y_train)

    say("evaluating on the holdout")
    metrics = evaluate(model, x_test, y_test)
    train_metrics = evaluate(model, x_train, y_train)

    say("profiling the training data and the model's scores")
    # Scores on the holdout, not on the training rows: a boosted model is over-confident on rows
    # it was fitted on, and production scores look like holdout scores. Comparing live scores with
    # training-row scores would report prediction drift for a perfectly healthy model. (The same
    # holds for a regressor's predicted values, which hug the training targets.)
    holdout_scores = predict_scores(model, x_test)
    profile = ReferenceProfile.fit(
        x_train, schema.kinds(), scores=None, ranges=_ranges(schema)
    ).with_scores(holdout_scores)

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
        ignored_columns=ignored,
        estimated=None if schema.is_regression else estimated_metrics(holdout_scores),
        reference_sample=_sample(x_train, REFERENCE_SAMPLE_ROWS, seed),
        holdout_sample=_sample(x_test, HOLDOUT_SAMPLE_ROWS, seed),
    )


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` rows of ``frame``, drawn without replacement (all of them if fewer)."""
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=rows, random_state=seed).reset_index(drop=True)


def _labels(target: pd.Series[Any], schema: FeatureSchema) -> np.ndarray[Any, Any]:
    """The training target: 0/1 for a classifier, float64 values for a regressor, checked."""
    if schema.is_regression:
        values = regression_target(target, schema)
        if len(values) < _MIN_ROWS_REGRESSION:
            raise DataError(
                f"regression needs at least {_MIN_ROWS_REGRESSION} labelled rows to train and "
                f"validate; found {len(values):,}: add rows"
            )
        _check_distinct(values, schema)
        return values
    labels = binary_labels(target, schema)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < _MIN_ROWS_PER_CLASS:
        raise DataError(
            f"each class needs at least {_MIN_ROWS_PER_CLASS} rows to train and validate; "
            f"found {int(counts[1])} positive and {int(counts[0])} negative"
        )
    return labels


def _check_distinct(values: np.ndarray[Any, Any], schema: FeatureSchema) -> None:
    """A regression target needs :data:`DISTINCT_REGRESSION_VALUES` distinct values, as in
    inference."""
    distinct = int(np.unique(values).size)
    if distinct < DISTINCT_REGRESSION_VALUES:
        raise DataError(
            f"regression target column {schema.target!r} has only {distinct} distinct values, "
            f"too few for regression (it needs at least {DISTINCT_REGRESSION_VALUES}); for two "
            "classes set schema.task = 'binary_classification' in driftwarden.toml, otherwise "
            "check that schema.target names the right column"
        )


def _check_declared(schema: FeatureSchema, data: pd.DataFrame) -> None:
    """Raise if coerced training data contradicts what the schema declares (:func:`train`)."""
    problems: list[tuple[str, str]] = []
    for spec in schema.features:
        values = data[spec.name]
        missing = int(values.isna().sum())
        if missing and not spec.nullable:
            found = _count(missing, "missing value")
            problems.append((spec.name, f"{found}, but nullable = false"))
        # An empty list declares nothing (a schema built in code may leave it out).
        if spec.kind == "categorical" and spec.categories:
            present = values.dropna()
            counts = present[~present.isin(set(spec.categories))].value_counts()
            if len(counts):
                shown = ", ".join(
                    f"{v!r} ({_count(int(n), 'row')})" for v, n in counts.head(_SHOWN).items()
                )
                more = f" and {len(counts) - _SHOWN} more" if len(counts) > _SHOWN else ""
                problems.append((spec.name, f"values not in its categories: {shown}{more}"))
        elif spec.kind == "numeric":
            numbers = values.to_numpy(dtype=np.float64)
            # Finite values only, as inference reads the range.
            finite = numbers[np.isfinite(numbers)]
            below = finite[finite < spec.min] if spec.min is not None else finite[:0]
            if below.size:
                problems.append(
                    (spec.name, f"{_count(below.size, 'value')} below min = {spec.min:.10g} "
                     f"(lowest {below.min():.10g})")
                )  # fmt: skip
            above = finite[finite > spec.max] if spec.max is not None else finite[:0]
            if above.size:
                problems.append(
                    (spec.name, f"{_count(above.size, 'value')} above max = {spec.max:.10g} "
                     f"(highest {above.max():.10g})")
                )  # fmt: skip
    if problems:
        lines = "\n".join(f"  {name}: {problem}" for name, problem in problems)
        raise SchemaMismatchError(
            "the training data contradicts what the schema declares about it:\n"
            f"{lines}\n"
            "The categories, min/max and nullable of each [schema.features.<column>] describe "
            "the training data. If the data is right, they are stale: edit them in "
            "driftwarden.toml, or re-run `driftwarden init --force` to infer them from this "
            "data. Otherwise fix the data.",
            column=problems[0][0],
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _ranges(schema: FeatureSchema) -> dict[str, tuple[float, float]]:
    """Allowed ranges the schema declares for numeric features (for the out-of-range check)."""
    return {
        f.name: (float(f.min), float(f.max))
        for f in schema.features
        if f.kind == "numeric" and f.min is not None and f.max is not None
    }
