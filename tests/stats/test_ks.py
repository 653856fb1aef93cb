from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from driftwarden.stats import DriftConfig, MethodResult, ReferenceProfile, ks_p_value
from driftwarden.stats.ks import ks_error_bound, ks_statistic


def ks_result(reference: NDArray[np.float64], current: NDArray[np.float64]) -> MethodResult:
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"})
    report = profile.compare({"x": current}, config=DriftConfig(min_samples=1, n_jobs=1))
    return report.features["x"].result("ks")


def test_ks_statistic_is_the_largest_absolute_difference() -> None:
    reference = np.array([0.25, 0.5, 0.75, 1.0])
    current = np.array([0.0, 0.75, 0.875, 1.0])

    assert ks_statistic(reference, current) == 0.25


def test_ks_statistic_of_no_points_is_zero() -> None:
    assert ks_statistic(np.zeros(0), np.zeros(0)) == 0.0


def test_ks_error_bound_is_the_largest_mass_both_samples_hold_inside_an_interval() -> None:
    # min per interval: 0.25, 0.0, 0.5 -> 0.5
    bound = ks_error_bound(np.array([0.25, 0.0, 0.5]), np.array([0.5, 0.5, 0.75]))

    assert bound == 0.5
    assert ks_error_bound(np.zeros(0), np.zeros(0)) == 0.0


def test_ks_p_value_equals_scipy_asymptotic_for_the_same_statistic(global_random_seed: int):
    rng = np.random.default_rng(global_random_seed)
    reference = rng.normal(0.0, 1.0, int(rng.integers(20, 3_000)))
    current = rng.normal(rng.uniform(-0.3, 0.3), 1.0, int(rng.integers(20, 3_000)))
    expected = stats.ks_2samp(reference, current, method="asymp")

    p_value = ks_p_value(float(expected.statistic), reference.size, current.size)

    assert p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(
    ("n_reference", "n_current", "statistic"),
    [
        (5_000, 5_000, 0.02),
        (20_000, 8_000, 0.015),
        (100_000, 3_000, 0.03),
        (4_100, 4_100, 0.03),
        (50_000, 50_000, 0.01),
        (200_000, 100_000, 0.004),
    ],
)
def test_ks_p_value_beyond_2000_effective_rows_is_stephens_corrected_limit(
    n_reference: int, n_current: int, statistic: float
) -> None:
    effective_n = round(n_reference * n_current / (n_reference + n_current))
    assert effective_n > 2_000
    root = np.sqrt(effective_n)
    finite_n = stats.kstwo.sf(statistic, effective_n)  # what scipy's "asymp" method returns

    p_value = ks_p_value(statistic, n_reference, n_current)

    assert p_value == pytest.approx(
        stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic), rel=1e-12
    )
    # The documented accuracy: 3e-3 just above 2000 effective rows, 1e-3 from 20,000.
    assert p_value == pytest.approx(finite_n, abs=1e-3 if effective_n >= 20_000 else 3e-3)


def test_ks_p_value_is_symmetric_in_the_sample_sizes() -> None:
    assert ks_p_value(0.1, 300, 70) == ks_p_value(0.1, 70, 300)


@pytest.mark.parametrize(("n_reference", "n_current"), [(0, 10), (10, 0), (0, 0)])
def test_ks_p_value_without_data_is_one(n_reference: int, n_current: int) -> None:
    assert ks_p_value(0.5, n_reference, n_current) == 1.0


def test_ks_p_value_golden_value() -> None:
    # Effective sample size 1000 * 1000 / 2000 = 500; scipy's kstwo gives the exact distribution.
    assert ks_p_value(0.05, 1000, 1000) == pytest.approx(stats.kstwo.sf(0.05, 500), rel=1e-12)
    assert ks_p_value(0.05, 1000, 1000) == pytest.approx(0.158663, abs=1e-6)
    assert ks_p_value(0.0, 1000, 1000) == 1.0
    assert ks_p_value(1.0, 1000, 1000) == 0.0


