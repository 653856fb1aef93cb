"""The numeric and binned statistics of several features computed together."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from driftwarden.stats import (
    NumericProfile,
    ReferenceProfile,
    jensen_shannon_distance,
    ks_p_value,
    population_stability_index,
)
from driftwarden.stats._stacked import binned_statistics, numeric_statistics
from driftwarden.stats.profile import NumericWindow

EPS = 1e-4


def _fit(values: NDArray[np.float64], **fit: Any) -> NumericProfile:
    profile = ReferenceProfile.fit({"x": values}, {"x": "numeric"}, **fit).features["x"]
    assert isinstance(profile, NumericProfile)
    return profile


def _without_positions(profile: NumericProfile) -> NumericProfile:
    """The profile as written before it kept the reference's mean positions."""
    data = profile.to_dict()
    del data["open_positions"]
    return NumericProfile.from_dict(data)


def _pairs() -> list[
    tuple[NumericProfile, NumericWindow, NDArray[np.float64], NDArray[np.float64]]
]:
    """Profiles of several shapes (fine grid, discrete, constant, huge values, no positions), each
    with a window placed on it, and the raw samples."""
    rng = np.random.default_rng(3)
    samples = [
        (rng.normal(0, 1, 5000), rng.normal(0.3, 1.2, 3000), {}),
        (rng.integers(0, 6, 4000).astype(float), rng.integers(1, 8, 2500).astype(float), {}),
        (np.full(500, 2.0), rng.choice([1.0, 2.0, 3.0], 700), {}),
        (rng.lognormal(0, 1, 3000) * 1e306, rng.lognormal(0.2, 1, 900) * 1e306, {}),
        (rng.exponential(1.0, 2000), rng.exponential(1.5, 1500), {"n_bins": 4, "n_quantiles": 50}),
        (rng.uniform(0, 1, 3000), rng.uniform(0.1, 1.1, 2000), {"old": True}),
    ]
    pairs = []
    for reference, current, fit in samples:
        profile = _fit(reference, **{k: v for k, v in fit.items() if k != "old"})
        if fit.get("old"):
            profile = _without_positions(profile)
        pairs.append((profile, profile.place(current), reference, current))
    return pairs


def test_numeric_statistics_of_features_together_equal_each_alone() -> None:
    pairs = [(profile, window) for profile, window, _, _ in _pairs()]

    together = numeric_statistics(pairs, EPS)
    alone = [numeric_statistics([pair], EPS)[0] for pair in pairs]
    reversed_order = numeric_statistics(pairs[::-1], EPS)[::-1]

    # Exactly equal: every sum and maximum is taken over the feature's own slice.
    assert together == alone
    assert reversed_order == alone


def test_numeric_statistics_agree_with_each_method_on_the_raw_samples() -> None:
    for profile, window, reference, current in _pairs():
        (result,) = numeric_statistics([(profile, window)], EPS)
        cuts = profile.edges[profile.psi_positions]
        ref_bins = np.bincount(np.searchsorted(cuts, reference), minlength=cuts.size + 1)
        cur_bins = np.bincount(np.searchsorted(cuts, current), minlength=cuts.size + 1)
        # KS on the grid: both empirical CDFs at every edge and just before it.
        ecdf = [
            np.searchsorted(np.sort(sample), profile.edges, side=side) / sample.size
            for side in ("right", "left")
            for sample in (reference, current)
        ]
        grid_ks = max(np.max(np.abs(ecdf[0] - ecdf[1])), np.max(np.abs(ecdf[2] - ecdf[3])))
        exact_ks = stats.ks_2samp(reference, current).statistic
        exact_w = stats.wasserstein_distance(reference / 1e300, current / 1e300) * 1e300

        assert result.psi == pytest.approx(
            population_stability_index(ref_bins, cur_bins, eps=EPS), rel=1e-12, abs=1e-15
        )
        assert result.jensen_shannon == pytest.approx(
            jensen_shannon_distance(ref_bins, cur_bins), rel=1e-12, abs=1e-15
        )
        assert result.ks == pytest.approx(grid_ks, rel=1e-12, abs=1e-15)
        assert abs(result.ks - exact_ks) <= result.ks_error_bound + 1e-12
        assert result.ks_p_value == ks_p_value(result.ks, profile.n, window.n)
        assert abs(result.wasserstein - exact_w / profile.scale) <= (
            result.wasserstein_error_bound + 1e-9 * result.wasserstein + 1e-12
        )


def test_numeric_statistics_of_a_constant_reference_have_no_open_intervals() -> None:
    # One edge, so no interval inside the grid: nothing to bound, and the distance is the mean
    # distance of the window's values from the constant, over the reference's |mean| (std 0).
    profile = _fit(np.full(100, 4.0))
    window = profile.place(np.array([2.0, 4.0, 4.0, 7.0]))

    (result,) = numeric_statistics([(profile, window)], EPS)

    assert profile.edges.size == 1
    assert result.ks_error_bound == 0.0
    assert result.wasserstein_error_bound == 0.0
    # F_ref jumps from 0 to 1 at 4; the window's from 1/4 to 3/4.
    assert result.ks == 0.25
    assert result.wasserstein == pytest.approx((2.0 + 3.0) / 4 / 4.0, rel=1e-15)


def test_numeric_statistics_of_nothing_is_empty() -> None:
    assert numeric_statistics([], EPS) == []


def test_binned_statistics_equal_psi_and_jensen_shannon_of_each_pair() -> None:
    rng = np.random.default_rng(11)
    reference = [rng.integers(0, 50, size) for size in (1, 2, 5, 12, 3)]
    current = [rng.integers(0, 50, counts.size) for counts in reference]
    reference[2][1] = 0  # a bucket the reference never saw
    current[3][:4] = 0  # buckets the window emptied
    reference[0][0] = current[0][0] = 7  # one bucket: nothing to compare

    psi, js = binned_statistics(reference, current, EPS)

    assert psi == [
        population_stability_index(p, q, eps=EPS) for p, q in zip(reference, current, strict=True)
    ]
    assert js == [jensen_shannon_distance(p, q) for p, q in zip(reference, current, strict=True)]
    assert psi[0] == js[0] == 0.0


def test_binned_statistics_of_nothing_is_empty() -> None:
    assert binned_statistics([], [], EPS) == ([], [])


def test_numeric_statistics_cap_the_normalised_distance_at_the_largest_float() -> None:
    # A reference of tiny spread against values near the float limit.
    profile = _fit(np.full(60, 5e-324))
    window = profile.place(np.array([1.7e308, -1.7e308, 1e308]))

    (result,) = numeric_statistics([(profile, window)], EPS)

    assert result.wasserstein == sys.float_info.max
