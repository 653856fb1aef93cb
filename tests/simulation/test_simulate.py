"""The acceptance tests of the closed loop, in simulated time on the real system.

Each runs ``simulate``: the real API app, store, MLflow registry, monitor, Prefect retraining flow
and promotion policy on a simulated clock, fed by the row generator fitted on the Telco data, with
drift injected by the data scenarios. The figures asserted are computed by the summary from what
the system itself recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from driftwarden.core import load_settings
from driftwarden.simulation.simulate import SimulationOptions, simulate
from driftwarden.simulation.summary import parse_time, summarise
from driftwarden.store import list_runs

pytestmark = pytest.mark.slow

START = datetime(2024, 1, 1, tzinfo=UTC)


def settings_for(tmp_path, **overrides):
    return load_settings(None, home=str(tmp_path / "home"), alerts={"log": False}, **overrides)


# The quiet week turns the multivariate and explanation measures on (the suite turns them off,
# tests/conftest.py), to show that they raise no false alarm either.
BOTH_MEASURES = {"multivariate": {"enabled": True}, "explanation": {"enabled": True}}


def test_a_sudden_shift_is_flagged_within_an_hour_at_a_thousand_predictions_an_hour(tmp_path):
    options = SimulationOptions(
        scenarios=("sudden",), days=1, rate=24_000, label_delay=timedelta(hours=1),
        step=timedelta(hours=1), monitor_every=timedelta(hours=1), window=timedelta(hours=1),
    )  # fmt: skip
    # The first critical window comes before any automatic retraining can (that needs
    # `drift_runs` critical runs in a row), so the retrainings that would follow it change
    # nothing asserted here; off, they no longer cost the test half its time. The other tests
    # of this module run the retraining flow.
    settings = settings_for(tmp_path, retraining={"policy": {"enabled": False}})
    result = simulate(settings, options, tmp_path / "run")
    assert result.retraining_runs == []
    [injection] = result.injections
    [column] = injection["columns"]
    start = parse_time(injection["start"])
    drifted = [
        d for d in result.drift
        if d["feature"] == column and parse_time(d["window_end"]) > start
    ]  # fmt: skip
    first = min(drifted, key=lambda d: d["window_end"])
    assert first["method"] == "psi"
    assert first["statistic"] > 0.25
    assert first["severity"] == "critical"
    assert parse_time(first["window_end"]) - start <= timedelta(hours=1)
    summary = summarise(result)
    [found] = summary["injections"]
    assert found["detection_delay_hours"] is not None
    assert found["detection_delay_hours"] <= 1.0


def test_seven_days_without_drift_raise_no_critical_alert_and_at_most_one_warning(tmp_path):
    options = SimulationOptions(scenarios=("none",), days=7, rate=2000)
    settings = settings_for(tmp_path, monitor=BOTH_MEASURES)
    result = simulate(settings, options, tmp_path / "run")
    # Both measures ran on the week's windows, and found nothing.
    engine = create_engine(f"sqlite:///{tmp_path / 'run' / 'driftwarden.db'}")
    measured = [
        res
        for run in list_runs(engine, settings.registry.model_name, limit=100, reports=True)
        for res in run["results"]
    ]
    engine.dispose()
    assert len(measured) >= 7 * 4
    assert {res["multivariate"]["severity"] for res in measured} == {"ok"}
    assert {res["explanation"]["severity"] for res in measured} == {"ok"}
    assert result.injections == []
    severities = [a["severity"] for a in result.alerts]
    assert "critical" not in severities, result.alerts
    assert severities.count("warning") <= 1, result.alerts
    summary = summarise(result)
    assert summary["false_alarms"]["critical"] == 0
    assert sum(day.n for day in result.days) == 7 * 2000


def test_a_concept_change_is_retrained_tested_and_promoted_without_anyone_acting(tmp_path):
    settings = settings_for(
        tmp_path,
        ab_test={"share": 0.5, "min_duration": "P2D"},
    )
    options = SimulationOptions(scenarios=("concept",), days=12, rate=2000, seed=3)
    result = simulate(settings, options, tmp_path / "run")
    summary = summarise(result)
    [injection] = summary["injections"]
    assert injection["detected_at"] is not None
    assert injection["retrained"] is not None
    assert injection["promoted"] is not None
    assert any(test["status"] == "promoted" for test in result.ab_tests)
    assert [e["actor"] for e in result.history if e["action"] == "promote"][1:] == [
        "promotion policy"
    ] * (summary["promotions"])
    assert summary["performance"]["gain_last_week_accuracy_points"] >= 3.0
    assert result.days[-1].champion_version > 1


def test_every_scenarios_summary_figures_are_reproducible_under_a_seed(tmp_path):
    # All six drifts in sequence, in one run: each injection's figures, and the run's.
    names = ("sudden", "gradual", "seasonal", "new_category", "concept", "class_balance")
    quick = {"days": 6, "rate": 500, "monitor_every": timedelta(hours=12)}
    options = SimulationOptions(scenarios=names, seed=11, **quick)
    first = summarise(simulate(settings_for(tmp_path / "a"), options, tmp_path / "a" / "run"))
    second = summarise(simulate(settings_for(tmp_path / "b"), options, tmp_path / "b" / "run"))
    for summary in (first, second):
        summary["run"].pop("seconds", None)
    assert [i["kind"] for i in first["injections"]] == [
        "sudden", "gradual", "seasonal", "new_category", "concept", "class_balance",
    ]  # fmt: skip
    assert first == second
    # Equality covers each injection's figures; most of the drifts were caught.
    detected = [i["detected_at"] is not None for i in first["injections"]]
    assert sum(detected) >= 3, first["injections"]


def test_a_simulation_keeps_its_state_apart_and_applies_no_latency_guardrail(tmp_path):
    from driftwarden.simulation.simulate import simulation_settings

    options = SimulationOptions(scenarios=("none",), days=2, rate=100)
    user = settings_for(tmp_path, ab_test={"share": 0.3, "max_latency_ratio": 1.2})
    settings = simulation_settings(user, tmp_path / "run", options)
    assert settings.store.url == f"sqlite:///{(tmp_path / 'run' / 'driftwarden.db').as_posix()}"
    assert (settings.ab_test.share, settings.ab_test.max_latency_ratio) == (0.3, 1.2)
    # Every arm answers in the one process: its latencies are the machine's, so no arm may
    # reach the rows the guardrail needs before it compares them.
    assert settings.ab_test.latency_min_rows > options.days * options.rate
