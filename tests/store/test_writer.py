from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from driftwarden.core import ConfigError, SimulatedClock, SpoolFullError, StoreSettings
from driftwarden.store import (
    Prediction,
    PredictionRow,
    PredictionWriter,
    Spool,
    count_predictions,
    insert_rows,
    predictions_between,
)


def _stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Prediction.request_id).order_by(Prediction.id)))


def test_writer_write_returns_after_commit(migrated: Engine, store_url: URL, tmp_path, make_row):
    other = create_engine(store_url)  # a separate pool: sees only committed rows

    async def scenario() -> int:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_wait_ms=5)
        writer.start()
        assert writer.running
        await writer.write(make_row(1))
        with other.connect() as connection:
            seen = connection.scalar(text("SELECT count(*) FROM predictions"))
        await writer.stop()
        return int(seen or 0)

    try:
        assert asyncio.run(scenario()) == 1
    finally:
        other.dispose()


def test_writer_groups_concurrent_writes_into_few_transactions(
    migrated: Engine, tmp_path, make_row
):
    async def scenario() -> tuple[int, int]:
        writer = PredictionWriter(
            migrated, Spool(tmp_path / "spool"), max_rows=100, max_wait_ms=200
        )
        writer.start()
        writes = [asyncio.create_task(writer.write(make_row(i))) for i in range(250)]
        await asyncio.sleep(0)
        depth = writer.queue_depth
        await asyncio.gather(*writes)
        await writer.stop()
        return depth, writer.commits

    depth, commits = asyncio.run(scenario())
    assert depth > 0
    assert count_predictions(migrated) == 250
    assert 3 <= commits <= 6
    assert _stored_ids(migrated) == [f"req-{i:05d}" for i in range(250)]


def test_writer_is_idempotent_on_request_id(migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_wait_ms=20)
        writer.start()
        await writer.write(make_row(1))
        await writer.write(make_row(1, score=0.9))
        await asyncio.gather(*(writer.write(make_row(2)) for _ in range(5)))
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00001", "req-00002"]
    with migrated.connect() as connection:
        assert connection.scalar(select(Prediction.score).where(Prediction.id == 1)) == 0.001


def test_writer_stop_flushes_pending_rows(migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_wait_ms=10_000)
        writer.start()
        writes = [asyncio.create_task(writer.write(make_row(i))) for i in range(7)]
        await asyncio.sleep(0.05)
        await writer.stop()
        await asyncio.gather(*writes)
        await writer.stop()  # stopping twice is harmless
        assert not writer.running

    asyncio.run(scenario())
    assert count_predictions(migrated) == 7


def test_writer_spools_while_down_and_replays_in_order(
    outage, migrated: Engine, tmp_path, make_row
):
    spool_dir = tmp_path / "spool"

    async def scenario() -> None:
        writer = PredictionWriter(
            outage.engine, Spool(spool_dir), max_wait_ms=1, replay_interval_seconds=3600
        )
        writer.start()
        await writer.write(make_row(0))
        assert not writer.degraded
        outage.down()
        for i in range(1, 4):
            await writer.write(make_row(i))  # acknowledged although the database is down
        assert writer.degraded
        assert writer.spool_size == 3
        assert await writer.replay() == 0  # still down: nothing lost, nothing replayed
        assert writer.spool_size == 3
        outage.up()
        # The spool is not empty, so new rows queue behind it to keep the order.
        await asyncio.gather(*(writer.write(make_row(i)) for i in range(4, 7)))
        assert writer.spool_size == 6
        assert count_predictions(migrated) == 1
        # A commit whose acknowledgement was lost: the row is both stored and spooled.
        writer.spool.append([make_row(0).to_record()])
        assert await writer.replay() == 7
        assert not writer.degraded
        assert writer.spool_size == 0
        await writer.write(make_row(7))
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == [f"req-{i:05d}" for i in range(8)]
    assert not Spool(spool_dir).read()


