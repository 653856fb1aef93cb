"""Durable group commit of predictions.

``await writer.write(row)`` returns once the row is committed, or written to the local spool when
the database is unreachable. A background task writes each group in one transaction, so many
requests share one commit: the rows queued while the previous group was written form the next
group, up to ``max_rows``. A lone row is written at once; ``max_wait_ms`` (0 by default) can
make the first row of a group wait for company. The insert is idempotent on ``request_id``: a
row written twice (a replay after a commit whose acknowledgement was lost) is stored once.

On SQLite a group commits on the event loop's own thread, on a connection that never waits for a
lock, and a worker thread checkpoints the WAL (see :class:`~driftwarden.store.inserts.InlineSqlite`
for why); a group that meets another connection's lock, and every group on PostgreSQL, commits
in a worker thread.

While the spool holds rows, new rows are spooled too, so the database receives them in arrival
order once replayed.

When the database refuses a group for a reason other than an outage (a value it cannot hold),
its rows are written again one by one, so only the refused row's caller gets the error. A
spooled row was acknowledged already: if the database refuses it at replay, it is set aside with
the reason in the spool's ``.refused.jsonl`` file (see :meth:`Spool.set_aside`), and the other
rows are replayed, so one bad row cannot hold every later row in the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from driftwarden.core import Clock, ConfigError, StoreSettings, StoreUnavailableError, SystemClock
from driftwarden.store.inserts import InlineSqlite, LockBusyError, insert_rows, select_logged
from driftwarden.store.rows import PredictionRow
from driftwarden.store.spool import Spool

__all__ = ["PredictionWriter"]

logger = logging.getLogger(__name__)

_STOP = object()

# Longest wait between replay attempts while the spool is full and refusing rows.
_FULL_SPOOL_RETRY_SECONDS = 1.0

# Rows queued together, and the future that gets one error (or None) per row.
_Item = tuple[Sequence[PredictionRow], "asyncio.Future[list[BaseException | None]]"]


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
        Times the replay attempts and checkpoints; the system clock by default.
    inline_commits : bool or None, optional
        Commit groups on the event loop's thread, on a connection of the writer's own that never
        waits for a lock (see :class:`~driftwarden.store.inserts.InlineSqlite`); a group that
        meets a lock goes to a worker thread. ``None`` (the default) turns it on for SQLite,
        the only store whose commit is quicker than a thread hand-off.
    checkpoint_interval_seconds : float, optional
        With inline commits, how often a worker thread checkpoints the WAL while rows arrive
        (timed by the monotonic clock of the machine: disk upkeep follows real time, also
        under a simulated clock).
    wal_restart_pages : int, optional
        With inline commits, WAL pages past which a checkpoint starts the WAL over (see
        :class:`~driftwarden.store.inserts.InlineSqlite`).
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
        inline_commits: bool | None = None,
        checkpoint_interval_seconds: float = 1.0,
        wal_restart_pages: int = 16_384,
    ) -> None:
        if max_rows < 1:
            raise ConfigError(f"max_rows must be at least 1, got {max_rows}")
        if min(max_wait_ms, replay_interval_seconds, checkpoint_interval_seconds) < 0 or (
            wal_restart_pages < 0
        ):
            raise ConfigError(
                "max_wait_ms, replay_interval_seconds, checkpoint_interval_seconds and "
                f"wal_restart_pages must not be negative, got {max_wait_ms}, "
                f"{replay_interval_seconds}, {checkpoint_interval_seconds} and {wal_restart_pages}"
            )
        sqlite = engine.dialect.name == "sqlite"
        if inline_commits and not sqlite:
            raise ConfigError(
                f"inline_commits needs an SQLite store, got {engine.dialect.name}: its commits "
                "would block the event loop on the network"
            )
        self.engine = engine
        self.spool = spool
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000
        self.replay_interval = replay_interval_seconds
        self._clock = clock if clock is not None else SystemClock()
        self._queue: asyncio.Queue[Any] | None = None
        self._queued_rows = 0
        self._task: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._last_replay: float | None = None
        self.inline_commits = sqlite if inline_commits is None else inline_commits
        self.checkpoint_interval = checkpoint_interval_seconds
        self.wal_restart_pages = wal_restart_pages
        self._inline: InlineSqlite | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._last_checkpoint: float | None = None
        self.commits = 0
        self.rows = 0
        #: Groups that met another connection's write lock and were committed in a thread.
        self.lock_waits = 0

    @classmethod
    def from_settings(
        cls, engine: Engine, settings: StoreSettings, *, clock: Clock | None = None
    ) -> PredictionWriter:
        """Build a writer from the ``store`` section of the settings."""
        return cls(
            engine,
            Spool.claim(settings.spool_dir, max_bytes=settings.spool_max_bytes),
            max_rows=settings.group_commit_max_rows,
            max_wait_ms=settings.group_commit_max_wait_ms,
            clock=clock,
        )

    @property
    def queue_depth(self) -> int:
        """Rows waiting for their group to be written."""
        return self._queued_rows

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
        if self.inline_commits:
            self._inline = InlineSqlite(self.engine, restart_pages=self.wal_restart_pages)
            self._last_checkpoint = time.monotonic()
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
            try:
                checkpointing = self._checkpointing
                if checkpointing is not None and not checkpointing.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await checkpointing
            finally:
                self._checkpointing = None
                if self._inline is not None:
                    self._inline.close()
                    self._inline = None
                # Rows left in the spool stay in its file for the next process that claims it.
                self.spool.close()
            logger.info(
                "prediction writer stopped: %d rows in %d commits (%d waited for a lock)",
                self.rows,
                self.commits,
                self.lock_waits,
            )

    async def write(self, row: PredictionRow) -> None:
        """Log ``row``; return once it is committed or spooled.

        Raises
        ------
        RuntimeError
            If the writer is not running.
        Exception
            What the database raised if it refused the row.
        """
        (error,) = await self.submit([row])
        if error is not None:
            raise error

    def submit(self, rows: Sequence[PredictionRow]) -> asyncio.Future[list[BaseException | None]]:
        """Queue ``rows`` to be logged together; the future is done once they are committed or
        spooled.

        Returns
        -------
        asyncio.Future
            Its result is one entry per row: ``None`` when the row is stored, else the error
            the database raised for it (only that row's). Rows past ``max_rows`` are committed
            in further groups.

        Raises
        ------
        RuntimeError
            If the writer is not running.
        """
        queue = self._queue
        if queue is None:
            raise RuntimeError("the PredictionWriter is not running; call start() first")
        loop = asyncio.get_running_loop()
        size = self.max_rows
        if len(rows) <= size:
            done: asyncio.Future[list[BaseException | None]] = loop.create_future()
            queue.put_nowait((rows, done))
            self._queued_rows += len(rows)
            return done
        parts = [self.submit(rows[start : start + size]) for start in range(0, len(rows), size)]
        whole: asyncio.Future[list[BaseException | None]] = loop.create_future()

        def joined(_: asyncio.Future[list[BaseException | None]]) -> None:
            if not whole.done() and all(part.done() for part in parts):
                whole.set_result([error for part in parts for error in part.result()])

        for part in parts:
            part.add_done_callback(joined)
        return whole

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
            return await asyncio.to_thread(select_logged, self.engine, list(request_ids))
        except DBAPIError as exc:
            logger.warning(
                "could not look up %d logged predictions, treating them as new: %s",
                len(request_ids),
                exc.orig,
            )
            return {}

    async def replay(self) -> int:
        """Write the spool to the database in order and empty it.

        A row the database refuses (a value it cannot hold) is set aside with the reason in
        :attr:`Spool.refused_path`, never dropped; if the database becomes unreachable meanwhile,
        the spool keeps every row and a later replay starts over (the insert is idempotent).

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
        records = await asyncio.to_thread(self.spool.read)
        rows: list[PredictionRow] = []
        refused: list[tuple[Mapping[str, Any], str]] = []
        for record in records:
            try:
                rows.append(PredictionRow.from_record(record))
            except (ConfigError, KeyError, TypeError, ValueError) as exc:
                refused.append((record, f"not a prediction row: {exc}"))
        try:
            for start in range(0, len(rows), self.max_rows):
                group = rows[start : start + self.max_rows]
                try:
                    await asyncio.to_thread(insert_rows, self.engine, group)
                except StoreUnavailableError:
                    raise
                except Exception:  # a value the database refuses: find which, set it aside
                    refused.extend(await self._replay_one_by_one(group))
        except StoreUnavailableError as exc:
            logger.warning("spool replay failed: %s", exc, extra={"spool_size": len(records)})
            return 0
        if refused:
            await asyncio.to_thread(self.spool.set_aside, refused)
            logger.error(
                "the database refused %d spooled predictions; they are kept with the reason in %s",
                len(refused),
                self.spool.refused_path,
            )
        await asyncio.to_thread(self.spool.clear)
        replayed = len(records) - len(refused)
        logger.info("replayed %d spooled predictions", replayed)
        return replayed

    async def _replay_one_by_one(
        self, rows: list[PredictionRow]
    ) -> list[tuple[Mapping[str, Any], str]]:
        """Replay ``rows`` one at a time; return those the database refuses, with its error.

        Raises
        ------
        StoreUnavailableError
            If the database goes away meanwhile (the spool keeps every row).
        """
        refused: list[tuple[Mapping[str, Any], str]] = []
        for row in rows:
            try:
                await asyncio.to_thread(insert_rows, self.engine, [row])
            except StoreUnavailableError:
                raise
            except Exception as exc:
                refused.append((row.to_record(), str(exc)))
        return refused

    def seconds_until_replay(self) -> float | None:
        """Seconds until the spool is next written to the database; ``None`` while it is empty.

        Attempts are ``replay_interval`` apart, counted from the last one. While the spool is
        full every new row is refused, so the next attempt comes sooner: at most a second after
        the last one.
        """
        if not self.degraded:
            return None
        if self._last_replay is None:
            return 0.0
        interval = self.replay_interval
        if self.spool.full:
            interval = min(interval, _FULL_SPOOL_RETRY_SECONDS)
        return max(0.0, self._last_replay + interval - self._clock.monotonic())

    def _replay_due(self) -> bool:
        return self.seconds_until_replay() == 0.0

    async def _run(self) -> None:
        queue = self._queue
        if queue is None:  # pragma: no cover - start() sets it before creating the task
            return
        loop = asyncio.get_running_loop()
        carry: Any = None  # the item that did not fit in the last group: it starts the next
        stopping = False
        while not stopping:
            if carry is not None:
                item, carry = carry, None
            else:
                # Idle while degraded: wake for the next replay attempt, not a whole interval
                # after the last row, so the spool drains soon after the database is back.
                timeout = self.seconds_until_replay()
                try:
                    async with asyncio.timeout(timeout):
                        item = await queue.get()
                except TimeoutError:
                    await self._flush([])
                    continue
            batch: list[_Item] = []
            n_rows = 0
            deadline = loop.time() + self.max_wait
            while True:
                if item is _STOP:
                    stopping = True
                    break
                if batch and n_rows + len(item[0]) > self.max_rows:
                    carry = item
                    break
                batch.append(item)
                n_rows += len(item[0])
                if n_rows >= self.max_rows:
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

    async def _flush(self, batch: list[_Item]) -> None:
        rows = [row for rows, _ in batch for row in rows]
        self._queued_rows -= len(rows)
        errors: list[BaseException | None] = [None] * len(rows)
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
                errors = [exc] * len(rows)
        start = 0
        for item_rows, done in batch:
            end = start + len(item_rows)
            if not done.done():
                done.set_result(errors[start:end])
            start = end

    async def _replay_quietly(self) -> None:
        try:
            await self._replay_locked()
        except Exception:
            # A replay that fails for another reason than an outage (the spool or its refused
            # rows' file cannot be read or written) must not fail the requests of today: their
            # rows join the spool, which keeps every row until a replay succeeds.
            logger.exception(
                "spool replay failed; the spool keeps its rows",
                extra={"spool_size": self.spool.size},
            )

    async def _store(self, rows: list[PredictionRow]) -> list[BaseException | None]:
        """Commit or spool ``rows``; return the error each caller gets (``None``: stored)."""
        if not self.degraded:
            try:
                await self._insert(rows)
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

    async def _insert(self, rows: list[PredictionRow]) -> None:
        """Commit ``rows`` inline when possible, else in a worker thread.

        Raises
        ------
        StoreUnavailableError
            If the database cannot be reached.
        """
        inline = self._inline
        if inline is None:
            await asyncio.to_thread(insert_rows, self.engine, rows)
            return
        try:
            inline.insert(rows)
        except LockBusyError:
            # Another connection is writing: wait for it off the event loop.
            self.lock_waits += 1
            await asyncio.to_thread(insert_rows, self.engine, rows)
        self._checkpoint_if_due(inline)

    def _checkpoint_if_due(self, inline: InlineSqlite) -> None:
        now = time.monotonic()
        if (self._checkpointing is not None and not self._checkpointing.done()) or (
            self._last_checkpoint is not None
            and now - self._last_checkpoint < self.checkpoint_interval
        ):
            return
        self._last_checkpoint = now
        self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint(inline))

    async def _checkpoint(self, inline: InlineSqlite) -> None:
        try:
            await asyncio.to_thread(inline.checkpoint)
        except Exception as exc:  # the WAL only grows until the next one succeeds
            logger.warning("checkpointing the prediction log's WAL failed: %s", exc)
        finally:
            self._checkpointing = None

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
                await self._insert([row])
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
