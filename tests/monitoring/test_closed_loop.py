"""The closed loop in simulated time: a concept change leads to retraining, the challenger proves
itself on live traffic and is promoted; a worse challenger is rejected; a rollback restores the
previous champion on a running server.

Everything is real: the API (``create_app``), the store, the MLflow registry, the Prefect flow
(in this process, on Prefect's ephemeral server) and the statistical tests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from driftwarden.store import get_ab_test, get_retrain_run, list_retrain_runs, running_ab_test

pytestmark = pytest.mark.slow

DAY = timedelta(days=1)


@pytest.fixture
def base_data(tmp_path, churn_frame):
    """The champion's training data as a file, as `training.data` names it."""
    path = tmp_path / "training.csv"
    churn_frame(4000, seed=100).to_csv(path, index=False)
    return path


def loop_settings(base_data, **ab_test):
    return {
        "training": {"data": str(base_data)},
        "monitor": {"window": "P1D", "min_samples": 100, "min_labelled": 50},
        "retraining": {"min_new_rows": 300, "cooldown": "PT0S"},
        "ab_test": {"share": 0.5, "min_labelled": 150, **ab_test},
    }


def day_of_traffic(served, churn_frame, seed, *, n=1500, flipped=False):
    """One simulated day of traffic, every label arriving at its end."""
    served.traffic(churn_frame(n, seed=seed, flipped=flipped), over=DAY, requests=6)
    served.label(served.sent)
    served.sent.clear()


def validation_changes(run):
    return next(s for s in run["steps"] if s["step"] == "train")["result"]["schema_changes"]


