"""SHAP attributions of driftwarden pipelines: additivity, column mapping, profiles, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.explain import (
    INSTALL_HINT,
    AttributionProfile,
    attribution_profile,
    compute_attributions,
)
from driftwarden.explain._treeshap import TreeShap
from driftwarden.schema import infer_schema
from driftwarden.training import ModelParams, train


def test_attributions_add_up_to_the_log_odds_of_a_trained_telco_model(telco_model):
    frame, schema, pipeline = telco_model
    rows = frame.sample(300, random_state=0)

    attributions = compute_attributions(pipeline, rows, schema)

    data = schema.coerce_frame(rows[schema.feature_names])
    log_odds = pipeline.decision_function(data)
    np.testing.assert_allclose(
        attributions.expected_value + attributions.values.sum(axis=1), log_odds, atol=1e-9
    )
    # Telco's model splits on category sets, which shap misreads: the exact fallback runs.
    assert attributions.explainer == "driftwarden.explain.treeshap"
    assert attributions.output == "log_odds"
    assert attributions.features == tuple(schema.feature_names)
    assert attributions.values.shape == (300, len(schema.features))
    # Contract and tenure are the strongest churn signals in Telco.
    mean_abs = np.abs(attributions.values).mean(axis=0)
    top = {attributions.features[i] for i in np.argsort(mean_abs)[-4:]}
    assert {"Contract", "tenure"} <= top


def test_attributions_add_up_to_a_regressors_prediction_in_schema_order(
    regression_model, regression_data
):
    pipeline, schema = regression_model
    rows = regression_data(1, 400)

    attributions = compute_attributions(pipeline, rows, schema)

    prediction = pipeline.predict(schema.coerce_frame(rows[schema.feature_names]))
    np.testing.assert_allclose(
        attributions.expected_value + attributions.values.sum(axis=1), prediction, atol=1e-8
    )
    assert attributions.output == "raw"
    # The encoder puts region first; the values come back in schema order (noise first).
    assert schema.feature_names == ["noise", "size", "region"]
    assert list(pipeline[:-1].get_feature_names_out()) == ["region", "noise", "size"]
    spread = {f: float(np.abs(attributions.column(f)).mean()) for f in schema.feature_names}
    assert spread["size"] > spread["region"] > 10 * spread["noise"]


def test_attributions_of_a_numeric_model_come_from_shap_and_match_the_exact_fallback(
    interaction_data,
):
    frame = interaction_data(2, 3000).drop(columns="plan")
    schema = infer_schema(frame, target="churn")
    result = train(frame, schema, params=ModelParams(max_iter=60), seed=0)
    rows = interaction_data(3, 300)

    attributions = compute_attributions(result.model, rows, schema)

    matrix = result.model[:-1].transform(schema.coerce_frame(rows[schema.feature_names]))
    exact = TreeShap(result.model[-1])
    assert attributions.explainer == "shap.TreeExplainer"
    np.testing.assert_allclose(attributions.values, exact.shap_values(matrix), atol=1e-9)
    assert attributions.expected_value == pytest.approx(exact.expected_value, abs=1e-9)


def test_attribution_profile_summarises_a_holdout_sample(interaction_model, interaction_data):
    result, schema = interaction_model
    holdout = interaction_data(4, 3000)

    profile = attribution_profile(result.model, holdout, schema, sample_size=1000, seed=3)

    assert profile.n_rows == 1000
    assert profile.features == ("x1", "x2", "x3", "plan")
    assert profile.kinds == {
        "x1": "numeric",
        "x2": "numeric",
        "x3": "numeric",
        "plan": "categorical",
    }
    assert sum(profile.shares.values()) == pytest.approx(1.0)
    assert all(profile.mean_abs[f] > 0.1 for f in profile.features)
    assert profile.profile.kinds == dict.fromkeys(profile.features, "numeric")
    assert profile.profile.n_rows == 1000
    attributions = compute_attributions(result.model, holdout.iloc[:5], schema)
    assert profile.expected_value == attributions.expected_value


def test_attribution_profile_round_trips_through_json(interaction_model, interaction_data):
    result, schema = interaction_model
    profile = attribution_profile(result.model, interaction_data(5, 500), schema)

    text = profile.to_json()
    restored = AttributionProfile.from_json(text)

    assert restored.to_dict() == profile.to_dict()
    assert json.loads(text)["format"] == 1
    assert restored.profile.to_json() == profile.profile.to_json()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"format": 99}', "format 99 is not supported"),
        ('{"format": 1, "features": ["a"]}', "KeyError"),
        (
            '{"format": 1, "features": [], "kinds": {}, "mean_abs": {}, "shares": {}, '
            '"expected_value": 0, "output": "raw", "explainer": "x", "n_rows": 1, '
            '"profile": {"format": -1}}',
            "not an attribution profile: StatsError",
        ),
    ],
    ids=["invalid", "array", "format", "incomplete", "bad-profile"],
)
def test_attribution_profile_refuses_what_is_not_one(text, message):
    with pytest.raises(DataError, match=message):
        AttributionProfile.from_json(text)


def test_attributions_refuse_models_they_cannot_explain(
    interaction_model, interaction_data, regression_model
):
    result, schema = interaction_model
    rows = interaction_data(6, 50)
    data = schema.coerce_frame(rows[schema.feature_names]).fillna({"plan": "basic"})
    linear = Pipeline([("encode", result.model[:-1]), ("model", LogisticRegression())])
    linear.fit(data, rows["churn"])

    with pytest.raises(ConfigError, match="got LogisticRegression"):
        compute_attributions(linear, rows, schema)
    with pytest.raises(ConfigError, match="expected a fitted scikit-learn Pipeline"):
        compute_attributions(object(), rows, schema)
    with pytest.raises(ConfigError, match="encoder is not fitted"):
        compute_attributions(clone(result.model), rows, schema)
    with pytest.raises(SchemaMismatchError, match=r"the model reads columns \['region'"):
        compute_attributions(regression_model[0], rows, schema)


def test_attributions_refuse_bad_frames(interaction_model, interaction_data):
    result, schema = interaction_model

    with pytest.raises(SchemaMismatchError, match=r"frame lacks 1 feature column.*'x3'"):
        compute_attributions(result.model, interaction_data(7, 20).drop(columns="x3"), schema)
    with pytest.raises(DataError, match="holdout frame has 0 rows"):
        attribution_profile(result.model, interaction_data(7, 20).iloc[:0], schema)
    with pytest.raises(ConfigError, match="sample_size must be an integer >= 1"):
        attribution_profile(result.model, interaction_data(7, 20), schema, sample_size=0)


def test_without_shap_attributions_name_the_extra_and_adversarial_validation_runs():
    # A fresh interpreter: importing the package must not import shap; then shap is made
    # unimportable, as without the explain extra.
    script = textwrap.dedent(
        """
        import sys
        import numpy as np, pandas as pd
        import driftwarden.explain as explain
        from driftwarden.schema import infer_schema
        print("imported shap", "shap" in sys.modules)
        sys.modules["shap"] = None
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y"], 200)})
        params = explain.AdversarialParams(sample_size=100, n_permutations=20, max_iter=5)
        result = explain.adversarial_validation(frame, frame, infer_schema(frame), params)
        print("adversarial", result.severity.value)
        try:
            explain.compute_attributions(None, frame, infer_schema(frame))
        except ModuleNotFoundError as exc:
            print("error", exc)
        """
    )

    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )

    lines = completed.stdout.splitlines()
    assert lines[:2] == ["imported shap False", "adversarial ok"]
    assert lines[2].startswith(
        "error SHAP attributions need the shap package, which is not installed: "
        "pip install 'driftwarden[explain]'"
    )
    assert INSTALL_HINT == "pip install 'driftwarden[explain]'"


def test_attributions_columns_by_name(interaction_model, interaction_data):
    result, schema = interaction_model
    attributions = compute_attributions(result.model, interaction_data(8, 10), schema)

    np.testing.assert_array_equal(attributions.column("x3"), attributions.values[:, 2])
    with pytest.raises(ValueError, match="not in tuple"):
        attributions.column("missing")


def test_attribution_frame_order_and_index_do_not_matter(interaction_model, interaction_data):
    result, schema = interaction_model
    rows = interaction_data(9, 30)
    shuffled = rows[["plan", "churn", "x3", "x2", "x1"]].set_axis(np.arange(100, 130)[::-1])

    plain = compute_attributions(result.model, rows, schema)
    moved = compute_attributions(result.model, shuffled, schema)

    np.testing.assert_array_equal(plain.values, moved.values)


def test_with_explanations_attaches_the_holdout_profile_or_leaves_the_result_alone(caplog):
    import dataclasses

    from driftwarden.data import generate_houses
    from driftwarden.explain import AttributionProfile, with_explanations
    from driftwarden.schema import infer_schema
    from driftwarden.training import ModelParams, train

    frame = generate_houses(600, seed=4)
    schema = infer_schema(frame, target="price", entity_id="house_id")
    result = train(frame, schema, params=ModelParams(max_iter=30))
    explained = with_explanations(result)
    profile = AttributionProfile.from_dict(explained.attributions)
    assert list(profile.features) == schema.feature_names
    assert profile.n_rows == len(result.holdout_sample)
    assert sum(profile.shares.values()) == pytest.approx(1.0)
    bare = dataclasses.replace(result, holdout_sample=None)
    with caplog.at_level("INFO", logger="driftwarden.explain.version"):
        assert with_explanations(bare).attributions is None
    assert "no holdout sample" in caplog.text


def test_with_explanations_leaves_a_model_it_cannot_explain_alone(caplog):
    import dataclasses

    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    from driftwarden.data import generate_houses
    from driftwarden.explain import with_explanations
    from driftwarden.schema import infer_schema
    from driftwarden.training import ModelParams, train

    frame = generate_houses(300, seed=5)
    schema = infer_schema(frame, target="price", entity_id="house_id")
    result = train(frame, schema, params=ModelParams(max_iter=10))
    numeric = result.holdout_sample[schema.numeric_features].fillna(0)
    linear = Pipeline([("regressor", LinearRegression())]).fit(numeric, numeric.iloc[:, 0])
    odd = dataclasses.replace(result, model=linear)
    with caplog.at_level("WARNING", logger="driftwarden.explain.version"):
        assert with_explanations(odd) is odd
    assert "no attribution profile for explanation drift" in caplog.text
