"""The figures of a run, checked against the hand-written result of ``conftest.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from driftwarden.simulation.result import DayRecord, SimulationResult
from driftwarden.simulation.summary import alert_concerns, champion_at, parse_time, summarise


def _days(live, frozen=None, n=1000):
    frozen = live if frozen is None else frozen
    start = datetime(2024, 3, 1, tzinfo=UTC)
    return [
        DayRecord(
            day=day,
            start=(start + timedelta(days=day)).isoformat(),
            n=n if isinstance(n, int) else n[day],
            live_accuracy=live[day],
            frozen_accuracy=frozen[day],
            live_roc_auc=None,
            frozen_roc_auc=None,
            champion_version=1,
        )
        for day in range(len(live))
    ]


def _injection(kind, columns, start, end="same"):
    return {
        "kind": kind,
        "start": start,
        "end": start if end == "same" else end,
        "columns": columns,
        "magnitude": 1.0,
        "description": f"{kind} on {', '.join(columns)}",
    }


# -- per injection ------------------------------------------------------------------------------


def test_summarise_detection_delay_in_hours(result):
    shift = summarise(result)["injections"][0]
    assert shift["kind"] == "sudden"
    assert shift["columns"] == ["tenure"]
    assert shift["start"] == "2024-03-05T00:00:00+00:00"
    assert shift["detected_at"] == "2024-03-05T06:00:00+00:00"
    assert shift["detection_delay_hours"] == 6.0


def test_summarise_false_alarms_before_the_first_injection(result):
    # Alerts 1 (MonthlyCharges) and 2 (tenure itself, before the shift): the info alert and
    # everything after the start do not count.
    assert summarise(result)["injections"][0]["false_alarms_before"] == 2


def test_summarise_recovery_day(result):
    shift = summarise(result)["injections"][0]
    assert shift["baseline_accuracy"] == 0.8
    assert shift["hurt_accuracy"] is True
    assert shift["max_drop_points"] == 8.0  # 0.80 -> 0.72
    assert shift["recovered_day"] == 7
    assert shift["recovered_at"] == "2024-03-08T00:00:00+00:00"
    assert shift["time_to_recovery_days"] == 3.0


def test_summarise_retraining_and_promotion_after_the_start(result):
    shift = summarise(result)["injections"][0]
    assert shift["retrained"] == {
        "id": 1,
        "at": "2024-03-05T06:00:00+00:00",
        "status": "succeeded",
        "trigger": "drift",
        "candidate_version": 2,
        "hours_after_start": 6.0,
    }
    assert shift["promoted"] == {
        "at": "2024-03-07T00:00:00+00:00",
        "from_version": 1,
        "to_version": 2,
        "reason": "A/B test 1",
        "hours_after_start": 48.0,
    }


def test_summarise_nothing_detected_is_none(make_result):
    contract = _injection("sudden", ["Contract"], "2024-03-05T00:00:00Z")
    found = summarise(make_result(injections=[contract]))
    item = found["injections"][0]
    assert item["detected_at"] is None
    assert item["detection_delay_hours"] is None
    assert found["detection"] == {
        "injections": 1,
        "detected": 0,
        "mean_delay_hours": None,
        "max_delay_hours": None,
    }


def test_summarise_alert_before_the_start_is_no_detection(make_result, make_alert, day_time):
    early = make_alert(9, "feature_drift", "tenure", "critical", day_time(3, 23), "early")
    item = summarise(make_result(alerts=[early]))["injections"][0]
    assert item["detected_at"] is None
    assert item["false_alarms_before"] == 1


def test_summarise_seasonal_injection_without_end(make_result, make_alert, day_time):
    seasonal = _injection("seasonal", ["MonthlyCharges"], day_time(4), end=None)
    alert = make_alert(9, "data_quality", "MonthlyCharges", "warning", day_time(6, 12), "q")
    item = summarise(make_result(injections=[seasonal], alerts=[alert]))["injections"][0]
    assert item["end"] is None
    assert item["detection_delay_hours"] == 60.0


def test_summarise_concept_drift_detected_by_any_label_rule(make_result, make_alert, day_time):
    concept = _injection("concept", ["Churn"], day_time(4), end=day_time(6))
    alerts = [
        make_alert(1, "feature_drift", "Churn", "critical", day_time(4, 1), "not this one"),
        make_alert(2, "prediction_drift", "", "warning", day_time(4, 18), "scores moved"),
        make_alert(3, "performance_drop", "accuracy", "critical", day_time(5), "accuracy"),
    ]
    item = summarise(make_result(injections=[concept], alerts=alerts))["injections"][0]
    assert item["detection_delay_hours"] == 18.0
    assert item["end"] == "2024-03-07T00:00:00+00:00"


def test_summarise_later_injection_counts_alarms_no_earlier_drift_explains(
    make_result, make_alert, day_time
):
    second = _injection("sudden", ["MonthlyCharges"], day_time(7))
    extra = make_alert(6, "feature_drift", "MonthlyCharges", "warning", day_time(6), "early")
    base = make_result()
    found = summarise(
        make_result(
            injections=[*base.injections, second],
            alerts=[*base.alerts, extra],
        )
    )
    first, later = found["injections"]
    assert first["false_alarms_before"] == 2
    # From day 4 to day 7: alert 4 (tenure) is the first drift, alerts 5 (accuracy) and 6
    # (MonthlyCharges, before its own drift) are explained by nothing.
    assert later["false_alarms_before"] == 2
    assert later["detected_at"] is None
    assert found["false_alarms"] == {"warning": 2, "critical": 0, "total": 2}


def test_summarise_keeps_the_order_of_the_injections(make_result, day_time):
    later = _injection("sudden", ["MonthlyCharges"], day_time(7))
    base = make_result()
    found = summarise(make_result(injections=[later, *base.injections]))
    assert [item["columns"] for item in found["injections"]] == [["MonthlyCharges"], ["tenure"]]
    # "Before the first injection" goes by time, not by position in the list.
    assert found["false_alarms"]["total"] == 2
    assert found["injections"][1]["false_alarms_before"] == 2


def test_summarise_blames_no_drop_on_an_earlier_harmless_injection(make_result, day_time):
    days = _days([0.80, 0.80, 0.80, 0.80, 0.70, 0.70, 0.80, 0.80])
    harmless = _injection("sudden", ["Contract"], day_time(2))
    harmful = _injection("concept", ["Churn"], day_time(4))
    found = summarise(make_result(days=days, injections=[harmless, harmful]))
    first, second = found["injections"]
    assert first["hurt_accuracy"] is False
    assert first["max_drop_points"] == 0.0
    assert first["recovered_at"] is None
    assert second["hurt_accuracy"] is True
    assert second["max_drop_points"] == 10.0
    assert second["recovered_day"] == 6
    assert second["time_to_recovery_days"] == 2.0


def test_summarise_accuracy_that_never_recovers(make_result, day_time):
    days = _days([0.80, 0.80, 0.70, 0.70, 0.75])
    injection = _injection("sudden", ["tenure"], day_time(2))
    item = summarise(make_result(days=days, injections=[injection]))["injections"][0]
    assert item["hurt_accuracy"] is True
    assert item["recovered_at"] is None
    assert item["recovered_day"] is None
    assert item["time_to_recovery_days"] is None


def test_summarise_injection_at_the_start_has_no_baseline(make_result, day_time):
    injection = _injection("sudden", ["tenure"], day_time(0))
    item = summarise(make_result(injections=[injection]))["injections"][0]
    assert item["baseline_accuracy"] is None
    assert item["hurt_accuracy"] is None
    assert item["recovered_at"] is None


def test_summarise_partial_day_counts_after_the_start(make_result, day_time):
    # Drift from noon of day 2: day 2 is no longer part of the baseline, and its drop counts.
    days = _days([0.80, 0.80, 0.60, 0.80])
    injection = _injection("gradual", ["tenure"], day_time(2, 12), end=day_time(3))
    item = summarise(make_result(days=days, injections=[injection]))["injections"][0]
    assert item["baseline_accuracy"] == 0.8
    assert item["max_drop_points"] == 20.0
    assert item["recovered_day"] == 3
    assert item["time_to_recovery_days"] == 0.5


def test_summarise_no_retraining_or_promotion(make_result):
    item = summarise(make_result(retraining_runs=[], history=[]))["injections"][0]
    assert item["retrained"] is None
    assert item["promoted"] is None


# -- over the run -------------------------------------------------------------------------------


def test_summarise_counts(result):
    found = summarise(result)
    assert found["run"] == {
        "days": 10,
        "rows": 10_000,
        "start": "2024-03-01T00:00:00Z",
        "end": "2024-03-11T00:00:00Z",
        "seconds": 12.5,
    }
    assert found["false_alarms"] == {"warning": 2, "critical": 0, "total": 2}
    assert found["alerts_by_severity"] == {"info": 1, "warning": 3, "critical": 1}
    assert found["alerts_by_rule"] == {"feature_drift": 3, "no_traffic": 1, "performance_drop": 1}
    assert found["retraining_runs"] == {"skipped": 1, "succeeded": 1}
    assert found["ab_tests"] == {"promoted": 1}
    # The first champion's installation (from no version) is not a promotion.
    assert found["promotions"] == 1
    assert found["rollbacks"] == 0
    assert found["detection"] == {
        "injections": 1,
        "detected": 1,
        "mean_delay_hours": 6.0,
        "max_delay_hours": 6.0,
    }


def test_summarise_performance_gains(result):
    performance = summarise(result)["performance"]
    whole = performance["whole_run"]
    assert whole["days"] == 10
    assert whole["live_accuracy"] == pytest.approx(0.7815)
    assert whole["frozen_accuracy"] == pytest.approx(0.755)
    assert whole["gain_accuracy_points"] == pytest.approx(2.65)
    # Day 9 has no frozen ROC AUC: the AUC figures rest on days 0-8.
    assert whole["frozen_roc_auc"] == pytest.approx((4 * 0.85 + 5 * 0.80) / 9, abs=1e-6)
    assert whole["gain_roc_auc_points"] == pytest.approx(100 * (0.85 - 7.4 / 9), abs=1e-6)
    after = performance["after_first_injection"]
    assert after["days"] == 6
    assert after["gain_accuracy_points"] == pytest.approx(100 * (4.615 - 4.35) / 6, abs=1e-6)
    week = performance["last_week"]
    assert week["days"] == 7
    assert week["rows"] == 7000
    assert week["live_accuracy"] == pytest.approx(5.405 / 7, abs=1e-6)
    assert week["frozen_accuracy"] == pytest.approx(5.14 / 7, abs=1e-6)
    assert performance["gain_last_week_accuracy_points"] == pytest.approx(26.5 / 7, abs=1e-6)
    assert performance["gain_last_week_accuracy_points"] == week["gain_accuracy_points"]


def test_summarise_weights_days_by_rows(make_result):
    days = _days([0.9, 0.6], frozen=[0.6, 0.6], n=[300, 100])
    whole = summarise(make_result(days=days, injections=[]))["performance"]["whole_run"]
    assert whole["live_accuracy"] == pytest.approx(0.825)
    assert whole["gain_accuracy_points"] == pytest.approx(22.5)
    assert whole["live_roc_auc"] is None
    assert whole["gain_roc_auc_points"] is None


def test_summarise_leaves_out_days_without_rows(make_result):
    days = _days([0.8, float("nan")], n=[100, 0])
    whole = summarise(make_result(days=days, injections=[]))["performance"]["whole_run"]
    assert whole["live_accuracy"] == pytest.approx(0.8)
    assert whole["rows"] == 100


def test_summarise_without_injections_every_alarm_is_false(make_result):
    found = summarise(make_result(injections=[]))
    assert found["injections"] == []
    assert found["false_alarms"] == {"warning": 3, "critical": 1, "total": 4}
    assert found["performance"]["after_first_injection"] is None
    assert found["detection"]["injections"] == 0


def test_summarise_without_alerts(make_result):
    found = summarise(make_result(alerts=[]))
    assert found["false_alarms"] == {"warning": 0, "critical": 0, "total": 0}
    assert found["alerts_by_severity"] == {"info": 0, "warning": 0, "critical": 0}
    assert found["alerts_by_rule"] == {}
    assert found["injections"][0]["detected_at"] is None
    assert found["injections"][0]["false_alarms_before"] == 0


def test_summarise_empty_result():
    found = summarise(SimulationResult(config={}))
    assert found["run"] == {"days": 0, "rows": 0, "start": None, "end": None, "seconds": 0.0}
    assert found["injections"] == []
    assert found["retraining_runs"] == {}
    assert found["ab_tests"] == {}
    assert found["promotions"] == 0
    assert found["performance"] == {
        "whole_run": None,
        "after_first_injection": None,
        "last_week": None,
        "gain_last_week_accuracy_points": None,
    }
    assert json.loads(json.dumps(found, allow_nan=False)) == found


def test_summarise_counts_rollbacks(make_result):
    base = make_result()
    rollback = {
        **base.history[-1],
        "sequence": 3,
        "action": "rollback",
        "from_version": 2,
        "to_version": 1,
        "at": "2024-03-09T00:00:00+00:00",
    }
    found = summarise(make_result(history=[*base.history, rollback]))
    assert found["rollbacks"] == 1
    assert found["promotions"] == 1


def test_summarise_is_plain_json(result):
    found = summarise(result)
    assert json.loads(json.dumps(found, allow_nan=False)) == found


def test_summarise_of_a_loaded_result_is_the_same(result, tmp_path):
    result.save(tmp_path / "result.json")
    assert summarise(SimulationResult.load(tmp_path / "result.json")) == summarise(result)


# -- helpers ------------------------------------------------------------------------------------


def test_parse_time_reads_zones_and_naive_times_as_utc():
    assert parse_time("2024-03-05T00:00:00Z") == datetime(2024, 3, 5, tzinfo=UTC)
    assert parse_time("2024-03-05T02:00:00+02:00") == datetime(2024, 3, 5, tzinfo=UTC)
    assert parse_time("2024-03-05T00:00:00").tzinfo is UTC
    eastern = datetime(2024, 3, 5, 1, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(eastern) == datetime(2024, 3, 5, tzinfo=UTC)


def test_parse_time_refuses_what_is_not_a_time():
    with pytest.raises(ValueError, match="expected an ISO 8601 time"):
        parse_time(12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_time("yesterday")


@pytest.mark.parametrize(
    ("kind", "rule", "subject", "expected"),
    [
        ("sudden", "feature_drift", "tenure", True),
        ("sudden", "data_quality", "tenure", True),
        ("sudden", "feature_drift", "Contract", False),
        ("sudden", "performance_drop", "accuracy", False),
        ("new_category", "data_quality", "tenure", True),
        ("concept", "performance_drop", "accuracy", True),
        ("concept", "concept_drift", "", True),
        ("class_balance", "share_drifted", "", True),
        ("class_balance", "prediction_drift", "", True),
        ("concept", "feature_drift", "tenure", False),
    ],
)
def test_alert_concerns(kind, rule, subject, expected):
    injection = {"kind": kind, "columns": ["tenure"]}
    assert alert_concerns({"rule": rule, "subject": subject}, injection) is expected


def test_champion_at_follows_the_history(result):
    champion = champion_at(result.history)
    assert champion(datetime(2024, 2, 1, tzinfo=UTC)) is None
    assert champion(datetime(2024, 3, 6, tzinfo=UTC)) == 1
    assert champion(datetime(2024, 3, 7, tzinfo=UTC)) == 2
