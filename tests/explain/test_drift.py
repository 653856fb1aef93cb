"""Explanation drift: influence that moves while the inputs look stable, and when nothing moves."""

from __future__ import annotations

import json

import pytest

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.explain import (
    AttributionProfile,
    ExplanationDriftParams,
    ExplanationStatus,
    attribution_profile,
    explanation_drift,
)
from driftwarden.stats import DriftConfig, Severity, Thresholds


@pytest.fixture(scope="module")
def reference(interaction_model, interaction_data):
    """The attribution profile of the model's holdout: x1 and x2 independent, as in training."""
    result, schema = interaction_model
    return attribution_profile(result.model, interaction_data(10, 3000), schema)


def input_report(interaction_model, window):
    """The engine's real per-feature input verdicts on the window, against the training profile."""
    result, schema = interaction_model
    return result.profile.compare(window[schema.feature_names], config=DriftConfig(n_jobs=1))


def test_explanation_drift_reports_influence_moved_inputs_stable(
    interaction_model, interaction_data, reference
):
    # x1 and x2 become correlated: each marginal is unchanged, but the product that drives the
    # model is now mostly positive, so what the model makes of each of them has moved.
    result, schema = interaction_model
    window = interaction_data(11, 4000, rho=0.9)
    inputs = input_report(interaction_model, window)

    drift = explanation_drift(reference, result.model, window, schema, input_drift=inputs)

    assert all(verdict.severity is Severity.OK for verdict in inputs.features.values())
    for name in ("x1", "x2"):
        feature = drift.features[name]
        assert feature.status is ExplanationStatus.INFLUENCE_MOVED_INPUTS_STABLE
        assert feature.influence_moved_inputs_stable
        assert feature.attribution.severity is Severity.CRITICAL
        assert feature.input_severity is Severity.OK
    assert drift.influence_moved_inputs_stable == ["x1", "x2"]
    assert drift.features["x3"].status is ExplanationStatus.STABLE
    assert drift.severity is Severity.CRITICAL
    assert (drift.n_current, drift.n_window, drift.n_reference) == (2000, 4000, 2000)


