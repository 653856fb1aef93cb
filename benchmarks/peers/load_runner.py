"""HTTP load generator for the serving benchmark (aiohttp, one process, one event loop).

Runs one load phase against one URL and prints a JSON summary on stdout::

    python load_runner.py --url http://127.0.0.1:8000/v1/predict --bodies bodies.json \
        --mode closed --concurrency 8 --duration 20
    python load_runner.py --url ... --bodies bodies.json --mode rate --rate 100 --duration 20

``--bodies`` is a JSON list of request bodies (strings); requests cycle through them.

- ``closed``: ``--concurrency`` workers, each sends its next request as soon as the previous one is
  answered, until ``--duration`` seconds have passed (requests in flight at the end are awaited and
  counted).
- ``rate``: open loop. Request ``i`` is due at ``start + i / rate`` and is sent then whatever the
  number in flight; latency is measured from the due time (so a server that falls behind is charged
  for the queueing it causes) and, separately, from the actual send.

A request fails if it raises (connection error, timeout) or its status is not 2xx; latencies
are of successful requests only. The generator's
own CPU time (``time.process_time``) over the phase is reported, so one can see whether it, rather
than the server, was the limit. This file imports nothing from the benchmark or from driftwarden.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

try:  # a faster event loop when available (uvicorn's standard extra installs it)
    import uvloop
except ImportError:  # pragma: no cover - depends on the environment
    uvloop = None

HEADERS = {"content-type": "application/json"}


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (``q`` in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarise(latencies: list[float]) -> dict[str, Any]:
    values = sorted(latencies)
    return {
        "count": len(values),
        "mean_ms": None if not values else 1000 * sum(values) / len(values),
        "p50_ms": _ms(percentile(values, 50)),
        "p90_ms": _ms(percentile(values, 90)),
        "p95_ms": _ms(percentile(values, 95)),
        "p99_ms": _ms(percentile(values, 99)),
        "p999_ms": _ms(percentile(values, 99.9)),
        "max_ms": _ms(values[-1] if values else None),
        "min_ms": _ms(values[0] if values else None),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else 1000 * value


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.send_latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.ok = 0
        self.failed = 0
        self.last_done = 0.0

    async def send(
        self,
        session: aiohttp.ClientSession,
        url: str,
        body: bytes,
        due: float | None = None,
    ) -> None:
        start = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.failed += 1
            self.errors[type(exc).__name__] += 1
            self.last_done = time.perf_counter()
            return
        end = time.perf_counter()
        self.last_done = end
        self.statuses[str(status)] += 1
        if not 200 <= status < 300:
            self.failed += 1
            return
        self.ok += 1
        self.latencies.append(end - (start if due is None else due))
        if due is not None:
            self.send_latencies.append(end - start)


async def closed_loop(
    url: str, bodies: list[bytes], concurrency: int, duration: float, offset: int, timeout: float
) -> tuple[Recorder, float]:
    recorder = Recorder()
    counter = iter(range(offset, sys.maxsize))
    connector = aiohttp.TCPConnector(limit=concurrency)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        start = time.perf_counter()
        deadline = start + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = bodies[next(counter) % len(bodies)]
                await recorder.send(session, url, body)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = max(recorder.last_done, deadline) - start
    return recorder, elapsed


async def open_loop(
    url: str, bodies: list[bytes], rate: float, duration: float, offset: int, timeout: float
) -> tuple[Recorder, float]:
    recorder = Recorder()
    total = int(rate * duration)
    connector = aiohttp.TCPConnector(limit=0)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    tasks: list[asyncio.Task[None]] = []
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        start = time.perf_counter()
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = bodies[(offset + i) % len(bodies)]
            tasks.append(asyncio.create_task(recorder.send(session, url, body, due)))
        await asyncio.gather(*tasks)
        elapsed = max(recorder.last_done, start + duration) - start
    return recorder, elapsed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--mode", choices=["closed", "rate"], required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--offset", type=int, default=0, help="first body index")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bodies = [b.encode() for b in json.loads(args.bodies.read_text())]
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    cpu_start = time.process_time()
    if args.mode == "closed":
        coro = closed_loop(
            args.url, bodies, args.concurrency, args.duration, args.offset, args.timeout
        )
    else:
        coro = open_loop(args.url, bodies, args.rate, args.duration, args.offset, args.timeout)
    recorder, elapsed = asyncio.run(coro)
    cpu = time.process_time() - cpu_start
    answered = recorder.ok + recorder.failed
    result = {
        "mode": args.mode,
        "concurrency": args.concurrency if args.mode == "closed" else None,
        "target_rate": args.rate if args.mode == "rate" else None,
        "duration_s": args.duration,
        "elapsed_s": elapsed,
        "requests": answered,
        "ok": recorder.ok,
        "failed": recorder.failed,
        "statuses": dict(recorder.statuses),
        "errors": dict(recorder.errors),
        "throughput_rps": recorder.ok / elapsed if elapsed > 0 else None,
        "latency": summarise(recorder.latencies),
        "latency_from_send": summarise(recorder.send_latencies) if args.mode == "rate" else None,
        "loadgen_cpu_s": cpu,
        "loadgen_cpu_percent": 100 * cpu / elapsed if elapsed > 0 else None,
        "event_loop": "uvloop" if uvloop is not None else "asyncio",
        "aiohttp": aiohttp.__version__,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
