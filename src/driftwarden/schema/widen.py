"""Widen a feature schema to cover new data, recording every change for the audit trail.

A model version's :class:`~driftwarden.schema.FeatureSchema` is its contract, and training
refuses data outside it (a category not listed, a value outside ``min``/``max``, a missing value
in a feature that is not nullable). Retraining on production data must therefore decide the new
version's schema explicitly: :func:`widen_schema` extends the old contract just enough to cover
what production sent and returns each extension as a :class:`SchemaChange`, so that the audit
trail shows what the new contract accepts that the old one refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema._messages import show
from driftwarden.schema.features import FeatureSchema, FeatureSpec

__all__ = ["SchemaChange", "SchemaChangeKind", "widen_schema"]

SchemaChangeKind = Literal["new_categories", "min_lowered", "max_raised", "now_nullable"]
"""What a :class:`SchemaChange` widened: categories added, ``min`` lowered, ``max`` raised, or
``nullable`` turned on."""


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One widening of one feature's declaration.

    Parameters
    ----------
    feature : str
        The feature's name.
    kind : {"new_categories", "min_lowered", "max_raised", "now_nullable"}
        What was widened.
    before : list of str, float or bool
        The old declaration: the old categories, the old ``min`` or ``max``, or ``False``.
    after : list of str, float or bool
        What the data required: the added categories (sorted), the new ``min`` or ``max``, or
        ``True``.
    n_rows : int
        How many rows of the data needed this change: rows with an unlisted category, below the
        old ``min``, above the old ``max``, or missing a value.

    Examples
    --------
    >>> change = SchemaChange("Contract", "new_categories", ["One year"], ["Fiber 2", "Sat"], 41)
    >>> change.describe()
    "Contract: 2 new categories 'Fiber 2', 'Sat' (41 rows)"
    >>> change.to_dict()["after"]
    ['Fiber 2', 'Sat']
    """

    feature: str
    kind: SchemaChangeKind
    before: Any
    after: Any
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        """Return the change as a JSON-safe dict with the keys of the fields."""
        return {
            "feature": self.feature,
            "kind": self.kind,
            "before": list(self.before) if isinstance(self.before, list) else self.before,
            "after": list(self.after) if isinstance(self.after, list) else self.after,
            "n_rows": self.n_rows,
        }

    def describe(self) -> str:
        """Return the change as one line for a person, e.g. ``"tenure: max raised from 72 to
        80 (3 rows)"``."""
        rows = _count(self.n_rows, "row")
        if self.kind == "new_categories":
            added = _count(len(self.after), "new category", "new categories")
            return f"{self.feature}: {added} {show(self.after)} ({rows})"
        if self.kind in ("min_lowered", "max_raised"):
            bound, verb = self.kind.split("_")
            return (
                f"{self.feature}: {bound} {verb} from {self.before:.10g} to {self.after:.10g} "
                f"({rows})"
            )
        return f"{self.feature}: now nullable ({rows} missing a value)"


