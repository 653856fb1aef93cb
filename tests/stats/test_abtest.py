from __future__ import annotations

import dataclasses
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.metrics import roc_auc_score

from driftwarden.stats.abtest import (
    ArmComparison,
    _resampled_aucs,
    bootstrap_auc_difference,
    delong_test,
    mcnemar_test,
    two_proportion_test,
)
from driftwarden.stats.errors import InsufficientDataError, StatsError

Z_975 = stats.norm.ppf(0.975)
DOC = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"
DOC_SECTION = "## Champion/challenger tests"


def _psi(positives: NDArray[np.float64], negatives: NDArray[np.float64]) -> NDArray[np.float64]:
    """DeLong's kernel for every (positive, negative) pair: 1 above, 1/2 tied, 0 below."""
    diff = positives[:, np.newaxis] - negatives[np.newaxis, :]
    return np.where(diff > 0, 1.0, np.where(diff == 0, 0.5, 0.0))


def _delong_quadratic(
    scores_a: NDArray[np.float64], scores_b: NDArray[np.float64], labels: NDArray[np.int64]
) -> tuple[float, float, float]:
    """DeLong et al. (1988) as written in the paper, O(m n): (auc_a, auc_b, variance of b - a)."""
    positive = labels == 1
    components = []
    for scores in (scores_a, scores_b):
        kernel = _psi(scores[positive], scores[~positive])
        components.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    m, n = int(positive.sum()), int((~positive).sum())
    s10 = np.cov(np.vstack([components[0][0], components[1][0]]))
    s01 = np.cov(np.vstack([components[0][1], components[1][1]]))
    covariance = s10 / m + s01 / n
    contrast = np.array([-1.0, 1.0])
    variance = float(contrast @ covariance @ contrast)
    return float(components[0][0].mean()), float(components[1][0].mean()), variance


def _binormal_arm(
    rng: np.random.Generator, n: int, separation: float, prevalence: float = 0.4
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Scores N(separation * y, 1): the true AUC is Phi(separation / sqrt(2))."""
    labels = (rng.random(n) < prevalence).astype(np.int64)
    return rng.normal(separation * labels, 1.0), labels


def _paired_scores(
    rng: np.random.Generator, n: int, separation_a: float, separation_b: float, rho: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Two models scoring the same rows, their noise correlated by ``rho``."""
    labels = (rng.random(n) < 0.4).astype(np.int64)
    noise = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], size=n)
    return separation_a * labels + noise[:, 0], separation_b * labels + noise[:, 1], labels


def _true_auc(separation: float) -> float:
    return float(stats.norm.cdf(separation / math.sqrt(2.0)))


# -- ArmComparison -----------------------------------------------------------------------------


def test_arm_comparison_to_dict_is_plain_json_and_rebuilds_the_object() -> None:
    result = mcnemar_test([1, 1, 0, 1], [1, 0, 1, 1])

    as_dict = result.to_dict()

    assert list(as_dict) == [field.name for field in dataclasses.fields(ArmComparison)]
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert ArmComparison(**as_dict) == result
    assert type(as_dict["n_champion"]) is int
    assert type(as_dict["paired"]) is bool
    assert type(as_dict["p_value"]) is float


def test_arm_comparison_nan_becomes_none_and_is_not_significant() -> None:
    values = two_proportion_test(5, 10, 6, 10).to_dict() | {"p_value": math.nan}
    result = ArmComparison(**values)

    assert result.to_dict()["p_value"] is None
    assert result.significant is False


def test_arm_comparison_significant_is_p_below_alpha() -> None:
    result = two_proportion_test(45, 100, 60, 100)  # p = 0.0337

    assert result.significant
    assert not dataclasses.replace(result, alpha=0.01).significant
    assert not dataclasses.replace(result, p_value=0.05, alpha=0.05).significant


def test_arm_comparison_is_frozen() -> None:
    result = two_proportion_test(5, 10, 6, 10)

    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign"):
        result.p_value = 0.0  # type: ignore[misc]


# -- two_proportion_test -----------------------------------------------------------------------


