"""The promotion policy of a regression model's A/B test: errors, where lower is better."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from driftwarden.core import ABTestSettings, ConfigError
from driftwarden.monitoring import ArmData, compare_arms, decide
from driftwarden.monitoring.abtest import ab_test_metric

DAY = timedelta(days=1)
REGRESSION = "regression"


def arms(n, error_a, error_b, *, seed=0, paired=False):
    """House prices and two models' predictions, their errors N(0, error_a) and N(0, error_b)."""
    rng = np.random.default_rng(seed)
    true = rng.normal(300_000, 100_000, n)
    if paired:
        return ArmData(
            true + rng.normal(0, error_a, n),
            true,
            true + rng.normal(0, error_b, n),
            true,
            paired=True,
        )
    other = rng.normal(300_000, 100_000, n)
    return ArmData(
        true + rng.normal(0, error_a, n), true, other + rng.normal(0, error_b, n), other, False
    )


SETTINGS = ABTestSettings(min_labelled=200)


@pytest.mark.parametrize(
    ("configured", "task", "resolved"),
    [
        (None, "binary_classification", "accuracy"),
        (None, "regression", "mse"),
        ("roc_auc", "binary_classification", "roc_auc"),
        ("mae", "regression", "mae"),
    ],
)
def test_the_metric_defaults_by_task(configured, task, resolved):
    assert ab_test_metric(configured, task) == resolved
    assert ABTestSettings().metric is None


@pytest.mark.parametrize(
    ("configured", "task", "message"),
    [
        ("roc_auc", "regression", "cannot decide an A/B test of a regression model; use one of "
         "mse, mae, or leave ab_test.metric unset to decide on mse"),
        ("mse", "binary_classification", "cannot decide an A/B test of a classifier; use one of "
         "accuracy, roc_auc, or leave ab_test.metric unset to decide on accuracy"),
    ],
)  # fmt: skip
def test_a_metric_of_the_other_task_is_refused_naming_the_key_and_the_choices(
    configured, task, message
):
    with pytest.raises(ConfigError, match=message) as info:
        ab_test_metric(configured, task)
    assert info.value.key == "ab_test.metric"
    settings = ABTestSettings(metric=configured)
    with pytest.raises(ConfigError, match=f"ab_test.metric = '{configured}'"):
        decide(1, arms(300, 1.0, 1.0), DAY, settings, task=task)


def test_a_classifiers_default_is_still_accuracy():
    labels = np.tile([0.0, 1.0], 200)
    data = ArmData(labels * 0.8 + 0.1, labels, labels * 0.8 + 0.1, labels, paired=False)
    assert compare_arms(data, SETTINGS).method == "two_proportion_z"


def test_a_challenger_with_a_clearly_lower_error_waits_for_the_minimum_duration_then_wins():
    # Errors of 40,000 against 30,000: the challenger's MSE is 44 % lower.
    data = arms(1000, 40_000, 30_000)
    early = decide(1, data, 2 * DAY, SETTINGS, task=REGRESSION)
    assert early.action == "continue"
    assert early.reason.startswith("better, waiting for the minimum duration")
    late = decide(1, data, 3 * DAY, SETTINGS, task=REGRESSION)
    assert late.action == "promote"
    assert late.reason.startswith("significantly better: challenger mse ")
    comparison = late.comparison
    assert comparison is not None
    assert (comparison.method, comparison.metric, comparison.paired) == ("welch_t", "mse", False)
    assert comparison.champion == pytest.approx(40_000**2, rel=0.15)
    assert comparison.challenger == pytest.approx(30_000**2, rel=0.15)
    assert comparison.difference < 0
    assert comparison.ci_high < 0
    assert comparison.p_value < 1e-6
    # The evidence is stored as JSON, in the shape every test stores.
    stats = late.statistics()
    assert json.loads(json.dumps(stats)) == stats
    assert set(stats) == {"reason", "elapsed_seconds", "comparison", "guardrails"}
    assert stats["comparison"]["difference"] == comparison.difference


def test_a_challenger_with_a_significantly_higher_error_is_rejected_at_once():
    decision = decide(1, arms(1000, 30_000, 40_000), timedelta(hours=6), SETTINGS, task=REGRESSION)
    assert decision.action == "reject"
    assert decision.reason.startswith("significantly worse: challenger mse")
    assert decision.comparison is not None
    assert decision.comparison.difference > 0
    assert decision.comparison.ci_low > 0


def test_the_minimum_effect_of_an_error_is_relative_to_the_champions():
    # Shadow mode: the challenger's errors are the champion's shrunk so that its MSE is 1.5 %
    # lower; the pairs make that highly significant.
    rng = np.random.default_rng(5)
    true = rng.normal(300_000, 100_000, 2000)
    errors = rng.normal(0, 30_000, 2000)
    data = ArmData(true + errors, true, true + np.sqrt(0.985) * errors, true, paired=True)
    decision = decide(1, data, 5 * DAY, SETTINGS, task=REGRESSION)
    comparison = decision.comparison
    assert comparison is not None
    assert comparison.method == "paired_t"
    assert comparison.significant
    assert -comparison.difference / comparison.champion == pytest.approx(0.015)
    assert decision.action == "continue"
    assert "needs a 2.0% lower mse at alpha 0.05" in decision.reason
    assert "-1.5%" in decision.reason
    assert decide(1, data, 14 * DAY, SETTINGS, task=REGRESSION).action == "end"
    lenient = ABTestSettings(min_labelled=200, min_effect=0.01)
    assert decide(1, data, 5 * DAY, lenient, task=REGRESSION).action == "promote"


def test_no_difference_in_error_decides_nothing():
    decision = decide(1, arms(1000, 30_000, 30_000, seed=3), 5 * DAY, SETTINGS, task=REGRESSION)
    assert decision.comparison is not None
    assert not decision.comparison.significant
    assert decision.action == "continue"
    assert decision.reason.startswith("not decided (needs a 2.0% lower mse")


@pytest.mark.parametrize(
    ("metric", "paired", "method"),
    [
        ("mse", False, "welch_t"),
        ("mse", True, "paired_t"),
        ("mae", False, "welch_t"),
        ("mae", True, "paired_t"),
    ],
)
def test_each_error_and_sampling_has_its_test(metric, paired, method):
    settings = ABTestSettings(metric=metric)
    comparison = compare_arms(arms(1000, 40_000, 30_000, paired=paired), settings, task=REGRESSION)
    assert (comparison.method, comparison.metric, comparison.paired) == (method, metric, paired)
    assert comparison.difference < 0
    assert comparison.significant
    if metric == "mae":
        # Mean absolute errors of N(0, sigma): sigma sqrt(2 / pi).
        assert comparison.champion == pytest.approx(40_000 * np.sqrt(2 / np.pi), rel=0.1)


def test_the_stored_metric_overrides_the_settings():
    data = arms(1000, 40_000, 30_000)
    comparison = compare_arms(data, SETTINGS, task=REGRESSION, metric="mae")
    assert comparison.metric == "mae"
