"""Micro-batching: concurrent requests are scored together in one model call.

A model call costs about the same for one row as for fifty (per-call setup and validation), so
the server scores whatever has queued up in one call. Batches form by themselves: the requests
that arrive while one batch is scored are the next batch: before taking a batch the batcher lets
the event loop run once more, so the requests whose bytes have arrived reach the queue too. A
lone request is therefore scored at once, and under load batches grow to ``max_rows`` with no
added wait. ``max_wait_ms`` (0 by default) can make the first request of a batch wait for
company, trading latency for fewer calls.

A request may also hand over a ``record`` function, which turns its scores into records (the
prediction rows to log) as soon as the batch is scored. The records of the whole batch go to
``commit`` in one call, and each such request gets its scores once its records are stored: the
prediction log's group is the scoring batch, with no queue, future or wake-up per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Committer", "MicroBatcher", "Recorder", "Row", "Scorer"]

Row = Mapping[str, Any]
Scorer = Callable[[Sequence[Row]], NDArray[np.float64]]
#: Turns a request's scores into the records to store before it is answered.
Recorder = Callable[[NDArray[np.float64]], Sequence[Any]]
#: Stores records; the future's result holds one error (or None) per record.
Committer = Callable[[Sequence[Any]], "asyncio.Future[list[BaseException | None]]"]


@dataclass(slots=True)
class _Pending:
    rows: Sequence[Row]
    future: asyncio.Future[NDArray[np.float64]]
    record: Recorder | None = None


class MicroBatcher:
    """Gathers concurrent scoring requests into batches.

    Parameters
    ----------
    score : callable
        Scores a list of rows, returning one probability per row (called in a worker thread).
    max_rows : int
        Rows per model call at most (a request larger than this is scored on its own).
    max_wait_ms : float
        How long the first request of a batch waits for company; 0 scores what has queued.
    in_thread : bool
        Score in a worker thread (for a slow model), or on the event loop (for one that scores
        a batch in about a millisecond, where the thread hand-off and the fight for the GIL
        cost more than they save).
    commit : callable or None
        Stores the records that the requests' ``record`` functions make of a batch's scores, in
        one call per batch (see :meth:`submit`); ``None`` stores nothing.
    """

    def __init__(
        self,
        score: Scorer,
        *,
        max_rows: int = 64,
        max_wait_ms: float = 0.0,
        in_thread: bool = True,
        commit: Committer | None = None,
    ) -> None:
        self._score = score
        self._commit = commit
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000.0
        self.in_thread = in_thread
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0
        self.rows = 0

    def start(self) -> None:
        """Start the batching task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        """Stop after scoring everything already submitted."""
        if self._task is None:
            return
        await self._queue.join()
        # From here on (no await in between), a late request is scored on its own in submit().
        self._closed = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(
        self, rows: Sequence[Row], record: Recorder | None = None
    ) -> NDArray[np.float64]:
        """Score ``rows`` as part of the next batch.

        Parameters
        ----------
        rows : sequence of mappings
            The rows to score.
        record : callable, optional
            Called with the scores as soon as the batch is scored; the records it returns are
            stored through ``commit`` (with the other requests' records of the batch) before
            this returns. If it raises, or the store refuses one of its records, this raises
            that error.
        """
        future: asyncio.Future[NDArray[np.float64]] = asyncio.get_running_loop().create_future()
        pending = _Pending(rows, future, record)
        if self._closed:
            # A request that took this model just before a swap stopped it (its scoring task
            # had not run yet): scored alone rather than left waiting for a batch forever.
            await self._score_batch([pending], queued=False)
        else:
            self._queue.put_nowait(pending)
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if self.max_wait <= 0:
                # Requests whose bytes arrived while the last batch was scored are parsed in
                # this turn of the loop: let them join.
                await asyncio.sleep(0)
            batch = [first]
            n_rows = len(first.rows)
            deadline = time.monotonic() + self.max_wait
            while n_rows < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                batch.append(item)
                n_rows += len(item.rows)
            await self._score_batch(batch)

    async def _score_batch(self, batch: list[_Pending], *, queued: bool = True) -> None:
        try:
            rows = batch[0].rows if len(batch) == 1 else [r for p in batch for r in p.rows]
            if self.in_thread:
                scores = await asyncio.to_thread(self._score, rows)
            else:
                scores = self._score(rows)
        except Exception as exc:  # every waiter gets the failure; the batcher keeps running
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
        else:
            self.batches += 1
            self.rows += len(rows)
            self._deliver(batch, scores)
        finally:
            if queued:
                for _ in batch:
                    self._queue.task_done()

    def _deliver(self, batch: list[_Pending], scores: NDArray[np.float64]) -> None:
        """Answer each request of a scored batch, after storing the records it asks for."""
        commit = self._commit
        records: list[Any] = []
        storing: list[tuple[_Pending, NDArray[np.float64], int, int]] = []
        start = 0
        for pending in batch:
            end = start + len(pending.rows)
            own = scores[start:end]
            start = end
            if pending.future.done():  # its caller went away
                continue
            if pending.record is not None:
                try:
                    made = pending.record(own)
                except Exception as exc:  # this request fails, the others go on
                    pending.future.set_exception(exc)
                    continue
                if commit is not None and made:
                    storing.append((pending, own, len(records), len(records) + len(made)))
                    records.extend(made)
                    continue
            pending.future.set_result(own)
        if commit is None or not storing:
            return
        try:
            stored = commit(records)
        except Exception as exc:
            for pending, *_ in storing:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        stored.add_done_callback(functools.partial(_answer_stored, storing))


def _answer_stored(
    storing: list[tuple[_Pending, NDArray[np.float64], int, int]],
    stored: asyncio.Future[list[BaseException | None]],
) -> None:
    """Answer the requests whose records are stored; fail those with a refused record."""
    errors: list[BaseException | None] | None = None
    failure: BaseException | None = None
    if stored.cancelled():
        failure = RuntimeError("storing the batch's records was cancelled; nothing is answered")
    elif (failure := stored.exception()) is None:
        errors = stored.result()
    for pending, own, start, end in storing:
        if pending.future.done():
            continue
        error = failure
        if errors is not None:
            error = next((e for e in errors[start:end] if e is not None), None)
        if error is None:
            pending.future.set_result(own)
        else:
            pending.future.set_exception(error)