def widen_schema(
    schema: FeatureSchema, frame: pd.DataFrame
) -> tuple[FeatureSchema, list[SchemaChange]]:
    """Widen ``schema`` just enough that ``frame`` satisfies it, and list what changed.

    Values are read as :meth:`FeatureSchema.coerce_frame` reads them, so the text ``"1"`` and
    the number ``1`` are the same category and numbers logged as text are numbers. Per feature:

    * categorical, with categories declared: values not listed become new categories. An empty
      list declares nothing and stays empty, as training reads it.
    * numeric: ``min`` is lowered to the lowest finite value below it and ``max`` raised to the
      highest finite value above it. A bound that is not declared (``None``) stays undeclared,
      and infinities are no evidence of a range.
    * ``nullable`` becomes ``True`` when a feature that is not nullable has missing values.

    Names, kinds, dtypes, order of features, target, entity id, time column, task and positive
    label are kept.

    Parameters
    ----------
    schema : FeatureSchema
        The current contract.
    frame : DataFrame
        The new data, as production logged it. It must hold every feature column; other
        columns are ignored.

    Returns
    -------
    schema : FeatureSchema
        The widened schema; ``schema`` itself when nothing needed widening.
    changes : list of SchemaChange
        One entry per widened declaration, in feature order and, within a feature, in the order
        new categories, ``min``, ``max``, ``nullable``. Empty when nothing changed.

    Raises
    ------
    SchemaMismatchError
        If a feature column is not in the frame, the frame has duplicate feature columns, or a
        numeric feature holds text that is not a number (no widening makes it a number).

    Notes
    -----
    Categories are stored sorted by :class:`FeatureSpec`, so the added categories take their
    sorted place among the old ones in the new schema; ``after`` lists them alone, sorted.
    Work is per column and vectorised: Python-level work grows with the number of distinct
    values, never with the number of rows.

    Examples
    --------
    >>> schema = FeatureSchema(features=[
    ...     FeatureSpec(name="tenure", kind="numeric", min=0, max=72),
    ...     FeatureSpec(name="Contract", kind="categorical", categories=["One year"]),
    ... ])
    >>> frame = pd.DataFrame({"tenure": [3, 80, None], "Contract": ["One year", "Sat", "Sat"]})
    >>> wider, changes = widen_schema(schema, frame)
    >>> for change in changes:
    ...     print(change.describe())
    tenure: max raised from 72 to 80 (1 row)
    tenure: now nullable (1 row missing a value)
    Contract: 1 new category 'Sat' (2 rows)
    >>> wider.get("Contract").categories
    ['One year', 'Sat']
    >>> widen_schema(wider, frame) == (wider, [])
    True
    """
    names = schema.feature_names
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise SchemaMismatchError(
            f"column {missing[0]!r} of the feature schema is not in the frame (missing: "
            f"{show(missing)}); the schema can only be widened from data that holds every "
            "feature column, spelled as in the schema",
            column=missing[0],
        )
    data = schema.coerce_frame(frame[names])

    specs: list[FeatureSpec] = []
    changes: list[SchemaChange] = []
    for spec in schema.features:
        values = data[spec.name]
        if spec.kind == "categorical":
            found, update = _widen_categories(spec, values)
        else:
            found, update = _widen_range(spec, values.to_numpy(dtype=np.float64))
        n_missing = int(values.isna().sum())
        if n_missing and not spec.nullable:
            found.append(SchemaChange(spec.name, "now_nullable", False, True, n_missing))
            update["nullable"] = True
        if update:
            # Validated, not model_copy: FeatureSpec sorts the categories and checks the range.
            spec = FeatureSpec.model_validate({**spec.model_dump(), **update})
        specs.append(spec)
        changes.extend(found)
    if not changes:
        return schema, []
    widened = FeatureSchema.model_validate({**schema.model_dump(), "features": specs})
    return widened, changes


def _widen_categories(
    spec: FeatureSpec, values: pd.Series[Any]
) -> tuple[list[SchemaChange], dict[str, Any]]:
    if not spec.categories:
        return [], {}
    # Coerced labels are str or NaN; factorize drops NaN (code -1), so counts cover labels only.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    declared = set(spec.categories)
    unlisted = {str(u): int(n) for u, n in zip(uniques, counts, strict=True) if u not in declared}
    if not unlisted:
        return [], {}
    added = sorted(unlisted)
    change = SchemaChange(
        spec.name, "new_categories", list(spec.categories), added, sum(unlisted.values())
    )
    return [change], {"categories": [*spec.categories, *added]}


def _widen_range(
    spec: FeatureSpec, numbers: np.ndarray[Any, np.dtype[np.float64]]
) -> tuple[list[SchemaChange], dict[str, Any]]:
    finite = numbers[np.isfinite(numbers)]
    changes: list[SchemaChange] = []
    update: dict[str, Any] = {}
    if spec.min is not None:
        below = finite < spec.min
        if below.any():
            low = float(finite[below].min())
            changes.append(SchemaChange(spec.name, "min_lowered", spec.min, low, int(below.sum())))
            update["min"] = low
    if spec.max is not None:
        above = finite > spec.max
        if above.any():
            high = float(finite[above].max())
            changes.append(SchemaChange(spec.name, "max_raised", spec.max, high, int(above.sum())))
            update["max"] = high
    return changes, update


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
