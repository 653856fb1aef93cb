from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import pytest

from driftwarden.stats import (
    CategoricalProfile,
    ColumnMismatchError,
    DriftConfig,
    NumericProfile,
    ReferenceProfile,
    Severity,
    StatsError,
)
from driftwarden.stats.profile import PROFILE_FORMAT, Kind, category_hash

KINDS: dict[str, Kind] = {"age": "numeric", "plan": "categorical", "charges": "numeric"}


def _reference(rng: np.random.Generator, n: int) -> dict[str, Any]:
    return {
        "age": rng.normal(40.0, 10.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        "charges": rng.lognormal(3.0, 1.0, n),
    }


def _report_json(profile: ReferenceProfile, window: dict[str, Any], **options: Any) -> str:
    report = profile.compare(window, config=DriftConfig(n_jobs=1), **options)
    return json.dumps(report.to_dict(), allow_nan=False, sort_keys=True)


def test_reference_profile_fit_summarises_numeric_columns() -> None:
    values = np.random.default_rng(0).normal(5.0, 2.0, 10_000)

    profile = ReferenceProfile.fit({"x": values}, {"x": "numeric"}, n_quantiles=500)

    feature = profile.features["x"]
    assert isinstance(feature, NumericProfile)
    assert (feature.n, feature.n_missing, feature.n_invalid) == (10_000, 0, 0)
    assert feature.mean == pytest.approx(values.mean(), rel=1e-12)
    assert feature.std == pytest.approx(values.std(), rel=1e-12)
    assert (feature.minimum, feature.maximum) == (values.min(), values.max())
    assert (feature.range_min, feature.range_max) == (values.min(), values.max())
    assert feature.edges.size <= 501
    assert np.all(np.diff(feature.edges) > 0)
    assert feature.open_counts.sum() + feature.atom_counts.sum() == 10_000
    assert (
        feature.edges[feature.psi_positions].tolist()
        == np.quantile(values, np.arange(1, 10) / 10, method="inverted_cdf").tolist()
    )


def test_reference_profile_fit_keeps_psi_cuts_that_are_not_grid_levels() -> None:
    values = np.random.default_rng(1).normal(size=5_000)

    profile = ReferenceProfile.fit({"x": values}, {"x": "numeric"}, n_bins=7, n_quantiles=100)

    feature = profile.features["x"]
    assert isinstance(feature, NumericProfile)
    assert (
        feature.edges[feature.psi_positions].tolist()
        == np.quantile(values, np.arange(1, 7) / 7, method="inverted_cdf").tolist()
    )
    assert feature.edges.size <= 100 + 7


def test_reference_profile_fit_counts_at_and_between_edges() -> None:
    values = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 7.0])

    feature = NumericProfile.fit("x", values, n_bins=2, n_quantiles=2)

    # Quantiles at 0, 1/2, 1: 1.0, 3.0 (4th of 7 values), 7.0.
    assert feature.edges.tolist() == [1.0, 3.0, 7.0]
    assert feature.atom_counts.tolist() == [2, 3, 1]
    assert feature.open_counts.tolist() == [0, 1, 0, 0]


def test_numeric_profile_fit_keeps_the_mean_position_between_edges() -> None:
    # Quantiles at 0, 1/2, 1: 0.0, 1.0 (2nd of 4 values), 10.0; 4.0 lies a third of the way from
    # 1 to 10. Intervals holding no value (and the two outside the grid) get the centre, 0.5.
    feature = NumericProfile.fit("x", np.array([0.0, 1.0, 4.0, 10.0]), n_bins=2, n_quantiles=2)

    assert feature.edges.tolist() == [0.0, 1.0, 10.0]
    assert feature.open_counts.tolist() == [0, 0, 1, 0]
    assert feature.open_positions is not None
    assert feature.open_positions.tolist() == pytest.approx([0.5, 0.5, 1 / 3, 0.5], rel=1e-15)


def test_numeric_profile_place_sums_distances_below_the_upper_edges() -> None:
    feature = NumericProfile.fit("x", np.array([0.0, 1.0, 4.0, 10.0]), n_bins=2, n_quantiles=2)

    window = feature.place(np.array([0.5, 2.0, 5.0, 12.0, -3.0, 1.0]))

    # (0, 1) holds 0.5: 1 - 0.5; (1, 10) holds 2 and 5: 8 + 5; 1.0 is an edge and adds nothing.
    assert window.open_gaps.tolist() == [0.0, 0.5, 13.0, 0.0]
    # -3 is 3 below the first edge, 12 is 2 above the last.
    exponent = window.excess_exponent
    below, above = (math.ldexp(v, exponent) for v in (window.below_excess, window.above_excess))
    assert (below, above) == (3.0, 2.0)
    assert (window.below_sum, window.above_sum) == (-3.0, 12.0)


