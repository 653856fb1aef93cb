"""Infer a :class:`FeatureSchema` from a training frame, then apply the user's overrides."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast, get_args

import numpy as np
import pandas as pd
from pydantic import ValidationError

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.schema._coerce import category_labels, missing_mask, numeric_values
from driftwarden.schema._messages import config_error, did_you_mean, show
from driftwarden.schema.features import (
    FeatureKind,
    FeatureSchema,
    FeatureSpec,
    Label,
    Task,
    UnlistedColumns,
)
from driftwarden.schema.times import parse_times

__all__ = ["DEFAULT_CATEGORICAL_MAX_LEVELS", "DISTINCT_REGRESSION_VALUES", "infer_schema"]

DEFAULT_CATEGORICAL_MAX_LEVELS = 2
"""Integer-valued numeric columns with at most this many distinct values are categorical.

Two catches 0/1 flags (Telco's ``SeniorCitizen``) while counts such as a number of children
stay numeric, where drift in their mean is meaningful. Raise it per dataset, or declare single
columns in the overrides.
"""

DISTINCT_REGRESSION_VALUES = 10
"""A numeric target with at least this many distinct values is read as a regression target.

Fewer values are classes, or a column chosen by mistake: ``schema.task = "regression"`` on such
a target is refused with a message saying so.
"""

_OVERRIDE_KEYS = (
    "entity_id",
    "exclude",
    "features",
    "positive_label",
    "target",
    "task",
    "time_column",
    "unlisted_columns",
)
_FEATURE_KEYS = ("categories", "dtype", "kind", "max", "min", "name", "nullable")
_KINDS = ("numeric", "categorical")
_TASKS: tuple[str, ...] = get_args(Task)
_UNLISTED: tuple[str, ...] = get_args(UnlistedColumns)
# Target values read as the positive class when no positive_label is given.
_POSITIVE_WORDS = frozenset({"true", "yes", "y", "positive", "pos"})


@dataclass(frozen=True, slots=True)
class _Overrides:
    """The ``[schema]`` table, checked against the frame."""

    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    target: str | None = None
    entity_id: str | None = None
    time_column: str | None = None
    task: Task | None = None
    positive_label: Label | None = None
    unlisted_columns: UnlistedColumns = "infer"


# How a frame's role columns are named on the command line and in driftwarden.toml.
_ROLE_FIXES = {
    "target": "pass --target COLUMN, or set schema.target in driftwarden.toml",
    "entity_id": "pass --id COLUMN, or set schema.entity_id in driftwarden.toml",
    "time_column": "pass --time COLUMN, or set schema.time_column in driftwarden.toml",
}


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    entity_id: str | None = None,
    time_column: str | None = None,
    categorical_max_levels: int = DEFAULT_CATEGORICAL_MAX_LEVELS,
    overrides: Mapping[str, Any] | None = None,
) -> FeatureSchema:
    """Infer the feature schema of a training frame.

    Every column except the target, entity id, time column and excluded columns becomes a
    feature, in frame order, unless the overrides say ``unlisted_columns = "ignore"``: then the
    features are exactly those listed in ``overrides["features"]``, in that order, and other
    columns are left out. Each feature's kind and values are inferred so:

    * ``bool``, ``category`` and text columns are categorical, with their observed values
      (as strings, sorted) as categories;
    * text columns whose every non-blank value parses as a number are numeric (Telco's
      ``TotalCharges``, numbers stored as text with ``" "`` for missing values);
    * numeric columns whose values are all integers with at most ``categorical_max_levels``
      distinct values are categorical (0/1 flags such as ``SeniorCitizen``);
    * other numeric columns are numeric, with their observed finite min and max.

    ``nullable`` records whether missing values (NaN, None, blank strings) were seen.

    Parameters
    ----------
    df : DataFrame
        The training data, with at least one row.
    target, entity_id, time_column : str or None, optional
        Columns with those roles; they are not features. Each beats the same key of
        ``overrides``, as a command-line flag beats a configuration file.
    categorical_max_levels : int, optional
        See :data:`DEFAULT_CATEGORICAL_MAX_LEVELS`; ``0`` keeps every numeric column numeric.
    overrides : Mapping or None, optional
        The ``[schema]`` table of ``driftwarden.toml``. Keys: ``target``, ``entity_id``,
        ``time_column``, ``task``, ``positive_label``, ``exclude`` (columns to ignore),
        ``unlisted_columns`` (``"infer"``, the default, or ``"ignore"``; see
        :data:`~driftwarden.schema.UnlistedColumns`) and ``features``, a table of per-column
        entries (``kind``, ``dtype``, ``nullable``, ``min``, ``max``, ``categories``) that win
        over inference. Changing ``kind`` recomputes the range or the categories from the data
        first.

    Returns
    -------
    FeatureSchema
        Its ``task``, unless ``overrides`` set one, is ``"regression"`` for a numeric target
        with at least :data:`DISTINCT_REGRESSION_VALUES` distinct values and
        ``"binary_classification"`` otherwise. A binary target gets ``positive_label``
        inferred when not given: a value such as ``"Yes"``, ``True`` or ``1`` if present,
        otherwise the greater of the two values (the scikit-learn convention).

    Raises
    ------
    SchemaMismatchError
        If the frame is empty or has duplicate or non-string column names, a role column is
        not in the frame, no feature is left, a column holds dates or other unsupported
        values, a column forced numeric holds text, the time column holds values that are not
        times, a classification target has more than two classes, or a regression target
        holds text, infinities or fewer than :data:`DISTINCT_REGRESSION_VALUES` distinct values.
    ConfigError
        If ``overrides`` has unknown keys, names unknown columns, gives an invalid kind or
        value, or ``categorical_max_levels`` is not a non-negative integer.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "SeniorCitizen": [0, 1, 0],
    ...     "TotalCharges": ["29.85", " ", "1889.5"],
    ...     "Churn": ["No", "Yes", "No"],
    ... })
    >>> schema = infer_schema(df, target="Churn")
    >>> schema.kinds()
    {'SeniorCitizen': 'categorical', 'TotalCharges': 'numeric'}
    >>> schema.get("TotalCharges").nullable, schema.positive_label
    (True, 'Yes')
    """
    _check_frame(df)
    if (
        isinstance(categorical_max_levels, bool)
        or not isinstance(categorical_max_levels, int | np.integer)
        or categorical_max_levels < 0
    ):
        raise ConfigError(
            "categorical_max_levels must be a non-negative integer, got "
            f"{categorical_max_levels!r}; use 0 to keep every numeric column numeric"
        )
    columns = [str(c) for c in df.columns]
    table = _parse_overrides(overrides, columns)
    roles = {
        "target": target if target is not None else table.target,
        "entity_id": entity_id if entity_id is not None else table.entity_id,
        "time_column": time_column if time_column is not None else table.time_column,
    }
    for role, column in roles.items():
        if column is not None and column not in columns:
            raise SchemaMismatchError(
                f"the {role} column {column!r} is not in the frame (columns: "
                f"{show(columns)}); {_ROLE_FIXES[role]}, naming one of the frame's columns"
                f"{did_you_mean(column, columns)}",
                column=column,
            )
    if roles["time_column"] is not None:
        # Checked now, so that `driftwarden init --time` refuses a column a time-based holdout
        # could not order, instead of `train` failing on it later.
        times = parse_times(df[roles["time_column"]], roles["time_column"])
        if np.isnat(times).all():
            raise SchemaMismatchError(
                f"time column {roles['time_column']!r} has no values: expected event times; "
                "fill it or name another time column",
                column=roles["time_column"],
            )
    role_columns = {c: r for r, c in roles.items() if c is not None}
    for name in table.features:
        if name in role_columns:
            raise ConfigError(
                f"schema.features.{name}: {name!r} is the {role_columns[name]}, not a feature; "
                "remove its entry",
                key=f"schema.features.{name}",
            )
        if name in table.exclude:
            raise ConfigError(
                f"schema.features.{name}: {name!r} is also in schema.exclude; keep one of the two",
                key=f"schema.features.{name}",
            )

    if table.unlisted_columns == "ignore":
        names = list(table.features)
    else:
        names = [c for c in columns if c not in role_columns and c not in table.exclude]
    specs = []
    for name in names:
        spec = _infer_feature(name, df[name], categorical_max_levels)
        if name in table.features:
            spec = _apply_override(spec, df[name], table.features[name])
        specs.append(spec)
    if not specs and table.unlisted_columns == "ignore":
        raise SchemaMismatchError(
            "schema.unlisted_columns = 'ignore' keeps only the columns listed in "
            "[schema.features], and none is listed; list the features (driftwarden init "
            "writes them all) or set unlisted_columns = 'infer'"
        )
    if not specs:
        raise SchemaMismatchError(
            "no feature column is left once the target, entity id, time column and excluded "
            f"columns are set aside (columns: {show(columns)}); a model needs at "
            "least one feature"
        )

    target_column = roles["target"]
    positive_label = table.positive_label
    task: Task = table.task or "binary_classification"
    if target_column is not None:
        task = table.task or _infer_task(df[target_column])
        if task == "regression":
            _check_regression_target(df[target_column], target_column, positive_label)
        else:
            positive_label = _positive_label(df[target_column], target_column, positive_label)
    try:
        return FeatureSchema(
            features=specs,
            target=target_column,
            entity_id=roles["entity_id"],
            time_column=roles["time_column"],
            task=task,
            positive_label=positive_label,
        )
    except ValidationError as exc:
        raise config_error(exc, "schema overrides", names=[s.name for s in specs]) from exc


def _check_frame(df: pd.DataFrame) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaMismatchError(
            f"infer_schema needs a pandas DataFrame, got {type(df).__name__}; wrap the data in "
            "pd.DataFrame(...)"
        )
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise SchemaMismatchError(
            f"cannot infer a schema from an empty frame ({df.shape[0]} rows, {df.shape[1]} "
            "columns); pass the training data"
        )
    not_text = [c for c in df.columns if not isinstance(c, str)]
    if not_text:
        raise SchemaMismatchError(
            f"column names must be strings, got {not_text[0]!r}; rename the columns, e.g. "
            "df.columns = df.columns.astype(str)",
            column=str(not_text[0]),
        )
    repeated = sorted(set(df.columns[df.columns.duplicated()]))
    if repeated:
        raise SchemaMismatchError(
            f"the frame has duplicate columns {show(repeated)}; rename or drop them",
            column=repeated[0],
        )


def _parse_overrides(overrides: Mapping[str, Any] | None, columns: list[str]) -> _Overrides:
    """Check the ``[schema]`` table against the frame's columns."""
    if overrides is None:
        return _Overrides()
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"schema overrides must be a table (mapping), got {type(overrides).__name__}",
            key="schema",
        )
    unknown = [k for k in overrides if k not in _OVERRIDE_KEYS]
    if unknown:
        raise ConfigError(
            f"schema.{unknown[0]}: unknown key; the [schema] table takes "
            f"{', '.join(_OVERRIDE_KEYS)}{did_you_mean(str(unknown[0]), list(_OVERRIDE_KEYS))}",
            key=f"schema.{unknown[0]}",
        )
    for key in ("target", "entity_id", "time_column", "task"):
        value = overrides.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"schema.{key} must be a column name (a string), got {value!r}", key=f"schema.{key}"
            )
    task = overrides.get("task")
    if task is not None and task not in _TASKS:
        raise ConfigError(
            f"schema.task: {task!r} is not supported; the tasks are {', '.join(_TASKS)}",
            key="schema.task",
        )
    positive_label = overrides.get("positive_label")
    if positive_label is not None and not isinstance(positive_label, str | bool | int):
        raise ConfigError(
            f"schema.positive_label must be a string, boolean or integer, got {positive_label!r}",
            key="schema.positive_label",
        )
    unlisted = overrides.get("unlisted_columns", "infer")
    if unlisted not in _UNLISTED:
        raise ConfigError(
            f"schema.unlisted_columns must be {' or '.join(map(repr, _UNLISTED))}, got "
            f"{unlisted!r}: 'ignore' keeps only the features listed in [schema.features], "
            "'infer' makes every other column a feature too",
            key="schema.unlisted_columns",
        )
    exclude = overrides.get("exclude", [])
    if isinstance(exclude, str) or not isinstance(exclude, list | tuple):
        raise ConfigError(
            f"schema.exclude must be a list of column names, got {exclude!r}", key="schema.exclude"
        )
    for name in exclude:
        _require_column(name, columns, "schema.exclude")
    features = overrides.get("features", {})
    if not isinstance(features, Mapping):
        raise ConfigError(
            "schema.features must be a table of [schema.features.<column>] tables, got "
            f"{features!r}",
            key="schema.features",
        )
    parsed: dict[str, dict[str, Any]] = {}
    for name, entry in features.items():
        key = f"schema.features.{name}"
        _require_column(name, columns, "schema.features")
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"{key} must be a table such as {{kind = 'categorical'}}, got {entry!r}", key=key
            )
        for field_name in entry:
            if field_name not in _FEATURE_KEYS:
                raise ConfigError(
                    f"{key}.{field_name}: unknown key; a feature takes "
                    f"{', '.join(k for k in _FEATURE_KEYS if k != 'name')}"
                    f"{did_you_mean(str(field_name), list(_FEATURE_KEYS))}",
                    key=f"{key}.{field_name}",
                )
        if entry.get("name", name) != name:
            raise ConfigError(
                f"{key}.name is {entry['name']!r} but the table is for {name!r}; drop the name key",
                key=f"{key}.name",
            )
        kind = entry.get("kind")
        if kind is not None and kind not in _KINDS:
            raise ConfigError(
                f"{key}.kind: {kind!r} is not a kind; use 'numeric' or 'categorical'",
                key=f"{key}.kind",
            )
        parsed[name] = {k: v for k, v in entry.items() if k != "name"}
    return _Overrides(
        features=parsed,
        exclude=tuple(exclude),
        target=overrides.get("target"),
        entity_id=overrides.get("entity_id"),
        time_column=overrides.get("time_column"),
        task=cast("Task | None", task),
        positive_label=positive_label,
        unlisted_columns=cast("UnlistedColumns", unlisted),
    )


