"""A small, realistic simulation result, written by hand.

Ten simulated days from 2024-03-01 (day 0) at 1000 predictions a day; a sudden shift of
``tenure`` injected at the start of day 4 (2024-03-05T00:00Z). Live accuracy is 0.80, 0.80,
0.81, 0.79 before it (baseline 0.80), drops to 0.74, 0.72, 0.75, is back within a point on day
7 (0.795) and stays there; the frozen first champion never recovers. Alerts, as the API lists
them (newest first): two false alarms before the shift (one on ``tenure`` itself), an info
alert, the detection six hours after the shift, and a performance alert whose title carries
markup. A drift-triggered retraining at 06:00 on day 4, its A/B test, the promotion of version 2
two days after the shift, and a retraining request skipped later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftwarden.simulation.result import DayRecord, SimulationResult

START = datetime(2024, 3, 1, tzinfo=UTC)
SHIFT = "2024-03-05T00:00:00+00:00"
SCRIPT_TITLE = "accuracy dropped <script>alert('x')</script>"

LIVE = (0.80, 0.80, 0.81, 0.79, 0.74, 0.72, 0.75, 0.795, 0.80, 0.81)
FROZEN = (0.80, 0.80, 0.81, 0.79, 0.74, 0.72, 0.72, 0.73, 0.72, 0.72)


def iso(day: float, hours: float = 0.0) -> str:
    """The ISO 8601 time of ``hours`` into simulated day ``day``."""
    return (START + timedelta(days=day, hours=hours)).isoformat().replace("+00:00", "Z")


def _days() -> list[DayRecord]:
    return [
        DayRecord(
            day=day,
            start=iso(day),
            n=1000,
            live_accuracy=LIVE[day],
            frozen_accuracy=FROZEN[day],
            live_roc_auc=0.85,
            # The last day's frozen ROC AUC is unknown: that day leaves the AUC figures.
            frozen_roc_auc=None if day == 9 else (0.85 if day < 4 else 0.80),
            champion_version=1 if day < 6 else 2,
        )
        for day in range(10)
    ]


def _drift() -> list[dict[str, Any]]:
    points = []
    for day in range(10):
        for feature, method, warning, critical, before, after in (
            ("tenure", "psi", 0.1, 0.25, 0.02, 0.6),
            ("MonthlyCharges", "psi", 0.1, 0.25, 0.03, 0.04),
            ("Contract", "jensen_shannon", 0.1, 0.2, 0.01, 0.01),
        ):
            statistic = after if day >= 4 else before
            points.append(
                {
                    "model_version": 1,
                    "window_end": iso(day + 1),
                    "feature": feature,
                    "kind": "numeric" if method == "psi" else "categorical",
                    "method": method,
                    "statistic": statistic,
                    "warning": warning,
                    "critical": critical,
                    "p_value": None,
                    "severity": "critical" if statistic >= critical else "ok",
                    "n_reference": 5000,
                    "n_current": 800 if day in (4, 5) else 1000,
                }
            )
            if day in (4, 5):  # the challenger's share during the A/B test
                challenger = {"model_version": 2, "statistic": statistic + 0.05, "n_current": 200}
                points.append({**points[-1], **challenger})
    return points


def _performance() -> list[dict[str, Any]]:
    return [
        {
            "window_start": iso(day),
            "window_end": iso(day + 1),
            "model_version": 1,
            "n_rows": 1000,
            "n_labelled": 900,
            "realised": {"accuracy": LIVE[day], "roc_auc": 0.85},
            "realised_at": iso(day + 1, 6),
            "estimated": {"accuracy": 0.8, "roc_auc": 0.86, "n": 1000},
        }
        for day in range(10)
    ]


def _alert(
    alert_id: int, rule: str, subject: str, severity: str, opened: str, title: str
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "key": f"churn|v1|{rule}|{subject}",
        "model_name": "churn",
        "rule": rule,
        "subject": subject,
        "severity": severity,
        "status": "resolved",
        "title": title,
        "message": "",
        "value": 0.3,
        "threshold": 0.25,
        "model_version": 1,
        "evidence": {},
        "opened_at": opened,
        "last_seen_at": opened,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "muted_until": None,
        "notified_at": opened,
        "notified_severity": severity,
        "clear_runs": 0,
    }


def _alerts() -> list[dict[str, Any]]:
    found = [
        _alert(1, "feature_drift", "MonthlyCharges", "warning", iso(1, 6), "drift on charges"),
        _alert(2, "feature_drift", "tenure", "warning", iso(2, 12), "feature drift on tenure"),
        _alert(3, "no_traffic", "", "info", iso(3), "no traffic"),
        _alert(4, "feature_drift", "tenure", "critical", iso(4, 6), "feature drift on tenure"),
        _alert(5, "performance_drop", "accuracy", "warning", iso(5), SCRIPT_TITLE),
    ]
    return found[::-1]  # the API lists them newest first


def _retraining_runs() -> list[dict[str, Any]]:
    return [
        {
            "id": 2,
            "model_name": "churn",
            "trigger": "performance",
            "reason": "accuracy dropped",
            "status": "skipped",
            "requested_at": iso(4, 8),
            "started_at": None,
            "finished_at": iso(4, 8),
            "heartbeat_at": None,
            "steps": [],
            "evidence": {"running_run": 1},
            "error": "retraining run 1 is running",
            "champion_version": None,
            "candidate_version": None,
            "ab_test_id": None,
            "flow_run_id": None,
        },
        {
            "id": 1,
            "model_name": "churn",
            "trigger": "drift",
            "reason": "tenure drifted",
            "status": "succeeded",
            "requested_at": iso(4, 6),
            "started_at": iso(4, 6),
            "finished_at": iso(4, 6.5),
            "heartbeat_at": iso(4, 6.5),
            "steps": [{"name": "train", "seconds": 1.0}],
            "evidence": {"share_drifted": [0.34]},
            "error": None,
            "champion_version": 1,
            "candidate_version": 2,
            "ab_test_id": 1,
            "flow_run_id": None,
        },
    ]


def _ab_tests() -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "model_name": "churn",
            "champion_version": 1,
            "challenger_version": 2,
            "mode": "split",
            "share": 0.2,
            "salt": "s",
            "metric": "accuracy",
            "status": "promoted",
            "started_at": iso(4, 6.5),
            "ended_at": iso(6),
            "retrain_run_id": 1,
            "decision": "promote",
            "reason": "the challenger is better",
        }
    ]


def _history() -> list[dict[str, Any]]:
    return [
        {
            "sequence": 1,
            "action": "promote",
            "alias": "champion",
            "from_version": None,
            "to_version": 1,
            "at": "2024-02-29T00:00:00+00:00",
            "reason": "first champion",
            "actor": "simulation",
        },
        {
            "sequence": 2,
            "action": "promote",
            "alias": "champion",
            "from_version": 1,
            "to_version": 2,
            "at": "2024-03-07T00:00:00+00:00",
            "reason": "A/B test 1",
            "actor": "promotion policy",
        },
    ]


def build_result(**changes: Any) -> SimulationResult:
    """The result described in the module docstring, with fields replaced by ``changes``."""
    values: dict[str, Any] = {
        "config": {
            "scenarios": ["sudden"],
            "days": 10,
            "rate": 1000,
            "label_delay": "PT6H",
            "seed": 0,
            "start": iso(0),
            "end": iso(10),
            "monitor_interval": "PT6H",
            "model": "churn",
        },
        "injections": [
            {
                "kind": "sudden",
                "start": SHIFT,
                "end": SHIFT,
                "columns": ["tenure"],
                "magnitude": 12.0,
                "description": "tenure shifted by +12",
            }
        ],
        "days": _days(),
        "drift": _drift(),
        "performance": _performance(),
        "alerts": _alerts(),
        "retraining_runs": _retraining_runs(),
        "ab_tests": _ab_tests(),
        "history": _history(),
        "seconds": 12.5,
    }
    values.update(changes)
    return SimulationResult(**values)


@pytest.fixture
def make_result() -> Callable[..., SimulationResult]:
    """Build the hand-written result, with any field replaced (``make_result(alerts=[])``)."""
    return build_result


@pytest.fixture
def result() -> SimulationResult:
    """The hand-written result as it is."""
    return build_result()


@pytest.fixture(scope="module")
def shared_result() -> SimulationResult:
    """The hand-written result, once per module (for module-scoped fixtures; do not change it)."""
    return build_result()


@pytest.fixture
def make_alert() -> Callable[..., dict[str, Any]]:
    """An alert as ``GET /v1/alerts`` lists it: ``make_alert(id, rule, subject, severity,
    opened_at, title)``."""
    return _alert


@pytest.fixture
def day_time() -> Callable[..., str]:
    """``day_time(day, hours=0)``: the ISO 8601 time of a moment of the simulated run."""
    return iso
