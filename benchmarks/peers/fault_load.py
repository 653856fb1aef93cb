"""Steady load for the fault benchmark: single-row predictions at a fixed rate over several servers.

``benchmarks/faults.py`` runs one :class:`SteadyLoad` per phase in a thread of its own (an asyncio
event loop with aiohttp) while it breaks things, and reads its outcomes afterwards:

- request ``i`` is due at ``start + i / rate`` (open loop: a server that stalls does not slow the
  sending) and goes to server ``i mod n``; its body is a feature row plus a client-chosen
  ``request_id`` (``<prefix>-<i>``), unique across the run;
- an attempt that gets no HTTP answer (connection refused or reset, a timeout) is sent again to
  the next server with the same ``request_id``, after a short pause, up to ``max_attempts``: the
  server's insert is idempotent on the id, and a retry of an id already committed is answered
  from the log, so a request whose answer was lost is neither lost nor written twice;
- an HTTP answer is final, whatever its status: 200 is answered, a 503 (``spool_full``,
  ``store_unavailable``) is refused (the server says it kept nothing, and the client may send it
  again later, which this client does not do, so that each refusal stays countable), any other
  status is a server error.

Every attempt and every final outcome is recorded by request id. Like ``load_runner.py`` this
file imports nothing from driftwarden; it takes its latency summary from there.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from peers.load_runner import HEADERS, summarise

try:  # a faster event loop when available (uvicorn's standard extra installs it)
    import uvloop
except ImportError:  # pragma: no cover - depends on the environment
    uvloop = None

#: The final outcomes of a request.
ANSWERED = "answered"
REFUSED = "refused"
SERVER_ERROR = "server_error"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one request, by its final attempt."""

    request_id: str
    final: str
    #: HTTP status of the final answer (None: no answer at all).
    status: int | None
    #: ``error`` of a non-200 answer's body, or the exception of a last attempt with no answer.
    error: str | None
    attempts: int
    #: Index of the server whose answer is final (or that the last attempt went to).
    server: int
    #: Seconds from the start of the load: when the request was due, and its final answer.
    due_s: float
    done_s: float
    retry_after: str | None = None
    #: What the first attempt met when it got no answer (an exception name), else None.
    first_failure: str | None = None


