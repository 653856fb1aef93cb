"""The idempotent insert of prediction rows: through the pool, or inline on a writer's own
SQLite connection.

:func:`insert_rows` checks a connection out of the engine's pool for one group and may wait for
a lock (the busy timeout); it runs in a worker thread. :class:`InlineSqlite` is the writer's
own SQLite connection, on which a group commits on the event loop's thread without ever waiting
for a lock (see its notes for why).
"""

from __future__ import annotations

import functools
import logging
import operator
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

from driftwarden.core import StoreUnavailableError
from driftwarden.store.engine import is_outage
from driftwarden.store.rows import PredictionRow
from driftwarden.store.tables import Prediction

__all__ = ["InlineSqlite", "LockBusyError", "insert_rows", "select_logged"]

logger = logging.getLogger(__name__)


# The insert's columns, in the order PredictionRow.to_params gives them.
_COLUMNS = (
    "request_id",
    "created_at",
    "model_version",
    "variant",
    "features",
    "score",
    "label",
    "latency_ms",
    "entity_id",
    "parent_request_id",
)


@dataclass(frozen=True, slots=True)
class _InsertPlan:
    """The idempotent insert compiled once for a dialect, with each column's bind processor.

    Executing it on the driver's cursor skips what SQLAlchemy redoes for every statement (cache
    lookup, execution context, per-row parameter construction): for the small groups of online
    serving that was three quarters of the cost of a commit. A row's values are read in one
    call, in the statement's order, and only the columns that need it (the JSON features, the
    time) go through a bind processor.
    """

    sql: str
    positional: bool
    names: tuple[str, ...]
    values: Callable[[PredictionRow], tuple[Any, ...]]
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, row: PredictionRow) -> tuple[Any, ...] | dict[str, Any]:
        values = list(self.values(row))
        for position, process in self.processed:
            values[position] = process(values[position])
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))


