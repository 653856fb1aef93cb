"""The promotion policy on arms with known properties: every way a test ends, and when."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from driftwarden.core import ABTestSettings
from driftwarden.monitoring import ArmData, Guardrails, compare_arms, decide

DAY = timedelta(days=1)


def arms(n, accuracy_a, accuracy_b, *, seed=0, paired=False):
    """Scores whose thresholded predictions are right with the given probabilities."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)

    def scores(accuracy, labels):
        right = rng.random(len(labels)) < accuracy
        predicted = np.where(right, labels, 1 - labels)
        # Informative scores: higher for predicted positives, with noise for the AUC.
        return np.clip(0.5 + (predicted - 0.5) * rng.uniform(0.05, 0.9, len(labels)), 0, 1)

    if paired:
        return ArmData(
            scores(accuracy_a, labels), labels, scores(accuracy_b, labels), labels, paired=True
        )
    other = rng.integers(0, 2, n)
    return ArmData(
        scores(accuracy_a, labels), labels, scores(accuracy_b, other), other, paired=False
    )


SETTINGS = ABTestSettings(min_labelled=200)


def test_a_clearly_better_challenger_waits_for_the_minimum_duration_then_is_promoted():
    data = arms(3000, 0.70, 0.80)
    early = decide(1, data, 2 * DAY, SETTINGS)
    assert early.action == "continue"
    assert early.reason.startswith("better, waiting for the minimum duration")
    late = decide(1, data, 3 * DAY, SETTINGS)
    assert late.action == "promote"
    assert late.comparison is not None
    assert late.comparison.method == "two_proportion_z"
    assert late.comparison.difference > 0.05
    assert late.comparison.p_value < 1e-6
    stats = late.statistics()
    assert stats["comparison"]["p_value"] == late.comparison.p_value
    assert stats["elapsed_seconds"] == 3 * 86400


def test_a_significantly_worse_challenger_is_rejected_at_once():
    decision = decide(1, arms(3000, 0.80, 0.70), timedelta(hours=6), SETTINGS)
    assert decision.action == "reject"
    assert decision.reason.startswith("significantly worse")


def test_a_small_significant_gain_below_the_minimum_effect_is_not_promoted():
    # 1 point better on 200,000 rows per arm: significant, but below the 2-point effect.
    data = arms(200_000, 0.80, 0.81, seed=1)
    decision = decide(1, data, 5 * DAY, SETTINGS)
    assert decision.comparison is not None
    assert decision.comparison.significant
    assert decision.action == "continue"
    assert "needs +0.02" in decision.reason
    assert decide(1, data, 14 * DAY, SETTINGS).action == "end"


def test_too_few_labels_decide_nothing_until_the_maximum_duration():
    data = arms(150, 0.5, 0.9)
    waiting = decide(1, data, 5 * DAY, SETTINGS)
    assert waiting.action == "continue"
    assert waiting.comparison is None
    assert "each needs 200" in waiting.reason
    assert decide(1, data, 14 * DAY, SETTINGS).action == "end"


def test_guardrails_reject_a_slow_or_failing_challenger():
    data = arms(3000, 0.70, 0.80)
    slow = decide(1, data, 4 * DAY, SETTINGS, Guardrails(40.0, 130.0, 0.0))
    assert slow.action == "reject"
    assert "p99 latency" in slow.reason
    # A large ratio of tiny latencies is noise, not a slower model.
    noise = decide(1, data, 4 * DAY, SETTINGS, Guardrails(2.0, 6.0, 0.0))
    assert noise.action == "promote"
    failing = decide(1, data, 4 * DAY, SETTINGS, Guardrails(None, None, 0.02))
    assert failing.action == "reject"
    assert "failed 2.00%" in failing.reason


@pytest.mark.parametrize(
    ("metric", "paired", "method"),
    [
        ("accuracy", False, "two_proportion_z"),
        ("accuracy", True, "mcnemar"),
        ("roc_auc", False, "bootstrap"),
        ("roc_auc", True, "delong"),
    ],
)
def test_each_metric_and_sampling_has_its_test(metric, paired, method):
    settings = ABTestSettings(metric=metric, bootstrap_resamples=200)
    comparison = compare_arms(arms(2000, 0.7, 0.85, paired=paired), settings)
    assert comparison.method == method
    assert comparison.paired is paired
    assert comparison.difference > 0
    assert comparison.significant


def test_an_arm_with_one_class_gives_no_auc_comparison_yet():
    settings = ABTestSettings(metric="roc_auc", min_labelled=10)
    ones = np.ones(50, dtype=np.int64)
    data = ArmData(np.full(50, 0.7), ones, np.full(50, 0.6), ones, paired=False)
    decision = decide(1, data, DAY, settings)
    assert decision.action == "continue"
    assert decision.reason.startswith("no comparison yet")


def test_settings_refuse_a_maximum_shorter_than_the_minimum():
    with pytest.raises(ValueError, match="must not be shorter than min_duration"):
        ABTestSettings(min_duration=timedelta(days=5), max_duration=timedelta(days=2))
