"""The pipeline: native categorical handling, unseen categories, missing values."""

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError
from driftwarden.schema import FeatureSchema, FeatureSpec
from driftwarden.training import ModelParams, build_pipeline


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


@pytest.mark.parametrize("task", ["regression", "multiclass_classification"])
def test_build_pipeline_refuses_a_task_it_does_not_build(task):
    with pytest.raises(
        ConfigError,
        match=rf"task '{task}' is not supported yet: driftwarden builds models for "
        r"'binary_classification'",
    ) as info:
        build_pipeline(_schema(), ModelParams(task=task))
    assert info.value.key == "task"
