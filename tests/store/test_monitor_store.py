"""What the monitor reads and writes, on SQLite and PostgreSQL: columnar windows, labelled
scores, runs and results, state, and alerts."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta

import pytest

from driftwarden.core import StoreUnavailableError
from driftwarden.store import (
    count_between,
    feature_history,
    insert_alert,
    insert_rows,
    labelled_scores,
    latest_figures,
    list_alerts,
    list_runs,
    load_state,
    newly_labelled,
    read_window,
    record_labels,
    results_overlapping,
    save_run,
    save_state,
    scores_between,
    update_performance,
    versions_between,
    window_bounds_by_count,
)

START = datetime(2024, 1, 1, tzinfo=UTC)  # the time of make_row's row 0
MINUTE = timedelta(minutes=1)


def _rows(chunk):
    """The chunk's rows as ``{"v", "r", "s", "l", "f"}``, from either of its two forms."""
    objects = [json.loads(line) for line in chunk.lines.splitlines()]
    if chunk.columns is None:
        return objects
    c = chunk.columns
    return [
        {"v": int(v), "r": str(r), "s": float(s), "l": float(lat), "f": f}
        for v, r, s, lat, f in zip(
            c.model_version, c.variant, c.score, c.latency_ms, objects, strict=True
        )
    ]


def test_read_window_yields_the_window_as_json_lines_oldest_first(migrated, make_row):
    rows = [make_row(i, version=1 + i % 2) for i in range(10)]
    rows.append(make_row(10, features={"note": 'a "quoted" \\ back\\slash', "tenure": 1.5}))
    insert_rows(migrated, rows)
    chunks = list(read_window(migrated, START + 2 * MINUTE, START + 11 * MINUTE, chunk_rows=3))
    assert sum(len(c) for c in chunks) == 9
    assert all(c.lines.count(b"\n") == len(c) for c in chunks)
    objects = [row for c in chunks for row in _rows(c)]
    assert [o["v"] for o in objects] == [1, 2, 1, 2, 1, 2, 1, 2, 1]
    assert [o["s"] for o in objects] == [i / 1000 for i in range(2, 11)]
    assert {o["r"] for o in objects} == {"champion"}
    assert [o["l"] for o in objects] == [1.5] * 9
    assert objects[0]["f"] == {"tenure": 2, "contract": "month"}
    # Quotes and backslashes come back as they went in.
    assert objects[-1]["f"] == {"note": 'a "quoted" \\ back\\slash', "tenure": 1.5}
    assert versions_between(migrated, START, START + 9 * MINUTE) == [1, 2]
    assert count_between(migrated, START, START + 9 * MINUTE) == 9
    versions, scores = scores_between(migrated, START + 8 * MINUTE, START + 10 * MINUTE)
    assert (versions.tolist(), scores.tolist()) == ([1, 2], [0.008, 0.009])
    # Small chunks cut the window at row boundaries, the rows unchanged.
    small = list(read_window(migrated, START + 2 * MINUTE, START + 11 * MINUTE, chunk_rows=1))
    assert len(small) > 1
    assert all(c.lines.count(b"\n") == len(c) for c in small)
    assert [row for c in small for row in _rows(c)] == objects
    with pytest.raises(ValueError, match="chunk_rows must be >= 1"):
        list(read_window(migrated, START, START + MINUTE, chunk_rows=0))