def test_numeric_profile_place_keeps_sums_past_the_largest_float_scaled() -> None:
    big = sys.float_info.max
    feature = NumericProfile.fit("x", np.array([-1.0, 0.0, 1.0]), n_bins=2, n_quantiles=2)

    window = feature.place(np.array([-big, -big, big, big, big]))

    # Below: 2 * (big - 1), above: 3 * (big - 1); both beyond the largest float.
    below = math.ldexp(window.below_excess, window.excess_exponent - 1030)
    above = math.ldexp(window.above_excess, window.excess_exponent - 1030)
    assert below == pytest.approx(2 * math.ldexp(big, -1030), rel=1e-15)
    assert above == pytest.approx(3 * math.ldexp(big, -1030), rel=1e-15)
    assert (window.below_sum, window.above_sum) == (-math.inf, math.inf)


def test_numeric_profile_of_huge_values_places_tiny_ones_exactly() -> None:
    # Every value is an edge. The grid is handled in units of 2**1024, where 1e-300 and 2e-300
    # would both be 0: the placement still tells them apart.
    reference = np.array([-1e308, 1e-300, 2e-300, 1e308])
    feature = NumericProfile.fit("x", reference, n_bins=2, n_quantiles=4)

    window = feature.place(np.array([1e-300, 1.5e-300, 2e-300, 2e-300, 5e307]))

    assert feature.unit_exponent == 1024
    assert window.atom_counts.tolist() == [0, 1, 2, 0]
    assert window.open_counts.tolist() == [0, 0, 1, 1, 0]
    # 1e308 - 5e307 in units of 2**1024.
    assert window.open_gaps[3] == pytest.approx(math.ldexp(5e307, -1024), rel=1e-15)


def test_numeric_profile_place_counts_below_at_between_and_above() -> None:
    feature = NumericProfile.fit("x", np.array([1.0, 2.0, 3.0]), n_bins=2, n_quantiles=2)

    window = feature.place(np.array([0.0, -1.0, 1.0, 1.5, 2.0, 2.0, 3.0, 9.0]))

    assert window.n == 8
    assert window.open_counts.tolist() == [2, 1, 0, 1]
    assert window.atom_counts.tolist() == [1, 2, 1]
    assert (window.below_sum, window.above_sum) == (-1.0, 9.0)


def test_numeric_profile_moments_of_huge_values_are_finite() -> None:
    values = np.append(np.random.default_rng(2).normal(size=999), [1e200, -1e250])

    profile = ReferenceProfile.fit({"x": values}, {"x": "numeric"})

    feature = profile.features["x"]
    assert isinstance(feature, NumericProfile)
    scaled = values / 1e250
    assert feature.mean == pytest.approx(1e250 * scaled.mean(), rel=1e-9)
    assert feature.std == pytest.approx(1e250 * scaled.std(), rel=1e-9)
    assert ReferenceProfile.from_json(profile.to_json()).to_dict() == profile.to_dict()


def test_numeric_profile_scale_falls_back_to_the_mean_then_one() -> None:
    spread = NumericProfile.fit("x", np.array([1.0, 3.0]), n_bins=2, n_quantiles=2)
    constant = NumericProfile.fit("x", np.full(5, -4.0), n_bins=2, n_quantiles=2)
    zero = NumericProfile.fit("x", np.zeros(5), n_bins=2, n_quantiles=2)

    assert (spread.scale, constant.scale, zero.scale) == (1.0, 4.0, 1.0)


def test_numeric_profile_of_an_all_missing_column_is_empty() -> None:
    feature = NumericProfile.fit("x", np.array([math.nan, math.nan]), n_bins=10, n_quantiles=20)

    assert (feature.n, feature.n_missing, feature.edges.size) == (0, 2, 0)
    window = feature.place(np.array([1.0, 2.0]))
    assert (window.n, window.open_counts.tolist(), window.atom_counts.tolist()) == (2, [0], [])


def test_numeric_profile_of_an_all_missing_column_keeps_a_given_range() -> None:
    feature = NumericProfile.fit(
        "x", np.array([None, "", "junk"], dtype=object), n_bins=10, n_quantiles=20,
        value_range=(0.0, 5.0),
    )  # fmt: skip

    assert (feature.n_missing, feature.n_invalid) == (2, 1)
    assert (feature.range_min, feature.range_max) == (0.0, 5.0)