def test_two_proportion_test_golden_values() -> None:
    result = two_proportion_test(45, 100, 60, 100, metric="conversion")

    pooled = 105 / 200
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    half_width = Z_975 * math.sqrt(0.45 * 0.55 / 100 + 0.6 * 0.4 / 100)
    assert z == pytest.approx(2.12398, abs=1e-5)
    assert (result.method, result.metric, result.paired) == (
        "two_proportion_z",
        "conversion",
        False,
    )
    assert (result.champion, result.challenger) == (0.45, 0.6)
    assert result.difference == pytest.approx(0.15, abs=1e-15)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-12)
    assert result.p_value == pytest.approx(0.033672, abs=1e-6)
    assert result.ci_low == pytest.approx(0.15 - half_width, rel=1e-12)
    assert result.ci_high == pytest.approx(0.15 + half_width, rel=1e-12)
    assert (result.n_champion, result.n_challenger, result.alpha) == (100, 100, 0.05)


def test_two_proportion_test_p_value_is_the_uncorrected_chi2_of_the_table(
    global_random_seed: int,
) -> None:
    rng = np.random.default_rng(global_random_seed)
    n_a, n_b = (int(v) for v in rng.integers(5, 5_000, size=2))
    s_a = int(rng.integers(1, n_a))
    s_b = int(rng.integers(1, n_b))
    table = np.array([[s_a, n_a - s_a], [s_b, n_b - s_b]])

    result = two_proportion_test(s_a, n_a, s_b, n_b)

    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.p_value == pytest.approx(p_value, rel=1e-9, abs=1e-300)
    z = result.difference / math.sqrt(
        (s_a + s_b) / (n_a + n_b) * (1 - (s_a + s_b) / (n_a + n_b)) * (1 / n_a + 1 / n_b)
    )
    assert z**2 == pytest.approx(chi2, rel=1e-9)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_two_proportion_test_interval_is_unpooled_wald(alpha: float) -> None:
    result = two_proportion_test(130, 400, 95, 250, alpha=alpha)

    p_a, p_b = 130 / 400, 95 / 250
    se = math.sqrt(p_a * (1 - p_a) / 400 + p_b * (1 - p_b) / 250)
    z = stats.norm.ppf(1 - alpha / 2)
    assert result.ci_low == pytest.approx(p_b - p_a - z * se, rel=1e-12)
    assert result.ci_high == pytest.approx(p_b - p_a + z * se, rel=1e-12)


def test_two_proportion_test_swapping_arms_mirrors_the_result() -> None:
    forward = two_proportion_test(30, 80, 50, 90)
    backward = two_proportion_test(50, 90, 30, 80)

    assert backward.difference == -forward.difference
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-14)
    assert (backward.ci_low, backward.ci_high) == pytest.approx(
        (-forward.ci_high, -forward.ci_low), rel=1e-14
    )


@pytest.mark.parametrize(("successes", "rate"), [((50, 80), 1.0), ((0, 0), 0.0)])
def test_two_proportion_test_both_arms_at_the_same_extreme_give_p_one(
    successes: tuple[int, int], rate: float
) -> None:
    result = two_proportion_test(successes[0], 50, successes[1], 80)

    assert (result.champion, result.challenger) == (rate, rate)
    assert (result.difference, result.p_value) == (0.0, 1.0)
    assert (result.ci_low, result.ci_high) == (0.0, 0.0)
    assert not result.significant


def test_two_proportion_test_zero_against_one_hundred_percent_is_finite() -> None:
    result = two_proportion_test(0, 20, 30, 30)

    # Pooled 30/50: z = 1 / sqrt(0.6 * 0.4 * (1/20 + 1/30)) = 7.07.
    assert result.p_value == pytest.approx(2 * stats.norm.sf(1 / math.sqrt(0.24 / 12)), rel=1e-9)
    assert result.difference == 1.0
    # The Wald interval has no width left when both proportions are 0 or 1 (documented).
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)


def test_two_proportion_test_interval_is_clipped_to_minus_one_one() -> None:
    result = two_proportion_test(1, 2, 2, 2)

    # 0.5 +- 1.96 * sqrt(0.25 / 2) reaches past 1.
    assert result.ci_high == 1.0
    assert result.ci_low == pytest.approx(0.5 - Z_975 * math.sqrt(0.125), rel=1e-12)


def test_two_proportion_test_rejects_at_alpha_under_the_null() -> None:
    rng = np.random.default_rng(7)
    n_experiments = 2_000
    rejected = 0
    for _ in range(n_experiments):
        rate = rng.uniform(0.3, 0.9)
        n_a, n_b = (int(v) for v in rng.integers(200, 1_000, size=2))
        result = two_proportion_test(
            int(rng.binomial(n_a, rate)), n_a, int(rng.binomial(n_b, rate)), n_b
        )
        rejected += result.significant

    # Measured 0.0535; 0.05 +- 3 standard deviations of a rate over 2,000 experiments (0.0049).
    assert 0.035 <= rejected / n_experiments <= 0.065


