"""Inline SQLite commits: the writer's own connection, its lock fallback and its checkpoints."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from driftwarden.core import ConfigError, StoreUnavailableError
from driftwarden.store import (
    InlineSqlite,
    LockBusyError,
    PredictionWriter,
    Spool,
    count_predictions,
    create_store_engine,
    upgrade,
)


@pytest.fixture
def backend() -> str:
    """Every test here is about SQLite's own connection settings."""
    return "sqlite"


def _pragma(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(f"PRAGMA {name}").scalar_one())


def test_writer_commits_sqlite_inline_and_others_keep_their_settings(
    migrated: Engine, tmp_path, make_row
):
    async def scenario() -> PredictionWriter:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        writer.start()
        await asyncio.gather(*(writer.write(make_row(i)) for i in range(5)))
        await writer.stop()
        return writer

    writer = asyncio.run(scenario())
    assert writer.inline_commits
    assert (writer.rows, writer.lock_waits) == (5, 0)
    assert count_predictions(migrated) == 5
    # The inline connection's busy_timeout=0 and wal_autocheckpoint=0 never reach the pool.
    assert _pragma(migrated, "busy_timeout") == 2000
    assert _pragma(migrated, "wal_autocheckpoint") == 1000


def test_writer_waits_out_another_connections_lock_off_the_event_loop(
    migrated: Engine, store_url: URL, tmp_path, make_row
):
    blocker = sqlite3.connect(str(store_url.database), isolation_level=None)

    async def scenario() -> tuple[float, bool, int]:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        writer.start()
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
        write = asyncio.create_task(writer.write(make_row(1)))
        started = time.perf_counter()
        await asyncio.sleep(0.05)  # the event loop keeps turning while the group waits
        ticked = time.perf_counter() - started
        pending = not write.done()
        blocker.execute("COMMIT")
        await asyncio.wait_for(write, timeout=10)
        await writer.stop()
        return ticked, pending, writer.lock_waits

    try:
        ticked, pending, lock_waits = asyncio.run(scenario())
    finally:
        blocker.close()
    assert pending
    assert ticked < 1.0
    assert lock_waits == 1
    assert count_predictions(migrated) == 1


@pytest.mark.parametrize(("interval", "checkpointed"), [(0.0, True), (3600.0, False)])
def test_writer_checkpoints_the_wal_in_a_worker_thread(
    migrated: Engine, store_url: URL, tmp_path, make_row, interval, checkpointed
):
    database = Path(str(store_url.database))
    # A connection left open for the whole test: SQLite checkpoints when its last one closes.
    keeper = sqlite3.connect(str(database))
    keeper.execute("SELECT count(*) FROM predictions").fetchall()
    # Start from an empty WAL, so that only the writer's rows can be in it.
    keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def scenario() -> None:
        writer = PredictionWriter(
            migrated, Spool(tmp_path / "spool"), checkpoint_interval_seconds=interval
        )
        writer.start()
        for i in range(3):
            await writer.write(make_row(i))
        await writer.stop()

    try:
        asyncio.run(scenario())
        # The database file without its WAL holds only what a checkpoint copied into it.
        copy = tmp_path / "copy.db"
        shutil.copyfile(database, copy)
        stored = sqlite3.connect(str(copy)).execute("SELECT count(*) FROM predictions")
        rows_in_file = stored.fetchone()[0]
    finally:
        keeper.close()
    assert count_predictions(migrated) == 3
    assert (rows_in_file > 0) is checkpointed


def test_inline_sqlite_raises_lock_busy_at_once_and_writes_nothing(
    migrated: Engine, store_url: URL, make_row
):
    inline = InlineSqlite(migrated)
    blocker = sqlite3.connect(str(store_url.database), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        with pytest.raises(LockBusyError, match="locked"):
            inline.insert([make_row(1)])
        waited = time.perf_counter() - started
        blocker.execute("ROLLBACK")
        inline.insert([make_row(2)])  # a new connection after the failure
    finally:
        blocker.close()
        inline.close()
    assert waited < 1.0  # the store's busy timeout (2 s here) was not waited out
    assert count_predictions(migrated) == 1


def test_inline_sqlite_turns_an_unusable_database_into_store_unavailable(tmp_path, make_row):
    folder = tmp_path / "db"
    engine = create_store_engine(f"sqlite:///{folder / 'store.db'}", connect_timeout=0.2)
    folder.rmdir()
    folder.write_text("")  # the database's folder is now a file: it cannot be opened
    inline = InlineSqlite(engine)
    try:
        with pytest.raises(StoreUnavailableError, match="could not write 1 predictions"):
            inline.insert([make_row(1)])
    finally:
        inline.close()
        engine.dispose()


def test_inline_commits_are_refused_for_postgresql(tmp_path):
    # No connection is made: the dialect alone decides.
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="inline_commits needs an SQLite store"):
        PredictionWriter(engine, Spool(tmp_path), inline_commits=True)
    assert not PredictionWriter(engine, Spool(tmp_path)).inline_commits
    with pytest.raises(ValueError, match="needs an SQLite engine"):
        InlineSqlite(engine)
    engine.dispose()


