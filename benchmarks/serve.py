"""Serving benchmark: ``driftwarden serve`` against ``mlflow models serve``, same model, same rows.

Run from the repository root::

    .venv/bin/python benchmarks/serve.py                 # 20 s per load phase
    .venv/bin/python benchmarks/serve.py --duration 10   # quicker

One run trains the bundled Telco model with ``driftwarden train`` in a temporary working directory
(so it is version 1 of ``driftwarden`` in a temporary ``.driftwarden/`` MLflow store) and serves
that one registered version three ways, one server process each:

1. ``mlflow models serve -m models:/driftwarden/1 --env-manager local --workers 1``;
2. ``driftwarden serve`` with its default durable prediction log (SQLite on disk; every row is
   committed before the answer);
3. ``driftwarden serve`` with ``serving.log_predictions`` off: the same server, answering without
   logging; the difference between 2 and 3 is what durable logging costs.

A separate process (``peers/load_runner.py``, aiohttp) sends single-row requests built from real
Telco rows at concurrency 1, 8 and 64 for ``--duration`` seconds each, then at a fixed 100
requests/s (open loop). Results go to stdout and ``benchmarks/results/serve.json``. Targets are
reported as PASS/FAIL lines; a missed target never makes the command fail, only a real error
does. See ``benchmarks/README.md``.

The workers phase (``--phases workers`` alone; both run by default) serves the same version on
every core: ``driftwarden serve --workers 1`` and ``--workers N`` (N = ``--workers``, the cores by
default) on the default SQLite store and on a fresh PostgreSQL database (``--postgres-url``), and
``mlflow models serve --workers N``, each at concurrency 64 after a warm-up. It reports the
throughput of N workers against one and against mlflow with N workers, the throughput per worker
(so the figure reads the same on a bigger machine), the prediction log's rows against the
answers, and how many of the workers' commits met another worker's write lock. The load
generator runs on the same machine and takes its share of the cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from _common import (
    cpu_model,
    done,
    fmt,
    positive_ints,
    print_targets,
    ratio,
    step,
    write_results,
)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "serve.json"
LOAD_RUNNER = BENCH_DIR / "peers" / "load_runner.py"
BIN = Path(sys.executable).parent

DEFAULT_CONCURRENCY = (1, 8, 64)
DEFAULT_DURATION = 20.0
DEFAULT_RATE = 100.0
DEFAULT_ROWS = 300
DEFAULT_LOGGING_PAIRS = 3
WARMUP_SECONDS = 3.0
WARMUP_CONCURRENCY = 8
SEED = 20_240_601
READY_TIMEOUT = 120.0

TARGET_CONCURRENCY = 64
TARGET_VS_MLFLOW = 10.0
TARGET_P99_MS = 15.0
LOGGING_CONCURRENCY = 8
TARGET_LOGGING_P99_MS = 1.0

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def filesystem_of(path: Path) -> str | None:
    """The mount type holding ``path`` (longest matching mount point in /proc/mounts)."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return None
    resolved = str(path.resolve())
    best = ("", None)
    for parts in mounts:
        inside = len(parts) >= 3 and (
            resolved == parts[1] or resolved.startswith(parts[1].rstrip("/") + "/")
        )
        if inside and len(parts[1]) >= len(best[0]):
            best = (parts[1], parts[2])
    return best[1]


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "memory_gib": psutil.virtual_memory().total / 1024**3,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": {
            name: version(name)
            for name in (
                "driftwarden",
                "mlflow",
                "fastapi",
                "uvicorn",
                "starlette",
                "pydantic",
                "scikit-learn",
                "pandas",
                "numpy",
                "sqlalchemy",
                "aiohttp",
                "psutil",
            )
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def driftwarden_serving_settings() -> dict[str, Any]:
    """The serving and store defaults that shape latency (micro-batch wait, group-commit wait)."""
    try:
        from driftwarden.core import Settings

        settings = Settings()
    except Exception as exc:  # reported, not fatal
        return {"error": f"could not read driftwarden settings: {exc}"}
    out: dict[str, Any] = {}
    for section, names in (
        ("serving", ("max_batch_size", "max_batch_wait_ms")),
        ("store", ("group_commit_max_wait_ms",)),
    ):
        obj = getattr(settings, section, None)
        for name in names:
            out[f"{section}.{name}"] = getattr(obj, name, None)
    return out


# --------------------------------------------------------------------------------------------------
# Model and request bodies
# --------------------------------------------------------------------------------------------------


def train_model(workdir: Path) -> dict[str, Any]:
    t = step(f"training the Telco model with `driftwarden train` in {workdir}")
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(BIN / "driftwarden"), "train"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"driftwarden train failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    done(t, f": {last}")
    return {"seconds": time.perf_counter() - t, "output": last}


def build_bodies(rows: int, seed: int) -> tuple[list[str], list[str], dict[str, Any]]:
    """Single-row bodies for mlflow (``dataframe_records``) and driftwarden (features + id)."""
    from driftwarden.data import TELCO_ID, TELCO_TARGET, load_telco

    frame = load_telco()
    complete = frame.dropna()
    sample = complete.sample(n=min(rows, len(complete)), random_state=seed)
    records = json.loads(sample.to_json(orient="records"))
    mlflow_bodies = []
    dw_bodies = []
    for record in records:
        record.pop(TELCO_TARGET, None)
        entity = record.pop(TELCO_ID)
        mlflow_bodies.append(json.dumps({"dataframe_records": [record]}))
        dw_bodies.append(json.dumps({**record, TELCO_ID: entity}))
    info = {
        "rows": len(records),
        "source": "driftwarden.data.load_telco(), rows without missing values, "
        f"sampled with random_state={seed}",
        "features": len(records[0]) if records else 0,
        "mlflow_example": json.loads(mlflow_bodies[0]),
        "driftwarden_example": json.loads(dw_bodies[0]),
    }
    return mlflow_bodies, dw_bodies, info