def test_two_proportion_test_detects_a_real_difference() -> None:
    rng = np.random.default_rng(8)
    results = [
        two_proportion_test(
            int(rng.binomial(1_000, 0.80)), 1_000, int(rng.binomial(1_000, 0.85)), 1_000
        )
        for _ in range(200)
    ]

    # Power for 0.80 against 0.85 with 1,000 rows per arm is Phi(0.05 / 0.01696 - 1.96) = 0.84.
    assert 0.75 <= np.mean([r.significant and r.difference > 0 for r in results]) <= 0.92
    # The 95% interval covers the true difference 0.05 about 95% of the time (measured 0.935).
    assert 0.90 <= np.mean([r.ci_low <= 0.05 <= r.ci_high for r in results]) <= 0.99


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 10, 5, 10), r"successes_a must be a count: a non-negative integer; got -1"),
        ((1, 10.0, 5, 10), r"n_a must be a count: a non-negative integer; got 10\.0"),
        ((1, 10, True, 10), r"successes_b must be a count: a non-negative integer; got True"),
        ((1, 10, 5, "10"), r"n_b must be a count: a non-negative integer; got '10'"),
        ((11, 10, 5, 10), r"successes_a must be at most n_a; got successes_a=11 and n_a=10"),
        ((1, 10, 12, 11), r"successes_b must be at most n_b"),
    ],
)
def test_two_proportion_test_invalid_counts_raise(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(StatsError, match=match):
        two_proportion_test(*args)


@pytest.mark.parametrize(("n_a", "n_b"), [(0, 10), (10, 0), (0, 0)])
def test_two_proportion_test_empty_arm_raises(n_a: int, n_b: int) -> None:
    with pytest.raises(InsufficientDataError, match="at least one row in each arm"):
        two_proportion_test(0, n_a, 0, n_b)


def test_two_proportion_test_accepts_numpy_integers() -> None:
    result = two_proportion_test(np.int64(45), np.int64(100), np.int32(60), np.uint16(100))

    assert result.p_value == two_proportion_test(45, 100, 60, 100).p_value
    assert type(result.n_challenger) is int


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, math.nan, math.inf, True, "0.05"])
def test_abtest_invalid_alpha_raises(alpha: Any) -> None:
    with pytest.raises(StatsError, match=r"alpha must be a number in \(0, 1\)"):
        two_proportion_test(5, 10, 6, 10, alpha=alpha)
    with pytest.raises(StatsError, match=r"alpha must be a number in \(0, 1\)"):
        mcnemar_test([1, 0], [0, 1], alpha=alpha)
    with pytest.raises(StatsError, match=r"alpha must be a number in \(0, 1\)"):
        delong_test([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], alpha=alpha)
    with pytest.raises(StatsError, match=r"alpha must be a number in \(0, 1\)"):
        bootstrap_auc_difference(
            [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], [0.1, 0.2], [0, 1], alpha=alpha
        )


@pytest.mark.parametrize("metric", ["", None, 3])
def test_abtest_invalid_metric_raises(metric: Any) -> None:
    with pytest.raises(StatsError, match="metric must be the non-empty name of a proportion"):
        two_proportion_test(5, 10, 6, 10, metric=metric)
    with pytest.raises(StatsError, match="metric must be the non-empty name of a proportion"):
        mcnemar_test([1, 0], [0, 1], metric=metric)


# -- mcnemar_test ------------------------------------------------------------------------------


