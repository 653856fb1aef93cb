from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.engine import URL

from driftwarden.core import ConfigError, SimulatedClock, StoreUnavailableError
from driftwarden.store import (
    Label,
    Prediction,
    PredictionRow,
    acquire_lease,
    add_ab_snapshot,
    alembic_config,
    begin_ab_test,
    begin_retrain_run,
    count_predictions,
    current_routing,
    downgrade,
    get_retrain_run,
    insert_rows,
    labelled_predictions,
    list_ab_tests,
    list_retrain_runs,
    metadata,
    predictions_between,
    record_labels,
    record_routing,
    upgrade,
)


def _insert_before_0004(engine: Engine, rows: list[PredictionRow]) -> None:
    """Insert ``rows`` into a store older than 0004, whose predictions have no parent column."""
    params = [
        {k: v for k, v in row.to_params().items() if k != "parent_request_id"} for row in rows
    ]
    with engine.begin() as connection:
        connection.execute(insert(Prediction), params)


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_exactly_the_tables_of_the_metadata(engine: Engine):
    upgrade(engine)
    assert _diff(engine) == []
    names = set(inspect(engine).get_table_names())
    assert names == {
        "predictions",
        "labels",
        "routing_changes",
        "monitor_runs",
        "monitor_results",
        "monitor_features",
        "monitor_state",
        "alerts",
        "alert_events",
        "retrain_runs",
        "ab_tests",
        "ab_test_snapshots",
        "leases",
        "alembic_version",
    }


def test_upgrade_creates_the_window_indexes(migrated: Engine):
    indexes = {
        ix["name"]: ix["column_names"]
        for ix in inspect(migrated).get_indexes("predictions")
        if ix["name"].startswith("ix_")
    }
    assert indexes == {
        "ix_predictions_created_at_model_version": ["created_at", "model_version"],
        "ix_predictions_parent_request_id": ["parent_request_id"],
    }


def test_upgrade_twice_is_a_no_op(migrated: Engine):
    upgrade(migrated)
    assert _diff(migrated) == []


def test_upgrade_of_an_unreachable_store_says_so_and_where(unreachable_engine: Engine):
    expected = r"could not migrate the store: the prediction store at .* is not reachable"
    with pytest.raises(StoreUnavailableError, match=expected):
        upgrade(unreachable_engine)


def test_downgrade_removes_the_tables(migrated: Engine):
    downgrade(migrated)
    assert set(inspect(migrated).get_table_names()) <= {"alembic_version"}
    upgrade(migrated)
    assert _diff(migrated) == []


def test_migration_environment_refuses_to_run_without_a_connection():
    with pytest.raises(ConfigError, match="run on a given connection"):
        command.upgrade(alembic_config(), "head")


def _lengths(engine: Engine, table: str) -> dict[str, int | None]:
    columns = inspect(engine).get_columns(table)
    return {c["name"]: getattr(c["type"], "length", None) for c in columns}


def test_upgrade_from_0001_widens_the_ids_and_keeps_the_rows(engine: Engine, make_row):
    upgrade(engine, "0001")
    assert _lengths(engine, "predictions")["request_id"] == 64
    old = make_row(1, request_id="r" * 64, entity_id="e" * 128)
    _insert_before_0004(engine, [old])
    received = old.created_at
    record_labels(engine, {old.request_id: 1}, received_at=received)
    upgrade(engine)
    assert _diff(engine) == []
    predictions = _lengths(engine, "predictions")
    assert (predictions["request_id"], predictions["entity_id"]) == (160, 256)
    assert _lengths(engine, "labels")["request_id"] == 160
    longest = make_row(2, request_id="r" * 160, entity_id="e" * 256)
    insert_rows(engine, [longest])
    record_labels(engine, {longest.request_id: 0}, received_at=received)
    stored = predictions_between(engine, old.created_at, longest.created_at + timedelta(1))
    assert [(p.request_id, p.entity_id) for p in stored] == [
        (old.request_id, old.entity_id),
        (longest.request_id, longest.entity_id),
    ]
    with engine.connect() as connection:
        labels = {r.request_id: r.label for r in connection.execute(select(Label))}
    assert labels == {old.request_id: 1, longest.request_id: 0}


