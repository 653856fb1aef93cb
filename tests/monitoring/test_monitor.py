"""Monitor runs in simulated time over traffic logged through the real API, with and without
injected drift."""

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta

from driftwarden.monitoring import Monitor
from driftwarden.stats import Adwin
from driftwarden.store import feature_history, lease_holder, list_alerts, list_runs, load_state

HOUR = timedelta(hours=1)


def _rules(report):
    return {(c.rule, c.subject): c.severity for c in report.firing}


def test_monitor_flags_a_sudden_shift_in_the_first_window_after_it(make_served, churn_frame):
    served = make_served()
    reports = []
    for hour in range(4):
        served.traffic(churn_frame(400, seed=hour), over=HOUR)
        reports.append(served.monitor.run_once())
    assert all(not r.firing for r in reports), [r.firing for r in reports]
    served.traffic(churn_frame(400, seed=50, usage_shift=25.0), over=HOUR)
    shifted = served.monitor.run_once()

    fired = _rules(shifted)
    assert fired[("feature_drift", "usage")] == "critical"
    assert ("feature_drift", "plan") not in fired
    assert fired[("prediction_drift", "")] in ("warning", "critical")
    [result] = shifted.outcome.results
    usage = result.report.features["usage"]
    assert usage.method == "psi"
    assert usage.statistic >= 0.25
    assert result.n_rows == 400
    alerts = list_alerts(served.engine, model_name="churn", rule="feature_drift")
    assert [(a["subject"], a["severity"], a["status"]) for a in alerts] == [
        ("usage", "critical", "open")
    ]
    # Every run is stored with its per-feature verdicts, oldest window first.
    history = feature_history(served.engine, "churn", feature="usage")
    assert [row["severity"] for row in history] == ["ok"] * 4 + ["critical"]
    assert history[-1]["statistic"] == usage.statistic


def test_monitor_raises_no_warning_over_a_stable_simulated_week(make_served, churn_frame):
    served = make_served(monitor={"window": "PT6H", "interval": "PT6H"})
    opened = []
    for window in range(7 * 4):
        served.traffic(churn_frame(600, seed=1000 + window), over=6 * HOUR, requests=6)
        report = served.monitor.run_once()
        assert report.outcome.n_rows == 600
        opened += [(c.rule, c.subject, c.severity, c.message) for c in report.firing]
    assert opened == []
    assert list_alerts(served.engine, model_name="churn") == []
    runs = list_runs(served.engine, "churn", limit=1000)
    assert len(runs) == 28
    assert {run["status"] for run in runs} == {"ok"}


def test_error_stream_detector_catches_a_concept_change(make_served, churn_frame):
    served = make_served()
    caught_at = None
    for hour in range(16):
        flipped = hour >= 8
        frame = churn_frame(300, seed=200 + hour, flipped=flipped)
        before = len(served.sent)
        served.traffic(frame, over=HOUR)
        # Labels of this hour arrive at its end.
        served.label(served.sent[before:])
        report = served.monitor.run_once()
        fired = _rules(report)
        assert not any(rule == "feature_drift" for rule, _ in fired), fired
        if ("concept_drift", "") in fired:
            caught_at = hour if caught_at is None else caught_at
    assert caught_at is not None, "the error-stream detector never fired"
    assert 8 <= caught_at <= 9, caught_at
    [alert] = list_alerts(served.engine, model_name="churn", rule="concept_drift")
    assert alert["severity"] == "critical"
    assert alert["evidence"]["after"] > alert["evidence"]["before"]