def _paired_outcomes(
    both: int, only_a: int, only_b: int, neither: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    counts = [both, only_a, only_b, neither]
    return (
        np.repeat([True, True, False, False], counts),
        np.repeat([True, False, True, False], counts),
    )


def test_mcnemar_test_golden_values_chi_square() -> None:
    correct_a, correct_b = _paired_outcomes(850, 12, 30, 108)

    result = mcnemar_test(correct_a, correct_b)

    # b = 12, c = 30: chi2 = (|30 - 12| - 1)^2 / 42 = 289 / 42.
    assert result.p_value == pytest.approx(stats.chi2.sf(289 / 42, 1), rel=1e-12)
    assert result.p_value == pytest.approx(0.0087119, abs=1e-7)
    assert (result.champion, result.challenger) == (0.862, 0.88)
    assert result.difference == pytest.approx(0.018, abs=1e-15)
    half_width = Z_975 * math.sqrt(42 - 18**2 / 1000) / 1000
    assert result.ci_low == pytest.approx(0.018 - half_width, rel=1e-12)
    assert result.ci_high == pytest.approx(0.018 + half_width, rel=1e-12)
    assert (result.method, result.metric, result.paired) == ("mcnemar", "accuracy", True)
    assert (result.n_champion, result.n_challenger) == (1000, 1000)


@pytest.mark.parametrize(("only_a", "only_b"), [(0, 1), (1, 0), (3, 9), (10, 2), (0, 24), (12, 12)])
def test_mcnemar_test_below_25_discordant_pairs_is_exact_binomial(only_a: int, only_b: int) -> None:
    correct_a, correct_b = _paired_outcomes(40, only_a, only_b, 7)

    result = mcnemar_test(correct_a, correct_b)

    expected = stats.binomtest(only_b, only_a + only_b, 0.5).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12)
    assert result.p_value == pytest.approx(
        stats.binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-12
    )


@pytest.mark.parametrize(("only_a", "only_b"), [(0, 25), (10, 15), (40, 20), (100, 150)])
def test_mcnemar_test_from_25_discordant_pairs_is_corrected_chi_square(
    only_a: int, only_b: int
) -> None:
    correct_a, correct_b = _paired_outcomes(300, only_a, only_b, 50)

    result = mcnemar_test(correct_a, correct_b)

    statistic = (abs(only_b - only_a) - 1) ** 2 / (only_a + only_b)
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, 1), rel=1e-12)


def test_mcnemar_test_equal_discordant_counts_give_p_one() -> None:
    assert mcnemar_test(*_paired_outcomes(300, 20, 20, 50)).p_value == 1.0  # chi-square
    assert mcnemar_test(*_paired_outcomes(300, 5, 5, 50)).p_value == 1.0  # exact


def test_mcnemar_test_no_discordant_pair_gives_p_one_and_a_point_interval() -> None:
    correct = np.array([True, True, False, True])

    result = mcnemar_test(correct, correct)

    assert (result.difference, result.p_value, result.ci_low, result.ci_high) == (
        0.0,
        1.0,
        0.0,
        0.0,
    )
    assert result.champion == result.challenger == 0.75


def test_mcnemar_test_all_correct_on_both_sides() -> None:
    result = mcnemar_test(np.ones(50, dtype=bool), np.ones(50, dtype=bool))

    assert (result.champion, result.challenger, result.p_value) == (1.0, 1.0, 1.0)


def test_mcnemar_test_accepts_bool_int_and_float_outcomes() -> None:
    correct_a, correct_b = _paired_outcomes(30, 4, 9, 5)

    expected = mcnemar_test(correct_a, correct_b)

    assert mcnemar_test(correct_a.astype(int), correct_b.astype(np.int8)) == expected
    assert mcnemar_test(correct_a.astype(float).tolist(), correct_b.tolist()) == expected


def test_mcnemar_test_rejects_at_alpha_under_the_null() -> None:
    rng = np.random.default_rng(11)
    n_experiments = 1_000
    rejected = {"chi2": 0, "exact": 0}
    for _ in range(n_experiments):
        for path, n in (("chi2", 300), ("exact", 40)):
            # Rows differ in difficulty, shared by both models: outcomes are correlated.
            easy = rng.random(n)
            correct_a = rng.random(n) < 0.5 + 0.45 * easy
            correct_b = rng.random(n) < 0.5 + 0.45 * easy
            rejected[path] += mcnemar_test(correct_a, correct_b).significant

    # Both tests are conservative (the continuity correction, the discrete binomial): measured
    # 0.029 and 0.023 here. The upper bound is 0.05 + 3 standard deviations (0.0069).
    assert 0.01 <= rejected["chi2"] / n_experiments <= 0.07
    assert 0.01 <= rejected["exact"] / n_experiments <= 0.07