def _require_column(name: object, columns: list[str], where: str) -> None:
    if name not in columns:
        raise ConfigError(
            f"{where} names the column {name!r}, which is not in the frame (columns: "
            f"{show(columns)}); correct the name in driftwarden.toml, or remove the entry if "
            f"the data no longer has that column{did_you_mean(str(name), columns)}",
            key=f"{where}.{name}",
        )


def _unsupported(series: pd.Series[Any]) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or pd.api.types.is_complex_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
    )


def _infer_feature(name: str, series: pd.Series[Any], max_levels: int) -> FeatureSpec:
    if _unsupported(series):
        raise SchemaMismatchError(
            f"column {name!r} holds {series.dtype} values, which are neither numeric nor "
            "categorical; pass it as time_column, list it in schema.exclude, or convert it",
            column=name,
        )
    nullable = bool(missing_mask(series).any())
    dtype = str(series.dtype)
    if pd.api.types.is_bool_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
        return _categorical(name, series, dtype, nullable)
    values, bad = numeric_values(series)
    if not pd.api.types.is_numeric_dtype(series.dtype) and (bad.any() or np.isnan(values).all()):
        # Text that is not all numbers, or text with no value at all to judge by.
        return _categorical(name, series, dtype, nullable)
    finite = values[np.isfinite(values)]
    levels = np.unique(finite)
    if finite.size and np.all(np.mod(levels, 1) == 0) and levels.size <= max_levels:
        return _categorical(name, series, dtype, nullable)
    return _numeric(name, values, dtype, nullable)


