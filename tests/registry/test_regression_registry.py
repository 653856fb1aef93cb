"""A regression version in a real MLflow store: metrics, tags, load, score."""

import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from driftwarden.core import SimulatedClock, load_settings
from driftwarden.core.errors import RegistryError
from driftwarden.registry import ModelRegistry
from driftwarden.registry.artifacts import ARTIFACT_DIR, METRICS_FILE
from driftwarden.schema import infer_schema
from driftwarden.stats.metrics import REGRESSION_METRICS, RegressionMetrics
from driftwarden.training import ModelParams, RowScorer, train


@pytest.fixture(scope="module")
def diabetes():
    frame = load_diabetes(as_frame=True).frame
    schema = infer_schema(frame, target="target")
    return frame, train(frame, schema, seed=4, params=ModelParams(max_iter=60))


@pytest.fixture
def registry(tmp_path):
    settings = load_settings(
        None,
        registry={
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": str(tmp_path / "artifacts"),
            "model_name": "progression",
        },
    )
    return ModelRegistry(settings.registry, clock=SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))


def test_register_a_regression_stores_its_metrics_and_task(registry, diabetes):
    _, result = diabetes
    info = registry.register(result)
    assert info.version == 1
    assert info.aliases == ("champion",)
    assert info.task == info.tags["task"] == "regression"
    expected = result.metrics.to_dict()
    for name in (*REGRESSION_METRICS, "mean_target", "mean_prediction"):
        assert info.metrics[name] == pytest.approx(expected[name]), name
    # CBPE estimates exist for classifiers only.
    assert not [name for name in info.metrics if name.startswith("estimated_")]
    assert "roc_auc" not in info.metrics
    assert registry.list_versions()[0].metrics == info.metrics

    run = registry._client.get_run(info.run_id).data
    for name in REGRESSION_METRICS:
        assert run.metrics[name] == pytest.approx(expected[name])
        assert run.metrics[f"train_{name}"] == pytest.approx(result.train_metrics.to_dict()[name])
    assert run.metrics["n"] == result.n_holdout
    assert run.metrics[f"importance.{next(iter(result.importances))}"] > 0
    assert run.params["task"] == "regression"
    with tempfile.TemporaryDirectory() as folder:
        path = registry._client.download_artifacts(
            info.run_id, f"{ARTIFACT_DIR}/{METRICS_FILE}", folder
        )
        stored = json.loads(Path(path).read_text())
    assert RegressionMetrics.from_dict(stored["holdout"]) == result.metrics
    assert RegressionMetrics.from_dict(stored["train"]) == result.train_metrics


def test_register_a_regression_skips_undefined_metrics(registry, diabetes):
    # A target holding 0 has no MAPE; a constant one no R².
    _, result = diabetes
    undefined = replace(result, metrics=replace(result.metrics, mape=None, r2=None))
    info = registry.register(undefined)
    assert "mape" not in info.metrics
    assert "r2" not in info.metrics
    assert info.metrics["rmse"] == pytest.approx(result.metrics.rmse)
    run = registry._client.get_run(info.run_id).data
    assert "mape" not in run.metrics
    assert "train_mape" in run.metrics


def test_load_a_regression_version_and_score_it_through_the_row_scorer(registry, diabetes):
    frame, result = diabetes
    registry.register(result)
    loaded = registry.load()
    assert loaded.task == "regression"
    assert loaded.schema == result.schema
    assert loaded.profile.to_dict() == result.profile.to_dict()
    scorer = RowScorer(loaded.model, loaded.schema)
    assert scorer.method == "trees"
    rows = frame[loaded.schema.feature_names].head(50).to_dict("records")
    expected = result.model.predict(frame[result.schema.feature_names].head(50))
    np.testing.assert_allclose(scorer.score(rows), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(scorer.score(rows[:5]), expected[:5], rtol=0, atol=1e-9)


def test_load_refuses_a_regressor_tagged_as_a_classifier(registry, diabetes):
    _, result = diabetes
    registry.register(result)
    registry._client.set_model_version_tag(
        "progression", "1", "driftwarden.task", "binary_classification"
    )
    with pytest.raises(
        RegistryError,
        match=r"it is tagged 'binary_classification', its schema is for 'regression' and its "
        r"model is a regressor",
    ):
        registry.load(1)