def test_mcnemar_test_is_more_powerful_than_the_split_test_on_the_same_rows() -> None:
    rng = np.random.default_rng(12)
    paired, split = 0, 0
    for _ in range(200):
        # Accuracy 0.80 against 0.83; the challenger fails on mostly the same rows as the champion.
        champion_draw = rng.random(600)
        same_row = rng.random(600) < 0.7
        challenger_draw = np.where(same_row, champion_draw, rng.random(600))
        correct_a = champion_draw < 0.80
        correct_b = challenger_draw < 0.83
        paired += mcnemar_test(correct_a, correct_b).significant
        split += two_proportion_test(
            int(correct_a.sum()), 600, int(correct_b.sum()), 600
        ).significant

    # Measured: McNemar rejects in 110 of 200, the z test (ignoring the pairing) in 24.
    assert paired / 200 >= 0.4
    assert split / 200 <= 0.2


@pytest.mark.parametrize(
    ("correct_a", "correct_b", "error", "match"),
    [
        ([1, 0, 1], [1, 0], StatsError, r"same rows; got 3 and 2 values"),
        ([1, 0, np.nan], [1, 0, 1], StatsError, r"correct_a must hold 0/1 .* 1 NaN value\(s\)"),
        (
            [1, 0, 1],
            [1, 2, 1],
            StatsError,
            r"correct_b must hold 0/1 .* other value\(s\), e\.g\. \[2\]",
        ),
        (["yes", "no"], [1, 0], StatsError, r"correct_a must hold 0/1 or bool values .* dtype <U3"),
        ([[1, 0], [0, 1]], [1, 0], StatsError, r"correct_a: expected a one-dimensional array"),
        ([], [], InsufficientDataError, r"at least one pair of predictions; got 0 rows"),
    ],
)
def test_mcnemar_test_invalid_input_raises(
    correct_a: ArrayLike, correct_b: ArrayLike, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        mcnemar_test(correct_a, correct_b)


# -- delong_test -------------------------------------------------------------------------------


def test_delong_test_agrees_with_the_quadratic_definition(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    n = int(rng.integers(8, 120))
    scores_a, scores_b, labels = _paired_scores(rng, n, 1.0, rng.uniform(0.5, 2.0), 0.5)
    labels[:2], labels[2:4] = 1, 0  # both classes at least twice
    # Rounding makes ties, within and across classes, that the midranks must count half.
    scores_a = np.round(scores_a, 1)

    result = delong_test(scores_a, scores_b, labels)

    auc_a, auc_b, variance = _delong_quadratic(scores_a, scores_b, labels)
    assert result.champion == pytest.approx(auc_a, rel=1e-12)
    assert result.challenger == pytest.approx(auc_b, rel=1e-12)
    assert result.champion == pytest.approx(roc_auc_score(labels, scores_a), rel=1e-12)
    assert result.challenger == pytest.approx(roc_auc_score(labels, scores_b), rel=1e-12)
    se = math.sqrt(variance)
    z = (auc_b - auc_a) / se
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9, abs=1e-300)
    half_width = Z_975 * se
    assert result.ci_low == pytest.approx(max(auc_b - auc_a - half_width, -1.0), abs=1e-12)
    assert result.ci_high == pytest.approx(min(auc_b - auc_a + half_width, 1.0), abs=1e-12)


def test_delong_test_golden_values() -> None:
    result = delong_test(
        [0.1, 0.4, 0.35, 0.8, 0.3, 0.9], [0.1, 0.3, 0.2, 0.8, 0.45, 0.9], [0, 0, 0, 1, 1, 1]
    )

    # Worked in the docstring: difference 2/9, variance 5/81.
    assert result.champion == pytest.approx(7 / 9, rel=1e-15)
    assert result.challenger == 1.0
    assert result.p_value == pytest.approx(
        2 * stats.norm.sf((2 / 9) / math.sqrt(5 / 81)), rel=1e-12
    )
    assert result.ci_low == pytest.approx(2 / 9 - Z_975 * math.sqrt(5 / 81), rel=1e-12)
    assert result.ci_high == pytest.approx(2 / 9 + Z_975 * math.sqrt(5 / 81), rel=1e-12)
    assert (result.method, result.metric, result.paired) == ("delong", "roc_auc", True)
    assert (result.n_champion, result.n_challenger) == (6, 6)


def test_delong_test_swapping_models_mirrors_the_result() -> None:
    rng = np.random.default_rng(3)
    scores_a, scores_b, labels = _paired_scores(rng, 300, 0.8, 1.2, 0.3)

    forward = delong_test(scores_a, scores_b, labels)
    backward = delong_test(scores_b, scores_a, labels)

    assert backward.difference == -forward.difference
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12)