def test_categorical_profile_counts_sorted_categories() -> None:
    values = np.array(["b", "a", "b", None, "c", "b", ""], dtype=object)

    feature = CategoricalProfile.fit("plan", values, max_categories=10)

    assert feature.categories == ("a", "b", "c")
    assert feature.counts.tolist() == [1, 3, 1]
    assert (feature.n, feature.n_missing, feature.other_count) == (5, 2, 0)
    assert not feature.truncated


def test_categorical_profile_keeps_the_most_frequent_categories() -> None:
    # b and d tie on 2: the label decides (b first); a and c (and e) become "other".
    values = ["a"] + ["b"] * 2 + ["c"] + ["d"] * 2 + ["e"] + ["f"] * 5

    feature = CategoricalProfile.fit("x", values, max_categories=3)

    assert feature.categories == ("b", "d", "f")
    assert feature.counts.tolist() == [2, 2, 5]
    assert feature.other_count == 3
    assert feature.truncated


def test_categorical_profile_remembers_folded_categories_by_sorted_hash() -> None:
    values = ["a"] + ["b"] * 2 + ["c"] + ["d"] * 2 + ["e"] + ["f"] * 5

    feature = CategoricalProfile.fit("x", values, max_categories=3)

    # a, c and e are folded into "other".
    assert feature.folded_hashes is not None
    assert feature.folded_hashes.tolist() == sorted(category_hash(label) for label in "ace")
    assert feature.may_be_folded(["c", "z", "e", "b"]).tolist() == [True, False, True, False]
    data = feature.to_dict()
    assert data["folded_hashes"] == [f"{value:016x}" for value in feature.folded_hashes.tolist()]
    restored = CategoricalProfile.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data


def test_reference_profile_from_json_rejects_a_folded_hash_that_is_not_hex() -> None:
    data = ReferenceProfile.fit(
        {"c": ["a"] * 5 + ["b", "c"]}, {"c": "categorical"}, max_categories=1
    ).to_dict()
    data["features"][0]["folded_hashes"][0] = "not hex"

    with pytest.raises(StatsError, match="not a reference profile: ValueError"):
        ReferenceProfile.from_json(json.dumps(data))


def test_categorical_profile_keeps_no_hashes_past_max_folded_categories() -> None:
    values = ["a"] * 10 + [f"rare{i}" for i in range(50)]

    capped = CategoricalProfile.fit("x", values, max_categories=1, max_folded_categories=49)
    kept = CategoricalProfile.fit("x", values, max_categories=1, max_folded_categories=50)

    assert capped.folded_hashes is None
    assert capped.to_dict()["folded_hashes"] is None
    # Without hashes, any unlisted value may be a folded one.
    assert capped.may_be_folded(["rare1", "new"]).tolist() == [True, True]
    assert kept.folded_hashes is not None
    assert kept.folded_hashes.size == 50
    assert kept.may_be_folded(["rare1", "new"]).tolist() == [True, False]


def test_categorical_profile_not_truncated_folds_nothing() -> None:
    feature = CategoricalProfile.fit("x", ["a", "b", "a"], max_categories=5)

    assert feature.folded_hashes is not None
    assert feature.folded_hashes.size == 0
    assert feature.may_be_folded(["z"]).tolist() == [False]


def test_category_hash_is_stable_across_processes() -> None:
    # BLAKE2b with an 8-byte digest; Python's hash() of text changes from one process to another.
    assert category_hash("a") == 0x40F89E395B66422F
    assert category_hash("plan-ü") != category_hash("plan-u")


def test_categorical_profile_of_mixed_types_merges_equal_labels() -> None:
    values = np.array([1, "1", 1.0, 0, "0", 2.5], dtype=object)

    feature = CategoricalProfile.fit("flag", values, max_categories=10)

    assert feature.categories == ("0", "1", "2.5")
    assert feature.counts.tolist() == [2, 3, 1]


def test_reference_profile_kinds_follow_the_profile_order() -> None:
    profile = ReferenceProfile.fit(_reference(np.random.default_rng(0), 200), KINDS)

    assert profile.kinds == KINDS
    assert list(profile.kinds) == ["age", "plan", "charges"]


