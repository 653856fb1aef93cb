"""Champion/challenger A/B tests in the store, with the snapshots of their statistics.

How a test is evaluated and decided is :mod:`driftwarden.monitoring`; this module only reads
and writes rows. At most one test per model is ``running``, held by a partial unique index on
``model_name``, so two replicas that start a test at once cannot both succeed. Reads return
plain dicts of every column, ready for the API; writes and reads meet an outage with a
:class:`~driftwarden.core.StoreUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from driftwarden.core.errors import ConflictError, NotFoundError
from driftwarden.store.routing import _run
from driftwarden.store.tables import ABSnapshot, ABTest

__all__ = [
    "AB_TEST_STATUSES",
    "add_ab_snapshot",
    "begin_ab_test",
    "get_ab_test",
    "list_ab_tests",
    "running_ab_test",
    "update_ab_test",
]

AB_TEST_STATUSES = ("running", "promoted", "rejected", "ended", "aborted")
# Tries to start a test when the index refuses it but no running test is found: the running
# one ended between the refusal and the look, and the next try normally starts.
_ATTEMPTS = 3

_TEST_COLUMNS = (
    "id", "model_name", "champion_version", "challenger_version", "mode", "share", "salt",
    "metric", "status", "started_at", "ended_at", "retrain_run_id", "decision", "reason",
)  # fmt: skip
_SNAPSHOT_COLUMNS = ("id", "test_id", "at", "action", "n_champion", "n_challenger", "statistics")


def _plain(row: Row[Any], columns: tuple[str, ...] = _TEST_COLUMNS) -> dict[str, Any]:
    return {name: getattr(row, name) for name in columns}


def _not_found(test_id: int) -> str:
    return f"no A/B test has id {test_id}; list them with GET /v1/ab-tests"


def begin_ab_test(engine: Engine, values: Mapping[str, Any]) -> int:
    """Start an A/B test; returns its id.

    Parameters
    ----------
    engine : Engine
        The store.
    values : mapping
        The columns of ``ab_tests`` but ``id`` (the nullable ones may be left out);
        ``status`` is ``running`` whatever it says.

    Raises
    ------
    ConflictError
        If a test of the same model is running; nothing is stored.
    StoreUnavailableError
        If the database cannot be reached or stays locked; nothing is stored.
    """
    row = {**values, "status": "running"}
    model_name = row["model_name"]
    failed = f"could not start an A/B test of {model_name!r}"

    def work(connection: Connection) -> int:
        statement = insert(ABTest).values(**row).returning(ABTest.id)
        return int(connection.execute(statement).scalar_one())

    attempts = 0
    while True:
        attempts += 1
        try:
            return _run(engine, work, failed)
        except IntegrityError as exc:
            running = running_ab_test(engine, model_name)
            if running is not None:
                raise ConflictError(
                    f"an A/B test of {model_name!r} is running already (test {running['id']}, "
                    f"version {running['challenger_version']} against "
                    f"{running['champion_version']}, since {running['started_at'].isoformat()}); "
                    "wait for its decision or end it before starting another"
                ) from exc
            if attempts == _ATTEMPTS:
                raise


def update_ab_test(engine: Engine, test_id: int, values: Mapping[str, Any]) -> None:
    """Change columns of a test (its ``status``, ``ended_at``, ``decision``, ``reason``...).

    Raises
    ------
    NotFoundError
        No test has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if not values:
        return

    def work(connection: Connection) -> None:
        result = connection.execute(update(ABTest).where(ABTest.id == test_id).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(_not_found(test_id))

    _run(engine, work, f"could not update A/B test {test_id}")


def add_ab_snapshot(
    engine: Engine,
    test_id: int,
    *,
    at: datetime,
    action: str,
    n_champion: int,
    n_challenger: int,
    statistics: Mapping[str, Any],
) -> int:
    """Record the statistics of one evaluation of a test and what it decided (``continue``,
    ``promote``, ``reject`` or ``end``); returns the snapshot's id.

    Raises
    ------
    NotFoundError
        No test has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    statement = (
        insert(ABSnapshot)
        .values(
            test_id=test_id,
            at=at,
            action=action,
            n_champion=n_champion,
            n_challenger=n_challenger,
            statistics=dict(statistics),
        )
        .returning(ABSnapshot.id)
    )
    try:
        return _run(
            engine,
            lambda connection: int(connection.execute(statement).scalar_one()),
            f"could not record a snapshot of A/B test {test_id}",
        )
    except IntegrityError as exc:  # the foreign key: no such test
        raise NotFoundError(_not_found(test_id)) from exc


def get_ab_test(engine: Engine, test_id: int, *, snapshots: bool = True) -> dict[str, Any]:
    """One test, every column; with ``snapshots``, also its ``"snapshots"``, oldest first.

    Raises
    ------
    NotFoundError
        No test has that id.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """

    def work(connection: Connection) -> dict[str, Any] | None:
        row = connection.execute(select(ABTest).where(ABTest.id == test_id)).first()
        if row is None:
            return None
        test = _plain(row)
        if snapshots:
            query = select(ABSnapshot).where(ABSnapshot.test_id == test_id).order_by(ABSnapshot.id)
            test["snapshots"] = [
                _plain(snapshot, _SNAPSHOT_COLUMNS) for snapshot in connection.execute(query)
            ]
        return test

    test = _run(engine, work, f"could not read A/B test {test_id}")
    if test is None:
        raise NotFoundError(_not_found(test_id))
    return test


def list_ab_tests(
    engine: Engine,
    *,
    model_name: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Tests matching every filter given, newest first, without their snapshots.

    Raises
    ------
    ValueError
        If ``limit`` is below 1.
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = select(ABTest)
    if model_name is not None:
        query = query.where(ABTest.model_name == model_name)
    if status is not None:
        query = query.where(ABTest.status == status)
    query = query.order_by(ABTest.started_at.desc(), ABTest.id.desc()).limit(limit)
    rows = _run(
        engine, lambda connection: connection.execute(query).all(), "could not read the A/B tests"
    )
    return [_plain(row) for row in rows]


def running_ab_test(engine: Engine, model_name: str) -> dict[str, Any] | None:
    """The running test of ``model_name``, or None (without its snapshots).

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or stays locked.
    """
    query = select(ABTest).where(ABTest.model_name == model_name, ABTest.status == "running")
    row = _run(
        engine,
        lambda connection: connection.execute(query).first(),
        f"could not read the running A/B test of {model_name!r}",
    )
    return None if row is None else _plain(row)