def test_late_labels_recompute_the_performance_of_their_window(make_served, churn_frame):
    served = make_served()
    served.traffic(churn_frame(300, seed=7), over=HOUR)
    first = served.monitor.run_once()
    [result] = first.outcome.results
    assert (result.n_labelled, result.performance) == (0, None)
    served.clock.advance(2 * HOUR)
    served.label(served.sent[:200])  # two thirds of the labels arrive two hours late
    served.clock.advance(60)  # a run counts the labels that arrived before it started
    served.monitor.run_once()
    runs = list_runs(served.engine, "churn")
    old = next(r for r in runs if r["id"] == first.outcome.run_id)["results"][0]
    assert old["n_labelled"] == 200
    assert old["performance"]["n"] == 200
    assert 0.5 < old["performance"]["roc_auc"] <= 1.0
    assert old["estimated"]["n"] == 300


def test_window_by_count_takes_the_latest_predictions(make_served, churn_frame):
    served = make_served(monitor={"window_rows": 250})
    served.traffic(churn_frame(400, seed=11), over=HOUR, requests=8)
    report = served.monitor.run_once()
    # Requests of 50 rows share a time: the window starts at the 250th latest row's time.
    assert report.outcome.n_rows == 250
    assert report.outcome.window_end == served.clock.now()


def test_monitor_sends_alerts_to_a_real_webhook_and_smtp_server(
    make_served, churn_frame, receiver, smtp_server
):
    inbox, port = smtp_server()
    served = make_served(
        alerts={
            "webhooks": [{"url": receiver.url("/hooks/T000/B000/secret-token"), "secret": "k"}],
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "dw@example.com",
                "recipients": ["oncall@example.com"],
                "starttls": False,
            },
        }
    )
    served.traffic(churn_frame(400, seed=3, usage_shift=30.0), over=HOUR)
    report = served.monitor.run_once()
    assert report.alerts.opened
    assert report.alerts.failed_deliveries == 0
    bodies = [r["body"] for r in receiver.requests]
    assert any(b'"rule": "feature_drift"' in b or b'"rule":"feature_drift"' in b for b in bodies)
    subjects = [m["message"]["Subject"] for m in inbox.messages]
    assert any("feature drift on usage" in subject for subject in subjects), subjects
    assert all(m["to"] == ["oncall@example.com"] for m in inbox.messages)
    assert len(inbox.messages) == len(receiver.requests) == len(report.alerts.opened)


