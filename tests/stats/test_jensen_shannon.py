from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import distance

from driftwarden.stats import (
    ReferenceProfile,
    StatsError,
    jensen_shannon_distance,
)
from driftwarden.stats.jensen_shannon import distance_of, kl_terms


def test_jensen_shannon_distance_golden_value() -> None:
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4)
    # KL(p || m) = 1/2 log2(2/3) + 1/2 log2(2) = 1/2 (1 - log2 3) + 1/2 = 1 - 1/2 log2 3
    # KL(q || m) = log2(4/3) = 2 - log2 3
    # JS^2 = 1/2 (KL(p || m) + KL(q || m)) = 3/2 - 3/4 log2 3 = 0.311278
    expected = math.sqrt(1.5 - 0.75 * math.log2(3))

    assert jensen_shannon_distance([0.5, 0.5], [1.0, 0.0]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.557924, abs=1e-6)


def test_jensen_shannon_distance_of_disjoint_distributions_is_one() -> None:
    assert jensen_shannon_distance([3, 0, 0], [0, 5, 2]) == pytest.approx(1.0, rel=1e-12)


def test_jensen_shannon_distance_of_equal_distributions_is_zero() -> None:
    assert jensen_shannon_distance([1, 2, 3], [2, 4, 6]) == 0.0


def test_jensen_shannon_distance_agrees_with_scipy(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    k = int(rng.integers(2, 40))
    p = rng.random(k) * (rng.random(k) < 0.8)  # some empty bins
    q = rng.random(k) * (rng.random(k) < 0.8)
    p[0] += 0.1
    q[-1] += 0.1

    expected = distance.jensenshannon(p, q, base=2)

    assert jensen_shannon_distance(p, q) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_jensen_shannon_distance_rejects_bins_of_different_lengths() -> None:
    with pytest.raises(StatsError, match="reference has 2 bins but current has 1"):
        jensen_shannon_distance([0.5, 0.5], [1.0])


def test_jensen_shannon_distance_rejects_empty_bins() -> None:
    with pytest.raises(StatsError, match=r"current: the bins are empty \(total 0\)"):
        jensen_shannon_distance([0.5, 0.5], [0.0, 0.0])


def test_jensen_shannon_distance_rejects_negative_counts() -> None:
    with pytest.raises(StatsError, match="reference: bin counts and shares must be >= 0"):
        jensen_shannon_distance([-1, 2], [1, 1])


counts = st.lists(st.floats(min_value=0.0, max_value=1e9, allow_nan=False), min_size=1, max_size=25)


@settings(deadline=None, max_examples=300)
@given(data=st.data(), p=counts.filter(lambda values: sum(values) > 0))
def test_jensen_shannon_distance_is_symmetric_and_in_unit_interval(data: st.DataObject, p):
    q = data.draw(
        st.lists(
            st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
            min_size=len(p),
            max_size=len(p),
        ).filter(lambda values: sum(values) > 0)
    )

    forward = jensen_shannon_distance(p, q)
    backward = jensen_shannon_distance(q, p)

    assert forward == pytest.approx(backward, abs=1e-12)
    assert 0.0 <= forward <= 1.0


def test_jensen_shannon_numeric_compare_uses_the_psi_bins() -> None:
    rng = np.random.default_rng(4)
    reference = rng.gamma(2.0, 1.0, 7_001)
    current = rng.gamma(2.5, 1.0, 3_000)
    cuts = np.quantile(reference, np.arange(1, 10) / 10, method="inverted_cdf")
    p = np.bincount(np.searchsorted(cuts, reference), minlength=10)
    q = np.bincount(np.searchsorted(cuts, current), minlength=10)
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"})

    result = profile.compare({"x": current}).features["x"].result("jensen_shannon")

    assert result.statistic == pytest.approx(distance.jensenshannon(p, q, base=2), rel=1e-9)


def test_jensen_shannon_categorical_compare_agrees_with_scipy() -> None:
    rng = np.random.default_rng(5)
    reference = rng.choice(["a", "b", "c", "d"], 5_000, p=[0.4, 0.3, 0.2, 0.1])
    current = rng.choice(["a", "b", "c", "d"], 2_000, p=[0.1, 0.2, 0.3, 0.4])
    profile = ReferenceProfile.fit({"plan": reference}, {"plan": "categorical"})
    p = [np.count_nonzero(reference == c) for c in "abcd"]
    q = [np.count_nonzero(current == c) for c in "abcd"]

    result = profile.compare({"plan": current}).features["plan"].result("jensen_shannon")

    assert result.statistic == pytest.approx(distance.jensenshannon(p, q, base=2), rel=1e-9)


def test_kl_terms_skip_the_empty_bins_of_the_first_distribution() -> None:
    p, q = np.array([0.5, 0.0, 0.5]), np.array([0.25, 0.5, 0.25])

    bins, terms = kl_terms(p, q)

    # m = (3/8, 1/4, 3/8): p log2(p / m) = 1/2 log2(4/3) in each nonempty bin.
    assert bins.tolist() == [0, 2]
    assert terms.tolist() == pytest.approx([0.5 * math.log2(4 / 3)] * 2, rel=1e-12)


def test_distance_of_is_the_root_of_the_divergence_clamped_to_0_1() -> None:
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.4, 0.0])
    divergence = 0.5 * (float(np.sum(kl_terms(p, q)[1])) + float(np.sum(kl_terms(q, p)[1])))

    assert distance_of(divergence) == jensen_shannon_distance(p, q)
    assert distance_of(0.36) == 0.6
    assert distance_of(-1e-17) == 0.0
    assert distance_of(1.0 + 1e-15) == 1.0