def test_writer_can_commit_sqlite_in_a_worker_thread(migrated: Engine, tmp_path, make_row):
    async def scenario() -> PredictionWriter:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), inline_commits=False)
        writer.start()
        await writer.write(make_row(1))
        await writer.stop()
        return writer

    assert not asyncio.run(scenario()).inline_commits
    assert count_predictions(migrated) == 1


def test_inline_sqlite_accepts_nothing(migrated: Engine):
    inline = InlineSqlite(migrated)
    inline.insert([])
    inline.close()
    assert count_predictions(migrated) == 0
    upgrade(migrated)  # still a usable store


@pytest.mark.parametrize("restart_pages", [100])
def test_checkpoints_keep_the_wal_short_under_a_stream_of_commits(tmp_path, restart_pages: int):
    # Checkpoints that only copy pages beside a stream of commits never let SQLite start the WAL
    # over, so it grows with every commit; RESTART checkpoints bound it. The stream comes from a
    # thread that commits every fraction of a millisecond, as a busy server's writer connection
    # does (no autocheckpoint). Both runs make the same number of commits: on a loaded machine a
    # run timed by the clock commits less, and its WAL stays short anyway. What is compared is the
    # WAL's length as each checkpoint finds it, on average over the run: the file's size is only
    # its longest moment, which one slow turn of the checkpoint thread can set.
    commits = 3000

    def wal_pages_during_churn(name: str, pages: int) -> float:
        database = tmp_path / name / "store.db"
        engine = create_store_engine(f"sqlite:///{database}")
        upgrade(engine)
        inline = InlineSqlite(engine, restart_pages=pages)
        stop = threading.Event()
        finished = threading.Event()

        def commit_without_pause() -> None:
            connection = sqlite3.connect(str(database), isolation_level=None, timeout=10)
            connection.execute("PRAGMA wal_autocheckpoint=0")
            try:
                for i in range(commits):
                    if stop.is_set():
                        return
                    connection.execute(
                        "INSERT INTO labels (request_id, label, received_at) VALUES (?, 1, ?)",
                        (f"label-{i}", "2024-01-01 00:00:00.000000"),
                    )
                    time.sleep(0.0002)
            finally:
                connection.close()
                finished.set()

        stream = threading.Thread(target=commit_without_pause)
        stream.start()
        found: list[int] = []
        try:
            while not finished.is_set():
                found.append(inline.checkpoint())
                time.sleep(0.005)
        finally:
            stop.set()
            stream.join(timeout=60)
            inline.close()
            engine.dispose()
        assert len(found) > 10  # checkpoints ran all through the stream
        return sum(found) / len(found)

    never_restarted = wal_pages_during_churn("passive", 1 << 40)
    restarted = wal_pages_during_churn("restart", restart_pages)
    assert restarted < 2 * restart_pages, (restarted, never_restarted)
    assert restarted < never_restarted / 3, (restarted, never_restarted)


def test_inline_sqlite_leaves_no_open_transaction_after_any_failure(
    migrated: Engine, store_url: URL, make_row
):
    inline = InlineSqlite(migrated)
    rows = [make_row(1), make_row(2, request_id="bad\ud800"), make_row(3)]
    try:
        with pytest.raises(UnicodeEncodeError, match="surrogate"):
            inline.insert(rows)
        other = sqlite3.connect(str(store_url.database), isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # the write lock is free again
        other.execute("ROLLBACK")
        other.close()
        inline.insert([make_row(4)])
    finally:
        inline.close()
    assert count_predictions(migrated) == 1  # the failed group's first row was not committed


def test_inline_sqlite_refuses_negative_limits(migrated: Engine):
    with pytest.raises(ValueError, match="must not be negative"):
        InlineSqlite(migrated, restart_pages=-1)
