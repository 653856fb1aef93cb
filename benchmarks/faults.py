"""Fault benchmark: the durable prediction log under load while things break.

Run from the repository root::

    .venv/bin/python benchmarks/faults.py                       # the three faults, about 3 minutes
    .venv/bin/python benchmarks/faults.py --rate 200 --phases postgres
    .venv/bin/python benchmarks/faults.py --phases kill,postgres,spool_full,kill_spooling

One run sets up, in temporary folders, everything it breaks, so that nothing else on the machine
is touched:

- its own PostgreSQL cluster (``initdb`` with trust authentication, ``pg_ctl`` on a free port of
  127.0.0.1, its socket in the temporary folder; as the ``postgres`` user when run as root, since
  PostgreSQL refuses to run as root), stopped and removed at exit, also on Ctrl-C;
- the bundled Telco model, trained with ``driftwarden train`` into a local MLflow registry (the
  serving benchmark's ``train_model``);
- for each phase, two fresh ``driftwarden serve --workers 1`` processes (one process each, so
  that a kill is the death of the process that answers) on their own ports, each with its own
  spool folder, both logging to that cluster (``serving.run_monitor`` off).

A steady open-loop load (``peers/fault_load.py``, aiohttp in a thread: ``--rate`` single-row
requests/s, alternating between the two servers) runs through each phase; every request carries
a unique client ``request_id``. An attempt that gets no HTTP answer (the process is dead) is sent
again to the other server with the same id; an HTTP answer is final: 200 answered, 503
(``spool_full``) refused. The phases:

1. ``kill``: ``kill -9`` of one server, restarted ``--restart-after`` seconds later on the same
   port and spool folder (it takes over whatever the dead process had spooled), load until it is
   ready and ``--after`` seconds more;
2. ``postgres``: ``pg_ctl stop -m fast`` of the cluster for ``--pg-down`` seconds (rows go to the
   spools and are answered), then started again; load ``--after`` seconds more;
3. ``spool_full``: servers with ``store.spool_max_bytes = --spool-quota``; the cluster stopped
   until both servers have refused requests (503 ``spool_full``) for ``--refuse-seconds``, then
   started again; load until both answer again and ``--after`` seconds more;
4. ``kill_spooling`` (only with ``--phases``): the cluster stopped, then ``kill -9`` of a server
   whose spool holds rows, restarted while the cluster is still down (its restart must take the
   dead process's spool file over), the cluster started again.

After each phase's load, the benchmark waits for both spools to drain (``GET /ready``:
``store.spooled_rows`` 0, ``store.degraded`` false; the writer replays about every 5 s) or
``--drain-timeout``, stops the servers, and counts by request id: rows in the ``predictions``
table, rows still in the spool files (``predictions*.jsonl``), rows the database set aside at
replay (``*.refused.jsonl``), and the load's final outcomes. The reconciliation must hold
exactly: every answered id is stored or spooled, none in both, none twice, no refused id kept,
no row of an id that was never sent, and answered + refused = stored + spooled + refused.

Progress goes to stderr; the tables to stdout, the results to ``benchmarks/results/faults.json``.
The command exits 1 when a reconciliation (or a fault's own expectation, such as a restart or a
drained spool) fails; such a failure is a product bug, and the JSON keeps the evidence (server
log lines, the ids). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

import _common
from _common import fmt, write_results
from peers.fault_load import ANSWERED, FAILED, REFUSED, SERVER_ERROR, Outcome, SteadyLoad
from serve import BIN, QUIET_ENV, Server, build_bodies, free_port, machine_info, train_model

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "faults.json"
DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")

PHASES = ("kill", "postgres", "spool_full")
#: Run only when named in --phases.
EXTRA_PHASES = ("kill_spooling",)
DEFAULT_RATE = 100.0
DEFAULT_BEFORE = 4.0
DEFAULT_AFTER = 4.0
DEFAULT_RESTART_AFTER = 3.0
DEFAULT_PG_DOWN = 10.0
DEFAULT_REFUSE_SECONDS = 4.0
DEFAULT_SPOOL_QUOTA = 64 * 1024
DEFAULT_DRAIN_TIMEOUT = 60.0
DEFAULT_ROWS = 300
SEED = 20_240_601
#: The spool quota of the first two phases: the default (1 GiB), far more than they spool.
LARGE_QUOTA = 1 << 30
#: Longest wait for a fault's effect on the load (refusals, answers again) before giving up.
EFFECT_TIMEOUT = 30.0
WATCH_INTERVAL = 0.5
#: Problem ids kept in the JSON, per kind.
SAMPLE_IDS = 20
#: Server log lines kept in the JSON: errors, and the lines that tell the spool's story.
LOG_WORDS = ("ERROR", "Traceback", "CRITICAL", "spool", "took over", "replayed", "unreachable")


# --------------------------------------------------------------------------------------------------
# Progress (on stderr: the tables go to stdout)
# --------------------------------------------------------------------------------------------------


# Progress lines go to stderr: the results table and the JSON line go to stdout.
say = partial(_common.say, stream=sys.stderr)
step = partial(_common.step, stream=sys.stderr)
done = partial(_common.done, stream=sys.stderr)


# --------------------------------------------------------------------------------------------------
# The benchmark's own PostgreSQL cluster
# --------------------------------------------------------------------------------------------------


class PostgresCluster:
    """A throwaway cluster in ``root``: ``data/``, ``sock/`` and ``postgres.log``.

    Every command runs as the ``postgres`` user when this process is root (the server refuses to
    run as root), so ``root`` is handed to that user. Its processes are started in a session of
    their own, so the terminal's Ctrl-C reaches this script only, which then stops them.
    """

    def __init__(self, root: Path, port: int, bin_dir: Path) -> None:
        self.root = root
        self.port = port
        self.bin_dir = bin_dir
        self.data = root / "data"
        self.sock = root / "sock"
        self.log = root / "postgres.log"
        self.running = False
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        proc = subprocess.run(
            [*prefix, *command],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            start_new_session=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout[-1500:]}"
                f"{proc.stderr[-1500:]}\n{self.log_tail()}"
            )
        return proc

    def init(self) -> None:
        self.sock.mkdir(parents=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.sock):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            # Nothing here must survive a power cut, and initdb's own fsyncs take seconds.
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.sock}"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60"),
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )
        self.running = False

    def version(self) -> str:
        return self._run(str(self.bin_dir / "postgres"), "--version").stdout.strip()

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", connect_timeout=5
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def remove(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Servers and their readiness
# --------------------------------------------------------------------------------------------------


def ready_state(port: int) -> dict[str, Any] | None:
    """``GET /ready`` of the server on ``port``: its status and body; None without an answer."""
    url = f"http://127.0.0.1:{port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return {"status": response.status, **json.loads(response.read())}
    except urllib.error.HTTPError as exc:  # 503 while the store is unreachable: still a body
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        return {"status": exc.code, **body}
    except (urllib.error.URLError, OSError, ValueError):
        return None


def spooled_rows(state: Mapping[str, Any] | None) -> int | None:
    return None if state is None else state.get("store", {}).get("spooled_rows")


class ReadyWatch:
    """Polls ``/ready`` of each server every ``WATCH_INTERVAL`` s in a daemon thread: the spools'
    sizes over time, their peaks, and whether the store was reachable."""

    def __init__(self, names: Sequence[str], ports: Sequence[int], clock: Callable[[], float]):
        self.names = list(names)
        self.ports = list(ports)
        self.clock = clock
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="ready-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        # One last look: the drain may have ended between two polls.
        self.poll()

    def poll(self) -> None:
        for name, port in zip(self.names, self.ports, strict=True):
            state = ready_state(port)
            store = {} if state is None else state.get("store", {})
            self.samples.append(
                {
                    "t_s": round(self.clock(), 2),
                    "server": name,
                    "status": None if state is None else state.get("status"),
                    "spooled_rows": store.get("spooled_rows"),
                    "degraded": store.get("degraded"),
                    "reachable": store.get("reachable"),
                }
            )

    def _main(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(WATCH_INTERVAL)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.names:
            mine = [s for s in self.samples if s["server"] == name]
            spooled = [s["spooled_rows"] for s in mine if s["spooled_rows"] is not None]
            out[name] = {
                "samples": len(mine),
                "peak_spooled_rows": max(spooled, default=None),
                "unanswered_polls": sum(1 for s in mine if s["status"] is None),
                "store_unreachable_polls": sum(1 for s in mine if s["reachable"] is False),
            }
        return out

    def changes(self) -> dict[str, list[str]]:
        """Each server's polls where anything changed, one line each (the spool's story)."""
        keys = ("status", "spooled_rows", "degraded", "reachable")
        out: dict[str, list[str]] = {}
        for name in self.names:
            lines: list[str] = []
            last: tuple[Any, ...] | None = None
            for sample in (s for s in self.samples if s["server"] == name):
                now = tuple(sample[k] for k in keys)
                if now != last:
                    lines.append(
                        f"{sample['t_s']:.1f} s: "
                        + ("no answer" if sample["status"] is None else f"/ready {now[0]}, ")
                        + (
                            ""
                            if sample["status"] is None
                            else f"spooled_rows {now[1]}, degraded {now[2]}, reachable {now[3]}"
                        )
                    )
                    last = now
            out[name] = lines
        return out


@dataclass
class Pair:
    """The two servers of a phase, their spool folders, and every process started for them."""

    names: list[str]
    ports: list[int]
    spools: list[Path]
    envs: list[dict[str, str]]
    servers: list[Server]
    cwd: Path
    logs: Path
    #: Every process of the phase, restarts included, for the logs and exit codes.
    history: list[Server] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/v1/predict" for port in self.ports]

    def make(self, index: int, suffix: str = "", ready_path: str = "/ready") -> Server:
        """A server process of slot ``index``; ``start()`` waits for ``ready_path`` to answer 200
        (``/ready`` needs the store reachable, ``/health`` only the process)."""
        name = self.names[index] + suffix
        port = self.ports[index]
        server = Server(
            name=name,
            label=f"driftwarden serve {name} (port {port})",
            url=self.urls[index],
            ready_url=f"http://127.0.0.1:{port}{ready_path}",
            # One process per server: the fault is the death of the process that answers.
            command=[str(BIN / "driftwarden"), "serve", "--port", str(port), "--workers", "1"],
            env=self.envs[index],
            cwd=self.cwd,
            log_path=self.logs / f"{name}.log",
        )
        server.extra["index"] = index
        self.history.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def start_pair(ctx: Context, phase: str, quota: int, *, one_at_a_time: bool) -> tuple[Pair, float]:
    """Start the two servers of ``phase``; return them and the seconds it took.

    The first phase starts them one after the other, so that one process migrates the empty
    database before the other starts (two processes migrating one database at once is not what
    this benchmark measures).
    """
    base = ctx.workdir / phase
    logs = base / "logs"
    logs.mkdir(parents=True)
    names = ["a", "b"]
    spools = [base / name / "spool" for name in names]
    envs = [server_env(ctx, spool, quota) for spool in spools]
    pair = Pair(names, [free_port(), free_port()], spools, envs, [], ctx.workdir, logs)
    pair.servers = [pair.make(0), pair.make(1)]
    ctx.live.append(pair)
    t = step(f"{phase}: starting two driftwarden serve processes (spool quota {quota:,} bytes)")
    if one_at_a_time:
        for server in pair.servers:
            server.start()
    else:
        errors: list[BaseException] = []

        def start(server: Server) -> None:
            try:
                server.start()
            except BaseException as exc:  # raised below, in this thread
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(s,)) for s in pair.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
    seconds = time.perf_counter() - t
    done(t, f": ports {pair.ports[0]} and {pair.ports[1]}")
    return pair, seconds


def server_env(ctx: Context, spool: Path, quota: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env.update(QUIET_ENV)
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env["DRIFTWARDEN_STORE__URL"] = ctx.pg.url
    env["DRIFTWARDEN_STORE__SPOOL_DIR"] = str(spool)
    env["DRIFTWARDEN_STORE__SPOOL_MAX_BYTES"] = str(quota)
    env["DRIFTWARDEN_SERVING__RUN_MONITOR"] = "false"
    return env


def wait_drained(ports: Sequence[int], timeout: float) -> tuple[float | None, list[Any]]:
    """Wait until every server answers ``/ready`` 200 with an empty spool, not degraded.

    Returns the seconds it took (None: not within ``timeout``) and the last states.
    """
    start = time.perf_counter()
    states: list[Any] = []
    while time.perf_counter() - start < timeout:
        states = [ready_state(port) for port in ports]
        if all(
            s is not None
            and s["status"] == 200
            and spooled_rows(s) == 0
            and not s.get("store", {}).get("degraded")
            for s in states
        ):
            return time.perf_counter() - start, states
        time.sleep(0.25)
    return None, states


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# --------------------------------------------------------------------------------------------------
# Counting and reconciliation
# --------------------------------------------------------------------------------------------------


def stored_ids(pg: PostgresCluster, prefix: str) -> list[str]:
    """Request ids of the phase in the ``predictions`` table, one per row (duplicates kept)."""
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT request_id FROM predictions WHERE starts_with(request_id, %s)", (f"{prefix}-",)
        ).fetchall()
    return [row[0] for row in rows]


def store_facts(pg: PostgresCluster) -> dict[str, Any]:
    """What makes a request id unique in the table, and how many rows it holds in all."""
    with pg.connect() as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'predictions' "
            "AND indexdef LIKE 'CREATE UNIQUE INDEX%' ORDER BY indexname"
        ).fetchall()
        total = conn.execute("SELECT count(*) FROM predictions").fetchone()
    return {
        "unique_indexes": dict(indexes),
        "request_id_unique": any("(request_id)" in definition for _, definition in indexes),
        "rows": None if total is None else int(total[0]),
    }


def spooled_ids(spools: Sequence[Path]) -> tuple[list[str], list[str], dict[str, int]]:
    """Ids of the rows in the spool files and of the rows set aside at replay, one per line."""
    spooled: list[str] = []
    aside: list[str] = []
    files: dict[str, int] = {}
    for folder in spools:
        for path in sorted(folder.glob("predictions*.jsonl")):
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            files[str(path)] = len(lines)
            for line in lines:
                record = json.loads(line)
                if path.name.endswith(".refused.jsonl"):
                    aside.append(record.get("row", {}).get("request_id", "?"))
                else:
                    spooled.append(record["request_id"])
    return spooled, aside, files


def reconcile(
    outcomes: Sequence[Outcome], stored: Sequence[str], spooled: Sequence[str], aside: Sequence[str]
) -> dict[str, Any]:
    """Every answered request is kept exactly once; nothing else is kept.

    ``kept`` is the union of the store, the spools and the rows the database set aside. Rows of
    a request that got no answer (every attempt failed) may be kept: the commit happened, its
    answer was lost; they are counted apart and added to the answered side of the equation.
    """
    final: dict[str, set[str]] = {k: set() for k in (ANSWERED, REFUSED, SERVER_ERROR, FAILED)}
    for outcome in outcomes:
        final[outcome.final].add(outcome.request_id)
    answered, refused = final[ANSWERED], final[REFUSED]
    unanswered = final[FAILED] | final[SERVER_ERROR]
    shadows = [rid for rid in stored if rid.endswith(":shadow")]
    store = [rid for rid in stored if not rid.endswith(":shadow")]
    in_store, in_spool, set_aside = set(store), set(spooled), set(aside)
    kept = in_store | in_spool | set_aside
    lost = answered - kept
    in_both = (in_store & in_spool) | (in_store & set_aside) | (in_spool & set_aside)
    refused_kept = refused & kept
    unanswered_kept = unanswered & kept
    never_sent = kept - answered - refused - unanswered
    doubled = {
        "in_store_twice": len(store) - len(in_store),
        "in_spool_twice": len(spooled) - len(in_spool),
        "set_aside_twice": len(aside) - len(set_aside),
        "in_store_and_spool": len(in_both),
    }
    left = len(answered) + len(refused) + len(unanswered_kept)
    right = len(store) + len(spooled) + len(aside) + len(refused)
    checks = {
        "no_answered_row_lost": not lost,
        "no_row_doubled": not any(doubled.values()),
        "no_refused_row_kept": not refused_kept,
        "no_row_of_unknown_id": not never_sent,
        "no_shadow_rows": not shadows,
        "answered_equals_stored_spooled_refused": left == right,
    }
    return {
        "requests": len(outcomes),
        "answered": len(answered),
        "refused": len(refused),
        "server_errors": len(final[SERVER_ERROR]),
        "unanswered": len(final[FAILED]),
        "stored": len(store),
        "spooled": len(spooled),
        "set_aside": len(aside),
        "shadow_rows": len(shadows),
        "lost": len(lost),
        "doubled": doubled,
        "refused_but_kept": len(refused_kept),
        "unanswered_but_kept": len(unanswered_kept),
        "kept_but_never_sent": len(never_sent),
        "equation": {
            "answered_plus_refused": len(answered) + len(refused),
            "unanswered_but_kept": len(unanswered_kept),
            "stored_plus_spooled_plus_set_aside_plus_refused": right,
            "holds": left == right,
        },
        "checks": checks,
        "holds": all(checks.values()),
        "sample_ids": {
            "lost": sorted(lost)[:SAMPLE_IDS],
            "in_store_and_spool": sorted(in_both)[:SAMPLE_IDS],
            "refused_but_kept": sorted(refused_kept)[:SAMPLE_IDS],
            "kept_but_never_sent": sorted(never_sent)[:SAMPLE_IDS],
            "unanswered": sorted(unanswered)[:SAMPLE_IDS],
        },
    }


def log_lines(server: Server) -> dict[str, Any]:
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return {"log": str(server.log_path), "lines": 0}
    notable = [line for line in lines if any(word in line for word in LOG_WORDS)]
    errors = [line for line in lines if any(w in line for w in ("ERROR", "Traceback", "CRITICAL"))]
    return {
        "log": str(server.log_path),
        "lines": len(lines),
        "error_lines": len(errors),
        "first_error_lines": errors[:20],
        "notable_lines": notable[:30],
        "exit_code": None if server.proc is None else server.proc.returncode,
    }


# --------------------------------------------------------------------------------------------------
# The phases
# --------------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    workdir: Path
    pg: PostgresCluster
    bodies: list[dict[str, Any]]
    live: list[Pair] = field(default_factory=list)


class Phase:
    """One fault under load: a clock, its events, the load, the watch, then the count."""

    def __init__(self, ctx: Context, name: str, description: str, quota: int) -> None:
        self.ctx = ctx
        self.name = name
        self.description = description
        self.quota = quota
        self.t0 = time.perf_counter()
        self.events: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.facts: dict[str, Any] = {}
        self.ready_changes: dict[str, list[str]] = {}

    def clock(self) -> float:
        return time.perf_counter() - self.t0

    def note(self, event: str) -> float:
        t = self.clock()
        self.events.append({"t_s": round(t, 2), "event": event})
        say(f"   {t:6.1f} s  {event}")
        return t

    @contextlib.contextmanager
    def running(self, *, one_at_a_time: bool) -> Iterator[tuple[Pair, SteadyLoad]]:
        """Start the servers, the watch and the load; afterwards stop the load, wait for the
        spools to drain and stop the servers (:meth:`result` counts)."""
        pair, startup = start_pair(self.ctx, self.name, self.quota, one_at_a_time=one_at_a_time)
        self.facts["startup_s"] = startup
        self.pair = pair
        args = self.ctx.args
        load = SteadyLoad(
            pair.urls, self.ctx.bodies, rate=args.rate, prefix=self.name, timeout=args.timeout
        )
        watch = ReadyWatch(pair.names, pair.ports, self.clock)
        self.load = load
        try:
            watch.start()
            self.note(f"load starts: {args.rate:g} requests/s over {pair.ports}")
            load.start()
            self.load_t0 = self.clock()
            yield pair, load
            load.stop()
            self.note(f"load stopped after {load.sent:,} requests")
            self.drain(pair)
        finally:
            watch.stop()
            with contextlib.suppress(Exception):
                load.stop()
            stop_t = self.note("stopping the servers")
            pair.stop_all()
            self.facts["stop_s"] = self.clock() - stop_t
            self.ctx.live.remove(pair)
        self.facts["watch"] = watch.summary()
        self.ready_changes = watch.changes()
        self.watch = watch

    def empty_after(self, t: float) -> dict[str, float | None]:
        """Per server, seconds from ``t`` to its first ``/ready`` poll with an empty spool and a
        reachable store (to the poll's resolution, ``WATCH_INTERVAL``); None: never."""
        out: dict[str, float | None] = {}
        for name in self.watch.names:
            out[name] = next(
                (
                    round(s["t_s"] - t, 2)
                    for s in self.watch.samples
                    if s["server"] == name
                    and s["t_s"] >= t
                    and s["status"] == 200
                    and s["spooled_rows"] == 0
                ),
                None,
            )
        return out

    def drain(self, pair: Pair) -> None:
        timeout = self.ctx.args.drain_timeout
        t = self.note(f"waiting for the spools to drain (at most {timeout:g} s)")
        seconds, states = wait_drained(pair.ports, timeout)
        self.facts["drain_wait_s"] = seconds
        self.facts["ready_after_drain"] = states
        if seconds is None:
            self.problems.append(
                f"the spools did not drain within {timeout:g} s: /ready said "
                + "; ".join(
                    f"{name}: {json.dumps(state)}"
                    for name, state in zip(pair.names, states, strict=True)
                )
            )
            self.note("the spools did not drain")
        else:
            self.note(f"spools empty ({seconds:.1f} s after the load stopped)")
        self.facts["drained_at_s"] = None if seconds is None else t + seconds

    def result(self) -> dict[str, Any]:
        pair, load = self.pair, self.load
        t = step(f"{self.name}: counting rows by request id")
        stored = stored_ids(self.ctx.pg, self.name)
        spooled, aside, files = spooled_ids(pair.spools)
        recon = reconcile(load.outcomes, stored, spooled, aside)
        done(t)
        summary = load.summary()
        if summary["refused_without_retry_after"]:
            self.problems.append(
                f"{summary['refused_without_retry_after']} refusals (503) came without Retry-After"
            )
        if recon["server_errors"]:
            self.problems.append(
                f"{recon['server_errors']} requests were answered with a server error: "
                f"{summary['server_error_statuses']}"
            )
        for name, ok in recon["checks"].items():
            if not ok:
                self.problems.append(f"reconciliation: {name} does not hold")
        servers = [log_lines(server) for server in pair.history]
        for server, logged in zip(pair.history, servers, strict=True):
            if logged["error_lines"]:
                self.problems.append(
                    f"{server.name}: {logged['error_lines']} error lines in {server.log_path.name}"
                )
        return {
            "description": self.description,
            "spool_quota_bytes": self.quota,
            "events": self.events,
            "facts": self.facts,
            "load": summary,
            "store_rows": len(stored),
            "spool_files": files,
            "reconciliation": recon,
            "servers": {
                server.name: {
                    "port": pair.ports[server.extra["index"]],
                    "spool": str(pair.spools[server.extra["index"]]),
                    "startup_s": server.startup_seconds,
                    **logged,
                }
                for server, logged in zip(pair.history, servers, strict=True)
            },
            "ready_changes": self.ready_changes,
            "problems": self.problems,
            "passed": not self.problems,
        }


def restart_server_a(pair: Pair, phase: Phase, ready_path: str) -> Server | None:
    """Start server a again on its port and spool folder; ``None`` (noted as a problem) if it
    does not come back, while the load goes on against server b and the count still tells what
    was kept."""
    restarted = pair.make(0, "-restart", ready_path=ready_path)
    pair.servers[0] = restarted
    try:
        restarted.start()
    except RuntimeError as exc:
        phase.problems.append(f"server a did not come back: {exc}")
        phase.note("server a did not come back")
        return None
    return restarted


def phase_kill(ctx: Context, *, first: bool) -> dict[str, Any]:
    args = ctx.args
    phase = Phase(
        ctx,
        "kill",
        f"kill -9 of server a after {args.before:g} s of load, restarted {args.restart_after:g} s "
        f"later on the same port and spool folder, load until it is ready and {args.after:g} s "
        "more; attempts that get no answer go to server b with the same request id",
        LARGE_QUOTA,
    )
    with phase.running(one_at_a_time=first) as (pair, _):
        time.sleep(args.before)
        victim = pair.servers[0]
        if victim.proc is None:
            raise RuntimeError("server a has no process")
        pid = victim.proc.pid
        killed_at = phase.note(f"kill -9 server a (pid {pid})")
        killed_wall = time.time()
        os.kill(pid, signal.SIGKILL)
        victim.proc.wait(timeout=10)
        time.sleep(args.restart_after)
        phase.note("restarting server a (same port, same spool folder)")
        restarted = restart_server_a(pair, phase, "/ready")
        if restarted is not None:
            ready_at = phase.note(
                f"server a ready again ({restarted.startup_seconds:.1f} s after its start)"
            )
            phase.facts["kill_to_ready_s"] = ready_at - killed_at
            phase.facts["restart_startup_s"] = restarted.startup_seconds
        time.sleep(args.after)
    phase.facts["in_flight_at_kill"] = in_flight_at_kill(ctx.pg, phase.load, killed_wall)
    return phase.result()


def in_flight_at_kill(pg: PostgresCluster, load: SteadyLoad, killed_wall: float) -> dict[str, Any]:
    """The requests whose connection to the killed server was open when it died.

    A row of such a request created before the kill was committed by the killed process (its
    answer was lost): its retry on the other server must have been answered from the log, not
    logged again. The unique request id keeps one row either way; this shows which path ran.
    """
    ids = [
        o.request_id
        for o in load.outcomes
        if o.first_failure is not None and o.first_failure != "ClientConnectorError"
    ]
    created: dict[str, float] = {}
    if ids:
        with pg.connect() as conn:
            rows = conn.execute(
                "SELECT request_id, created_at FROM predictions WHERE request_id = ANY(%s)",
                (ids,),
            ).fetchall()
        created = {rid: at.timestamp() for rid, at in rows}
    return {
        "requests": len(ids),
        "committed_by_the_killed_server": sum(1 for t in created.values() if t < killed_wall),
        "logged_by_the_retry": sum(1 for t in created.values() if t >= killed_wall),
        "not_stored": len(ids) - len(created),
        "first_failures": dict(
            Counter(o.first_failure for o in load.outcomes if o.first_failure is not None)
        ),
    }


def phase_postgres(ctx: Context, *, first: bool) -> dict[str, Any]:
    args = ctx.args
    phase = Phase(
        ctx,
        "postgres",
        f"pg_ctl stop -m fast of the store's cluster after {args.before:g} s of load, started "
        f"again {args.pg_down:g} s later, load {args.after:g} s more; rows of the outage go to "
        "the spools and are replayed",
        LARGE_QUOTA,
    )
    with phase.running(one_at_a_time=first):
        time.sleep(args.before)
        phase.note("stopping PostgreSQL (pg_ctl stop -m fast)")
        ctx.pg.stop("fast")
        stopped = phase.note("PostgreSQL stopped")
        time.sleep(max(0.0, args.pg_down - (phase.clock() - stopped)))
        phase.note("starting PostgreSQL")
        ctx.pg.start()
        started = phase.note("PostgreSQL accepting connections")
        phase.facts["postgres_down_s"] = started - stopped
        time.sleep(args.after)
    watch = phase.facts["watch"]
    if not any((w["peak_spooled_rows"] or 0) > 0 for w in watch.values()):
        phase.problems.append("no server spooled a row while PostgreSQL was down")
    phase.facts["postgres_start_to_empty_spool_s"] = phase.empty_after(started)
    return phase.result()


def phase_spool_full(ctx: Context, *, first: bool) -> dict[str, Any]:
    args = ctx.args
    phase = Phase(
        ctx,
        "spool_full",
        f"store.spool_max_bytes = {args.spool_quota:,}; PostgreSQL stopped after {args.before:g} "
        f"s of load until both servers have refused requests (503 spool_full) for "
        f"{args.refuse_seconds:g} s, then started again; load until both answer again and "
        f"{args.after:g} s more",
        args.spool_quota,
    )
    with phase.running(one_at_a_time=first) as (pair, load):
        time.sleep(args.before)
        phase.note("stopping PostgreSQL (pg_ctl stop -m fast)")
        ctx.pg.stop("fast")
        stopped = phase.note("PostgreSQL stopped")
        servers = range(len(pair.urls))

        def refusing_long_enough() -> bool:
            return all(
                load.now() - load.first_refused_at[s] >= args.refuse_seconds for s in servers
            )

        if not wait_until(refusing_long_enough, EFFECT_TIMEOUT + args.refuse_seconds):
            phase.problems.append(
                f"not every server refused a request within {EFFECT_TIMEOUT:g} s of the outage "
                f"(first refusals at {load.first_refused_at} s of the load)"
            )
        first_refusals = [round(load.first_refused_at[s] + phase.load_t0, 2) for s in servers]
        phase.note(f"both servers refusing (first 503s at {first_refusals} s)")
        phase.facts["first_refusal_after_stop_s"] = [t - stopped for t in first_refusals]
        phase.note("starting PostgreSQL")
        ctx.pg.start()
        started = phase.note("PostgreSQL accepting connections")
        phase.facts["postgres_down_s"] = started - stopped
        since = started - phase.load_t0

        def answering_again() -> bool:
            return all(load.last_answered_at[s] > since for s in servers)

        if wait_until(answering_again, EFFECT_TIMEOUT):
            again = phase.note("both servers answering again")
            phase.facts["postgres_start_to_answering_s"] = again - started
        else:
            phase.problems.append(
                f"a server was still refusing {EFFECT_TIMEOUT:g} s after PostgreSQL started"
            )
        time.sleep(args.after)
    phase.facts["postgres_start_to_empty_spool_s"] = phase.empty_after(started)
    return phase.result()


def phase_kill_spooling(ctx: Context, *, first: bool) -> dict[str, Any]:
    """Not in the default run: kill -9 of a server whose spool holds rows (PostgreSQL down), so
    that its restart must take the dead process's spool file over and replay it."""
    args = ctx.args
    phase = Phase(
        ctx,
        "kill_spooling",
        f"PostgreSQL stopped after {args.before:g} s of load; 2 s later kill -9 of server a "
        f"(its spool holding rows), restarted {args.restart_after:g} s later on the same port "
        "and spool folder while PostgreSQL is still down; PostgreSQL started 2 s after the "
        f"restart is up, load {args.after:g} s more",
        LARGE_QUOTA,
    )
    with phase.running(one_at_a_time=first) as (pair, _):
        time.sleep(args.before)
        phase.note("stopping PostgreSQL (pg_ctl stop -m fast)")
        ctx.pg.stop("fast")
        stopped = phase.note("PostgreSQL stopped")
        time.sleep(2.0)
        victim = pair.servers[0]
        if victim.proc is None:
            raise RuntimeError("server a has no process")
        phase.note(f"kill -9 server a (pid {victim.proc.pid})")
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=10)
        at_death, _, _ = spooled_ids(pair.spools[:1])
        phase.facts["spool_rows_of_the_killed_server"] = len(at_death)
        phase.note(f"server a dead; its spool folder holds {len(at_death):,} rows")
        time.sleep(args.restart_after)
        phase.note("restarting server a (same port, same spool folder; /ready is 503 while down)")
        if restart_server_a(pair, phase, "/health") is not None:
            state = ready_state(pair.ports[0])
            claimed = spooled_rows(state)
            phase.facts["spooled_rows_reported_by_the_restart"] = claimed
            phase.note(f"server a answering again; /ready reports {claimed} spooled rows")
            if claimed is None or claimed < len(at_death):
                phase.problems.append(
                    f"the restarted server reports {claimed} spooled rows, fewer than the "
                    f"{len(at_death)} its dead predecessor left"
                )
        time.sleep(2.0)
        phase.note("starting PostgreSQL")
        ctx.pg.start()
        started = phase.note("PostgreSQL accepting connections")
        phase.facts["postgres_down_s"] = started - stopped
        time.sleep(args.after)
    phase.facts["postgres_start_to_empty_spool_s"] = phase.empty_after(started)
    return phase.result()


