"""The feature schema: which columns a model reads, of which kind, in which ranges.

A :class:`FeatureSchema` travels with every model version. It is inferred from a training
frame (:func:`driftwarden.schema.infer_schema`), can be overridden in the ``[schema]`` table of
``driftwarden.toml``, validates and coerces incoming frames, and builds the API's request model
(:func:`driftwarden.schema.build_request_model`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from driftwarden.core.errors import ConfigError, NotFoundError, SchemaMismatchError
from driftwarden.schema._coerce import category_labels, numeric_values
from driftwarden.schema._messages import config_error, did_you_mean, show

__all__ = ["FeatureKind", "FeatureSchema", "FeatureSpec", "Label", "Task", "UnlistedColumns"]

FeatureKind = Literal["numeric", "categorical"]
Task = Literal["binary_classification", "regression"]
UnlistedColumns = Literal["ignore", "infer"]
"""What a ``[schema]`` table does with the columns of a frame that its ``features`` do not list
(the target, entity id, time column and ``exclude`` aside), set by its ``unlisted_columns`` key.

* ``"ignore"``: the listed features are the model's inputs; other columns are left out. This is
  what :meth:`FeatureSchema.to_toml_dict`, and so ``driftwarden init``, writes: the file is the
  contract, and a column that later appears in the data does not silently become a feature.
* ``"infer"``: every other column becomes a feature too, inferred from the data, and the table
  only overrides inference. The default, for a hand-written table that names a few columns.
"""
# bool before int: smart-mode unions keep each type exactly, so JSON and TOML round trips hold.
Label = str | bool | int


class FeatureSpec(BaseModel):
    """One feature column.

    Parameters
    ----------
    name : str
        The column name.
    kind : {"numeric", "categorical"}
        How the statistics and the model treat the column.
    dtype : str or None
        The pandas dtype the column had when the schema was inferred (informational).
    nullable : bool
        Whether missing values were observed, so the request model accepts ``null``. Training
        data of a feature that is not nullable must have no missing values.
    min, max : float or None
        Observed range of a numeric feature (finite values only). Values outside it are
        accepted at prediction time: they are drift, not errors. Training data must lie inside
        it, since the range describes the training data.
    categories : list of str
        Observed categories of a categorical feature, sorted. Unseen values are accepted at
        prediction time and reported as drift; training data must hold only these.

    Examples
    --------
    >>> spec = FeatureSpec(name="Contract", kind="categorical", categories=["Two year", "One year"])
    >>> spec.categories
    ['One year', 'Two year']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: FeatureKind
    dtype: str | None = None
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind == "numeric":
            if self.categories:
                raise ValueError(
                    f"numeric feature {self.name!r} cannot have categories; remove them or "
                    "declare kind = 'categorical'"
                )
            for bound in (self.min, self.max):
                if bound is not None and not math.isfinite(bound):
                    raise ValueError(f"the range of {self.name!r} must be finite, got {bound}")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(
                    f"min ({self.min}) of {self.name!r} exceeds its max ({self.max}); swap them"
                )
            return self
        if self.min is not None or self.max is not None:
            raise ValueError(
                f"categorical feature {self.name!r} cannot have min/max; remove them or declare "
                "kind = 'numeric'"
            )
        return self

    @field_validator("categories")
    @classmethod
    def _sorted_unique(cls, categories: list[str]) -> list[str]:
        repeated = sorted(c for c, n in Counter(categories).items() if n > 1)
        if repeated:
            raise ValueError(f"categories repeat {show(repeated)}; list each value once")
        # Sorted storage makes two schemas with the same categories compare equal.
        return sorted(categories)

    def to_toml_dict(self) -> dict[str, Any]:
        """Return this feature as a ``[schema.features.<name>]`` table (no ``None``: TOML
        has no null)."""
        table: dict[str, Any] = {"kind": self.kind}
        if self.dtype is not None:
            table["dtype"] = self.dtype
        table["nullable"] = self.nullable
        if self.kind == "numeric":
            if self.min is not None:
                table["min"] = self.min
            if self.max is not None:
                table["max"] = self.max
        else:
            table["categories"] = list(self.categories)
        return table


