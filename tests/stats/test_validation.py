from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwarden.stats import NotFittedError, StatsError
from driftwarden.stats._validation import as_1d_array, as_1d_float, check_fitted, clean_numeric


def test_as_1d_array_makes_a_scalar_one_value_long() -> None:
    assert as_1d_array(3.5, "x").tolist() == [3.5]


def test_as_1d_array_rejects_two_dimensions() -> None:
    with pytest.raises(
        StatsError, match=r"age: expected a one-dimensional array, got shape \(2, 2\)"
    ):
        as_1d_array([[1, 2], [3, 4]], "age")


def test_as_1d_float_converts_integers() -> None:
    result = as_1d_float([1, 2, 3], "x")

    assert result.dtype == np.float64
    assert result.tolist() == [1.0, 2.0, 3.0]


def test_as_1d_float_rejects_text() -> None:
    with pytest.raises(StatsError, match="x: expected numbers, got values of dtype <U1"):
        as_1d_float(["a", "b"], "x")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_as_1d_float_rejects_nan_and_infinity(bad: float) -> None:
    with pytest.raises(StatsError, match="x: expected finite numbers, got NaN or infinity"):
        as_1d_float([1.0, bad], "x")


def _split(values: Any) -> tuple[list[float], int, int, int]:
    clean = clean_numeric(values, "x")
    return clean.values.tolist(), clean.n_rows, clean.n_missing, clean.n_invalid


def test_clean_numeric_keeps_finite_numbers_as_they_are() -> None:
    values = np.array([1.5, -2.0, 0.0])

    clean = clean_numeric(values, "x")

    assert clean.values.dtype == np.float64
    assert clean.values.tolist() == [1.5, -2.0, 0.0]
    assert (clean.n_rows, clean.n_missing, clean.n_invalid) == (3, 0, 0)


def test_clean_numeric_counts_nan_as_missing_and_infinity_as_invalid() -> None:
    values = np.array([1.0, math.nan, math.inf, -math.inf, 2.0, math.nan])

    assert _split(values) == ([1.0, 2.0], 6, 2, 2)


@pytest.mark.parametrize(
    "values",
    [
        np.array([True, False, True]),
        np.array([1, 0, 1], dtype=np.int8),
        np.array([1, 0, 1], np.uint64),
    ],
    ids=["bool", "int8", "uint64"],
)
def test_clean_numeric_converts_integer_and_bool_columns(values: object) -> None:
    assert _split(values) == ([1.0, 0.0, 1.0], 3, 0, 0)


def test_clean_numeric_parses_an_object_column_cell_by_cell() -> None:
    values = np.array(
        [
            "1.5",  # numeric text
            " 2 ",  # surrounding spaces
            "-3e2",
            "",  # blank: missing
            "   ",  # blank: missing
            None,  # missing
            math.nan,  # missing
            np.float64("nan"),  # missing
            "abc",  # junk text: invalid
            "inf",  # infinity: invalid
            "nan",  # NaN written out is not a number the column can use: invalid
            math.inf,  # invalid
            [1, 2],  # not a number at all: invalid
            Decimal("4.5"),  # not a type the parser reads: invalid
            True,  # 1.0
            np.int32(7),
            np.float32(0.5),
            8,
        ],
        dtype=object,
    )

    assert _split(values) == ([1.5, 2.0, -300.0, 1.0, 7.0, 0.5, 8.0], 18, 5, 6)


def test_clean_numeric_counts_pandas_na_as_missing() -> None:
    values = pd.Series(["1.5", None, "x", pd.NA, "2"], dtype="string")

    assert _split(values) == ([1.5, 2.0], 5, 2, 1)


def test_clean_numeric_of_an_empty_column_counts_nothing() -> None:
    assert _split(np.array([], dtype=object)) == ([], 0, 0, 0)
    assert _split(np.zeros(0)) == ([], 0, 0, 0)


class _Detector:
    def __init__(self) -> None:
        self.mean_: float | None = None


def test_check_fitted_raises_before_fit() -> None:
    with pytest.raises(NotFittedError, match="_Detector is not fitted yet: call fit"):
        check_fitted(_Detector(), "mean_")


def test_check_fitted_error_is_also_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="not fitted yet"):
        check_fitted(_Detector(), "missing_")


def test_check_fitted_passes_after_fit() -> None:
    detector = _Detector()
    detector.mean_ = 0.0

    check_fitted(detector, "mean_")

    assert detector.mean_ == 0.0