def test_monitor_loop_runs_on_its_interval_and_survives_failures(
    make_served, churn_frame, tmp_path
):
    served = make_served(
        monitor={"interval": "PT0.05S", "retry_after": "PT0.02S"},
        store={"connect_timeout_seconds": 0.1},
    )
    served.traffic(churn_frame(200, seed=5), over=HOUR)
    registry = served.app.state.serving.metrics.registry

    def count(status):
        return registry.get_sample_value("driftwarden_monitor_runs_total", {"status": status})

    # Another process holds the store's write lock: every run fails to store its results.
    holder = sqlite3.connect(str(tmp_path / "store.db"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    async def drive():
        task = asyncio.ensure_future(served.monitor.loop())
        try:
            for _ in range(500):
                await asyncio.sleep(0.02)
                if (count("failed") or 0) >= 2 and holder.in_transaction:
                    holder.execute("ROLLBACK")  # the store is back
                if (count("ok") or 0) >= 2:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(drive())
    holder.close()
    assert count("failed") >= 2
    assert count("ok") >= 2
    assert {r["status"] for r in list_runs(served.engine, "churn", limit=100)} == {"ok"}


def test_of_two_processes_only_the_lease_holder_runs_and_the_other_takes_over(
    make_served, churn_frame, registry
):
    served = make_served(monitor={"interval": "PT0.2S"})
    served.traffic(churn_frame(200, seed=6), over=HOUR)
    state = served.app.state.serving
    first = served.monitor
    runs = {"first": 0, "second": 0}
    first._on_report = lambda _: runs.__setitem__("first", runs["first"] + 1)
    # A second API process of the same deployment: same store, same registry.
    second = Monitor(
        state.settings,
        served.engine,
        registry,
        served.clock,
        on_report=lambda _: runs.__setitem__("second", runs["second"] + 1),
        holder="second",
    )
    assert first.holder != second.holder

    async def drive():
        leader = asyncio.ensure_future(first.loop())
        for _ in range(1500):  # the first process runs a pass, so it holds the lease
            await asyncio.sleep(0.02)
            if runs["first"] >= 1:
                break
        standby = asyncio.ensure_future(second.loop())
        try:
            for _ in range(1500):
                await asyncio.sleep(0.02)
                if runs["first"] >= 3:
                    break
            assert runs["first"] >= 3
            assert runs == {"first": runs["first"], "second": 0}
            assert (first.leading, second.leading) == (True, False)
            assert lease_holder(served.engine, "monitor:churn", now=datetime.now(UTC)) == (
                first.holder
            )
            # The leader stops (a clean shut-down gives the lease up): the other takes over.
            leader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leader
            assert not first.leading
            stopped_at = runs["first"]
            for _ in range(1500):
                await asyncio.sleep(0.02)
                if runs["second"] >= 2:
                    break
            assert runs["second"] >= 2
            assert runs["first"] == stopped_at
            assert second.leading
        finally:
            for task in (leader, standby):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(drive())
    stored = list_runs(served.engine, "churn", limit=100)
    assert len(stored) == runs["first"] + runs["second"]


def test_score_detector_sees_every_row_once_across_overlaps_and_pauses(make_served, churn_frame):
    served = make_served(monitor={"window": "PT1H"})
    served.traffic(churn_frame(100, seed=21), over=HOUR / 2, requests=2)
    served.monitor.run_once()  # the first half hour
    served.traffic(churn_frame(100, seed=22), over=HOUR / 2, requests=2)
    served.monitor.run_once()  # overlaps the first run's window
    served.traffic(churn_frame(300, seed=23), over=3 * HOUR, requests=6)
    served.monitor.run_once()  # after a pause longer than the window
    [state] = load_state(served.engine, "churn:adwin:score:v1").values()
    assert Adwin.from_state(state).n_ == 500


def test_both_arms_of_a_shadow_experiment_get_realised_performance(
    make_served, churn_frame, registry, trained_model
):
    registry.register(trained_model)  # version 2, the challenger
    served = make_served(monitor={"window": "PT2H"})
    admin = {"Authorization": "Bearer s3cret"}
    assert served.http.post("/v1/admin/reload", headers=admin).status_code == 200
    routing = served.http.put("/v1/admin/routing", headers=admin, json={"mode": "shadow"})
    assert routing.status_code == 200, routing.text
    served.traffic(churn_frame(300, seed=31), over=HOUR)
    served.label(served.sent)
    served.clock.advance(60)
    report = served.monitor.run_once()
    by_version = {r.model_version: r for r in report.outcome.results}
    assert sorted(by_version) == [1, 2]
    # The champion answered every request; the challenger's shadow scores take the labels of
    # the requests they shadow.
    assert by_version[1].n_rows == by_version[1].n_labelled == 300
    assert by_version[2].n_rows == by_version[2].n_labelled == 300
    assert by_version[2].performance["n"] == 300
    # Each version is measured against its own reference profile.
    assert by_version[2].profile is served.monitor.references.profile(2)


def test_a_change_inside_the_first_batch_of_labels_is_caught(make_served, churn_frame):
    # The monitor starts after the concept flipped: its detector's very first batch of labels
    # holds the change, and "before" is the error rate of the labels before it.
    served = make_served(monitor={"window": "PT16H"})
    for hour in range(16):
        served.traffic(churn_frame(300, seed=400 + hour, flipped=hour >= 8), over=HOUR)
    served.label(served.sent)
    served.clock.advance(60)
    report = served.monitor.run_once()
    [change] = [c for c in report.outcome.changes if c.stream == "error"]
    assert change.after > change.before + 0.2
    assert 0.0 < change.before < 0.4
    assert ("concept_drift", "") in _rules(report)
