from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftwarden.core import SpoolFullError
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


def test_spool_refuses_rows_past_its_quota_and_keeps_nothing_of_them(tmp_path: Path):
    spool = Spool(tmp_path, max_bytes=30)
    spool.append([{"n": 1}, {"n": 2}])  # 8 bytes a line
    with pytest.raises(SpoolFullError, match=r"16 of store\.spool_max_bytes = 30 bytes"):
        spool.append([{"n": 3}, {"n": 4}, {"n": 5}])  # 16 + 24 > 30
    assert spool.size == 2
    assert spool.size_bytes == spool.path.stat().st_size == 16
    spool.append([{"n": 6}])
    assert [row["n"] for row in spool.read()] == [1, 2, 6]
    spool.clear()
    assert spool.size_bytes == 0
    spool.append([{"n": 7}, {"n": 8}, {"n": 9}])  # fits once emptied
    assert spool.size == 3


def test_spool_counts_the_bytes_it_finds_on_opening(tmp_path: Path):
    Spool(tmp_path).append([{"n": 1}, {"n": 2}])
    reopened = Spool(tmp_path, max_bytes=20)
    assert reopened.size_bytes == 16
    with pytest.raises(SpoolFullError):
        reopened.append([{"n": 3}])


def test_spool_quota_must_not_be_negative(tmp_path: Path):
    with pytest.raises(ValueError, match="max_bytes"):
        Spool(tmp_path, max_bytes=-1)


def test_a_write_the_disk_refuses_is_cut_back_so_the_next_line_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    spool = Spool(tmp_path)
    spool.append([{"n": 1}])
    real_fsync = os.fsync
    calls = {"n": 0}

    def full_disk(fd: int) -> None:
        calls["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SpoolFullError, match="No space left on device"):
        spool.append([{"n": 2}])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls["n"] == 1
    spool.append([{"n": 3}])
    assert spool.read() == [{"n": 1}, {"n": 3}]
    assert Spool(tmp_path).size == 2


def test_claims_give_each_process_its_own_file_and_slot_zero_first(tmp_path: Path):
    first = Spool.claim(tmp_path)
    second = Spool.claim(tmp_path)
    assert first.path.name == "predictions.jsonl"
    assert second.path.name == "predictions-1.jsonl"
    first.append([{"n": 1}])
    second.append([{"n": 2}])
    assert first.read() == [{"n": 1}]
    assert second.read() == [{"n": 2}]
    first.close()
    second.close()


_HOLD = """
import sys, time
from driftwarden.store import Spool
spool = Spool.claim(sys.argv[1])
spool.append([{"pid": 1, "slot": spool.path.name}])
print(spool.path.name, flush=True)
time.sleep(60)
"""


def test_a_live_process_keeps_its_file_and_a_dead_ones_rows_are_taken_over(tmp_path: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "predictions.jsonl"
        # The other process holds slot 0: this one gets slot 1 and leaves slot 0's rows alone.
        mine = Spool.claim(tmp_path)
        assert mine.path.name == "predictions-1.jsonl"
        assert mine.size == 0
        assert Spool(tmp_path).read() == [{"pid": 1, "slot": "predictions.jsonl"}]
        mine.append([{"n": 2}])
        mine.close()
    finally:
        holder.kill()  # as kill -9: no clean-up runs
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # Slot 0 is free again: its rows stay in it, and slot 1's orphaned rows are moved in.
    heir = Spool.claim(tmp_path)
    assert heir.path.name == "predictions.jsonl"
    assert heir.read() == [{"pid": 1, "slot": "predictions.jsonl"}, {"n": 2}]
    assert heir.size == 2
    assert not (tmp_path / "predictions-1.jsonl").exists()
    heir.close()


def test_a_claim_leaves_the_refused_rows_file_alone(tmp_path: Path):
    Spool(tmp_path).set_aside([({"request_id": "a"}, "refused")])
    Spool(tmp_path, "predictions-3.jsonl").append([{"n": 1}])
    spool = Spool.claim(tmp_path)
    assert spool.read() == [{"n": 1}]
    assert (tmp_path / "predictions.refused.jsonl").exists()
    spool.close()