def test_a_full_spool_refuses_new_rows_and_keeps_every_acknowledged_one(
    outage, migrated: Engine, tmp_path, make_row
):
    line = len(json.dumps(make_row(0).to_record(), separators=(",", ":"))) + 1
    spool = Spool(tmp_path / "spool", max_bytes=3 * line + line // 2)  # room for three rows

    async def scenario() -> list[str]:
        writer = PredictionWriter(outage.engine, spool, max_wait_ms=1, replay_interval_seconds=0)
        writer.start()
        outage.down()
        results = []
        for i in range(5):
            try:
                await writer.write(make_row(i))
            except SpoolFullError as exc:
                results.append(str(exc))
            else:
                results.append("kept")
        assert writer.spool_size == 3
        outage.up()
        await writer.write(make_row(5))  # replays the spool first, then commits
        assert not writer.degraded
        await writer.stop()
        return results

    results = asyncio.run(scenario())
    assert results[:3] == ["kept"] * 3
    assert all("the spool is full" in result for result in results[3:])
    assert _stored_ids(migrated) == [f"req-{i:05d}" for i in (0, 1, 2, 5)]


def test_replays_are_timed_from_the_last_attempt_and_come_sooner_for_a_full_spool(
    outage, migrated: Engine, tmp_path, make_row
):
    clock = SimulatedClock(datetime(2025, 1, 1, tzinfo=UTC))
    line = len(json.dumps(make_row(0).to_record(), separators=(",", ":"))) + 1
    spool = Spool(tmp_path / "spool", max_bytes=2 * line + line // 2)  # room for two rows

    async def scenario() -> None:
        writer = PredictionWriter(
            outage.engine, spool, max_wait_ms=1, replay_interval_seconds=5, clock=clock
        )
        writer.start()
        assert writer.seconds_until_replay() is None  # nothing spooled
        outage.down()
        await writer.write(make_row(0))  # the failed insert counts as an attempt
        assert writer.seconds_until_replay() == 5.0
        clock.advance(timedelta(seconds=3))
        await writer.write(make_row(1))  # spooled: not due for 2 more seconds
        assert writer.seconds_until_replay() == 2.0
        with pytest.raises(SpoolFullError):
            await writer.write(make_row(2))
        # Refusing rows now: the next attempt is at most a second after the last one.
        assert spool.full
        assert writer.seconds_until_replay() == 0.0
        await writer.replay()  # still down
        assert writer.seconds_until_replay() == 1.0
        outage.up()
        clock.advance(timedelta(seconds=1))
        await writer.write(make_row(3))  # replays first: 1 s, not 5 s, after the last attempt
        assert not writer.degraded
        assert not spool.full
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == [f"req-{i:05d}" for i in (0, 1, 3)]


def test_an_idle_writer_replays_at_the_next_attempt_not_an_interval_after_the_last_row(
    outage, migrated: Engine, tmp_path, make_row
):
    async def scenario() -> float:
        writer = PredictionWriter(
            outage.engine, Spool(tmp_path / "spool"), max_wait_ms=1, replay_interval_seconds=3
        )
        writer.start()
        outage.down()
        await writer.write(make_row(0))  # an attempt now; the next is due 3 s later
        await asyncio.sleep(2.0)
        await writer.write(make_row(1))  # spooled, not due yet
        outage.up()
        started = asyncio.get_running_loop().time()
        while writer.degraded and asyncio.get_running_loop().time() - started < 30:
            await asyncio.sleep(0.02)  # idle from here on
        waited = asyncio.get_running_loop().time() - started
        await writer.stop()
        return waited

    waited = asyncio.run(scenario())
    # Due 1 s after the last row; timed from that row, it would be 3 s.
    assert waited < 2.5
    assert _stored_ids(migrated) == ["req-00000", "req-00001"]


def test_writer_replays_by_itself_after_the_interval(outage, migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(
            outage.engine, Spool(tmp_path / "spool"), max_wait_ms=1, replay_interval_seconds=0.3
        )
        writer.start()
        outage.down()
        await writer.write(make_row(1))
        assert writer.degraded
        outage.up()
        for _ in range(100):  # the idle writer retries on its own
            if not writer.degraded:
                break
            await asyncio.sleep(0.05)
        assert not writer.degraded
        outage.down()
        await writer.write(make_row(2))
        outage.up()
        await asyncio.sleep(0.35)
        await writer.write(make_row(3))  # a write after the interval replays first
        assert not writer.degraded
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00001", "req-00002", "req-00003"]


def test_writer_replays_a_spool_left_by_a_crash(migrated: Engine, tmp_path, make_row):
    spool = Spool(tmp_path / "spool")
    spool.append([make_row(i).to_record() for i in range(3)])
    with spool.path.open("ab") as handle:
        handle.write(b'{"request_id": "req-0')  # torn by the crash, never acknowledged

    async def scenario() -> int:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_rows=2)
        assert writer.degraded
        replayed = await writer.replay()
        assert await writer.replay() == 0
        return replayed

    assert asyncio.run(scenario()) == 3
    assert _stored_ids(migrated) == ["req-00000", "req-00001", "req-00002"]


# Two rows as a spool written before rows had a parent_request_id holds them.
_SPOOLED_BEFORE_PARENTS = (
    b'{"created_at":"2024-01-01T00:05:00+00:00","entity_id":"cust-5",'
    b'"features":{"contract":"month","tenure":5},"label":1,"latency_ms":1.5,'
    b'"model_version":1,"request_id":"req-00005","score":0.6,"variant":"champion"}\n'
    b'{"created_at":"2024-01-01T00:05:00+00:00","entity_id":"cust-5",'
    b'"features":{"contract":"month","tenure":5},"label":0,"latency_ms":2.5,'
    b'"model_version":2,"request_id":"req-00005:shadow","score":0.4,"variant":"shadow"}\n'
)


def test_writer_replays_a_spool_written_before_rows_had_a_parent(migrated: Engine, tmp_path):
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (spool_dir / "predictions.jsonl").write_bytes(_SPOOLED_BEFORE_PARENTS)

    async def scenario() -> int:
        writer = PredictionWriter(migrated, Spool(spool_dir))
        assert writer.spool_size == 2
        return await writer.replay()

    assert asyncio.run(scenario()) == 2
    assert not Spool(spool_dir).read()
    query = select(
        Prediction.request_id, Prediction.variant, Prediction.score, Prediction.parent_request_id
    ).order_by(Prediction.id)
    with migrated.connect() as connection:
        stored = [tuple(row) for row in connection.execute(query)]
    # The old shadow row is linked to its parent as migration 0004 links stored ones.
    assert stored == [
        ("req-00005", "champion", 0.6, None),
        ("req-00005:shadow", "shadow", 0.4, "req-00005"),
    ]


def test_writer_logs_a_shadow_row_with_its_parent(migrated: Engine, tmp_path, make_row):
    shadow = make_row(
        4, request_id="req-00004:shadow", variant="shadow", parent_request_id="req-00004"
    )

    async def scenario() -> dict[str, PredictionRow]:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        writer.start()
        await asyncio.gather(writer.write(make_row(4)), writer.write(shadow))
        await writer.stop()
        return await writer.find_logged(["req-00004", "req-00004:shadow"])

    found = asyncio.run(scenario())
    assert found == {"req-00004": make_row(4), "req-00004:shadow": shadow}
    assert found["req-00004:shadow"].parent_request_id == "req-00004"
    assert found["req-00004"].parent_request_id is None


def test_writer_reports_errors_that_are_not_outages(migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        writer.start()
        with pytest.raises(IntegrityError, match=r"(?i)null"):
            await writer.write(make_row(1, score=None))
        assert not writer.degraded
        await writer.write(make_row(2))
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00002"]


def test_writer_fails_only_the_row_the_database_refuses(migrated: Engine, tmp_path, make_row):
    async def scenario() -> int:
        writer = PredictionWriter(
            migrated, Spool(tmp_path / "spool"), max_rows=100, max_wait_ms=200
        )
        writer.start()
        rows = [make_row(i, score=None if i == 2 else i / 10) for i in range(5)]
        writes = [asyncio.create_task(writer.write(row)) for row in rows]
        await asyncio.wait(writes)
        with pytest.raises(IntegrityError, match=r"(?i)null"):
            await writes[2]
        await asyncio.gather(*writes[:2], *writes[3:])
        assert not writer.degraded
        await writer.stop()
        return writer.commits

    commits = asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00000", "req-00001", "req-00003", "req-00004"]
    assert commits == 4  # the group was refused, then each good row committed on its own


def test_writer_stores_the_longest_ids_the_api_accepts(migrated: Engine, tmp_path, make_row):
    # 128 characters from the client, plus the suffix of a shadow row.
    request_id = "r" * 128 + ":shadow"
    entity_id = "e" * 256

    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        writer.start()
        await writer.write(make_row(1, request_id=request_id, entity_id=entity_id))
        await writer.stop()

    asyncio.run(scenario())
    with migrated.connect() as connection:
        stored = connection.execute(select(Prediction.request_id, Prediction.entity_id)).one()
    assert tuple(stored) == (request_id, entity_id)


def test_writer_refuses_a_bad_row_for_its_caller_alone(migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(
            migrated, Spool(tmp_path / "spool"), max_rows=100, max_wait_ms=200
        )
        writer.start()
        # One group; the middle row breaks a NOT NULL constraint on either backend.
        rows = [make_row(0), make_row(1, score=None), make_row(2)]
        writes = [asyncio.create_task(writer.write(row)) for row in rows]
        await asyncio.wait(writes)
        with pytest.raises(IntegrityError, match=r"(?i)null"):
            await writes[1]
        await asyncio.gather(writes[0], writes[2])
        await writer.stop()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00000", "req-00002"]


def test_a_spooled_row_the_database_refuses_is_set_aside_and_the_rest_replayed(
    migrated: Engine, tmp_path, make_row, caplog
):
    spool = Spool(tmp_path / "spool")
    bad = make_row(2, score=None).to_record()  # NOT NULL: refused by both databases
    spool.append([make_row(1).to_record(), bad, make_row(3).to_record()])
    spool.append([{**make_row(4).to_record(), "variant": "canary"}])  # not a row at all

    async def scenario() -> None:
        writer = PredictionWriter(migrated, spool, max_rows=2, replay_interval_seconds=0)
        writer.start()
        await writer.write(make_row(5))  # replays first, then commits: no longer degraded
        assert not writer.degraded
        await writer.write(make_row(6))
        await writer.stop()

    with caplog.at_level("ERROR", logger="driftwarden.store.writer"):
        asyncio.run(scenario())
    assert "the database refused 2 spooled predictions" in caplog.text
    assert str(spool.refused_path) in caplog.text
    assert _stored_ids(migrated) == ["req-00001", "req-00003", "req-00005", "req-00006"]
    assert Spool(tmp_path / "spool").size == 0
    kept = [json.loads(line) for line in spool.refused_path.read_text().splitlines()]
    assert [entry["row"]["request_id"] for entry in kept] == ["req-00004", "req-00002"]
    assert kept[1]["row"] == bad
    assert "variant" in kept[0]["error"]
    assert "score" in kept[1]["error"]


def test_a_replay_that_cannot_set_refused_rows_aside_keeps_the_spool_and_keeps_serving(
    migrated: Engine, tmp_path, make_row, caplog
):
    spool = Spool(tmp_path / "spool")
    spool.append([make_row(1, score=None).to_record(), make_row(2).to_record()])
    spool.refused_path.mkdir()  # the refused rows' file cannot be written

    async def scenario() -> None:
        writer = PredictionWriter(migrated, spool, replay_interval_seconds=0)
        writer.start()
        await writer.write(make_row(3))  # acknowledged: it joins the spool behind the others
        assert writer.degraded
        await writer.stop()

    with caplog.at_level("ERROR", logger="driftwarden.store.writer"):
        asyncio.run(scenario())
    assert "spool replay failed; the spool keeps its rows" in caplog.text
    assert [r["request_id"] for r in Spool(tmp_path / "spool").read()] == [
        "req-00001",
        "req-00002",
        "req-00003",
    ]
    # Each replay attempt (another on stopping) writes the rows the database takes before it
    # fails; the spool keeps them too, and replaying them again stores each once.
    assert _stored_ids(migrated) == ["req-00002", "req-00003"]


def test_an_outage_during_a_refused_rows_replay_keeps_the_whole_spool(outage, tmp_path, make_row):
    spool = Spool(tmp_path / "spool")
    spool.append([make_row(1, score=None).to_record(), make_row(2).to_record()])

    async def scenario() -> int:
        writer = PredictionWriter(outage.engine, spool, replay_interval_seconds=3600)
        insert_one = writer._replay_one_by_one

        async def down_first(rows: list[PredictionRow]) -> Any:
            outage.down()  # the database goes away once the group was refused
            try:
                return await insert_one(rows)
            finally:
                outage.up()

        writer._replay_one_by_one = down_first  # type: ignore[method-assign]
        return await writer.replay()

    assert asyncio.run(scenario()) == 0
    assert [r["request_id"] for r in Spool(tmp_path / "spool").read()] == [
        "req-00001",
        "req-00002",
    ]
    assert not spool.refused_path.exists()
    assert count_predictions(outage.engine) == 0


def test_writer_find_logged_returns_committed_rows_only(migrated: Engine, tmp_path, make_row):
    async def scenario() -> dict[str, PredictionRow]:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))
        assert await writer.find_logged([]) == {}
        writer.start()
        await asyncio.gather(
            writer.write(make_row(1)), writer.write(make_row(2, variant="challenger"))
        )
        found = await writer.find_logged(["req-00001", "req-00002", "req-00003"])
        await writer.stop()
        return found

    found = asyncio.run(scenario())
    assert found == {"req-00001": make_row(1), "req-00002": make_row(2, variant="challenger")}


def test_writer_find_logged_does_not_wait_for_a_store_that_is_down(outage, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(outage.engine, Spool(tmp_path / "spool"), max_wait_ms=1)
        writer.start()
        await writer.write(make_row(1))
        outage.down()
        await writer.write(make_row(2))
        assert writer.degraded
        # Row 1 is committed, but the store is not asked while the writer is degraded.
        assert await writer.find_logged(["req-00001", "req-00002"]) == {}
        outage.up()
        await writer.stop()

    asyncio.run(scenario())


def test_writer_find_logged_treats_ids_as_new_when_the_store_cannot_answer(
    engine: Engine, tmp_path, caplog
):
    async def scenario() -> dict[str, PredictionRow]:
        writer = PredictionWriter(engine, Spool(tmp_path / "spool"))  # never migrated
        return await writer.find_logged(["req-00001"])

    with caplog.at_level("WARNING", logger="driftwarden.store.writer"):
        assert asyncio.run(scenario()) == {}
    assert "treating them as new" in caplog.text


def test_writer_reports_a_spool_that_cannot_be_written(outage, tmp_path, make_row):
    spool = Spool(tmp_path / "spool")
    spool.path.mkdir()  # appending to a folder fails: the row must not be acknowledged

    async def scenario() -> None:
        writer = PredictionWriter(outage.engine, spool, max_wait_ms=1)
        writer.start()
        outage.down()
        with pytest.raises(IsADirectoryError, match=r"predictions\.jsonl"):
            await writer.write(make_row(1))
        outage.up()
        await writer.stop()

    asyncio.run(scenario())


def test_writer_write_needs_a_running_writer(migrated: Engine, tmp_path, make_row):
    writer = PredictionWriter(migrated, Spool(tmp_path))
    assert writer.queue_depth == 0
    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(writer.write(make_row(1)))


def test_writer_start_twice_is_refused(migrated: Engine, tmp_path):
    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path))
        writer.start()
        with pytest.raises(RuntimeError, match="already running"):
            writer.start()
        await writer.stop()

    asyncio.run(scenario())


def test_writer_from_settings_uses_the_store_section(migrated: Engine, tmp_path: Path):
    settings = StoreSettings(
        group_commit_max_rows=7,
        group_commit_max_wait_ms=3.0,
        spool_dir=tmp_path / "s",
        spool_max_bytes=4096,
    )
    clock = SimulatedClock(datetime(2024, 1, 1, tzinfo=UTC))
    writer = PredictionWriter.from_settings(migrated, settings, clock=clock)
    assert (writer.max_rows, writer.max_wait) == (7, 0.003)
    assert writer.spool.directory == tmp_path / "s"
    assert writer.spool.max_bytes == 4096
    # The writer holds its spool file: a second writer of the same folder gets another one.
    other = PredictionWriter.from_settings(migrated, settings, clock=clock)
    assert (writer.spool.path.name, other.spool.path.name) == (
        "predictions.jsonl",
        "predictions-1.jsonl",
    )
    writer.spool.close()
    other.spool.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_rows": 0}, "max_rows must be at least 1"),
        ({"max_wait_ms": -1.0}, "must not be negative"),
        ({"replay_interval_seconds": -1.0}, "must not be negative"),
    ],
)
def test_writer_rejects_bad_parameters(migrated: Engine, tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PredictionWriter(migrated, Spool(tmp_path), **kwargs)


def test_prediction_row_rejects_a_naive_time(make_row):
    with pytest.raises(ConfigError, match="must be timezone-aware"):
        make_row(1, created_at=datetime(2024, 1, 1))


def test_prediction_row_rejects_an_unknown_variant(make_row):
    with pytest.raises(ConfigError, match="variant must be one of"):
        make_row(1, variant="canary")


@pytest.mark.parametrize("parent", [None, "req-00003"])
def test_prediction_row_round_trips_through_a_record(make_row, parent):
    row = make_row(3, variant="shadow", entity_id=None, parent_request_id=parent)
    record = row.to_record()
    assert record["parent_request_id"] == parent
    assert PredictionRow.from_record(record) == row


def test_prediction_row_from_an_old_record_gets_the_defaults(make_row):
    record = make_row(3, entity_id=None).to_record()
    del record["parent_request_id"], record["entity_id"]
    row = PredictionRow.from_record(record)
    assert (row.request_id, row.entity_id, row.parent_request_id) == ("req-00003", None, None)


def test_insert_rows_accepts_nothing(migrated: Engine):
    insert_rows(migrated, [])
    assert count_predictions(migrated) == 0


def test_insert_rows_counts_with_sql(migrated: Engine, make_row):
    insert_rows(migrated, [make_row(1), make_row(1)])
    with migrated.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Prediction)) == 1