def test_delong_test_identical_or_same_order_scores_give_p_one() -> None:
    rng = np.random.default_rng(4)
    scores, _, labels = _paired_scores(rng, 200, 1.0, 1.0, 0.0)

    for other in (scores, 1.0 / (1.0 + np.exp(-scores)), scores * 3.0 + 7.0):
        result = delong_test(scores, other, labels)
        assert (result.difference, result.p_value) == (0.0, 1.0)
        assert (result.ci_low, result.ci_high) == (0.0, 0.0)


def test_delong_test_zero_variance_with_a_difference_gives_p_zero() -> None:
    # The champion ties every row; the challenger separates the classes. Every structural
    # component moves by exactly 1/2: no sampling noise left, documented as p = 0.
    result = delong_test([0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])

    assert (result.champion, result.challenger, result.difference) == (0.5, 1.0, 0.5)
    assert (result.p_value, result.ci_low, result.ci_high) == (0.0, 0.5, 0.5)


def test_delong_test_rejects_at_alpha_under_the_null_and_covers_the_truth() -> None:
    rng = np.random.default_rng(13)
    n_experiments = 300
    null_rejected, covered, detected = 0, 0, 0
    true_difference = _true_auc(1.4) - _true_auc(1.0)
    for _ in range(n_experiments):
        null = delong_test(*_paired_scores(rng, 300, 1.0, 1.0, 0.6))
        null_rejected += null.significant
        alternative = delong_test(*_paired_scores(rng, 300, 1.0, 1.4, 0.6))
        covered += alternative.ci_low <= true_difference <= alternative.ci_high
        detected += alternative.significant and alternative.difference > 0

    # Measured 0.047, 0.953 and 0.91; 0.05 +- 3 standard deviations (0.0126) of 300 experiments.
    assert 0.015 <= null_rejected / n_experiments <= 0.09
    assert 0.91 <= covered / n_experiments <= 0.985
    assert detected / n_experiments >= 0.8


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (
            [1, 1, 1, 1, 1],
            r"at least 2 positive and 2 negative labels in labels.* 5 positive and 0",
        ),
        ([0, 0, 0, 0, 1], r"got 1 positive and 4 negative"),
        ([0, 0, 0, 0, 0], r"got 0 positive and 5 negative"),
    ],
)
def test_delong_test_needs_two_of_each_class(labels: list[int], match: str) -> None:
    scores = [0.1, 0.2, 0.3, 0.4, 0.5]

    with pytest.raises(InsufficientDataError, match=match):
        delong_test(scores, scores, labels)


@pytest.mark.parametrize(
    ("scores_a", "scores_b", "labels", "match"),
    [
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3], [0, 1, 0, 1], r"got 4, 3 and 4 values"),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0, 1, 0], r"got 4, 4 and 3 values"),
        ([0.1, np.nan, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], r"scores_a: expected finite"),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, np.inf, 0.4], [0, 1, 0, 1], r"scores_b: expected finite"),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 2], r"labels must hold 0/1"),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0, 1, np.nan, 1], r"labels .* NaN"),
        (["a", "b", "c", "d"], [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], r"scores_a: expected numbers"),
    ],
)
def test_delong_test_invalid_input_raises(
    scores_a: ArrayLike, scores_b: ArrayLike, labels: ArrayLike, match: str
) -> None:
    with pytest.raises(StatsError, match=match):
        delong_test(scores_a, scores_b, labels)


# -- bootstrap_auc_difference ------------------------------------------------------------------


def test_bootstrap_resampled_aucs_are_the_aucs_of_the_resamples() -> None:
    rng = np.random.default_rng(5)
    positives = np.round(rng.normal(0.7, 1.0, 40), 1)  # ties within and across classes
    negatives = np.sort(np.round(rng.normal(0.0, 1.0, 60), 1))
    below = np.searchsorted(negatives, positives, side="left")
    at_most = np.searchsorted(negatives, positives, side="right")
    positive_draws = rng.integers(0, 40, size=(25, 40))
    negative_draws = rng.integers(0, 60, size=(25, 60))

    aucs = _resampled_aucs(below, at_most, positive_draws, negative_draws)

    for row in range(25):
        drawn_positives = positives[positive_draws[row]]
        drawn_negatives = negatives[negative_draws[row]]
        labels = np.r_[np.ones(40), np.zeros(60)]
        expected = roc_auc_score(labels, np.r_[drawn_positives, drawn_negatives])
        assert aucs[row] == pytest.approx(expected, rel=1e-12)


