"""RowScorer on regressors: the summed trees give the pipeline's own predictions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline

from driftwarden.schema import build_request_model, infer_schema
from driftwarden.training import ModelParams, RowScorer, build_pipeline, predict_scores, train


def _request_rows(frame, schema, n=None):
    """Rows as the API hands them over: validated by the request model built from the schema."""
    request = build_request_model(schema)
    records = frame[schema.feature_names].head(n).to_dict("records")
    clean = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in records]
    return [request.model_validate(r).feature_values() for r in clean]


@pytest.fixture(scope="module")
def diabetes_model():
    frame = load_diabetes(as_frame=True).frame
    schema = infer_schema(frame, target="target")
    return frame, train(frame, schema, params=ModelParams(max_iter=60))


@pytest.fixture(scope="module")
def spend_model(spend_frame):
    frame = spend_frame().drop(columns=["month"])
    schema = infer_schema(frame, target="spend", entity_id="customer")
    return frame, train(frame, schema, params=ModelParams(max_iter=60))


def test_row_scorer_gives_the_regressors_predictions_on_diabetes_rows(diabetes_model):
    frame, result = diabetes_model
    scorer = RowScorer(result.model, result.schema)
    assert scorer.method == "trees"
    rows = _request_rows(frame, result.schema)
    expected = result.model.predict(result.schema.coerce_frame(frame)[result.schema.feature_names])
    # Predicted values in the target's unit, not probabilities.
    assert expected.max() > 1.0
    # All 442 rows go through each tree's own walk; up to 32 walk every tree at once.
    np.testing.assert_allclose(scorer.score(rows), expected, rtol=0, atol=1e-9)
    for size in (1, 7, 32):
        scores = np.concatenate([scorer.score(rows[i : i + size]) for i in range(0, 442, size)])
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(scores, expected)


def test_row_scorer_regressor_treats_categories_missing_and_odd_values_as_the_pipeline(
    spend_model,
):
    frame, result = spend_model
    schema = result.schema
    scorer = RowScorer(result.model, schema)
    assert scorer.method == "trees"
    base = _request_rows(frame, schema, 1)[0]
    rows = [
        *_request_rows(frame, schema, 40),
        {**base, "plan": "enterprise"},  # a category never seen in training
        {**base, "plan": None, "usage": None},
        {**base, "plan": "   "},
        {**base, "usage": 10_000.0},
        {**base, "usage": -5.0},
    ]
    expected = predict_scores(result.model, schema.coerce_frame(pd.DataFrame(rows)))
    np.testing.assert_array_equal(scorer.score(rows), expected)
    np.testing.assert_array_equal(
        np.concatenate([scorer.score(rows[i : i + 5]) for i in range(0, len(rows), 5)]), expected
    )


class _Shifted(Pipeline):
    """A pipeline of our shape whose predictions are post-processed: the encoding alone is not
    the whole model, so direct encoding must not be used."""

    def predict(self, X, **params):
        return super().predict(X, **params) + 1.0


def test_row_scorer_falls_back_when_the_shortcut_disagrees_with_the_regressor(spend_model, caplog):
    frame, result = spend_model
    shifted = _Shifted(result.model.steps)
    scorer = RowScorer(shifted, result.schema)
    assert scorer.method == "pipeline"
    assert "disagrees with the pipeline" in caplog.text
    rows = _request_rows(frame, result.schema, 20)
    expected = shifted.predict(result.schema.coerce_frame(frame.head(20)))
    np.testing.assert_array_equal(scorer.score(rows), expected)


@pytest.mark.parametrize(
    "regressor",
    [
        RandomForestRegressor(n_estimators=10, random_state=0),
        # A log link: the trees' sum is not the prediction, so the model's predict is used.
        HistGradientBoostingRegressor(
            loss="poisson", max_iter=20, categorical_features=[True, False]
        ),
    ],
    ids=["forest", "poisson"],
)
def test_row_scorer_passes_other_regressors_the_encoded_rows(spend_model, regressor):
    frame, result = spend_model
    schema = result.schema
    pipeline = build_pipeline(schema)
    pipeline.steps[1] = ("regressor", regressor)
    features = schema.coerce_frame(frame)[schema.feature_names]
    pipeline.fit(features.fillna({"usage": 0.0}), frame["spend"].to_numpy())
    scorer = RowScorer(pipeline, schema)
    assert scorer.method == "regressor"
    rows = _request_rows(frame.fillna({"usage": 0.0}), schema, 50)
    expected = pipeline.predict(schema.coerce_frame(pd.DataFrame(rows)))
    np.testing.assert_array_equal(scorer.score(rows), expected)