def test_insert_rows_stores_every_column_and_features_of_any_mapping(migrated: Engine, make_row):
    features = MappingProxyType({"tenure": 3, "contract": "two year"})
    row = make_row(3, features=features, parent_request_id="req-00002", variant="shadow")
    insert_rows(migrated, [row])
    [stored] = predictions_between(migrated, row.created_at, row.created_at + timedelta(minutes=1))
    assert stored.features == {"tenure": 3, "contract": "two year"}
    assert (stored.request_id, stored.created_at, stored.model_version, stored.variant) == (
        row.request_id,
        row.created_at,
        row.model_version,
        "shadow",
    )
    assert (stored.score, stored.label, stored.latency_ms, stored.entity_id) == (
        row.score,
        row.label,
        row.latency_ms,
        row.entity_id,
    )
    assert stored.parent_request_id == "req-00002"


def test_writer_keeps_a_row_whose_caller_stopped_waiting(migrated: Engine, tmp_path, make_row):
    async def scenario() -> None:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_wait_ms=10_000)
        writer.start()
        impatient = asyncio.create_task(writer.write(make_row(1)))
        await asyncio.sleep(0.01)
        impatient.cancel()
        await writer.stop()
        assert impatient.cancelled()

    asyncio.run(scenario())
    assert _stored_ids(migrated) == ["req-00001"]