def test_ks_compare_agrees_with_scipy_within_the_error_bound(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    # More reference rows than grid points (2000), so that the grid is an approximation.
    reference = rng.normal(0.0, 1.0, int(rng.integers(4_000, 20_000)))
    current = rng.normal(
        rng.uniform(-0.5, 0.5), rng.uniform(0.7, 1.5), int(rng.integers(50, 5_000))
    )
    exact = stats.ks_2samp(reference, current)
    asymptotic = stats.ks_2samp(reference, current, method="asymp")

    result = ks_result(reference, current)

    assert result.error_bound is not None
    assert abs(result.statistic - exact.statistic) <= result.error_bound + 1e-12
    assert result.statistic == pytest.approx(exact.statistic, abs=1e-3)
    # The p-value is the asymptotic one of the statistic; it lies between the p-values of the
    # statistics the error bound allows, and close to scipy's.
    low = ks_p_value(exact.statistic + result.error_bound, reference.size, current.size)
    high = ks_p_value(exact.statistic - result.error_bound, reference.size, current.size)
    assert result.p_value is not None
    assert low - 1e-12 <= result.p_value <= high + 1e-12
    assert result.p_value == pytest.approx(asymptotic.pvalue, abs=0.02)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n_quantiles", [10, 100, 999, 1000, 2000])
def test_ks_compare_error_bound_holds_and_is_at_most_one_over_n_quantiles(
    n_quantiles: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.normal(0.0, 1.0, 20_000)
    current = rng.normal(0.02, 1.05, 5_000)
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, n_quantiles=n_quantiles)
    exact = stats.ks_2samp(reference, current).statistic

    result = profile.compare({"x": current}, config=DriftConfig(n_jobs=1)).features["x"]
    ks = result.result("ks")

    assert ks.error_bound is not None
    assert abs(ks.statistic - exact) <= ks.error_bound + 1e-12
    # The documented guarantee: within 1 / n_quantiles, so within 1e-3 from 1000 up.
    assert ks.error_bound < 1.0 / n_quantiles
    if n_quantiles >= 1000:
        assert abs(ks.statistic - exact) <= 1e-3


def test_ks_compare_with_the_coarsest_grid_reports_the_error_it_may_make() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0.0, 1.0, 20_000)
    current = rng.normal(0.02, 1.05, 5_000)
    # n_quantiles may be as low as n_bins: the grid is then the deciles alone.
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, n_quantiles=10)
    exact = stats.ks_2samp(reference, current).statistic

    ks = profile.compare({"x": current}, config=DriftConfig(n_jobs=1)).features["x"].result("ks")

    # Off by more than 1e-3, and the reported bound says so.
    assert ks.error_bound is not None
    assert 1e-3 < abs(ks.statistic - exact) <= ks.error_bound < 0.1


@pytest.mark.parametrize("seed", range(100))
def test_ks_compare_is_exact_on_discrete_integer_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Every value 0..9 is frequent in the reference, hence a grid edge: all mass sits on edges.
    reference = rng.integers(0, 10, int(rng.integers(1_000, 20_000))).astype(np.float64)
    weights = rng.dirichlet(np.ones(10))
    current = rng.choice(10, size=int(rng.integers(50, 5_000)), p=weights).astype(np.float64)
    exact = stats.ks_2samp(reference, current)

    result = ks_result(reference, current)

    assert result.statistic == pytest.approx(exact.statistic, abs=1e-12)
    assert result.error_bound == 0.0


def test_ks_compare_is_exact_when_the_reference_is_the_whole_grid() -> None:
    rng = np.random.default_rng(3)
    # Fewer reference rows than grid points: every reference value is an edge, and the window
    # values strictly between two edges never meet reference mass there.
    reference = rng.normal(0.0, 1.0, 1_500)
    current = rng.normal(0.2, 1.0, 800)

    result = ks_result(reference, current)

    assert result.error_bound == 0.0
    assert result.statistic == pytest.approx(
        stats.ks_2samp(reference, current).statistic, abs=1e-12
    )


def test_ks_compare_window_outside_the_reference_range_is_one() -> None:
    reference = np.linspace(0.0, 1.0, 500)

    above = ks_result(reference, np.linspace(2.0, 3.0, 400))
    below = ks_result(reference, np.linspace(-3.0, -2.0, 400))

    assert (above.statistic, below.statistic) == (1.0, 1.0)
    assert above.p_value == pytest.approx(0.0, abs=1e-12)
