from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from driftwarden.stats import DriftConfig, ReferenceProfile
from driftwarden.stats.wasserstein import normalised_wasserstein, wasserstein_on_grid


def compare_wasserstein(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"})
    report = profile.compare({"x": current}, config=DriftConfig(min_samples=1, n_jobs=1))
    return report.features["x"].result("wasserstein").statistic


def test_wasserstein_on_grid_point_masses_one_apart() -> None:
    edges = np.array([0.0, 1.0])

    distance = wasserstein_on_grid(edges, np.array([1.0, 0.0]), np.array([0.0, 1.0]))

    assert distance == 1.0


def test_wasserstein_on_grid_integrates_a_line_that_crosses_zero() -> None:
    # D goes linearly from +0.5 just after 0 to -0.5 just before 2: the integral of |D| is two
    # triangles of base 1 and height 0.5, 0.5 in all; the formula (a^2 + b^2) / (2(|a| + |b|))
    # times the width gives (0.25 + 0.25) / 2 * 2 = 0.5.
    edges = np.array([0.0, 2.0])

    distance = wasserstein_on_grid(edges, np.array([0.5, 0.0]), np.array([0.0, -0.5]))

    assert distance == pytest.approx(0.5, rel=1e-12)


def test_wasserstein_on_grid_integrates_a_line_of_one_sign() -> None:
    # D from 0.2 to 0.6 over a width of 3: a trapezoid of area (0.2 + 0.6) / 2 * 3 = 1.2.
    edges = np.array([1.0, 4.0])

    distance = wasserstein_on_grid(edges, np.array([0.2, 0.0]), np.array([0.0, 0.6]))

    assert distance == pytest.approx(1.2, rel=1e-12)


def test_wasserstein_on_grid_of_equal_cdfs_is_zero() -> None:
    edges = np.array([0.0, 1.0, 3.0])
    zeros = np.zeros(3)

    assert wasserstein_on_grid(edges, zeros, zeros) == 0.0


def test_wasserstein_on_grid_of_a_single_edge_is_the_outside_part() -> None:
    assert wasserstein_on_grid(np.array([5.0]), np.zeros(1), np.zeros(1), outside=2.5) == 2.5


def test_normalised_wasserstein_divides_by_the_scale() -> None:
    assert normalised_wasserstein(0.5, 2.0) == 0.25


@pytest.mark.parametrize("seed", range(100))
def test_wasserstein_compare_is_exact_on_discrete_integer_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Every value 0..9 is a grid edge; the window may also fall outside the reference's range,
    # where the distance is computed from the values themselves.
    reference = rng.integers(0, 10, int(rng.integers(1_000, 20_000))).astype(np.float64)
    low, high = sorted(rng.integers(-3, 13, 2).tolist())
    current = rng.integers(low, high + 1, int(rng.integers(50, 5_000))).astype(np.float64)
    expected = stats.wasserstein_distance(reference, current) / reference.std()

    assert compare_wasserstein(reference, current) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_wasserstein_compare_agrees_with_scipy_on_continuous_data(global_random_seed: int):
    rng = np.random.default_rng(global_random_seed)
    n_reference = int(rng.integers(4_000, 20_000))
    n_current = int(rng.integers(1_000, 5_000))
    shape = global_random_seed % 3
    if shape == 0:
        reference = rng.normal(0.0, 1.0, n_reference)
        current = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2.0), n_current)
    elif shape == 1:
        reference = rng.lognormal(0.0, 0.5, n_reference)
        current = rng.lognormal(rng.uniform(-0.5, 0.5), 0.5, n_current)
    else:
        reference = rng.uniform(0.0, 1.0, n_reference)
        current = rng.uniform(rng.uniform(-0.2, 0.2), 1.0, n_current)
    expected = stats.wasserstein_distance(reference, current) / reference.std()

    # Inside a grid interval both CDFs are taken as linear: a few percent of the distance.
    assert compare_wasserstein(reference, current) == pytest.approx(expected, rel=0.03, abs=2e-3)


def test_wasserstein_compare_of_a_shift_is_the_shift_in_standard_deviations() -> None:
    rng = np.random.default_rng(11)
    reference = rng.normal(10.0, 2.0, 10_000)

    # Every window value lies above the reference maximum: that part is computed exactly, and the
    # distance is the difference of the means.
    current = reference + 100.0

    assert compare_wasserstein(reference, current) == pytest.approx(
        100.0 / reference.std(), rel=1e-3
    )


@pytest.mark.parametrize(
    ("value", "shifted", "expected"),
    [
        (5.0, 7.0, 2.0 / 5.0),  # std 0: divided by |mean|
        (-4.0, -6.0, 2.0 / 4.0),
        (0.0, 3.0, 3.0),  # std 0 and mean 0: divided by 1
        (5.0, 5.0, 0.0),
    ],
)
def test_wasserstein_compare_of_a_constant_reference_uses_its_scale(
    value: float, shifted: float, expected: float
) -> None:
    reference = np.full(200, value)
    current = np.full(100, shifted)

    assert compare_wasserstein(reference, current) == pytest.approx(expected, rel=1e-12)
