"""The monitor over the API: runs, drift, quality, performance, alerts, ack and mute, and the
monitor's figures on /metrics."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

ADMIN = {"Authorization": "Bearer s3cret"}
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def drifted(request, make_served, churn_frame):
    """A server with one stable and one drifted window, both run through POST /v1/monitoring/run,
    labels for the stable one; its store on SQLite or on PostgreSQL."""
    store = {}
    if request.param == "postgres":
        store = {"url": request.getfixturevalue("postgres_schema_url").render_as_string(False)}
    served = make_served(store=store)
    served.traffic(churn_frame(300, seed=1), over=HOUR)
    served.label(served.sent)
    stable = served.http.post("/v1/monitoring/run", headers=ADMIN)
    assert stable.status_code == 200, stable.text
    served.traffic(churn_frame(300, seed=2, usage_shift=30.0), over=HOUR)
    shifted = served.http.post("/v1/monitoring/run", headers=ADMIN)
    assert shifted.status_code == 200, shifted.text
    return served, stable.json(), shifted.json()


def test_run_now_reports_what_the_run_found(drifted):
    _, stable, shifted = drifted
    assert stable["firing"] == []
    assert stable["results"][0]["n_labelled"] == 300
    assert shifted["n_rows"] == 300
    assert shifted["results"][0]["drifted_features"] == ["usage"]
    assert {"rule": "feature_drift", "subject": "usage", "severity": "critical"}.items() <= (
        shifted["firing"][0].items()
    )
    assert len(shifted["alerts"]["opened"]) >= 1


def test_runs_lists_newest_first_with_results(drifted):
    served, stable, shifted = drifted
    body = served.http.get("/v1/monitoring/runs").json()
    assert [r["id"] for r in body["runs"]] == [shifted["run_id"], stable["run_id"]]
    result = body["runs"][0]["results"][0]
    assert result["severity"] == "critical"
    assert result["latency_p99_ms"] > 0
    assert "report" not in result
    detailed = served.http.get("/v1/monitoring/runs", params={"detail": "true", "limit": 1})
    [run] = detailed.json()["runs"]
    assert run["results"][0]["report"]["features"]["usage"]["severity"] == "critical"


def test_drift_and_quality_history_per_feature(drifted):
    served, _, _ = drifted
    drift = served.http.get("/v1/monitoring/drift", params={"feature": "usage"}).json()
    assert [p["severity"] for p in drift["points"]] == ["ok", "critical"]
    assert drift["points"][1]["method"] == "psi"
    assert drift["points"][1]["n_current"] == 300
    quality = served.http.get("/v1/monitoring/quality", params={"feature": "plan"}).json()
    assert [p["missing_rate"] for p in quality["points"]] == [0.0, 0.0]
    assert "statistic" not in quality["points"][0]


def test_performance_shows_realised_beside_estimated(drifted):
    served, _, _ = drifted
    points = served.http.get("/v1/monitoring/performance").json()["points"]
    assert [p["n_labelled"] for p in points] == [300, 0]
    assert points[0]["realised"]["n"] == 300
    assert points[1]["realised"] is None
    assert all(0 <= p["estimated"]["roc_auc"] <= 1 for p in points)


def test_time_filters_refuse_naive_times_and_reversed_ranges(drifted):
    served, _, _ = drifted
    naive = served.http.get("/v1/monitoring/runs", params={"start": "2024-03-04T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["field"] == "start"
    reversed_ = served.http.get(
        "/v1/alerts", params={"start": "2024-03-05T00:00:00Z", "end": "2024-03-04T00:00:00Z"}
    )
    assert reversed_.status_code == 422
    assert reversed_.json()["field"] == "end"
    bad_status = served.http.get("/v1/alerts", params={"status": "closed"})
    assert bad_status.status_code == 422
    assert bad_status.json()["field"] == "status"
    later = served.http.get("/v1/monitoring/runs", params={"start": "2030-01-01T00:00:00Z"})
    assert later.json()["runs"] == []


def test_alerts_can_be_listed_read_acknowledged_and_muted(drifted):
    served, _, _ = drifted
    http = served.http
    [alert] = http.get("/v1/alerts", params={"rule": "feature_drift"}).json()["alerts"]
    assert (alert["subject"], alert["severity"], alert["status"]) == ("usage", "critical", "open")
    assert http.get("/v1/alerts", params={"status": "resolved"}).json()["alerts"] == []
    refused = http.post(f"/v1/alerts/{alert['id']}/ack", headers={"Authorization": "Bearer no"})
    assert refused.status_code == 401
    acked = http.post(f"/v1/alerts/{alert['id']}/ack", headers=ADMIN)
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    muted = http.post(f"/v1/alerts/{alert['id']}/mute", headers=ADMIN, json={"minutes": 30})
    assert muted.status_code == 200
    bad_mute = http.post(f"/v1/alerts/{alert['id']}/mute", headers=ADMIN, json={"minutes": 0})
    assert bad_mute.status_code == 422
    assert bad_mute.json()["field"] == "minutes"
    one = http.get(f"/v1/alerts/{alert['id']}").json()
    assert [e["kind"] for e in one["events"]] == ["opened", "acknowledged", "muted"]
    missing = http.post("/v1/alerts/4242/ack", headers=ADMIN)
    assert missing.status_code == 404
    assert "4242" in missing.json()["detail"]


def test_metrics_expose_drift_scores_alert_counts_and_run_durations(drifted):
    served, _, _ = drifted
    families = {f.name: f for f in text_string_to_metric_families(served.http.get("/metrics").text)}
    usage = [
        s for s in families["driftwarden_feature_drift"].samples if s.labels["feature"] == "usage"
    ]
    assert usage[0].labels == {"version": "1", "feature": "usage", "method": "psi"}
    assert usage[0].value >= 0.25
    open_alerts = {
        s.labels["severity"]: s.value for s in families["driftwarden_alerts_open"].samples
    }
    assert open_alerts["critical"] >= 1
    runs = {s.labels["status"]: s.value for s in families["driftwarden_monitor_runs"].samples
            if s.name.endswith("_total")}  # fmt: skip
    assert runs["ok"] == 2
    phases = {s.labels["phase"] for s in families["driftwarden_monitor_run_seconds"].samples}
    assert phases == {"read", "statistics", "total"}


_MONITOR_FAMILIES = (
    "driftwarden_feature_drift", "driftwarden_prediction_drift",
    "driftwarden_drifted_features_share", "driftwarden_monitor_window_rows",
    "driftwarden_monitor_run_seconds", "driftwarden_alerts_open",
)  # fmt: skip


def _monitor_samples(text: str) -> dict[str, set[tuple[tuple[tuple[str, str], ...], float]]]:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {
        name: {(tuple(sorted(s.labels.items())), s.value) for s in families[name].samples}
        for name in _MONITOR_FAMILIES
    }


def test_a_server_that_ran_no_pass_shows_the_latest_passs_figures(drifted, registry):
    # Another replica (or worker) on the same store: the pass ran elsewhere, and its figures
    # are on this server's /metrics too, read from the store.
    from fastapi.testclient import TestClient

    from driftwarden.core import SimulatedClock
    from driftwarden.serving.app import create_app

    served, _, shifted = drifted
    settings = served.app.state.serving.settings
    quiet = settings.model_copy(
        update={"serving": settings.serving.model_copy(update={"run_monitor": False})}
    )
    with TestClient(
        create_app(quiet, registry=registry, clock=SimulatedClock(served.clock.now()))
    ) as other:
        text = other.get("/metrics").text
    mine = _monitor_samples(served.http.get("/metrics").text)
    theirs = _monitor_samples(text)
    assert theirs == mine
    rows = dict(theirs["driftwarden_monitor_window_rows"])
    assert rows == {(("version", "1"),): float(shifted["n_rows"])}
    assert (("severity", "critical"),) in dict(theirs["driftwarden_alerts_open"])
    assert dict(theirs["driftwarden_alerts_open"])[(("severity", "critical"),)] >= 1
    # It counts no pass of its own.
    runs = {f.name: f for f in text_string_to_metric_families(text)}["driftwarden_monitor_runs"]
    assert [s for s in runs.samples if s.name.endswith("_total")] == []
