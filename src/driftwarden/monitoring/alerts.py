"""The alert lifecycle: open, deduplicate, escalate, remind, acknowledge, mute, resolve.

* A firing check whose key has no active alert opens one (status ``open``) and notifies.
* While an alert is active, the same condition updates it instead of opening another. It is
  notified again only when its severity rises (at once) or after ``repeat_after`` without a
  notification (the cooldown); acknowledged and muted alerts get no reminders.
* A check that is evaluated and clear counts towards resolution: after ``resolve_after_runs``
  clear runs in a row the alert is resolved (and a resolution is sent if the alert was notified).
* Every step is an event in the alert's history; so is each delivery, failed or not. A failed
  delivery never breaks the monitor: it is recorded, and tried again at the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from driftwarden.core import AlertSettings, Clock
from driftwarden.core.errors import ConfigError
from driftwarden.monitoring.channels import (
    Channel,
    DeliveryOutcome,
    Notification,
    deliver,
    jsonable,
)
from driftwarden.monitoring.rules import SEVERITIES, Check
from driftwarden.store import (
    active_alerts,
    add_alert_events,
    get_alert,
    insert_alert,
    update_alert,
)

__all__ = ["AlertManager", "AlertSummary"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class AlertSummary:
    """What one pass of the lifecycle did, by alert id."""

    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    deliveries: list[DeliveryOutcome] = field(default_factory=list)
    opened_rules: list[tuple[str, str]] = field(default_factory=list)
    active: dict[str, int] = field(default_factory=dict)

    @property
    def failed_deliveries(self) -> int:
        """Deliveries that failed after every attempt."""
        return sum(not d.delivered for d in self.deliveries)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity)


class AlertManager:
    """Alerts of one model, kept in the store, sent through the configured channels."""

    def __init__(
        self,
        engine: Any,
        model_name: str,
        settings: AlertSettings,
        channels: Sequence[Channel],
        clock: Clock,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.model_name = model_name
        self.settings = settings
        self.channels = list(channels)
        self.clock = clock
        self._sleep = sleep

    # -- the lifecycle --------------------------------------------------------------------------

    def process(self, checks: Sequence[Check], *, run_id: int | None = None) -> AlertSummary:
        """Apply one run's checks to the alerts."""
        now = self.clock.now()
        summary = AlertSummary()
        active = active_alerts(self.engine, self.model_name)
        evaluated: set[str] = set()
        for check in checks:
            key = check.key(self.model_name)
            evaluated.add(key)
            alert = active.get(key)
            if check.firing and alert is None:
                self._open(check, key, now, run_id, summary)
            elif check.firing and alert is not None:
                self._again(alert, check, now, run_id, summary)
            elif alert is not None:
                self._clear(alert, now, run_id, summary)
        for alert in active_alerts(self.engine, self.model_name).values():
            summary.active[alert["severity"]] = summary.active.get(alert["severity"], 0) + 1
        return summary

    def _open(
        self, check: Check, key: str, now: datetime, run_id: int | None, summary: AlertSummary
    ) -> None:
        values = {
            "key": key,
            "model_name": self.model_name,
            "rule": check.rule,
            "subject": check.subject,
            "severity": check.severity,
            "status": "open",
            "title": check.title,
            "message": check.message,
            "value": check.value,
            "threshold": check.threshold,
            "model_version": check.model_version,
            "evidence": jsonable(check.evidence),
            "opened_at": now,
            "last_seen_at": now,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "muted_until": None,
            "notified_at": None,
            "notified_severity": None,
            "clear_runs": 0,
        }
        event = {"at": now, "kind": "opened", "severity": check.severity,
                 "detail": {"run_id": run_id, "message": check.message}}  # fmt: skip
        alert_id = insert_alert(self.engine, values, event)
        summary.opened.append(alert_id)
        summary.opened_rules.append((check.rule, check.severity))
        logger.info("alert %d opened: %s", alert_id, check.message)
        self._notify({**values, "id": alert_id}, "opened", now, summary)

    def _again(
        self,
        alert: dict[str, Any],
        check: Check,
        now: datetime,
        run_id: int | None,
        summary: AlertSummary,
    ) -> None:
        values: dict[str, Any] = {
            "last_seen_at": now,
            "message": check.message,
            "value": check.value,
            "threshold": check.threshold,
            "evidence": jsonable(check.evidence),
            "clear_runs": 0,
        }
        events = []
        kind: str | None = None
        if _rank(check.severity) > _rank(alert["severity"]):
            values["severity"] = check.severity
            events.append({"at": now, "kind": "escalated", "severity": check.severity,
                           "detail": {"run_id": run_id, "from": alert["severity"]}})  # fmt: skip
            kind = "escalated"
            summary.escalated.append(alert["id"])
        elif _rank(check.severity) < _rank(alert["severity"]):
            values["severity"] = check.severity
            events.append({"at": now, "kind": "deescalated", "severity": check.severity,
                           "detail": {"run_id": run_id, "from": alert["severity"]}})  # fmt: skip
        elif alert["status"] == "open" and self._due(alert, now):
            kind = "reminder"
            summary.reminded.append(alert["id"])
        update_alert(self.engine, alert["id"], values, events)
        if kind is not None:
            self._notify({**alert, **values}, kind, now, summary)

    def _clear(
        self, alert: dict[str, Any], now: datetime, run_id: int | None, summary: AlertSummary
    ) -> None:
        clear_runs = alert["clear_runs"] + 1
        if clear_runs < self.settings.resolve_after_runs:
            update_alert(self.engine, alert["id"], {"clear_runs": clear_runs})
            return
        values = {"status": "resolved", "resolved_at": now, "clear_runs": clear_runs}
        event = {"at": now, "kind": "resolved", "severity": alert["severity"],
                 "detail": {"run_id": run_id, "clear_runs": clear_runs}}  # fmt: skip
        update_alert(self.engine, alert["id"], values, [event])
        summary.resolved.append(alert["id"])
        logger.info("alert %d resolved after %d clear runs", alert["id"], clear_runs)
        if alert["notified_at"] is not None:
            self._notify({**alert, **values}, "resolved", now, summary)

    def _due(self, alert: dict[str, Any], now: datetime) -> bool:
        last = alert["notified_at"]
        return last is None or now - last >= self.settings.repeat_after

    # -- notifications --------------------------------------------------------------------------

    def _notify(
        self, alert: dict[str, Any], kind: str, now: datetime, summary: AlertSummary
    ) -> None:
        muted_until = alert.get("muted_until")
        if muted_until is not None and muted_until > now:
            return
        if not self.channels:
            return
        notification = Notification(
            alert_id=alert["id"],
            rule=alert["rule"],
            subject=alert["subject"],
            severity=alert["severity"],
            kind=kind,  # type: ignore[arg-type]
            title=alert["title"],
            message=alert["message"],
            model_name=self.model_name,
            model_version=alert["model_version"],
            value=alert["value"],
            threshold=alert["threshold"],
            opened_at=alert["opened_at"],
            at=now,
            evidence=alert["evidence"] or {},
        )
        outcomes = deliver(
            self.channels,
            notification,
            attempts=self.settings.delivery_attempts,
            backoff_seconds=self.settings.delivery_backoff.total_seconds(),
            sleep=self._sleep,
        )
        summary.deliveries += outcomes
        events = [
            {
                "alert_id": alert["id"],
                "at": now,
                "kind": "notified" if outcome.delivered else "delivery_failed",
                "severity": alert["severity"],
                "detail": {
                    "channel": outcome.channel,
                    "attempts": outcome.attempts,
                    "error": outcome.error,
                    "notification": kind,
                },
            }
            for outcome in outcomes
        ]
        add_alert_events(self.engine, events)
        if any(outcome.delivered for outcome in outcomes):
            update_alert(
                self.engine,
                alert["id"],
                {"notified_at": now, "notified_severity": alert["severity"]},
            )

    # -- people's actions -----------------------------------------------------------------------

    def acknowledge(self, alert_id: int, *, by: str) -> dict[str, Any]:
        """Mark an alert as seen: it stays active (and can escalate) but gets no reminders.

        Raises
        ------
        NotFoundError
            No alert has that id.
        ConfigError
            The alert is resolved already.
        """
        alert = get_alert(self.engine, alert_id)
        if alert["status"] == "resolved":
            raise ConfigError(f"alert {alert_id} is resolved already; nothing to acknowledge")
        now = self.clock.now()
        values = {"status": "acknowledged", "acknowledged_at": now, "acknowledged_by": by}
        event = {"at": now, "kind": "acknowledged", "severity": alert["severity"],
                 "detail": {"by": by}}  # fmt: skip
        update_alert(self.engine, alert_id, values, [event])
        return {**alert, **values}

    def mute(self, alert_id: int, duration: timedelta, *, by: str) -> dict[str, Any]:
        """Send nothing about an alert for ``duration`` (it is still updated and shown).

        Raises
        ------
        NotFoundError
            No alert has that id.
        ConfigError
            ``duration`` is not positive.
        """
        if duration <= timedelta(0):
            raise ConfigError(f"a mute must last a positive time, got {duration}")
        alert = get_alert(self.engine, alert_id)
        now = self.clock.now()
        until = now + duration
        event = {"at": now, "kind": "muted", "severity": alert["severity"],
                 "detail": {"by": by, "until": until.isoformat()}}  # fmt: skip
        update_alert(self.engine, alert_id, {"muted_until": until}, [event])
        return {**alert, "muted_until": until}
