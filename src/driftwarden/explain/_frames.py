"""Checking, sampling and coercing the frames the explain layer reads.

Every entry point samples first and coerces the sample only, so that its cost is bounded by the
sample size it states, not by the size of the window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.schema import FeatureSchema

__all__ = ["check_frame", "check_positive", "sample_features"]


def check_positive(name: str, value: int, minimum: int = 1) -> None:
    """Raise :class:`ConfigError` unless ``value`` is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}", key=name)


def check_frame(frame: object, schema: FeatureSchema, name: str, *, min_rows: int = 1) -> None:
    """Raise unless ``frame`` is a DataFrame with every feature column and ``min_rows`` rows.

    Raises
    ------
    DataError
        Not a DataFrame, or fewer than ``min_rows`` rows.
    SchemaMismatchError
        A feature column of the schema is missing (``column`` names the first).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"the {name} must be a pandas DataFrame with the schema's feature columns, got "
            f"{type(frame).__name__}"
        )
    present = {str(c) for c in frame.columns}
    missing = [f for f in schema.feature_names if f not in present]
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise SchemaMismatchError(
            f"the {name} lacks {len(missing)} feature column(s) of the schema: {shown}; pass "
            "every feature, spelled as in the schema",
            column=missing[0],
        )
    if len(frame) < min_rows:
        raise DataError(
            f"the {name} has {len(frame):,} rows; at least {min_rows:,} are needed. Use a "
            "longer window, or lower the minimum in the parameters"
        )


def sample_features(
    frame: pd.DataFrame, schema: FeatureSchema, size: int, rng: np.random.Generator
) -> pd.DataFrame:
    """At most ``size`` rows drawn without replacement (in frame order), coerced by the schema.

    The features only, numeric as float64 and categorical as text labels
    (:meth:`FeatureSchema.coerce_frame`), with a fresh index.
    """
    if len(frame) > size:
        rows = np.sort(rng.choice(len(frame), size=size, replace=False))
        frame = frame.iloc[rows]
    features = frame[schema.feature_names].reset_index(drop=True)
    return schema.coerce_frame(features)