def test_downgrade_to_0001_restores_the_first_lengths(migrated: Engine):
    downgrade(migrated, "0001")
    predictions = _lengths(migrated, "predictions")
    assert (predictions["request_id"], predictions["entity_id"]) == (64, 128)
    assert _lengths(migrated, "labels")["request_id"] == 64
    upgrade(migrated)
    assert _diff(migrated) == []


def test_upgrade_from_0002_adds_the_routing_history_and_keeps_the_rows(engine: Engine, make_row):
    upgrade(engine, "0002")
    assert "routing_changes" not in inspect(engine).get_table_names()
    row = make_row(1)
    _insert_before_0004(engine, [row])
    upgrade(engine)
    assert _diff(engine) == []
    indexes = {
        ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("routing_changes")
    }
    assert indexes == {"ix_routing_changes_model_name_id": ["model_name", "id"]}
    assert count_predictions(engine) == 1
    clock = SimulatedClock(row.created_at)
    record_routing(
        engine, "churn", mode="shadow", share=0.0, salt="s", changed_by="ops", clock=clock
    )
    assert current_routing(engine, "churn").mode == "shadow"


def test_downgrade_to_0002_drops_only_the_routing_history(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(1)])
    clock = SimulatedClock(make_row(1).created_at)
    record_routing(
        migrated, "churn", mode="split", share=0.5, salt="s", changed_by="ops", clock=clock
    )
    downgrade(migrated, "0002")
    assert set(inspect(migrated).get_table_names()) == {
        "predictions",
        "labels",
        "alembic_version",
    }
    assert count_predictions(migrated) == 1
    upgrade(migrated)
    assert _diff(migrated) == []
    assert current_routing(migrated, "churn") is None


def _columns(engine: Engine, table: str) -> list[str]:
    return [c["name"] for c in inspect(engine).get_columns(table)]


def _index_names(engine: Engine, table: str) -> set[str]:
    return {ix["name"] for ix in inspect(engine).get_indexes(table)}


def test_upgrade_from_0003_links_shadow_rows_to_their_parents_and_keeps_the_rows(
    engine: Engine, make_row
):
    upgrade(engine, "0003")
    assert "parent_request_id" not in _columns(engine, "predictions")
    answered = make_row(1)
    shadow = make_row(1, request_id="req-00001:shadow", variant="shadow", version=2)
    # A client id may contain ":shadow" anywhere but at its end.
    lookalike = make_row(2, request_id="req-00002:shadow:x", variant="champion")
    _insert_before_0004(engine, [answered, shadow, lookalike])
    record_labels(engine, {answered.request_id: 1}, received_at=answered.created_at)
    upgrade(engine)
    assert _diff(engine) == []
    assert "ix_predictions_parent_request_id" in _index_names(engine, "predictions")
    window = (answered.created_at, lookalike.created_at + timedelta(1))
    stored = predictions_between(engine, *window)
    assert [(p.request_id, p.variant, p.parent_request_id) for p in stored] == [
        ("req-00001", "champion", None),
        ("req-00001:shadow", "shadow", "req-00001"),
        ("req-00002:shadow:x", "champion", None),
    ]
    labelled = labelled_predictions(engine, *window)
    assert [(item.prediction.request_id, item.true_label) for item in labelled] == [
        ("req-00001", 1),
        ("req-00001:shadow", 1),
    ]


