"""Micro-batching: concurrent requests are scored together in one model call.

A scikit-learn pipeline costs about the same for one row as for fifty (the cost is in validation,
frame handling and per-call setup), so under concurrency the server gathers what arrives within
``max_wait_ms`` of the first waiting request, up to ``max_rows`` rows, and scores it in one call.
A lone request waits at most ``max_wait_ms``; the scoring runs in a worker thread, so the event
loop keeps accepting the requests that form the next batch meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["MicroBatcher"]

Scorer = Callable[[pd.DataFrame], NDArray[np.float64]]


@dataclass(slots=True)
class _Pending:
    rows: pd.DataFrame
    future: asyncio.Future[NDArray[np.float64]]


class MicroBatcher:
    """Gathers concurrent scoring requests into batches.

    Parameters
    ----------
    score : callable
        Scores a frame, returning one probability per row (called in a worker thread).
    max_rows : int
        Rows per model call at most (a request larger than this is scored on its own).
    max_wait_ms : float
        How long the first request of a batch waits for company.
    """

    def __init__(self, score: Scorer, *, max_rows: int = 64, max_wait_ms: float = 2.0) -> None:
        self._score = score
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000.0
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

    async def submit(self, rows: pd.DataFrame) -> NDArray[np.float64]:
        """Score ``rows`` as part of the next batch."""
        future: asyncio.Future[NDArray[np.float64]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(rows, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            n_rows = len(first.rows)
            deadline = time.monotonic() + self.max_wait
            while n_rows < self.max_rows:
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
            frame = batch[0].rows if len(batch) == 1 else pd.concat([p.rows for p in batch])
            scores = await asyncio.to_thread(self._score, frame)
        except Exception as exc:  # every waiter gets the failure; the batcher keeps running
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
        else:
            self.batches += 1
            self.rows += len(frame)
            start = 0
            for pending in batch:
                end = start + len(pending.rows)
                if not pending.future.done():
                    pending.future.set_result(scores[start:end])
                start = end
        finally:
            for _ in batch:
                self._queue.task_done()