def _categorical(name: str, series: pd.Series[Any], dtype: str, nullable: bool) -> FeatureSpec:
    labels = category_labels(series)
    categories = sorted({label for label in labels if isinstance(label, str)})
    return FeatureSpec(
        name=name, kind="categorical", dtype=dtype, nullable=nullable, categories=categories
    )


def _numeric(name: str, values: np.ndarray[Any, Any], dtype: str, nullable: bool) -> FeatureSpec:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
    return FeatureSpec(name=name, kind="numeric", dtype=dtype, nullable=nullable, min=low, max=high)


def _apply_override(
    spec: FeatureSpec, series: pd.Series[Any], entry: dict[str, Any]
) -> FeatureSpec:
    """Apply one ``[schema.features.<name>]`` entry to an inferred spec."""
    kind: FeatureKind = entry.get("kind", spec.kind)
    if kind != spec.kind:
        dtype = spec.dtype or str(series.dtype)
        if kind == "categorical":
            spec = _categorical(spec.name, series, dtype, spec.nullable)
        else:
            values, bad = numeric_values(series)
            if bad.any():
                examples = [str(v) for v in pd.unique(series[bad])]
                raise SchemaMismatchError(
                    f"schema.features.{spec.name} declares kind = 'numeric', but the column "
                    f"holds text such as {show(examples)}; declare it "
                    "categorical or clean the data",
                    column=spec.name,
                )
            spec = _numeric(spec.name, values, dtype, spec.nullable)
    data = spec.model_dump()
    data.update(entry)
    try:
        return FeatureSpec.model_validate(data)
    except ValidationError as exc:
        key = f"schema.features.{spec.name}"
        raise config_error(exc, key, prefix=key) from exc