class FeatureSchema(BaseModel):
    """The columns a model reads and the roles of the other columns.

    Parameters
    ----------
    features : list of FeatureSpec
        The model inputs, in model order. At least one; names unique.
    target : str or None
        The label column, absent at prediction time.
    entity_id : str or None
        A column identifying the entity (a customer) so labels can be joined to predictions.
    time_column : str or None
        A column holding the event time.
    task : {"binary_classification", "regression"}
        The learning task: a probability of the positive class, or a number.
    positive_label : str, bool, int or None
        The target value that counts as the positive class (binary classification only).

    Examples
    --------
    >>> schema = FeatureSchema(
    ...     features=[
    ...         FeatureSpec(name="tenure", kind="numeric", min=0, max=72),
    ...         FeatureSpec(name="Contract", kind="categorical", categories=["One year"]),
    ...     ],
    ...     target="Churn",
    ...     positive_label="Yes",
    ... )
    >>> schema.kinds()
    {'tenure': 'numeric', 'Contract': 'categorical'}
    >>> FeatureSchema.from_json(schema.to_json()) == schema
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[FeatureSpec] = Field(min_length=1)
    target: str | None = None
    entity_id: str | None = None
    time_column: str | None = None
    task: Task = "binary_classification"
    positive_label: Label | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [f.name for f in self.features]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"feature {name!r} is listed twice; keep one entry")
            seen.add(name)
        roles = {
            "target": self.target,
            "entity_id": self.entity_id,
            "time_column": self.time_column,
        }
        for role, column in roles.items():
            if column is not None and column in seen:
                raise ValueError(
                    f"{column!r} is the {role} and cannot also be a feature; drop one of the two"
                )
        assigned = [c for c in roles.values() if c is not None]
        if len(set(assigned)) != len(assigned):
            raise ValueError(
                f"target, entity_id and time_column must be different columns, got {roles}"
            )
        if self.positive_label is not None and self.target is None:
            raise ValueError("positive_label is set but target is not; set the target column")
        if self.positive_label is not None and self.task == "regression":
            raise ValueError(
                "positive_label is set but the task is regression, which has no classes; "
                "remove positive_label or set task = 'binary_classification'"
            )
        return self

    @property
    def is_regression(self) -> bool:
        """Whether the model predicts a number rather than a class probability."""
        return self.task == "regression"

    @property
    def feature_names(self) -> list[str]:
        """Feature column names, in model order."""
        return [f.name for f in self.features]

    @property
    def numeric_features(self) -> list[str]:
        """Names of the numeric features, in model order."""
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        """Names of the categorical features, in model order."""
        return [f.name for f in self.features if f.kind == "categorical"]

    def kinds(self) -> dict[str, FeatureKind]:
        """Return ``{name: kind}`` in model order: what the statistics engine takes."""
        return {f.name: f.kind for f in self.features}

    def get(self, name: str) -> FeatureSpec:
        """Return the feature called ``name``.

        Raises
        ------
        NotFoundError
            If there is no such feature; the message suggests close names.
        """
        for feature in self.features:
            if feature.name == name:
                return feature
        raise NotFoundError(
            f"no feature named {name!r} in the schema (features: {show(self.feature_names)})"
            + did_you_mean(name, self.feature_names)
        )

    # -- serialisation -------------------------------------------------------------------

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return the schema as JSON; :meth:`from_json` reads it back unchanged."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> FeatureSchema:
        """Read a schema written by :meth:`to_json`.

        Raises
        ------
        ConfigError
            If the text is not valid JSON or not a valid schema.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise config_error(exc, "feature schema JSON") from exc

    def to_toml_dict(self) -> dict[str, Any]:
        """Return the schema as the ``[schema]`` table of ``driftwarden.toml``.

        Features become sub-tables keyed by name (``[schema.features.tenure]``), in model
        order; unset values are left out because TOML has no null. The table lists every
        feature, and says so with ``unlisted_columns = "ignore"``: read back against a frame
        with more columns, it keeps its features and ignores the rest (see
        :data:`UnlistedColumns`).
        """
        table: dict[str, Any] = {}
        for key in ("target", "entity_id", "time_column", "positive_label"):
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        table["task"] = self.task
        table["unlisted_columns"] = "ignore"
        table["features"] = {f.name: f.to_toml_dict() for f in self.features}
        return table

    @classmethod
    def from_toml_dict(cls, table: Mapping[str, Any]) -> FeatureSchema:
        """Read a complete schema from a ``[schema]`` table (as :meth:`to_toml_dict` writes).

        ``exclude`` is rejected here: it only means something against a frame, as an override
        given to :func:`driftwarden.schema.infer_schema`.

        Raises
        ------
        ConfigError
            If the table is not a valid schema; the message names the offending key, such as
            ``schema.features.tenure.kind``.
        """
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"the [schema] table must be a table, got {type(table).__name__}", key="schema"
            )
        data = dict(table)
        # A complete schema lists its features, so the only meaning this key can have here is
        # the one to_toml_dict writes.
        unlisted = data.pop("unlisted_columns", "ignore")
        if unlisted != "ignore":
            raise ConfigError(
                f"schema.unlisted_columns is {unlisted!r}, but a complete schema lists every "
                "feature: only 'ignore' fits it. Use 'infer' only for a [schema] table that "
                "overrides a schema inferred from data",
                key="schema.unlisted_columns",
            )
        features = data.get("features", {})
        if not isinstance(features, Mapping):
            raise ConfigError(
                "schema.features must be a table of [schema.features.<column>] tables, got "
                f"{type(features).__name__}",
                key="schema.features",
            )
        names = list(features)
        entries = []
        for name, entry in features.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(
                    f"schema.features.{name} must be a table such as {{kind = 'numeric'}}, "
                    f"got {entry!r}",
                    key=f"schema.features.{name}",
                )
            if entry.get("name", name) != name:
                raise ConfigError(
                    f"schema.features.{name}.name is {entry['name']!r}, but the table is for "
                    f"{name!r}; drop the name key",
                    key=f"schema.features.{name}.name",
                )
            entries.append({**entry, "name": name})
        data["features"] = entries
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise config_error(exc, "the [schema] table", names=names) from exc

    # -- frames --------------------------------------------------------------------------

    def validate_frame(self, df: pd.DataFrame) -> None:
        """Check that a frame has exactly the schema's columns, with usable values.

        Feature columns must all be present. Other columns are allowed only if they are the
        target, the entity id or the time column. Numeric features must hold numbers, possibly
        as text; categorical features may hold anything (an unseen category is drift, not an
        error). Missing values are not checked: they are a data-quality signal the monitor
        measures.

        Raises
        ------
        SchemaMismatchError
            Naming the first missing, unexpected or ill-typed column in ``column``.
        """
        self._numeric_columns(df)

    def coerce_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Validate ``df`` and return it in the form the model and statistics expect.

        Feature columns come first, in model order: numeric ones as ``float64`` (text parsed,
        blanks as NaN), categorical ones as ``object`` labels (``1`` and ``1.0`` both ``"1"``,
        missing as NaN). The target, entity id and time columns follow unchanged. The index is
        kept.

        Raises
        ------
        SchemaMismatchError
            As :meth:`validate_frame`.
        """
        numeric = self._numeric_columns(df)
        columns: dict[str, pd.Series[Any]] = {}
        for feature in self.features:
            if feature.kind == "numeric":
                columns[feature.name] = pd.Series(numeric[feature.name], index=df.index)
            else:
                # object, not pandas 3's inferred "str": the same frame under pandas 2 and 3.
                labels = category_labels(df[feature.name])
                columns[feature.name] = pd.Series(labels, index=df.index, dtype=object)
        out = pd.DataFrame(columns, index=df.index)
        for role in (self.target, self.entity_id, self.time_column):
            if role is not None and role in df.columns:
                # .array keeps the dtype and skips index alignment (the index may repeat).
                out[role] = df[role].array
        return out

    def _numeric_columns(self, df: pd.DataFrame) -> dict[str, NDArray[np.float64]]:
        """Check the columns of ``df`` and return the parsed numeric features."""
        columns = [str(c) for c in df.columns]
        duplicated = sorted(c for c, n in Counter(columns).items() if n > 1)
        if duplicated:
            raise SchemaMismatchError(
                f"the frame has duplicate columns {show(duplicated)}; rename or drop them",
                column=duplicated[0],
            )
        present = set(columns)
        features = set(self.feature_names)
        roles = {c for c in (self.target, self.entity_id, self.time_column) if c is not None}
        missing = [n for n in self.feature_names if n not in present]
        extra = [c for c in columns if c not in features and c not in roles]
        detail = ""
        if missing:
            detail += f" missing: {show(missing)}."
        if extra:
            detail += f" unexpected: {show(extra)}."
        if missing:
            raise SchemaMismatchError(
                f"column {missing[0]!r} of the feature schema is not in the frame.{detail} "
                "Send every feature column, spelled as in the schema.",
                column=missing[0],
            )
        if extra:
            raise SchemaMismatchError(
                f"column {extra[0]!r} is not in the feature schema.{detail} Drop it, or infer "
                "a new schema that includes it.",
                column=extra[0],
            )
        parsed = {}
        for name in self.numeric_features:
            values, bad = numeric_values(df[name])
            if bad.any():
                examples = [str(v) for v in pd.unique(df[name][bad])]
                raise SchemaMismatchError(
                    f"numeric column {name!r} holds non-numeric values such as "
                    f"{show(examples)}; send numbers (or blanks for missing values)",
                    column=name,
                )
            parsed[name] = values
        return parsed
