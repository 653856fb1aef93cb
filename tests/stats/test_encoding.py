from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from driftwarden.stats import _encoding
from driftwarden.stats._encoding import EncodedColumn, category_label, encode_categories


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (1, "1"),
        (1.0, "1"),
        ("1", "1"),
        (np.int64(1), "1"),
        (np.float32(1.0), "1"),
        (np.uint8(7), "7"),
        (-3.0, "-3"),
        (1.5, "1.5"),
        ("1.5", "1.5"),
        (True, "True"),
        (np.bool_(False), "False"),
        ("Yes", "Yes"),
        (" padded ", " padded "),
        (None, None),
        (math.nan, None),
        (np.float64("nan"), None),
        ("", None),
        ("   ", None),
    ],
)
def test_category_label_compares_values_as_text(value: object, label: str | None) -> None:
    assert category_label(value) == label


def _counts(encoded: EncodedColumn) -> tuple[list[int], int, dict[str, int]]:
    unseen = dict(zip(encoded.unseen, encoded.unseen_counts.tolist(), strict=True))
    return encoded.category_counts.tolist(), encoded.n_missing, unseen


def test_encode_categories_counts_categories_missing_and_unseen() -> None:
    values = np.array(["a", "b", None, "zz", "a", "", "yy", "zz", math.nan], dtype=object)

    encoded = encode_categories(values, ("a", "b", "c"), "plan")

    assert _counts(encoded) == ([2, 1, 0], 3, {"zz": 2, "yy": 1})
    assert encoded.n_categories == 3
    # Unseen values in order of first appearance, right after the missing bucket.
    assert encoded.unseen == ("zz", "yy")
    assert encoded.counts.tolist() == [2, 1, 0, 3, 2, 1]


def test_encode_categories_maps_mixed_types_to_one_category() -> None:
    values = np.array([1, "1", 1.0, np.int64(1), 0, "0", 0.0, " 0 ".strip()], dtype=object)

    encoded = encode_categories(values, ("0", "1"), "flag")

    assert _counts(encoded) == ([4, 4], 0, {})


@pytest.mark.parametrize(
    "values",
    [
        np.array([3, 1, 1, 2, 3, 3]),
        np.array([3.0, 1.0, 1.0, 2.0, 3.0, 3.0]),
        np.array(["3", "1", "1", "2", "3", "3"]),
        np.array(["3", 1, 1.0, "2", 3, 3.0], dtype=object),
        pd.Series([3, 1, 1, 2, 3, 3]),
        pd.Series(["3", "1", "1", "2", "3", "3"], dtype="string"),
        pd.Series(["3", "1", "1", "2", "3", "3"], dtype="category"),
        pd.Series([3.0, 1.0, 1.0, 2.0, 3.0, 3.0], dtype="category"),
    ],
    ids=[
        "int",
        "float",
        "unicode",
        "object",
        "series_int",
        "series_string",
        "series_category_text",
        "series_category_float",
    ],
)
def test_encode_categories_gives_the_same_counts_on_every_path(values: object) -> None:
    encoded = encode_categories(values, ("1", "3"), "x")

    assert _counts(encoded) == ([2, 3], 0, {"2": 1})


@pytest.mark.parametrize(
    "values",
    [
        np.array([1.0, np.nan, np.nan, 2.0, np.nan]),
        np.array(["1", None, "", "2", math.nan], dtype=object),
        pd.Series(["1", None, None, "2", pd.NA], dtype="string"),
        pd.Series(["1", None, None, "2", None], dtype="category"),
        pd.Series([1.0, None, None, 2.0, None]),
    ],
    ids=["float_nan", "object", "series_string", "series_category", "series_float"],
)
def test_encode_categories_counts_every_missing_marker_once(values: object) -> None:
    encoded = encode_categories(values, ("1", "2"), "x")

    assert _counts(encoded) == ([1, 1], 3, {})


def test_encode_categories_caches_repeated_cells_but_not_nan() -> None:
    values = np.array([math.nan] * 1_000 + ["a"] * 1_000, dtype=object)

    encoded = encode_categories(values, ("a",), "x")

    assert _counts(encoded) == ([1_000], 1_000, {})


def _with_lists() -> NDArray[np.object_]:
    values = np.empty(4, dtype=object)
    values[:] = ["a", [1, 2], [1, 2], "b"]
    return values


@pytest.mark.parametrize(
    "values", [_with_lists(), pd.Series(_with_lists())], ids=["object_array", "series"]
)
def test_encode_categories_counts_unhashable_cells_by_their_text(values: object) -> None:
    # A JSON array sent where a category is expected: neither a crash nor a missing value.
    encoded = encode_categories(values, ("a",), "x")

    assert _counts(encoded) == ([1], 0, {"[1, 2]": 2, "b": 1})


@pytest.mark.parametrize(
    "values",
    [np.zeros(0), np.array([], dtype=object), pd.Series([], dtype="string")],
    ids=["float", "object", "series"],
)
def test_encode_categories_of_an_empty_column_counts_nothing(values: object) -> None:
    encoded = encode_categories(values, ("a", "b"), "x")

    assert encoded.counts.tolist() == [0, 0, 0]
    assert encoded.unseen == ()


def test_encode_categories_without_reference_categories_lists_every_value_as_unseen() -> None:
    encoded = encode_categories(["b", "a", "b", None], (), "x")

    assert _counts(encoded) == ([], 1, {"b": 2, "a": 1})


def _no_factorize(values: object) -> None:
    raise AssertionError("text held by pyarrow is counted without factorize()")


@pytest.mark.parametrize(
    "dtype",
    [pd.StringDtype("pyarrow", na_value=np.nan), pd.StringDtype("pyarrow")],
    ids=["str", "string"],
)
@pytest.mark.parametrize("as_array", [False, True], ids=["series", "extension_array"])
def test_encode_categories_counts_pyarrow_text_without_factorizing(
    dtype: pd.StringDtype, as_array: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = ["b", None, "zz", "a", " ", "b", "", "y", "zz", "b"]
    series = pd.Series(cells, dtype=dtype)
    expected = encode_categories(np.array(cells, dtype=object), ("a", "b"), "x")
    monkeypatch.setattr(_encoding, "_factorized", _no_factorize)

    encoded = encode_categories(series.array if as_array else series, ("a", "b"), "x")

    # Categories, missing (None, blank text), then unseen values in order of first appearance.
    assert encoded.counts.tolist() == expected.counts.tolist() == [1, 3, 3, 2, 1]
    assert encoded.unseen == expected.unseen == ("zz", "y")


def test_encode_categories_factorizes_text_stored_without_pyarrow() -> None:
    series = pd.Series(["b", None, "zz", "b"], dtype=pd.StringDtype("python"))

    encoded = encode_categories(series, ("a", "b"), "x")

    assert _counts(encoded) == ([0, 2], 1, {"zz": 1})
