"""The pipeline: native categorical handling, unseen categories, missing values, both tasks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from driftwarden.core.errors import ConfigError
from driftwarden.schema import FeatureSchema, FeatureSpec
from driftwarden.training import FINAL_STEP, ModelParams, build_pipeline


def _schema():
    return FeatureSchema(
        features=[
            FeatureSpec(name="plan", kind="categorical", categories=["a", "b"]),
            FeatureSpec(name="usage", kind="numeric", nullable=True),
        ],
        target="y",
        positive_label=1,
    )


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    plan = rng.choice(["a", "b"], n)
    usage = rng.normal(size=n)
    y = ((plan == "b") ^ (usage > 0.5)).astype(int)
    return pd.DataFrame({"plan": plan, "usage": usage}).astype({"plan": object}), y


def test_build_pipeline_learns_a_categorical_interaction():
    x, y = _frame()
    model = build_pipeline(_schema(), ModelParams(min_samples_leaf=5, early_stopping=False)).fit(
        x, y
    )
    assert (model.predict(x) == y).mean() > 0.95


def test_build_pipeline_scores_unseen_categories_and_missing_values():
    x, y = _frame()
    model = build_pipeline(_schema()).fit(x, y)
    odd = pd.DataFrame({"plan": ["zzz", None], "usage": [np.nan, 0.1]}).astype({"plan": object})
    scores = model.predict_proba(odd)[:, 1]
    assert np.isfinite(scores).all()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_build_pipeline_params_reach_the_classifier():
    model = build_pipeline(_schema(), ModelParams(max_iter=17, learning_rate=0.3))
    classifier = model.named_steps["classifier"]
    assert (classifier.max_iter, classifier.learning_rate) == (17, 0.3)
    assert list(classifier.categorical_features) == [True, False]
    assert ModelParams(max_iter=17).to_dict()["max_iter"] == 17


def test_build_pipeline_handles_a_schema_of_one_kind():
    schema = FeatureSchema(features=[FeatureSpec(name="usage", kind="numeric")], target="y")
    x, y = _frame()
    model = build_pipeline(schema).fit(x[["usage"]], y)
    assert model.predict_proba(x[["usage"]]).shape == (len(x), 2)


@pytest.mark.parametrize("task", ["multiclass_classification", "ranking"])
def test_build_pipeline_refuses_a_task_it_does_not_build(task):
    with pytest.raises(
        ConfigError,
        match=rf"task '{task}' is not supported: driftwarden builds models for "
        r"'binary_classification', 'regression'",
    ) as info:
        build_pipeline(_schema(), ModelParams(task=task))
    assert info.value.key == "task"


def _regression_schema():
    return FeatureSchema(
        features=[
            FeatureSpec(name="plan", kind="categorical", categories=["a", "b"]),
            FeatureSpec(name="usage", kind="numeric", nullable=True),
        ],
        target="spend",
        task="regression",
    )


def test_build_pipeline_builds_a_regressor_for_a_regression_schema():
    model = build_pipeline(_regression_schema(), ModelParams(max_iter=17, learning_rate=0.3))
    assert [name for name, _ in model.steps] == ["preprocess", FINAL_STEP["regression"]]
    regressor = model.named_steps["regressor"]
    assert isinstance(regressor, HistGradientBoostingRegressor)
    assert regressor.loss == "squared_error"
    assert (regressor.max_iter, regressor.learning_rate) == (17, 0.3)
    assert list(regressor.categorical_features) == [True, False]
    # The classifier keeps its step name.
    assert [name for name, _ in build_pipeline(_schema()).steps] == ["preprocess", "classifier"]


def test_build_pipeline_regressor_learns_a_categorical_interaction_with_missing_values():
    x, _ = _frame()
    spend = np.where(x["plan"] == "b", 10.0, 0.0) + 3.0 * x["usage"].to_numpy()
    x.loc[x.index[:20], "usage"] = np.nan
    model = build_pipeline(
        _regression_schema(), ModelParams(min_samples_leaf=5, early_stopping=False)
    ).fit(x, spend)
    seen = x["usage"].notna().to_numpy()
    assert np.abs(model.predict(x)[seen] - spend[seen]).mean() < 0.5
    odd = pd.DataFrame({"plan": ["zzz", None], "usage": [np.nan, 0.1]}).astype({"plan": object})
    assert np.isfinite(model.predict(odd)).all()


@pytest.mark.parametrize(
    ("schema", "task"),
    [(_schema(), "regression"), (_regression_schema(), "binary_classification")],
)
def test_build_pipeline_refuses_a_task_that_is_not_the_schemas(schema, task):
    with pytest.raises(
        ConfigError,
        match=rf"the model parameters ask for task '{task}', but the schema is for "
        rf"'{schema.task}'; make the two agree",
    ) as info:
        build_pipeline(schema, ModelParams(task=task))
    assert info.value.key == "task"


def test_model_params_without_a_task_follow_the_schema():
    assert ModelParams().task is None
    assert isinstance(build_pipeline(_regression_schema())[-1], HistGradientBoostingRegressor)
    assert isinstance(build_pipeline(_schema())[-1], HistGradientBoostingClassifier)
