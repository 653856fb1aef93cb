"""Retraining requests: one at a time, the cooldown, skips, failures, runs whose process died, and
the retrain policy's triggers."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import numpy as np
import pytest

from driftwarden.monitoring import RetrainPolicy
from driftwarden.store import (
    begin_retrain_run,
    get_retrain_run,
    list_retrain_runs,
    record_step,
    update_retrain_run,
)

ADMIN = {"Authorization": "Bearer s3cret"}
DAY = timedelta(days=1)


@pytest.fixture
def base_data(tmp_path, churn_frame):
    path = tmp_path / "training.csv"
    churn_frame(4000, seed=100).to_csv(path, index=False)
    return path


@pytest.fixture
def served(make_served, base_data, churn_frame):
    served = make_served(
        training={"data": str(base_data)},
        monitor={"window": "P1D", "min_samples": 100, "min_labelled": 50},
        retraining={"min_new_rows": 300},
    )
    served.traffic(churn_frame(600, seed=700), over=DAY, requests=4)
    served.label(served.sent)
    return served


def test_a_request_while_one_runs_is_recorded_not_queued(served):
    running, started = begin_retrain_run(
        served.engine, "churn", trigger="drift", reason="r", evidence={}, at=served.clock.now()
    )
    assert started
    response = served.http.post("/v1/retrain", json={"reason": "now"}, headers=ADMIN)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert f"retraining run {running} is running" in body["detail"]
    assert body["run"]["status"] == "skipped"
    assert body["run"]["evidence"]["running_run"] == running
    statuses = [r["status"] for r in list_retrain_runs(served.engine, model_name="churn")]
    assert statuses == ["skipped", "running"]


def test_automatic_requests_wait_for_the_cooldown_and_are_recorded_once(served):
    retrainer = served.app.state.serving.retrainer
    first = retrainer.request("drift", "critical drift")
    assert first["status"] == "succeeded", first
    # A running A/B test holds automatic requests (the first run started one)...
    tested = retrainer.request("performance", "worse")
    assert tested["status"] == "skipped"
    assert (
        tested["error"] == f"A/B test {first['ab_test_id']} of version 2 is running; "
        "retraining waits until it ends"
    )
    stopped = served.http.post(
        f"/v1/ab-tests/{first['ab_test_id']}/stop", json={"reason": "enough"}, headers=ADMIN
    )
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "aborted"
    # ...and so does the cooldown (6 hours by default) after the last run finished...
    held = retrainer.request("drift", "critical drift again")
    assert held["status"] == "skipped"
    assert "the cooldown (retraining.cooldown 6:00:00) has not passed" in held["error"]
    # ...and the same condition at every monitor run is one entry, not one per run.
    again = retrainer.request("drift", "critical drift again")
    assert again["id"] == held["id"]
    served.clock.advance(timedelta(hours=7))
    assert retrainer.request("drift", "still drifting")["status"] == "succeeded"


def test_too_few_labelled_rows_skip_the_retraining(make_served, base_data):
    served = make_served(training={"data": str(base_data)}, retraining={"min_new_rows": 300})
    response = served.http.post("/v1/retrain", headers=ADMIN)
    assert response.status_code == 202
    served.app.state.serving.retrainer.join()
    run = get_retrain_run(served.engine, response.json()["id"])
    assert run["status"] == "skipped"
    assert run["error"].startswith("0 labelled production rows")
    assert [(s["step"], s["status"]) for s in run["steps"]] == [("decide", "skipped")]
    # A flow ran in this process: a child forked now still exits cleanly.
    child = multiprocessing.get_context("fork").Process(target=print, args=("child",))
    child.start()
    child.join(30)
    assert child.exitcode == 0


def test_a_failing_step_fails_the_run_with_its_error_and_changes_nothing(
    make_served, tmp_path, churn_frame
):
    wrong = tmp_path / "other.csv"
    churn_frame(50, seed=1).drop(columns="plan").to_csv(wrong, index=False)
    served = make_served(training={"data": str(wrong)}, retraining={"min_new_rows": 300})
    served.traffic(churn_frame(600, seed=701), over=DAY, requests=4)
    served.label(served.sent)
    run = served.app.state.serving.retrainer.request("manual", "go")
    assert run["status"] == "failed"
    assert "lacks the champion's columns ['plan']" in run["error"]
    assert [(s["step"], s["status"]) for s in run["steps"]][-1] == ("fetch_data", "failed")
    registry = served.app.state.serving.models.registry
    assert [v.version for v in registry.list_versions()] == [1]
    assert registry.alias_version("champion") == 1


def test_a_run_whose_process_died_is_failed_and_its_challenger_removed(served, trained_model):
    registry = served.app.state.serving.models.registry
    # A run that registered its candidate and set the alias, then its process was killed.
    dead, _ = begin_retrain_run(
        served.engine, "churn", trigger="drift", reason="r", evidence={}, at=served.clock.now()
    )
    version = registry.register(trained_model, alias="challenger").version
    update_retrain_run(served.engine, dead, {"candidate_version": version})
    record_step(served.engine, dead, {"step": "register_challenger"}, at=served.clock.now())
    served.clock.advance(timedelta(hours=3))  # past retraining.stale_after (2 hours)
    fresh = served.app.state.serving.retrainer.request("manual", "after the crash")
    assert fresh["status"] == "succeeded", fresh
    failed = get_retrain_run(served.engine, dead)
    assert failed["status"] == "failed"
    assert "no heartbeat since" in failed["error"]
    # The orphaned challenger gave way; the new run's candidate is the challenger now.
    assert registry.alias_version("challenger") == fresh["candidate_version"]
    assert fresh["candidate_version"] != version


def test_the_policy_asks_for_a_retraining_after_critical_drift_in_a_row(make_served, churn_frame):
    served = make_served(
        monitor={"window": "P1D", "min_samples": 100, "min_labelled": 50},
        retraining={"policy": {"drift_runs": 2, "performance_drop": None, "concept_drift": False}},
    )
    requests = []
    for day in range(2):
        served.traffic(churn_frame(400, seed=800 + day, usage_shift=40.0), over=DAY, requests=2)
        requests.append(served.monitor.run_once().retrain)
    assert requests[0] is None
    assert requests[1] is not None
    assert requests[1].trigger == "drift"
    assert len(requests[1].evidence["monitor_runs"]) == 2


def test_the_schedule_asks_for_a_retraining_when_its_time_has_come(make_served, churn_frame):
    served = make_served(
        monitor={"window": "P1D", "min_samples": 100},
        retraining={"schedule": "P7D", "policy": {"enabled": False}},
    )
    policy = RetrainPolicy(served.app.state.serving.settings, served.engine, "churn", served.clock)
    served.traffic(churn_frame(200, seed=900), over=DAY, requests=2)
    assert policy.check(served.monitor.runner.run()) is None  # the schedule starts counting
    served.clock.advance(6 * DAY)
    assert policy.check(served.monitor.runner.run()) is None
    served.clock.advance(DAY)
    request = policy.check(served.monitor.runner.run())
    assert request is not None
    assert request.trigger == "schedule"


def test_admin_routes_need_the_admin_key(served):
    for method, path in [
        ("post", "/v1/retrain"),
        ("post", "/v1/models/rollback"),
        ("post", "/v1/models/promote"),
        ("post", "/v1/ab-tests"),
        ("post", "/v1/ab-tests/1/stop"),
    ]:
        response = getattr(served.http, method)(path, json={})
        assert response.status_code == 401, (path, response.text)
    assert served.http.get("/v1/retraining/runs/999").status_code == 404
    assert served.http.get("/v1/ab-tests/999").status_code == 404
    nothing = served.http.post("/v1/models/rollback", headers=ADMIN)
    assert nothing.status_code == 404
    assert "no earlier champion" in nothing.json()["detail"]
    bad = served.http.post("/v1/ab-tests", json={"version": 0}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["field"] == "version"


def test_a_run_of_this_process_is_never_stale_however_far_the_clock_moves(served):
    retrainer = served.app.state.serving.retrainer
    training, release = threading.Event(), threading.Event()

    def progress(message):
        if message.startswith("fitting on"):
            training.set()
            release.wait(60)

    retrainer.progress = progress
    started = retrainer.request("manual", "slow one", wait=False)
    assert training.wait(60)
    served.clock.advance(timedelta(hours=5))  # far past retraining.stale_after
    second = retrainer.request("manual", "meanwhile")
    assert second["status"] == "skipped"
    assert f"retraining run {started['id']} is running" in second["error"]
    release.set()
    retrainer.join(60)
    assert get_retrain_run(served.engine, started["id"])["status"] == "succeeded"


def test_recent_labels_of_one_class_skip_the_retraining(make_served, base_data, churn_frame):
    served = make_served(training={"data": str(base_data)}, retraining={"min_new_rows": 300})
    served.traffic(churn_frame(600, seed=702), over=DAY, requests=4)
    served.label([(request_id, False) for request_id, _ in served.sent])
    run = served.app.state.serving.retrainer.request("manual", "all stayed")
    assert run["status"] == "skipped"
    assert run["error"].startswith("the 120 held-out rows hold only one class (0)")
    assert [(s["step"], s["status"]) for s in run["steps"]][-1] == ("fetch_data", "skipped")


def test_a_widened_challenger_swaps_in_live_and_other_features_do_not(served, churn_frame):
    from driftwarden.registry import ModelRegistry
    from driftwarden.schema import infer_schema, widen_schema
    from driftwarden.training import ModelParams, train

    state = served.app.state.serving
    champion_schema = state.models.get("champion").loaded.schema
    frame = churn_frame(2000, seed=77)
    frame["plan"] = frame["plan"].where(frame.index % 7 > 0, "max")
    widened, changes = widen_schema(champion_schema, frame)
    assert [c.kind for c in changes if c.feature == "plan"] == ["new_categories"]
    registry = ModelRegistry(state.settings.registry)
    registry.register(train(frame, widened, params=ModelParams(max_iter=20)), alias="challenger")
    loaded = served.http.post("/v1/admin/reload", headers=ADMIN).json()["loaded"]
    assert loaded == {"champion": 1, "challenger": 2}
    # A version that reads another feature cannot answer the requests this server validates.
    other = frame.assign(region=np.where(frame.index % 2, "north", "south"))
    schema = infer_schema(other, target="churned", entity_id="account")
    registry.register(train(other, schema, params=ModelParams(max_iter=20)), alias="challenger")
    loaded = served.http.post("/v1/admin/reload", headers=ADMIN).json()["loaded"]
    assert loaded == {"champion": 1, "challenger": 2}


def test_promote_over_the_api_moves_the_champion_on_this_server(served, trained_model):
    registry = served.app.state.serving.models.registry
    registry.register(trained_model, alias=None)
    response = served.http.post(
        "/v1/models/promote", json={"version": 2, "reason": "hand-picked"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["loaded"]["champion"] == 2
    assert response.json()["event"]["reason"] == "hand-picked"
    again = served.http.post("/v1/models/promote", json={"version": 2}, headers=ADMIN)
    assert again.status_code == 409


def test_the_policy_reads_realised_performance_that_arrived_for_an_earlier_window(
    make_served, churn_frame
):
    served = make_served(
        monitor={"window": "P1D", "min_samples": 100, "min_labelled": 50},
        retraining={"policy": {"concept_drift": False, "drift_runs": 99}},
    )
    served.traffic(churn_frame(600, seed=950, flipped=True), over=DAY, requests=4)
    first = served.monitor.run_once()
    assert first.retrain is None  # no label has arrived yet
    served.label(served.sent)  # a day late
    served.clock.advance(DAY)
    later = served.monitor.run_once()
    assert later.outcome.result(1) is None  # nothing was served in this window
    assert later.retrain is not None
    assert later.retrain.trigger == "performance"
    assert later.retrain.evidence["monitor_run"] == first.outcome.run_id
    assert later.retrain.evidence["n_labelled"] == 600
