"""Monitor benchmark: one monitor run over a window of 1,000,000 logged predictions.

Run from the repository root::

    .venv/bin/python benchmarks/monitor.py                  # 1,000,000 rows, SQLite and PostgreSQL
    .venv/bin/python benchmarks/monitor.py --rows 200000    # quicker
    .venv/bin/python benchmarks/monitor.py --skip-postgres  # SQLite only

One run trains the bundled Telco model (``driftwarden.training.train``, as ``driftwarden train``
does) and registers it in a temporary MLflow registry; generates ``--rows`` realistic rows with
``driftwarden.data.RowGenerator`` fitted on the Telco data, scores them with the model, and loads
them, as serving logs them, into a fresh SQLite store and a fresh schema of the PostgreSQL server
at 127.0.0.1:5432 (database ``test``, user ``postgres``; skipped with a SKIP line when it cannot
be reached), spread over one hour. Then, on each store, ``Monitor.run_once`` runs once over a
small window (warm-up: imports, profile loading) and ``--repeats`` times over the whole hour,
each time as the first run over it and again one monitor interval after a previous run (steady
state); the best run is reported, split into reading the window and statistics. Beside it, a
naive peer reads the same window the way one would by gluing tools by hand: ``pandas.read_sql`` of
the same columns, then ``json.loads`` of every row's features into a DataFrame.

Results go to stdout and ``benchmarks/results/monitor.json``. Targets are reported as PASS/FAIL
lines; a missed target never makes the command fail, only a real error does. See
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from numpy.typing import NDArray

from _common import cpu_model, done, fmt, print_targets, ratio, step, write_results

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "monitor.json"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

DEFAULT_ROWS = 1_000_000
DEFAULT_REPEATS = 2
SEED = 20_240_601
#: Rows generated, scored and loaded per step (and per transaction).
CHUNK_ROWS = 100_000
#: The window: the rows are spread over one hour from START, the monitor's default window.
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=1)
END = START + WINDOW
#: The warm-up run ends this long after START, so its window holds the first minute's rows.
WARMUP = dt.timedelta(minutes=1)
MODEL_NAME = "driftwarden"
MODEL_VERSION = 1
VARIANT = "champion"
#: Serving latency of a logged prediction: lognormal, median 2 ms.
LATENCY_MEDIAN_MS = 2.0
LATENCY_SIGMA = 0.5

TARGET_ROWS = 1_000_000
TARGET_POSTGRES_SECONDS = 10.0
TARGET_READ_OVER_STATS = 10.0

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "DO_NOT_TRACK": "1",
}

# The columns the loaders write, in this order.
COLUMNS = (
    "request_id",
    "entity_id",
    "created_at",
    "model_version",
    "variant",
    "features",
    "score",
    "label",
    "latency_ms",
)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


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
                "numpy",
                "pandas",
                "pyarrow",
                "scipy",
                "scikit-learn",
                "sqlalchemy",
                "psycopg",
                "mlflow",
                "river",
            )
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def source_state() -> dict[str, Any]:
    """The commit measured, and the files of ``src/`` that differ from it (read-only git calls):
    the figures are those of the working tree."""

    def git(*command: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", *command],
                cwd=BENCH_DIR.parent,
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.rstrip("\n") if proc.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "src")
    return {
        "commit": git("rev-parse", "HEAD"),
        "src_changes_not_committed": None if changed is None else changed.splitlines(),
    }


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def host_cpu_ticks() -> tuple[int, int] | None:
    """(steal, all) CPU ticks of the whole machine from ``/proc/stat`` (as in serve.py)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


@dataclass
class Measured:
    seconds: float
    rss_rise_bytes: int | None
    host_steal_percent: float | None
    result: Any


