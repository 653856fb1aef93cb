from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from driftwarden.stats import DriftConfig, MethodResult, ReferenceProfile
from driftwarden.stats.wasserstein import (
    _spread_evenly,
    integrate_between_edges,
    interval_integrals,
    normalised_wasserstein,
    wasserstein_on_grid,
)

SERIAL = DriftConfig(min_samples=1, n_jobs=1)


def wasserstein_result(
    reference: NDArray[np.float64], current: NDArray[np.float64], **fit: Any
) -> MethodResult:
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, **fit)
    return profile.compare({"x": current}, config=SERIAL).features["x"].result("wasserstein")


def compare_wasserstein(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    return wasserstein_result(reference, current).statistic


def scipy_wasserstein(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    return float(stats.wasserstein_distance(reference, current) / reference.std())


def assert_within_error_bound(result: MethodResult, expected: float) -> None:
    """The bound is a proof: the engine is within it of the exact value, up to rounding."""
    assert result.error_bound is not None
    assert abs(result.statistic - expected) <= result.error_bound + 1e-9 * expected + 1e-12


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
    expected = scipy_wasserstein(reference, current)

    result = wasserstein_result(reference, current)

    assert_within_error_bound(result, expected)
    # Exact but where the CDFs cross inside a grid interval: measured within 0.3% and 1e-3.
    assert result.statistic == pytest.approx(expected, rel=0.01, abs=2e-3)


def _heavy_tailed(kind: str, rng: np.random.Generator) -> tuple[NDArray[Any], NDArray[Any]]:
    n_reference = int(rng.integers(4_000, 20_000))
    n_current = int(rng.integers(1_000, 5_000))
    if kind == "lognormal_shifted":
        reference = rng.lognormal(0.0, 1.0, n_reference)
        return reference, rng.lognormal(rng.uniform(-0.5, 0.5), 1.0, n_current)
    if kind == "lognormal_same":
        return rng.lognormal(0.0, 1.0, n_reference), rng.lognormal(0.0, 1.0, n_current)
    if kind == "pareto":
        # Lomax with tail index 2.5 (finite std), the window's between 1.5 and 3.5.
        return rng.pareto(2.5, n_reference), rng.pareto(rng.uniform(1.5, 3.5), n_current)
    # A latency-like feature: log-normal service time plus exponential queueing, in 0.1 ms.
    reference = np.round(rng.lognormal(4.0, 1.2, n_reference) + rng.exponential(30, n_reference), 1)
    current = np.round(rng.lognormal(4.1, 1.2, n_current) + rng.exponential(30, n_current), 1)
    return reference, current


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["lognormal_shifted", "lognormal_same", "pareto", "latency"])
def test_wasserstein_compare_agrees_with_scipy_on_heavy_tailed_data(kind: str, seed: int) -> None:
    reference, current = _heavy_tailed(kind, np.random.default_rng(seed))
    expected = scipy_wasserstein(reference, current)

    result = wasserstein_result(reference, current)

    assert_within_error_bound(result, expected)
    # Between the largest reference values the grid intervals are many standard deviations wide;
    # where the CDFs cross in one, only the bound is known there. Measured over these seeds: at
    # most 1.2e-3 standard deviations off, so 3e-3 (3% of the warning threshold 0.1) leaves a
    # margin; relative errors are large only for distances far below any threshold.
    assert result.statistic == pytest.approx(expected, rel=0.02, abs=3e-3)


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


def test_wasserstein_compare_of_a_profile_without_positions_is_within_its_wider_bound() -> None:
    rng = np.random.default_rng(5)
    reference, current = rng.lognormal(0.0, 1.0, 10_000), rng.lognormal(0.3, 1.0, 3_000)
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"})
    data = profile.to_dict()
    # A profile written before the mean positions between edges were kept.
    del data["features"][0]["open_positions"]
    legacy = ReferenceProfile.from_dict(data)
    expected = scipy_wasserstein(reference, current)

    fitted = profile.compare({"x": current}, config=SERIAL).features["x"].result("wasserstein")
    result = legacy.compare({"x": current}, config=SERIAL).features["x"].result("wasserstein")

    assert_within_error_bound(result, expected)
    assert result.error_bound is not None
    assert fitted.error_bound is not None
    assert result.error_bound > fitted.error_bound
    assert result.statistic == pytest.approx(expected, rel=0.01)


def test_wasserstein_compare_of_discrete_data_has_no_error_bound() -> None:
    rng = np.random.default_rng(6)
    reference = rng.integers(0, 10, 5_000).astype(np.float64)

    result = wasserstein_result(reference, rng.integers(2, 14, 2_000).astype(np.float64))

    assert result.error_bound == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_wasserstein_compare_is_exact_and_finite_near_the_float_maximum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Discrete, so exact; the window reaches past the reference on both sides, where distances
    # (up to 3.4e308) and their sums are beyond the largest float.
    levels = np.array([-1.7e308, -1e308, -1.0, 0.0, 5e307, 1e308, sys.float_info.max])
    reference = rng.choice(levels[1:-1], 2_000)
    current = rng.choice(levels, 1_000)
    # Normalised Wasserstein does not change when every value is divided by a power of two.
    expected = scipy_wasserstein(np.ldexp(reference, -1000), np.ldexp(current, -1000))

    result = wasserstein_result(reference, current)

    assert math.isfinite(result.statistic)
    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert result.error_bound == 0.0


def test_wasserstein_compare_of_continuous_values_near_the_float_maximum_is_within_bound():
    rng = np.random.default_rng(7)
    reference = rng.uniform(-1.0, 1.0, 5_000) * 1.7e308
    current = np.clip(rng.normal(0.3, 0.6, 2_000), -1.0, 1.0) * sys.float_info.max
    expected = scipy_wasserstein(np.ldexp(reference, -1000), np.ldexp(current, -1000))

    result = wasserstein_result(reference, current)

    assert_within_error_bound(result, expected)
    assert result.statistic == pytest.approx(expected, rel=1e-3)


def test_wasserstein_compare_beyond_the_largest_float_is_capped_at_it() -> None:
    # The distance is about 1.8e308 and the scale (|mean| of a constant reference) 5e-324.
    result = wasserstein_result(np.full(100, 5e-324), np.full(100, sys.float_info.max))

    assert result.statistic == sys.float_info.max
    assert result.error_bound == 0.0


def _integral_of_abs_difference(
    start: float,
    reference: NDArray[np.float64],
    rise: float,
    current: NDArray[np.float64],
    fall: float,
) -> float:
    """The exact integral over [0, 1] of ``|D|``, for samples inside (0, 1) carrying masses
    ``rise`` and ``fall``, and D equal to ``start`` at 0."""
    points = np.unique(np.concatenate(([0.0, 1.0], reference, current)))
    left = points[:-1]
    # D on [left_i, left_{i+1}): both CDFs step at the points.
    steps = (
        start
        + rise * np.searchsorted(np.sort(reference), left, side="right") / reference.size
        - fall * np.searchsorted(np.sort(current), left, side="right") / current.size
    )
    return float(np.sum(np.abs(steps) * np.diff(points)))


@pytest.mark.parametrize("seed", range(200))
def test_integrate_between_edges_bounds_the_exact_integral_in_one_interval(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Samples inside one interval [0, 1] (width 1), each a small share of its whole sample, and
    # D just after the lower edge of either sign: the CDFs cross inside or not.
    reference = rng.beta(*rng.uniform(0.3, 3.0, 2), int(rng.integers(1, 30)))
    current = rng.beta(*rng.uniform(0.3, 3.0, 2), int(rng.integers(1, 30)))
    rise, fall = rng.uniform(0.0, 0.01, 2)
    start = rng.uniform(-0.01, 0.01)
    exact = _integral_of_abs_difference(start, reference, rise, current, fall)

    estimate, bound = integrate_between_edges(
        np.ones(1), np.array([start]), np.array([rise]), np.array([fall]),
        np.array([reference.mean()]), np.array([current.mean()]),
    )  # fmt: skip

    assert abs(estimate - exact) <= bound + 1e-15
    # Never worse than knowing only that |D| <= |start| + max(rise, fall).
    assert bound <= abs(start) + max(rise, fall)


def test_integrate_between_edges_is_exact_where_the_difference_keeps_its_sign() -> None:
    # D starts at 0.05 and moves by at most 0.01 either way: it never reaches 0, and the integral
    # is the signed one: width 3 * (0.05 + 0.01 * (1 - 0.2) - 0.01 * (1 - 0.9)) = 0.171.
    estimate, bound = integrate_between_edges(
        np.array([3.0]), np.array([0.05]), np.array([0.01]), np.array([0.01]),
        np.array([0.2]), np.array([0.9]),
    )  # fmt: skip

    assert estimate == pytest.approx(0.171, rel=1e-12)
    assert bound == 0.0


def test_integrate_between_edges_without_reference_positions_allows_for_any() -> None:
    # The reference mass 0.01 may lie anywhere in the interval of width 2: 0.5 * 0.01 * 2 either
    # way around the even spread.
    estimate, bound = integrate_between_edges(
        np.array([2.0]), np.array([0.05]), np.array([0.01]), np.array([0.0]), None,
        np.array([0.5]),
    )  # fmt: skip

    assert estimate == pytest.approx(2.0 * (0.05 + 0.005), rel=1e-12)
    assert bound == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_spread_evenly_integrates_the_uniform_model_exactly(seed: int) -> None:
    # Brute force: D of the model (each sample's mass uniform on the widest sub-interval touching
    # an end, centred on its mean position) on a fine grid of midpoints, including means at the
    # ends and the middle, where a support has no width or spans the whole interval.
    rng = np.random.default_rng(seed)
    k = 40
    start, rise, fall = rng.normal(0, 0.01, k), rng.random(k) * 0.02, rng.random(k) * 0.02
    positions = [rng.random(k), rng.random(k)]
    for position in positions:
        position[:12] = rng.choice([0.0, 0.5, 1.0], 12)

    def model_cdf(t: NDArray[Any], position: NDArray[Any]) -> NDArray[Any]:
        p = position[:, None]
        low = np.where(p <= 0.5, 0.0, 2 * p - 1)
        high = np.where(p <= 0.5, 2 * p, 1.0)
        width = high - low
        ramp = np.clip((t - low) / np.where(width > 0, width, 1.0), 0, 1)
        return np.where(width > 0, ramp, (t >= low).astype(float))

    t = (np.arange(200_000) + 0.5) / 200_000
    d = (
        start[:, None]
        + rise[:, None] * model_cdf(t, positions[0])
        - fall[:, None] * model_cdf(t, positions[1])
    )
    expected = np.abs(d).mean(axis=1)

    got = _spread_evenly(start, rise, positions[0], fall, positions[1])

    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("known", [True, False])
def test_interval_integrals_of_each_interval_do_not_depend_on_the_others(known: bool) -> None:
    # Intervals where the CDFs may cross and where they may not, worked out together and one at a
    # time; integrate_between_edges is their sum weighted by the widths.
    rng = np.random.default_rng(21)
    k = 60
    widths, start = rng.uniform(0.1, 2.0, k), rng.normal(0, 0.01, k)
    rise, fall = rng.random(k) * 0.02, rng.random(k) * 0.02
    reference = rng.random(k) if known else np.full(k, 0.5)
    current = rng.random(k)
    slack = None if known else 0.5 * rise
    may_cross = (start - fall < 0) & (start + rise > 0)

    estimate, bound = interval_integrals(start, rise, fall, reference, current, slack)
    one_by_one = [
        interval_integrals(
            start[[i]], rise[[i]], fall[[i]], reference[[i]], current[[i]],
            None if slack is None else slack[[i]],
        )
        for i in range(k)
    ]  # fmt: skip
    total, total_bound = integrate_between_edges(
        widths, start, rise, fall, reference if known else None, current
    )

    assert 0 < may_cross.sum() < k
    assert estimate.tolist() == [float(e[0]) for e, _ in one_by_one]
    assert bound.tolist() == [float(b[0]) for _, b in one_by_one]
    assert (total, total_bound) == (float(np.dot(estimate, widths)), float(np.dot(bound, widths)))
    # Where the CDFs cannot cross and the positions are known, the signed integral is exact.
    assert np.all(bound[~may_cross] == 0.0) == known


def test_interval_integrals_with_zero_slack_equal_those_with_none() -> None:
    rng = np.random.default_rng(4)
    k = 40
    arrays = (rng.normal(0, 0.01, k), rng.random(k) * 0.02, rng.random(k) * 0.02)
    positions = (rng.random(k), rng.random(k))

    with_none = interval_integrals(arrays[0], arrays[1], arrays[2], *positions)
    with_zeros = interval_integrals(arrays[0], arrays[1], arrays[2], *positions, np.zeros(k))

    assert with_none[0].tolist() == with_zeros[0].tolist()
    assert with_none[1].tolist() == with_zeros[1].tolist()
