"""The champion/challenger tests of an error (MSE, MAE): Welch's t on split traffic, the paired
t test in shadow mode."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

import driftwarden.stats
from driftwarden.stats.abtest import (
    LOSS_METRICS,
    ArmComparison,
    paired_loss_test,
    welch_loss_test,
)
from driftwarden.stats.errors import InsufficientDataError, StatsError


def _loss(true: NDArray[np.float64], predicted: NDArray[np.float64], metric: str) -> Any:
    errors = predicted - true
    return errors**2 if metric == "mse" else np.abs(errors)


def _arm(
    rng: np.random.Generator, n: int, error_sd: float, bias: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """True values and predictions whose errors are N(bias, error_sd)."""
    true = rng.normal(300.0, 80.0, n)
    return true, true + rng.normal(bias, error_sd, n)


# -- agreement with scipy ----------------------------------------------------------------------


@pytest.mark.parametrize("metric", LOSS_METRICS)
def test_welch_loss_test_agrees_with_scipy_ttest_ind(global_random_seed: int, metric: str) -> None:
    rng = np.random.default_rng(global_random_seed)
    n_a, n_b = (int(v) for v in rng.integers(2, 400, size=2))
    true_a, predicted_a = _arm(rng, n_a, rng.uniform(1, 30), rng.uniform(-5, 5))
    true_b, predicted_b = _arm(rng, n_b, rng.uniform(1, 30), rng.uniform(-5, 5))
    alpha = float(rng.choice([0.01, 0.05, 0.1]))

    result = welch_loss_test(true_a, predicted_a, true_b, predicted_b, metric=metric, alpha=alpha)

    loss_a, loss_b = _loss(true_a, predicted_a, metric), _loss(true_b, predicted_b, metric)
    expected = stats.ttest_ind(loss_b, loss_a, equal_var=False)
    interval = expected.confidence_interval(1 - alpha)
    assert (result.method, result.metric, result.paired) == ("welch_t", metric, False)
    assert (result.n_champion, result.n_challenger) == (n_a, n_b)
    assert result.champion == pytest.approx(loss_a.mean(), rel=1e-12)
    assert result.challenger == pytest.approx(loss_b.mean(), rel=1e-12)
    assert result.difference == pytest.approx(loss_b.mean() - loss_a.mean(), rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-300)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-7)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-7)
    assert result.alpha == alpha


@pytest.mark.parametrize("metric", LOSS_METRICS)
def test_paired_loss_test_agrees_with_scipy_ttest_rel(global_random_seed: int, metric: str) -> None:
    rng = np.random.default_rng(global_random_seed)
    n = int(rng.integers(2, 400))
    true, predicted_a = _arm(rng, n, rng.uniform(1, 30))
    predicted_b = predicted_a + rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 10), n)
    alpha = float(rng.choice([0.01, 0.05, 0.1]))

    result = paired_loss_test(true, predicted_a, predicted_b, metric=metric, alpha=alpha)

    loss_a, loss_b = _loss(true, predicted_a, metric), _loss(true, predicted_b, metric)
    expected = stats.ttest_rel(loss_b, loss_a)
    interval = expected.confidence_interval(1 - alpha)
    assert (result.method, result.metric, result.paired) == ("paired_t", metric, True)
    assert result.n_champion == result.n_challenger == n
    assert result.champion == pytest.approx(loss_a.mean(), rel=1e-12)
    assert result.challenger == pytest.approx(loss_b.mean(), rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-300)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-7, abs=1e-9)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-7, abs=1e-9)


# -- golden values -----------------------------------------------------------------------------


def test_welch_loss_test_golden_values_mae() -> None:
    # Absolute errors 1, 1, 2, 2 (mean 1.5, variance 1/3) against 0, 1, 1, 0 (mean 0.5, 1/3).
    result = welch_loss_test(
        [0, 0, 0, 0], [1, -1, 2, -2], [0, 0, 0, 0], [0, 1, -1, 0], metric="mae"
    )

    assert (result.champion, result.challenger, result.difference) == (1.5, 0.5, -1.0)
    # Equal variances and sizes: se = sqrt(2 (1/3) / 4), nu = 6, t = -1 / 0.4082 = -2.449.
    se = math.sqrt(2 * (1 / 3) / 4)
    assert result.p_value == pytest.approx(2 * stats.t.sf(1 / se, 6), rel=1e-12)
    assert result.p_value == pytest.approx(0.0498, abs=5e-5)
    assert result.significant
    half = stats.t.ppf(0.975, 6) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((-1 - half, -1 + half), rel=1e-12)


def test_paired_loss_test_golden_values_mse() -> None:
    result = paired_loss_test([3, 5, 2, 8, 6], [4, 3, 2, 11, 5], [3, 4, 3, 9, 6])

    # Squared errors 1, 4, 0, 9, 1 against 0, 1, 1, 1, 0: D = (-1, -3, 1, -8, -1).
    differences = np.array([-1.0, -3.0, 1.0, -8.0, -1.0])
    se = differences.std(ddof=1) / math.sqrt(5)
    assert (result.champion, result.challenger) == (3.0, 0.6)
    assert result.difference == pytest.approx(-2.4, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(2.4 / se, 4), rel=1e-12)
    half = stats.t.ppf(0.975, 4) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((-2.4 - half, -2.4 + half))


# -- properties --------------------------------------------------------------------------------

# Whole numbers: moving them by a whole number is exact, so the residuals stay the same.
finite = st.integers(min_value=-10_000, max_value=10_000).map(float)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(finite, finite), min_size=2, max_size=40),
    st.lists(st.tuples(finite, finite), min_size=2, max_size=40),
    st.sampled_from(LOSS_METRICS),
    st.randoms(use_true_random=False),
)
def test_welch_loss_test_depends_on_the_residuals_only_not_their_order(
    arm_a: list[tuple[float, float]],
    arm_b: list[tuple[float, float]],
    metric: str,
    random: Any,
) -> None:
    true_a, predicted_a = (np.array(v) for v in zip(*arm_a, strict=True))
    true_b, predicted_b = (np.array(v) for v in zip(*arm_b, strict=True))
    result = welch_loss_test(true_a, predicted_a, true_b, predicted_b, metric=metric)
    order_a = random.sample(range(len(arm_a)), len(arm_a))
    order_b = random.sample(range(len(arm_b)), len(arm_b))
    # Shuffled rows, and every true value and prediction moved by the same amount.
    moved = welch_loss_test(
        true_a[order_a] + 7.0,
        predicted_a[order_a] + 7.0,
        true_b[order_b] - 3.0,
        predicted_b[order_b] - 3.0,
        metric=metric,
    )

    assert result.p_value == pytest.approx(moved.p_value, rel=1e-6, abs=1e-9)
    assert result.difference == pytest.approx(moved.difference, rel=1e-6, abs=1e-6)
    assert 0.0 <= result.p_value <= 1.0
    assert result.ci_low <= result.difference <= result.ci_high


def test_swapping_the_arms_mirrors_the_result() -> None:
    rng = np.random.default_rng(3)
    true_a, predicted_a = _arm(rng, 300, 10.0)
    true_b, predicted_b = _arm(rng, 250, 12.0)
    forward = welch_loss_test(true_a, predicted_a, true_b, predicted_b)
    backward = welch_loss_test(true_b, predicted_b, true_a, predicted_a)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == pytest.approx(forward.p_value)
    assert (backward.ci_low, backward.ci_high) == pytest.approx((-forward.ci_high, -forward.ci_low))

    other = true_a + rng.normal(0, 12, 300)
    paired = paired_loss_test(true_a, predicted_a, other)
    swapped = paired_loss_test(true_a, other, predicted_a)
    assert (swapped.champion, swapped.challenger) == (paired.challenger, paired.champion)
    assert swapped.difference == pytest.approx(-paired.difference)
    assert swapped.p_value == pytest.approx(paired.p_value)


def test_constant_losses_give_p_one_when_equal_and_zero_when_not() -> None:
    same = welch_loss_test([0, 0, 0], [1, -1, 1], [5, 5], [6, 4])
    assert (same.difference, same.p_value, same.ci_low, same.ci_high) == (0.0, 1.0, 0.0, 0.0)
    apart = welch_loss_test([0, 0, 0], [1, -1, 1], [5, 5], [7, 3])
    assert (apart.difference, apart.p_value) == (3.0, 0.0)
    assert (apart.ci_low, apart.ci_high) == (3.0, 3.0)
    identical = paired_loss_test([1, 2, 3], [2, 2, 5], [2, 2, 5])
    assert (identical.difference, identical.p_value) == (0.0, 1.0)
    assert not identical.significant


def test_to_dict_is_plain_json_with_the_comparison_keys() -> None:
    result = welch_loss_test([0, 0, 0, 0], [1, -1, 2, -2], [0, 0, 0, 0], [0, 1, -1, 0])
    as_dict = result.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert ArmComparison(**as_dict) == result
    assert list(as_dict) == [
        "method", "metric", "champion", "challenger", "difference", "ci_low", "ci_high",
        "p_value", "alpha", "n_champion", "n_challenger", "paired",
    ]  # fmt: skip


def test_the_loss_tests_are_exported_from_the_package() -> None:
    assert driftwarden.stats.welch_loss_test is welch_loss_test
    assert driftwarden.stats.paired_loss_test is paired_loss_test
    assert driftwarden.stats.LOSS_METRICS == ("mse", "mae")


# -- behaviour under the null and under an effect ----------------------------------------------


def test_welch_loss_test_rejects_at_alpha_under_the_null() -> None:
    rng = np.random.default_rng(11)
    n_experiments = 2_000
    rejected = {"mse": 0, "mae": 0}
    for _ in range(n_experiments):
        n_a, n_b = (int(v) for v in rng.integers(200, 600, size=2))
        scale = rng.uniform(0.5, 5)
        true_a, predicted_a = _arm(rng, n_a, scale)
        true_b, predicted_b = _arm(rng, n_b, scale)
        for metric in rejected:
            result = welch_loss_test(true_a, predicted_a, true_b, predicted_b, metric=metric)
            rejected[metric] += result.significant

    # Measured 0.0565 (MSE: squared normal errors are skewed) and 0.0530 (MAE); 0.05 +- 3
    # standard deviations of a rate over 2,000 experiments (0.0049).
    for metric, count in rejected.items():
        assert 0.035 <= count / n_experiments <= 0.065, metric


def test_paired_loss_test_rejects_at_alpha_under_the_null() -> None:
    rng = np.random.default_rng(12)
    n_experiments = 2_000
    rejected = {"mse": 0, "mae": 0}
    for _ in range(n_experiments):
        n = int(rng.integers(200, 600))
        scale = rng.uniform(0.5, 5)
        true, shared = _arm(rng, n, scale)
        # Two equally good models whose errors share a part (the rows' own difficulty).
        predicted_a = shared + rng.normal(0, scale, n)
        predicted_b = shared + rng.normal(0, scale, n)
        for metric in rejected:
            result = paired_loss_test(true, predicted_a, predicted_b, metric=metric)
            rejected[metric] += result.significant

    # Measured 0.0550 (MSE) and 0.0550 (MAE).
    for metric, count in rejected.items():
        assert 0.035 <= count / n_experiments <= 0.065, metric


def test_a_lower_error_is_detected_and_its_difference_covered() -> None:
    rng = np.random.default_rng(13)
    true_mse = {"champion": 12.0**2, "challenger": 10.0**2}
    results = []
    for _ in range(300):
        true_a, predicted_a = _arm(rng, 500, 12.0)
        true_b, predicted_b = _arm(rng, 500, 10.0)
        results.append(welch_loss_test(true_a, predicted_a, true_b, predicted_b))
    truth = true_mse["challenger"] - true_mse["champion"]  # -44

    # The MSE's standard error per arm is sqrt(2) sigma^2 / sqrt(n) (9.1 and 6.3), so se(d) =
    # 11.1 and the power against -44 is Phi(44 / 11.1 - 1.96) = 0.978 (measured 0.973).
    assert np.mean([r.significant and r.difference < 0 for r in results]) >= 0.95
    coverage = np.mean([r.ci_low <= truth <= r.ci_high for r in results])
    assert 0.91 <= coverage <= 0.99  # measured 0.94


def test_the_paired_test_is_more_powerful_than_welch_on_the_same_rows() -> None:
    rng = np.random.default_rng(14)
    paired = welch = 0
    for _ in range(200):
        # Errors of 10 that both models share (the rows' own difficulty), then 3 against 1 of
        # their own: the MSEs are 109 and 101.
        true, shared = _arm(rng, 1_000, 10.0)
        predicted_a = shared + rng.normal(0, 3.0, 1_000)
        predicted_b = shared + rng.normal(0, 1.0, 1_000)
        paired += paired_loss_test(true, predicted_a, predicted_b).significant
        welch += welch_loss_test(true, predicted_a, true, predicted_b).significant

    # Paired: se(d) = sqrt(4 * 100 * 10 + 164) / sqrt(1000) = 2.04, power Phi(8 / 2.04 - 1.96)
    # = 0.97 (measured 0.98). Welch's se(d) = 6.9 would give 0.21 on independent arms; on the
    # same rows, whose losses move together, it is conservative too (measured 0.005).
    assert paired / 200 >= 0.9
    assert welch / 200 <= 0.4


# -- invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 0, 1], [0, 1, 1], [0, 1], [0, 1, 2]), "true_b and predicted_b must describe"),
        (([0, np.nan], [0, 1], [0, 1], [0, 1]), "true_a: expected finite numbers"),
        (([0, 1], [0, np.inf], [0, 1], [0, 1]), "predicted_a: expected finite numbers"),
        (([[0, 1]], [0, 1], [0, 1], [0, 1]), "true_a: expected a one-dimensional array"),
        ((["a", "b"], [0, 1], [0, 1], [0, 1]), "true_a: expected numbers"),
    ],
)
def test_welch_loss_test_invalid_input_raises(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(StatsError, match=match):
        welch_loss_test(*args)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 1, 2], [0, 1], [0, 1, 2]), "true, predicted_a and predicted_b must describe"),
        (([0, 1], [0, 1], [np.nan, 1]), "predicted_b: expected finite numbers"),
    ],
)
def test_paired_loss_test_invalid_input_raises(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(StatsError, match=match):
        paired_loss_test(*args)


@pytest.mark.parametrize(("n_a", "n_b"), [(1, 5), (5, 1), (0, 0)])
def test_welch_loss_test_needs_two_rows_an_arm(n_a: int, n_b: int) -> None:
    with pytest.raises(InsufficientDataError, match=rf"n_a={n_a} and n_b={n_b}"):
        welch_loss_test(np.zeros(n_a), np.ones(n_a), np.zeros(n_b), np.ones(n_b))


def test_paired_loss_test_needs_two_pairs() -> None:
    with pytest.raises(InsufficientDataError, match=r"at least 2 labelled pairs.*got 1"):
        paired_loss_test([1.0], [2.0], [3.0])


@pytest.mark.parametrize("metric", ["rmse", "accuracy", "", None])
def test_the_loss_tests_refuse_other_metrics(metric: Any) -> None:
    with pytest.raises(StatsError, match="metric must name an error, one of 'mse', 'mae'"):
        welch_loss_test([0, 1], [0, 1], [0, 1], [0, 1], metric=metric)
    with pytest.raises(StatsError, match="metric must name an error"):
        paired_loss_test([0, 1], [0, 1], [0, 1], metric=metric)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, float("nan"), "0.05", True])
def test_the_loss_tests_refuse_an_invalid_alpha(alpha: Any) -> None:
    with pytest.raises(StatsError, match="alpha must be a number in"):
        welch_loss_test([0, 1], [0, 1], [0, 1], [0, 1], alpha=alpha)
    with pytest.raises(StatsError, match="alpha must be a number in"):
        paired_loss_test([0, 1], [0, 1], [0, 1], alpha=alpha)