def test_reference_profile_fit_ignores_columns_not_in_kinds() -> None:
    reference = _reference(np.random.default_rng(0), 200) | {"id": np.arange(200)}

    profile = ReferenceProfile.fit(reference, KINDS)

    assert set(profile.features) == set(KINDS)
    assert profile.n_rows == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_bins": 1}, "n_bins must be >= 2, got 1"),
        ({"n_bins": 10, "n_quantiles": 9}, r"n_quantiles must be >= n_bins \(10\), got 9"),
        ({"max_categories": 0}, "max_categories must be >= 1, got 0"),
        ({"max_folded_categories": -1}, "max_folded_categories must be >= 0, got -1"),
    ],
)
def test_reference_profile_fit_rejects_bad_parameters(options: dict[str, Any], message: str):
    with pytest.raises(StatsError, match=message):
        ReferenceProfile.fit({"x": np.arange(10.0)}, {"x": "numeric"}, **options)


def test_reference_profile_fit_rejects_no_features() -> None:
    with pytest.raises(StatsError, match="kinds is empty: name at least one feature"):
        ReferenceProfile.fit({"x": np.arange(10.0)}, {})


def test_reference_profile_fit_rejects_an_unknown_kind() -> None:
    kinds: Any = {"x": "ordinal"}

    with pytest.raises(StatsError, match="feature 'x': kind must be 'numeric' or 'categorical'"):
        ReferenceProfile.fit({"x": np.arange(10.0)}, kinds)


def test_reference_profile_fit_names_a_missing_column() -> None:
    with pytest.raises(
        ColumnMismatchError, match=r"column 'tenure' is not in the reference"
    ) as info:
        ReferenceProfile.fit({"x": np.arange(10.0)}, {"x": "numeric", "tenure": "numeric"})

    assert info.value.column == "tenure"


def test_reference_profile_fit_names_a_missing_range_column() -> None:
    with pytest.raises(ColumnMismatchError, match=r"column 'y' is not in the reference") as info:
        ReferenceProfile.fit({"x": np.arange(10.0)}, {"x": "numeric"}, ranges={"y": (0.0, 1.0)})

    assert info.value.column == "y"


def test_reference_profile_fit_rejects_columns_of_unequal_length() -> None:
    with pytest.raises(StatsError, match="column 'b' has 5 rows, the others 10"):
        ReferenceProfile.fit(
            {"a": np.arange(10.0), "b": np.arange(5.0)}, {"a": "numeric", "b": "numeric"}
        )


def test_reference_profile_fit_rejects_scores_of_another_length() -> None:
    with pytest.raises(
        StatsError, match=r"scores has a different length from the reference \(10\)"
    ):
        ReferenceProfile.fit({"x": np.arange(10.0)}, {"x": "numeric"}, scores=np.ones(9))


def test_reference_profile_fit_profiles_the_scores() -> None:
    scores = np.append(np.random.default_rng(0).random(99), np.nan)

    profile = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"}, scores=scores)

    assert profile.prediction is not None
    assert (profile.prediction.n, profile.prediction.n_missing) == (99, 1)


def test_reference_profile_is_independent_of_the_reference_row_order() -> None:
    rng = np.random.default_rng(3)
    reference = _reference(rng, 5_000)
    order = rng.permutation(5_000)
    shuffled = {name: column[order] for name, column in reference.items()}

    assert ReferenceProfile.fit(shuffled, KINDS).to_json() == (
        ReferenceProfile.fit(reference, KINDS).to_json()
    )


def test_reference_profile_json_round_trip_gives_identical_profile_and_reports() -> None:
    rng = np.random.default_rng(4)
    reference = _reference(rng, 4_000)
    reference["age"][:40] = np.nan
    profile = ReferenceProfile.fit(
        reference, KINDS, scores=rng.random(4_000), max_categories=2, ranges={"age": (18, 99)}
    )
    window = _reference(rng, 1_500)
    window["plan"][:10] = "enterprise"
    scores = rng.random(1_500)

    restored = ReferenceProfile.from_json(profile.to_json())

    assert restored.to_dict() == profile.to_dict()
    assert restored.to_json() == profile.to_json()
    assert _report_json(restored, window, scores=scores) == _report_json(
        profile, window, scores=scores
    )


def test_reference_profile_from_json_reads_bytes() -> None:
    profile = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"})

    restored = ReferenceProfile.from_json(profile.to_json().encode())

    assert restored.to_dict() == profile.to_dict()


def test_reference_profile_json_is_strict() -> None:
    profile = ReferenceProfile.fit(_reference(np.random.default_rng(0), 500), KINDS)

    data = json.loads(profile.to_json())

    assert data["format"] == PROFILE_FORMAT
    assert json.dumps(data, allow_nan=False)