def measured(fn: Callable[[], Any]) -> Measured:
    """Run ``fn`` once after a ``gc.collect()``: wall seconds, the rise of the resident-set
    high-water mark over the resident set before it (None where it cannot be read), the share of
    the machine's CPU time the hypervisor gave to others meanwhile, and what ``fn`` returned."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (Linux >= 4.0)
        can_reset = True
    except OSError:
        can_reset = False
    before = _status_kib("VmRSS")
    ticks = host_cpu_ticks()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    after = host_cpu_ticks()
    peak = _status_kib("VmHWM")
    rise = None
    if can_reset and before is not None and peak is not None:
        rise = max(0, peak - before) * 1024
    steal = None
    if ticks is not None and after is not None and after[1] > ticks[1]:
        steal = 100 * (after[0] - ticks[0]) / (after[1] - ticks[1])
    return Measured(seconds, rise, steal, result)


def _target(name: str, value: float | None, goal: str, ok: bool | None, detail: str) -> dict:
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    return {"name": name, "status": status, "value": value, "target": goal, "detail": detail}


def mb(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 1e6


# --------------------------------------------------------------------------------------------------
# The model: trained on the bundled Telco data, registered in a temporary MLflow registry
# --------------------------------------------------------------------------------------------------


@dataclass
class Trained:
    settings: Any
    registry: Any
    model: Any
    frame: pd.DataFrame
    features: list[str]
    numeric: set[str]
    info: dict[str, Any]


def train_and_register(workdir: Path) -> Trained:
    from driftwarden.core import load_settings
    from driftwarden.data import TELCO_ID, TELCO_TARGET, load_telco
    from driftwarden.registry import ModelRegistry
    from driftwarden.schema import infer_schema
    from driftwarden.training import train

    t = step("training the Telco model (driftwarden.training.train, as `driftwarden train`)")
    settings = load_settings(
        None,
        home=str(workdir / "home"),
        registry={
            "tracking_uri": f"sqlite:///{workdir / 'mlflow.db'}",
            "artifact_location": str(workdir / "artifacts"),
            "model_name": MODEL_NAME,
        },
        store={
            "url": f"sqlite:///{workdir / 'store.db'}",
            "spool_dir": str(workdir / "spool"),
        },
        # No alert channel: the run decides its alerts, nothing is sent anywhere.
        alerts={"log": False},
    )
    frame = load_telco()
    schema = infer_schema(frame, target=TELCO_TARGET, entity_id=TELCO_ID)
    options = settings.training
    result = train(
        frame,
        schema,
        holdout=options.holdout,
        test_size=options.test_size,
        seed=options.seed,
        progress=lambda message: print(f"   {message}", flush=True),
    )
    registry = ModelRegistry(settings.registry, home=settings.home)
    registered = registry.register(result, alias="auto")
    metrics = result.metrics
    done(
        t,
        f": version {registered.version} ({', '.join(registered.aliases)}), holdout ROC AUC "
        f"{metrics.roc_auc:.4f} on {result.n_holdout:,} rows",
    )
    features = [spec.name for spec in schema.features]
    numeric = {spec.name for spec in schema.features if spec.kind == "numeric"}
    info = {
        "seconds": time.perf_counter() - t,
        "version": registered.version,
        "aliases": list(registered.aliases),
        "holdout_roc_auc": metrics.roc_auc,
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "features": len(features),
        "numeric_features": sorted(numeric),
    }
    return Trained(settings, registry, result.model, frame, features, numeric, info)


# --------------------------------------------------------------------------------------------------
# The logged predictions
# --------------------------------------------------------------------------------------------------


@dataclass
class Chunk:
    """Consecutive logged predictions, column by column, as the stores will hold them."""

    request_id: list[str]
    entity_id: list[str]
    created_at: list[str]  # SQLite's stored text, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
    features: list[str]
    score: list[float]
    label: list[int]
    latency_ms: list[float]

    def __len__(self) -> int:
        return len(self.request_id)


def _request_ids(micros: NDArray[np.int64], rng: np.random.Generator) -> list[str]:
    """UUIDv7 ids as serving makes them (``driftwarden.core.new_request_id``), at the row's time."""
    millis = (micros // 1000).tolist()
    rand_a = rng.integers(0, 1 << 12, size=len(micros)).tolist()
    rand_b = rng.integers(0, 1 << 62, size=len(micros), dtype=np.int64).tolist()
    return [
        f"{m << 80 | 0x7 << 76 | a << 64 | 0b10 << 62 | b:032x}"
        for m, a, b in zip(millis, rand_a, rand_b, strict=True)
    ]


def _times(micros: NDArray[np.int64]) -> list[str]:
    # The text UtcDateTime stores on SQLite: datetime.isoformat(" ", "microseconds") in UTC.
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [value.replace("T", " ") for value in text.tolist()]


def generate_rows(trained: Trained, n_rows: int, seed: int) -> tuple[list[Chunk], dict[str, Any]]:
    """``n_rows`` generated, scored rows spread evenly over the hour from START."""
    from driftwarden.data import TELCO_ID, TELCO_TARGET, RowGenerator

    t = step(
        f"generating {n_rows:,} rows (RowGenerator fitted on the Telco data), scoring them with "
        f"the model, encoding features as JSON, in chunks of {CHUNK_ROWS:,}"
    )
    generator = RowGenerator.fit(trained.frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=seed)
    rng = np.random.default_rng(seed)
    start_us = int(START.timestamp() * 1_000_000)
    span_us = int(WINDOW.total_seconds() * 1_000_000)
    names = trained.features
    chunks: list[Chunk] = []
    seconds = {"generate": 0.0, "score": 0.0, "encode": 0.0}
    text_bytes = 0
    for index, first in enumerate(range(0, n_rows, CHUNK_ROWS)):
        count = min(CHUNK_ROWS, n_rows - first)
        began = time.perf_counter()
        frame = generator.generate(count, seed=seed + index)
        scored = time.perf_counter()
        seconds["generate"] += scored - began
        scores = trained.model.predict_proba(frame[names])[:, 1].astype(np.float64)
        encoded = time.perf_counter()
        seconds["score"] += encoded - scored
        # As serving logs them: every feature in model order, numbers as floats (the request
        # model's numeric fields are floats), categories as text; compact JSON, which is what the
        # store's serializer (pydantic-core) writes for the same dict.
        columns = [
            (frame[name].astype(np.float64) if name in trained.numeric else frame[name]).tolist()
            for name in names
        ]
        features = [
            json.dumps(dict(zip(names, row, strict=True)), separators=(",", ":"), allow_nan=False)
            for row in zip(*columns, strict=True)
        ]
        micros = start_us + (np.arange(first, first + count, dtype=np.int64) * span_us) // n_rows
        chunk = Chunk(
            request_id=_request_ids(micros, rng),
            entity_id=frame[TELCO_ID].tolist(),
            created_at=_times(micros),
            features=features,
            score=scores.tolist(),
            label=(scores >= 0.5).astype(np.int64).tolist(),
            latency_ms=rng.lognormal(np.log(LATENCY_MEDIAN_MS), LATENCY_SIGMA, count).tolist(),
        )
        seconds["encode"] += time.perf_counter() - encoded
        text_bytes += sum(len(text) for text in features)
        chunks.append(chunk)
        print(
            f"   {first + count:>10,} / {n_rows:,} rows ({time.perf_counter() - t:.1f} s)",
            flush=True,
        )
    sample = chunks[0].features[0] if chunks else ""
    done(t, f": {text_bytes / max(n_rows, 1):.0f} bytes of feature JSON per row")
    return chunks, {
        "seconds": time.perf_counter() - t,
        "seconds_by_step": seconds,
        "features_json_bytes_per_row": text_bytes / max(n_rows, 1),
        "matches_store_serializer": _matches_serializer(
            chunks[0].features[:1000] if chunks else []
        ),
        "example_features": json.loads(sample) if sample else None,
        "mean_score": float(np.mean([s for c in chunks for s in c.score])) if chunks else None,
    }


def _matches_serializer(texts: list[str]) -> bool:
    """Whether the text is what the store's JSON serializer writes for the same dict."""
    import pydantic_core

    return all(pydantic_core.to_json(json.loads(text)).decode() == text for text in texts)


# --------------------------------------------------------------------------------------------------
# Loading the stores
# --------------------------------------------------------------------------------------------------


def load_sqlite(path: Path, chunks: Sequence[Chunk]) -> tuple[Any, dict[str, Any]]:
    """A migrated SQLite store at ``path`` holding the rows; returns its engine."""
    from driftwarden.store import create_store_engine, upgrade

    n_rows = sum(len(c) for c in chunks)
    engine = create_store_engine(f"sqlite:///{path}")
    upgrade(engine)  # also sets the store's page size on the new file
    engine.dispose()
    t = step(
        f"loading {n_rows:,} rows into SQLite ({path}): executemany, one transaction per chunk"
    )
    sql = (
        f"INSERT INTO predictions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    )
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        loaded = 0
        for chunk in chunks:
            with connection:  # one transaction
                connection.executemany(
                    sql,
                    zip(
                        chunk.request_id,
                        chunk.entity_id,
                        chunk.created_at,
                        [MODEL_VERSION] * len(chunk),
                        [VARIANT] * len(chunk),
                        chunk.features,
                        chunk.score,
                        chunk.label,
                        chunk.latency_ms,
                        strict=True,
                    ),
                )
            loaded += len(chunk)
            elapsed = time.perf_counter() - t
            print(
                f"   {loaded:>10,} / {n_rows:,} rows ({elapsed:.1f} s, "
                f"{loaded / elapsed:,.0f} rows/s)",
                flush=True,
            )
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    seconds = time.perf_counter() - t
    size = path.stat().st_size
    done(t, f": {n_rows / seconds:,.0f} rows/s, {size / 1e6:,.0f} MB on disk")
    return create_store_engine(f"sqlite:///{path}"), {
        "seconds": seconds,
        "rows_per_second": n_rows / seconds,
        "method": "sqlite3 executemany of a plain INSERT on a raw connection, WAL, "
        f"synchronous=NORMAL, one transaction per {CHUNK_ROWS:,} rows",
        "database_bytes": size,
    }


def postgres_admin(url: str) -> tuple[Any, str | None]:
    """An engine on the PostgreSQL server, or None and why it cannot be reached."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # reported as SKIP, never fatal
        engine.dispose()
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return engine, None


def load_postgres(admin: Any, schema: str, chunks: Sequence[Chunk]) -> tuple[Any, dict[str, Any]]:
    """A migrated store in a fresh schema holding the rows; returns its engine."""
    from sqlalchemy import text

    from driftwarden.store import create_store_engine, upgrade

    n_rows = sum(len(c) for c in chunks)
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_store_engine(url)
    upgrade(engine)
    t = step(f"loading {n_rows:,} rows into PostgreSQL (schema {schema}): COPY FROM STDIN")
    copy_sql = f"COPY predictions ({', '.join(COLUMNS)}) FROM STDIN"
    raw = engine.raw_connection()
    try:
        loaded = 0
        for chunk in chunks:
            cursor = raw.cursor()
            try:
                with cursor.copy(copy_sql) as copy:
                    for row in zip(
                        chunk.request_id,
                        chunk.entity_id,
                        chunk.created_at,
                        chunk.features,
                        chunk.score,
                        chunk.label,
                        chunk.latency_ms,
                        strict=True,
                    ):
                        request_id, entity_id, created_at, features, score, label, latency = row
                        copy.write_row(
                            (
                                request_id,
                                entity_id,
                                created_at + "+00",
                                MODEL_VERSION,
                                VARIANT,
                                features,
                                score,
                                label,
                                latency,
                            )
                        )
            finally:
                cursor.close()
            raw.commit()
            loaded += len(chunk)
            elapsed = time.perf_counter() - t
            print(
                f"   {loaded:>10,} / {n_rows:,} rows ({elapsed:.1f} s, "
                f"{loaded / elapsed:,.0f} rows/s)",
                flush=True,
            )
    finally:
        raw.close()
    seconds = time.perf_counter() - t
    done(t, f": {n_rows / seconds:,.0f} rows/s")
    # What autovacuum does to a table after many inserts, done now so that it does not start
    # during a timed run: statistics for the planner and the visibility map.
    t = step("VACUUM ANALYZE predictions (what autovacuum would do after the inserts)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE predictions"))
        size = connection.scalar(text("SELECT pg_total_relation_size('predictions')"))
        server = connection.scalar(text("SHOW server_version"))
        shared_buffers = connection.scalar(text("SHOW shared_buffers"))
    vacuum_seconds = time.perf_counter() - t
    done(t, f": table and indexes {int(size) / 1e6:,.0f} MB")
    return engine, {
        "seconds": seconds,
        "rows_per_second": n_rows / seconds,
        "method": "psycopg cursor.copy (COPY ... FROM STDIN, text format, write_row), one "
        f"transaction per {CHUNK_ROWS:,} rows, then VACUUM ANALYZE",
        "vacuum_analyze_seconds": vacuum_seconds,
        "database_bytes": int(size),
        "server_version": server,
        "shared_buffers": shared_buffers,
    }


# --------------------------------------------------------------------------------------------------
# The measurements
# --------------------------------------------------------------------------------------------------


def reset_monitor_state(engine: Any) -> None:
    """Forget what earlier runs left (detector state and cursors, alerts), so that every timed
    run is the first run over the window: its score detector is fed the whole window."""
    from sqlalchemy import text

    with engine.begin() as connection:
        for table in ("monitor_state", "alert_events", "alerts"):
            connection.execute(text(f"DELETE FROM {table}"))


def naive_read(engine: Any, start: dt.datetime, end: dt.datetime) -> tuple[pd.DataFrame, Any]:
    """The peer: the same window's same columns through ``pandas.read_sql``, then ``json.loads``
    of each row's features and ``pandas.DataFrame.from_records``."""
    from sqlalchemy import Text, cast, select

    from driftwarden.store import Prediction

    query = (
        select(
            Prediction.model_version,
            Prediction.variant,
            Prediction.score,
            Prediction.latency_ms,
            cast(Prediction.features, Text).label("features"),
        )
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        columns = pd.read_sql(query, connection)
    features = pd.DataFrame.from_records([json.loads(text) for text in columns.pop("features")])
    return columns, features


def driftwarden_read(engine: Any, start: dt.datetime, end: dt.datetime, kinds: Mapping[str, str]):
    """The monitor's own read alone: ``read_window`` then ``assemble``."""
    from driftwarden.monitoring.window import assemble
    from driftwarden.store import read_window

    return assemble(read_window(engine, start, end), kinds)


def same_rows(dw: Any, peer: tuple[pd.DataFrame, pd.DataFrame], kinds: Mapping[str, str]) -> dict:
    """Whether the peer read what driftwarden read: rows, columns, and the values."""
    columns, features = peer
    checks: dict[str, Any] = {
        "rows": (len(dw), len(columns), len(features)),
        "features": sorted(features.columns) == sorted(kinds),
    }
    equal = len(dw) == len(columns) == len(features) and checks["features"]
    if equal:
        equal = bool(
            np.array_equal(dw.score, columns["score"].to_numpy())
            and np.array_equal(dw.latency_ms, columns["latency_ms"].to_numpy())
            and np.array_equal(dw.model_version, columns["model_version"].to_numpy())
        )
    if equal:
        for name, kind in kinds.items():
            ours = dw.features[name]
            theirs = features[name]
            if kind == "numeric":
                same = np.array_equal(
                    ours.to_numpy(dtype=np.float64), theirs.to_numpy(dtype=np.float64)
                )
            else:
                same = bool((ours.astype(object) == theirs.astype(object)).all())
            if not same:
                equal = False
                checks["first_difference"] = name
                break
    checks["equal"] = equal
    return checks


def _run_record(m: Measured) -> dict[str, Any]:
    outcome = m.result.outcome
    return {
        "wall_seconds": m.seconds,
        "read_seconds": outcome.read_seconds,
        "stats_seconds": outcome.stats_seconds,
        "duration_seconds": outcome.duration_seconds,
        "other_seconds": m.seconds - outcome.read_seconds - outcome.stats_seconds,
        "n_rows": outcome.n_rows,
        "rows_per_second": outcome.n_rows / m.seconds,
        "read_over_stats": ratio(outcome.read_seconds, outcome.stats_seconds),
        "rss_rise_bytes": m.rss_rise_bytes,
        "host_steal_percent": m.host_steal_percent,
        "severity": [r.severity for r in outcome.results],
        "share_drifted": [
            None if r.report is None else r.report.share_drifted for r in outcome.results
        ],
        "firing_checks": len(m.result.firing),
    }


def _print_run(prefix: str, run: Mapping[str, Any]) -> None:
    print(
        f"   {prefix} {run['wall_seconds']:.2f} s over {run['n_rows']:,} rows (read "
        f"{run['read_seconds']:.2f} s, statistics {run['stats_seconds']:.2f} s, rest "
        f"{run['other_seconds']:.2f} s; {run['rows_per_second']:,.0f} rows/s; RSS "
        f"+{fmt(mb(run['rss_rise_bytes']), ',.0f')} MB; host steal "
        f"{fmt(run['host_steal_percent'], '.1f')}%)",
        flush=True,
    )


def _read_record(m: Measured, rows: int) -> dict[str, Any]:
    return {
        "seconds": m.seconds,
        "rss_rise_bytes": m.rss_rise_bytes,
        "host_steal_percent": m.host_steal_percent,
        "n_rows": rows,
    }


def bench_store(
    name: str, engine: Any, trained: Trained, repeats: int, n_rows: int
) -> dict[str, Any]:
    from driftwarden.core import SimulatedClock
    from driftwarden.monitoring import Monitor

    label = "SQLite" if name == "sqlite" else "PostgreSQL"
    monitor = Monitor(trained.settings, engine, trained.registry, SimulatedClock(END))
    t = step(f"{label}: warm-up run over the first minute (imports, profile loading; not counted)")
    warm = monitor.run_once(START + WARMUP)
    done(t, f": {warm.outcome.n_rows:,} rows, total {warm.outcome.duration_seconds:.2f} s")
    kinds = dict(monitor.references.profile(MODEL_VERSION).kinds)
    interval = trained.settings.monitor.interval
    minutes = f"{interval.total_seconds() / 60:g} min"

    runs: list[dict[str, Any]] = []
    steady: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    peers: list[dict[str, Any]] = []
    check: dict[str, Any] | None = None
    for attempt in range(1, repeats + 1):
        tag = f"run {attempt}/{repeats}:"
        # The first run over the window: no state, the score detector takes the whole window.
        reset_monitor_state(engine)
        runs.append(_run_record(measured(lambda: monitor.run_once(END))))
        _print_run(f"{tag} monitor, first run over the window,", runs[-1])

        # Steady state: the monitor ran one interval earlier, so its detectors take only the
        # scores logged since; the window read and the statistics are the same.
        reset_monitor_state(engine)
        monitor.run_once(END - interval)
        steady.append(_run_record(measured(lambda: monitor.run_once(END))))
        _print_run(f"{tag} monitor, previous run {minutes} earlier,", steady[-1])

        m = measured(lambda: driftwarden_read(engine, START, END, kinds))
        frame = m.result
        reads.append(_read_record(m, len(frame)))
        print(
            f"   {tag} driftwarden read_window + assemble alone {m.seconds:.2f} s (RSS "
            f"+{fmt(mb(m.rss_rise_bytes), ',.0f')} MB)",
            flush=True,
        )
        m = measured(lambda: naive_read(engine, START, END))
        peer = m.result
        peers.append(_read_record(m, len(peer[0])))
        print(
            f"   {tag} naive peer (pandas.read_sql + json.loads + DataFrame.from_records) "
            f"{m.seconds:.2f} s (RSS +{fmt(mb(m.rss_rise_bytes), ',.0f')} MB)",
            flush=True,
        )
        if check is None:
            check = same_rows(frame, peer, kinds)
            print(f"   the peer read the same rows and values: {check['equal']}", flush=True)
        del m, frame, peer

    best = min(runs, key=lambda r: r["wall_seconds"])
    best_peer = min(p["seconds"] for p in peers)
    best_read = min(r["seconds"] for r in reads)
    return {
        "store": label,
        "rows_expected": n_rows,
        "warmup": {
            "window_end": (START + WARMUP).isoformat(),
            "n_rows": warm.outcome.n_rows,
            "duration_seconds": warm.outcome.duration_seconds,
        },
        "runs": runs,
        "best": best,
        "steady_state": {
            "previous_run_end": (END - interval).isoformat(),
            "runs": steady,
            "best": min(steady, key=lambda r: r["wall_seconds"]),
        },
        "driftwarden_read_alone": {"runs": reads, "best_seconds": best_read},
        "peer": {"runs": peers, "best_seconds": best_peer, "same_rows": check},
        "driftwarden_read/peer": ratio(best["read_seconds"], best_peer),
        "driftwarden_read_alone/peer": ratio(best_read, best_peer),
    }


# --------------------------------------------------------------------------------------------------
# Targets and printing
# --------------------------------------------------------------------------------------------------


def targets(stores: Mapping[str, Any], postgres_skip: str | None, rows: int) -> list[dict]:
    """The targets hold for a window of TARGET_ROWS rows; a smaller window gives SKIP (with
    its figure), since fixed costs weigh more there."""
    out: list[dict] = []
    small = rows < TARGET_ROWS
    scale = f"; the target is for a window of {TARGET_ROWS:,} rows or more" if small else ""
    name = "PostgreSQL: one monitor run over the window (Monitor.run_once, wall)"
    pg = stores.get("postgres")
    if pg is None:
        reason = postgres_skip or "PostgreSQL not run"
        out.append(_target(name, None, f"< {TARGET_POSTGRES_SECONDS:g} s", None, reason))
    else:
        best = pg["best"]
        seconds = best["wall_seconds"]
        out.append(
            _target(
                name,
                seconds,
                f"< {TARGET_POSTGRES_SECONDS:g} s",
                None if small else seconds < TARGET_POSTGRES_SECONDS,
                f"{seconds:.2f} s for {best['n_rows']:,} rows "
                f"({best['rows_per_second']:,.0f} rows/s){scale}",
            )
        )
    for key, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        store = stores.get(key)
        name = f"{label}: statistics at least {TARGET_READ_OVER_STATS:g}x faster than reading"
        if store is None:
            reason = postgres_skip if key == "postgres" and postgres_skip else f"{label} not run"
            out.append(_target(name, None, f">= {TARGET_READ_OVER_STATS:g}x", None, reason))
            continue
        best = store["best"]
        value = best["read_over_stats"]
        out.append(
            _target(
                name,
                value,
                f">= {TARGET_READ_OVER_STATS:g}x",
                None if value is None or small else value >= TARGET_READ_OVER_STATS,
                f"read {best['read_seconds']:.2f} s / statistics {best['stats_seconds']:.3f} s "
                f"= {fmt(value, '.1f')}x{scale}",
            )
        )
    return out


def print_tables(results: Mapping[str, Any]) -> None:
    stores = results["stores"]
    loads = results["loading"]
    keys = [key for key in ("sqlite", "postgres") if key in stores]
    print("\n" + "=" * 100)
    print(
        f"One monitor run (Monitor.run_once) over a window of {results['config']['rows']:,} "
        f"logged predictions (one hour), best of {results['config']['repeats']}; warm-up "
        "excluded. Seconds."
    )
    header = (
        f"{'store':<11} {'load s':>7} {'load rows/s':>11} {'read':>6} {'stats':>6} "
        f"{'rest':>5} {'total':>6} {'rows/s':>8} {'read/stats':>10} {'steady':>6} "
        f"{'RSS MB':>7}"
    )
    print("\n" + header)
    print("-" * len(header))
    for key in keys:
        store = stores[key]
        best = store["best"]
        load = loads[key]
        print(
            f"{store['store']:<11} {load['seconds']:>7.1f} {load['rows_per_second']:>11,.0f} "
            f"{best['read_seconds']:>6.2f} {best['stats_seconds']:>6.3f} "
            f"{best['other_seconds']:>5.2f} {best['wall_seconds']:>6.2f} "
            f"{best['rows_per_second']:>8,.0f} {fmt(best['read_over_stats'], '.1f') + 'x':>10} "
            f"{store['steady_state']['best']['wall_seconds']:>6.2f} "
            f"{fmt(mb(best['rss_rise_bytes']), ',.0f'):>7}"
        )
    print(
        "read = RunOutcome.read_seconds (versions, read_window + assemble, labels); stats = "
        "RunOutcome.stats_seconds (drift,\nquality, latency, estimated performance); rest = the "
        "rest of run_once (score detectors fed the whole window,\nstoring the results, alert "
        "rules); total = run_once wall time, each timed run being the first over the window;\n"
        "steady = run_once wall time when the previous run ended one monitor interval earlier "
        "(detectors fed 5 min);\nRSS MB = rise of the resident-set high-water mark during the "
        "total."
    )
    header = (
        f"{'store':<11} {'dw read':>8} {'dw read alone':>13} {'peer read':>9} {'dw/peer':>8} "
        f"{'dw alone/peer':>13} {'peer RSS MB':>11} {'same rows':>9}"
    )
    print("\nReading the window: driftwarden against the naive peer (seconds, best of each)")
    print(header)
    print("-" * len(header))
    for key in keys:
        store = stores[key]
        peer = store["peer"]
        rss = max((r["rss_rise_bytes"] or 0) for r in peer["runs"])
        print(
            f"{store['store']:<11} {store['best']['read_seconds']:>8.2f} "
            f"{store['driftwarden_read_alone']['best_seconds']:>13.2f} "
            f"{peer['best_seconds']:>9.2f} {fmt(store['driftwarden_read/peer'], '.2f'):>8} "
            f"{fmt(store['driftwarden_read_alone/peer'], '.2f'):>13} {mb(rss):>11,.0f} "
            f"{peer['same_rows']['equal']!s:>9}"
        )
    print(
        "dw read = RunOutcome.read_seconds of the best run; dw read alone = read_window + "
        "assemble timed by itself;\npeer read = pandas.read_sql of the same columns + json.loads "
        "of each row's features + DataFrame.from_records."
    )
    print_targets(results["targets"])


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="one monitor run over a window of logged predictions, SQLite and PostgreSQL, "
        "against a naive pandas.read_sql + json.loads read",
    )
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="logged predictions in the window"
    )
    parser.add_argument(
        "--repeats", type=int, default=DEFAULT_REPEATS, help="timed runs per store (best kept)"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="admin URL of the PostgreSQL server; the run creates and drops its own schema",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="data seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.skip_sqlite and args.skip_postgres:
        parser.error("--skip-sqlite and --skip-postgres leave nothing to measure")
    return args


MEASUREMENT = {
    "wall_seconds": "time.perf_counter() around Monitor.run_once(end) over the whole hour, after "
    "one untimed warm-up run over the first minute (imports, reference profile loading) and "
    "gc.collect(); best of --repeats. Before each timed run the monitor state and alerts are "
    "deleted, so each one is the first run over the window (its score detector is fed the whole "
    "window, as after a restart)",
    "read_seconds": "RunOutcome.read_seconds: from the start of WindowRunner.run to the window "
    "read (versions_between, read_window + assemble, labelled_scores)",
    "stats_seconds": "RunOutcome.stats_seconds: the per-version results (ReferenceProfile.compare "
    "over every feature and the scores, quality, latency percentiles, estimated performance)",
    "other_seconds": "wall_seconds - read_seconds - stats_seconds: loading the state, the ADWIN "
    "detectors (scores_between over the window), storing the run, the alert rules",
    "rows_per_second": "rows in the window / wall_seconds",
    "steady_state": "the same timed Monitor.run_once(end), but after an untimed run one monitor "
    "interval (5 min) earlier instead of a state reset: the window read and the statistics are "
    "the same, the score detector takes only the scores logged since that run, as every run of "
    "a monitor that keeps running does; best of --repeats",
    "host_steal_percent": "share of the machine's CPU time (all cores, /proc/stat) that the "
    "hypervisor gave to others during the measurement",
    "peer": "pandas.read_sql(select(model_version, variant, score, latency_ms, CAST(features AS "
    "TEXT)) over the same window, same order, SQLAlchemy connection of the same engine), then "
    "pandas.DataFrame.from_records([json.loads(t) for t in features]): every row and column "
    "materialised; best of --repeats, gc.collect() before each",
    "driftwarden_read/peer": "read_seconds of the best run / the peer's best seconds",
    "driftwarden_read_alone": "assemble(read_window(engine, start, end), kinds) timed alone, "
    "best of --repeats: the same work as the peer",
    "rss_rise_bytes": "rise of the process's resident-set high-water mark (VmHWM, reset just "
    "before) over the resident set just before",
    "load": "generation and scoring are not part of it; SQLite: executemany of a plain INSERT; "
    "PostgreSQL: COPY FROM STDIN; rows/s = rows / load seconds",
}


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.update({k: v for k, v in QUIET_ENV.items() if k not in os.environ})
    source = source_state()
    changed = source["src_changes_not_committed"]
    print(
        f"measuring the working tree at commit {str(source['commit'])[:12]}"
        + (
            f"; src/ changes not committed: {', '.join(c.strip() for c in changed)}"
            if changed
            else ""
        ),
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-monitor-bench-"))
    stores: dict[str, Any] = {}
    loading: dict[str, Any] = {}
    postgres_skip: str | None = None
    admin = None
    schema: str | None = None
    engines: dict[str, Any] = {}
    try:
        if not args.skip_postgres:
            admin, error = postgres_admin(args.postgres_url)
            if admin is None:
                postgres_skip = f"PostgreSQL not reachable at {args.postgres_url}: {error}"
                print(f"SKIP  {postgres_skip}", flush=True)
        else:
            postgres_skip = "--skip-postgres"
        trained = train_and_register(workdir)
        chunks, generation = generate_rows(trained, args.rows, args.seed)
        if not args.skip_sqlite:
            engines["sqlite"], loading["sqlite"] = load_sqlite(workdir / "store.db", chunks)
        if admin is not None:
            from sqlalchemy import text

            schema = f"dw_bench_{uuid.uuid4().hex[:12]}"
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            engines["postgres"], loading["postgres"] = load_postgres(admin, schema, chunks)
        # The generated rows are no longer needed: free them before anything is timed.
        del chunks
        gc.collect()
        for key in ("sqlite", "postgres"):
            if key in engines:
                stores[key] = bench_store(key, engines[key], trained, args.repeats, args.rows)
    finally:
        for engine in engines.values():
            engine.dispose()
        if admin is not None:
            if schema is not None:
                from sqlalchemy import text

                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                print(f"dropped PostgreSQL schema {schema}", flush=True)
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "monitor",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine_info(),
        "source": source,
        "config": {
            "rows": args.rows,
            "repeats": args.repeats,
            "seed": args.seed,
            "window_start": START.isoformat(),
            "window_end": END.isoformat(),
            "warmup_window_end": (START + WARMUP).isoformat(),
            "chunk_rows": CHUNK_ROWS,
            "target_rows": TARGET_ROWS,
            "model_name": MODEL_NAME,
            "model_version": MODEL_VERSION,
            "variant": VARIANT,
            "latency_ms": f"lognormal, median {LATENCY_MEDIAN_MS:g} ms, sigma {LATENCY_SIGMA:g}",
            "labels": "none logged (the window's label join reads nothing)",
            "postgres_url": None if args.skip_postgres else args.postgres_url,
            "skip_sqlite": args.skip_sqlite,
            "skip_postgres": args.skip_postgres,
        },
        "measurement": MEASUREMENT,
        "training": trained.info,
        "generation": generation,
        "loading": loading,
        "postgres_skipped": postgres_skip,
        "stores": stores,
        "targets": targets(stores, postgres_skip, args.rows),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run(args)
    print_tables(results)
    write_results(args.output, results, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