def test_bootstrap_point_aucs_are_sklearns(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    scores_a, labels_a = _binormal_arm(rng, int(rng.integers(20, 300)), 1.0)
    scores_b, labels_b = _binormal_arm(rng, int(rng.integers(20, 300)), 1.5)
    scores_b = np.round(scores_b, 1)
    labels_a[:2], labels_a[2:4], labels_b[:2], labels_b[2:4] = 1, 0, 1, 0

    result = bootstrap_auc_difference(scores_a, labels_a, scores_b, labels_b, n_resamples=100)

    assert result.champion == pytest.approx(roc_auc_score(labels_a, scores_a), rel=1e-12)
    assert result.challenger == pytest.approx(roc_auc_score(labels_b, scores_b), rel=1e-12)
    assert result.difference == result.challenger - result.champion
    assert (result.n_champion, result.n_challenger) == (len(labels_a), len(labels_b))
    assert (result.method, result.metric, result.paired) == ("bootstrap", "roc_auc", False)


def test_bootstrap_large_effect_is_significant_and_covered() -> None:
    rng = np.random.default_rng(6)
    scores_a, labels_a = _binormal_arm(rng, 2_000, 0.5)
    scores_b, labels_b = _binormal_arm(rng, 2_000, 1.5)
    true_difference = _true_auc(1.5) - _true_auc(0.5)  # 0.217

    result = bootstrap_auc_difference(scores_a, labels_a, scores_b, labels_b)

    assert result.ci_low <= true_difference <= result.ci_high
    assert result.ci_low > 0.15
    assert result.p_value == 1 / 1001  # no resample at or below 0: the floor
    assert result.significant


def test_bootstrap_identical_arms_give_a_large_p_value() -> None:
    rng = np.random.default_rng(9)
    scores, labels = _binormal_arm(rng, 500, 1.0)

    result = bootstrap_auc_difference(scores, labels, scores, labels)

    # Both arms are resampled independently from the same data: the differences are
    # symmetric around 0.
    assert result.difference == 0.0
    assert result.p_value > 0.8
    assert result.ci_low < 0.0 < result.ci_high
    assert result.ci_low == pytest.approx(-result.ci_high, rel=0.15)


def test_bootstrap_perfect_separation_in_both_arms_gives_p_one() -> None:
    result = bootstrap_auc_difference(
        [0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [1, 2, 3, 4, 5], [0, 0, 0, 1, 1]
    )

    assert (result.champion, result.challenger, result.difference) == (1.0, 1.0, 0.0)
    assert (result.p_value, result.ci_low, result.ci_high) == (1.0, 0.0, 0.0)


def test_bootstrap_standard_error_matches_the_delong_variance() -> None:
    rng = np.random.default_rng(10)
    arms = [_binormal_arm(rng, 600, 0.8), _binormal_arm(rng, 400, 1.2)]
    # The stratified bootstrap variance of an AUC is var(V10)/m + var(V01)/n (population
    # variances) up to O(1/(m n)); the arms are independent, so their variances add.
    variance = 0.0
    for scores, labels in arms:
        kernel = _psi(scores[labels == 1], scores[labels == 0])
        variance += kernel.mean(axis=1).var() / kernel.shape[0]
        variance += kernel.mean(axis=0).var() / kernel.shape[1]
    expected_se = math.sqrt(variance)

    result = bootstrap_auc_difference(*arms[0], *arms[1], n_resamples=2_000, alpha=0.3173)

    # alpha = 0.3173 makes the interval +-1 standard error for a normal distribution. The
    # Monte Carlo error of a 2,000-resample quantile is a few percent.
    assert (result.ci_high - result.ci_low) / 2 == pytest.approx(expected_se, rel=0.1)


def test_bootstrap_rejects_at_alpha_under_the_null_and_covers_the_truth() -> None:
    rng = np.random.default_rng(14)
    null_rejected, covered = 0, 0
    true_difference = _true_auc(1.4) - _true_auc(1.0)
    for seed in range(300):
        null = bootstrap_auc_difference(
            *_binormal_arm(rng, 200, 1.0), *_binormal_arm(rng, 150, 1.0), n_resamples=200, seed=seed
        )
        null_rejected += null.significant
    for seed in range(150):
        alternative = bootstrap_auc_difference(
            *_binormal_arm(rng, 300, 1.0), *_binormal_arm(rng, 300, 1.4), n_resamples=200, seed=seed
        )
        covered += alternative.ci_low <= true_difference <= alternative.ci_high

    # Measured 0.063 and 0.92: the percentile interval is a little narrow with 60-120 rows of
    # a class and 200 resamples. 0.05 +- 3.8 standard deviations (0.0126) of 300 experiments.
    assert 0.01 <= null_rejected / 300 <= 0.10
    assert 0.88 <= covered / 150 <= 0.99


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    rng = np.random.default_rng(15)
    arms = (*_binormal_arm(rng, 300, 1.0), *_binormal_arm(rng, 300, 1.1))

    first = bootstrap_auc_difference(*arms, seed=42)

    assert bootstrap_auc_difference(*arms, seed=42) == first
    assert bootstrap_auc_difference(*arms, seed=43).ci_low != first.ci_low


@pytest.mark.parametrize(
    ("labels_a", "labels_b", "match"),
    [
        ([1, 1, 1, 1], [0, 1, 0, 1], r"at least 2 positive and 2 negative labels in labels_a"),
        ([0, 1, 0, 1], [0, 0, 0, 1], r"labels_b, .*got 1 positive and 3 negative"),
    ],
)
def test_bootstrap_needs_two_of_each_class_per_arm(
    labels_a: list[int], labels_b: list[int], match: str
) -> None:
    scores = [0.1, 0.2, 0.3, 0.4]

    with pytest.raises(InsufficientDataError, match=match):
        bootstrap_auc_difference(scores, labels_a, scores, labels_b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"scores_a": [0.1, 0.2, 0.3]},
            r"scores_a and labels_a must describe the same rows; got 3",
        ),
        ({"labels_b": [0, 1, 0]}, r"scores_b and labels_b must describe the same rows"),
        ({"scores_b": [0.1, math.nan, 0.3, 0.4]}, r"scores_b: expected finite numbers"),
        ({"labels_a": [0, 1, 0, -1]}, r"labels_a must hold 0/1"),
        ({"n_resamples": 99}, r"n_resamples must be an integer of at least 100; got 99"),
        ({"n_resamples": 1000.0}, r"n_resamples must be an integer of at least 100"),
        ({"seed": -1}, r"seed must be an integer of at least 0; got -1"),
        ({"seed": None}, r"seed must be an integer of at least 0; got None"),
    ],
)
def test_bootstrap_invalid_input_raises(kwargs: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "scores_a": [0.1, 0.2, 0.3, 0.4],
        "labels_a": [0, 1, 0, 1],
        "scores_b": [0.1, 0.2, 0.3, 0.4],
        "labels_b": [0, 1, 0, 1],
    }

    with pytest.raises(StatsError, match=match):
        bootstrap_auc_difference(**(arguments | kwargs))


