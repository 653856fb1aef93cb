"""The steps of a retraining, as plain functions: the Prefect flow runs each as a task.

1. :func:`decide`: is there a champion to improve on, is no A/B test running, and are there
   enough labelled production rows? The gates' metric is resolved for the champion's task.
2. :func:`fetch_data`: the champion's training data (``training.data``, or the bundled Telco
   dataset for the Telco churn model only) plus the labelled production rows of
   ``retraining.lookback``, deduplicated by entity (the newest row of an entity wins, and
   replaces its rows in the training data); the most recent ``retraining.holdout_fraction`` of
   the production rows is the holdout. When the trigger is concept drift or a performance
   drop, the labels changed meaning: only the production rows of
   ``retraining.concept_lookback`` before the newest label are used. Labels are 0/1 for a
   classifier and the true values for a regression model.
3. :func:`train_candidate`: widen the champion's schema to what production sent (new
   categories, wider ranges, a feature now missing), recording every change, and fit.
4. :func:`validate`: the gates, on the same holdout for the candidate and the champion. A
   score (ROC AUC...) must reach ``retraining.min_score`` and at least the champion's minus
   ``retraining.tolerance``; an error (RMSE, MAE) must stay within ``retraining.max_error``
   when it is set and at most the champion's times ``1 + retraining.tolerance``.
5. :func:`register_challenger`: a new version, tagged with the run, the trigger and the
   schema changes; the ``challenger`` alias moves to it when its test starts.
6. :func:`start_ab_test`: the champion/challenger test on live traffic.

Each returns a small JSON-safe summary, which the flow records on the run as the step ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core import Clock, DataError, NotFoundError, Settings
from driftwarden.data import (
    TELCO_CATEGORICAL,
    TELCO_NUMERIC,
    TELCO_TARGET,
    load_telco,
    read_table,
)
from driftwarden.explain import with_explanations
from driftwarden.monitoring.abtest import ABTestManager
from driftwarden.monitoring.performance import watched_metric
from driftwarden.registry import LoadedModel, ModelRegistry
from driftwarden.schema import (
    DISTINCT_REGRESSION_VALUES,
    FeatureSchema,
    SchemaChange,
    widen_schema,
)
from driftwarden.stats import lower_is_better
from driftwarden.store import labelled_rows, running_ab_test
from driftwarden.training import (
    TrainingResult,
    binary_labels,
    evaluate,
    regression_target,
    train_on_split,
)

__all__ = [
    "Gate",
    "RetrainContext",
    "Skip",
    "TrainingData",
    "decide",
    "fetch_data",
    "gate_metric",
    "register_challenger",
    "start_ab_test",
    "train_candidate",
    "validate",
]

logger = logging.getLogger(__name__)

#: Triggers that mean the labels changed meaning: train on recent rows alone.
_CONCEPT_TRIGGERS = frozenset({"concept", "performance"})
#: MLflow keeps tag values up to this many characters.
_TAG_LIMIT = 5000


class Skip(Exception):
    """The retraining has nothing to do (no champion, too little data, a test running)."""


@dataclass(slots=True)
class RetrainContext:
    """What every step works with."""

    settings: Settings
    engine: Any
    registry: ModelRegistry
    clock: Clock
    run_id: int
    trigger: str
    progress: Callable[[str], None] = field(default=lambda message: logger.info(message))
    champion: LoadedModel | None = None


@dataclass(frozen=True, slots=True)
class TrainingData:
    """The rows a candidate learns from and the recent rows both models are judged on.

    The labels are 0/1 (int64) for a classifier and the true values (float64) for a regression
    model.
    """

    train: pd.DataFrame
    train_labels: NDArray[np.int64] | NDArray[np.float64]
    holdout: pd.DataFrame
    holdout_labels: NDArray[np.int64] | NDArray[np.float64]
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Gate:
    """One validation gate and its verdict."""

    name: str
    passed: bool
    detail: str
    value: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "name": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "value": self.value,
            "threshold": self.threshold,
        }


def gate_metric(settings: Settings, task: str) -> str:
    """The metric of the validation gates for a champion of ``task``: ``retraining.metric``,
    or unset, ``roc_auc`` for a classifier and ``rmse`` for a regression model.

    Raises
    ------
    ConfigError
        ``retraining.metric`` is a metric of the other task (``rmse`` for a classifier,
        ``roc_auc`` for a regression model); the message names the key and the choices.
    """
    return watched_metric(settings.retraining.metric, task, "retraining.metric")


def decide(ctx: RetrainContext) -> dict[str, Any]:
    """Check that a retraining makes sense now, and load the champion.

    Raises
    ------
    Skip
        No champion, an A/B test running, or too few labelled production rows.
    ConfigError
        ``retraining.metric`` cannot measure the champion's task (see :func:`gate_metric`):
        refused before any training.
    """
    settings = ctx.settings.retraining
    test = running_ab_test(ctx.engine, ctx.registry.name)
    if test is not None:
        raise Skip(
            f"A/B test {test['id']} of version {test['challenger_version']} is running; a new "
            "challenger waits until it ends"
        )
    try:
        ctx.champion = ctx.registry.load(ctx.registry.champion)
    except NotFoundError as exc:
        raise Skip(f"there is no champion to retrain: {exc}") from exc
    metric = gate_metric(ctx.settings, ctx.champion.task)
    now = ctx.clock.now()
    rows = labelled_rows(ctx.engine, now - settings.lookback, now, limit=settings.min_new_rows)
    if len(rows) < settings.min_new_rows:
        raise Skip(
            f"{len(rows)} labelled production rows in the last {settings.lookback}; retraining "
            f"needs {settings.min_new_rows} (retraining.min_new_rows)"
        )
    ctx.progress(f"retraining version {ctx.champion.version} ({ctx.trigger})")
    return {
        "champion_version": ctx.champion.version,
        "trigger": ctx.trigger,
        "task": ctx.champion.task,
        "metric": metric,
    }


def _is_telco(schema: FeatureSchema) -> bool:
    """Whether ``schema`` is a churn model of the bundled Telco dataset."""
    return (
        not schema.is_regression
        and schema.target == TELCO_TARGET
        and set(schema.feature_names) <= {*TELCO_NUMERIC, *TELCO_CATEGORICAL}
    )


def _base_frame(settings: Settings, schema: FeatureSchema) -> pd.DataFrame:
    """The champion's training data: ``training.data``, or the bundled Telco dataset for a
    Telco churn model.

    Raises
    ------
    DataError
        ``training.data`` is unset and the champion is not a Telco churn model, so its training
        data is nowhere to be found.
    """
    if settings.training.data is not None:
        return read_table(settings.training.data)
    if not _is_telco(schema):
        kind = "regression" if schema.is_regression else "classification"
        raise DataError(
            f"training.data is unset, and the bundled Telco dataset is not the training data "
            f"of this champion (a {kind} model of {schema.target!r}); set training.data to the "
            "file the champion was trained on, or retraining.include_training_data = false to "
            "retrain on the labelled production rows alone"
        )
    return load_telco()


def _production(ctx: RetrainContext, schema: FeatureSchema) -> pd.DataFrame:
    settings = ctx.settings.retraining
    now = ctx.clock.now()
    rows = labelled_rows(
        ctx.engine, now - settings.lookback, now, limit=settings.max_production_rows
    )
    frame = pd.DataFrame.from_records(rows.features, columns=schema.feature_names)
    frame["__label__"] = rows.true_label
    frame["__entity__"] = pd.Series(rows.entity_id, dtype=object)
    frame["__created__"] = pd.to_datetime(pd.Series(rows.created_at), utc=True)
    return frame


def fetch_data(ctx: RetrainContext) -> TrainingData:
    """The training rows and the holdout (see the module docstring)."""
    settings = ctx.settings.retraining
    champion = _champion(ctx)
    schema = champion.schema
    ctx.progress("reading the labelled production rows")
    production = _production(ctx, schema)
    n_read = len(production)
    recent_only = ctx.trigger in _CONCEPT_TRIGGERS
    if recent_only and n_read:
        since = production["__created__"].iloc[-1] - settings.concept_lookback
        production = production[production["__created__"] >= since]
        if len(production) < settings.min_new_rows:
            raise Skip(
                f"{len(production)} labelled production rows in the {settings.concept_lookback} "
                f"before the newest label; a retraining for {ctx.trigger} drift trains on those "
                f"alone and needs {settings.min_new_rows} (retraining.min_new_rows)"
            )
    with_entity = production["__entity__"].notna()
    keyed = production[with_entity].drop_duplicates("__entity__", keep="last")
    production = pd.concat([keyed, production[~with_entity]]).sort_values(
        "__created__", kind="stable"
    )
    n_holdout = max(round(len(production) * settings.holdout_fraction), 1)
    holdout = production.iloc[len(production) - n_holdout :]
    recent = production.iloc[: len(production) - n_holdout]
    # A regression's labels are the true values; a classifier's are 0/1.
    dtype = np.float64 if schema.is_regression else np.int64
    parts = [recent[schema.feature_names]]
    labels: list[NDArray[Any]] = [recent["__label__"].to_numpy(dtype=dtype)]
    n_base = n_replaced = 0
    if settings.include_training_data and not recent_only:
        ctx.progress("reading the champion's training data")
        base = _base_frame(ctx.settings, schema)
        missing = [c for c in (*schema.feature_names, schema.target) if c not in base.columns]
        if missing:
            raise DataError(
                f"the training data ({ctx.settings.training.data or 'the bundled dataset'}) "
                f"lacks the champion's columns {missing}; point training.data at the data the "
                "champion was trained on, or set retraining.include_training_data = false"
            )
        if schema.entity_id is not None and schema.entity_id in base.columns:
            seen = set(production["__entity__"].dropna().astype(str))
            newer = base[schema.entity_id].astype(str).isin(seen)
            n_replaced = int(newer.sum())
            base = base[~newer]
        n_base = len(base)
        parts.insert(0, base[schema.feature_names])
        target = base[schema.target]
        labels.insert(
            0,
            regression_target(target, schema)
            if schema.is_regression
            else binary_labels(target, schema),
        )
    train = pd.concat(parts, ignore_index=True)
    holdout_labels = holdout["__label__"].to_numpy(dtype=dtype)
    train_labels = np.concatenate(labels)
    for name, values in (("held-out", holdout_labels), ("training", train_labels)):
        _check_labels(values, name, schema)
    summary = {
        "recent_only": recent_only,
        "production_rows_read": n_read,
        "production_rows": len(production),
        "duplicates_dropped": n_read - len(production),
        "training_rows_from_training_data": n_base,
        "training_rows_replaced_by_production": n_replaced,
        "training_rows_from_production": len(recent),
        "training_rows": len(train),
        "holdout_rows": len(holdout),
        "holdout_from": holdout["__created__"].iloc[0].isoformat(),
        "holdout_to": holdout["__created__"].iloc[-1].isoformat(),
    }
    ctx.progress(
        f"{len(train):,} training rows ({n_base:,} from the training data, {len(recent):,} "
        f"from production), {len(holdout):,} recent rows held out"
    )
    return TrainingData(
        train,
        train_labels,
        holdout[schema.feature_names].reset_index(drop=True),
        holdout_labels,
        summary,
    )


def _check_labels(values: NDArray[Any], name: str, schema: FeatureSchema) -> None:
    """Skip when the labels cannot train or validate a model: one class of a classifier, too
    few distinct true values of a regression."""
    distinct = len(np.unique(values))
    if schema.is_regression:
        if distinct < DISTINCT_REGRESSION_VALUES:
            raise Skip(
                f"the {len(values):,} {name} rows hold {distinct} distinct true values of "
                f"{schema.target!r}; a regression needs at least {DISTINCT_REGRESSION_VALUES} "
                "to train and validate on: wait for more labels, or raise "
                "retraining.holdout_fraction or retraining.lookback"
            )
    elif distinct < 2:
        raise Skip(
            f"the {len(values):,} {name} rows hold only one class ({int(values[0])}); "
            "validation needs both: wait for more labels, or raise "
            "retraining.holdout_fraction or retraining.lookback"
        )


def _champion(ctx: RetrainContext) -> LoadedModel:
    if ctx.champion is None:
        ctx.champion = ctx.registry.load(ctx.registry.champion)
    return ctx.champion


def train_candidate(
    ctx: RetrainContext, data: TrainingData
) -> tuple[TrainingResult, list[SchemaChange]]:
    """Widen the champion's schema to the data, then fit and validate a candidate."""
    champion = _champion(ctx)
    every = pd.concat([data.train, data.holdout], ignore_index=True)
    schema, changes = widen_schema(champion.schema, every)
    for change in changes:
        ctx.progress(f"schema: {change.describe()}")
    result = train_on_split(
        data.train,
        data.train_labels,
        data.holdout,
        data.holdout_labels,
        schema,
        seed=ctx.settings.training.seed,
        progress=ctx.progress,
    )
    return result, changes


