"""The alert lifecycle on both stores: open, deduplicate, escalate, remind, resolve, acknowledge,
mute; with every step in the alert's history."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from driftwarden.core import AlertSettings, ConfigError, NotFoundError, SimulatedClock
from driftwarden.monitoring import AlertManager, Check
from driftwarden.monitoring.channels import WebhookSender
from driftwarden.store import alert_events, create_store_engine, get_alert, list_alerts, upgrade

START = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = make_url(f"sqlite:///{tmp_path / 'alerts.db'}")
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = create_store_engine(url, connect_timeout=2)
    upgrade(engine)
    yield engine
    engine.dispose()


class Channel:
    """The real webhook channel, sending to the real receiver, and what arrived there."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.sender = WebhookSender(receiver.url("/hooks/alerts"))

    @property
    def sent(self):
        # The receiver answers 500 to its first ``fail_first`` requests: those did not arrive.
        arrived = self.receiver.requests[self.receiver.fail_first :]
        return [
            (a["kind"], a["severity"]) for a in (json.loads(r["body"])["alert"] for r in arrived)
        ]


def _check(severity, *, subject="tenure", rule="feature_drift", value=0.3):
    return Check(rule, 1, subject, severity, f"drift on {subject}", f"psi {value}", value, 0.25)


def _manager(engine, clock, channel, **settings):
    return AlertManager(
        engine, "churn", AlertSettings(**settings), [channel.sender], clock, sleep=lambda _: None
    )


def test_alert_opens_once_escalates_and_resolves_after_clear_runs(engine, receiver):
    clock = SimulatedClock(START)
    channel = Channel(receiver)
    manager = _manager(engine, clock, channel, resolve_after_runs=2)

    first = manager.process([_check("warning"), _check("ok", subject="plan")])
    [alert_id] = first.opened
    clock.advance(60)
    again = manager.process([_check("warning", value=0.31)])
    assert (again.opened, again.escalated, again.reminded) == ([], [], [])
    clock.advance(60)
    worse = manager.process([_check("critical", value=0.5)])
    assert worse.escalated == [alert_id]
    clock.advance(60)
    calmer = manager.process([_check("warning", value=0.3)])  # de-escalates, sends nothing
    assert (calmer.escalated, calmer.reminded) == ([], [])
    assert get_alert(engine, alert_id)["severity"] == "warning"
    clock.advance(60)
    assert manager.process([_check("ok")]).resolved == []
    clock.advance(60)
    assert manager.process([]).resolved == []  # not evaluated: does not count as clear
    clock.advance(60)
    assert manager.process([_check("ok")]).resolved == [alert_id]

    alert = get_alert(engine, alert_id)
    assert alert["status"] == "resolved"
    assert alert["severity"] == "warning"
    assert alert["value"] == 0.3
    assert alert["resolved_at"] == START + timedelta(seconds=360)
    kinds = [e["kind"] for e in alert_events(engine, alert_id)]
    assert kinds == [
        "opened", "notified", "escalated", "notified", "deescalated", "resolved", "notified",
    ]  # fmt: skip
    assert channel.sent == [
        ("opened", "warning"),
        ("escalated", "critical"),
        ("resolved", "warning"),
    ]
    # The condition firing again opens a new alert: the old one stays resolved in the history.
    reopened = manager.process([_check("warning")]).opened
    assert reopened != [alert_id]
    assert len(list_alerts(engine, model_name="churn")) == 2


def test_alert_reminds_after_the_cooldown_only(engine, receiver):
    clock = SimulatedClock(START)
    channel = Channel(receiver)
    manager = _manager(engine, clock, channel, repeat_after=timedelta(hours=1))
    [alert_id] = manager.process([_check("warning")]).opened
    clock.advance(timedelta(minutes=59))
    assert manager.process([_check("warning")]).reminded == []
    clock.advance(timedelta(minutes=1))
    assert manager.process([_check("warning")]).reminded == [alert_id]
    assert [kind for kind, _ in channel.sent] == ["opened", "reminder"]


def test_acknowledged_alert_gets_no_reminder_but_still_escalates(engine, receiver):
    clock = SimulatedClock(START)
    channel = Channel(receiver)
    manager = _manager(engine, clock, channel, repeat_after=timedelta(minutes=5))
    [alert_id] = manager.process([_check("warning")]).opened
    acknowledged = manager.acknowledge(alert_id, by="oncall")
    assert acknowledged["status"] == "acknowledged"
    clock.advance(timedelta(hours=1))
    assert manager.process([_check("warning")]).reminded == []
    assert manager.process([_check("critical")]).escalated == [alert_id]
    assert [kind for kind, _ in channel.sent] == ["opened", "escalated"]
    assert get_alert(engine, alert_id)["acknowledged_by"] == "oncall"


def test_muted_alert_sends_nothing_until_the_mute_ends(engine, receiver):
    clock = SimulatedClock(START)
    channel = Channel(receiver)
    manager = _manager(engine, clock, channel, repeat_after=timedelta(minutes=5))
    [alert_id] = manager.process([_check("warning")]).opened
    muted = manager.mute(alert_id, timedelta(hours=2), by="oncall")
    assert muted["muted_until"] == START + timedelta(hours=2)
    clock.advance(timedelta(hours=1))
    manager.process([_check("critical")])
    assert [kind for kind, _ in channel.sent] == ["opened"]
    clock.advance(timedelta(hours=1, minutes=1))
    manager.process([_check("critical")])
    assert [kind for kind, _ in channel.sent] == ["opened", "reminder"]
    assert "muted" in [e["kind"] for e in alert_events(engine, alert_id)]


def test_failed_delivery_is_recorded_never_raised_and_retried_next_run(engine, receiver):
    clock = SimulatedClock(START)
    channel = Channel(receiver)
    receiver.fail_first = 2  # both attempts of the first delivery fail
    manager = _manager(engine, clock, channel, delivery_attempts=2)
    summary = manager.process([_check("critical")])
    [alert_id] = summary.opened
    assert summary.failed_deliveries == 1
    [failed] = [e for e in alert_events(engine, alert_id) if e["kind"] == "delivery_failed"]
    assert failed["detail"]["attempts"] == 2
    assert "500" in failed["detail"]["error"]
    assert "/hooks/alerts" not in failed["detail"]["error"]
    assert get_alert(engine, alert_id)["notified_at"] is None
    clock.advance(60)
    assert manager.process([_check("critical")]).reminded == [alert_id]
    assert get_alert(engine, alert_id)["notified_at"] == START + timedelta(seconds=60)


def test_people_actions_refuse_what_cannot_be_done(engine, receiver):
    clock = SimulatedClock(START)
    manager = _manager(engine, clock, Channel(receiver), resolve_after_runs=1)
    with pytest.raises(NotFoundError, match="no alert has id 99"):
        manager.acknowledge(99, by="x")
    [alert_id] = manager.process([_check("warning")]).opened
    with pytest.raises(ConfigError, match="positive time"):
        manager.mute(alert_id, timedelta(0), by="x")
    manager.process([_check("ok")])
    with pytest.raises(ConfigError, match="resolved already"):
        manager.acknowledge(alert_id, by="x")