def test_explanation_drift_of_an_unchanged_window_is_stable(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model
    window = interaction_data(12, 4000)

    drift = explanation_drift(
        reference, result.model, window, schema, input_drift=input_report(interaction_model, window)
    )

    assert drift.severity is Severity.OK
    assert drift.influence_moved == []
    for feature in drift.features.values():
        assert feature.status is ExplanationStatus.STABLE
        assert abs(feature.share_change) < 0.02
        assert feature.attribution.statistic < 0.05
        assert not feature.share_moved


def test_explanation_drift_separates_influence_that_moved_with_its_inputs(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model
    window = interaction_data(13, 4000, shift=1.0)

    drift = explanation_drift(
        reference, result.model, window, schema, input_drift=input_report(interaction_model, window)
    )

    x3 = drift.features["x3"]
    assert x3.status is ExplanationStatus.INFLUENCE_AND_INPUTS_MOVED
    assert x3.input_severity is Severity.CRITICAL
    assert x3.share_change > 0
    # x1 and x2 do not interact with x3 in the data; their influence stays. (The model's
    # attributions of the plan may move with x3, its neighbour in the trees' paths: that is
    # reported for the plan, as influence moved while its own inputs are stable.)
    for name in ("x1", "x2"):
        assert drift.features[name].status is ExplanationStatus.STABLE


def test_explanation_drift_statuses_without_and_with_given_input_verdicts(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model
    moved = interaction_data(14, 3000, rho=0.9)
    calm = interaction_data(15, 3000)

    unknown = explanation_drift(reference, result.model, moved, schema)
    given = explanation_drift(
        reference, result.model, calm, schema, input_drift={"x3": "critical", "plan": Severity.OK}
    )

    assert unknown.features["x1"].status is ExplanationStatus.INFLUENCE_MOVED
    assert unknown.features["x1"].input_severity is None
    assert unknown.influence_moved_inputs_stable == []
    assert given.features["x3"].status is ExplanationStatus.INPUTS_MOVED
    assert given.features["plan"].status is ExplanationStatus.STABLE
    assert given.features["x1"].input_severity is None


def test_explanation_drift_counts_a_share_change_alone_as_a_warning(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model
    window = interaction_data(16, 3000, shift=1.0)
    # Thresholds no attribution distribution reaches: only the share rule can speak.
    config = DriftConfig(thresholds={"psi": Thresholds(99.0, 99.0)}, n_jobs=1)
    params = ExplanationDriftParams(share_threshold=0.02, config=config)

    drift = explanation_drift(reference, result.model, window, schema, params=params)

    x3 = drift.features["x3"]
    assert x3.attribution.severity is Severity.OK
    assert x3.share_moved
    assert x3.severity is Severity.WARNING
    assert x3.influence_moved


def test_explanation_drift_of_a_tiny_window_has_insufficient_data(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model

    drift = explanation_drift(reference, result.model, interaction_data(17, 20), schema)

    assert drift.severity is Severity.INSUFFICIENT_DATA
    assert {f.status for f in drift.features.values()} == {ExplanationStatus.INSUFFICIENT_DATA}


def test_explanation_drift_of_a_regressor(regression_model, regression_data):
    pipeline, schema = regression_model
    profile = attribution_profile(pipeline, regression_data(2, 1500), schema)
    window = regression_data(3, 1500)
    window["size"] = window["size"] * 1.5

    drift = explanation_drift(profile, pipeline, window, schema, input_drift={"size": "critical"})

    assert drift.output == "raw"
    assert drift.features["size"].status is ExplanationStatus.INFLUENCE_AND_INPUTS_MOVED
    assert drift.features["noise"].share_current < 0.05


def test_explanation_drift_result_to_dict_is_strict_json(
    interaction_model, interaction_data, reference
):
    result, schema = interaction_model
    window = interaction_data(18, 1000, rho=0.9)
    drift = explanation_drift(
        reference, result.model, window, schema, input_drift=input_report(interaction_model, window)
    )

    data = json.loads(json.dumps(drift.to_dict(), allow_nan=False))

    assert data["method"] == "explanation_drift"
    assert data["influence_moved_inputs_stable"] == ["x1", "x2"]
    x1 = data["features"]["x1"]
    assert x1["status"] == "influence_moved_inputs_stable"
    assert x1["input_severity"] == "ok"
    assert x1["method"] == "psi"
    assert x1["statistic"] == drift.features["x1"].attribution.statistic
    assert x1["attribution_drift"]["feature"] == "x1"
    assert x1["share_change"] == pytest.approx(x1["share_current"] - x1["share_reference"])
    assert data["output"] == "log_odds"
    assert data["explainer"] == "driftwarden.explain.treeshap"


def test_explanation_drift_refuses_a_profile_of_another_model(
    interaction_model, interaction_data, reference, regression_model, regression_data
):
    result, schema = interaction_model
    window = interaction_data(19, 200)
    other = AttributionProfile.from_dict({**reference.to_dict(), "expected_value": 123.0})
    regression_profile = attribution_profile(
        regression_model[0], regression_data(4, 100), regression_model[1]
    )

    with pytest.raises(DataError, match="belongs to another model"):
        explanation_drift(other, result.model, window, schema)
    with pytest.raises(SchemaMismatchError, match="profile is for features"):
        explanation_drift(regression_profile, result.model, window, schema)


def test_explanation_drift_refuses_bad_input(interaction_model, interaction_data, reference):
    result, schema = interaction_model
    window = interaction_data(20, 100)

    with pytest.raises(ConfigError, match="input_drift maps features to severities"):
        explanation_drift(reference, result.model, window, schema, input_drift={"x1": "bad"})
    with pytest.raises(DataError, match="window has 0 rows"):
        explanation_drift(reference, result.model, window.iloc[:0], schema)
    with pytest.raises(SchemaMismatchError, match=r"window lacks 1 feature column.*'plan'"):
        explanation_drift(reference, result.model, window.drop(columns="plan"), schema)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sample_size": 0}, "sample_size must be an integer >= 1"),
        ({"share_threshold": 0.0}, r"share_threshold must be in \(0, 1\]"),
        ({"share_threshold": 1.5}, r"share_threshold must be in \(0, 1\]"),
    ],
)
def test_explanation_drift_params_refuse_bad_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        ExplanationDriftParams(**changes)