def _as_dict(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` for the features: a row may hold any mapping, the JSON encoder takes dicts."""

    def features(value: Any) -> Any:
        return process(value if type(value) is dict else dict(value))

    return features


@functools.cache
def _insert_plan(dialect: Dialect) -> _InsertPlan:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(Prediction).on_conflict_do_nothing(index_elements=["request_id"])
    compiled = statement.compile(dialect=dialect, column_keys=list(_COLUMNS))
    names = tuple(compiled.positiontup or ()) if compiled.positional else _COLUMNS
    columns = Prediction.__table__.columns
    processed = []
    for position, name in enumerate(names):
        process = columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processed.append((position, _as_dict(process) if name == "features" else process))
    values = operator.attrgetter(*names)
    return _InsertPlan(compiled.string, bool(compiled.positional), names, values, tuple(processed))


def _translate(
    engine: Engine, plan: _InsertPlan, rows: Sequence[PredictionRow], exc: Exception
) -> Exception:
    """The error a failed group raises: :class:`StoreUnavailableError` for an outage, else the
    driver's own error as SQLAlchemy would have raised it (a value the database refuses)."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    error = (
        exc
        if isinstance(exc, DBAPIError)
        else DBAPIError.instance(plan.sql, None, exc, dbapi_error, dialect=engine.dialect)
    )
    if not isinstance(error, DBAPIError) or not is_outage(error):
        return error
    return StoreUnavailableError(
        f"could not write {len(rows)} predictions: {error.orig}; they go to the spool"
    )


def _execute(connection: Any, plan: _InsertPlan, parameters: list[Any]) -> None:
    cursor = connection.cursor()
    try:
        cursor.executemany(plan.sql, parameters)
    finally:
        cursor.close()
    connection.commit()


def insert_rows(engine: Engine, rows: Sequence[PredictionRow]) -> None:
    """Insert ``rows`` in one transaction, skipping any whose ``request_id`` is stored.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached or is locked.
    """
    if not rows:
        return
    plan = _insert_plan(engine.dialect)
    parameters: list[Any] = [plan.parameters(row) for row in rows]
    dbapi_error = engine.dialect.loaded_dbapi.Error
    connection = None
    try:
        connection = engine.raw_connection()
        _execute(connection, plan, parameters)
    except (DBAPIError, dbapi_error) as exc:
        error = _translate(engine, plan, rows, exc)
        if isinstance(error, StoreUnavailableError) and connection is not None:
            connection.invalidate()  # it may be dead: never hand it out again
        raise error from exc
    finally:
        if connection is not None:
            connection.close()


class LockBusyError(Exception):
    """Another connection holds SQLite's write lock: the group must wait for it elsewhere."""


class InlineSqlite:
    """A writer's own SQLite connection, on which a group commits without waiting for a lock.

    Parameters
    ----------
    engine : Engine
        The SQLite store; its pool lends the connection, which is then detached from it (its
        settings differ from the pool's, so it never goes back).

    Notes
    -----
    A commit to SQLite in WAL mode with ``synchronous=NORMAL`` is a few writes into the page
    cache: tens of microseconds. Run in a worker thread, it cost the server more than that: the
    hand-off, and then the worker winning the GIL back from the busy event loop after every SQLite
    call, while the requests awaiting the commit waited too. Committed inline, on the event
    loop's own thread, it costs only itself. Two settings keep the event loop from ever waiting
    in SQLite:

    - ``busy_timeout=0``: while another connection (a label write, another process) holds the
      write lock, :meth:`insert` raises :class:`LockBusyError` at once, and the caller commits the
      group in a worker thread that waits as long as the store's busy timeout allows.
    - ``wal_autocheckpoint=0``: a checkpoint copies the WAL into the database file and syncs it
      to disk, milliseconds the event loop must not spend. :meth:`checkpoint`, called from a worker
      thread, does it instead. Other connections keep SQLite's automatic checkpoints.

    A checkpoint that runs beside a stream of commits never sees the WAL fully copied at the
    moment a write begins, which is when SQLite starts the WAL over: the file would grow without
    end. So :meth:`checkpoint` copies what it can without blocking anyone (``PASSIVE``) and, once
    the WAL holds more than ``restart_pages`` pages, also runs ``RESTART``: it holds writers off
    for the little left to copy and the disk syncs (the writer's groups then meet a busy lock and
    wait in a worker thread), after which the next commit starts the WAL over. A WAL file that
    grew past ``journal_size_limit`` bytes is cut back when it starts over.

    Parameters
    ----------
    engine : Engine
        The SQLite store; its pool lends the connection, which is then detached from it (its
        settings differ from the pool's, so it never goes back).
    restart_pages : int, optional
        WAL pages past which a checkpoint also starts the WAL over.
    journal_size_limit : int, optional
        Bytes the WAL file is cut back to when it starts over.
    """

    def __init__(
        self, engine: Engine, *, restart_pages: int = 16_384, journal_size_limit: int = 64 << 20
    ) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError(f"InlineSqlite needs an SQLite engine, got {engine.dialect.name}")
        if restart_pages < 0 or journal_size_limit < 0:
            raise ValueError(
                f"restart_pages and journal_size_limit must not be negative, got {restart_pages} "
                f"and {journal_size_limit}"
            )
        self.engine = engine
        self.restart_pages = restart_pages
        self.journal_size_limit = journal_size_limit
        self._plan = _insert_plan(engine.dialect)
        self._connection: PoolProxiedConnection | None = None

    def _connect(self) -> PoolProxiedConnection:
        if self._connection is None:
            connection = self.engine.raw_connection()
            connection.detach()  # closed for good when done, never handed to anyone else
            try:
                connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
                connection.dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # type: ignore[union-attr]
                connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    f"PRAGMA journal_size_limit={int(self.journal_size_limit)}"
                )
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def insert(self, rows: Sequence[PredictionRow]) -> None:
        """Insert ``rows`` in one transaction, as :func:`insert_rows` does, without waiting.

        Raises
        ------
        LockBusyError
            If another connection holds the write lock; nothing was written.
        StoreUnavailableError
            If the database cannot be reached; the connection is dropped and made anew next time.
        """
        if not rows:
            return
        parameters: list[Any] = [self._plan.parameters(row) for row in rows]
        try:
            connection = self._connect()
            _execute(connection, self._plan, parameters)
        except (sqlite3.Error, DBAPIError) as exc:  # the latter from opening through the pool
            if isinstance(exc, sqlite3.Error) and _is_busy(exc):
                self._rollback()  # the connection is sound: keep it, opening costs the loop
                raise LockBusyError(str(exc)) from exc
            self._abandon()
            raise _translate(self.engine, self._plan, rows, exc) from exc
        except BaseException:
            # Whatever failed (a value the driver cannot bind, say), no part of this group may
            # stay in an open transaction for the next group to commit.
            self._abandon()
            raise

    def checkpoint(self) -> int:
        """Copy committed WAL pages into the database file; start the WAL over when it is long.

        Runs on a connection of the pool, which waits for locks, so call it from a worker
        thread.

        Returns
        -------
        int
            The pages the WAL held when the checkpoint began.
        """
        with self.engine.connect() as connection:
            _, pages, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            if pages > self.restart_pages:
                started = time.perf_counter()
                connection.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)")
                # Writers wait while it runs: worth knowing when tail latencies rise.
                logger.info(
                    "started the prediction log's WAL over at %d pages; writers waited up to "
                    "%.1f ms",
                    pages,
                    (time.perf_counter() - started) * 1000,
                )
        return int(pages)

    def _rollback(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            connection.rollback()
        except sqlite3.Error:
            self._abandon()

    def _abandon(self) -> None:
        """Roll back and close the connection after a failure; the next insert opens another."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.rollback()
        except sqlite3.Error:
            pass  # closing below ends the transaction all the same
        finally:
            connection.close()

    def close(self) -> None:
        """Close the connection (it is not returned to the pool)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def select_logged(engine: Engine, request_ids: list[str]) -> dict[str, PredictionRow]:
    columns = [Prediction.__table__.c[name] for name in _COLUMNS]
    query = select(*columns).where(Prediction.request_id.in_(request_ids))
    with engine.connect() as connection:
        return {row.request_id: PredictionRow(**row._mapping) for row in connection.execute(query)}