PHASE_RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "kill": phase_kill,
    "postgres": phase_postgres,
    "spool_full": phase_spool_full,
    "kill_spooling": phase_kill_spooling,
}


def expectations(name: str, result: dict[str, Any]) -> None:
    """What each fault must (not) show beyond the reconciliation; adds to its problems."""
    recon = result["reconciliation"]
    if name in ("kill", "postgres", "kill_spooling") and recon["refused"]:
        result["problems"].append(
            f"{recon['refused']} requests were refused although the spool had room "
            f"({result['load']['refused_by_error']})"
        )
    if name in ("kill", "kill_spooling") and not result["load"]["retried_requests"]:
        result["problems"].append("no request was retried: the kill was not felt by the load")
    if name == "spool_full" and not result["load"]["refused_by_error"].get("spool_full"):
        result["problems"].append("no request was refused with spool_full")
    if recon["unanswered"]:
        result["problems"].append(
            f"{recon['unanswered']} requests got no answer from either server after every attempt"
        )
    result["passed"] = not result["problems"]


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def print_tables(results: Mapping[str, Any]) -> None:
    phases = results["phases"]
    head = (
        f"{'phase':<11} {'requests':>8} {'answered':>8} {'refused':>7} {'failed':>6} "
        f"{'retried':>7} {'stored':>7} {'spooled':>7} {'aside':>5} {'lost':>4} {'doubled':>7} "
        f"{'5xx':>4}  answered = stored + spooled + refused"
    )
    print(
        f"\nFaults under {results['config']['rate_rps']:g} requests/s (two servers; load average "
        f"{results['load_average']['start'][0]:.1f} at the start, "
        f"{results['load_average']['end'][0]:.1f} at the end)"
    )
    print(head)
    print("-" * len(head))
    for name, result in phases.items():
        r = result["reconciliation"]
        load = result["load"]
        eq = r["equation"]
        doubled = sum(r["doubled"].values())
        equation = (
            f"{r['answered'] + r['refused']:,}"
            + (f" + {r['unanswered_but_kept']:,} unanswered" if r["unanswered_but_kept"] else "")
            + f" = {r['stored']:,} + {r['spooled']:,} + {r['refused']:,}"
            + (f" + {r['set_aside']:,} set aside" if r["set_aside"] else "")
            + ("  yes" if eq["holds"] else "  NO")
        )
        print(
            f"{name:<11} {r['requests']:>8,} {r['answered']:>8,} {r['refused']:>7,} "
            f"{load['failed_attempts']:>6,} {load['retried_requests']:>7,} {r['stored']:>7,} "
            f"{r['spooled']:>7,} {r['set_aside']:>5,} {r['lost']:>4,} {doubled:>7,} "
            f"{r['server_errors']:>4,}  {equation}"
        )
    print(
        "\nfailed: attempts with no HTTP answer (each retried on the other server with the same "
        "id); retried: requests that needed more than one attempt; aside: rows the database set "
        "aside at replay"
    )
    print("\nWhat each fault did:")
    for name, result in phases.items():
        facts = result["facts"]
        load = result["load"]
        watch = facts.get("watch", {})
        peaks = ", ".join(f"{s} {fmt(w['peak_spooled_rows'], ',')}" for s, w in watch.items())
        lat = load["latency_of_answers"]
        parts = [
            f"peak spooled rows {peaks}",
            f"drained {fmt(facts.get('drain_wait_s'), '.1f')} s after the load stopped",
            f"answers p50 {fmt(lat['p50_ms'], '.1f')} / p99 {fmt(lat['p99_ms'], '.1f')} / "
            f"max {fmt(lat['max_ms'], '.0f')} ms",
        ]
        if "kill_to_ready_s" in facts:
            parts.insert(0, f"killed to ready again {facts['kill_to_ready_s']:.1f} s")
        flight = facts.get("in_flight_at_kill")
        if flight:
            parts.insert(
                1,
                f"{flight['requests']} requests in flight at the kill "
                f"({flight['committed_by_the_killed_server']} committed by the killed server and "
                f"answered from the log on retry, {flight['logged_by_the_retry']} logged by the "
                f"retry, {flight['not_stored']} not stored)",
            )
        if "postgres_down_s" in facts:
            parts.insert(0, f"PostgreSQL down {facts['postgres_down_s']:.1f} s")
        if "postgres_start_to_empty_spool_s" in facts:
            empty = facts["postgres_start_to_empty_spool_s"]
            parts.append(
                "spools empty "
                + ", ".join(f"{s} {fmt(v, '.1f')} s" for s, v in empty.items())
                + " after PostgreSQL started"
            )
        if "postgres_start_to_answering_s" in facts:
            parts.append(
                f"answering again {facts['postgres_start_to_answering_s']:.1f} s after the start"
            )
        if load["refused_by_error"]:
            parts.append(f"refusals {load['refused_by_error']}")
        print(f"  {name}: " + "; ".join(parts))
    print("\nVerdict:")
    for name, result in phases.items():
        status = "PASS" if result["passed"] else "FAIL"
        print(f"  {status}  {name}: {result['description']}")
        for problem in result["problems"]:
            print(f"        - {problem}")
    store = results["store"]
    print(
        f"  store: {fmt(store['rows'], ',')} rows in the predictions table in all; unique index "
        f"on request_id: {'yes' if store['request_id_unique'] else 'NO'}"
        + (f"; FAIL: {store['problem']}" if "problem" in store else "")
    )
    overall = "PASS" if results["passed"] else "FAIL"
    print(
        f"  {overall}  overall: every answered prediction stored or spooled exactly once, no "
        "refused one kept"
        if results["passed"]
        else f"  {overall}  overall: see the problems above and the JSON's server log lines"
    )


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="driftwarden's durable prediction log under load: kill -9 of a server, "
        "PostgreSQL stopped, the spool's quota filled",
    )
    parser.add_argument(
        "--phases",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=list(PHASES),
        help=f"comma-separated faults to run, in order (default {','.join(PHASES)}; also "
        f"{','.join(EXTRA_PHASES)}: kill -9 of a server whose spool holds rows)",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="requests/s, both servers together"
    )
    parser.add_argument(
        "--before", type=float, default=DEFAULT_BEFORE, help="seconds of load before each fault"
    )
    parser.add_argument(
        "--after", type=float, default=DEFAULT_AFTER, help="seconds of load after the recovery"
    )
    parser.add_argument(
        "--restart-after",
        type=float,
        default=DEFAULT_RESTART_AFTER,
        help="seconds between the kill -9 and the restart",
    )
    parser.add_argument(
        "--pg-down", type=float, default=DEFAULT_PG_DOWN, help="seconds PostgreSQL stays down"
    )
    parser.add_argument(
        "--refuse-seconds",
        type=float,
        default=DEFAULT_REFUSE_SECONDS,
        help="seconds both servers must have refused (spool full) before PostgreSQL restarts",
    )
    parser.add_argument(
        "--spool-quota",
        type=int,
        default=DEFAULT_SPOOL_QUOTA,
        help="store.spool_max_bytes of the spool_full phase (default 65536)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=DEFAULT_DRAIN_TIMEOUT,
        help="longest wait for the spools to drain after each phase's load",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds one request attempt may take"
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="distinct Telco rows")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--pg-bin",
        type=Path,
        default=DEFAULT_PG_BIN if DEFAULT_PG_BIN.is_dir() else None,
        help="folder of initdb, pg_ctl and postgres (default: PostgreSQL 15's, else the PATH's)",
    )
    parser.add_argument("--output", "--json", dest="output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the temporary folder (server logs, spools); the cluster is always removed",
    )
    args = parser.parse_args(argv)
    unknown = [p for p in args.phases if p not in (*PHASES, *EXTRA_PHASES)]
    if unknown or not args.phases or len(set(args.phases)) < len(args.phases):
        parser.error(
            f"--phases takes some of {','.join((*PHASES, *EXTRA_PHASES))}, each once; got "
            f"{','.join(args.phases) or 'none'}"
        )
    if args.rate <= 0 or args.spool_quota <= 0:
        parser.error("--rate and --spool-quota must be positive")
    if args.pg_bin is None:
        found = shutil.which("pg_ctl")
        if found is None:
            parser.error("no pg_ctl on the PATH; name PostgreSQL's bin folder with --pg-bin")
        args.pg_bin = Path(found).resolve().parent
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-faults-"))
    pg = PostgresCluster(
        Path(tempfile.mkdtemp(prefix="driftwarden-faults-pg-")), free_port(), args.pg_bin
    )
    ctx: Context | None = None
    phases: dict[str, Any] = {}
    # Other work on the machine slows start-ups and answers (never the counts): keep its trace.
    load_before = os.getloadavg()
    try:
        t = step(f"creating a PostgreSQL cluster in {pg.root} (port {pg.port})")
        pg.init()
        pg.start()
        pg_version = pg.version()
        done(t, f": {pg_version}")
        # train_model reports its progress on stdout; here progress goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            training = train_model(workdir)
        t = step(f"building {args.rows} single-row request bodies from the Telco data")
        _, dw_bodies, bodies_info = build_bodies(args.rows, args.seed)
        done(t)
        ctx = Context(args, workdir, pg, [json.loads(body) for body in dw_bodies])
        for index, name in enumerate(args.phases):
            step(f"phase {index + 1}/{len(args.phases)}: {name}")
            result = PHASE_RUNNERS[name](ctx, first=index == 0)
            expectations(name, result)
            phases[name] = result
            status = "passed" if result["passed"] else "FAILED: " + "; ".join(result["problems"])
            say(f"   {name} {status}")
        store = store_facts(pg)
        phase_rows = sum(p["store_rows"] for p in phases.values())
        if store["rows"] != phase_rows or not store["request_id_unique"]:
            problem = (
                f"the predictions table holds {store['rows']} rows, the phases' ids {phase_rows}; "
                f"unique index on request_id: {store['request_id_unique']}"
            )
            say(f"   FAILED: {problem}")
            store["problem"] = problem
        pg_log = pg.log_tail(40)
    finally:
        if ctx is not None:
            for pair in list(ctx.live):
                pair.stop_all()
        pg.remove()
        if args.keep_workdir:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "faults",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine_info(),
        "config": {
            "phases": args.phases,
            "rate_rps": args.rate,
            "before_s": args.before,
            "after_s": args.after,
            "restart_after_s": args.restart_after,
            "pg_down_s": args.pg_down,
            "refuse_seconds": args.refuse_seconds,
            "spool_quota_bytes": {
                name: args.spool_quota if name == "spool_full" else LARGE_QUOTA
                for name in args.phases
            },
            "drain_timeout_s": args.drain_timeout,
            "request_timeout_s": args.timeout,
            "servers": 2,
            "server_settings": {
                "DRIFTWARDEN_STORE__URL": pg.url,
                "DRIFTWARDEN_SERVING__RUN_MONITOR": "false",
                "DRIFTWARDEN_STORE__SPOOL_DIR": "<phase>/<a|b>/spool",
                "DRIFTWARDEN_STORE__SPOOL_MAX_BYTES": "per phase, see spool_quota_bytes",
            },
            "postgres": pg_version,
            "load_generator": "benchmarks/peers/fault_load.py (aiohttp, open loop, in a thread)",
            "rows": args.rows,
            "seed": args.seed,
        },
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "measurement": MEASUREMENT,
        "training": training,
        "bodies": bodies_info,
        "postgres_log_tail": pg_log,
        "store": store,
        "phases": phases,
        "passed": all(p["passed"] for p in phases.values()) and "problem" not in store,
    }