def validate(
    ctx: RetrainContext, result: TrainingResult, data: TrainingData
) -> tuple[bool, list[Gate], dict[str, Any]]:
    """The gates, on the same holdout: the serving schema; an absolute bound (a score's floor
    ``retraining.min_score``, an error's ceiling ``retraining.max_error`` when set); and no
    worse than the champion beyond ``retraining.tolerance`` (absolute for a score, relative to
    the champion's error for an error). Returns whether all passed, each gate, and both models'
    holdout metrics.

    Raises
    ------
    ConfigError
        ``retraining.metric`` cannot measure the champion's task (see :func:`gate_metric`).
    """
    settings = ctx.settings.retraining
    champion = _champion(ctx)
    metric = gate_metric(ctx.settings, champion.task)
    holdout = champion.schema.coerce_frame(data.holdout[champion.schema.feature_names])
    champion_metrics = evaluate(champion.model, holdout, data.holdout_labels).to_dict()
    candidate_metrics = result.metrics.to_dict()
    ours, theirs = candidate_metrics.get(metric), champion_metrics.get(metric)
    served = [(f.name, f.kind) for f in champion.schema.features]
    signature = [(f.name, f.kind) for f in result.schema.features]
    gates = [
        Gate(
            "schema",
            signature == served,
            "the candidate reads the features the API serves"
            if signature == served
            else f"the candidate reads {signature}, the API serves {served}",
        ),
    ]
    if lower_is_better(metric):
        if settings.max_error is not None:
            gates.append(
                _at_most(f"ceiling ({metric})", ours, settings.max_error, "retraining.max_error")
            )
        gates.append(
            _at_most(
                f"champion ({metric})",
                ours,
                None if theirs is None else float(theirs) * (1.0 + settings.tolerance),
                f"the champion's {_figure(theirs)} plus retraining.tolerance "
                f"{settings.tolerance:.1%}",
            )
        )
    else:
        gates += [
            _at_least(f"floor ({metric})", ours, settings.min_score, "retraining.min_score"),
            _at_least(
                f"champion ({metric})",
                ours,
                None if theirs is None else float(theirs) - settings.tolerance,
                f"the champion's {theirs if theirs is None else round(float(theirs), 4)} minus "
                f"retraining.tolerance {settings.tolerance}",
            ),
        ]
    passed = all(gate.passed for gate in gates)
    for gate in gates:
        ctx.progress(f"gate {gate.name}: {'passed' if gate.passed else 'FAILED'}: {gate.detail}")
    return passed, gates, {"candidate": candidate_metrics, "champion": champion_metrics}