def _infer_task(series: pd.Series[Any]) -> Task:
    """Regression for a numeric target with many distinct values, else binary classification.

    Two values (or text) read as classes; :func:`_positive_label` refuses more than two, so a
    numeric target with a handful of values gets a message that names both ways out.
    """
    present = series[~missing_mask(series)]
    if pd.api.types.is_bool_dtype(present) or not pd.api.types.is_numeric_dtype(present):
        return "binary_classification"
    if present.nunique() >= DISTINCT_REGRESSION_VALUES:
        return "regression"
    return "binary_classification"


def _check_regression_target(series: pd.Series[Any], column: str, given: Label | None) -> None:
    """A regression target must hold finite numbers with enough distinct values."""
    if given is not None:
        raise SchemaMismatchError(
            f"positive_label {given!r} is set but the target column {column!r} is a regression "
            "target; remove positive_label, or set schema.task = 'binary_classification'",
            column=column,
        )
    present = series[~missing_mask(series)]
    if present.empty:
        raise SchemaMismatchError(
            f"the target column {column!r} has no values; label the training data",
            column=column,
        )
    if pd.api.types.is_bool_dtype(present):
        raise SchemaMismatchError(
            f"the target column {column!r} holds booleans, which regression cannot predict; "
            "set schema.task = 'binary_classification'",
            column=column,
        )
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if len(bad):
        raise SchemaMismatchError(
            f"the target column {column!r} has {len(bad)} non-numeric values "
            f"({show([_native(v) for v in pd.unique(bad)][:5])}); regression needs numbers: "
            "clean or drop those rows, or set schema.task = 'binary_classification' for a "
            "two-class target",
            column=column,
        )
    values = numbers.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise SchemaMismatchError(
            f"the target column {column!r} has infinite values; drop those rows",
            column=column,
        )
    distinct = int(np.unique(values).size)
    if distinct < DISTINCT_REGRESSION_VALUES:
        raise SchemaMismatchError(
            f"the target column {column!r} has only {distinct} distinct values, too few for "
            f"regression (it needs at least {DISTINCT_REGRESSION_VALUES}); for two classes set "
            "schema.task = 'binary_classification', otherwise check that it is the right column",
            column=column,
        )