MEASUREMENT = {
    "requests": "unique request ids sent by the load in the phase (request i due at start + "
    "i/rate, to server i mod 2)",
    "answered": "requests whose final attempt was answered 200",
    "refused": "requests whose final attempt was answered 503 (spool_full or store_unavailable); "
    "not retried",
    "failed_attempts": "attempts that got no HTTP answer (connection refused or reset, timeout); "
    "each is sent again to the other server with the same request_id, up to 5 attempts",
    "retried_requests": "requests that needed more than one attempt; a request counts by its "
    "final outcome",
    "unanswered": "requests whose every attempt failed (no HTTP answer at all)",
    "stored": "rows of the phase's request ids in the predictions table (SELECT request_id ... "
    "LIKE '<phase>-%'), after the servers stopped",
    "spooled": "lines of the phase's spool files (predictions*.jsonl but not *.refused.jsonl) "
    "after the servers stopped",
    "set_aside": "lines of *.refused.jsonl: spooled rows the database refused at replay",
    "lost": "answered ids in neither the store, the spools nor the set-aside rows",
    "doubled": "ids stored twice, spooled twice, or both stored and spooled",
    "equation": "answered + refused (+ rows of requests that got no answer but were kept) == "
    "stored + spooled + set aside + refused, exactly",
    "drain_wait_s": "from the load's stop until both servers' /ready show spooled_rows 0 and "
    "degraded false",
    "peak_spooled_rows": "largest store.spooled_rows seen by GET /ready, polled every 0.5 s",
    "latency_of_answers": "200 answers only, from the request's due time to its final answer "
    "(retries and the wait for them included), nearest-rank percentiles",
}


class Interrupted:
    """The signal that asked the run to stop, if one did."""

    signum: int | None = None


def _interrupted(signum: int, _frame: Any) -> None:
    # Every `finally` on the way out stops its servers, then the cluster.
    Interrupted.signum = signum
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, _interrupted) for s in watched}
    try:
        results = run(args)
    except KeyboardInterrupt:
        print("interrupted; the servers and the PostgreSQL cluster were stopped", file=sys.stderr)
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print_tables(results)
    write_results(args.output, results, started)
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
