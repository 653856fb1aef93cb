"""Input checks shared by every statistic: one-dimensional arrays, finite values, fitted state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats.errors import NotFittedError, StatsError

__all__ = ["CleanNumeric", "as_1d_array", "as_1d_float", "check_fitted", "clean_numeric"]


def as_1d_array(values: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``values`` as a one-dimensional numpy array, or raise naming ``name``."""
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise StatsError(f"{name}: expected a one-dimensional array, got shape {array.shape}")
    return array


def as_1d_float(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return finite float64 values, raising on NaN or infinity.

    For statistics that have no notion of "missing" (metrics, A/B tests); drift and quality code
    uses :func:`clean_numeric`, which counts missing values instead of refusing them.
    """
    array = as_1d_array(values, name)
    try:
        result = array.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"{name}: expected numbers, got values of dtype {array.dtype}") from exc
    if not np.isfinite(result).all():
        raise StatsError(f"{name}: expected finite numbers, got NaN or infinity")
    return result


@dataclass(frozen=True, slots=True)
class CleanNumeric:
    """A numeric column split into usable values and counts of what was not usable."""

    values: NDArray[np.float64]
    n_rows: int
    n_missing: int
    n_invalid: int


def _parse_number(value: object) -> float | None:
    """Parse one object-dtype cell: a number, a numeric string, or missing (None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return float(text)  # ValueError for text that is not a number
    if type(value).__name__ == "NAType":
        # pandas.NA, the missing value of pandas' nullable dtypes ("string", "Int64"), which
        # this package does not import.
        return None
    raise TypeError(type(value).__name__)


def clean_numeric(values: ArrayLike, name: str) -> CleanNumeric:
    """Split a numeric column into finite values, missing values and invalid values.

    Missing: NaN, ``None``, ``pandas.NA`` and blank strings. Invalid ("type violations"):
    infinities and cells that are not numbers (for example ``"abc"`` in an object column). Numeric
    dtypes take a vectorised path; object columns, which arrive from CSV files and JSON, are parsed
    cell by cell.
    """
    array = as_1d_array(values, name)
    n_rows = int(array.shape[0])
    if array.dtype.kind in "biuf":
        floats = array.astype(np.float64, copy=False)
        finite = np.isfinite(floats)
        n_finite = int(np.count_nonzero(finite))
        if n_finite == n_rows:
            return CleanNumeric(floats, n_rows, 0, 0)
        n_missing = int(np.count_nonzero(np.isnan(floats)))
        return CleanNumeric(floats[finite], n_rows, n_missing, n_rows - n_finite - n_missing)
    parsed = np.empty(n_rows, dtype=np.float64)
    n_missing = 0
    n_invalid = 0
    for i, cell in enumerate(array.tolist()):
        try:
            number = _parse_number(cell)
        except (TypeError, ValueError):
            number = math.nan
            n_invalid += 1
        else:
            if number is None:
                number = math.nan
                n_missing += 1
            elif not math.isfinite(number):
                number = math.nan
                n_invalid += 1
        parsed[i] = number
    return CleanNumeric(parsed[~np.isnan(parsed)], n_rows, n_missing, n_invalid)


def check_fitted(estimator: object, attribute: str) -> None:
    """Raise :class:`NotFittedError` if ``estimator`` has no learned ``attribute`` yet."""
    if getattr(estimator, attribute, None) is None:
        raise NotFittedError(
            f"{type(estimator).__name__} is not fitted yet: call fit() before using it"
        )
