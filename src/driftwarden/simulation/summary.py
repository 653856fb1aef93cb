"""The figures of a simulation run, computed from its :class:`SimulationResult` alone.

:func:`summarise` answers what a closed-loop run is for: how soon each injected drift was
detected, how many alarms were false, whether accuracy recovered, whether a retraining and a
promotion followed, and what the loop gained over a frozen copy of the first champion. Its
value is plain JSON (the report's ``summary.json``); every time in it is ISO 8601 in UTC, every
float is rounded to 6 decimals, and a figure that cannot be computed is None, never NaN.

Definitions
-----------
alarm
    An alert of severity ``warning`` or ``critical`` (:data:`ALARM_SEVERITIES`; ``info`` is
    not an alarm), placed at its ``opened_at``. Each alert counts once, at the severity it had
    when the result was read (an alert that escalated counts as critical).
concerns
    An alert concerns an injection when it is what that drift should raise. For ``concept``
    and ``class_balance`` (:data:`LABEL_KINDS`, they change the labels): a
    ``performance_drop``, ``concept_drift``, ``prediction_drift`` or ``share_drifted`` alert
    (:data:`LABEL_RULES`), whatever its subject. For every other kind (the feature scenarios):
    a ``feature_drift`` or ``data_quality`` alert (:data:`FEATURE_RULES`) whose subject is one
    of the injection's columns.
detected_at, detection_delay_hours
    The first alarm opened at or after the injection's start that concerns it, and the hours
    from the start to it. The rules that concern an injection open only warning or critical
    alerts, so this is also the first such alert of any severity. An alert already open at the
    start (a false alarm on the same rule, version and subject) does not open again when the
    drift arrives, and the result holds no alert events to show when it escalated: such a
    drift counts as detected only when another concerning alert opens.
false_alarms_before
    Alarms opened before the injection's start that no earlier drift explains. For the first
    injection in time: every alarm before its start. For a later one: the alarms opened from
    the previous injection's start (inclusive) up to its own start that concern none of the
    injections started before it; an alarm about an earlier drift that is still there is a true
    alarm. "First", "previous" and "earlier" go by start time; the output keeps the order of
    ``result.injections``.
baseline_accuracy
    The row-weighted mean live accuracy of the simulated days that end at or before the
    injection's start (None when none does: the drift starts with the run).
hurt_accuracy, max_drop_points
    Whether a day attributed to the injection has a live accuracy more than
    :data:`RECOVERY_POINTS` (1 point, i.e. 0.01) below the baseline, and
    ``100 * (baseline - lowest live accuracy)`` over those days (0 when none is below). The
    days attributed to it end after its start and start before the next injection's start, so
    that the next drift's damage is not blamed on it. None without a baseline.
recovered_at, recovered_day, time_to_recovery_days
    For an injection that hurt accuracy: the first day after its first hurt day whose live
    accuracy is back within 1 point of the baseline (at least ``baseline - 0.01``), searched up
    to the end of the run; its start, its number and the days from the injection's start to
    that day's start. None when accuracy was not hurt or did not recover within the run.
retrained
    The first retraining run that started (status other than ``skipped``) at or after the
    injection's start, by ``started_at`` (else ``requested_at``): ``id``, ``at``, ``status``,
    ``trigger``, ``candidate_version`` and ``hours_after_start``; None when there is none.
promoted
    The first promotion in ``history`` at or after the injection's start: an event with
    ``action == "promote"`` and a ``from_version`` (installing the first champion replaces
    nothing and is not a promotion): ``at``, ``from_version``, ``to_version``, ``reason`` and
    ``hours_after_start``; None when there is none.

Over the whole run:

false_alarms
    Alarms opened before the first injection's start (during the whole run when nothing was
    injected), by severity, with their ``total``.
alerts_by_severity, alerts_by_rule
    Every alert, by severity (``info``, ``warning`` and ``critical`` always present) and by rule.
retraining_runs, ab_tests
    Counts by status (the statuses that occur, alphabetically).
promotions, rollbacks
    The promotions as defined above, and the ``rollback`` events, in ``history``.
detection
    How many injections there were, how many were detected, and the mean and largest delay.
performance
    Realised accuracy of the live system and of the frozen model from ``result.days``, weighted
    by each day's rows (days without rows or with a non-finite accuracy are left out), over
    ``whole_run``, ``after_first_injection`` (the days that end after the first injection's
    start; None without injections) and ``last_week`` (the days numbered within 7 of the last
    one). Each period gives ``days``, ``rows``, ``live_accuracy``, ``frozen_accuracy``,
    ``gain_accuracy_points = 100 * (live - frozen)``, and ROC AUC the same way over the days
    where both models have one (``live_roc_auc``, ``frozen_roc_auc``, ``gain_roc_auc_points``;
    None when no day has both). ``gain_last_week_accuracy_points`` repeats the last week's gain.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from driftwarden.simulation.result import DayRecord, SimulationResult

__all__ = [
    "ALARM_SEVERITIES",
    "FEATURE_RULES",
    "LABEL_KINDS",
    "LABEL_RULES",
    "LAST_DAYS",
    "RECOVERY_POINTS",
    "alert_concerns",
    "champion_at",
    "parse_time",
    "summarise",
]

ALARM_SEVERITIES = ("warning", "critical")
"""The severities of an alarm: what a false alarm or a detection counts."""
FEATURE_RULES = ("feature_drift", "data_quality")
"""Rules that detect a feature scenario when the alert's subject is one of its columns."""
LABEL_KINDS = ("concept", "class_balance")
"""Injection kinds that change the labels rather than named features."""
LABEL_RULES = ("performance_drop", "concept_drift", "prediction_drift", "share_drifted")
"""Rules that detect an injection of :data:`LABEL_KINDS`, whatever their subject."""
RECOVERY_POINTS = 1.0
"""Accuracy points (hundredths) within which accuracy counts as back at its baseline."""
LAST_DAYS = 7
"""Length, in simulated days, of the closing period of the performance figures."""

