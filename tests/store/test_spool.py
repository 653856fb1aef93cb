from __future__ import annotations

import json
from pathlib import Path

from driftwarden.store import Spool


def test_spool_appends_and_reads_in_order(tmp_path: Path):
    spool = Spool(tmp_path / "spool")
    spool.append([{"n": 1}, {"n": 2}])
    spool.append([{"n": 3}])
    spool.append([])
    assert spool.size == 3
    assert [row["n"] for row in spool.read()] == [1, 2, 3]
    assert "size=3" in repr(spool)


def test_spool_survives_reopening(tmp_path: Path):
    Spool(tmp_path).append([{"n": 1}, {"n": 2}])
    reopened = Spool(tmp_path)
    assert reopened.size == 2
    assert reopened.read() == [{"n": 1}, {"n": 2}]


def test_spool_clear_empties_it(tmp_path: Path):
    spool = Spool(tmp_path)
    assert spool.read() == []
    spool.append([{"n": 1}])
    spool.clear()
    assert spool.size == 0
    assert spool.read() == []
    assert not spool.path.exists()


def test_spool_ignores_a_torn_last_line_when_reading(tmp_path: Path):
    spool = Spool(tmp_path)
    spool.append([{"n": 1}])
    with spool.path.open("ab") as handle:
        handle.write(b'{"n":')  # a crash in the middle of an append
    assert spool.read() == [{"n": 1}]


def test_spool_drops_a_torn_last_line_on_opening(tmp_path: Path):
    Spool(tmp_path).append([{"n": 1}, {"n": 2}])
    path = tmp_path / "predictions.jsonl"
    with path.open("ab") as handle:
        handle.write(b'{"n": 3, "torn')
    spool = Spool(tmp_path)
    assert spool.size == 2
    spool.append([{"n": 4}])
    assert spool.read() == [{"n": 1}, {"n": 2}, {"n": 4}]
    assert Spool(tmp_path).size == 3


def test_spool_sets_refused_rows_aside_with_their_reason_and_keeps_them(tmp_path: Path):
    spool = Spool(tmp_path, name="predictions.jsonl")
    spool.set_aside([])
    assert not spool.refused_path.exists()
    spool.set_aside([({"request_id": "a", "score": None}, "NOT NULL constraint failed")])
    spool.set_aside([({"request_id": "b"}, "too long")])
    assert spool.refused_path == tmp_path / "predictions.refused.jsonl"
    lines = [json.loads(line) for line in spool.refused_path.read_text().splitlines()]
    assert lines == [
        {"error": "NOT NULL constraint failed", "row": {"request_id": "a", "score": None}},
        {"error": "too long", "row": {"request_id": "b"}},
    ]
    spool.clear()  # emptying the spool keeps what was set aside
    assert spool.refused_path.exists()
    assert spool.size == 0
