"""RowScorer: direct encoding gives the pipeline's own scores, and falls back when it cannot."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.schema import build_request_model, infer_schema
from driftwarden.training import ModelParams, RowScorer, build_pipeline, predict_scores, train
from driftwarden.training.scorer import _TreeSum


@pytest.fixture(scope="module")
def telco_model():
    frame = load_telco()
    schema = infer_schema(frame, target=TELCO_TARGET, entity_id=TELCO_ID)
    result = train(frame, schema, params=ModelParams(max_iter=40))
    return frame, result


def _request_rows(frame, schema, n):
    """Rows as the API hands them over: validated by the request model built from the schema."""
    request = build_request_model(schema)
    records = frame[schema.feature_names].head(n).to_dict("records")
    clean = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in records]
    return [request.model_validate(r).feature_values() for r in clean]


def test_row_scorer_gives_the_pipeline_scores_on_telco_rows(telco_model):
    frame, result = telco_model
    scorer = RowScorer(result.model, result.schema)
    assert scorer.method == "trees"
    rows = _request_rows(frame, result.schema, 500)
    expected = predict_scores(result.model, result.schema.coerce_frame(frame.head(500)))
    np.testing.assert_array_equal(scorer.score(rows), expected[: len(rows)])


def test_row_scorer_gives_the_pipeline_scores_in_the_small_batches_of_serving(telco_model):
    # Up to 32 rows walk every tree at once; the 500 rows above go through each tree's own walk.
    frame, result = telco_model
    scorer = RowScorer(result.model, result.schema)
    rows = _request_rows(frame, result.schema, 500)
    expected = predict_scores(result.model, result.schema.coerce_frame(frame.head(500)))
    for size in (1, 7, 32):
        scores = [scorer.score(rows[i : i + size]) for i in range(0, len(rows), size)]
        np.testing.assert_array_equal(np.concatenate(scores), expected[: len(rows)])


def test_tree_walk_refuses_columns_whose_kind_the_splits_contradict(telco_model):
    # Told there are no categorical columns, the categorical splits name numeric ones: built
    # anyway, their codes would be read as thresholds' positions.
    _, result = telco_model
    trees = RowScorer(result.model, result.schema)._plan._trees
    with pytest.raises(ValueError, match="not of the kind its column holds"):
        _TreeSum(trees.predictors, trees.baseline, trees.bitsets, [])


def test_row_scorer_treats_unseen_missing_and_blank_values_as_the_pipeline_does(telco_model):
    frame, result = telco_model
    scorer = RowScorer(result.model, result.schema)
    base = _request_rows(frame, result.schema, 1)[0]
    rows = [
        {**base, "PaymentMethod": "Crypto wallet"},  # a category never seen in training
        {**base, "Contract": None, "TotalCharges": None},
        {**base, "gender": "   "},
        {**base, "tenure": 10_000.0, "MonthlyCharges": -5.0},
    ]
    pipeline_frame = result.schema.coerce_frame(pd.DataFrame(rows))
    np.testing.assert_array_equal(scorer.score(rows), predict_scores(result.model, pipeline_frame))


def test_row_scorer_scores_no_rows_as_an_empty_array(telco_model):
    _, result = telco_model
    assert RowScorer(result.model, result.schema).score([]).shape == (0,)


def test_row_scorer_falls_back_to_the_pipeline_for_other_models(telco_model):
    frame, result = telco_model
    schema = result.schema
    other = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore"),
                            schema.categorical_features,
                        )
                    ],
                    remainder="drop",
                ),
            ),
            ("model", LogisticRegression(max_iter=200)),
        ]
    )
    features = schema.coerce_frame(frame)[schema.feature_names]
    other.fit(features, (frame[TELCO_TARGET] == "Yes").astype(int))
    scorer = RowScorer(other, schema)
    assert scorer.method == "pipeline"
    rows = _request_rows(frame, schema, 50)
    np.testing.assert_allclose(scorer.score(rows), other.predict_proba(features.head(50))[:, 1])


class _Sharpened(Pipeline):
    """A pipeline of our shape whose probabilities are post-processed: the encoding alone is
    not the whole model, so direct encoding must not be used."""

    def predict_proba(self, X):
        p = super().predict_proba(X)[:, 1] ** 2
        return np.column_stack([1 - p, p])


def test_row_scorer_falls_back_when_the_shortcut_disagrees_with_the_pipeline(telco_model, caplog):
    frame, result = telco_model
    sharpened = _Sharpened(result.model.steps)
    scorer = RowScorer(sharpened, result.schema)
    assert scorer.method == "pipeline"
    assert "disagrees with the pipeline" in caplog.text
    rows = _request_rows(frame, result.schema, 20)
    expected = sharpened.predict_proba(result.schema.coerce_frame(frame.head(20)))[:, 1]
    np.testing.assert_array_equal(scorer.score(rows), expected)


def test_row_scorer_passes_other_classifiers_the_encoded_rows(telco_model):
    """Our encoding in front of a classifier that is not gradient boosting: encoded directly,
    scored by the classifier's own predict_proba."""
    frame, result = telco_model
    schema = result.schema
    pipeline = build_pipeline(schema)
    pipeline.steps[1] = ("classifier", RandomForestClassifier(n_estimators=20, random_state=0))
    features = schema.coerce_frame(frame)[schema.feature_names]
    labels = (frame[TELCO_TARGET] == "Yes").astype(int)
    pipeline.fit(features, labels)
    scorer = RowScorer(pipeline, schema)
    assert scorer.method == "classifier"
    rows = _request_rows(frame, schema, 100)
    expected = pipeline.predict_proba(schema.coerce_frame(pd.DataFrame(rows)))[:, 1]
    np.testing.assert_array_equal(scorer.score(rows), expected)
