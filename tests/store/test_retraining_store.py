"""What retraining stores and reads, on SQLite and PostgreSQL: retraining runs and their
one-at-a-time rule, A/B tests and their snapshots, labelled rows and paired shadow scores."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from driftwarden.core import ConflictError, NotFoundError, StoreUnavailableError
from driftwarden.store import (
    ABSnapshot,
    ABTest,
    RetrainRun,
    add_ab_snapshot,
    begin_ab_test,
    begin_retrain_run,
    create_store_engine,
    fail_stale_retrain_runs,
    finish_retrain_run,
    get_ab_test,
    get_retrain_run,
    insert_rows,
    labelled_rows,
    last_finished_retrain_run,
    list_ab_tests,
    list_retrain_runs,
    paired_shadow_scores,
    record_labels,
    record_skipped_run,
    record_step,
    running_ab_test,
    running_retrain_run,
    update_ab_test,
    update_retrain_run,
)

START = datetime(2024, 1, 1, tzinfo=UTC)  # the time of make_row's row 0
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _begin(engine: Engine, model: str = "churn", at: datetime = START, **changes):
    values = {"trigger": "drift", "reason": "critical drift", "evidence": {"runs": 3}, "at": at}
    values.update(changes)
    return begin_retrain_run(engine, model, **values)


def _skip(engine: Engine, model: str = "churn", at: datetime = START, why: str = "cooldown"):
    return record_skipped_run(
        engine, model, trigger="schedule", reason="every day", evidence={}, at=at, why=why
    )


def _ab(model: str = "churn", started_at: datetime = START, **changes):
    values = {
        "model_name": model, "champion_version": 1, "challenger_version": 2, "mode": "split",
        "share": 0.1, "salt": "ab-1", "metric": "accuracy", "status": "promoted",
        "started_at": started_at, "ended_at": None, "retrain_run_id": 7, "decision": None,
        "reason": None,
    }  # fmt: skip
    values.update(changes)
    return values


# Retraining runs


def test_begin_retrain_run_starts_a_running_run_with_every_column(migrated):
    run_id, started = _begin(migrated, trigger="manual", reason="asked", evidence={"by": "ops"})
    assert started
    run = get_retrain_run(migrated, run_id)
    assert run == {
        "id": run_id, "model_name": "churn", "trigger": "manual", "reason": "asked",
        "status": "running", "requested_at": START, "started_at": START, "finished_at": None,
        "heartbeat_at": START, "steps": [], "evidence": {"by": "ops"}, "error": None,
        "champion_version": None, "candidate_version": None, "ab_test_id": None,
        "flow_run_id": None,
    }  # fmt: skip
    assert run["requested_at"].tzinfo is not None
    assert running_retrain_run(migrated, "churn") == run
    assert running_retrain_run(migrated, "fraud") is None


def test_begin_retrain_run_while_one_runs_records_a_skipped_row_naming_it(migrated):
    first, _ = _begin(migrated)
    second, started = _begin(migrated, at=START + MINUTE, trigger="performance", evidence={"a": 1})
    assert not started
    skipped = get_retrain_run(migrated, second)
    assert (skipped["status"], skipped["trigger"]) == ("skipped", "performance")
    assert (skipped["requested_at"], skipped["finished_at"]) == (START + MINUTE, START + MINUTE)
    assert (skipped["started_at"], skipped["heartbeat_at"]) == (None, None)
    assert skipped["evidence"] == {"a": 1, "running_run": first}
    assert skipped["error"] == (
        f"retraining run {first} is running since 2024-01-01T00:00:00+00:00; "
        "this trigger was recorded, not queued"
    )
    assert running_retrain_run(migrated, "churn")["id"] == first
    # Another model has its own slot; once the run ends, the next one starts.
    assert _begin(migrated, "fraud")[1]
    finish_retrain_run(migrated, first, status="failed", at=START + HOUR, error="boom")
    third, started = _begin(migrated, at=START + 2 * HOUR)
    assert started
    assert running_retrain_run(migrated, "churn")["id"] == third


def test_the_store_itself_refuses_a_second_running_run(migrated):
    _begin(migrated)
    row = {
        "model_name": "churn", "trigger": "manual", "reason": "r", "status": "running",
        "requested_at": START, "steps": [], "evidence": {},
    }  # fmt: skip
    with pytest.raises(IntegrityError), migrated.begin() as connection:
        connection.execute(insert(RetrainRun).values(**row))
    with migrated.begin() as connection:  # any other status is welcome
        connection.execute(insert(RetrainRun).values(**{**row, "status": "failed"}))


def test_begin_retrain_run_races_start_exactly_one_run(migrated):
    threads = 6
    for round_ in range(3):
        barrier = threading.Barrier(threads)
        at = START + round_ * HOUR

        def begin(_: int, at: datetime = at, barrier: threading.Barrier = barrier):
            barrier.wait()
            return _begin(migrated, at=at)

        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(begin, range(threads)))
        [winner] = [run_id for run_id, started in outcomes if started]
        losers = [run_id for run_id, started in outcomes if not started]
        assert len(losers) == threads - 1
        named = {get_retrain_run(migrated, i)["evidence"]["running_run"] for i in losers}
        assert named == {winner}
        runs = list_retrain_runs(migrated)
        statuses = Counter(r["status"] for r in runs if r["requested_at"] == at)
        assert statuses == {"running": 1, "skipped": threads - 1}
        finish_retrain_run(migrated, winner, status="succeeded", at=at + MINUTE)


def test_begin_retrain_run_waits_for_an_uncommitted_rival_and_then_skips(migrated):
    # The rival's row is not visible until it commits: a check before the insert would find
    # nothing; only the unique index, waited on, tells that a run is under way.
    row = {
        "model_name": "churn", "trigger": "manual", "reason": "r", "status": "running",
        "requested_at": START, "started_at": START, "steps": [], "evidence": {},
    }  # fmt: skip
    with migrated.connect() as rival, ThreadPoolExecutor(1) as pool:
        transaction = rival.begin()
        statement = insert(RetrainRun).values(**row).returning(RetrainRun.id)
        rival_id = rival.execute(statement).scalar_one()
        attempt = pool.submit(_begin, migrated, at=START + MINUTE)
        time.sleep(0.3)
        assert not attempt.done()
        transaction.commit()
        run_id, started = attempt.result(timeout=10)
    assert not started
    assert get_retrain_run(migrated, run_id)["evidence"]["running_run"] == rival_id


def test_record_skipped_run_keeps_why_and_leaves_the_running_run_alone(migrated):
    running, _ = _begin(migrated)
    skipped = _skip(migrated, at=START + MINUTE, why="cooldown until 06:00")
    run = get_retrain_run(migrated, skipped)
    assert (run["status"], run["error"], run["trigger"]) == (
        "skipped",
        "cooldown until 06:00",
        "schedule",
    )
    assert (run["finished_at"], run["started_at"], run["steps"]) == (START + MINUTE, None, [])
    assert running_retrain_run(migrated, "churn")["id"] == running


def test_unknown_triggers_are_refused(migrated):
    with pytest.raises(ValueError, match="trigger must be one of manual, drift"):
        _begin(migrated, trigger="whim")
    with pytest.raises(ValueError, match="got 'whim'"):
        record_skipped_run(
            migrated, "churn", trigger="whim", reason="", evidence={}, at=START, why="x"
        )
    assert list_retrain_runs(migrated) == []


def test_record_step_appends_in_order_and_moves_the_heartbeat(migrated):
    run_id, _ = _begin(migrated)
    record_step(migrated, run_id, {"name": "fetch", "rows": 900}, at=START + MINUTE)
    record_step(migrated, run_id, {"name": "train", "seconds": 2.5}, at=START + 2 * MINUTE)
    record_step(migrated, run_id, {"name": "validate", "passed": True}, at=START + 3 * MINUTE)
    run = get_retrain_run(migrated, run_id)
    assert run["steps"] == [
        {"name": "fetch", "rows": 900},
        {"name": "train", "seconds": 2.5},
        {"name": "validate", "passed": True},
    ]
    assert run["heartbeat_at"] == START + 3 * MINUTE
    with pytest.raises(NotFoundError, match="no retraining run has id 999"):
        record_step(migrated, 999, {"name": "x"}, at=START)


def test_update_retrain_run_changes_the_columns_given(migrated):
    run_id, _ = _begin(migrated)
    update_retrain_run(migrated, run_id, {"champion_version": 3, "flow_run_id": "f-1"})
    update_retrain_run(migrated, run_id, {})
    run = get_retrain_run(migrated, run_id)
    assert (run["champion_version"], run["flow_run_id"], run["status"]) == (3, "f-1", "running")
    with pytest.raises(NotFoundError, match=r"GET /v1/retraining/runs"):
        update_retrain_run(migrated, 999, {"champion_version": 1})


@pytest.mark.parametrize("status", ["succeeded", "rejected", "failed"])
def test_finish_retrain_run_ends_it_with_its_status(migrated, status):
    run_id, _ = _begin(migrated)
    finish_retrain_run(
        migrated,
        run_id,
        status=status,
        at=START + HOUR,
        error=None if status == "succeeded" else "the candidate lost",
        values={"candidate_version": 4, "ab_test_id": 2},
    )
    run = get_retrain_run(migrated, run_id)
    assert (run["status"], run["finished_at"]) == (status, START + HOUR)
    assert (run["candidate_version"], run["ab_test_id"]) == (4, 2)
    assert run["error"] == (None if status == "succeeded" else "the candidate lost")
    assert running_retrain_run(migrated, "churn") is None
    assert last_finished_retrain_run(migrated, "churn")["id"] == run_id


def test_finish_retrain_run_refuses_other_statuses_and_unknown_runs(migrated):
    run_id, _ = _begin(migrated)
    update_retrain_run(migrated, run_id, {"error": "kept"})
    for status in ("running", "skipped", "done"):
        with pytest.raises(ValueError, match="finishes as one of succeeded, rejected, failed"):
            finish_retrain_run(migrated, run_id, status=status, at=START)
    assert get_retrain_run(migrated, run_id)["status"] == "running"
    finish_retrain_run(migrated, run_id, status="rejected", at=START + MINUTE)
    assert get_retrain_run(migrated, run_id)["error"] == "kept"  # no error given: kept
    with pytest.raises(NotFoundError, match="no retraining run has id 999"):
        finish_retrain_run(migrated, 999, status="failed", at=START)


def test_get_retrain_run_of_an_unknown_id_says_where_to_look(migrated):
    with pytest.raises(NotFoundError, match=r"no retraining run has id 5; .*GET /v1/retraining/"):
        get_retrain_run(migrated, 5)


def test_last_finished_retrain_run_is_the_newest_end_not_the_newest_start(migrated):
    assert last_finished_retrain_run(migrated, "churn") is None
    early, _ = _begin(migrated, at=START)
    finish_retrain_run(migrated, early, status="succeeded", at=START + 5 * HOUR)
    late, _ = _begin(migrated, at=START + HOUR)
    finish_retrain_run(migrated, late, status="failed", at=START + 2 * HOUR)
    _skip(migrated, at=START + 9 * HOUR)
    _begin(migrated, at=START + 10 * HOUR)  # running: not finished
    assert last_finished_retrain_run(migrated, "churn")["id"] == early
    assert last_finished_retrain_run(migrated, "fraud") is None


def test_list_retrain_runs_filters_orders_newest_first_and_limits(migrated):
    first, _ = _begin(migrated, at=START + 2 * HOUR)
    earlier = _skip(migrated, at=START + HOUR)
    same_time = _skip(migrated, at=START + 2 * HOUR)
    other, _ = _begin(migrated, "fraud", at=START)

    def ids(**filters):
        return [r["id"] for r in list_retrain_runs(migrated, **filters)]

    assert ids() == [same_time, first, earlier, other]
    assert ids(model_name="churn") == [same_time, first, earlier]
    assert ids(status="running") == [first, other]
    assert ids(model_name="churn", status="skipped") == [same_time, earlier]
    assert ids(limit=2) == [same_time, first]
    assert ids(model_name="none") == []
    assert set(list_retrain_runs(migrated)[0]) == set(get_retrain_run(migrated, first))
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        list_retrain_runs(migrated, limit=0)


def test_fail_stale_retrain_runs_fails_only_runs_without_a_recent_heartbeat(migrated):
    churn, _ = _begin(migrated)
    record_step(migrated, churn, {"name": "fetch"}, at=START + 10 * MINUTE)
    fraud, _ = _begin(migrated, "fraud")
    update_retrain_run(migrated, fraud, {"heartbeat_at": None})  # falls back to started_at
    spam, _ = _begin(migrated, "spam")
    assert (
        fail_stale_retrain_runs(
            migrated, "churn", heartbeat_before=START + 10 * MINUTE, at=START + HOUR
        )
        == []
    )
    assert fail_stale_retrain_runs(
        migrated, "churn", heartbeat_before=START + 11 * MINUTE, at=START + HOUR
    ) == [churn]
    run = get_retrain_run(migrated, churn)
    assert (run["status"], run["finished_at"]) == ("failed", START + HOUR)
    assert run["error"] == (
        "the process running it stopped: no heartbeat since 2024-01-01T00:10:00+00:00"
    )
    assert run["steps"] == [{"name": "fetch"}]
    assert fail_stale_retrain_runs(
        migrated, "fraud", heartbeat_before=START + MINUTE, at=START + HOUR
    ) == [fraud]
    assert get_retrain_run(migrated, fraud)["error"].endswith("since 2024-01-01T00:00:00+00:00")
    assert get_retrain_run(migrated, spam)["status"] == "running"
    # Failed runs are no longer stale; the slot is free for the next run.
    assert (
        fail_stale_retrain_runs(
            migrated, "churn", heartbeat_before=START + 2 * HOUR, at=START + 2 * HOUR
        )
        == []
    )
    assert _begin(migrated, at=START + 2 * HOUR)[1]


def test_retraining_writes_in_an_outage_are_store_unavailable_errors(outage, migrated):
    run_id, _ = _begin(migrated)
    outage.down()
    try:
        with pytest.raises(StoreUnavailableError, match="could not start a retraining of 'churn'"):
            _begin(outage.engine, at=START + MINUTE)
        with pytest.raises(StoreUnavailableError, match=f"could not record a step of .* {run_id}"):
            record_step(outage.engine, run_id, {"name": "x"}, at=START + MINUTE)
        with pytest.raises(StoreUnavailableError, match=f"could not finish .* run {run_id}"):
            finish_retrain_run(outage.engine, run_id, status="failed", at=START + MINUTE)
        with pytest.raises(StoreUnavailableError, match="could not start an A/B test of 'churn'"):
            begin_ab_test(outage.engine, _ab())
    finally:
        outage.up()
    assert [r["id"] for r in list_retrain_runs(outage.engine)] == [run_id]
    assert get_retrain_run(migrated, run_id)["steps"] == []


def test_reads_of_an_unreachable_store_are_store_unavailable_errors(backend, unreachable_url):
    if backend == "sqlite":
        engine = create_engine(unreachable_url)
    else:
        engine = create_store_engine(unreachable_url, connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailableError, match="could not read retraining run 1"):
            get_retrain_run(engine, 1)
        with pytest.raises(StoreUnavailableError, match="could not read the retraining runs"):
            list_retrain_runs(engine)
        with pytest.raises(StoreUnavailableError, match="could not read the A/B tests"):
            list_ab_tests(engine)
        with pytest.raises(StoreUnavailableError, match="could not read the labelled rows"):
            labelled_rows(engine, START, START + HOUR)
        with pytest.raises(StoreUnavailableError, match="could not read the paired shadow"):
            paired_shadow_scores(engine, START, START + HOUR)
    finally:
        engine.dispose()


# A/B tests


def test_begin_ab_test_stores_a_running_test(migrated):
    test_id = begin_ab_test(migrated, _ab(decision={"ignored": False}))
    test = get_ab_test(migrated, test_id)
    assert test == {
        "id": test_id, "model_name": "churn", "champion_version": 1, "challenger_version": 2,
        "mode": "split", "share": 0.1, "salt": "ab-1", "metric": "accuracy",
        "status": "running", "started_at": START, "ended_at": None, "retrain_run_id": 7,
        "decision": {"ignored": False}, "reason": None, "snapshots": [],
    }  # fmt: skip
    assert test["started_at"].tzinfo is not None
    running = running_ab_test(migrated, "churn")
    assert running == {k: v for k, v in test.items() if k != "snapshots"}
    assert running_ab_test(migrated, "fraud") is None


def test_begin_ab_test_while_one_runs_is_a_conflict(migrated):
    first = begin_ab_test(migrated, _ab())
    with pytest.raises(
        ConflictError, match=rf"an A/B test of 'churn' is running already \(test {first},"
    ):
        begin_ab_test(migrated, _ab(started_at=START + HOUR, challenger_version=3))
    assert [t["id"] for t in list_ab_tests(migrated)] == [first]
    assert begin_ab_test(migrated, _ab("fraud"))  # another model: its own test
    update_ab_test(migrated, first, {"status": "rejected", "ended_at": START + HOUR})
    second = begin_ab_test(migrated, _ab(started_at=START + 2 * HOUR, challenger_version=3))
    assert running_ab_test(migrated, "churn")["id"] == second


def test_begin_ab_test_races_start_exactly_one_test(migrated):
    threads = 5
    barrier = threading.Barrier(threads)

    def begin(version: int):
        barrier.wait()
        try:
            return begin_ab_test(migrated, _ab(challenger_version=version))
        except ConflictError:
            return None

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(begin, range(2, 2 + threads)))
    [winner] = [o for o in outcomes if o is not None]
    assert outcomes.count(None) == threads - 1
    assert [t["id"] for t in list_ab_tests(migrated)] == [winner]


def test_update_ab_test_changes_the_columns_given(migrated):
    test_id = begin_ab_test(migrated, _ab())
    decision = {"p_value": 0.01, "effect": 0.04}
    update_ab_test(
        migrated,
        test_id,
        {"status": "promoted", "ended_at": START + HOUR, "decision": decision, "reason": "won"},
    )
    update_ab_test(migrated, test_id, {})
    test = get_ab_test(migrated, test_id, snapshots=False)
    assert "snapshots" not in test
    assert (test["status"], test["ended_at"], test["decision"], test["reason"]) == (
        "promoted",
        START + HOUR,
        decision,
        "won",
    )
    assert running_ab_test(migrated, "churn") is None
    with pytest.raises(NotFoundError, match="no A/B test has id 999; list them with GET /v1/ab"):
        update_ab_test(migrated, 999, {"status": "ended"})


def test_snapshots_come_back_oldest_first_and_go_with_their_test(migrated):
    test_id = begin_ab_test(migrated, _ab())
    other = begin_ab_test(migrated, _ab("fraud"))
    actions = ["continue", "continue", "promote"]
    ids = [
        add_ab_snapshot(
            migrated,
            test_id,
            at=START + (i + 1) * HOUR,
            action=action,
            n_champion=100 * (i + 1),
            n_challenger=10 * (i + 1),
            statistics={"p_value": 0.5 / (i + 1)},
        )
        for i, action in enumerate(actions)
    ]
    add_ab_snapshot(
        migrated, other, at=START, action="end", n_champion=1, n_challenger=1, statistics={}
    )
    snapshots = get_ab_test(migrated, test_id)["snapshots"]
    assert [s["id"] for s in snapshots] == ids
    assert snapshots[0] == {
        "id": ids[0], "test_id": test_id, "at": START + HOUR, "action": "continue",
        "n_champion": 100, "n_challenger": 10, "statistics": {"p_value": 0.5},
    }  # fmt: skip
    assert [s["action"] for s in snapshots] == actions
    with pytest.raises(NotFoundError, match="no A/B test has id 999"):
        add_ab_snapshot(
            migrated, 999, at=START, action="end", n_champion=0, n_challenger=0, statistics={}
        )
    with migrated.begin() as connection:
        connection.execute(delete(ABTest).where(ABTest.id == test_id))
    with migrated.connect() as connection:
        left = connection.execute(select(ABSnapshot.test_id, func.count()).group_by("test_id"))
        assert dict(left.all()) == {other: 1}
    with pytest.raises(NotFoundError, match=rf"no A/B test has id {test_id}"):
        get_ab_test(migrated, test_id)


def test_list_ab_tests_filters_orders_newest_first_and_limits(migrated):
    old = begin_ab_test(migrated, _ab(started_at=START))
    update_ab_test(migrated, old, {"status": "ended"})
    new = begin_ab_test(migrated, _ab(started_at=START + 2 * HOUR))
    fraud = begin_ab_test(migrated, _ab("fraud", started_at=START + HOUR))

    def ids(**filters):
        return [t["id"] for t in list_ab_tests(migrated, **filters)]

    assert ids() == [new, fraud, old]
    assert ids(model_name="churn") == [new, old]
    assert ids(status="running") == [new, fraud]
    assert ids(model_name="churn", status="ended") == [old]
    assert ids(limit=1) == [new]
    assert all("snapshots" not in t for t in list_ab_tests(migrated))
    with pytest.raises(ValueError, match="limit must be at least 1"):
        list_ab_tests(migrated, limit=0)


# Training data


def test_labelled_rows_are_answered_labelled_rows_of_the_window_oldest_first(migrated, make_row):
    rows = [make_row(i) for i in range(8)]
    rows[4] = make_row(4, variant="challenger", version=2, entity_id=None)
    shadow = make_row(
        2, request_id="req-00002:shadow", variant="shadow", version=2, parent_request_id="req-00002"
    )
    insert_rows(migrated, [*rows, shadow])
    labels = {f"req-{i:05d}": i % 2 for i in range(8) if i != 3}  # 3 has no label yet
    labels["req-00002:shadow"] = 1  # even a label under a shadow row's own id does not count
    record_labels(migrated, labels, received_at=START + HOUR)

    got = labelled_rows(migrated, START + MINUTE, START + 7 * MINUTE)
    assert got.request_id == ["req-00001", "req-00002", "req-00004", "req-00005", "req-00006"]
    assert len(got) == 5
    assert got.entity_id == ["cust-1", "cust-2", None, "cust-5", "cust-6"]
    assert got.created_at == [START + i * MINUTE for i in (1, 2, 4, 5, 6)]
    assert all(t.tzinfo is not None for t in got.created_at)
    assert got.model_version.tolist() == [1, 1, 2, 1, 1]
    assert got.model_version.dtype == "int64"
    assert got.true_label.tolist() == [1, 0, 0, 1, 0]
    assert got.true_label.dtype == "float64"
    assert got.features[0] == {"tenure": 1, "contract": "month"}

    newest = labelled_rows(migrated, START, START + HOUR, limit=3)
    assert newest.request_id == ["req-00005", "req-00006", "req-00007"]
    assert newest.true_label.tolist() == [1, 0, 1]
    assert newest.features[-1] == {"tenure": 7, "contract": "month"}
    assert labelled_rows(migrated, START, START + HOUR, limit=100).request_id == [
        f"req-{i:05d}" for i in range(8) if i != 3
    ]

    empty = labelled_rows(migrated, START + HOUR, START + 2 * HOUR)
    assert len(empty) == 0
    assert (empty.model_version.dtype, empty.true_label.dtype) == ("int64", "float64")
    assert empty.features == []
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        labelled_rows(migrated, START, START + HOUR, limit=0)
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        labelled_rows(migrated, datetime(2024, 1, 1), START + HOUR)
    with pytest.raises(ValueError, match="before it starts"):
        labelled_rows(migrated, START + HOUR, START)


def test_labelled_rows_with_a_limit_breaks_time_ties_by_insertion(migrated, make_row):
    rows = [make_row(i, minutes=5) for i in range(4)]
    insert_rows(migrated, rows)
    record_labels(migrated, {row.request_id: 1 for row in rows}, received_at=START + HOUR)
    assert labelled_rows(migrated, START, START + HOUR, limit=2).request_id == [
        "req-00002",
        "req-00003",
    ]


def test_paired_shadow_scores_pair_each_shadow_row_with_the_answer_it_shadows(migrated, make_row):
    def shadow(i: int, score: float, version: int = 2, minutes: float | None = None):
        return make_row(
            i,
            minutes=minutes,
            request_id=f"req-{i:05d}:shadow",
            variant="shadow",
            version=version,
            score=score,
            parent_request_id=f"req-{i:05d}",
        )

    answered = [make_row(i, score=i / 10) for i in range(1, 6)]
    answered[3] = make_row(4, variant="challenger", version=3, score=0.4)  # split traffic
    shadows = [
        shadow(1, 0.9),
        shadow(2, 0.8, version=3),
        shadow(3, 0.7),  # no label: left out
        shadow(5, 0.6, minutes=90),  # outside the window
        shadow(42, 0.5),  # its answered row is not stored: left out
    ]
    insert_rows(migrated, [*answered, *shadows])
    record_labels(
        migrated,
        # A regression model's true value keeps its fraction.
        {"req-00001": 1, "req-00002": 0.25, "req-00004": 1, "req-00005": 1, "req-00042": 0},
        received_at=START + HOUR,
    )
    pairs = paired_shadow_scores(migrated, START, START + HOUR)
    assert len(pairs) == 2
    assert pairs.champion_version.tolist() == [1, 1]
    assert pairs.challenger_version.tolist() == [2, 3]
    assert pairs.champion_score.tolist() == [0.1, 0.2]
    assert pairs.challenger_score.tolist() == [0.9, 0.8]
    assert pairs.true_label.tolist() == [1, 0.25]
    assert pairs.champion_score.dtype == "float64"
    later = paired_shadow_scores(migrated, START + HOUR, START + 2 * HOUR)
    assert (later.champion_score.tolist(), later.challenger_score.tolist()) == ([0.5], [0.6])
    empty = paired_shadow_scores(migrated, START + 2 * HOUR, START + 3 * HOUR)
    assert len(empty) == 0
    assert empty.challenger_version.dtype == "int64"
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        paired_shadow_scores(migrated, START, datetime(2024, 1, 2))