_DAY = timedelta(days=1)
_SEVERITIES = ("info", "warning", "critical")


def parse_time(value: str | datetime) -> datetime:
    """Read a time of the result (ISO 8601 text or a datetime) as an aware UTC datetime.

    A time without a zone is read as UTC, as everything in a result is.

    Raises
    ------
    ValueError
        If ``value`` is neither a datetime nor ISO 8601 text.

    Examples
    --------
    >>> parse_time("2024-01-04T06:00:00Z").isoformat()
    '2024-01-04T06:00:00+00:00'
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    else:
        raise ValueError(f"expected an ISO 8601 time such as 2024-01-04T00:00:00Z, got {value!r}")
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _time(value: Any) -> datetime | None:
    return None if value is None or value == "" else parse_time(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def _columns(injection: Mapping[str, Any]) -> tuple[str, ...]:
    columns = injection.get("columns") or ()
    return (columns,) if isinstance(columns, str) else tuple(str(c) for c in columns)


def alert_concerns(alert: Mapping[str, Any], injection: Mapping[str, Any]) -> bool:
    """Whether ``alert`` is what ``injection`` should raise (see the module's definitions).

    Examples
    --------
    >>> shift = {"kind": "sudden", "columns": ["tenure"]}
    >>> alert_concerns({"rule": "feature_drift", "subject": "tenure"}, shift)
    True
    >>> alert_concerns({"rule": "performance_drop", "subject": "accuracy"}, shift)
    False
    """
    rule = alert.get("rule")
    if injection.get("kind") in LABEL_KINDS:
        return rule in LABEL_RULES
    return rule in FEATURE_RULES and alert.get("subject") in _columns(injection)


def champion_at(history: Sequence[Mapping[str, Any]]) -> Callable[[datetime], int | None]:
    """A function giving the champion version at a time, from the champion ``history``
    (None before its first event)."""
    moves = sorted(
        (parse_time(event["at"]), int(event["to_version"]))
        for event in history
        if event.get("at") and event.get("to_version") is not None
    )
    times = [when for when, _ in moves]

    def at(moment: datetime) -> int | None:
        index = bisect_right(times, moment)
        return moves[index - 1][1] if index else None

    return at


@dataclass(frozen=True, slots=True)
class _Injection:
    record: Mapping[str, Any]
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class _Day:
    record: DayRecord
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + _DAY


def _alarms(alerts: Iterable[Mapping[str, Any]]) -> list[tuple[datetime, Mapping[str, Any]]]:
    found = [
        (parse_time(alert["opened_at"]), alert)
        for alert in alerts
        if alert.get("severity") in ALARM_SEVERITIES and alert.get("opened_at")
    ]
    return sorted(found, key=lambda pair: (pair[0], pair[1].get("id") or 0))


def _weighted(
    days: Iterable[_Day], value: Callable[[DayRecord], float | None]
) -> tuple[float, int]:
    total, rows = 0.0, 0
    for day in days:
        figure = value(day.record)
        if day.record.n > 0 and figure is not None and math.isfinite(figure):
            total += day.record.n * figure
            rows += day.record.n
    return (total / rows if rows else math.nan), rows


def _both_auc(record: DayRecord) -> bool:
    return record.live_roc_auc is not None and record.frozen_roc_auc is not None


def _period(days: Sequence[_Day]) -> dict[str, Any] | None:
    if not days:
        return None
    live, rows = _weighted(days, lambda d: d.live_accuracy)
    frozen, _ = _weighted(days, lambda d: d.frozen_accuracy)
    with_auc = [day for day in days if _both_auc(day.record)]
    live_auc, _ = _weighted(with_auc, lambda d: d.live_roc_auc)
    frozen_auc, _ = _weighted(with_auc, lambda d: d.frozen_roc_auc)
    return {
        "days": len(days),
        "rows": sum(max(day.record.n, 0) for day in days),
        "live_accuracy": _round(live),
        "frozen_accuracy": _round(frozen),
        "gain_accuracy_points": _round(100 * (live - frozen)) if rows else None,
        "live_roc_auc": _round(live_auc),
        "frozen_roc_auc": _round(frozen_auc),
        "gain_roc_auc_points": _round(100 * (live_auc - frozen_auc)),
    }


def _performance(days: Sequence[_Day], first_start: datetime | None) -> dict[str, Any]:
    last_week: list[_Day] = []
    if days:
        last = max(day.record.day for day in days)
        last_week = [day for day in days if day.record.day > last - LAST_DAYS]
    after = None
    if first_start is not None:
        after = _period([day for day in days if day.end > first_start])
    week = _period(last_week)
    return {
        "whole_run": _period(days),
        "after_first_injection": after,
        "last_week": week,
        "gain_last_week_accuracy_points": None if week is None else week["gain_accuracy_points"],
    }


def _hours(since: datetime, moment: datetime) -> float | None:
    return _round((moment - since).total_seconds() / 3600)


def _recovery(
    injection: _Injection, next_start: datetime | None, days: Sequence[_Day]
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "baseline_accuracy": None,
        "hurt_accuracy": None,
        "max_drop_points": None,
        "recovered_at": None,
        "recovered_day": None,
        "time_to_recovery_days": None,
    }
    baseline, rows = _weighted((d for d in days if d.end <= injection.start), _live)
    if not rows:
        return found
    floor = baseline - RECOVERY_POINTS / 100
    after = [d for d in days if d.end > injection.start and math.isfinite(d.record.live_accuracy)]
    own = [d for d in after if next_start is None or d.start < next_start]
    hurt = next((d for d in own if d.record.live_accuracy < floor), None)
    lowest = min((d.record.live_accuracy for d in own), default=None)
    found["baseline_accuracy"] = _round(baseline)
    found["hurt_accuracy"] = hurt is not None
    found["max_drop_points"] = None if lowest is None else _round(max(0.0, baseline - lowest) * 100)
    if hurt is None:
        return found
    back = next(
        (d for d in after if d.start > hurt.start and d.record.live_accuracy >= floor), None
    )
    if back is not None:
        found["recovered_at"] = _iso(back.start)
        found["recovered_day"] = back.record.day
        found["time_to_recovery_days"] = _round((back.start - injection.start) / _DAY)
    return found


def _live(record: DayRecord) -> float:
    return record.live_accuracy


def _retrained(start: datetime, runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    started = []
    for run in runs:
        at = _time(run.get("started_at") or run.get("requested_at"))
        if run.get("status") != "skipped" and at is not None and at >= start:
            started.append((at, run.get("id") or 0, run))
    if not started:
        return None
    at, _, run = min(started, key=lambda item: (item[0], item[1]))
    return {
        "id": run.get("id"),
        "at": _iso(at),
        "status": run.get("status"),
        "trigger": run.get("trigger"),
        "candidate_version": run.get("candidate_version"),
        "hours_after_start": _hours(start, at),
    }


def _promotions(history: Iterable[Mapping[str, Any]]) -> list[tuple[datetime, Mapping[str, Any]]]:
    found = [
        (parse_time(event["at"]), event)
        for event in history
        if event.get("action") == "promote"
        and event.get("from_version") is not None
        and event.get("at")
    ]
    return sorted(found, key=lambda pair: (pair[0], pair[1].get("sequence") or 0))


def _promoted(
    start: datetime, promotions: Sequence[tuple[datetime, Mapping[str, Any]]]
) -> dict[str, Any] | None:
    at, event = next(((at, e) for at, e in promotions if at >= start), (None, None))
    if at is None or event is None:
        return None
    return {
        "at": _iso(at),
        "from_version": event.get("from_version"),
        "to_version": event.get("to_version"),
        "reason": event.get("reason"),
        "hours_after_start": _hours(start, at),
    }


def _injection(
    injection: _Injection,
    ordered: Sequence[_Injection],
    alarms: Sequence[tuple[datetime, Mapping[str, Any]]],
    days: Sequence[_Day],
    result: SimulationResult,
    promotions: Sequence[tuple[datetime, Mapping[str, Any]]],
) -> dict[str, Any]:
    start = injection.start
    earlier = [other for other in ordered if other.start < start]
    since = max((other.start for other in earlier), default=None)
    later = [other.start for other in ordered if other.start > start]
    detected = next(
        (at for at, alert in alarms if at >= start and alert_concerns(alert, injection.record)),
        None,
    )
    false = [
        alert
        for at, alert in alarms
        if at < start
        and (since is None or at >= since)
        and not any(alert_concerns(alert, other.record) for other in earlier)
    ]
    return {
        "kind": injection.record.get("kind"),
        "columns": list(_columns(injection.record)),
        "start": _iso(start),
        "end": _iso(injection.end),
        "magnitude": injection.record.get("magnitude"),
        "description": injection.record.get("description"),
        "detected_at": _iso(detected),
        "detection_delay_hours": None if detected is None else _hours(start, detected),
        "false_alarms_before": len(false),
        **_recovery(injection, min(later, default=None), days),
        "retrained": _retrained(start, result.retraining_runs),
        "promoted": _promoted(start, promotions),
    }


def _counts(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, int]:
    counts = Counter(str(item.get(key)) for item in items)
    return dict(sorted(counts.items()))


def summarise(result: SimulationResult) -> dict[str, Any]:
    """The figures of a run, as plain JSON (see the module's definitions).

    Parameters
    ----------
    result : SimulationResult
        A finished run, or one read back with :meth:`SimulationResult.load`.

    Returns
    -------
    dict
        ``run``, ``injections`` (one dict per injection, in the result's order),
        ``detection``, ``false_alarms``, ``alerts_by_severity``, ``alerts_by_rule``,
        ``retraining_runs``, ``ab_tests``, ``promotions``, ``rollbacks`` and ``performance``.

    Raises
    ------
    ValueError
        If a time in the result is not ISO 8601.
    """
    injections = [
        _Injection(record, parse_time(record["start"]), _time(record.get("end")))
        for record in result.injections
    ]
    ordered = sorted(injections, key=lambda injection: injection.start)
    days = sorted(
        (_Day(record, parse_time(record.start)) for record in result.days),
        key=lambda day: day.record.day,
    )
    alarms = _alarms(result.alerts)
    promotions = _promotions(result.history)
    per_injection = [
        _injection(injection, ordered, alarms, days, result, promotions) for injection in injections
    ]
    delays = [
        item["detection_delay_hours"]
        for item in per_injection
        if item["detection_delay_hours"] is not None
    ]
    first_start = ordered[0].start if ordered else None
    before = Counter(
        str(alert["severity"]) for at, alert in alarms if first_start is None or at < first_start
    )
    by_severity = Counter(str(alert.get("severity")) for alert in result.alerts)
    return {
        "run": {
            "days": len(days),
            "rows": sum(max(day.record.n, 0) for day in days),
            "start": result.config.get("start"),
            "end": result.config.get("end"),
            "seconds": _round(result.seconds),
        },
        "injections": per_injection,
        "detection": {
            "injections": len(per_injection),
            "detected": len(delays),
            "mean_delay_hours": _round(sum(delays) / len(delays)) if delays else None,
            "max_delay_hours": max(delays, default=None),
        },
        "false_alarms": {
            **{severity: before[severity] for severity in ALARM_SEVERITIES},
            "total": sum(before.values()),
        },
        "alerts_by_severity": {
            **{severity: by_severity[severity] for severity in _SEVERITIES},
            **{s: n for s, n in sorted(by_severity.items()) if s not in _SEVERITIES},
        },
        "alerts_by_rule": _counts(result.alerts, "rule"),
        "retraining_runs": _counts(result.retraining_runs, "status"),
        "ab_tests": _counts(result.ab_tests, "status"),
        "promotions": len(promotions),
        "rollbacks": sum(1 for event in result.history if event.get("action") == "rollback"),
        "performance": _performance(days, first_start),
    }
