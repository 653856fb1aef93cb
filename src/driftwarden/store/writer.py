"""Durable group commit of predictions.

``await writer.write(row)`` returns once the row is committed, or written to the local spool when
the database is unreachable. A background task writes each group in one transaction, so many
requests share one commit: the rows that arrive while one transaction commits (in a worker
thread) form the next group, up to ``max_rows``. A lone row is written at once; ``max_wait_ms``
(0 by default) can make the first row of a group wait for company. The
insert is idempotent on ``request_id``: a row written twice (a replay after a commit whose
acknowledgement was lost) is stored once.

While the spool holds rows, new rows are spooled too, so the database receives them in arrival
order once replayed.

When the database refuses a group for a reason other than an outage (a value it cannot hold),
its rows are written again one by one, so only the refused row's caller gets the error.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from driftwarden.core import Clock, ConfigError, StoreSettings, StoreUnavailableError, SystemClock
from driftwarden.store.spool import Spool
from driftwarden.store.tables import Prediction

__all__ = [
    "PredictionRow",
    "PredictionWriter",
    "insert_rows",
]

logger = logging.getLogger(__name__)

VARIANTS = frozenset({"champion", "challenger", "shadow"})
# What serving appends to a request id to log the challenger's shadow score of it.
_SHADOW_SUFFIX = ":shadow"


@dataclass(frozen=True, slots=True)
class PredictionRow:
    """One prediction to log.

    ``parent_request_id`` is set on a shadow row only: the request id of the answered row it
    shadows, under which that request's label arrives.

    Raises
    ------
    ConfigError
        If ``created_at`` is naive or ``variant`` is not champion, challenger or shadow.
    """

    request_id: str
    created_at: datetime
    model_version: int
    variant: str
    features: Mapping[str, Any] = field(hash=False)
    score: float
    label: int
    latency_ms: float
    entity_id: str | None = None
    parent_request_id: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ConfigError(
                f"PredictionRow.created_at must be timezone-aware, got the naive "
                f"{self.created_at.isoformat()}; take it from a Clock"
            )
        if self.variant not in VARIANTS:
            raise ConfigError(
                f"PredictionRow.variant must be one of {sorted(VARIANTS)}, got {self.variant!r}"
            )

    def to_record(self) -> dict[str, Any]:
        """Return the row as JSON-ready values (``created_at`` as ISO 8601 in UTC)."""
        record = self.to_params()
        record["created_at"] = self.created_at.astimezone(UTC).isoformat()
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PredictionRow:
        """Inverse of :meth:`to_record`.

        A key the record lacks (spooled before the field existed) takes the field's default,
        except that a shadow row spooled before rows named their parent gets it from its
        request id, as migration 0004 gave it to the shadow rows already stored.
        """
        values = dict(record)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        if "parent_request_id" not in values and values.get("variant") == "shadow":
            request_id: str = values["request_id"]
            if request_id.endswith(_SHADOW_SUFFIX):
                values["parent_request_id"] = request_id.removesuffix(_SHADOW_SUFFIX)
        return cls(**values)

    def to_params(self) -> dict[str, Any]:
        """Return the column values for an insert."""
        # Spelled out: dataclasses.asdict deep-copies the features, on the hot path.
        return {
            "request_id": self.request_id,
            "created_at": self.created_at,
            "model_version": self.model_version,
            "variant": self.variant,
            "features": dict(self.features),
            "score": self.score,
            "label": self.label,
            "latency_ms": self.latency_ms,
            "entity_id": self.entity_id,
            "parent_request_id": self.parent_request_id,
        }


def _is_unavailable(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


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
    serving that was three quarters of the cost of a commit.
    """

    sql: str
    positional: bool
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, row: PredictionRow) -> tuple[Any, ...] | dict[str, Any]:
        values = row.to_params()
        processed = [
            value if process is None else process(value)
            for value, process in zip(
                (values[name] for name in self.names), self.processors, strict=True
            )
        ]
        return (
            tuple(processed) if self.positional else dict(zip(self.names, processed, strict=True))
        )