def reload(served):
    response = served.http.post("/v1/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_concept_change_is_retrained_and_the_better_challenger_promoted(
    make_served, churn_frame, base_data
):
    served = make_served(**loop_settings(base_data))
    state = served.app.state.serving
    # The concept flips: customers who used to stay now churn. 6,000 labelled rows, more than
    # the 4,000 training rows, so the candidate learns mostly the new concept.
    for day in range(4):
        day_of_traffic(served, churn_frame, seed=200 + day, flipped=True)
    report = served.monitor.run_once()
    assert report.retrain is not None
    assert report.retrain.trigger in ("performance", "concept")
    state.retrainer.join()

    runs = list_retrain_runs(served.engine, model_name="churn")
    assert runs[0]["status"] == "succeeded", runs[0]
    run = runs[0]
    assert [step["step"] for step in run["steps"]] == [
        "decide", "fetch_data", "train", "validate", "register_challenger", "start_ab_test",
    ]  # fmt: skip
    validation = run["steps"][3]["result"]
    assert validation["passed"] is True
    candidate_auc = validation["metrics"]["candidate"]["roc_auc"]
    champion_auc = validation["metrics"]["champion"]["roc_auc"]
    assert candidate_auc > champion_auc + 0.2  # measured on the same recent holdout
    version = run["candidate_version"]
    registry = state.models.registry
    assert registry.alias_version("challenger") == version
    assert registry.get_version(version).tags["retrain_run"] == str(run["id"])
    test = running_ab_test(served.engine, "churn")
    assert test is not None
    assert test["id"] == run["ab_test_id"]
    assert (test["champion_version"], test["challenger_version"]) == (1, version)

    assert reload(served)["loaded"] == {"champion": 1, "challenger": version}
    assert state.router.config.mode == "split"
    promoted_on = None
    for day in range(5):
        day_of_traffic(served, churn_frame, seed=300 + day, flipped=True)
        decision = served.monitor.run_once().ab_test
        assert decision is not None
        if decision.action == "promote":
            promoted_on = day
            break
        assert decision.action == "continue", decision.reason
    # Better from the first day, but promoted only once the 3 days have passed.
    assert promoted_on is not None
    assert promoted_on >= 2
    finished = get_ab_test(served.engine, test["id"])
    assert finished["status"] == "promoted"
    comparison = finished["decision"]["comparison"]
    assert comparison["method"] == "two_proportion_z"
    assert comparison["p_value"] < 0.05
    assert comparison["difference"] >= 0.02
    assert [s["action"] for s in finished["snapshots"]][-1] == "promote"
    assert registry.alias_version("champion") == version
    assert registry.alias_version("challenger") is None
    event = registry.history()[-1]
    assert (event.to_version, event.actor) == (version, "promotion policy")
    assert f"A/B test {test['id']}" in event.reason

    tested = served.http.get(f"/v1/ab-tests/{test['id']}").json()
    assert tested["schema_changes"] == validation_changes(run)
    reload(served)
    assert state.router.config.mode == "off"
    # The new champion is measured against its own reference and does well: no new retraining.
    day_of_traffic(served, churn_frame, seed=600, flipped=True)
    after = served.monitor.run_once()
    assert after.outcome.champion == version
    assert after.retrain is None
    answer = served.http.post("/v1/predict", json=churn_frame(1, seed=9).drop(columns="churned")
                              .to_dict(orient="records")[0])  # fmt: skip
    assert answer.json()["model_version"] == version

    # One command back: the previous champion serves this server at once.
    response = served.http.post(
        "/v1/models/rollback",
        json={"reason": "the business asked"},
        headers={"Authorization": "Bearer s3cret"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["loaded"]["champion"] == 1
    answer = served.http.post("/v1/predict", json=churn_frame(1, seed=10).drop(columns="churned")
                              .to_dict(orient="records")[0])  # fmt: skip
    assert answer.json()["model_version"] == 1
    history = served.http.get("/v1/models/history").json()
    assert [e["action"] for e in history["events"]] == ["promote", "promote", "rollback"]
    assert history["lineage"] == [1]


@pytest.mark.parametrize(
    ("mode", "metric", "method"),
    [
        ("split", "accuracy", "two_proportion_z"),
        ("shadow", "accuracy", "mcnemar"),
        ("split", "roc_auc", "bootstrap"),
        ("shadow", "roc_auc", "delong"),
    ],
)
def test_a_worse_challenger_is_rejected_before_the_minimum_duration(
    make_served, churn_frame, base_data, make_settings, mode, metric, method
):
    from driftwarden.registry import ModelRegistry
    from driftwarden.schema import infer_schema
    from driftwarden.training import ModelParams, train

    served = make_served(**loop_settings(base_data, metric=metric))
    # A challenger that learnt the reversed concept, tested on traffic that did not change.
    flipped = churn_frame(3000, seed=150, flipped=True)
    schema = infer_schema(flipped, target="churned", entity_id="account")
    worse = ModelRegistry(make_settings().registry).register(
        train(flipped, schema, params=ModelParams(max_iter=40)), alias=None
    )
    response = served.http.post(
        "/v1/ab-tests",
        json={"version": worse.version, "mode": mode},
        headers={"Authorization": "Bearer s3cret"},
    )
    assert response.status_code == 201, response.text
    test_id = response.json()["id"]
    # A second test while one runs is refused, and changes nothing.
    again = served.http.post(
        "/v1/ab-tests", json={"version": worse.version}, headers={"Authorization": "Bearer s3cret"}
    )
    assert again.status_code == 409
    reload(served)
    day_of_traffic(served, churn_frame, seed=400)
    decision = served.monitor.run_once().ab_test
    assert decision is not None
    assert decision.action == "reject", decision.reason
    assert decision.elapsed < timedelta(days=3)
    assert decision.comparison is not None
    assert decision.comparison.method == method
    assert decision.comparison.paired is (mode == "shadow")
    assert decision.comparison.difference < 0
    found = served.http.get(f"/v1/ab-tests/{test_id}").json()
    assert found["status"] == "rejected"
    assert found["reason"].startswith("significantly worse")
    registry = served.app.state.serving.models.registry
    assert registry.alias_version("champion") == 1
    assert registry.alias_version("challenger") is None
    reload(served)
    assert served.app.state.serving.router.config.mode == "off"
    assert "challenger" not in served.app.state.serving.models.models


def test_a_retraining_whose_candidate_fails_a_gate_registers_nothing(
    make_served, churn_frame, base_data
):
    settings = loop_settings(base_data)
    settings["retraining"]["min_score"] = 0.999
    served = make_served(**settings)
    day_of_traffic(served, churn_frame, seed=500)
    response = served.http.post(
        "/v1/retrain", json={"reason": "try it"}, headers={"Authorization": "Bearer s3cret"}
    )
    assert response.status_code == 202, response.text
    served.app.state.serving.retrainer.join()
    run = get_retrain_run(served.engine, response.json()["id"])
    assert run["status"] == "rejected"
    assert "floor (roc_auc)" in run["error"]
    assert run["candidate_version"] is None
    assert [v.version for v in served.app.state.serving.models.registry.list_versions()] == [1]
    listed = served.http.get("/v1/retraining/runs").json()["runs"]
    assert listed[0]["id"] == run["id"]
    assert listed[0]["reason"] == "try it"