def test_downgrade_to_0003_drops_only_the_parent_column(migrated: Engine, make_row):
    columns = [c for c in _columns(migrated, "predictions") if c != "parent_request_id"]
    indexes = _index_names(migrated, "predictions")
    assert "ix_predictions_parent_request_id" in indexes
    shadow = make_row(
        1, request_id="req-00001:shadow", variant="shadow", parent_request_id="req-00001"
    )
    insert_rows(migrated, [make_row(1), shadow])
    record_labels(migrated, {"req-00001": 0}, received_at=shadow.created_at)
    clock = SimulatedClock(shadow.created_at)
    record_routing(
        migrated, "churn", mode="shadow", share=0.0, salt="s", changed_by="ops", clock=clock
    )
    downgrade(migrated, "0003")
    assert _columns(migrated, "predictions") == columns
    assert _index_names(migrated, "predictions") == indexes - {
        "ix_predictions_parent_request_id",
        "ix_predictions_created_at_model_version",
    } | {"ix_predictions_created_at", "ix_predictions_model_version_created_at"}
    assert set(inspect(migrated).get_table_names()) == {
        "predictions",
        "labels",
        "routing_changes",
        "alembic_version",
    }
    with migrated.connect() as connection:
        ids = list(connection.scalars(select(Prediction.request_id).order_by(Prediction.id)))
        labels = {r.request_id: r.label for r in connection.execute(select(Label))}
    assert ids == ["req-00001", "req-00001:shadow"]
    assert labels == {"req-00001": 0}
    assert current_routing(migrated, "churn").mode == "shadow"
    upgrade(migrated)
    assert _diff(migrated) == []
    # Upgrading again links the shadow row to its parent anew, from its request id.
    stored = predictions_between(migrated, shadow.created_at, shadow.created_at + timedelta(1))
    assert [p.parent_request_id for p in stored] == [None, "req-00001"]


def test_the_parent_index_holds_shadow_rows_only(migrated: Engine):
    name = "ix_predictions_parent_request_id"
    if migrated.dialect.name == "sqlite":
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name")
    else:
        query = text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
            " AND schemaname = current_schema()"
        )
    with migrated.connect() as connection:
        definition = connection.execute(query, {"name": name}).scalar_one()
    assert "parent_request_id IS NOT NULL" in definition


_RETRAINING_TABLES = {"retrain_runs", "ab_tests", "ab_test_snapshots"}
# Tables that later migrations add on top of 0007.
_AFTER_0007 = {"leases"}


def test_upgrade_from_0006_adds_the_retraining_tables_and_keeps_the_rows(engine: Engine, make_row):
    upgrade(engine, "0006")
    tables = set(inspect(engine).get_table_names())
    assert not tables & _RETRAINING_TABLES
    insert_rows(engine, [make_row(1)])
    upgrade(engine)
    assert _diff(engine) == []
    assert set(inspect(engine).get_table_names()) == tables | _RETRAINING_TABLES | _AFTER_0007
    assert _index_names(engine, "retrain_runs") == {
        "ix_retrain_runs_model_name_running",
        "ix_retrain_runs_model_name_requested_at",
    }
    assert _index_names(engine, "ab_tests") == {
        "ix_ab_tests_model_name_running",
        "ix_ab_tests_model_name_started_at",
    }
    assert _index_names(engine, "ab_test_snapshots") == {"ix_ab_test_snapshots_test_id_id"}
    assert count_predictions(engine) == 1
    at = make_row(1).created_at
    run_id, started = begin_retrain_run(
        engine, "churn", trigger="manual", reason="r", evidence={}, at=at
    )
    assert started
    assert get_retrain_run(engine, run_id)["status"] == "running"


def test_downgrade_to_0006_drops_only_the_retraining_tables(migrated: Engine, make_row):
    tables = set(inspect(migrated).get_table_names())
    insert_rows(migrated, [make_row(1)])
    at = make_row(1).created_at
    begin_retrain_run(migrated, "churn", trigger="manual", reason="r", evidence={}, at=at)
    values = {
        "model_name": "churn", "champion_version": 1, "challenger_version": 2, "mode": "split",
        "share": 0.1, "salt": "s", "metric": "accuracy", "started_at": at,
    }  # fmt: skip
    test_id = begin_ab_test(migrated, values)
    add_ab_snapshot(
        migrated, test_id, at=at, action="continue", n_champion=1, n_challenger=1, statistics={}
    )
    downgrade(migrated, "0006")
    assert set(inspect(migrated).get_table_names()) == tables - _RETRAINING_TABLES - _AFTER_0007
    assert count_predictions(migrated) == 1
    upgrade(migrated)
    assert _diff(migrated) == []
    assert list_retrain_runs(migrated) == []
    assert list_ab_tests(migrated) == []