def test_window_reads_keep_one_versions_rows_when_asked(migrated, make_row):
    insert_rows(migrated, [make_row(i, version=1 + i % 3) for i in range(9)])
    shadow = make_row(9, request_id="req-00003:shadow", variant="shadow", score=0.5,
                      parent_request_id="req-00003", version=2)  # fmt: skip
    insert_rows(migrated, [shadow])
    record_labels(migrated, {f"req-{i:05d}": i % 2 for i in range(9)}, received_at=START)
    start, end = START, START + 20 * MINUTE
    for chunk_rows in (2, 100):
        chunks = list(read_window(migrated, start, end, chunk_rows=chunk_rows, model_version=2))
        objects = [row for c in chunks for row in _rows(c)]
        assert [(o["v"], o["r"], o["f"]["tenure"]) for o in objects] == [
            (2, "champion", 1), (2, "champion", 4), (2, "champion", 7), (2, "shadow", 9),
        ]  # fmt: skip
    assert list(read_window(migrated, start, end, model_version=7)) == []
    versions, scores = scores_between(migrated, start, end, model_version=3)
    assert (versions.tolist(), scores.tolist()) == ([3, 3, 3], [0.002, 0.005, 0.008])
    assert len(scores_between(migrated, start, end)[1]) == 10
    # The shadow row takes its parent's label: version 2 scored four labelled rows.
    labelled = labelled_scores(migrated, start, end, model_version=2)
    assert labelled.score.tolist() == [0.001, 0.004, 0.007, 0.5]
    assert labelled.true_label.tolist() == [1, 0, 1, 1]
    assert labelled.variant.tolist() == ["champion", "champion", "champion", "shadow"]
    assert len(labelled_scores(migrated, start, end)) == 10
    assert len(labelled_scores(migrated, start, end, model_version=7)) == 0


def test_read_window_of_an_unreachable_store_says_so(unreachable_engine):
    with pytest.raises(StoreUnavailableError, match="could not read the monitoring window"):
        list(read_window(unreachable_engine, START - MINUTE, START + MINUTE))


def test_window_by_count_starts_at_the_nth_latest_row(migrated, make_row):
    insert_rows(migrated, [make_row(i) for i in range(10)])
    end = START + 10 * MINUTE
    assert window_bounds_by_count(migrated, end, 3) == START + 7 * MINUTE
    assert window_bounds_by_count(migrated, end, 50) == START
    assert window_bounds_by_count(migrated, START, 3) is None


def test_labelled_scores_and_newly_labelled_follow_arrival(migrated, make_row):
    insert_rows(migrated, [make_row(i) for i in range(6)])
    record_labels(migrated, {"req-00001": 1, "req-00003": 0}, received_at=START + 60 * MINUTE)
    record_labels(migrated, {"req-00002": 1}, received_at=START + 90 * MINUTE)
    window = labelled_scores(migrated, START, START + 10 * MINUTE)
    assert window.score.tolist() == [0.001, 0.002, 0.003]
    assert window.true_label.tolist() == [1, 1, 0]
    created, first = newly_labelled(migrated, None, START + 61 * MINUTE)
    assert created == [START + MINUTE, START + 3 * MINUTE]
    assert first.true_label.tolist() == [1, 0]
    created, later = newly_labelled(migrated, START + 61 * MINUTE, START + 91 * MINUTE)
    assert (created, later.score.tolist()) == ([START + 2 * MINUTE], [0.002])
    # A shadow row takes the label of the request it shadows.
    shadow = make_row(4, request_id="req-00004:shadow", variant="shadow", score=0.9,
                      parent_request_id="req-00004", version=2)  # fmt: skip
    insert_rows(migrated, [shadow])
    record_labels(migrated, {"req-00004": 1}, received_at=START + 120 * MINUTE)
    created, shadowed = newly_labelled(migrated, START + 91 * MINUTE, START + 121 * MINUTE)
    assert created == [START + 4 * MINUTE] * 2
    assert sorted(zip(shadowed.variant.tolist(), shadowed.model_version.tolist(), strict=True)) == [
        ("champion", 1),
        ("shadow", 2),
    ]
    assert shadowed.true_label.tolist() == [1, 1]
    empty = labelled_scores(migrated, START + 50 * MINUTE, START + 51 * MINUTE)
    assert len(empty) == 0


def _run(end, status="ok"):
    return {
        "model_name": "churn", "started_at": end, "finished_at": end,
        "window_start": end - timedelta(hours=1), "window_end": end, "status": status,
        "error": None, "n_rows": 5, "read_seconds": 0.1, "stats_seconds": 0.01,
        "duration_seconds": 0.2,
    }  # fmt: skip


