from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from driftwarden.schema._coerce import (
    category_label,
    category_labels,
    is_missing,
    missing_mask,
    numeric_values,
)


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        (None, True),
        (math.nan, True),
        (pd.NA, True),
        (pd.NaT, True),
        ("", True),
        ("  ", True),
        ("x", False),
        (0, False),
        ([1, 2], False),
    ],
)
def test_coerce_is_missing(value: object, missing: bool):
    assert is_missing(value) is missing


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Yes", "Yes"),
        (True, "True"),
        (np.bool_(False), "False"),
        (1, "1"),
        (np.int64(7), "7"),
        (1.0, "1"),
        (np.float64(2.0), "2"),
        (0.5, "0.5"),
        (math.inf, "inf"),
        (Decimal("1.5"), "1.5"),
    ],
)
def test_coerce_category_label(value: object, label: str):
    assert category_label(value) == label


def test_coerce_numeric_values_parse_text_with_blanks():
    values, bad = numeric_values(pd.Series(["29.85", " ", None, "1e3", "x", "1_000", b"1"]))
    assert values[0] == 29.85
    assert math.isnan(values[1])
    assert math.isnan(values[2])
    assert values[3] == 1000.0
    assert bad.tolist() == [False, False, False, False, True, True, True]


def test_coerce_numeric_values_of_numeric_dtypes():
    values, bad = numeric_values(pd.Series([1, None], dtype="Int64"))
    assert values[0] == 1.0
    assert math.isnan(values[1])
    assert not bad.any()
    bools, _ = numeric_values(pd.Series([True, False]))
    assert bools.tolist() == [1.0, 0.0]


def test_coerce_numeric_values_of_mixed_objects():
    values, bad = numeric_values(pd.Series([1, "2", True, 3.5], dtype=object))
    assert values.tolist() == [1.0, 2.0, 1.0, 3.5]
    assert not bad.any()


def test_coerce_labels_and_missing_mask():
    series = pd.Series([1.0, 0.0, math.nan, 1.0])
    labels = category_labels(series)
    assert labels[:2].tolist() == ["1", "0"]
    assert math.isnan(labels[2])
    assert missing_mask(series).tolist() == [False, False, True, False]
    assert missing_mask(pd.Series(["a", " ", None])).tolist() == [False, True, True]