@pytest.mark.parametrize(
    "name", ["ix_retrain_runs_model_name_running", "ix_ab_tests_model_name_running"]
)
def test_the_running_indexes_are_unique_and_hold_running_rows_only(migrated: Engine, name):
    if migrated.dialect.name == "sqlite":
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name")
    else:
        query = text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
            " AND schemaname = current_schema()"
        )
    with migrated.connect() as connection:
        definition = connection.execute(query, {"name": name}).scalar_one()
    assert "UNIQUE" in definition.upper()
    assert "'running'" in definition
    assert "status" in definition


def test_upgrade_from_0007_keeps_integer_labels_and_takes_regression_rows(engine: Engine, make_row):
    upgrade(engine, "0007")
    insert_rows(engine, [make_row(1), make_row(2)])
    at = make_row(1).created_at + timedelta(hours=1)
    record_labels(engine, {"req-00001": 1, "req-00002": 0}, received_at=at)
    upgrade(engine)
    assert _diff(engine) == []
    # A regression model's row has no class, and its label is a number with a fraction.
    insert_rows(engine, [make_row(3, score=312_000.5, label=None)])
    assert record_labels(engine, {"req-00003": 298_750.25}, received_at=at) == {
        "req-00003": "recorded"
    }
    found = labelled_predictions(engine, make_row(0).created_at, at)
    assert [(p.prediction.label, p.true_label) for p in found] == [
        (1, 1.0),
        (0, 0.0),
        (None, 298_750.25),
    ]
    assert record_labels(engine, {"req-00003": 298_750.25}, received_at=at) == {
        "req-00003": "unchanged"
    }


def test_downgrade_to_0007_refuses_to_truncate_regression_labels(migrated: Engine, make_row):
    at = make_row(1).created_at + timedelta(hours=1)
    insert_rows(migrated, [make_row(1), make_row(2, score=10.5, label=None)])
    record_labels(migrated, {"req-00001": 1, "req-00002": 10.25}, received_at=at)
    downgrade(migrated, "0008")
    with pytest.raises(RuntimeError, match="1 labels are not whole numbers and 1 predictions"):
        downgrade(migrated, "0007")
    with migrated.begin() as connection:
        connection.execute(text("DELETE FROM labels WHERE request_id = 'req-00002'"))
        connection.execute(text("DELETE FROM predictions WHERE request_id = 'req-00002'"))
    downgrade(migrated, "0007")
    with migrated.connect() as connection:
        assert connection.execute(select(Label.request_id, text("label"))).all() == [
            ("req-00001", 1)
        ]
    upgrade(migrated)
    assert _diff(migrated) == []


def test_upgrade_from_0008_adds_the_multivariate_columns_and_downgrade_drops_them(
    engine: Engine,
):
    upgrade(engine, "0008")
    assert "multivariate" not in {c["name"] for c in inspect(engine).get_columns("monitor_results")}
    upgrade(engine)
    assert _diff(engine) == []
    columns = {c["name"] for c in inspect(engine).get_columns("monitor_results")}
    assert {"multivariate", "explanation"} <= columns
    downgrade(engine, "0008")
    assert "explanation" not in {c["name"] for c in inspect(engine).get_columns("monitor_results")}


def test_upgrade_from_0009_adds_the_leases_and_downgrade_drops_only_them(engine: Engine, make_row):
    upgrade(engine, "0009")
    tables = set(inspect(engine).get_table_names())
    assert "leases" not in tables
    insert_rows(engine, [make_row(1)])
    upgrade(engine)
    assert _diff(engine) == []
    now = make_row(1).created_at
    assert acquire_lease(engine, "monitor:churn", "a", ttl=timedelta(minutes=1), now=now)
    downgrade(engine, "0009")
    assert set(inspect(engine).get_table_names()) == tables
    assert count_predictions(engine) == 1


_MIGRATE = """
import sys
from driftwarden.store import create_store_engine, upgrade
engine = create_store_engine(sys.argv[1], connect_timeout=30)
upgrade(engine)
"""


def test_migrations_started_together_by_several_processes_all_succeed(
    engine: Engine, store_url: URL
):
    # Replicas of a deployment start at once, each migrating the store first.
    url = store_url.render_as_string(hide_password=False)
    processes = [
        subprocess.Popen([sys.executable, "-c", _MIGRATE, url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(stderr[-2000:])
    assert failures == []
    assert _diff(engine) == []
