"""The stored champion/challenger experiment: current value, history, checks and outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, func, select

from driftwarden.core import ConfigError, SimulatedClock, StoreUnavailableError
from driftwarden.store import (
    RoutingChange,
    StoredRouting,
    create_store_engine,
    current_routing,
    record_routing,
    routing_history,
)

START = datetime(2024, 1, 1, tzinfo=UTC)


def _record(
    engine: Engine, clock: SimulatedClock, model: str = "churn", **changes
) -> StoredRouting:
    values = {"mode": "split", "share": 0.25, "salt": "exp-1", "changed_by": "ops@host"}
    values.update(changes)
    return record_routing(engine, model, clock=clock, **values)


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(RoutingChange)) or 0)


def test_routing_nothing_stored_reads_none_and_an_empty_history(migrated: Engine):
    assert current_routing(migrated, "churn") is None
    assert routing_history(migrated, "churn") == []


def test_routing_round_trip_returns_what_was_recorded(migrated: Engine):
    clock = SimulatedClock(START)
    recorded = _record(migrated, clock, share=0.3)
    assert recorded == StoredRouting("churn", "split", 0.3, "exp-1", START, "ops@host")
    stored = current_routing(migrated, "churn")
    assert stored == recorded
    assert stored.changed_at.tzinfo is not None


def test_routing_newest_change_is_current_and_history_keeps_every_change(migrated: Engine):
    clock = SimulatedClock(START)
    _record(migrated, clock, mode="shadow", share=0.0, changed_by="alice")
    clock.advance(timedelta(minutes=5))
    _record(migrated, clock, mode="split", share=0.1, changed_by="bob")
    # Same time as the previous change: the later write still wins.
    _record(migrated, clock, mode="split", share=0.5, salt="exp-2", changed_by="carol")
    current = current_routing(migrated, "churn")
    assert (current.mode, current.share, current.salt, current.changed_by) == (
        "split",
        0.5,
        "exp-2",
        "carol",
    )
    history = routing_history(migrated, "churn")
    assert [(h.mode, h.share, h.changed_by) for h in history] == [
        ("shadow", 0.0, "alice"),
        ("split", 0.1, "bob"),
        ("split", 0.5, "carol"),
    ]
    later = START + timedelta(minutes=5)
    assert [h.changed_at for h in history] == [START, later, later]
    assert [h.changed_by for h in routing_history(migrated, "churn", limit=2)] == ["bob", "carol"]


def test_routing_each_model_has_its_own_experiment(migrated: Engine):
    clock = SimulatedClock(START)
    _record(migrated, clock, model="churn", share=0.2)
    _record(migrated, clock, model="fraud", mode="shadow", share=0.0)
    assert current_routing(migrated, "churn").share == 0.2
    assert current_routing(migrated, "fraud").mode == "shadow"
    assert [h.model_name for h in routing_history(migrated, "fraud")] == ["fraud"]
    assert current_routing(migrated, "other") is None


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"mode": "canary"}, "mode", "mode must be one of off, split, shadow, got 'canary'"),
        ({"share": 1.5}, "share", "share must be between 0 and 1, got 1.5"),
        ({"share": float("nan")}, "share", "share must be between 0 and 1, got nan"),
        ({"salt": ""}, "salt", "salt must have 1 to 128 characters, got 0"),
        ({"salt": "s" * 129}, "salt", "salt must have 1 to 128 characters, got 129"),
        ({"changed_by": ""}, "changed_by", "changed_by must have 1 to 256 characters"),
    ],
)
def test_routing_record_refuses_values_it_cannot_keep_and_stores_nothing(
    migrated: Engine, changes, key, message
):
    with pytest.raises(ConfigError, match=message) as caught:
        _record(migrated, SimulatedClock(START), **changes)
    assert caught.value.key == key
    assert _rows(migrated) == 0


def test_routing_history_refuses_a_limit_below_one(migrated: Engine):
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        routing_history(migrated, "churn", limit=0)


def test_routing_outage_is_a_store_unavailable_error_and_stores_nothing(outage, migrated: Engine):
    clock = SimulatedClock(START)
    _record(migrated, clock, share=0.1)
    outage.down()
    try:
        with pytest.raises(StoreUnavailableError, match="could not store the routing of 'churn'"):
            _record(outage.engine, clock, share=0.9)
    finally:
        outage.up()
    assert current_routing(outage.engine, "churn").share == 0.1
    assert _rows(migrated) == 1


def test_routing_read_of_an_unreachable_store_is_a_store_unavailable_error(
    backend: str, unreachable_url: str
):
    # create_store_engine would already fail creating the SQLite folder; a plain engine fails
    # only on connect, as a database that went away does.
    if backend == "sqlite":
        engine = create_engine(unreachable_url)
    else:
        engine = create_store_engine(unreachable_url, connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailableError, match="could not read the routing of 'churn'"):
            current_routing(engine, "churn")
        with pytest.raises(StoreUnavailableError, match="could not read the routing history"):
            routing_history(engine, "churn")
    finally:
        engine.dispose()
