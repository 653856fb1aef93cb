"""Alerts and their history in the store. The lifecycle (when to open, escalate, re-notify or
resolve) is :mod:`driftwarden.monitoring.alerts`; this module only reads and writes rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from driftwarden.core.errors import NotFoundError
from driftwarden.store.tables import Alert, AlertEvent

__all__ = [
    "ALERT_STATUSES",
    "active_alerts",
    "add_alert_events",
    "alert_events",
    "get_alert",
    "insert_alert",
    "list_alerts",
    "update_alert",
]

ALERT_STATUSES = ("open", "acknowledged", "resolved")

_ALERT_COLUMNS = (
    "id", "key", "model_name", "rule", "subject", "severity", "status", "title", "message",
    "value", "threshold", "model_version", "evidence", "opened_at", "last_seen_at",
    "acknowledged_at", "acknowledged_by", "resolved_at", "muted_until", "notified_at",
    "notified_severity", "clear_runs",
)  # fmt: skip
_EVENT_COLUMNS = ("id", "alert_id", "at", "kind", "severity", "detail")


def _plain(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def active_alerts(engine: Engine, model_name: str) -> dict[str, dict[str, Any]]:
    """The alerts of ``model_name`` that are not resolved, by key."""
    query = select(Alert).where(Alert.model_name == model_name, Alert.status != "resolved")
    with engine.connect() as connection:
        return {row.key: _plain(row, _ALERT_COLUMNS) for row in connection.execute(query)}


def insert_alert(engine: Engine, values: Mapping[str, Any], event: Mapping[str, Any]) -> int:
    """Open an alert and record its first event, in one transaction; returns its id."""
    with engine.begin() as connection:
        alert_id = int(
            connection.execute(insert(Alert).values(**values).returning(Alert.id)).scalar_one()
        )
        connection.execute(insert(AlertEvent).values(alert_id=alert_id, **event))
    return alert_id


def update_alert(
    engine: Engine,
    alert_id: int,
    values: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Change an alert and record what happened to it, in one transaction."""
    with engine.begin() as connection:
        if values:
            connection.execute(update(Alert).where(Alert.id == alert_id).values(**values))
        if events:
            connection.execute(insert(AlertEvent), [{"alert_id": alert_id, **e} for e in events])


def add_alert_events(engine: Engine, events: Sequence[Mapping[str, Any]]) -> None:
    """Record events (each names its ``alert_id``)."""
    if events:
        with engine.begin() as connection:
            connection.execute(insert(AlertEvent), [dict(e) for e in events])


def get_alert(engine: Engine, alert_id: int) -> dict[str, Any]:
    """One alert.

    Raises
    ------
    NotFoundError
        No alert has that id.
    """
    with engine.connect() as connection:
        row = connection.execute(select(Alert).where(Alert.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"no alert has id {alert_id}; list them with GET /v1/alerts")
    return _plain(row, _ALERT_COLUMNS)


def alert_events(engine: Engine, alert_id: int) -> list[dict[str, Any]]:
    """The history of one alert, oldest first."""
    query = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    with engine.connect() as connection:
        return [_plain(row, _EVENT_COLUMNS) for row in connection.execute(query)]


def list_alerts(
    engine: Engine,
    *,
    model_name: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts opened in ``[start, end)`` matching every filter given, newest first."""
    query = select(Alert)
    if model_name is not None:
        query = query.where(Alert.model_name == model_name)
    if status is not None:
        query = query.where(Alert.status == status)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if start is not None:
        query = query.where(Alert.opened_at >= start)
    if end is not None:
        query = query.where(Alert.opened_at < end)
    query = query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    with engine.connect() as connection:
        return [_plain(row, _ALERT_COLUMNS) for row in connection.execute(query)]