@functools.cache
def _insert_plan(dialect: Dialect) -> _InsertPlan:
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement = insert(Prediction).on_conflict_do_nothing(index_elements=["request_id"])
    compiled = statement.compile(dialect=dialect, column_keys=list(_COLUMNS))
    names = tuple(compiled.positiontup or ()) if compiled.positional else _COLUMNS
    columns = Prediction.__table__.columns
    processors = tuple(
        columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return _InsertPlan(compiled.string, bool(compiled.positional), names, processors)


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
        cursor = connection.cursor()
        try:
            cursor.executemany(plan.sql, parameters)
        finally:
            cursor.close()
        connection.commit()
    except (DBAPIError, dbapi_error) as exc:
        # The driver's own exception, as SQLAlchemy would have raised it.
        error = (
            exc
            if isinstance(exc, DBAPIError)
            else DBAPIError.instance(plan.sql, None, exc, dbapi_error, dialect=engine.dialect)
        )
        if not isinstance(error, DBAPIError) or not _is_unavailable(error):
            raise error from exc
        if connection is not None:
            connection.invalidate()  # it may be dead: never hand it out again
        raise StoreUnavailableError(
            f"could not write {len(rows)} predictions: {error.orig}; they go to the spool"
        ) from exc
    finally:
        if connection is not None:
            connection.close()


def _select_logged(engine: Engine, request_ids: list[str]) -> dict[str, PredictionRow]:
    columns = [Prediction.__table__.c[name] for name in _COLUMNS]
    query = select(*columns).where(Prediction.request_id.in_(request_ids))
    with engine.connect() as connection:
        return {row.request_id: PredictionRow(**row._mapping) for row in connection.execute(query)}


_STOP = object()


class PredictionWriter:
    """Group-commit writer of predictions for one asyncio event loop.

    Parameters
    ----------
    engine : Engine
        The migrated store.
    spool : Spool
        Where rows wait while the database is unreachable.
    max_rows : int, optional
        Most rows in one transaction.
    max_wait_ms : float, optional
        Longest a row waits for its group to fill.
    replay_interval_seconds : float, optional
        Least time between two automatic replays of the spool.
    clock : Clock or None, optional
        Times the replay attempts; the system clock by default.
    """

    def __init__(
        self,
        engine: Engine,
        spool: Spool,
        *,
        max_rows: int = 256,
        max_wait_ms: float = 0.0,
        replay_interval_seconds: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        if max_rows < 1:
            raise ConfigError(f"max_rows must be at least 1, got {max_rows}")
        if max_wait_ms < 0 or replay_interval_seconds < 0:
            raise ConfigError(
                "max_wait_ms and replay_interval_seconds must not be negative, got "
                f"{max_wait_ms} and {replay_interval_seconds}"
            )
        self.engine = engine
        self.spool = spool
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000
        self.replay_interval = replay_interval_seconds
        self._clock = clock if clock is not None else SystemClock()
        self._queue: asyncio.Queue[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._last_replay: float | None = None
        self.commits = 0
        self.rows = 0

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: StoreSettings, *, clock: Clock | None = None
    ) -> PredictionWriter:
        """Build a writer from the ``store`` section of the settings."""
        return cls(
            engine,
            Spool(settings.spool_dir),
            max_rows=settings.group_commit_max_rows,
            max_wait_ms=settings.group_commit_max_wait_ms,
            clock=clock,
        )

    @property
    def queue_depth(self) -> int:
        """Rows waiting for their group to be written."""
        return 0 if self._queue is None else self._queue.qsize()

    @property
    def spool_size(self) -> int:
        """Rows in the spool, waiting for the database."""
        return self.spool.size

    @property
    def degraded(self) -> bool:
        """True while rows go to the spool instead of the database."""
        return self.spool.size > 0

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._task is not None

    def start(self) -> None:
        """Start the background task; call from inside the running event loop."""
        if self._task is not None:
            raise RuntimeError("the PredictionWriter is already running; call stop() first")
        self._queue = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Write every pending row, then stop the background task."""
        if self._task is None or self._queue is None:
            return
        self._queue.put_nowait(_STOP)
        try:
            await self._task
        finally:
            self._task = None
            self._queue = None
            logger.info("prediction writer stopped: %d rows in %d commits", self.rows, self.commits)

    async def write(self, row: PredictionRow) -> None:
        """Log ``row``; return once it is committed or spooled.

        Raises
        ------
        RuntimeError
            If the writer is not running.
        """
        if self._queue is None:
            raise RuntimeError("the PredictionWriter is not running; call start() first")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, done))
        await done

    async def find_logged(self, request_ids: Collection[str]) -> dict[str, PredictionRow]:
        """Return the committed rows among ``request_ids``, keyed by request id.

        Parameters
        ----------
        request_ids : collection of str
            The ids to look up, in one indexed query.

        Returns
        -------
        dict
            Only the ids found in the database. Empty while the writer is degraded or when the
            database cannot answer: the caller then treats the ids as new, and the idempotent
            insert keeps whichever row was stored first.

        Notes
        -----
        Rows still waiting in the spool are not seen; reading the spool file on every lookup
        would cost more than treating those few ids as new.
        """
        # While degraded the database was unreachable at the last attempt: asking it again
        # would make the request wait for a connection timeout.
        if not request_ids or self.degraded:
            return {}
        try:
            return await asyncio.to_thread(_select_logged, self.engine, list(request_ids))
        except DBAPIError as exc:
            logger.warning(
                "could not look up %d logged predictions, treating them as new: %s",
                len(request_ids),
                exc.orig,
            )
            return {}

    async def replay(self) -> int:
        """Write the spool to the database in order and empty it.

        Returns
        -------
        int
            Rows replayed; 0 when the spool is empty or the database is still unreachable.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self._replay_locked()

    async def _replay_locked(self) -> int:
        self._last_replay = self._clock.monotonic()
        if self.spool.size == 0:
            return 0
        rows = [PredictionRow.from_record(r) for r in await asyncio.to_thread(self.spool.read)]
        try:
            for start in range(0, len(rows), self.max_rows):
                await asyncio.to_thread(
                    insert_rows, self.engine, rows[start : start + self.max_rows]
                )
        except StoreUnavailableError as exc:
            logger.warning("spool replay failed: %s", exc, extra={"spool_size": len(rows)})
            return 0
        await asyncio.to_thread(self.spool.clear)
        logger.info("replayed %d spooled predictions", len(rows))
        return len(rows)

    def _replay_due(self) -> bool:
        return (
            self._last_replay is None
            or self._clock.monotonic() - self._last_replay >= self.replay_interval
        )

    async def _run(self) -> None:
        queue = self._queue
        if queue is None:  # pragma: no cover - start() sets it before creating the task
            return
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            timeout = self.replay_interval if self.degraded else None
            try:
                async with asyncio.timeout(timeout):
                    first = await queue.get()
            except TimeoutError:
                await self._flush([])
                continue
            batch: list[tuple[PredictionRow, asyncio.Future[None]]] = []
            item = first
            deadline = loop.time() + self.max_wait
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= self.max_rows:
                    break
                try:
                    item = queue.get_nowait()
                    continue
                except asyncio.QueueEmpty:
                    if self.max_wait <= 0:
                        break
                try:
                    async with asyncio.timeout_at(deadline):
                        item = await queue.get()
                except TimeoutError:
                    break
            await self._flush(batch)

    async def _flush(self, batch: list[tuple[PredictionRow, asyncio.Future[None]]]) -> None:
        rows = [row for row, _ in batch]
        errors: list[BaseException | None] = [None] * len(batch)
        lock = self._lock
        if lock is None:  # pragma: no cover - start() sets it
            return
        async with lock:
            try:
                if self.degraded and self._replay_due():
                    await self._replay_quietly()
                if rows:
                    errors = await self._store(rows)
            except Exception as exc:  # delivered to every waiting caller below
                errors = [exc] * len(batch)
        for (_, done), error in zip(batch, errors, strict=True):
            if done.done():
                continue
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    async def _replay_quietly(self) -> None:
        try:
            await self._replay_locked()
        except Exception:
            # A spooled row the database refuses must not fail the requests of today: their
            # rows join the spool, which keeps every row until a replay succeeds.
            logger.exception(
                "spool replay failed; the spool keeps its rows",
                extra={"spool_size": self.spool.size},
            )

    async def _store(self, rows: list[PredictionRow]) -> list[BaseException | None]:
        """Commit or spool ``rows``; return the error each caller gets (``None``: stored)."""
        if not self.degraded:
            try:
                await asyncio.to_thread(insert_rows, self.engine, rows)
            except StoreUnavailableError as exc:
                logger.warning("database unreachable, spooling: %s", exc)
                self._last_replay = self._clock.monotonic()
            except Exception as exc:
                if len(rows) == 1:
                    return [exc]
                return await self._store_one_by_one(rows, exc)
            else:
                self.commits += 1
                self.rows += len(rows)
                return [None] * len(rows)
        await asyncio.to_thread(self.spool.append, [row.to_record() for row in rows])
        return [None] * len(rows)

    async def _store_one_by_one(
        self, rows: list[PredictionRow], group_error: Exception
    ) -> list[BaseException | None]:
        """Write a refused group row by row, so one bad row fails only its own caller."""
        logger.warning(
            "the database refused a group of %d predictions (%s); writing them one by one",
            len(rows),
            group_error,
        )
        errors: list[BaseException | None] = []
        for index, row in enumerate(rows):
            try:
                await asyncio.to_thread(insert_rows, self.engine, [row])
            except StoreUnavailableError as exc:
                logger.warning("database unreachable, spooling: %s", exc)
                self._last_replay = self._clock.monotonic()
                rest = rows[index:]
                try:
                    await asyncio.to_thread(self.spool.append, [r.to_record() for r in rest])
                except Exception as spool_error:  # the rows not spooled fail their callers
                    return errors + [spool_error] * len(rest)
                return errors + [None] * len(rest)
            except Exception as exc:
                logger.warning(
                    "the database refused a prediction: %s",
                    exc,
                    extra={"request_id": row.request_id},
                )
                errors.append(exc)
            else:
                self.commits += 1
                self.rows += 1
                errors.append(None)
        return errors
