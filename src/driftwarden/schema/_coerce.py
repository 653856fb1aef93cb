"""Value conventions shared by inference, frame validation and the request model.

* Missing: ``None``, ``NaN``, ``pd.NA``, ``NaT`` and strings that are empty or only whitespace
  (the Telco ``TotalCharges`` column writes a missing value as ``" "``).
* Numbers may arrive as text (``"29.85"``); anything else that is not a number is an error.
* Category labels are strings. Integral numbers are written without a decimal part, so the
  integer ``1``, the float ``1.0`` that pandas makes of it once a column holds a NaN, and the
  text ``"1"`` are all the category ``"1"``.

Each function factorises the column first, so Python-level work grows with the number of
distinct values, not the number of rows.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["category_label", "category_labels", "is_missing", "missing_mask", "numeric_values"]

_NOT_A_NUMBER = object()


def is_missing(value: Any) -> bool:
    """Whether a scalar counts as missing (see the module docstring)."""
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        # pd.isna of a list or an array answers element-wise: such a value is not missing.
        return False


def category_label(value: Any) -> str:
    """Return the category label of a non-missing scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(value)


def _parse_number(value: Any) -> float | object:
    """Return ``value`` as a float, NaN when missing, or ``_NOT_A_NUMBER``."""
    if is_missing(value):
        return math.nan
    if isinstance(value, bool | np.bool_ | numbers.Real):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        # float() accepts digit separators ("1_000"); CSV numbers never carry them.
        if "_" in text:
            return _NOT_A_NUMBER
        try:
            return float(text)
        except ValueError:
            return _NOT_A_NUMBER
    return _NOT_A_NUMBER


def _factorize(series: pd.Series[Any]) -> tuple[NDArray[np.intp], list[Any]]:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), list(uniques)


def missing_mask(series: pd.Series[Any]) -> NDArray[np.bool_]:
    """Return a boolean array, True where a value counts as missing."""
    codes, uniques = _factorize(series)
    missing_unique = np.array([is_missing(u) for u in uniques] + [True], dtype=bool)
    # The sentinel -1 indexes the trailing True: factorize's own missing values.
    return missing_unique[codes]


def numeric_values(series: pd.Series[Any]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Parse a column as numbers.

    Returns
    -------
    values : ndarray of float64
        The numbers, NaN where missing or unparseable.
    bad : ndarray of bool
        True where a value is neither missing nor a number.
    """
    if pd.api.types.is_bool_dtype(series.dtype) or (
        pd.api.types.is_numeric_dtype(series.dtype)
        and not isinstance(series.dtype, pd.CategoricalDtype)
    ):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    codes, uniques = _factorize(series)
    parsed = [_parse_number(u) for u in uniques]
    floats = np.array(
        [math.nan if p is _NOT_A_NUMBER else p for p in parsed] + [math.nan], dtype=np.float64
    )
    bad = np.array([p is _NOT_A_NUMBER for p in parsed] + [False], dtype=bool)
    return floats[codes], bad[codes]


def category_labels(series: pd.Series[Any]) -> NDArray[np.object_]:
    """Return the category label of each value, NaN where missing."""
    codes, uniques = _factorize(series)
    labels = np.array(
        [math.nan if is_missing(u) else category_label(u) for u in uniques] + [math.nan],
        dtype=object,
    )
    return labels[codes]
