"""Adversarial validation: drift that per-feature tests miss, its p-value, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.explain import AdversarialParams, adversarial_validation
from driftwarden.explain.adversarial import _fold_p_value
from driftwarden.schema import infer_schema
from driftwarden.stats import DriftConfig, ReferenceProfile, Severity

FAST = AdversarialParams(sample_size=1500, n_permutations=400, max_iter=60)


def frame(seed: int, n: int, *, rho: float = 0.0, shift: float = 0.0, pro: float = 0.2):
    """Two standard normals with correlation ``rho``, a third (moved by ``shift``), a plan."""
    rng = np.random.default_rng(seed)
    ab = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.8 - pro, 0.2, pro])
    return pd.DataFrame(
        {"a": ab[:, 0], "b": ab[:, 1], "c": rng.normal(shift, 1.0, n), "plan": plan}
    )


@pytest.fixture(scope="module")
def schema():
    return infer_schema(frame(0, 500))


def test_adversarial_catches_a_correlation_change_every_per_feature_test_misses(schema):
    reference, current = frame(1, 4000), frame(2, 4000, rho=0.9)

    # The engine's real per-feature verdicts on the same rows: every marginal is unchanged.
    profile = ReferenceProfile.fit(reference, schema.kinds())
    report = profile.compare(current, config=DriftConfig(n_jobs=1))
    result = adversarial_validation(reference, current, schema, FAST)

    assert set(report.features) == {"a", "b", "c", "plan"}
    for verdict in report.features.values():
        assert verdict.severity is Severity.OK, verdict.to_dict()
        assert not verdict.drifted
        assert verdict.n_current == 4000  # no small-sample gate: effect sizes decided
    assert result.severity is Severity.CRITICAL
    assert result.auc >= FAST.critical
    assert result.p_value < 0.05
    assert {f.feature for f in result.top_features[:2]} == {"a", "b"}
    assert result.reason is None


def test_adversarial_without_drift_is_near_chance_and_not_significant(schema):
    result = adversarial_validation(frame(3, 4000), frame(4, 4000), schema, FAST)

    assert abs(result.auc - 0.5) < 0.04
    assert all(abs(auc - 0.5) < 0.08 for auc in result.fold_aucs)
    assert result.p_value >= 0.05
    assert result.severity is Severity.OK
    assert not result.drifted
    assert max(f.importance for f in result.importances) < 0.03


@pytest.mark.parametrize(
    ("changes", "shifted"),
    [({"shift": 0.5}, "c"), ({"pro": 0.45}, "plan")],
    ids=["numeric-mean", "category-shares"],
)
def test_adversarial_names_the_shifted_feature_first(schema, changes, shifted):
    result = adversarial_validation(frame(5, 3000), frame(6, 3000, **changes), schema, FAST)

    assert result.drifted
    assert result.p_value < 0.05
    assert result.top_features[0].feature == shifted
    others = [f.importance for f in result.importances if f.feature != shifted]
    assert result.top_features[0].importance > 5 * max(max(others), 0.005)


def test_adversarial_samples_a_fixed_number_of_rows_from_each_side(schema):
    params = AdversarialParams(sample_size=300, n_permutations=50, max_iter=20, n_folds=3)

    result = adversarial_validation(frame(7, 5000), frame(8, 800), schema, params)

    assert (result.n_reference, result.n_current) == (300, 300)
    assert (result.n_reference_rows, result.n_current_rows) == (5000, 800)
    assert len(result.fold_aucs) == result.n_folds == 3
    assert result.n_permutations == 50
    assert len(result.importances) == 4
    assert len(result.top_features) == 4  # top_k is 5, but there are four features


def test_adversarial_is_reproducible_for_a_seed(schema):
    params = AdversarialParams(sample_size=400, n_permutations=100, max_iter=20, seed=11)
    reference, current = frame(9, 1000), frame(10, 1000, shift=0.3)

    first = adversarial_validation(reference, current, schema, params)
    second = adversarial_validation(reference, current, schema, params)

    assert first.to_dict() == second.to_dict()


def test_adversarial_fold_p_value_is_the_mann_whitney_permutation_p_value():
    rng = np.random.default_rng(12)
    labels = np.repeat([False, True], [40, 30])
    # Ties included: rank sums then need average ranks, as the exact test does.
    scores = np.round(rng.normal(0.0, 1.0, 70) + 0.4 * labels, 1)
    rng.shuffle(labels)

    permutation = _fold_p_value(labels, scores, 20000, np.random.default_rng(0))
    exact = mannwhitneyu(scores[labels], scores[~labels], alternative="greater").pvalue

    assert permutation == pytest.approx(exact, abs=0.01)


def test_adversarial_fold_p_value_counts_the_observed_order_and_ties():
    labels = np.array([False, False, True, True])

    perfect = _fold_p_value(labels, np.array([0.1, 0.2, 0.3, 0.4]), 999, np.random.default_rng(0))
    constant = _fold_p_value(labels, np.full(4, 0.5), 999, np.random.default_rng(0))

    # 1 of the 6 equally likely choices of positives ranks them on top.
    assert perfect == pytest.approx(1 / 6, abs=0.04)
    assert perfect >= 1 / 1000
    # With every score tied every permutation ties the observed AUC: p is exactly 1.
    assert constant == 1.0


def test_adversarial_p_value_is_calibrated_under_no_drift(schema):
    params = AdversarialParams(
        sample_size=120, n_folds=3, n_permutations=100, max_iter=10, min_rows=30
    )
    p_values = [
        adversarial_validation(frame(100 + i, 120), frame(200 + i, 120), schema, params).p_value
        for i in range(25)
    ]

    # A valid p-value: P(p <= t) <= t. With 25 draws, allow the binomial spread above t.
    for threshold in (0.1, 0.3, 0.5):
        assert np.mean(np.asarray(p_values) <= threshold) <= threshold + 0.15
    assert min(p_values) >= 2 / 101


def test_adversarial_reports_an_insignificant_effect_as_ok_with_the_reason(schema):
    # Thresholds at chance: any AUC above 0.5 is past them, and small samples make most of
    # those noise, which the p-value must keep from becoming a verdict.
    params = AdversarialParams(
        sample_size=40, n_folds=2, n_permutations=200, max_iter=10, min_rows=20,
        min_samples_leaf=5, warning=0.5, critical=0.5,
    )  # fmt: skip
    gated = []
    for seed in range(20):
        result = adversarial_validation(
            frame(300 + seed, 40), frame(400 + seed, 40), schema, params
        )
        if result.auc >= 0.5 and result.p_value >= params.alpha:
            gated.append(result)
    assert gated, "no sample gave an insignificant AUC past the thresholds"
    for result in gated:
        assert result.severity is Severity.OK
        assert "not significant" in (result.reason or "")


def test_adversarial_result_to_dict_is_strict_json(schema):
    result = adversarial_validation(frame(13, 600), frame(14, 600, shift=1.0), schema, FAST)

    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))

    assert data["method"] == "adversarial_validation"
    assert data["severity"] == result.severity.value
    assert data["drifted"] is True
    assert data["top_features"][0] == "c"
    assert data["importances"][0] == {
        "feature": "c",
        "kind": "numeric",
        "importance": result.importances[0].importance,
    }
    assert len(data["fold_aucs"]) == FAST.n_folds
    assert (data["warning"], data["critical"], data["alpha"]) == (0.55, 0.65, 0.05)


def test_adversarial_handles_missing_values_and_rare_categories(schema):
    reference, current = frame(15, 800), frame(16, 800)
    reference.loc[::7, "a"] = np.nan
    current.loc[::5, "plan"] = None
    # More labels than the classifier's categorical bins: the rarest share one code.
    current["plan"] = current["plan"].where(
        current.index % 3 != 0, "new-" + current.index.astype(str)
    )

    result = adversarial_validation(reference, current, schema, FAST)

    assert result.top_features[0].feature == "plan"
    assert result.severity is Severity.CRITICAL


def test_adversarial_refuses_a_frame_without_a_feature(schema):
    with pytest.raises(SchemaMismatchError, match=r"current window lacks 1 feature column.*'b'"):
        adversarial_validation(frame(17, 100), frame(18, 100).drop(columns="b"), schema)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda ok: (pd.DataFrame(), ok), SchemaMismatchError, "reference lacks 4 feature column"),
        (lambda ok: (ok, ok.iloc[:0]), DataError, "current window has 0 rows; at least 50 are"),
        (lambda ok: (ok, ok.iloc[:20]), DataError, "current window has 20 rows; at least 50 are"),
        (lambda ok: ([1, 2], ok), DataError, "reference must be a pandas DataFrame"),
    ],
    ids=["no-columns", "empty", "too-few", "not-a-frame"],
)
def test_adversarial_refuses_bad_frames(schema, build, error, message):
    reference, current = build(frame(19, 200))

    with pytest.raises(error, match=message):
        adversarial_validation(reference, current, schema)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_folds": 1}, "n_folds must be an integer >= 2"),
        ({"sample_size": 3}, "sample_size must be an integer >= 5"),
        ({"min_rows": 2}, "min_rows must be an integer >= 5"),
        ({"n_permutations": 0}, "n_permutations must be an integer >= 1"),
        ({"max_leaf_nodes": 1}, "max_leaf_nodes must be an integer >= 2"),
        ({"top_k": True}, "top_k must be an integer >= 1"),
        ({"n_threads": 0}, "n_threads must be an integer >= 1"),
        ({"warning": 0.4}, r"0.5 <= warning <= critical <= 1"),
        ({"warning": 0.7, "critical": 0.6}, r"0.5 <= warning <= critical <= 1"),
        ({"alpha": 1.0}, r"alpha must be in \(0, 1\)"),
        ({"learning_rate": 0.0}, r"learning_rate must be in \(0, 1\]"),
    ],
)
def test_adversarial_params_refuse_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        AdversarialParams(**changes)
