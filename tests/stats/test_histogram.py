from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.typing import NDArray

from driftwarden.stats import (
    CategoricalProfile,
    NumericProfile,
    StatsError,
    categorical_histogram,
    numeric_histogram,
)
from driftwarden.stats.histogram import OTHER, UNSEEN


def _fit(values: object, **kwargs: int) -> NumericProfile:
    params = {"n_bins": 10, "n_quantiles": 2000, **kwargs}
    return NumericProfile.fit("x", values, **params)  # type: ignore[arg-type]


def _hand_shares(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """Shares of ``values`` in ``[edges[k], edges[k+1])``, the values outside folded into the
    outer bins: what the histogram must say, counted directly."""
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(bins, minlength=edges.size - 1)
    shares: NDArray[np.float64] = counts / values.size
    return shares


def _mean(edges: list[float], shares: list[float]) -> float:
    middles = (np.array(edges[:-1]) + np.array(edges[1:])) / 2
    return float(np.dot(middles, shares))


def test_numeric_histogram_counts_reference_and_window_exactly(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    reference = rng.gamma(2.0, 10.0, 3_000).round(2)
    window = rng.gamma(2.0, 10.0, 400).round(2) + rng.uniform(-5, 40)
    h = numeric_histogram(_fit(reference), window)

    assert 2 <= h.reference.size <= 40
    assert h.edges.size == h.reference.size + 1 == h.current.size + 1
    assert np.all(np.isfinite(h.edges))
    assert np.all(np.diff(h.edges) > 0)
    # The display edges are grid edges, where the profile's counts are exact.
    np.testing.assert_allclose(h.reference, _hand_shares(reference, h.edges), atol=1e-12)
    np.testing.assert_allclose(h.current, _hand_shares(window, h.edges), atol=1e-12)
    assert h.reference.sum() == pytest.approx(1.0)
    assert h.current.sum() == pytest.approx(1.0)
    assert (h.n_reference, h.n_current, h.n_missing) == (3_000, 400, 0)
    assert h.edges[0] == reference.min()


def test_numeric_histogram_moves_right_with_the_window() -> None:
    rng = np.random.default_rng(3)
    profile = _fit(rng.normal(50, 10, 5_000))
    same = numeric_histogram(profile, rng.normal(50, 10, 1_000))
    shifted = numeric_histogram(profile, rng.normal(65, 10, 1_000))
    edges = same.edges.tolist()
    assert shifted.edges.tolist() == edges
    assert _mean(edges, same.current.tolist()) == pytest.approx(50, abs=1.5)
    assert _mean(edges, shifted.current.tolist()) - _mean(edges, same.current.tolist()) > 10
    # Past the reference's maximum: folded into the last bin.
    beyond = numeric_histogram(profile, [1e6, 2e6])
    assert beyond.current[-1] == 1.0


def test_numeric_histogram_spreads_bins_over_the_body_despite_an_outlier() -> None:
    rng = np.random.default_rng(5)
    reference = np.append(rng.normal(0, 1, 5_000), 1e6)
    h = numeric_histogram(_fit(reference), rng.normal(0, 1, 1_000))
    assert h.reference.size >= 30
    assert h.edges[-2] < 10 < 1e6 <= h.edges[-1]
    # The body's bins are about equally wide (grid edges nearest to evenly spaced values).
    widths = np.diff(h.edges[1:-2])
    assert widths.max() < 1.5 * np.median(widths)
    assert h.reference.max() < 0.15


@pytest.mark.parametrize("max_bins", [1, 2, 5, 40])
def test_numeric_histogram_has_at_most_max_bins(max_bins: int) -> None:
    rng = np.random.default_rng(max_bins)
    reference = rng.exponential(3.0, 2_000)
    window = rng.exponential(4.0, 300)
    h = numeric_histogram(_fit(reference), window, max_bins=max_bins)
    assert 1 <= h.reference.size <= max_bins
    np.testing.assert_allclose(h.reference, _hand_shares(reference, h.edges), atol=1e-12)
    np.testing.assert_allclose(h.current, _hand_shares(window, h.edges), atol=1e-12)


def test_numeric_histogram_gives_each_value_of_a_discrete_feature_a_bin() -> None:
    h = numeric_histogram(_fit([0, 0, 0, 1]), [1, 1, 0, 1])
    assert h.edges.tolist() == [0.0, 1.0, 2.0]
    assert h.reference.tolist() == [0.75, 0.25]
    assert h.current.tolist() == [0.25, 0.75]
    integers = numeric_histogram(_fit(np.arange(30) % 12), np.arange(12))
    assert integers.edges.tolist() == [float(v) for v in range(13)]


def test_numeric_histogram_of_a_constant_and_of_an_empty_profile() -> None:
    constant = numeric_histogram(_fit([4.0, 4.0]), [3.0, 4.0, 9.0])
    assert (constant.edges.tolist(), constant.current.tolist()) == ([4.0, 5.0], [1.0])
    empty = numeric_histogram(_fit([np.nan, np.nan]), [1.0, 2.0])
    assert empty.edges.tolist() == [0.0, 1.0]
    assert (empty.reference.tolist(), empty.current.tolist()) == ([0.0], [1.0])
    assert (empty.n_reference, empty.n_current) == (0, 2)
    ranged = NumericProfile.fit("x", [], n_bins=2, n_quantiles=4, value_range=(0.0, 10.0))
    assert numeric_histogram(ranged, []).edges.tolist() == [0.0, 10.0]


def test_numeric_histogram_edges_stay_finite_at_the_float_limits() -> None:
    largest = float(np.finfo(np.float64).max)
    h = numeric_histogram(_fit([-largest, 0.0, largest]), [largest, -largest])
    assert np.all(np.isfinite(h.edges))
    assert h.edges[-1] == largest
    assert h.current.tolist() == [0.5, 0.0, 0.5]
    # A step lost to rounding: the last bin ends at the next float up.
    big = numeric_histogram(_fit([1e20]), [1e20])
    assert big.edges.tolist() == [1e20, float(np.nextafter(1e20, np.inf))]
    wide = _fit(np.linspace(-1.0, 1.0, 1_000) * largest)
    assert np.all(np.isfinite(numeric_histogram(wide, [0.0]).edges))


def test_numeric_histogram_counts_missing_and_invalid_values() -> None:
    window = np.array([1.0, np.nan, None, "abc", np.inf, "2"], dtype=object)
    h = numeric_histogram(_fit([1.0, 2.0, 3.0]), window)
    assert (h.n_current, h.n_missing) == (2, 4)
    assert h.current.sum() == pytest.approx(1.0)


def test_numeric_histogram_of_an_empty_window_is_all_zero() -> None:
    h = numeric_histogram(_fit([1.0, 2.0, 3.0]), np.zeros(0))
    assert h.current.tolist() == [0.0] * h.reference.size
    assert h.n_current == 0


def test_numeric_histogram_to_dict_is_strict_json() -> None:
    found = numeric_histogram(_fit([1.0, 2.0, 2.0, 3.0]), [2.5]).to_dict()
    assert found["kind"] == "numeric"
    assert set(found) == {
        "kind", "edges", "reference", "current", "n_reference", "n_current", "n_missing",
    }  # fmt: skip
    json.dumps(found, allow_nan=False)


@pytest.mark.parametrize("max_bins", [0, -3, True, 2.5])
def test_numeric_histogram_refuses_a_bad_max_bins(max_bins: object) -> None:
    with pytest.raises(StatsError, match="max_bins must be an integer >= 1"):
        numeric_histogram(_fit([1.0]), [1.0], max_bins=max_bins)  # type: ignore[arg-type]


def test_categorical_histogram_orders_by_reference_share_and_counts_unseen() -> None:
    profile = CategoricalProfile.fit("plan", ["pro"] * 5 + ["basic"] * 3 + ["plus"] * 3,
                                     max_categories=10)  # fmt: skip
    window = ["basic", "basic", "gold", "gold", "gold", "silver", None, "pro", 1]
    h = categorical_histogram(profile, window)
    assert h.categories == ("pro", "basic", "plus", UNSEEN)
    np.testing.assert_allclose(h.reference, [5 / 11, 3 / 11, 3 / 11, 0.0])
    np.testing.assert_allclose(h.current, [1 / 8, 2 / 8, 0.0, 5 / 8])
    assert h.unseen == {"gold": 3, "1": 1, "silver": 1}
    assert list(h.unseen) == ["gold", "1", "silver"]
    assert (h.n_reference, h.n_current, h.n_missing) == (11, 8, 1)
    capped = categorical_histogram(profile, window, max_unseen=1)
    assert capped.unseen == {"gold": 3}
    assert capped.current.tolist() == h.current.tolist()


def test_categorical_histogram_counts_folded_labels_as_other() -> None:
    reference = ["a"] * 6 + ["b"] * 4 + ["c"] * 2 + ["d"]
    profile = CategoricalProfile.fit("x", reference, max_categories=2)
    h = categorical_histogram(profile, ["a", "c", "d", "d", "new"])
    assert h.categories == ("a", "b", OTHER, UNSEEN)
    np.testing.assert_allclose(h.reference, [6 / 13, 4 / 13, 3 / 13, 0.0])
    np.testing.assert_allclose(h.current, [0.2, 0.0, 0.6, 0.2])
    assert h.unseen == {"new": 1}
    # A profile that remembers none of its folded labels takes every unlisted one as folded.
    blind = CategoricalProfile.fit("x", reference, max_categories=2, max_folded_categories=0)
    h = categorical_histogram(blind, ["a", "new"])
    assert (h.categories, h.current.tolist(), h.unseen) == (("a", "b", OTHER), [0.5, 0, 0.5], {})


def test_categorical_histogram_of_an_empty_window_is_all_zero() -> None:
    profile = CategoricalProfile.fit("x", ["a", "b", "b"], max_categories=5)
    h = categorical_histogram(profile, [None, None])
    assert h.categories == ("b", "a")
    assert (h.current.tolist(), h.n_current, h.n_missing) == ([0.0, 0.0], 0, 2)
    found = h.to_dict()
    assert found["kind"] == "categorical"
    assert found["unseen"] == {}
    json.dumps(found, allow_nan=False)


@pytest.mark.parametrize("max_unseen", [-1, False, 1.0])
def test_categorical_histogram_refuses_a_bad_max_unseen(max_unseen: object) -> None:
    profile = CategoricalProfile.fit("x", ["a"], max_categories=5)
    with pytest.raises(StatsError, match="max_unseen must be an integer >= 0"):
        categorical_histogram(profile, ["a"], max_unseen=max_unseen)  # type: ignore[arg-type]