def test_writer_without_a_wait_commits_what_queued_while_it_was_busy(
    migrated: Engine, tmp_path, make_row
):
    async def scenario() -> int:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_rows=100)
        writer.start()
        # Queued before the writer task first runs: one group, though nothing waits for company.
        writes = [asyncio.create_task(writer.write(make_row(i))) for i in range(40)]
        await asyncio.gather(*writes)
        await writer.stop()
        return writer.commits

    assert asyncio.run(scenario()) == 1
    assert count_predictions(migrated) == 40


def test_writer_submit_stores_rows_together_and_reports_each_rows_outcome(
    migrated: Engine, tmp_path, make_row
):
    async def scenario() -> tuple[list[Any], list[Any], int, int]:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_rows=100)
        writer.start()
        # Two requests' rows, queued before the writer runs: one group, one outcome per row.
        first = writer.submit([make_row(0), make_row(1, score=None), make_row(2)])
        second = writer.submit([make_row(3)])
        depth = writer.queue_depth
        outcomes = [await first, await second]
        await writer.stop()
        return outcomes[0], outcomes[1], depth, writer.commits

    first, second, depth, commits = asyncio.run(scenario())
    assert depth == 4
    assert first[0] is None
    assert first[2] is None
    assert isinstance(first[1], IntegrityError)
    assert second == [None]
    assert _stored_ids(migrated) == ["req-00000", "req-00002", "req-00003"]
    assert commits == 3  # the group was refused, then each good row committed on its own


def test_writer_submit_splits_what_exceeds_a_group_and_keeps_the_order(
    migrated: Engine, tmp_path, make_row
):
    async def scenario() -> tuple[list[Any], list[Any], int]:
        writer = PredictionWriter(migrated, Spool(tmp_path / "spool"), max_rows=4)
        writer.start()
        small = writer.submit([make_row(0), make_row(1), make_row(2)])
        large = writer.submit([make_row(i) for i in range(3, 13)])  # 10 rows: three groups
        outcomes = [await small, await large]
        await writer.stop()
        assert writer.queue_depth == 0
        return outcomes[0], outcomes[1], writer.commits

    small, large, commits = asyncio.run(scenario())
    assert small == [None] * 3
    assert large == [None] * 10
    # No group holds more than four rows; a request's rows that do not fit the open group start
    # the next one, so rows are stored in the order they were submitted.
    assert commits == 4
    assert _stored_ids(migrated) == [f"req-{i:05d}" for i in range(13)]


def test_writer_submit_needs_a_running_writer(migrated: Engine, tmp_path, make_row):
    writer = PredictionWriter(migrated, Spool(tmp_path / "spool"))

    async def scenario() -> None:
        writer.submit([make_row(1)])

    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(scenario())
