"""The retraining steps for either task: the gates' metric and direction, the labels, and where
the champion's training data comes from."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from driftwarden.core import ABTestSettings, ConfigError, DataError, RetrainingSettings
from driftwarden.data import TELCO_ID, TELCO_TARGET, generate_houses, load_telco
from driftwarden.registry import LoadedModel
from driftwarden.retraining import RetrainContext, Skip, TrainingData
from driftwarden.retraining.steps import _base_frame, _check_labels, gate_metric, validate
from driftwarden.schema import infer_schema
from driftwarden.stats import classification_metrics, regression_metrics
from driftwarden.training import ModelParams, train


@pytest.fixture(scope="module")
def price_model() -> Any:
    frame = generate_houses(800, seed=3)
    schema = infer_schema(frame, target="price", entity_id="house_id")
    return train(frame, schema, params=ModelParams(max_iter=20, task="regression"))


@pytest.fixture(scope="module")
def price_holdout() -> tuple[pd.DataFrame, np.ndarray]:
    frame = generate_houses(300, seed=4)
    return frame, frame["price"].to_numpy(dtype=np.float64)


def context(settings, result) -> RetrainContext:
    """A context whose champion is ``result`` (the gates read nothing else)."""
    champion = LoadedModel(1, result.model, result.schema, result.profile, "run", ("champion",))
    return RetrainContext(settings, None, None, None, 1, "manual", champion=champion)


def with_error(result, true, error):
    """``result`` as a candidate whose holdout errors are all ``error``: RMSE = MAE = |error|."""
    return dataclasses.replace(result, metrics=regression_metrics(true, true + error))


def data_of(frame, labels) -> TrainingData:
    return TrainingData(frame, labels, frame, labels, {})


def champion_rmse(result, frame, labels) -> float:
    holdout = result.schema.coerce_frame(frame[result.schema.feature_names])
    predicted = result.model.predict(holdout)
    return float(np.sqrt(np.mean((predicted - labels) ** 2)))


def gates_of(settings, result, candidate, frame, labels):
    passed, gates, metrics = validate(context(settings, result), candidate, data_of(frame, labels))
    return passed, {gate.name: gate for gate in gates}, metrics


def test_settings_default_to_the_tasks_metric_and_no_ceiling():
    retraining = RetrainingSettings()
    assert (retraining.metric, retraining.max_error, retraining.min_score) == (None, None, 0.6)
    assert ABTestSettings().metric is None
    with pytest.raises(ValidationError, match="max_error"):
        RetrainingSettings(max_error=0)
    with pytest.raises(ValidationError, match="metric"):
        RetrainingSettings(metric="r2")
    with pytest.raises(ValidationError, match="metric"):
        ABTestSettings(metric="rmse")


@pytest.mark.parametrize(
    ("configured", "task", "resolved"),
    [
        (None, "regression", "rmse"),
        (None, "binary_classification", "roc_auc"),
        ("mae", "regression", "mae"),
        ("f1", "binary_classification", "f1"),
    ],
)
def test_the_gates_metric_defaults_by_task(make_settings, configured, task, resolved):
    settings = make_settings(retraining={"metric": configured})
    assert gate_metric(settings, task) == resolved


@pytest.mark.parametrize(
    ("configured", "task", "choices"),
    [
        ("roc_auc", "regression", "use one of rmse, mae"),
        ("rmse", "binary_classification", "use one of roc_auc, accuracy, f1, precision, recall"),
    ],
)
def test_a_gate_metric_of_the_other_task_is_refused(make_settings, configured, task, choices):
    settings = make_settings(retraining={"metric": configured})
    with pytest.raises(ConfigError, match=f"retraining.metric = '{configured}' cannot") as info:
        gate_metric(settings, task)
    assert info.value.key == "retraining.metric"
    assert choices in str(info.value)


def test_a_lower_error_passes_the_champion_gate(make_settings, price_model, price_holdout):
    frame, labels = price_holdout
    theirs = champion_rmse(price_model, frame, labels)
    candidate = with_error(price_model, labels, 0.5 * theirs)
    # min_score is a score's floor: an error ignores it.
    settings = make_settings(retraining={"min_score": 1.0})
    passed, gates, metrics = gates_of(settings, price_model, candidate, frame, labels)
    assert passed
    assert list(gates) == ["schema", "champion (rmse)"]
    gate = gates["champion (rmse)"]
    assert gate.value == pytest.approx(0.5 * theirs)
    assert gate.threshold == pytest.approx(1.01 * theirs)
    assert gate.detail.startswith(f"{0.5 * theirs:,.0f} is at most {1.01 * theirs:,.0f} (")
    assert gate.detail.endswith(f"(the champion's {theirs:,.0f} plus retraining.tolerance 1.0%)")
    assert metrics["champion"]["rmse"] == pytest.approx(theirs)
    assert metrics["candidate"]["rmse"] == pytest.approx(0.5 * theirs)


@pytest.mark.parametrize(("ratio", "passes"), [(1.005, True), (1.02, False)])
def test_the_tolerance_of_an_error_is_relative_to_the_champions(
    make_settings, price_model, price_holdout, ratio, passes
):
    frame, labels = price_holdout
    theirs = champion_rmse(price_model, frame, labels)
    candidate = with_error(price_model, labels, ratio * theirs)
    passed, gates, _ = gates_of(make_settings(), price_model, candidate, frame, labels)
    assert passed is passes
    gate = gates["champion (rmse)"]
    assert gate.passed is passes
    assert (" is at most " in gate.detail) is passes
    assert (" exceeds " in gate.detail) is not passes


def test_the_ceiling_gates_an_error_when_set(make_settings, price_model, price_holdout):
    frame, labels = price_holdout
    theirs = champion_rmse(price_model, frame, labels)
    candidate = with_error(price_model, labels, 0.5 * theirs)
    settings = make_settings(retraining={"max_error": 0.4 * theirs})
    passed, gates, _ = gates_of(settings, price_model, candidate, frame, labels)
    assert not passed
    assert list(gates) == ["schema", "ceiling (rmse)", "champion (rmse)"]
    assert not gates["ceiling (rmse)"].passed
    assert gates["ceiling (rmse)"].detail.endswith(" (retraining.max_error)")
    assert " exceeds " in gates["ceiling (rmse)"].detail
    assert gates["champion (rmse)"].passed
    roomy = make_settings(retraining={"max_error": 0.6 * theirs})
    assert gates_of(roomy, price_model, candidate, frame, labels)[0]


def test_the_mae_gates_when_configured(make_settings, price_model, price_holdout):
    frame, labels = price_holdout
    candidate = dataclasses.replace(
        price_model,
        # An RMSE far above the champion's, but a small MAE: the MAE decides.
        metrics=regression_metrics(labels, labels + np.r_[1e7, np.zeros(len(labels) - 1)]),
    )
    settings = make_settings(retraining={"metric": "mae"})
    passed, gates, _ = gates_of(settings, price_model, candidate, frame, labels)
    assert passed
    assert list(gates) == ["schema", "champion (mae)"]


def test_a_regression_champion_refuses_a_classification_gate_metric(
    make_settings, price_model, price_holdout
):
    frame, labels = price_holdout
    settings = make_settings(retraining={"metric": "roc_auc"})
    with pytest.raises(ConfigError, match="cannot watch a regression model; use one of rmse"):
        gates_of(settings, price_model, price_model, frame, labels)


def test_a_classifier_keeps_its_floor_and_absolute_tolerance(
    make_settings, trained_model, churn_frame
):
    frame = churn_frame(600, seed=21)
    labels = frame["churned"].to_numpy().astype(np.int64)
    # A perfect candidate: it reaches any floor but 1.0 + anything.
    perfect = dataclasses.replace(
        trained_model, metrics=classification_metrics(labels, labels.astype(np.float64))
    )
    settings = make_settings(retraining={"min_score": 0.99})
    passed, gates, metrics = gates_of(settings, trained_model, perfect, frame, labels)
    assert passed
    assert list(gates) == ["schema", "floor (roc_auc)", "champion (roc_auc)"]
    assert gates["floor (roc_auc)"].detail == "1.0000 reaches 0.9900 (retraining.min_score)"
    champion_auc = metrics["champion"]["roc_auc"]
    assert gates["champion (roc_auc)"].threshold == pytest.approx(champion_auc - 0.01)
    # The champion itself, measured on its training holdout, against a floor it cannot reach.
    strict = make_settings(retraining={"min_score": 0.999})
    _, gates, _ = gates_of(strict, trained_model, trained_model, frame, labels)
    assert gates["floor (roc_auc)"].detail.endswith(" is below 0.9990 (retraining.min_score)")
    with pytest.raises(ConfigError, match="cannot watch a classifier; use one of roc_auc"):
        gates_of(
            make_settings(retraining={"metric": "rmse"}), trained_model, perfect, frame, labels
        )


def test_too_few_distinct_true_values_skip_a_regression(price_model):
    with pytest.raises(Skip, match=r"the 100 held-out rows hold 2 distinct true values of "
                       r"'price'; a regression needs at least 10"):  # fmt: skip
        _check_labels(np.repeat([1.0, 2.0], 50), "held-out", price_model.schema)
    _check_labels(np.arange(10.0), "held-out", price_model.schema)


def test_one_class_still_skips_a_classifier(trained_model):
    with pytest.raises(Skip, match=r"the 3 training rows hold only one class \(1\)"):
        _check_labels(np.ones(3, dtype=np.int64), "training", trained_model.schema)


def test_the_bundled_telco_data_is_the_base_of_a_telco_model_only(
    make_settings, price_model, trained_model
):
    settings = make_settings()
    assert settings.training.data is None
    with pytest.raises(
        DataError, match=r"^training\.data is unset, .*\(a regression model of 'price'\)"
    ):
        _base_frame(settings, price_model.schema)
    with pytest.raises(
        DataError, match=r"\(a classification model of 'churned'\); set training\.data"
    ):
        _base_frame(settings, trained_model.schema)
    telco = infer_schema(load_telco(), target=TELCO_TARGET, entity_id=TELCO_ID)
    assert len(_base_frame(settings, telco)) == len(load_telco())
