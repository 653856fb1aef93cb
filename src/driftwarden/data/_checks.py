"""Argument checks shared by the modules of :mod:`driftwarden.data`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from driftwarden.core.errors import ConfigError, SchemaMismatchError

__all__ = ["check_frame", "check_rng", "check_seed", "is_numeric", "require_columns"]


def check_frame(df: object, name: str = "df", *, allow_empty: bool = False) -> pd.DataFrame:
    """Return ``df`` if it is a frame with unique string column names (and rows, unless allowed).

    Raises
    ------
    SchemaMismatchError
        Naming what is wrong with the frame.
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaMismatchError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0 and not allow_empty:
        raise SchemaMismatchError(f"{name} has no rows; fit on a frame with at least one row")
    columns = list(df.columns)
    if not all(isinstance(c, str) for c in columns):
        raise SchemaMismatchError(f"column names must be strings, got {columns!r}")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise SchemaMismatchError(
            f"column names must be unique; {duplicated!r} appear more than once",
            column=duplicated[0],
        )
    return df


def require_columns(df: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    """Raise :class:`SchemaMismatchError` naming the first of ``columns`` missing from ``df``."""
    for column in columns:
        if column not in df.columns:
            raise SchemaMismatchError(
                f"the {role} column {column!r} is not in the frame (columns: "
                f"{', '.join(map(repr, df.columns))})",
                column=column,
            )


def is_numeric(series: pd.Series[Any]) -> bool:
    """Whether a column holds numbers (bool columns are flags, not numbers)."""
    return bool(
        pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series)
    )


def check_rng(rng: object) -> np.random.Generator:
    """Return ``rng`` if it is a :class:`numpy.random.Generator`, else raise ConfigError."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
            "use numpy.random.default_rng(seed)"
        )
    return rng


def check_seed(seed: object, name: str = "seed") -> int | None:
    """Return a seed as ``int`` (or None), else raise ConfigError."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"{name} must be a non-negative integer or None, got {seed!r}")
    return int(seed)