def _at_least(name: str, value: Any, threshold: float | None, source: str) -> Gate:
    if value is None or threshold is None:
        return Gate(name, False, f"cannot be measured on this holdout ({source})")
    number = float(value)
    passed = number >= threshold
    verb = "reaches" if passed else "is below"
    return Gate(name, passed, f"{number:.4f} {verb} {threshold:.4f} ({source})", number, threshold)


def _at_most(name: str, value: Any, threshold: float | None, source: str) -> Gate:
    if value is None or threshold is None:
        return Gate(name, False, f"cannot be measured on this holdout ({source})")
    number = float(value)
    passed = number <= threshold
    verb = "is at most" if passed else "exceeds"
    detail = f"{_figure(number)} {verb} {_figure(threshold)} ({source})"
    return Gate(name, passed, detail, number, threshold)


def _figure(value: Any) -> str:
    """An error in the target's units, to about four significant digits: 0.1234, 41.20,
    43,213."""
    if value is None:
        return "None"
    number = float(value)
    whole = abs(number) >= 1 and np.isfinite(number)
    digits = int(np.floor(np.log10(abs(number)))) + 1 if whole else 0
    return f"{number:,.{max(0, 4 - digits)}f}"


def register_challenger(
    ctx: RetrainContext, result: TrainingResult, changes: list[SchemaChange]
) -> int:
    """Register the candidate as a new version (the challenger alias moves to it with its A/B
    test, or at once when ``retraining.start_ab_test`` is off)."""
    champion = _champion(ctx)
    described = json.dumps([c.to_dict() for c in changes], separators=(",", ":"), default=str)
    tags = {
        "retrain_run": str(ctx.run_id),
        "parent_version": str(champion.version),
        "schema_changes": described if len(described) <= _TAG_LIMIT else described[:_TAG_LIMIT],
        "schema_changed": str(bool(changes)).lower(),
    }
    # Registered without an alias: the challenger alias moves only when the A/B test starts, so
    # a test started meanwhile keeps its challenger, and a failure here changes no alias.
    # The candidate's holdout attributions: the reference of its explanation drift.
    result = with_explanations(result, seed=ctx.settings.training.seed)
    info = ctx.registry.register(
        result, alias=None, trigger=ctx.trigger, extra_tags=tags, progress=ctx.progress
    )
    if not ctx.settings.retraining.start_ab_test:
        ctx.registry.set_challenger(info.version)
    return info.version


def start_ab_test(ctx: RetrainContext, version: int) -> dict[str, Any]:
    """Start the champion/challenger test of ``version``.

    Raises
    ------
    ConflictError
        A test started meanwhile (by hand); the version stays registered as challenger.
    """
    test = ABTestManager(ctx.settings, ctx.engine, ctx.registry, ctx.clock).start(
        version, retrain_run_id=ctx.run_id, actor=f"retraining run {ctx.run_id}"
    )
    ctx.progress(
        f"A/B test {test['id']} started: version {version} against {test['champion_version']} "
        f"({test['mode']}, on {test['metric']})"
    )
    return test