def _result(end, version=1):
    return {
        "model_version": version, "window_start": end - timedelta(hours=1), "window_end": end,
        "n_rows": 5, "severity": "ok", "share_drifted": 0.0, "prediction_statistic": None,
        "prediction_severity": None, "latency_p50_ms": 1.0, "latency_p95_ms": 2.0,
        "latency_p99_ms": 3.0, "n_labelled": 0, "performance": None, "performance_at": end,
        "estimated": {"roc_auc": 0.8}, "report": {"features": {}},
    }  # fmt: skip


def _feature(end, name, version=1):
    return {
        "model_version": version, "window_end": end, "feature": name, "kind": "numeric",
        "method": "psi", "statistic": 0.01, "warning": 0.1, "critical": 0.25, "p_value": None,
        "severity": "ok", "n_reference": 100, "n_current": 5, "missing_rate": 0.0,
        "invalid_rate": 0.0, "out_of_range_rate": 0.0, "unseen_rate": None,
    }  # fmt: skip


def test_runs_results_and_feature_history_filter_by_time(migrated):
    ends = [START + timedelta(hours=h) for h in (1, 2, 3)]
    ids = [
        save_run(migrated, _run(end), [_result(end)], [[_feature(end, "a"), _feature(end, "b")]])
        for end in ends
    ]
    save_run(migrated, _run(ends[2], "failed"), [], [])
    runs = list_runs(migrated, "churn", start=ends[1], end=ends[2])
    assert [r["id"] for r in runs] == [ids[1]]
    assert runs[0]["results"][0]["latency_p99_ms"] == 3.0
    assert "report" not in runs[0]["results"][0]  # the largest column, read only when asked
    [detailed] = list_runs(migrated, "churn", start=ends[1], end=ends[2], reports=True)
    assert detailed["results"][0]["report"] == {"features": {}}
    assert [r["status"] for r in list_runs(migrated, "churn", limit=2)] == ["failed", "ok"]
    assert list_runs(migrated, "other") == []
    history = feature_history(migrated, "churn", feature="b", start=ends[1], end=ends[2])
    assert [(h["feature"], h["window_end"]) for h in history] == [("b", ends[1])]
    assert len(feature_history(migrated, "churn")) == 6
    [overlap] = results_overlapping(migrated, "churn", 1, ends[0] + MINUTE, ends[0] + MINUTE)
    update_performance(
        migrated, overlap["id"], n_labelled=3, performance={"n": 3}, performance_at=ends[2]
    )
    [again] = results_overlapping(migrated, "churn", 1, ends[0] + MINUTE, ends[0] + MINUTE)
    assert (again["n_labelled"], again["performance"]) == (3, {"n": 3})
    with pytest.raises(ValueError, match="1 results but feature rows for 0"):
        save_run(migrated, _run(ends[0]), [_result(ends[0])], [])


def test_state_is_written_replaced_and_deleted(migrated):
    save_state(migrated, {"churn:a": "1", "churn:b": "2", "other:a": "x"}, updated_at=START)
    save_state(migrated, {"churn:a": "3", "churn:b": None}, updated_at=START + MINUTE)
    assert load_state(migrated, "churn:") == {"churn:a": "3"}
    assert load_state(migrated, "other:") == {"other:a": "x"}


