from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import DateTime, Engine, event

from driftwarden.store import (
    UtcDateTime,
    count_predictions,
    insert_rows,
    labelled_predictions,
    predictions_between,
    record_labels,
)

START = datetime(2024, 1, 1, tzinfo=UTC)
LATER = START + timedelta(days=1)


def test_count_predictions_counts_rows(migrated: Engine, make_row):
    assert count_predictions(migrated) == 0
    insert_rows(migrated, [make_row(i) for i in range(3)])
    assert count_predictions(migrated) == 3


def test_predictions_between_is_half_open_and_ordered(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(i) for i in (30, 10, 20, 0, 60)])
    rows = predictions_between(migrated, START + timedelta(minutes=10), START + timedelta(hours=1))
    assert [row.request_id for row in rows] == ["req-00010", "req-00020", "req-00030"]
    first = rows[0]
    assert first.created_at == START + timedelta(minutes=10)
    assert first.created_at.tzinfo is not None
    assert first.features == {"tenure": 10, "contract": "month"}
    assert (first.entity_id, first.variant, first.label) == ("cust-10", "champion", 0)


def test_predictions_between_filters_by_model_version(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(i, version=1 + i % 2) for i in range(6)])
    rows = predictions_between(migrated, START, LATER, model_version=2)
    assert [row.request_id for row in rows] == ["req-00001", "req-00003", "req-00005"]
    assert predictions_between(migrated, START, LATER, model_version=9) == []


def _plans_of(engine: Engine, read: Callable[[], object]) -> list[str]:
    """The query plans of the SELECTs that ``read`` runs, as the database explains them."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        read()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    sqlite = engine.dialect.name == "sqlite"
    plans = []
    with engine.connect() as connection:
        if not sqlite:  # a table this small would be scanned: ask what an index would do
            connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            plans.append("\n".join(str(row[-1] if sqlite else row[0]) for row in rows))
    return plans


@pytest.mark.parametrize("model_version", [None, 2])
def test_every_window_is_read_through_the_window_index(
    migrated: Engine, make_row, model_version: int | None
):
    insert_rows(migrated, [make_row(i, version=1 + i % 2) for i in range(6)])
    plans = _plans_of(
        migrated,
        lambda: predictions_between(migrated, START, LATER, model_version=model_version),
    )
    assert plans
    for plan in plans:
        assert "ix_predictions_created_at_model_version" in plan, plan


def test_predictions_between_converts_other_zones_to_utc(migrated: Engine, make_row):
    plus_two = timezone(timedelta(hours=2))
    insert_rows(migrated, [make_row(1, created_at=datetime(2024, 1, 1, 2, 30, tzinfo=plus_two))])
    (row,) = predictions_between(migrated, START, LATER)
    assert row.created_at == datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    assert row.created_at.utcoffset() == timedelta(0)
    window = predictions_between(migrated, START.astimezone(plus_two), START + timedelta(hours=1))
    assert len(window) == 1


def test_predictions_between_rejects_naive_bounds(migrated: Engine):
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        predictions_between(migrated, datetime(2024, 1, 1), LATER)


def test_predictions_between_rejects_a_reversed_window(migrated: Engine):
    with pytest.raises(ValueError, match="before it starts"):
        predictions_between(migrated, LATER, START)


def test_record_labels_reports_each_item(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(1), make_row(2)])
    outcomes = record_labels(migrated, {"req-00001": 1, "nope": 0}, received_at=LATER)
    assert outcomes == {"req-00001": "recorded", "nope": "unknown"}


def test_record_labels_is_idempotent(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(1), make_row(2)])
    items = [("req-00001", 1), ("req-00002", 0)]
    assert record_labels(migrated, items, received_at=LATER) == {
        "req-00001": "recorded",
        "req-00002": "recorded",
    }
    assert record_labels(migrated, items, received_at=LATER) == {
        "req-00001": "unchanged",
        "req-00002": "unchanged",
    }
    changed = record_labels(migrated, [("req-00002", 1)], received_at=LATER)
    assert changed == {"req-00002": "recorded"}
    labelled = labelled_predictions(migrated, START, LATER)
    assert [(item.prediction.request_id, item.true_label) for item in labelled] == [
        ("req-00001", 1),
        ("req-00002", 1),
    ]


def test_record_labels_keeps_labels_of_predictions_still_spooled(migrated: Engine, make_row):
    assert record_labels(migrated, {"req-00007": 1}, received_at=LATER) == {"req-00007": "unknown"}
    insert_rows(migrated, [make_row(7)])
    (item,) = labelled_predictions(migrated, START, LATER)
    assert item.true_label == 1
    assert item.received_at == LATER
    assert record_labels(migrated, {"req-00007": 1}, received_at=LATER) == {
        "req-00007": "unchanged"
    }


def test_record_labels_accepts_nothing(migrated: Engine):
    assert record_labels(migrated, [], received_at=LATER) == {}


def test_labelled_predictions_joins_within_the_window(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(i) for i in range(4)])
    record_labels(migrated, {"req-00000": 0, "req-00002": 1, "req-00003": 1}, received_at=LATER)
    window = labelled_predictions(migrated, START, START + timedelta(minutes=3))
    assert [item.prediction.request_id for item in window] == ["req-00000", "req-00002"]
    assert [item.prediction.label for item in window] == [0, 0]
    assert [item.true_label for item in window] == [0, 1]


def test_utc_datetime_passes_none_and_refuses_naive_times(migrated: Engine):
    column_type = UtcDateTime()
    dialect = migrated.dialect
    assert column_type.process_bind_param(None, dialect) is None
    assert column_type.process_result_value(None, dialect) is None
    with pytest.raises(ValueError, match="expected a timezone-aware datetime"):
        column_type.process_bind_param(datetime(2024, 1, 1), dialect)


def test_utc_datetime_binds_on_every_dialect_what_the_dialect_stores(migrated: Engine):
    dialect = migrated.dialect
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    plain = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    times = [
        datetime(2026, 12, 2, 14, 0, tzinfo=UTC),  # no microseconds
        datetime(2026, 1, 1, 0, 0, 0, 7, tzinfo=timezone(timedelta(hours=-5))),
        datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of one digit
        datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=1))),
    ]
    for value in times:
        utc = value.astimezone(UTC)
        expected = utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc
        bound = ours(value) if ours is not None else value
        assert bound == (plain(expected) if plain is not None else expected)
    if ours is not None:
        assert ours(None) is None
        with pytest.raises(ValueError, match="expected a timezone-aware datetime"):
            ours(datetime(2024, 1, 1))


def test_the_features_are_stored_as_json_text_that_reads_back_equal(migrated: Engine, make_row):
    features = {"city": "Zürich", "note": 'line\u2028break "quoted"', "big": 1e16, "tiny": 1e-7}
    insert_rows(migrated, [make_row(1, features=features)])
    with migrated.connect() as connection:
        text_value = connection.exec_driver_sql(
            "SELECT CAST(features AS TEXT) FROM predictions"
        ).scalar_one()
    assert json.loads(text_value) == features
    (stored,) = predictions_between(migrated, START, LATER)
    assert stored.features == features


def _shadow_of(make_row, index: int, **changes):
    """The challenger's shadow row of ``make_row(index)``, as serving logs it."""
    parent = make_row(index).request_id
    values = {
        "request_id": f"{parent}:shadow",
        "variant": "shadow",
        "version": 2,
        "parent_request_id": parent,
    }
    return make_row(index, **{**values, **changes})