def test_reference_profile_from_json_rejects_invalid_json() -> None:
    with pytest.raises(StatsError, match=r"not a reference profile: invalid JSON"):
        ReferenceProfile.from_json("{not json")


@pytest.mark.parametrize("text", ["[1, 2]", '"profile"', "3"])
def test_reference_profile_from_json_rejects_what_is_not_an_object(text: str) -> None:
    with pytest.raises(StatsError, match="not a reference profile: expected a JSON object"):
        ReferenceProfile.from_json(text)


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_reference_profile_from_json_rejects_another_format_version(version: object) -> None:
    data = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"}).to_dict()
    data["format"] = version

    with pytest.raises(StatsError, match=r"profile format .* is not supported.*refit the profile"):
        ReferenceProfile.from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda data: data.pop("format"), "KeyError"),
        (lambda data: data.pop("n_bins"), "KeyError"),
        (lambda data: data["features"][0].pop("edges"), "KeyError"),
        (lambda data: data.update(features=7), "TypeError"),
        (lambda data: data.update(n_rows="many"), "ValueError"),
        (lambda data: data.update(prediction={"kind": "numeric"}), "KeyError"),
        (lambda data: data["features"][0]["open_positions"].pop(), "ValueError"),
    ],
    ids=["format", "n_bins", "edges", "features", "n_rows", "prediction", "open_positions"],
)
def test_reference_profile_from_json_rejects_a_damaged_profile(change: Any, error: str) -> None:
    data = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"}).to_dict()
    change(data)

    with pytest.raises(StatsError, match=f"not a reference profile: {error}"):
        ReferenceProfile.from_json(json.dumps(data))


def test_reference_profile_size_does_not_grow_with_the_reference() -> None:
    rng = np.random.default_rng(6)
    small = ReferenceProfile.fit(_reference(rng, 10_000), KINDS).to_json()
    large = ReferenceProfile.fit(_reference(rng, 1_000_000), KINDS).to_json()

    # Same number of grid points and categories; only the counts take more digits (the per-edge
    # counts of a continuous column grow from about 5 to about 500: two more digits per count).
    n_counts = 2 * 2 * 2_002 + 3
    assert abs(len(large) - len(small)) <= 2 * n_counts
    assert len(large) < 1.2 * len(small)


def test_numeric_profile_place_counts_a_long_window_exactly() -> None:
    rng = np.random.default_rng(7)
    feature = NumericProfile.fit("x", rng.normal(size=20_000), n_bins=10, n_quantiles=2_000)
    values = np.concatenate((rng.normal(0.3, 1.2, 400_000), feature.edges, [-50.0, 50.0]))

    window = feature.place(values)

    # Longer than one chunk of the placement loop: the counts must match a direct computation.
    ordered = np.sort(values)
    at_or_below = np.searchsorted(ordered, feature.edges, side="right")
    below = np.searchsorted(ordered, feature.edges, side="left")
    between = np.diff(np.concatenate(([0], at_or_below))) - (at_or_below - below)
    assert window.n == values.size
    assert window.atom_counts.tolist() == (at_or_below - below).tolist()
    assert window.open_counts.tolist() == [*between.tolist(), values.size - at_or_below[-1]]
    assert window.below_sum == pytest.approx(values[values < feature.edges[0]].sum(), rel=1e-12)
    assert window.above_sum == pytest.approx(values[values > feature.edges[-1]].sum(), rel=1e-12)
    index = np.searchsorted(feature.edges, values, side="left")
    inside = (index > 0) & (index < feature.edges.size)
    gaps = np.bincount(
        index[inside], weights=feature.edges[index[inside]] - values[inside],
        minlength=feature.edges.size + 1,
    )  # fmt: skip
    np.testing.assert_allclose(window.open_gaps, gaps, rtol=1e-9, atol=1e-12)


def test_reference_profile_with_scores_profiles_scores_of_other_rows() -> None:
    rng = np.random.default_rng(8)
    profile = ReferenceProfile.fit({"x": rng.normal(size=1_000)}, {"x": "numeric"})
    held_out = rng.beta(2, 5, 300)

    scored = profile.with_scores(held_out)

    assert profile.prediction is None
    assert scored.prediction is not None
    assert scored.prediction.n == 300
    assert scored.to_dict()["features"] == profile.to_dict()["features"]
    report = scored.compare({"x": rng.normal(size=500)}, scores=rng.beta(2, 5, 500))
    assert report.prediction is not None
    assert report.prediction.severity is Severity.OK
    restored = ReferenceProfile.from_json(scored.to_json())
    assert restored.to_dict() == scored.to_dict()