# -- docs/statistics.md ------------------------------------------------------------------------


def _doc_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(DOC_SECTION)
    end = text.find("\n## ", start + len(DOC_SECTION))
    return text[start:] if end == -1 else text[start:end]


def _assert_printed(value: float, printed: str) -> None:
    decimals = -Decimal(printed).as_tuple().exponent
    assert isinstance(decimals, int)
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals, (value, printed)


def test_abtest_doc_example_numbers_are_the_engines() -> None:
    section = _doc_section()
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    bold = {
        block.split("**")[1].rstrip("."): re.findall(r"\*\*(.+?)\*\*", block)[1:]
        for block in re.split(r"\n(?=- \*\*)", section)
        if block.startswith("- **")
    }

    split, shadow = namespace["split"], namespace["shadow"]
    # A guard on the parsing: a reworded page fails here instead of checking less.
    assert [len(bold["Split traffic"]), len(bold["Shadow mode"])] == [5, 5]
    for result, printed in ((split, bold["Split traffic"]), (shadow, bold["Shadow mode"])):
        difference, p_value, ci_low, ci_high, verdict = printed
        _assert_printed(result.difference, difference)
        _assert_printed(result.p_value, p_value)
        _assert_printed(result.ci_low, ci_low)
        _assert_printed(result.ci_high, ci_high)
        assert verdict == ("significant" if result.significant else "not significant")
