"""The registry against a real MLflow store (SQLite and a local artifact folder) per test."""

import hashlib
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.core import RegistrySettings, SimulatedClock, load_settings
from driftwarden.core.errors import ConfigError, NotFoundError, RegistryError
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.training import ModelParams, predict_scores, train


def _frame(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 10.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = rng.random(n) < 1 / (1 + np.exp(-(usage - 20) / 8 - (plan == "basic")))
    return pd.DataFrame(
        {"account": [f"A{i}" for i in range(n)], "usage": usage, "plan": plan, "churned": churn}
    )


@pytest.fixture(scope="module")
def trained():
    frame = _frame()
    schema = infer_schema(frame, target="churned", entity_id="account")
    return train(frame, schema, params=ModelParams(max_iter=40))


@pytest.fixture
def registry(tmp_path):
    settings = load_settings(
        None,
        registry={
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": str(tmp_path / "artifacts"),
            "model_name": "churn",
        },
    )
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    return ModelRegistry(settings.registry, clock=clock), clock


def test_register_first_version_becomes_champion_then_challengers(registry, trained):
    reg, _ = registry
    first = reg.register(trained)
    second = reg.register(trained)
    assert first.version == 1
    assert first.aliases == ("champion",)
    assert second.version == 2
    assert second.aliases == ("challenger",)
    assert reg.alias_version("champion") == 1
    assert reg.alias_version("challenger") == 2


def test_register_stores_metrics_and_evidence_as_tags(registry, trained):
    reg, _ = registry
    info = reg.register(trained, trigger="drift")
    assert info.metrics["roc_auc"] == pytest.approx(trained.metrics.roc_auc)
    assert info.tags["data_hash"] == trained.data_hash
    assert info.tags["n_rows"] == str(trained.n_rows)
    assert info.tags["trigger"] == "drift"
    assert info.tags["trained_at"].startswith("2026-01-01")
    assert json.loads(json.dumps(info.to_dict()))["version"] == 1
    # The holdout estimated from the scores alone: the baseline of the monitor's estimate.
    expected = trained.estimated
    assert expected.n == trained.n_holdout
    assert info.metrics["estimated_roc_auc"] == pytest.approx(expected.roc_auc)
    assert info.metrics["estimated_accuracy"] == pytest.approx(expected.accuracy)
    assert "estimated_threshold" not in info.metrics


def test_load_profile_reads_the_profile_without_the_model(registry, trained):
    reg, _ = registry
    reg.register(trained)
    assert reg.load_profile(1).to_dict() == trained.profile.to_dict()
    with pytest.raises(NotFoundError, match="has no version 7"):
        reg.load_profile(7)


def test_load_champion_gives_model_schema_and_profile(registry, trained):
    reg, _ = registry
    reg.register(trained)
    loaded = reg.load()
    assert loaded.version == 1
    assert loaded.aliases == ("champion",)
    assert loaded.schema == trained.schema
    assert loaded.profile.to_dict() == trained.profile.to_dict()
    frame = trained.schema.coerce_frame(_frame(n=50, seed=9))[trained.schema.feature_names]
    np.testing.assert_allclose(
        predict_scores(loaded.model, frame), predict_scores(trained.model, frame)
    )


def test_load_by_version_number_and_alias(registry, trained):
    reg, _ = registry
    reg.register(trained)
    reg.register(trained)
    assert reg.load(2).version == 2
    assert reg.load("2").version == 2
    assert reg.load("challenger").version == 2


def test_load_unknown_version_or_empty_alias_is_not_found(registry, trained):
    reg, _ = registry
    with pytest.raises(NotFoundError, match="points to no version"):
        reg.load()
    reg.register(trained)
    with pytest.raises(NotFoundError, match="no version 7"):
        reg.load(7)
    with pytest.raises(NotFoundError, match="'challenger'"):
        reg.load("challenger")


def test_promote_moves_champion_and_clears_challenger(registry, trained):
    reg, clock = registry
    reg.register(trained)
    reg.register(trained)
    clock.advance(timedelta(hours=1))
    event = reg.promote(2, reason="won the A/B test", actor="policy")
    assert (event.from_version, event.to_version, event.action) == (1, 2, "promote")
    assert event.at == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert reg.alias_version("champion") == 2
    assert reg.alias_version("challenger") is None
    with pytest.raises(ConfigError, match="already the champion"):
        reg.promote(2)
    with pytest.raises(NotFoundError, match="no version 5"):
        reg.promote(5)


def test_rollback_walks_back_the_champion_history(registry, trained):
    reg, _ = registry
    for _ in range(3):
        reg.register(trained, alias=None)
    reg.promote(1)
    reg.promote(2)
    reg.promote(3)
    assert reg.rollback(reason="regression").to_version == 2
    assert reg.rollback().to_version == 1
    with pytest.raises(NotFoundError, match="no earlier champion"):
        reg.rollback()
    history = reg.history()
    assert [(e.action, e.to_version) for e in history] == [
        ("promote", 1),
        ("promote", 2),
        ("promote", 3),
        ("rollback", 2),
        ("rollback", 1),
    ]
    assert history[3].reason == "regression"
    assert [e.sequence for e in history] == [1, 2, 3, 4, 5]


def test_rollback_refuses_when_the_alias_was_moved_outside(registry, trained):
    reg, _ = registry
    reg.register(trained)
    reg.register(trained)
    reg.register(trained, alias=None)
    reg.promote(2)
    reg._client.set_registered_model_alias("churn", "champion", "3")
    with pytest.raises(RegistryError, match="moved outside driftwarden"):
        reg.rollback()


def test_list_versions_newest_first_with_aliases(registry, trained):
    reg, _ = registry
    assert reg.list_versions() == []
    reg.register(trained)
    reg.register(trained)
    reg.set_challenger(1)
    listed = reg.list_versions()
    assert [v.version for v in listed] == [2, 1]
    assert listed[1].aliases == ("challenger", "champion")


def test_register_rejects_an_unknown_alias(registry, trained):
    reg, _ = registry
    with pytest.raises(ConfigError, match="alias must be"):
        reg.register(trained, alias="production")
    assert reg.list_versions() == []


def test_register_failure_leaves_nothing_registered(registry, trained, monkeypatch):
    reg, _ = registry

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(reg._client, "create_model_version", broken)
    with pytest.raises(RegistryError, match="disk full"):
        reg.register(trained)
    monkeypatch.undo()
    assert reg.list_versions() == []
    runs = reg._client.search_runs([reg._experiment_id()])
    assert [run.info.status for run in runs] == ["FAILED"]


def test_registry_unreachable_store_is_a_registry_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings = load_settings(None, registry={"tracking_uri": "http://127.0.0.1:9/"})
    registry = ModelRegistry(settings.registry)
    with pytest.raises(RegistryError):
        registry.list_versions()


def test_register_tags_params_importances_and_artifact_references(registry, trained):
    reg, _ = registry
    info = reg.register(trained)
    tags = info.tags
    for name, value in trained.params.to_dict().items():
        assert tags[f"param.{name}"] == str(value)
    top = json.loads(tags["top_importances"])
    assert list(top) == list(trained.importances)[: len(top)]
    assert 1 <= len(top) <= 5
    first = next(iter(trained.importances))
    assert top[first] == pytest.approx(trained.importances[first], rel=1e-3)
    assert tags["task"] == "binary_classification"
    assert all(len(value) <= 500 for value in tags.values())
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("schema", "profile"):
            local = reg._client.download_artifacts(info.run_id, tags[f"{kind}.path"], folder)
            digest = hashlib.sha256(Path(local).read_bytes()).hexdigest()
            assert tags[f"{kind}.sha256"] == digest
    assert tags["schema.sha256"] != tags["profile.sha256"]


def test_register_tags_the_commit_of_a_git_working_dir(registry, trained, git_repo, monkeypatch):
    repo, git = git_repo
    monkeypatch.chdir(repo)
    reg, _ = registry
    info = reg.register(trained)
    head = git("rev-parse", "HEAD")
    assert info.tags["git_commit"] == head
    run = reg._client.get_run(info.run_id)
    assert run.data.tags["mlflow.source.git.commit"] == head


def test_register_outside_a_git_working_dir_tags_an_unknown_commit(
    registry, trained, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    reg, _ = registry
    assert reg.register(trained).tags["git_commit"] == "unknown"


def test_load_refuses_a_version_of_a_task_it_does_not_know(registry, trained):
    reg, _ = registry
    reg.register(trained)
    reg._client.set_model_version_tag("churn", "1", "driftwarden.task", "ranking")
    with pytest.raises(
        RegistryError,
        match=r"version 1 of model 'churn' was trained for task 'ranking', which this "
        r"driftwarden does not know \(it knows 'binary_classification', 'regression'\); "
        r"upgrade driftwarden",
    ):
        reg.load()


def test_load_refuses_a_classifier_tagged_as_a_regression(registry, trained):
    reg, _ = registry
    reg.register(trained)
    reg._client.set_model_version_tag("churn", "1", "driftwarden.task", "regression")
    assert reg.get_version(1).task == "regression"
    with pytest.raises(
        RegistryError,
        match=r"version 1 of model 'churn' disagrees with itself on its task: it is tagged "
        r"'regression', its schema is for 'binary_classification' and its model is a "
        r"classifier, so it was changed outside driftwarden",
    ):
        reg.load()


def test_an_unreachable_registry_is_an_error_not_a_missing_alias(monkeypatch):
    # Port 1 on loopback refuses connections: a tracking server that is down.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    down = ModelRegistry(RegistrySettings(tracking_uri="http://127.0.0.1:1", model_name="churn"))
    with pytest.raises(RegistryError, match="reading alias 'champion' of 'churn' failed"):
        down.alias_version("champion")


def test_a_missing_alias_or_model_is_none(registry, trained):
    reg, _ = registry
    assert reg.alias_version("champion") is None  # no model registered yet
    reg.register(trained)
    assert reg.alias_version("no-such-alias") is None