def _positive_label(series: pd.Series[Any], column: str, given: Label | None) -> Label | None:
    """Check a binary target and choose its positive label."""
    present = series[~missing_mask(series)]
    values = [_native(v) for v in pd.unique(present)]
    if not values:
        raise SchemaMismatchError(
            f"the target column {column!r} has no values; label the training data",
            column=column,
        )
    if len(values) > 2:
        raise SchemaMismatchError(
            f"the target column {column!r} has {len(values)} classes ({show(values)}); "
            "binary_classification needs two: map the labels to two classes (a numeric "
            f"target with at least {DISTINCT_REGRESSION_VALUES} distinct values is a regression "
            "target)",
            column=column,
        )
    if given is not None:
        # TOML may spell 1 where the data holds "1": compare as text too.
        if len(values) == 2 and not any(given == v or str(given) == str(v) for v in values):
            raise SchemaMismatchError(
                f"positive_label {given!r} is not a value of the target column {column!r} "
                f"(values: {values[0]!r}, {values[1]!r}); use one of them",
                column=column,
            )
        return given
    for value in values:
        if value is True or str(value).strip().lower() in _POSITIVE_WORDS:
            return value
    if len(values) == 2:
        # scikit-learn's convention: the greater label is the positive class (1 of 0/1).
        return sorted(values, key=_label_order)[-1]
    return None


def _label_order(value: Label) -> tuple[int, float, str]:
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")


def _native(value: Any) -> Label:
    """A target value as str, bool or int (numpy scalars and integral floats converted)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str | bool | int):
        return value
    return str(value)
