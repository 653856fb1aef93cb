from __future__ import annotations

import math
import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from driftwarden.stats._binning import GridLocator, inverted_cdf_quantiles

FLOAT_MAX = sys.float_info.max


def exact_quantiles(sorted_values: NDArray[np.float64], levels: list[Fraction]) -> list[float]:
    """Inverted-CDF quantiles in rational arithmetic: the smallest v with F(v) >= u."""
    n = len(sorted_values)
    return [float(sorted_values[max(math.ceil(u * n) - 1, 0)]) for u in levels]


@pytest.mark.parametrize("n", [1, 2, 3, 9, 10, 25, 100, 1_000, 4_001])
@pytest.mark.parametrize("n_steps", [1, 7, 10, 2_000])
def test_inverted_cdf_quantiles_are_exact(n: int, n_steps: int) -> None:
    values = np.sort(np.random.default_rng(n).normal(size=n))
    steps = np.arange(n_steps + 1)

    quantiles = inverted_cdf_quantiles(values, steps, n_steps)

    levels = [Fraction(int(k), n_steps) for k in steps]
    assert quantiles.tolist() == exact_quantiles(values, levels)


def test_inverted_cdf_quantiles_do_not_skip_a_value_at_a_float_rounding_level() -> None:
    # 0.3 * 10 == 3.0000000000000004 in floating point; the 30% quantile of 0..9 is 2.
    values = np.arange(10.0)

    assert inverted_cdf_quantiles(values, np.array([3]), 10).tolist() == [2.0]


def test_inverted_cdf_quantiles_at_deciles_equal_numpy() -> None:
    rng = np.random.default_rng(0)
    for n in range(1, 3_000, 7):
        values = np.sort(rng.normal(size=n))

        ours = inverted_cdf_quantiles(values, np.arange(1, 10), 10)

        expected = np.quantile(values, np.arange(1, 10) / 10, method="inverted_cdf")
        assert ours.tolist() == expected.tolist()


def _edges_of(sample: NDArray[np.float64], n_quantiles: int = 2_000) -> NDArray[np.float64]:
    """The grid a numeric profile keeps: distinct inverted-CDF quantiles of the sample."""
    ordered = np.sort(sample)
    return np.unique(inverted_cdf_quantiles(ordered, np.arange(n_quantiles + 1), n_quantiles))


def _probe_values(edges: NDArray[np.float64], sample: NDArray[np.float64]) -> NDArray[np.float64]:
    """The sample, every edge and its two float neighbours, and far values on both sides."""
    far = [-np.inf, -FLOAT_MAX, -1e300, -1e15, 0.0, 1e15, 1e300, FLOAT_MAX, np.inf]
    with np.errstate(over="ignore"):  # the neighbour of the largest float is inf
        above, below = np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)
    return np.concatenate((sample, edges, above, below, np.array(far)))


Sampler = Callable[[np.random.Generator], NDArray[Any]]

DISTRIBUTIONS: dict[str, Sampler] = {
    "normal": lambda rng: rng.normal(0.0, 1.0, 50_000),
    "lognormal_sigma2": lambda rng: rng.lognormal(0.0, 2.0, 50_000),
    "cauchy": lambda rng: rng.standard_t(1, 50_000),
    "poisson": lambda rng: rng.poisson(3.0, 50_000).astype(np.float64),
    "two_valued": lambda rng: rng.choice([-1.5, 4.0], 50_000, p=[0.9, 0.1]),
    "constant": lambda rng: np.full(1_000, 3.25),
    "constant_beyond_2_53": lambda rng: np.full(1_000, 1e17),
    "huge": lambda rng: rng.normal(0.0, 1e300, 20_000),
    "huge_and_narrow": lambda rng: 1e300 * (1.0 + rng.normal(0.0, 1e-12, 20_000)),
    "spanning_every_float": lambda rng: rng.choice([-FLOAT_MAX, -1.0, 0.0, 1.0, FLOAT_MAX], 5_000),
    "span_past_float_max": lambda rng: rng.uniform(-1.0, 1.0, 20_000) * FLOAT_MAX,
    "nanosecond_timestamps": lambda rng: 1.7e18 + 256.0 * rng.integers(0, 1_000, 20_000),
    "two_timestamps": lambda rng: 1.7e18 + 256.0 * rng.integers(0, 2, 1_000),
    "one_ulp_apart": lambda rng: 1.0 + np.spacing(1.0) * rng.integers(0, 5_000, 20_000),
    "subnormal": lambda rng: 5e-324 * rng.integers(0, 5_000, 20_000),
    "tiny": lambda rng: rng.normal(0.0, 1e-300, 20_000),
    "integers_with_far_outliers": lambda rng: np.concatenate(
        (rng.integers(0, 100, 20_000).astype(np.float64), [-1e250, 1e250])
    ),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_grid_locator_locate_equals_searchsorted(name: str) -> None:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    edges = _edges_of(DISTRIBUTIONS[name](rng))
    values = _probe_values(edges, DISTRIBUTIONS[name](rng))

    located = GridLocator(edges).locate(values)

    np.testing.assert_array_equal(located, np.searchsorted(edges, values, side="left"))


@pytest.mark.parametrize("n_quantiles", [1, 2, 3, 10, 200, 20_000])
def test_grid_locator_locate_equals_searchsorted_for_any_grid_size(n_quantiles: int) -> None:
    rng = np.random.default_rng(n_quantiles)
    edges = _edges_of(rng.standard_t(2, 30_000), n_quantiles)
    values = _probe_values(edges, rng.standard_t(2, 30_000))

    located = GridLocator(edges).locate(values)

    np.testing.assert_array_equal(located, np.searchsorted(edges, values, side="left"))


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(deadline=None, max_examples=300)
@given(
    edges=st.lists(finite, min_size=1, max_size=60, unique=True),
    values=st.lists(st.floats(allow_nan=False), max_size=60),
)
def test_grid_locator_locate_equals_searchsorted_on_any_floats(edges, values) -> None:
    grid = np.unique(np.array(edges, dtype=np.float64))
    x = np.concatenate((np.array(values, dtype=np.float64), grid))

    located = GridLocator(grid).locate(x)

    np.testing.assert_array_equal(located, np.searchsorted(grid, x, side="left"))


def test_grid_locator_locate_of_no_values_is_empty() -> None:
    located = GridLocator(np.array([0.0, 1.0])).locate(np.zeros(0))

    assert located.shape == (0,)


def test_grid_locator_exposes_its_edges_and_the_padded_edges() -> None:
    edges = np.array([1.0, 2.0, 4.0])
    locator = GridLocator(edges)

    assert locator.edges is edges
    assert locator.padded_edges.tolist() == [1.0, 2.0, 4.0, math.inf]
    # Every result of locate indexes the padded edges.
    assert locator.padded_edges[locator.locate(np.array([9.0]))].tolist() == [math.inf]
