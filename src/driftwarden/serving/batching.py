"""Micro-batching: concurrent requests are scored together in one model call.

A model call costs about the same for one row as for fifty (per-call setup and validation), so
the server scores whatever has queued up in one call. Batches form by themselves: the requests
that arrive while one batch is scored are the next batch. A lone request is therefore scored at
once, and under load batches grow to ``max_rows`` with no added wait. ``max_wait_ms`` (0 by
default) can make the first request of a batch wait for company, trading latency for fewer
calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MicroBatcher", "Row", "Scorer"]

Row = Mapping[str, Any]
Scorer = Callable[[Sequence[Row]], NDArray[np.float64]]


@dataclass(slots=True)
class _Pending:
    rows: Sequence[Row]
    future: asyncio.Future[NDArray[np.float64]]


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
    """

    def __init__(
        self,
        score: Scorer,
        *,
        max_rows: int = 64,
        max_wait_ms: float = 0.0,
        in_thread: bool = True,
    ) -> None:
        self._score = score
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000.0
        self.in_thread = in_thread
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
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
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, rows: Sequence[Row]) -> NDArray[np.float64]:
        """Score ``rows`` as part of the next batch."""
        future: asyncio.Future[NDArray[np.float64]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(rows, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
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

    async def _score_batch(self, batch: list[_Pending]) -> None:
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
            start = 0
            for pending in batch:
                end = start + len(pending.rows)
                if not pending.future.done():
                    pending.future.set_result(scores[start:end])
                start = end
        finally:
            for _ in batch:
                self._queue.task_done()