def test_labelled_predictions_gives_a_shadow_row_the_label_of_its_parent(
    migrated: Engine, make_row
):
    insert_rows(migrated, [make_row(1), make_row(2), _shadow_of(make_row, 1, score=0.9)])
    assert record_labels(migrated, {"req-00001": 1}, received_at=LATER) == {"req-00001": "recorded"}
    labelled = labelled_predictions(migrated, START, LATER)
    assert [
        (
            item.prediction.request_id,
            item.prediction.variant,
            item.prediction.model_version,
            item.prediction.parent_request_id,
            item.prediction.score,
            item.true_label,
            item.received_at,
        )
        for item in labelled
    ] == [
        ("req-00001", "champion", 1, None, 0.001, 1, LATER),
        ("req-00001:shadow", "shadow", 2, "req-00001", 0.9, 1, LATER),
    ]


def test_labelled_predictions_follows_a_changed_label_to_the_shadow_row(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(1), _shadow_of(make_row, 1)])
    record_labels(migrated, {"req-00001": 1}, received_at=LATER)
    record_labels(migrated, {"req-00001": 0}, received_at=LATER)
    labelled = labelled_predictions(migrated, START, LATER)
    assert [(item.prediction.request_id, item.true_label) for item in labelled] == [
        ("req-00001", 0),
        ("req-00001:shadow", 0),
    ]


def test_record_labels_knows_answered_ids_and_never_shadow_ids(migrated: Engine, make_row):
    # The second shadow row has no parent, as shadow rows logged before the column existed.
    legacy = _shadow_of(make_row, 2, parent_request_id=None)
    insert_rows(migrated, [make_row(1), _shadow_of(make_row, 1), make_row(2), legacy])
    outcomes = record_labels(
        migrated,
        {"req-00001": 1, "req-00001:shadow": 0, "req-00002:shadow": 0},
        received_at=LATER,
    )
    assert outcomes == {
        "req-00001": "recorded",
        "req-00001:shadow": "unknown",
        "req-00002:shadow": "unknown",
    }
    # The stray label under the shadow row's own id does not override its parent's label.
    labelled = labelled_predictions(migrated, START, LATER)
    by_id = {item.prediction.request_id: item.true_label for item in labelled}
    assert by_id["req-00001:shadow"] == 1
    assert by_id["req-00001"] == 1


def test_record_labels_does_not_know_an_id_only_its_shadow_row_has(migrated: Engine, make_row):
    # The answered row still waits in a spool; only its shadow row is stored.
    insert_rows(migrated, [_shadow_of(make_row, 3)])
    assert record_labels(migrated, {"req-00003": 1}, received_at=LATER) == {"req-00003": "unknown"}
    (item,) = labelled_predictions(migrated, START, LATER)
    assert (item.prediction.request_id, item.true_label) == ("req-00003:shadow", 1)
