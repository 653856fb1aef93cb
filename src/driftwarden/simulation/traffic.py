"""Live traffic against a running API: ``driftwarden traffic``.

Generated customers (a :class:`~driftwarden.data.RowGenerator` fitted on the training data) are
sent to ``POST /v1/predict`` at a steady rate, with drift scenarios switching on at wall-clock
times, and each prediction's true label is sent to ``POST /v1/feedback`` ``label_delay`` after
its answer. It stops by itself after a duration or a number of predictions, then sends the
labels still owed. Requests are paced by a schedule (request ``i`` is due at ``i * batch /
rate`` seconds), not by answers, with at most ``concurrency`` in flight, so a slow server shows
up as latency and a falling achieved rate, not as a silently lower load.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from driftwarden.client import AsyncDriftwardenClient
from driftwarden.core import ConfigError, DriftwardenError
from driftwarden.data import RowGenerator, Scenario
from driftwarden.schema import FeatureSchema
from driftwarden.simulation.simulate import as_records, true_labels

__all__ = ["TrafficOptions", "TrafficStats", "run_traffic"]

# Customers are drawn this many at most, or this many seconds of traffic, at a time.
_POOL_ROWS = 500
_POOL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class TrafficOptions:
    """How much traffic, how fast, and when it stops."""

    rate: float = 20.0  # predictions a second
    batch: int = 1  # rows per request
    duration: timedelta | None = timedelta(minutes=10)
    count: int | None = None
    label_delay: timedelta = timedelta(seconds=30)
    concurrency: int = 8
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the first option that cannot work."""
        if not self.rate > 0:
            raise ConfigError(f"rate must be positive, got {self.rate}", key="rate")
        if self.batch < 1:
            raise ConfigError(f"batch must be at least 1, got {self.batch}", key="batch")
        if self.duration is None and self.count is None:
            raise ConfigError("give a duration or a count: traffic must stop", key="duration")
        if self.count is not None and self.count < 1:
            raise ConfigError(f"count must be at least 1, got {self.count}", key="count")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1", key="concurrency")


@dataclass(slots=True)
class TrafficStats:
    """What was sent and how the server answered."""

    started: float = field(default_factory=time.monotonic)
    predictions: int = 0
    requests: int = 0
    errors: int = 0
    labels: int = 0
    last_error: str | None = None
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.started

    def line(self) -> str:
        """One progress line: rate, latency percentiles, errors, labels."""
        rate = self.predictions / self.elapsed if self.elapsed > 0 else 0.0
        recent = self.latencies_ms[-2000:]
        p50, p99 = np.percentile(recent, [50, 99]) if recent else (float("nan"),) * 2
        error = f" (last: {self.last_error})" if self.last_error else ""
        return (
            f"{self.elapsed:7.1f}s  {self.predictions:,} predictions at {rate:.1f}/s, "
            f"latency p50 {p50:.1f} ms p99 {p99:.1f} ms, {self.errors} errors{error}, "
            f"{self.labels:,} labels sent"
        )


async def run_traffic(
    client: AsyncDriftwardenClient,
    generator: RowGenerator,
    schema: FeatureSchema,
    scenario: Scenario | None,
    options: TrafficOptions,
    *,
    progress: Callable[[TrafficStats], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TrafficStats:
    """Send traffic until the duration or count is reached; returns the statistics."""
    options.check()
    target = schema.target
    assert target is not None
    stats = TrafficStats()
    owed: deque[tuple[float, str, int]] = deque()
    limit = asyncio.Semaphore(options.concurrency)
    interval = options.batch / options.rate
    deadline = (
        None if options.duration is None else stats.started + options.duration.total_seconds()
    )
    tasks: set[asyncio.Task[None]] = set()

    pool: deque[tuple[dict[str, Any], int]] = deque()
    # Customers are drawn and drifted a few seconds of traffic at a time: a scenario that
    # reweights the classes needs both in the rows it is given, which one request may not have.
    chunk = max(options.batch, min(_POOL_ROWS, int(options.rate * _POOL_SECONDS)))
    refills = 0

    def take(count: int) -> list[tuple[dict[str, Any], int]]:
        nonlocal refills
        while len(pool) < count:
            rows = generator.generate(chunk, seed=options.seed * 1_000_003 + refills)
            if scenario is not None:
                times = np.full(len(rows), np.datetime64(now().replace(tzinfo=None), "ns"))
                rows = scenario.apply(rows, times, np.random.default_rng([options.seed, refills]))
            refills += 1
            pool.extend(zip(as_records(rows.drop(columns=[target])), true_labels(rows, schema),
                            strict=True))  # fmt: skip
        return [pool.popleft() for _ in range(count)]

    async def send() -> None:
        async with limit:
            drawn = take(options.batch)
            records = [record for record, _ in drawn]
            truth = [label for _, label in drawn]
            began = time.perf_counter()
            try:
                answers = await client.predict_batch(records)
            except DriftwardenError as exc:
                stats.errors += 1
                stats.last_error = str(exc).splitlines()[0][:120]
                return
            stats.latencies_ms.append((time.perf_counter() - began) * 1000)
            stats.requests += 1
            stats.predictions += len(answers)
            due = time.monotonic() + options.label_delay.total_seconds()
            owed.extend((due, a.request_id, int(y)) for a, y in zip(answers, truth, strict=True))

    async def pay_labels(final: bool = False) -> None:
        due: list[tuple[str, int]] = []
        while owed and (final or owed[0][0] <= time.monotonic()):
            _, request_id, label = owed.popleft()
            due.append((request_id, label))
        if due:
            try:
                await client.feedback(due)
                stats.labels += len(due)
            except DriftwardenError as exc:
                stats.errors += 1
                stats.last_error = str(exc).splitlines()[0][:120]

    index = 0
    shown = time.monotonic()
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if options.count is not None and index * options.batch >= options.count:
            break
        wait = stats.started + index * interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(min(wait, 0.25))
            await pay_labels()
            continue
        task = asyncio.get_running_loop().create_task(send())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        index += 1
        if progress is not None and time.monotonic() - shown >= 1.0:
            progress(stats)
            shown = time.monotonic()
    if tasks:
        await asyncio.gather(*tasks)
    # The labels still owed arrive on their schedule; then everything is sent.
    while owed and owed[-1][0] > time.monotonic():
        await pay_labels()
        if progress is not None:
            progress(stats)
        await asyncio.sleep(0.25)
    await pay_labels(final=True)
    if progress is not None:
        progress(stats)
    return stats
