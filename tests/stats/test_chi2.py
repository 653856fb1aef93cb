from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftwarden.stats import DEFAULT_EPS, DriftConfig, ReferenceProfile, chi2_goodness_of_fit


def test_chi2_goodness_of_fit_golden_value() -> None:
    # E = (50, 50): (30 - 50)^2 / 50 + (70 - 50)^2 / 50 = 8 + 8 = 16, one degree of freedom.
    statistic, p_value = chi2_goodness_of_fit(np.array([30.0, 70.0]), np.array([0.5, 0.5]))

    assert statistic == pytest.approx(16.0, rel=1e-12)
    assert p_value == pytest.approx(stats.chi2.sf(16.0, 1), rel=1e-12)
    assert p_value == pytest.approx(6.334e-5, rel=1e-3)


def test_chi2_goodness_of_fit_agrees_with_scipy_chisquare(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    k = int(rng.integers(2, 30))
    shares = rng.dirichlet(np.ones(k))
    n = int(rng.integers(10, 10_000))
    observed = rng.multinomial(n, rng.dirichlet(np.ones(k))).astype(np.float64)
    expected = stats.chisquare(observed, observed.sum() * shares)

    statistic, p_value = chi2_goodness_of_fit(observed, shares)

    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_goodness_of_fit_single_bucket_has_nothing_to_test() -> None:
    assert chi2_goodness_of_fit(np.array([42.0]), np.array([1.0])) == (0.0, 1.0)


def test_chi2_goodness_of_fit_empty_window_has_nothing_to_test() -> None:
    assert chi2_goodness_of_fit(np.array([0.0, 0.0]), np.array([0.5, 0.5])) == (0.0, 1.0)


def categorical_chi2(reference, current, **fit) -> tuple[float, float | None]:
    profile = ReferenceProfile.fit({"c": reference}, {"c": "categorical"}, **fit)
    result = profile.compare({"c": current}, config=DriftConfig(n_jobs=1)).features["c"]
    chi2 = result.result("chi2")
    assert chi2.p_value == result.p_value
    return chi2.statistic, chi2.p_value


@pytest.mark.parametrize("seed", range(30))
def test_chi2_categorical_compare_equals_scipy_chisquare(seed: int) -> None:
    rng = np.random.default_rng(seed)
    categories = np.array(["a", "b", "c", "d", "e"])
    reference = rng.choice(categories, 4_000, p=rng.dirichlet(np.ones(5) * 5))
    current = rng.choice(categories, int(rng.integers(100, 3_000)), p=rng.dirichlet(np.ones(5) * 5))
    ref_counts = np.array([np.count_nonzero(reference == c) for c in categories])
    observed = np.array([np.count_nonzero(current == c) for c in categories])
    expected = stats.chisquare(observed, observed.sum() * ref_counts / ref_counts.sum())

    statistic, p_value = categorical_chi2(reference, current)

    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_categorical_compare_gives_unseen_categories_an_eps_bucket() -> None:
    reference = ["a"] * 600 + ["b"] * 400
    current = ["a"] * 250 + ["b"] * 240 + ["new"] * 10
    # Buckets a, b, unseen: reference shares 0.6 and 0.4 scaled by 1 - eps, then eps.
    shares = np.array([0.6 * (1 - DEFAULT_EPS), 0.4 * (1 - DEFAULT_EPS), DEFAULT_EPS])
    observed = np.array([250, 240, 10])
    expected = stats.chisquare(observed, 500 * shares)

    statistic, p_value = categorical_chi2(reference, current)

    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert statistic > 1_000


def test_chi2_categorical_compare_of_a_truncated_profile_tests_other_and_unseen() -> None:
    reference = ["a"] * 500 + ["b"] * 300 + ["c"] * 150 + ["d"] * 50
    current = ["a"] * 200 + ["b"] * 200 + ["d"] * 60 + ["zzz"] * 40
    # Two categories kept; c and d (200 rows) become "other", where d is counted; the profile
    # remembers c and d by hash, so zzz is unseen and gets the eps bucket.
    shares = np.append(np.array([0.5, 0.3, 0.2]) * (1 - DEFAULT_EPS), DEFAULT_EPS)
    observed = np.array([200, 200, 60, 40])
    expected = stats.chisquare(observed, 500 * shares)

    statistic, p_value = categorical_chi2(reference, current, max_categories=2)

    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_categorical_compare_of_a_truncated_profile_without_hashes_tests_other() -> None:
    reference = ["a"] * 500 + ["b"] * 300 + ["c"] * 150 + ["d"] * 50
    current = ["a"] * 200 + ["b"] * 200 + ["d"] * 60 + ["zzz"] * 40
    # No folded category remembered: d and zzz (100 rows) are both counted as "other".
    observed = np.array([200, 200, 100])
    expected = stats.chisquare(observed, 500 * np.array([0.5, 0.3, 0.2]))

    statistic, p_value = categorical_chi2(
        reference, current, max_categories=2, max_folded_categories=0
    )

    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_categorical_compare_of_a_single_category_is_zero() -> None:
    statistic, p_value = categorical_chi2(["only"] * 100, ["only"] * 80)

    assert (statistic, p_value) == (0.0, 1.0)