def test_latest_figures_are_the_newest_ok_runs_and_the_open_alerts(migrated):
    assert latest_figures(migrated, "churn") is None
    ends = [START + timedelta(hours=h) for h in (1, 2)]
    report = {"features": {}, "prediction": {"method": "psi", "statistic": 0.3}}
    drifted = {**_result(ends[1]), "share_drifted": 0.5, "n_rows": 7, "report": report}
    features = [_feature(ends[1], "a"), {**_feature(ends[1], "b"), "statistic": None}]
    save_run(migrated, _run(ends[1]), [_result(ends[1], 2), drifted], [[], features])
    # Stored later, but of an earlier window, and a newer failed run: neither is the latest.
    save_run(migrated, _run(ends[0]), [_result(ends[0])], [[_feature(ends[0], "z")]])
    save_run(migrated, _run(ends[1] + MINUTE, "failed"), [], [])
    for key, severity, status in (("a", "critical", "open"), ("b", "critical", "acknowledged"),
                                  ("c", "warning", "open"), ("d", "info", "resolved")):  # fmt: skip
        _alert(migrated, f"drift|{key}", severity, status, START)
    _alert(migrated, "drift|e", "warning", "open", START, model="other")
    figures = latest_figures(migrated, "churn")
    assert figures is not None
    assert figures["duration_seconds"] == 0.2
    assert [r["model_version"] for r in figures["results"]] == [1, 2]
    one, two = figures["results"]
    assert (one["n_rows"], one["share_drifted"]) == (7, 0.5)
    assert one["prediction"] == {"method": "psi", "statistic": 0.3}
    assert one["features"] == [{"feature": "a", "method": "psi", "statistic": 0.01}]
    assert (two["prediction"], two["features"]) == (None, [])
    assert figures["alerts_open"] == {"critical": 2, "warning": 1}
    # Given those figures, the same newest run keeps its results; the alert counts are new.
    _alert(migrated, "drift|f", "info", "open", START)
    kept = {**figures, "results": ["kept from the last read"]}
    again = latest_figures(migrated, "churn", previous=kept)
    assert again is not None
    assert again["results"] == ["kept from the last read"]
    assert again["alerts_open"] == {"critical": 2, "warning": 1, "info": 1}
    # A newer run is read afresh.
    save_run(migrated, _run(ends[1] + 2 * MINUTE), [_result(ends[1])], [[]])
    newer = latest_figures(migrated, "churn", previous=kept)
    assert newer is not None
    assert newer["run_id"] != figures["run_id"]
    assert [r["model_version"] for r in newer["results"]] == [1]


def _alert(migrated, key, severity, status, opened, model="churn"):
    values = {
        "key": key, "model_name": model, "rule": key.split("|")[0], "subject": "",
        "severity": severity, "status": status, "title": "t", "message": "m",
        "value": None, "threshold": None, "model_version": 1, "evidence": {},
        "opened_at": opened, "last_seen_at": opened, "acknowledged_at": None,
        "acknowledged_by": None, "resolved_at": None, "muted_until": None,
        "notified_at": None, "notified_severity": None, "clear_runs": 0,
    }  # fmt: skip
    event = {"at": opened, "kind": "opened", "severity": severity, "detail": {}}
    return insert_alert(migrated, values, event)


def test_alerts_filter_by_every_field(migrated):
    def alert(key, severity, status, opened):
        return _alert(migrated, key, severity, status, opened)

    first = alert("drift|1", "warning", "resolved", START)
    second = alert("drift|2", "critical", "open", START + MINUTE)
    third = alert("latency|1", "warning", "acknowledged", START + 2 * MINUTE)

    def ids(**filters):
        return [a["id"] for a in list_alerts(migrated, **filters)]

    assert ids() == [third, second, first]
    assert ids(status="open") == [second]
    assert ids(severity="warning") == [third, first]
    assert ids(rule="drift", model_name="churn") == [second, first]
    assert ids(start=START + MINUTE, end=START + 2 * MINUTE) == [second]
    assert ids(model_name="other") == []


def test_window_scores_come_back_exactly(migrated, make_row):
    # 17 significant digits: a JSON writer that rounds to 15 would change them.
    scores = [0.12345678901234567, 1 / 3, 2.0**-40]
    insert_rows(migrated, [make_row(i, score=v) for i, v in enumerate(scores)])
    chunks = list(read_window(migrated, START, START + 5 * MINUTE))
    assert [row["s"] for c in chunks for row in _rows(c)] == scores


def test_the_collector_pause_nests_and_restores_the_collector():
    from driftwarden.store.windows import _collector_paused

    assert gc.isenabled()
    with _collector_paused():
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