# --------------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    label: str
    url: str
    ready_url: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    db_path: Path | None = None
    #: Counts the predictions table where it is not the SQLite file at db_path (PostgreSQL).
    count_rows: Callable[[], int] | None = None
    store_note: str = ""
    logs_rows: bool = True
    proc: subprocess.Popen[bytes] | None = None
    startup_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        t = time.perf_counter()
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = t + READY_TIMEOUT
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        self.startup_seconds = time.perf_counter() - t
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def processes(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.processes():
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    def rss_bytes(self) -> int:
        total = 0
        for p in self.processes():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def metrics_lines(self) -> list[str]:
        """driftwarden's Prometheus samples about batching, commits and the store."""
        url = self.ready_url.rsplit("/", 1)[0] + "/metrics"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return [f"could not read {url}: {exc}"]
        words = ("batch", "commit", "store", "spool", "predict")
        return [
            line
            for line in text.splitlines()
            if not line.startswith("#") and any(w in line for w in words)
        ][:80]

    def logged_rows(self) -> int | None:
        if self.count_rows is not None:
            return self.count_rows()
        if self.db_path is None or not self.db_path.exists():
            return None
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])


def bench_env() -> dict[str, str]:
    """The environment of every server: quiet, offline, and no DRIFTWARDEN_* of the caller's."""
    env = {
        **os.environ,
        **QUIET_ENV,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for key in [k for k in env if k.startswith("DRIFTWARDEN_")]:
        env.pop(key)
    return env


def mlflow_server(workdir: Path, log_path: Path, *, workers: int, name: str, label: str) -> Server:
    """``mlflow models serve`` of version 1 of the trained model, with ``workers`` workers."""
    port = free_port()
    tracking = f"sqlite:///{workdir / '.driftwarden' / 'mlflow.db'}"
    return Server(
        name=name,
        label=label,
        url=f"http://127.0.0.1:{port}/invocations",
        ready_url=f"http://127.0.0.1:{port}/ping",
        command=[
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/driftwarden/1",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env={**bench_env(), "MLFLOW_TRACKING_URI": tracking},
        cwd=workdir,
        log_path=log_path,
        store_note="no prediction log",
        logs_rows=False,
    )


def make_servers(workdir: Path, logs: Path) -> list[Server]:
    base_env = bench_env()
    durable_port, nolog_port = free_port(), free_port()
    durable_db = workdir / ".driftwarden" / "driftwarden.db"
    return [
        mlflow_server(
            workdir, logs / "mlflow.log", workers=1, name="mlflow", label="mlflow models serve"
        ),
        Server(
            name="driftwarden",
            label="driftwarden serve (durable log)",
            url=f"http://127.0.0.1:{durable_port}/v1/predict",
            ready_url=f"http://127.0.0.1:{durable_port}/ready",
            command=[
                str(BIN / "driftwarden"),
                "serve",
                "--port",
                str(durable_port),
                "--workers",
                "1",
            ],
            env=base_env,
            cwd=workdir,
            log_path=logs / "driftwarden.log",
            db_path=durable_db,
            store_note=f"default store: SQLite (WAL) at {durable_db} "
            f"({filesystem_of(workdir)}), every row committed before the answer",
        ),
        Server(
            name="driftwarden_nolog",
            label="driftwarden serve (logging off)",
            url=f"http://127.0.0.1:{nolog_port}/v1/predict",
            ready_url=f"http://127.0.0.1:{nolog_port}/ready",
            command=[
                str(BIN / "driftwarden"),
                "serve",
                "--port",
                str(nolog_port),
                "--workers",
                "1",
            ],
            env={**base_env, "DRIFTWARDEN_SERVING__LOG_PREDICTIONS": "false"},
            cwd=workdir,
            log_path=logs / "driftwarden_nolog.log",
            db_path=durable_db,
            store_note="DRIFTWARDEN_SERVING__LOG_PREDICTIONS=false: answers without logging "
            "(the store is still opened and migrated)",
            logs_rows=False,
        ),
    ]


# --------------------------------------------------------------------------------------------------
# Load phases
# --------------------------------------------------------------------------------------------------


def run_phase(
    server: Server,
    bodies_file: Path,
    *,
    name: str,
    mode: str,
    duration: float,
    concurrency: int = 1,
    rate: float = DEFAULT_RATE,
    offset: int = 0,
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(LOAD_RUNNER),
        "--url",
        server.url,
        "--bodies",
        str(bodies_file),
        "--mode",
        mode,
        "--duration",
        str(duration),
        "--concurrency",
        str(concurrency),
        "--rate",
        str(rate),
        "--offset",
        str(offset),
    ]
    cpu_before = server.cpu_seconds()
    steal_before = host_cpu_ticks()
    wall_before = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - wall_before
    server_cpu = server.cpu_seconds() - cpu_before
    steal_after = host_cpu_ticks()
    if proc.returncode != 0:
        raise RuntimeError(f"load runner failed for {server.name}/{name}:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["phase"] = name
    elapsed = result["elapsed_s"] or wall
    result["server_cpu_s"] = server_cpu
    # The server's CPU is sampled around the whole runner process (its start-up included), so it
    # is divided by the runner's wall time, not by the load phase alone.
    result["server_cpu_percent"] = 100 * server_cpu / wall if wall > 0 else None
    result["runner_wall_s"] = wall
    result["host_steal_percent"] = steal_percent(steal_before, steal_after)
    result["server_rss_bytes_after"] = server.rss_bytes()
    result["elapsed_s"] = elapsed
    return result


def host_cpu_ticks() -> tuple[int, int] | None:
    """(steal, all) CPU ticks of the whole machine from ``/proc/stat``; None where there is none.

    Steal is time the hypervisor gave this machine's virtual CPUs to someone else: a phase that
    lost much of it measured the host as well as the server.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_percent(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of the machine's CPU time stolen by the hypervisor between two readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 100 * (after[0] - before[0]) / (after[1] - before[1])


def print_phase(result: Mapping[str, Any]) -> None:
    lat = result["latency"]
    print(
        f"   {result['phase']:<10} {result['ok']:>7,} ok {result['failed']:>4} failed  "
        f"{fmt(result['throughput_rps'], ',.0f'):>7} req/s  p50 {fmt(lat['p50_ms'], '.2f')} "
        f"p99 {fmt(lat['p99_ms'], '.2f')} ms  "
        f"server CPU {fmt(result['server_cpu_percent'], '.0f')}%"
        f"  loadgen CPU {fmt(result['loadgen_cpu_percent'], '.0f')}%"
        f"  host steal {fmt(result.get('host_steal_percent'), '.1f')}%",
        flush=True,
    )


def warm_up(server: Server, bodies_file: Path) -> dict[str, Any]:
    """The warm-up phase: not in the tables, counted in the logged-rows check."""
    t = step(f"{server.label}: warm-up, concurrency {WARMUP_CONCURRENCY} for {WARMUP_SECONDS:g} s")
    warm = run_phase(
        server,
        bodies_file,
        name="warmup",
        mode="closed",
        duration=WARMUP_SECONDS,
        concurrency=WARMUP_CONCURRENCY,
    )
    done(t)
    return warm


def bench_server(
    server: Server, bodies_file: Path, concurrency: Sequence[int], duration: float, rate: float
) -> dict[str, Any]:
    t = step(f"{server.label}: starting")
    server.start()
    done(t, f": ready after {server.startup_seconds:.1f} s")
    entry: dict[str, Any] = {
        "label": server.label,
        "url": server.url,
        "command": server.command,
        "store": server.store_note,
        "startup_seconds": server.startup_seconds,
        "phases": {},
    }
    try:
        rows_before = server.logged_rows()
        offset = 0
        warm = warm_up(server, bodies_file)
        offset += warm["requests"]
        entry["warmup"] = warm
        for c in concurrency:
            step(f"{server.label}: concurrency {c} for {duration:g} s")
            result = run_phase(
                server,
                bodies_file,
                name=f"c={c}",
                mode="closed",
                duration=duration,
                concurrency=c,
                offset=offset,
            )
            offset += result["requests"]
            entry["phases"][f"c{c}"] = result
            print_phase(result)
        step(f"{server.label}: fixed rate {rate:g} requests/s for {duration:g} s (open loop)")
        result = run_phase(
            server,
            bodies_file,
            name=f"{rate:g}/s",
            mode="rate",
            duration=duration,
            rate=rate,
            offset=offset,
        )
        entry["phases"]["rate"] = result
        print_phase(result)
        answered = warm["ok"] + sum(p["ok"] for p in entry["phases"].values())
        failed = warm["failed"] + sum(p["failed"] for p in entry["phases"].values())
        entry["answered_ok"] = answered
        entry["failed"] = failed
        if server.db_path is not None:
            entry["metrics_after_load"] = server.metrics_lines()
            rows_live = server.logged_rows()
            entry["logged_rows_while_running"] = (
                None if rows_live is None else rows_live - (rows_before or 0)
            )
    finally:
        t = step(f"{server.label}: stopping")
        server.stop()
        done(t)
    entry["server_log_tail"] = server.log_tail(15)
    entry["server_log_errors"] = [
        line
        for line in server.log_path.read_text(errors="replace").splitlines()
        if any(word in line for word in ("ERROR", "Traceback", "CRITICAL"))
    ][:20]
    if server.db_path is not None:
        rows_after = server.logged_rows()
        entry["logged_rows_before"] = rows_before
        entry["logged_rows"] = None if rows_after is None else rows_after - (rows_before or 0)
        # With logging off, the right number of new rows is none.
        entry["logged_rows_expected"] = entry["answered_ok"] if server.logs_rows else 0
        entry["logged_rows_equal_answered"] = entry["logged_rows"] == entry["logged_rows_expected"]
        print(
            f"   predictions table: {entry['logged_rows']} new rows; answered (2xx) "
            f"{entry['answered_ok']} (warm-up included); while running "
            f"{entry.get('logged_rows_while_running')}",
            flush=True,
        )
    return entry


def bench_logging_pairs(
    workdir: Path, logs: Path, bodies_file: Path, pairs: int, duration: float
) -> dict[str, Any]:
    """What the durable log costs, from interleaved phases of the two driftwarden servers.

    Both servers run at once (the idle one waits for requests) and phases at concurrency
    ``LOGGING_CONCURRENCY`` alternate between them, the order flipping every pair, so that a
    slow spell of the machine (CPU stolen by the hypervisor, a disk flush) falls on both alike
    instead of on one server's only phase. Each pair gives one p99 difference; the median of
    the pairs is the figure the target is checked against.
    """
    servers = {s.name: s for s in make_servers(workdir, logs) if s.name != "mlflow"}
    durable, nolog = servers["driftwarden"], servers["driftwarden_nolog"]
    out: dict[str, Any] = {
        "concurrency": LOGGING_CONCURRENCY,
        "duration_s": duration,
        "pairs": [],
        "failed": {"driftwarden": 0, "driftwarden_nolog": 0},
    }
    answered = 0
    rows_before: int | None = None
    try:
        for server in (durable, nolog):
            t = step(f"{server.label}: starting for the interleaved phases")
            server.start()
            done(t, f": ready after {server.startup_seconds:.1f} s")
        rows_before = durable.logged_rows()
        offsets = {durable.name: 0, nolog.name: 0}
        for server in (durable, nolog):
            warm = warm_up(server, bodies_file)
            offsets[server.name] += warm["requests"]
            out["failed"][server.name] += warm["failed"]
            answered += warm["ok"] if server is durable else 0
        for index in range(pairs):
            order = (durable, nolog) if index % 2 == 0 else (nolog, durable)
            pair: dict[str, Any] = {"order": [server.name for server in order]}
            for server in order:
                step(
                    f"pair {index + 1}/{pairs}: {server.label}, concurrency "
                    f"{LOGGING_CONCURRENCY} for {duration:g} s"
                )
                result = run_phase(
                    server,
                    bodies_file,
                    name=f"pair {index + 1}",
                    mode="closed",
                    duration=duration,
                    concurrency=LOGGING_CONCURRENCY,
                    offset=offsets[server.name],
                )
                offsets[server.name] += result["requests"]
                out["failed"][server.name] += result["failed"]
                answered += result["ok"] if server is durable else 0
                pair[server.name] = result
                print_phase(result)
            d = pair["driftwarden"]["latency"]["p99_ms"]
            n = pair["driftwarden_nolog"]["latency"]["p99_ms"]
            pair["logging_cost_p99_ms"] = None if d is None or n is None else d - n
            out["pairs"].append(pair)
    finally:
        for server in (durable, nolog):
            server.stop()
    rows_after = durable.logged_rows()
    out["logged_rows"] = (
        None if rows_after is None or rows_before is None else rows_after - rows_before
    )
    out["logged_rows_expected"] = answered
    costs = [p["logging_cost_p99_ms"] for p in out["pairs"] if p["logging_cost_p99_ms"] is not None]
    out["logging_cost_p99_ms"] = costs
    out["median_logging_cost_p99_ms"] = statistics.median(costs) if costs else None
    return out


# --------------------------------------------------------------------------------------------------
# Every core: several workers behind one port
# --------------------------------------------------------------------------------------------------

TARGET_WORKER_SCALING = 1.6
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_WRITER_STOPPED = re.compile(
    r"prediction writer stopped: (\d+) rows in (\d+) commits \((\d+) waited for a lock\)"
)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def postgres_store(admin_url: str | None) -> Iterator[tuple[str, Callable[[], int]] | None]:
    """A new database on the PostgreSQL server ``admin_url`` reaches, dropped afterwards; ``None``
    when there is no server (the PostgreSQL runs are then skipped and say so)."""
    if not admin_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"driftwarden_bench_{os.getpid()}_{int(time.time())}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"   no PostgreSQL at {admin_url} ({str(exc).splitlines()[0]}): skipping its runs")
        admin.dispose()
        yield None
        return
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    counter = create_engine(url)

    def count() -> int:
        with counter.connect() as connection:
            try:
                return int(
                    connection.execute(text("SELECT COUNT(*) FROM predictions")).scalar_one()
                )
            except Exception:  # not migrated yet: no rows
                return 0

    try:
        yield url, count
    finally:
        counter.dispose()
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def lock_waits(log_path: Path) -> dict[str, int]:
    """What each worker's prediction writer said as it stopped: rows, commits, lock waits."""
    found = _WRITER_STOPPED.findall(log_path.read_text(errors="replace"))
    return {
        "workers_reporting": len(found),
        "rows": sum(int(rows) for rows, _, _ in found),
        "commits": sum(int(commits) for _, commits, _ in found),
        "commits_that_waited_for_a_lock": sum(int(waits) for _, _, waits in found),
    }


def bench_at_64(server: Server, bodies_file: Path, duration: float) -> dict[str, Any]:
    """Start ``server``, warm it up, load it at concurrency 64 and stop it; check the log."""
    t = step(f"{server.label}: starting")
    server.start()
    done(t, f": ready after {server.startup_seconds:.1f} s")
    entry: dict[str, Any] = {
        "label": server.label,
        "command": server.command,
        "store": server.store_note,
        "startup_seconds": server.startup_seconds,
    }
    try:
        rows_before = server.logged_rows() if server.logs_rows else None
        warm = warm_up(server, bodies_file)
        step(f"{server.label}: concurrency {TARGET_CONCURRENCY} for {duration:g} s")
        result = run_phase(
            server,
            bodies_file,
            name=f"c={TARGET_CONCURRENCY}",
            mode="closed",
            duration=duration,
            concurrency=TARGET_CONCURRENCY,
            offset=warm["requests"],
        )
        print_phase(result)
        entry["warmup"] = warm
        entry["phase"] = result
        entry["answered_ok"] = warm["ok"] + result["ok"]
        entry["failed"] = warm["failed"] + result["failed"]
    finally:
        t = step(f"{server.label}: stopping")
        server.stop()
        done(t)
    entry["server_log_errors"] = [
        line
        for line in server.log_path.read_text(errors="replace").splitlines()
        if any(word in line for word in ("ERROR", "Traceback", "CRITICAL"))
    ][:20]
    if server.logs_rows:
        after = server.logged_rows()
        entry["logged_rows"] = None if after is None else after - (rows_before or 0)
        entry["logged_rows_equal_answered"] = entry["logged_rows"] == entry["answered_ok"]
        entry["writers"] = lock_waits(server.log_path)
        print(
            f"   predictions table: {entry['logged_rows']} new rows; answered (2xx) "
            f"{entry['answered_ok']}; writers: {entry['writers']}",
            flush=True,
        )
    return entry


def bench_workers(
    workdir: Path,
    logs: Path,
    dw_file: Path,
    mlflow_file: Path,
    *,
    workers: int,
    duration: float,
    postgres_url: str | None,
) -> dict[str, Any]:
    """driftwarden with one worker and with ``workers``, on SQLite and on PostgreSQL, and mlflow
    with ``workers``, each at concurrency 64 with the load generator on the same machine."""
    base_env = bench_env()
    out: dict[str, Any] = {"workers": workers, "cores": cores(), "runs": {}}
    mlflow = mlflow_server(
        workdir,
        logs / "mlflow-workers.log",
        workers=workers,
        name="mlflow_workers",
        label=f"mlflow models serve --workers {workers}",
    )
    out["runs"]["mlflow"] = bench_at_64(mlflow, mlflow_file, duration)
    sqlite_db = workdir / ".driftwarden" / "driftwarden.db"
    with postgres_store(postgres_url) as postgres:
        stores: list[tuple[str, dict[str, str], Server | None]] = [("sqlite", {}, None)]
        if postgres is not None:
            stores.append(("postgres", {"DRIFTWARDEN_STORE__URL": postgres[0]}, None))
        for store, env, _ in stores:
            for count in (1, workers):
                port = free_port()
                server = Server(
                    name=f"driftwarden_{store}_{count}",
                    label=f"driftwarden serve --workers {count} ({store})",
                    url=f"http://127.0.0.1:{port}/v1/predict",
                    ready_url=f"http://127.0.0.1:{port}/ready",
                    command=[
                        str(BIN / "driftwarden"),
                        "serve",
                        "--port",
                        str(port),
                        "--workers",
                        str(count),
                    ],
                    env={**base_env, **env},
                    cwd=workdir,
                    log_path=logs / f"driftwarden-{store}-{count}.log",
                    db_path=sqlite_db if store == "sqlite" else None,
                    count_rows=None if postgres is None or store == "sqlite" else postgres[1],
                    store_note=f"{store}, every row committed before the answer",
                )
                out["runs"][f"{store}_{count}"] = bench_at_64(server, dw_file, duration)
    ml = out["runs"]["mlflow"]["phase"]["throughput_rps"]
    out["comparison"] = {}
    for store in ("sqlite", "postgres"):
        one = out["runs"].get(f"{store}_1")
        many = out["runs"].get(f"{store}_{workers}")
        if one is None or many is None:
            continue
        rps_one, rps_many = one["phase"]["throughput_rps"], many["phase"]["throughput_rps"]
        out["comparison"][store] = {
            "one_worker_rps": rps_one,
            "workers_rps": rps_many,
            "scaling": ratio(rps_many, rps_one),
            "per_core_rps": None if rps_many is None else rps_many / workers,
            "vs_mlflow_same_workers": ratio(rps_many, ml),
            "p99_ms_one": one["phase"]["latency"]["p99_ms"],
            "p99_ms_workers": many["phase"]["latency"]["p99_ms"],
            "max_ms_workers": many["phase"]["latency"]["max_ms"],
        }
    return out


def worker_targets(result: Mapping[str, Any]) -> list[dict]:
    out: list[dict] = []
    n = result["workers"]
    for store, row in result["comparison"].items():
        value = row["scaling"]
        out.append(
            _target(
                f"throughput at concurrency {TARGET_CONCURRENCY}, {n} workers / 1 worker ({store})",
                value,
                f">= {TARGET_WORKER_SCALING:g}x",
                None if value is None else value >= TARGET_WORKER_SCALING,
                f"{fmt(value, '.2f')}x ({fmt(row['workers_rps'], ',.0f')} vs "
                f"{fmt(row['one_worker_rps'], ',.0f')} req/s; "
                f"{fmt(row['per_core_rps'], ',.0f')} req/s per worker; "
                f"{fmt(row['vs_mlflow_same_workers'], '.1f')}x mlflow with {n} workers)",
            )
        )
    checks = {
        name: (run.get("logged_rows"), run["answered_ok"])
        for name, run in result["runs"].items()
        if name != "mlflow"
    }
    out.append(
        _target(
            "worker runs: logged rows == answered requests, and no failed request",
            None,
            "equal, 0 failed",
            all(a == b for a, b in checks.values())
            and all(run["failed"] == 0 for name, run in result["runs"].items() if name != "mlflow"),
            "; ".join(f"{k}: {v[0]} rows / {v[1]} answered" for k, v in checks.items()),
        )
    )
    return out


def print_workers(result: Mapping[str, Any]) -> None:
    n = result["workers"]
    print("\n" + "=" * 110)
    print(
        f"Every core: concurrency {TARGET_CONCURRENCY}, load generator on the same "
        f"{result['cores']}-core machine; {n} workers vs 1."
    )
    header = (
        f"{'server':<44} {'req/s':>8} {'per worker':>10} {'p50':>7} {'p99':>7} {'max':>8} "
        f"{'server CPU':>10} {'loadgen CPU':>11} {'rows = answered':>16} {'lock waits':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, run in result["runs"].items():
        phase, lat = run["phase"], run["phase"]["latency"]
        workers = n if name == "mlflow" or not name.endswith("_1") else 1
        writers = run.get("writers") or {}
        print(
            f"{run['label']:<44} {fmt(phase['throughput_rps'], ',.0f'):>8} "
            f"{fmt(phase['throughput_rps'] / workers, ',.0f'):>10} "
            f"{fmt(lat['p50_ms'], '.2f'):>7} {fmt(lat['p99_ms'], '.2f'):>7} "
            f"{fmt(lat['max_ms'], '.1f'):>8} {fmt(phase['server_cpu_percent'], '.0f') + '%':>10} "
            f"{fmt(phase['loadgen_cpu_percent'], '.0f') + '%':>11} "
            f"{run.get('logged_rows_equal_answered', '-')!s:>16} "
            f"{writers.get('commits_that_waited_for_a_lock', '-')!s:>10}"
        )
    for store, row in result["comparison"].items():
        print(
            f"  {store}: {n} workers {fmt(row['scaling'], '.2f')}x one worker, "
            f"{fmt(row['vs_mlflow_same_workers'], '.1f')}x mlflow with {n} workers, "
            f"{fmt(row['per_core_rps'], ',.0f')} req/s per worker"
        )


# --------------------------------------------------------------------------------------------------
# Comparison and targets
# --------------------------------------------------------------------------------------------------


def phase_keys(concurrency: Sequence[int]) -> list[str]:
    return [*(f"c{c}" for c in concurrency), "rate"]


def comparisons(servers: Mapping[str, Any], concurrency: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ml = servers["mlflow"]["phases"]
    for key in phase_keys(concurrency):
        row: dict[str, Any] = {}
        for name in ("driftwarden", "driftwarden_nolog"):
            ph = servers[name]["phases"][key]
            row[f"{name}/mlflow_throughput"] = ratio(
                ph["throughput_rps"], ml[key]["throughput_rps"]
            )
            row[f"{name}/mlflow_p50"] = ratio(ph["latency"]["p50_ms"], ml[key]["latency"]["p50_ms"])
            row[f"{name}/mlflow_p99"] = ratio(ph["latency"]["p99_ms"], ml[key]["latency"]["p99_ms"])
        durable = servers["driftwarden"]["phases"][key]["latency"]
        nolog = servers["driftwarden_nolog"]["phases"][key]["latency"]
        row["logging_cost_p50_ms"] = durable["p50_ms"] - nolog["p50_ms"]
        row["logging_cost_p99_ms"] = durable["p99_ms"] - nolog["p99_ms"]
        out[key] = row
    return out


def _target(name: str, value: float | None, goal: str, ok: bool | None, detail: str) -> dict:
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    return {"name": name, "status": status, "value": value, "target": goal, "detail": detail}


def targets(
    servers: Mapping[str, Any],
    comp: Mapping[str, Any],
    concurrency: Sequence[int],
    rate: float,
    pairs: Mapping[str, Any] | None = None,
) -> list[dict]:
    out: list[dict] = []
    key = f"c{TARGET_CONCURRENCY}"
    if TARGET_CONCURRENCY in concurrency:
        value = comp[key]["driftwarden/mlflow_throughput"]
        dw = servers["driftwarden"]["phases"][key]["throughput_rps"]
        ml = servers["mlflow"]["phases"][key]["throughput_rps"]
        out.append(
            _target(
                f"throughput at concurrency {TARGET_CONCURRENCY}: driftwarden (durable) / mlflow",
                value,
                f">= {TARGET_VS_MLFLOW:g}x",
                None if value is None else value >= TARGET_VS_MLFLOW,
                f"{fmt(value, '.2f')}x ({fmt(dw, ',.0f')} vs {fmt(ml, ',.0f')} req/s)",
            )
        )
    else:
        out.append(
            _target(
                f"throughput at concurrency {TARGET_CONCURRENCY}",
                None,
                f">= {TARGET_VS_MLFLOW:g}x",
                None,
                f"concurrency {TARGET_CONCURRENCY} not run",
            )
        )
    rate_phase = servers["driftwarden"]["phases"]["rate"]
    p99 = rate_phase["latency"]["p99_ms"]
    achieved = rate_phase["throughput_rps"]
    out.append(
        _target(
            f"driftwarden (durable) p99 at a steady {rate:g} requests/s",
            p99,
            f"< {TARGET_P99_MS:g} ms",
            None if p99 is None else p99 < TARGET_P99_MS,
            f"p99 {fmt(p99, '.2f')} ms (p50 {fmt(rate_phase['latency']['p50_ms'], '.2f')} ms, "
            f"achieved {fmt(achieved, '.1f')} req/s)",
        )
    )
    lkey = f"c{LOGGING_CONCURRENCY}"
    sequential = (
        f"; the one phase of each server run one after the other: "
        f"{fmt(comp[lkey]['logging_cost_p99_ms'], '+.2f')} ms"
        if LOGGING_CONCURRENCY in concurrency
        else ""
    )
    if pairs and pairs["logging_cost_p99_ms"]:
        cost = pairs["median_logging_cost_p99_ms"]
        each = ", ".join(fmt(c, "+.2f") for c in pairs["logging_cost_p99_ms"])
        out.append(
            _target(
                f"logging cost at concurrency {LOGGING_CONCURRENCY}: p99 with the durable log - "
                "p99 with logging off, median of interleaved pairs",
                cost,
                f"<= {TARGET_LOGGING_P99_MS:g} ms",
                cost <= TARGET_LOGGING_P99_MS,
                f"{fmt(cost, '+.2f')} ms (pairs: {each} ms{sequential})",
            )
        )
    elif LOGGING_CONCURRENCY in concurrency:
        cost = comp[lkey]["logging_cost_p99_ms"]
        d = servers["driftwarden"]["phases"][lkey]["latency"]["p99_ms"]
        m = servers["driftwarden_nolog"]["phases"][lkey]["latency"]["p99_ms"]
        out.append(
            _target(
                f"logging cost at concurrency {LOGGING_CONCURRENCY}: p99 with the durable log - "
                "p99 with logging off",
                cost,
                f"<= {TARGET_LOGGING_P99_MS:g} ms",
                None if cost is None else cost <= TARGET_LOGGING_P99_MS,
                f"{fmt(cost, '+.2f')} ms ({fmt(d, '.2f')} vs {fmt(m, '.2f')} ms)",
            )
        )
    else:
        out.append(
            _target(
                f"logging cost at concurrency {LOGGING_CONCURRENCY}",
                None,
                f"<= {TARGET_LOGGING_P99_MS:g} ms",
                None,
                f"concurrency {LOGGING_CONCURRENCY} not run, nor interleaved pairs",
            )
        )
    failed = {name: servers[name]["failed"] for name in ("driftwarden", "driftwarden_nolog")}
    for name, count in (pairs or {}).get("failed", {}).items():
        failed[name] += count
    total = sum(failed.values())
    out.append(
        _target(
            "failed requests (non-2xx or errors), both driftwarden runs, every phase",
            float(total),
            "0",
            total == 0,
            ", ".join(f"{k} {v}" for k, v in failed.items())
            + f" (mlflow: {servers['mlflow']['failed']})",
        )
    )
    checks = {
        name: (servers[name].get("logged_rows"), servers[name]["logged_rows_expected"])
        for name in ("driftwarden", "driftwarden_nolog")
    }
    if pairs:
        checks["interleaved pairs"] = (pairs["logged_rows"], pairs["logged_rows_expected"])
    all_equal = all(logged == expected for logged, expected in checks.values())
    out.append(
        _target(
            "logged rows == answered requests with logging on, 0 with it off",
            None,
            "equal",
            all_equal,
            "; ".join(f"{k}: {v[0]} rows / {v[1]} expected" for k, v in checks.items()),
        )
    )
    return out


# --------------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------------

SHORT = {
    "mlflow": "mlflow",
    "driftwarden": "dw durable",
    "driftwarden_nolog": "dw no log",
}


def print_tables(results: Mapping[str, Any]) -> None:
    servers = results["servers"]
    config = results["config"]
    concurrency = config["concurrency"]
    print("\n" + "=" * 110)
    print(
        f"Same model (driftwarden v1, Telco) served by one process each; single-row requests "
        f"cycling over {results['bodies']['rows']} real rows; {config['duration_s']:g} s per "
        "phase; load from a separate aiohttp process."
    )
    for name in ("mlflow", "driftwarden", "driftwarden_nolog"):
        print(f"  {SHORT[name]:<11} {servers[name]['label']}: {servers[name]['store']}")
    print(
        "CPU % = CPU seconds / wall seconds (100% = one core; the machine has "
        f"{results['machine']['cpu_count']}). Latency in ms; rate phase latency from the due time."
    )
    header = (
        f"{'phase':<8} {'server':<11} {'req/s':>8} {'ok':>8} {'failed':>6} {'p50':>7} "
        f"{'p95':>7} {'p99':>7} {'max':>8} {'server CPU':>10} {'loadgen CPU':>11} "
        f"{'host steal':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for key in phase_keys(concurrency):
        for name in ("mlflow", "driftwarden", "driftwarden_nolog"):
            ph = servers[name]["phases"][key]
            lat = ph["latency"]
            print(
                f"{ph['phase']:<8} {SHORT[name]:<11} {fmt(ph['throughput_rps'], ',.1f'):>8} "
                f"{ph['ok']:>8,} {ph['failed']:>6} {fmt(lat['p50_ms'], '.2f'):>7} "
                f"{fmt(lat['p95_ms'], '.2f'):>7} {fmt(lat['p99_ms'], '.2f'):>7} "
                f"{fmt(lat['max_ms'], '.1f'):>8} {fmt(ph['server_cpu_percent'], '.0f') + '%':>10} "
                f"{fmt(ph['loadgen_cpu_percent'], '.0f') + '%':>11} "
                f"{fmt(ph.get('host_steal_percent'), '.1f') + '%':>10}"
            )
    comp = results["comparison"]
    header = (
        f"{'phase':<8} {'durable/mlflow req/s':>20} {'no log/mlflow req/s':>19} "
        f"{'durable/mlflow p50':>19} {'durable/mlflow p99':>19} {'log cost p50 ms':>16} "
        f"{'log cost p99 ms':>16}"
    )
    print("\n" + header)
    print("-" * len(header))
    for key in phase_keys(concurrency):
        row = comp[key]
        print(
            f"{servers['mlflow']['phases'][key]['phase']:<8} "
            f"{fmt(row['driftwarden/mlflow_throughput'], '.2f') + 'x':>20} "
            f"{fmt(row['driftwarden_nolog/mlflow_throughput'], '.2f') + 'x':>19} "
            f"{fmt(row['driftwarden/mlflow_p50'], '.2f') + 'x':>19} "
            f"{fmt(row['driftwarden/mlflow_p99'], '.2f') + 'x':>19} "
            f"{fmt(row['logging_cost_p50_ms'], '+.2f'):>16} "
            f"{fmt(row['logging_cost_p99_ms'], '+.2f'):>16}"
        )
    print(
        "log cost = the durable log (SQLite on disk, committed before each answer) minus "
        "logging off."
    )
    print(
        "\nPrediction log (rows added to the predictions table vs 2xx answers, warm-up included):"
    )
    for name in ("driftwarden", "driftwarden_nolog"):
        s = servers[name]
        print(
            f"  {SHORT[name]:<11} rows {s.get('logged_rows')} (expected "
            f"{s.get('logged_rows_expected')}), answered {s['answered_ok']}, "
            f"counted while running {s.get('logged_rows_while_running')}, equal: "
            f"{s.get('logged_rows_equal_answered')}"
        )
    for name in ("mlflow", "driftwarden", "driftwarden_nolog"):
        errors = servers[name]["server_log_errors"]
        if errors:
            print(f"  {SHORT[name]} server log has {len(errors)} error line(s), first: {errors[0]}")
    pairs = results.get("logging_pairs")
    if pairs:
        print(
            f"\nLogging cost from interleaved pairs (both servers up, concurrency "
            f"{pairs['concurrency']}, {pairs['duration_s']:g} s each, order flipped every pair):"
        )
        for index, pair in enumerate(pairs["pairs"], start=1):
            d, n = pair["driftwarden"], pair["driftwarden_nolog"]
            print(
                f"  pair {index}: dw durable {fmt(d['throughput_rps'], ',.0f')} req/s p99 "
                f"{fmt(d['latency']['p99_ms'], '.2f')} ms (steal "
                f"{fmt(d.get('host_steal_percent'), '.1f')}%), dw no log "
                f"{fmt(n['throughput_rps'], ',.0f')} req/s p99 "
                f"{fmt(n['latency']['p99_ms'], '.2f')} ms (steal "
                f"{fmt(n.get('host_steal_percent'), '.1f')}%): cost "
                f"{fmt(pair['logging_cost_p99_ms'], '+.2f')} ms"
            )
        print(
            f"  median {fmt(pairs['median_logging_cost_p99_ms'], '+.2f')} ms; rows logged "
            f"{pairs['logged_rows']} for {pairs['logged_rows_expected']} durable answers"
        )
    print_targets(results["targets"])


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="driftwarden serve (durable log, and logging off) vs mlflow models serve",
    )
    parser.add_argument(
        "--duration", type=float, default=DEFAULT_DURATION, help="seconds per load phase"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_ints("--concurrency", "1,8,64"),
        default=list(DEFAULT_CONCURRENCY),
        help="comma-separated closed-loop concurrencies (default 1,8,64)",
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="open-loop requests/s (default 100)"
    )
    parser.add_argument(
        "--logging-pairs",
        type=int,
        default=DEFAULT_LOGGING_PAIRS,
        help=f"interleaved pairs of concurrency-{LOGGING_CONCURRENCY} phases (durable log, "
        f"logging off) that measure what logging costs (default {DEFAULT_LOGGING_PAIRS}; 0: "
        "none, the one phase of each server decides)",
    )
    parser.add_argument(
        "--phases",
        default="single,workers",
        help="which parts to run: single (one process each, every concurrency, the logging "
        "pairs) and workers (one worker vs --workers at concurrency 64, mlflow with as many); "
        "default both",
    )
    parser.add_argument(
        "--workers", type=int, default=cores(), help="workers of the workers phase (default: cores)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DRIFTWARDEN_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a PostgreSQL server to run the workers phase on too (a database is created and "
        "dropped); empty to skip",
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="distinct Telco rows")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"results file (default {DEFAULT_OUTPUT.name}; serve-workers.json when only the "
        "workers phase runs)",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the temporary directory (logs, stores)"
    )
    args = parser.parse_args(argv)
    args.phases = {phase.strip() for phase in args.phases.split(",") if phase.strip()}
    unknown = args.phases - {"single", "workers"}
    if unknown or not args.phases:
        parser.error(f"--phases takes single and/or workers, got {sorted(unknown) or 'nothing'}")
    if args.output is None:
        only_workers = args.phases == {"workers"}
        args.output = (
            DEFAULT_OUTPUT.with_name("serve-workers.json") if only_workers else DEFAULT_OUTPUT
        )
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-serve-bench-"))
    servers: dict[str, Any] = {}
    pairs: dict[str, Any] | None = None
    workers: dict[str, Any] | None = None
    try:
        training = train_model(workdir)
        t = step(f"building {args.rows} single-row request bodies from the Telco data")
        mlflow_bodies, dw_bodies, bodies_info = build_bodies(args.rows, args.seed)
        mlflow_file = workdir / "bodies-mlflow.json"
        dw_file = workdir / "bodies-driftwarden.json"
        mlflow_file.write_text(json.dumps(mlflow_bodies))
        dw_file.write_text(json.dumps(dw_bodies))
        done(t)
        logs = workdir / "logs"
        logs.mkdir()
        if "workers" in args.phases:
            worker_logs = logs / "workers"
            worker_logs.mkdir()
            workers = bench_workers(
                workdir,
                worker_logs,
                dw_file,
                mlflow_file,
                workers=args.workers,
                duration=args.duration,
                postgres_url=args.postgres_url or None,
            )
        if "single" in args.phases:
            for server in make_servers(workdir, logs):
                bodies_file = mlflow_file if server.name == "mlflow" else dw_file
                servers[server.name] = bench_server(
                    server, bodies_file, args.concurrency, args.duration, args.rate
                )
        if "single" in args.phases and args.logging_pairs > 0:
            pair_logs = logs / "pairs"
            pair_logs.mkdir()
            pairs = bench_logging_pairs(
                workdir, pair_logs, dw_file, args.logging_pairs, args.duration
            )
    finally:
        if args.keep_workdir:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    single = "single" in args.phases
    comp = comparisons(servers, args.concurrency) if single else None
    found_targets = targets(servers, comp, args.concurrency, args.rate, pairs) if single else []
    if workers is not None:
        found_targets += worker_targets(workers)
    return {
        "benchmark": "serve",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine_info(),
        "config": {
            "duration_s": args.duration,
            "concurrency": args.concurrency,
            "rate_rps": args.rate,
            "warmup_s": WARMUP_SECONDS,
            "warmup_concurrency": WARMUP_CONCURRENCY,
            "rows": args.rows,
            "seed": args.seed,
            "logging_pairs": args.logging_pairs,
            "phases": sorted(args.phases),
            "server_processes": "1 (single); 1 and --workers (workers)",
            "workers": args.workers,
            "load_generator": "benchmarks/peers/load_runner.py (aiohttp, asyncio, one process)",
            "driftwarden_settings": driftwarden_serving_settings(),
            "workdir_filesystem": filesystem_of(Path(tempfile.gettempdir())),
        },
        "measurement": MEASUREMENT,
        "training": training,
        "bodies": bodies_info,
        "servers": servers,
        "comparison": comp,
        "logging_pairs": pairs,
        "workers": workers,
        "targets": found_targets,
    }


MEASUREMENT = {
    "throughput_rps": "2xx answers / phase wall time (from the first request to the later of the "
    "deadline and the last answer), measured in the load generator",
    "latency": "per request, time.perf_counter() from send to the whole body read, 2xx only; "
    "nearest-rank percentiles; in the fixed-rate phase from the request's due time "
    "(start + i/rate), so queueing behind a slow server counts (latency_from_send is also stored)",
    "failed": "requests that raised (connection error, 30 s timeout) or answered non-2xx",
    "server_cpu_percent": "user+system CPU seconds of the server's process tree (psutil, the "
    "mlflow CLI and its uvicorn child; the driftwarden process) over the load runner's lifetime, "
    "divided by that wall time; 100% = one core",
    "loadgen_cpu_percent": "time.process_time() of the load-generator process over the phase / "
    "phase wall time",
    "logged_rows": "COUNT(*) of the predictions table after the server stopped minus before the "
    "warm-up, compared with every 2xx answer of that server (warm-up included)",
    "logging_cost": "latency of driftwarden with its default durable log (SQLite on disk, every "
    "row committed before the answer) minus the same server with "
    "DRIFTWARDEN_SERVING__LOG_PREDICTIONS=false; the target is checked against the median of "
    "interleaved pairs (both servers up, their phases alternating, the order flipped every pair)",
    "host_steal_percent": "share of the machine's CPU time (all cores) that the hypervisor gave "
    "to others during the phase, from /proc/stat; high values mean the phase measured the host",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run(args)
    if results["workers"] is not None:
        print_workers(results["workers"])
    if results["servers"]:
        print_tables(results)
    else:
        print_targets(results["targets"])
    write_results(args.output, results, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
