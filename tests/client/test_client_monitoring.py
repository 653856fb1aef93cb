"""The monitor's history through the client: runs, drift, quality, performance and alerts over a
real app after an hour of stable traffic (labelled) and an hour of drifted traffic, each
followed by ``run_monitor()``; and times, which must carry a zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from driftwarden.client import ApiNotFoundError, InvalidRequestError

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def monitored(server, churn_frame):
    """The module's server with two monitor runs: (server, stable report, shifted report)."""
    stable_frame = churn_frame(300, seed=1)
    ids = server.traffic(stable_frame, over=HOUR)
    result = server.client.feedback(zip(ids, stable_frame["churned"].tolist(), strict=True))
    assert result.recorded == 300
    stable = server.client.run_monitor()
    server.traffic(churn_frame(300, seed=2, usage_shift=30.0), over=HOUR)
    shifted = server.client.run_monitor()
    return server, stable, shifted


def test_client_run_monitor_reports_the_window(monitored):
    _, stable, shifted = monitored
    assert stable["n_rows"] == 300
    assert stable["results"][0]["n_labelled"] == 300
    # Other rules may fire on so small a model (a performance drop); drift does not, until it is.
    assert "feature_drift" not in {f["rule"] for f in stable["firing"]}
    assert stable["results"][0]["drifted_features"] == []
    assert shifted["results"][0]["drifted_features"] == ["usage"]
    assert {"rule": "feature_drift", "subject": "usage", "severity": "critical"}.items() <= (
        next(f for f in shifted["firing"] if f["rule"] == "feature_drift").items()
    )
    assert datetime.fromisoformat(shifted["window_end"]) > datetime.fromisoformat(
        stable["window_end"]
    )


def test_client_monitoring_runs_newest_first_with_detail_and_filters(monitored):
    server, stable, shifted = monitored
    runs = server.client.monitoring_runs()
    assert [r["id"] for r in runs] == [shifted["run_id"], stable["run_id"]]
    assert "report" not in runs[0]["results"][0]
    [detailed] = server.client.monitoring_runs(limit=1, detail=True)
    assert detailed["results"][0]["report"]["features"]["usage"]["severity"] == "critical"
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert server.client.monitoring_runs(start=later) == []
    # Any zone will do: the same instant in UTC+2.
    window_end = datetime.fromisoformat(shifted["window_end"])
    plus_two = window_end.astimezone(timezone(timedelta(hours=2)))
    assert [r["id"] for r in server.client.monitoring_runs(start=plus_two)] == [shifted["run_id"]]
    assert [r["id"] for r in server.client.monitoring_runs(end=plus_two)] == [stable["run_id"]]


def test_client_drift_quality_and_performance_points(monitored):
    server, _, _ = monitored
    drift = server.client.drift(feature="usage")
    assert [p["severity"] for p in drift] == ["ok", "critical"]
    assert drift[1]["method"] == "psi"
    assert drift[1]["n_current"] == 300
    assert {p["feature"] for p in server.client.drift()} == {"usage", "plan"}
    assert len(server.client.drift(limit=1)) == 1
    quality = server.client.quality(feature="plan")
    assert [p["missing_rate"] for p in quality] == [0.0, 0.0]
    assert "statistic" not in quality[0]
    performance = server.client.performance()
    assert [p["n_labelled"] for p in performance] == [300, 0]
    assert performance[0]["realised"]["n"] == 300
    assert performance[1]["realised"] is None


def test_client_alerts_list_read_acknowledge_and_mute(monitored):
    server, stable, shifted = monitored
    client = server.client
    listed = client.alerts(rule="feature_drift")
    assert [(a["subject"], a["severity"]) for a in listed] == [("usage", "critical")]
    opened = stable["alerts"]["opened"] + shifted["alerts"]["opened"]
    assert sorted(a["id"] for a in client.alerts()) == sorted(opened)
    assert [a["id"] for a in client.alerts(limit=1)] == [max(opened)]
    assert client.alerts(status="resolved") == []
    assert all(a["severity"] == "critical" for a in client.alerts(severity="critical"))
    alert_id = listed[0]["id"]
    assert client.acknowledge(alert_id)["status"] == "acknowledged"
    client.mute(alert_id, minutes=30)
    with pytest.raises(InvalidRequestError, match="minutes") as bad:
        client.mute(alert_id, minutes=0)
    assert bad.value.field == "minutes"
    one = client.alert(alert_id)
    assert [e["kind"] for e in one["events"]] == ["opened", "acknowledged", "muted"]
    with pytest.raises(ApiNotFoundError, match="4242"):
        client.acknowledge(4242)
    with pytest.raises(ApiNotFoundError, match="no alert has id 4242"):
        client.alert(4242)


def test_client_refuses_naive_times_before_sending(monitored, requests_sent):
    server, _, _ = monitored
    naive = datetime(2024, 3, 4)
    calls = [
        lambda: server.client.monitoring_runs(start=naive),
        lambda: server.client.drift(end=naive),
        lambda: server.client.quality(start=naive),
        lambda: server.client.performance(end=naive),
        lambda: server.client.alerts(start=naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="expected a datetime with a zone"):
            call()
    assert requests_sent == []
    with pytest.raises(TypeError, match="expected a datetime"):
        server.client.alerts(start="2024-03-04")  # type: ignore[arg-type]


def test_client_reversed_ranges_and_bad_filters_name_the_field(monitored):
    server, _, _ = monitored
    with pytest.raises(InvalidRequestError, match="ends before it starts") as reversed_:
        server.client.alerts(
            start=datetime(2024, 3, 5, tzinfo=UTC), end=datetime(2024, 3, 4, tzinfo=UTC)
        )
    assert reversed_.value.field == "end"
    with pytest.raises(InvalidRequestError) as bad_status:
        server.client.alerts(status="closed")  # type: ignore[arg-type]
    assert bad_status.value.field == "status"
    with pytest.raises(InvalidRequestError) as too_many:
        server.client.monitoring_runs(limit=10_001)
    assert too_many.value.field == "limit"


def test_client_health_ready_and_metrics(monitored):
    server, _, _ = monitored
    assert server.client.health() == {"status": "ok"}
    ready = server.client.ready()
    assert (ready["ready"], ready["champion"]) == (True, 1)
    families = {f.name: f for f in text_string_to_metric_families(server.client.metrics())}
    runs = {s.labels["status"]: s.value for s in families["driftwarden_monitor_runs"].samples
            if s.name.endswith("_total")}  # fmt: skip
    assert runs["ok"] == 2