class SteadyLoad:
    """Open-loop load at ``rate`` requests/s, round robin over ``urls``, with retries.

    Parameters
    ----------
    urls : sequence of str
        The ``/v1/predict`` URLs of the servers.
    bodies : sequence of mapping
        Feature rows; request ``i`` sends ``bodies[i % len(bodies)]`` plus its ``request_id``.
    rate : float
        Requests per second, all servers together.
    prefix : str
        Request ids are ``<prefix>-<i>`` with ``i`` zero-padded to seven digits.
    max_attempts : int
        Attempts per request while no HTTP answer comes back.
    retry_delay : float
        Seconds before the second attempt, growing linearly with each further one.
    timeout : float
        Seconds an attempt may take in all.
    """

    def __init__(
        self,
        urls: Sequence[str],
        bodies: Sequence[Mapping[str, Any]],
        *,
        rate: float,
        prefix: str,
        max_attempts: int = 5,
        retry_delay: float = 0.2,
        timeout: float = 10.0,
    ) -> None:
        if rate <= 0 or not urls or not bodies or max_attempts < 1:
            raise ValueError("rate must be positive, urls and bodies non-empty, max_attempts >= 1")
        self.urls = list(urls)
        self.bodies = [dict(body) for body in bodies]
        self.rate = rate
        self.prefix = prefix
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        #: Attempts by (server index, what came back: "200", "503 spool_full", an exception name).
        self.attempts: Counter[tuple[int, str]] = Counter()
        #: Final outcomes and failed attempts by whole second since the start.
        self.timeline: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.latencies: list[float] = []
        # Read by the benchmark's thread while the load runs: plain numbers only.
        self.sent = 0
        self.failed_attempts = 0
        self.last_answered_at = [float("-inf")] * len(self.urls)
        self.first_refused_at = [float("inf")] * len(self.urls)
        self.last_refused_at = [float("-inf")] * len(self.urls)
        self._start = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.cpu_seconds: float | None = None

    # ----------------------------------------------------------------------------------------------
    # Control, from the benchmark's thread
    # ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start sending, in a daemon thread; return once the first request is due."""
        self._thread = threading.Thread(target=self._main, name=f"load-{self.prefix}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError(f"the load could not start: {self._error}") from self._error

    def now(self) -> float:
        """Seconds since the first request was due (the clock of every recorded time)."""
        return time.perf_counter() - self._start

    def stop(self, timeout: float = 60.0) -> None:
        """Send no new request; wait for those in flight and their retries to finish."""
        if self._loop is None or self._thread is None:
            return
        stopping = self._stopping
        if stopping is not None:
            self._loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the load did not finish within {timeout:.0f} s of its stop")
        if self._error is not None:
            raise RuntimeError(f"the load failed: {self._error!r}") from self._error

    # ----------------------------------------------------------------------------------------------
    # The event loop's side
    # ----------------------------------------------------------------------------------------------

    def _main(self) -> None:
        loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
        self._loop = loop
        cpu = time.thread_time()
        try:
            loop.run_until_complete(self._run())
        except BaseException as exc:  # reported by stop(); the thread must not die silently
            self._error = exc
            self._ready.set()
        finally:
            self.cpu_seconds = time.thread_time() - cpu
            loop.close()

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0)
        client_timeout = aiohttp.ClientTimeout(total=self.timeout)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
            self._start = time.perf_counter()
            self._ready.set()
            index = 0
            while not self._stopping.is_set():
                due = index / self.rate
                delay = due - self.now()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._stopping.wait(), delay)
                    except TimeoutError:
                        pass
                    else:
                        break
                task = asyncio.get_running_loop().create_task(self._request(session, index, due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                index += 1
                self.sent = index
            if tasks:
                await asyncio.gather(*tasks)

    async def _request(self, session: aiohttp.ClientSession, index: int, due: float) -> None:
        request_id = f"{self.prefix}-{index:07d}"
        body = json.dumps({**self.bodies[index % len(self.bodies)], "request_id": request_id})
        server = index % len(self.urls)
        first_failure: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with session.post(self.urls[server], data=body, headers=HEADERS) as response:
                    payload = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                kind = type(exc).__name__
                self.attempts[(server, kind)] += 1
                self.failed_attempts += 1
                self.timeline[int(self.now())]["failed attempts"] += 1
                first_failure = first_failure or kind
                if attempt == self.max_attempts:
                    self._finish(
                        request_id, FAILED, None, kind, attempt, server, due, None, first_failure
                    )
                    return
                # The other server: a dead process refuses every attempt until it is back.
                await asyncio.sleep(self.retry_delay * attempt)
                server = (server + 1) % len(self.urls)
                continue
            error = None if status == 200 else _error_code(payload)
            self.attempts[(server, str(status) if error is None else f"{status} {error}")] += 1
            if status == 200:
                final = ANSWERED
                self.latencies.append(self.now() - due)
                self.last_answered_at[server] = self.now()
            elif status == 503:
                final = REFUSED
                self.first_refused_at[server] = min(self.first_refused_at[server], self.now())
                self.last_refused_at[server] = self.now()
            else:
                final = SERVER_ERROR
            self._finish(
                request_id, final, status, error, attempt, server, due, retry_after, first_failure
            )
            return

    def _finish(
        self,
        request_id: str,
        final: str,
        status: int | None,
        error: str | None,
        attempts: int,
        server: int,
        due: float,
        retry_after: str | None,
        first_failure: str | None,
    ) -> None:
        done = self.now()
        self.outcomes.append(
            Outcome(
                request_id,
                final,
                status,
                error,
                attempts,
                server,
                due,
                done,
                retry_after,
                first_failure,
            )
        )
        self.timeline[int(done)][final] += 1

    # ----------------------------------------------------------------------------------------------
    # Results
    # ----------------------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Counts of the whole load: final outcomes, attempts, retries, latency of answers."""
        finals = Counter(o.final for o in self.outcomes)
        retried = [o for o in self.outcomes if o.attempts > 1]
        refusals = Counter(o.error for o in self.outcomes if o.final == REFUSED)
        elapsed = max((o.done_s for o in self.outcomes), default=0.0)
        return {
            "urls": self.urls,
            "rate_rps": self.rate,
            "requests": len(self.outcomes),
            "final": {k: finals.get(k, 0) for k in (ANSWERED, REFUSED, SERVER_ERROR, FAILED)},
            "refused_by_error": dict(refusals),
            "refused_without_retry_after": sum(
                1 for o in self.outcomes if o.final == REFUSED and not o.retry_after
            ),
            "server_error_statuses": dict(
                Counter(f"{o.status} {o.error}" for o in self.outcomes if o.final == SERVER_ERROR)
            ),
            "failed_attempts": self.failed_attempts,
            "retried_requests": len(retried),
            "retried_then_answered": sum(1 for o in retried if o.final == ANSWERED),
            "attempts_by_server": {
                f"{self.urls[server]} {what}": n
                for (server, what), n in sorted(self.attempts.items())
            },
            "elapsed_s": elapsed,
            "achieved_rps": len(self.outcomes) / elapsed if elapsed > 0 else None,
            "latency_of_answers": summarise(self.latencies),
            "loadgen_cpu_s": self.cpu_seconds,
            "timeline_per_second": [
                {"second": second, **counts} for second, counts in sorted(self.timeline.items())
            ],
        }

    def outcome_records(self) -> list[dict[str, Any]]:
        return [asdict(o) for o in self.outcomes]


def _error_code(payload: bytes) -> str | None:
    """The ``error`` field of driftwarden's error body, or ``None`` when there is none."""
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data.get("error") if isinstance(data, dict) else None
