"""Multivariate and explanation drift in real monitor runs: a change of correlation that every
per-feature verdict misses, and the model's attributions moving with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from driftwarden.core import SimulatedClock
from driftwarden.explain import with_explanations
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.store import list_alerts, list_runs
from driftwarden.training import ModelParams, train

START = datetime(2024, 3, 4, tzinfo=UTC)  # the clock of conftest.py
HOUR = timedelta(hours=1)


def joint_frame(n: int, seed: int, *, rho: float = 0.0) -> pd.DataFrame:
    """x1 and x2 standard normal with correlation ``rho`` (their marginals never change); the
    target is their product, so a correlation moves what the model attributes to them."""
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal(n)
    x2 = rho * x1 + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    x3 = rng.standard_normal(n)
    y = 10 * x1 * x2 + x3 + rng.normal(0, 0.5, n)
    return pd.DataFrame({"x1": x1.round(4), "x2": x2.round(4), "x3": x3.round(4), "y": y})


@pytest.fixture(scope="module")
def joint_model() -> Any:
    frame = joint_frame(4000, seed=1)
    schema = infer_schema(frame, target="y")
    return with_explanations(train(frame, schema, params=ModelParams(max_iter=150)))


@pytest.fixture
def make_joint(make_settings, joint_model) -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(monitor: dict[str, Any] | None = None) -> Any:
        # Both measures on (the suite turns them off by default, tests/conftest.py).
        on = {"enabled": True}
        monitor = {"min_samples": 200, "multivariate": on, "explanation": on, **(monitor or {})}
        settings = make_settings(registry={"model_name": "joint"}, monitor=monitor)
        registry = ModelRegistry(settings.registry)
        if registry.alias_version(registry.champion) is None:
            registry.register(joint_model)
        clock = SimulatedClock(START)
        http = TestClient(create_app(settings, registry=registry, clock=clock))
        http.__enter__()
        clients.append(http)
        return http, clock

    yield build
    for http in clients:
        http.__exit__(None, None, None)


def _send(http: TestClient, clock: SimulatedClock, frame: pd.DataFrame) -> None:
    rows = frame.drop(columns=["y"]).to_dict(orient="records")
    for part in range(0, len(rows), 500):
        assert http.post("/v1/predict", json={"rows": rows[part : part + 500]}).status_code == 200
    clock.advance(HOUR)


def test_a_version_keeps_its_samples_and_attributions(joint_model, make_joint):
    assert len(joint_model.reference_sample) == 3200  # every training row: fewer than 5,000
    assert len(joint_model.holdout_sample) == 800
    shares = joint_model.attributions["shares"]
    assert shares["x1"] + shares["x2"] > 0.8  # the product drives the target
    http, _ = make_joint()
    references = http.app.state.serving.monitor.runner.references  # type: ignore[attr-defined]
    sample = references.reference_sample(1)
    assert list(sample.columns) == ["x1", "x2", "x3"]
    assert sample.equals(joint_model.reference_sample)
    assert references.attributions(1) == joint_model.attributions


def test_a_changed_correlation_is_multivariate_and_explanation_drift_only(make_joint):
    http, clock = make_joint()
    monitor = http.app.state.serving.monitor  # type: ignore[attr-defined]
    _send(http, clock, joint_frame(1000, seed=2))
    quiet = monitor.run_once()
    [result] = quiet.outcome.results
    assert result.multivariate["severity"] == "ok"
    assert result.multivariate["auc"] < 0.6
    assert result.explanation["severity"] == "ok"
    assert not quiet.firing

    _send(http, clock, joint_frame(1000, seed=3, rho=0.9))
    report = monitor.run_once()
    [result] = report.outcome.results
    fired = {(c.rule, c.subject): c for c in report.firing}
    # No single feature moved: every per-feature verdict is ok.
    assert {f.severity.value for f in result.report.features.values()} == {"ok"}
    assert not [key for key in fired if key[0] == "feature_drift"]
    # Together they did, and adversarial validation names the pair.
    check = fired[("multivariate_drift", "")]
    assert check.severity == "critical"
    assert set(result.multivariate["top_features"][:2]) == {"x1", "x2"}
    assert result.multivariate["p_value"] < 0.05
    assert "most telling: x" in check.message
    # The model's reliance on x1 and x2 moved with it, while their inputs look stable.
    moved = {s for rule, s in fired if rule == "explanation_drift"}
    assert {"x1", "x2"} <= moved
    assert fired[("explanation_drift", "x1")].title.endswith("while its inputs look stable")
    assert result.explanation["features"]["x1"]["status"] == "influence_moved_inputs_stable"
    alerts = list_alerts(http.app.state.serving.engine, model_name="joint")  # type: ignore[attr-defined]
    assert {(a["rule"], a["subject"]) for a in alerts} >= {
        ("multivariate_drift", ""),
        ("explanation_drift", "x1"),
    }
    engine = http.app.state.serving.engine  # type: ignore[attr-defined]
    stored = list_runs(engine, "joint", limit=1, reports=True)[0]["results"][0]
    assert stored["multivariate"]["auc"] == result.multivariate["auc"]
    assert stored["explanation"]["features"]["x2"]["status"] == "influence_moved_inputs_stable"
    # Without the detail a run carries its multivariate drift, not the larger explanation.
    brief = http.get("/v1/monitoring/runs", params={"limit": 1}).json()["runs"][0]["results"][0]
    assert brief["multivariate"]["severity"] == "critical"
    assert "explanation" not in brief


def test_measures_wait_their_interval_and_can_be_turned_off(make_joint):
    http, clock = make_joint(
        monitor={
            "multivariate": {"every": "PT3H", "enabled": True},
            "explanation": {"enabled": False},
        }
    )
    monitor = http.app.state.serving.monitor  # type: ignore[attr-defined]
    measured = []
    for _ in range(4):
        _send(http, clock, joint_frame(300, seed=len(measured)))
        [result] = monitor.run_once().outcome.results
        measured.append((result.multivariate is not None, result.explanation is not None))
    assert measured == [(True, False), (False, False), (False, False), (True, False)]


def test_a_version_registered_without_samples_gets_neither_measure_and_says_so_once(
    make_settings, joint_model, caplog
):
    import dataclasses

    bare = dataclasses.replace(
        joint_model, reference_sample=None, holdout_sample=None, attributions=None
    )
    on = {"enabled": True, "every": "PT0S"}
    settings = make_settings(
        registry={"model_name": "bare"},
        monitor={"min_samples": 200, "multivariate": on, "explanation": on},
    )
    registry = ModelRegistry(settings.registry)
    registry.register(bare)
    assert registry.load_sample(1, "reference") is None
    assert registry.load_attributions(1) is None
    clock = SimulatedClock(START)
    with (
        caplog.at_level("INFO", logger="driftwarden.monitoring.multivariate"),
        TestClient(create_app(settings, registry=registry, clock=clock)) as http,
    ):
        monitor = http.app.state.serving.monitor  # type: ignore[attr-defined]
        for seed in (1, 2):
            _send(http, clock, joint_frame(300, seed=seed))
            [result] = monitor.run_once().outcome.results
            assert (result.multivariate, result.explanation) == (None, None)
    said = [r.getMessage() for r in caplog.records]
    assert said.count("version 1 gets no multivariate drift: it was registered without a "
                      "training sample") == 1  # fmt: skip
    assert sum("gets no explanation drift" in m for m in said) == 1
