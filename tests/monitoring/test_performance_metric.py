"""Which metric a performance rule watches for each task, and how worsening is measured."""

from __future__ import annotations

import pytest

from driftwarden.core import ConfigError, load_settings
from driftwarden.monitoring import check_task_settings, watched_metric, worsening
from driftwarden.monitoring.performance import default_metric, task_of


def test_unset_metric_watches_the_tasks_default():
    assert watched_metric(None, "binary_classification", "k") == "roc_auc"
    assert watched_metric(None, "regression", "k") == "rmse"
    assert default_metric("regression") == "rmse"
    assert watched_metric("mae", "regression", "k") == "mae"
    assert watched_metric("f1", "binary_classification", "k") == "f1"


def test_a_metric_of_the_other_task_is_refused_naming_the_key_and_the_choices():
    with pytest.raises(ConfigError, match="'rmse' cannot watch a classifier; use one of roc_auc"):
        watched_metric("rmse", "binary_classification", "alerts.rules.performance_drop.metric")
    with pytest.raises(
        ConfigError, match=r"leave retraining\.policy\.metric unset to watch rmse"
    ) as info:
        watched_metric("roc_auc", "regression", "retraining.policy.metric")
    assert info.value.key == "retraining.policy.metric"


def test_worsening_is_a_drop_of_a_score_and_a_rise_of_an_error():
    assert worsening("roc_auc", 0.72, 0.80) == pytest.approx(0.10)
    assert worsening("roc_auc", 0.90, 0.80) == 0.0
    assert worsening("rmse", 1.25, 1.0) == pytest.approx(0.25)
    assert worsening("mae", 0.5, 1.0) == 0.0
    assert worsening("rmse", 1.0, 0.0) is None


def test_the_task_of_holdout_metrics():
    assert task_of({"rmse": 3.0, "mae": 2.0}) == "regression"
    assert task_of({"roc_auc": 0.8}) == "binary_classification"
    assert task_of({}) == "binary_classification"


def test_check_task_settings_accepts_defaults_for_both_tasks(tmp_path):
    settings = load_settings(None, home=str(tmp_path))
    check_task_settings(settings, "regression")
    check_task_settings(settings, "binary_classification")
    rmse = load_settings(
        None, home=str(tmp_path), alerts={"rules": {"performance_drop": {"metric": "rmse"}}}
    )
    check_task_settings(rmse, "regression")
    with pytest.raises(ConfigError, match=r"alerts\.rules\.performance_drop\.metric = 'rmse'"):
        check_task_settings(rmse, "binary_classification")
