"""Retraining benchmark: one full retraining on 100,000 labelled production rows, end to end.

Run from the repository root::

    .venv/bin/python benchmarks/retrain.py                 # 100,000 rows, SQLite, about 1.5 minutes
    .venv/bin/python benchmarks/retrain.py --rows 20000    # quicker; the target is then SKIP
    .venv/bin/python benchmarks/retrain.py --postgres      # the store in PostgreSQL

One run trains the bundled Telco model (``driftwarden.training.train``, as ``driftwarden train``
does) and registers it as champion in a temporary MLflow registry; generates ``--rows`` realistic
rows with ``driftwarden.data.RowGenerator`` fitted on the Telco data, scores them with the
champion, logs them into a fresh store as serving does (``insert_rows``), spread over the seven
days before now, and records a true label for every one (``record_labels``; the labels are the
generator's ground truth). Then ``Retrainer.request("manual", ...)`` runs the whole retraining
in this process (the Prefect flow: decide, fetch_data, train, validate, register_challenger,
start_ab_test): once cold (the first flow of the process, after Prefect's import and its
ephemeral API server's start, both timed apart) and ``--repeats`` times steady (the A/B test of
the previous run stopped in between, untimed). Each run's step seconds come from the run's
record in the store; the Prefect overhead is the flow's wall time minus the steps.

Beside it, in the same process and on the same store, a peer does the same job glued by hand
without driftwarden: ``mlflow.sklearn.load_model`` of the champion from its own MLflow registry,
``pandas.read_sql`` of the labelled rows, ``json.loads`` of each row's features, the training
data concatenated, the most recent rows held out, the same scikit-learn pipeline fitted, both
models evaluated with ``sklearn.metrics``, and ``mlflow.sklearn.log_model`` +
``mlflow.register_model`` (MLflow's fluent API, its own fresh local store, no Prefect).

Results go to stdout and ``benchmarks/results/retrain.json``. Targets are reported as PASS/FAIL
lines; a missed target never makes the command fail, only a real error does. See
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import importlib.metadata
import io
import itertools
import json
import logging
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
import warnings
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
DEFAULT_OUTPUT = BENCH_DIR / "results" / "retrain.json"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

DEFAULT_ROWS = 100_000
DEFAULT_REPEATS = 2
SEED = 20_240_601
#: Rows per insert_rows call (one transaction each) and per record_labels call.
INSERT_ROWS = 10_000
LABEL_ROWS = 5_000
#: The production rows are spread evenly over this span, ending one minute before now.
SPAN = dt.timedelta(days=7)
MODEL_NAME = "bench"
PEER_MODEL_NAME = "bench-peer"
MODEL_VERSION = 1
VARIANT = "champion"
MIN_NEW_ROWS = 500
LATENCY_MEDIAN_MS = 2.0
LATENCY_SIGMA = 0.5

TARGET_ROWS = 100_000
TARGET_SECONDS = 60.0

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The ephemeral API server starts in a subprocess; on a busy 2-core machine Prefect's default
    # startup timeout is tight (the Makefile sets the same).
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}

#: The flow's steps, in order, each with the peer's steps doing the same part of the job.
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decide", ("load_champion",)),
    ("fetch_data", ("read", "parse", "prepare")),
    ("train", ("fit",)),
    ("validate", ("evaluate",)),
    ("register_challenger", ("register",)),
    ("start_ab_test", ()),
)
PEER_STEPS = {
    "load_champion": "mlflow.sklearn.load_model (@champion)",
    "read": "pandas.read_sql, predictions JOIN labels",
    "parse": "json.loads per row -> DataFrame",
    "prepare": "training data + concat, time holdout",
    "fit": "the same sklearn pipeline, .fit",
    "evaluate": "both models, sklearn.metrics",
    "register": "mlflow.sklearn.log_model + register_model",
}
#: What MLflow's default serialization (skops) must be told to trust for this pipeline: the types
#: its error names when ``log_model`` is called without them, which is how a user learns them.
PEER_TRUSTED_TYPES = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]
DRIFTWARDEN_MORE = (
    "checks no A/B test runs and that enough labelled rows exist",
    "deduplicates production rows by entity and replaces their training rows",
    "coerces and checks every row against the schema, and widens the schema to production",
    "evaluates the candidate on its training rows too",
    "profiles the training data and the scores (the monitor's reference)",
    "measures permutation feature importances on the holdout",
    "applies the gates (schema, floor, champion - tolerance)",
    "logs params, metrics, importances, schema and profile artifacts; saves with skops",
    "starts the A/B test (routing, challenger alias)",
    "records every step, its result and a heartbeat in the store (the audit trail)",
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
                "scikit-learn",
                "sqlalchemy",
                "psycopg",
                "mlflow",
                "prefect",
                "skops",
            )
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


SRC = BENCH_DIR.parent / "src" / "driftwarden"


def source_files() -> dict[str, str]:
    """SHA-256 of each file of ``src/driftwarden``, by path: what code was measured, without
    running git. Taken at the start and at the end of the run (others may edit meanwhile)."""
    return {
        path.relative_to(SRC).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(SRC.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def source_state(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
    """One digest of the source at the start, and the files that changed during the run, with
    those of them this process had imported (the ones that can have changed a figure)."""
    digest = hashlib.sha256()
    for path, sha in before.items():
        digest.update(f"{path}\0{sha}\n".encode())
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    imported = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(SRC):
            imported.add(Path(file).resolve().relative_to(SRC).as_posix())
    return {
        "src_sha256": digest.hexdigest(),
        "src_files": len(before),
        "changed_during_run": changed,
        "changed_during_run_and_imported": [p for p in changed if p in imported],
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
    cpu_seconds: float
    children_cpu_seconds: float
    result: Any


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process, and of its live child processes (Prefect's
    API server runs in one)."""
    me = psutil.Process()
    own = me.cpu_times()
    children = 0.0
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            children += times.user + times.system
    return own.user + own.system, children


def measured(fn: Callable[[], Any]) -> Measured:
    """Run ``fn`` once after a ``gc.collect()``: wall seconds, the rise of the resident-set
    high-water mark over the resident set before it (None where it cannot be read), the share of
    the machine's CPU time the hypervisor gave to others meanwhile, the CPU seconds of this
    process and of its children meanwhile, and what ``fn`` returned."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (Linux >= 4.0)
        can_reset = True
    except OSError:
        can_reset = False
    before = _status_kib("VmRSS")
    ticks = host_cpu_ticks()
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    cpu_after = _cpu_seconds()
    after = host_cpu_ticks()
    peak = _status_kib("VmHWM")
    rise = None
    if can_reset and before is not None and peak is not None:
        rise = max(0, peak - before) * 1024
    steal = None
    if ticks is not None and after is not None and after[1] > ticks[1]:
        steal = 100 * (after[0] - ticks[0]) / (after[1] - ticks[1])
    return Measured(
        seconds,
        rise,
        steal,
        cpu_after[0] - cpu_before[0],
        # A child that exited meanwhile is not counted; the server lives as long as the process.
        max(0.0, cpu_after[1] - cpu_before[1]),
        result,
    )


def _target(name: str, value: float | None, goal: str, ok: bool | None, detail: str) -> dict:
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    return {"name": name, "status": status, "value": value, "target": goal, "detail": detail}


def mb(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 1e6


def prepare_environment(workdir: Path) -> dict[str, Any]:
    """Prefect and MLflow settings, set before either is imported: a fresh PREFECT_HOME in the
    temporary directory (so the ephemeral API server creates its database there), no
    PREFECT_API_URL (so the flow starts that server, as ``driftwarden retrain`` does without
    one), no telemetry."""
    early = sorted(name for name in ("prefect", "driftwarden.retraining") if name in sys.modules)
    if early:
        raise RuntimeError(f"{', '.join(early)} imported before the environment was set")
    os.environ["PREFECT_HOME"] = str(workdir / "prefect")
    removed = os.environ.pop("PREFECT_API_URL", None)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    return {
        "PREFECT_HOME": os.environ["PREFECT_HOME"],
        "PREFECT_API_URL_removed": removed,
        **{key: os.environ[key] for key in QUIET_ENV},
    }


# --------------------------------------------------------------------------------------------------
# The champion: trained on the bundled Telco data, registered in a temporary MLflow registry
# --------------------------------------------------------------------------------------------------


@dataclass
class Setup:
    settings: Any
    registry: Any
    model: Any
    schema: Any
    frame: pd.DataFrame
    features: list[str]
    numeric: set[str]
    info: dict[str, Any]


def train_and_register(workdir: Path, store_url: str) -> Setup:
    from driftwarden.core import load_settings
    from driftwarden.data import TELCO_ID, TELCO_TARGET, load_telco
    from driftwarden.registry import ModelRegistry
    from driftwarden.schema import infer_schema
    from driftwarden.training import train

    t = step("training the Telco champion (driftwarden.training.train, as `driftwarden train`)")
    settings = load_settings(
        None,
        home=str(workdir / "home"),
        store={"url": store_url, "spool_dir": str(workdir / "spool")},
        registry={
            "tracking_uri": f"sqlite:///{workdir / 'mlflow.db'}",
            "artifact_location": str(workdir / "artifacts"),
            "model_name": MODEL_NAME,
        },
        retraining={"min_new_rows": MIN_NEW_ROWS},
        # The bundled Telco data is the champion's training data, which retraining reads again.
        training={"data": None},
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
    done(
        t,
        f": version {registered.version} ({', '.join(registered.aliases)}), holdout ROC AUC "
        f"{result.metrics.roc_auc:.4f} on {result.n_holdout:,} rows",
    )
    features = [spec.name for spec in schema.features]
    numeric = {spec.name for spec in schema.features if spec.kind == "numeric"}
    info = {
        "seconds": time.perf_counter() - t,
        "version": registered.version,
        "aliases": list(registered.aliases),
        "holdout_roc_auc": result.metrics.roc_auc,
        "n_rows": len(frame),
        "n_train": result.n_train,
        "n_holdout": result.n_holdout,
        "features": len(features),
        "numeric_features": sorted(numeric),
    }
    return Setup(settings, registry, result.model, schema, frame, features, numeric, info)


# --------------------------------------------------------------------------------------------------
# The labelled production rows
# --------------------------------------------------------------------------------------------------


def _request_ids(micros: NDArray[np.int64], rng: np.random.Generator) -> list[str]:
    """UUIDv7 ids as serving makes them (``driftwarden.core.new_request_id``), at the row's time."""
    millis = (micros // 1000).tolist()
    rand_a = rng.integers(0, 1 << 12, size=len(micros)).tolist()
    rand_b = rng.integers(0, 1 << 62, size=len(micros), dtype=np.int64).tolist()
    return [
        f"{m << 80 | 0x7 << 76 | a << 64 | 0b10 << 62 | b:032x}"
        for m, a, b in zip(millis, rand_a, rand_b, strict=True)
    ]


def generate_rows(
    setup: Setup, n_rows: int, seed: int, end: dt.datetime
) -> tuple[list[Any], dict[str, int], dict[str, Any]]:
    """``n_rows`` generated rows, scored by the champion, as serving logs them (spread evenly
    over SPAN up to ``end``), and the true label of each, by request id."""
    from driftwarden.data import TELCO_ID, TELCO_POSITIVE, TELCO_TARGET, RowGenerator
    from driftwarden.store import PredictionRow

    t = step(
        f"generating {n_rows:,} rows (RowGenerator fitted on the Telco data), scoring them with "
        "the champion, building the rows serving logs"
    )
    generator = RowGenerator.fit(setup.frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=seed)
    rng = np.random.default_rng(seed)
    frame = generator.generate(n_rows, seed=seed)
    names = setup.features
    scores = setup.model.predict_proba(frame[names])[:, 1].astype(np.float64)
    truth = (frame[TELCO_TARGET] == TELCO_POSITIVE).to_numpy(dtype=np.int64)
    end_us = int(end.timestamp() * 1_000_000)
    span_us = int(SPAN.total_seconds() * 1_000_000)
    micros = end_us - span_us + (np.arange(n_rows, dtype=np.int64) * span_us) // n_rows
    created = pd.to_datetime(micros, unit="us", utc=True).to_pydatetime().tolist()
    request_ids = _request_ids(micros, rng)
    latency = rng.lognormal(np.log(LATENCY_MEDIAN_MS), LATENCY_SIGMA, n_rows).tolist()
    # As serving logs them: every feature in model order, numbers as floats (the request model's
    # numeric fields are floats), categories as text.
    columns = [
        (frame[name].astype(np.float64) if name in setup.numeric else frame[name]).tolist()
        for name in names
    ]
    rows = [
        PredictionRow(
            request_id=rid,
            created_at=at,
            model_version=MODEL_VERSION,
            variant=VARIANT,
            features=dict(zip(names, values, strict=True)),
            score=score,
            label=int(score >= 0.5),
            latency_ms=ms,
            entity_id=entity,
        )
        for rid, at, values, score, ms, entity in zip(
            request_ids,
            created,
            zip(*columns, strict=True),
            scores.tolist(),
            latency,
            frame[TELCO_ID].tolist(),
            strict=True,
        )
    ]
    labels = dict(zip(request_ids, truth.tolist(), strict=True))
    done(t, f": positive share {truth.mean():.3f}, mean score {scores.mean():.3f}")
    return (
        rows,
        labels,
        {
            "seconds": time.perf_counter() - t,
            "rows": n_rows,
            "first_created_at": created[0].isoformat(),
            "last_created_at": created[-1].isoformat(),
            "positive_share": float(truth.mean()),
            "mean_score": float(scores.mean()),
            "example_features": rows[0].features if rows else None,
        },
    )


def load_store(engine: Any, rows: Sequence[Any], labels: Mapping[str, int]) -> dict[str, Any]:
    """Log the rows (``insert_rows``, as the serving writer does) and record every label."""
    from driftwarden.core import SystemClock
    from driftwarden.store import insert_rows, record_labels

    t = step(f"logging {len(rows):,} predictions (insert_rows, {INSERT_ROWS:,} per transaction)")
    for first in range(0, len(rows), INSERT_ROWS):
        insert_rows(engine, rows[first : first + INSERT_ROWS])
    insert_seconds = time.perf_counter() - t
    done(t, f": {len(rows) / insert_seconds:,.0f} rows/s")
    t = step(f"recording {len(labels):,} true labels (record_labels, {LABEL_ROWS:,} per call)")
    items = list(labels.items())
    outcomes: dict[str, int] = {}
    clock = SystemClock()
    for first in range(0, len(items), LABEL_ROWS):
        found = record_labels(engine, items[first : first + LABEL_ROWS], received_at=clock.now())
        for outcome in found.values():
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    label_seconds = time.perf_counter() - t
    done(t, f": {len(items) / label_seconds:,.0f} labels/s, {outcomes}")
    if outcomes.get("recorded", 0) != len(items):
        raise RuntimeError(f"not every label was recorded as new: {outcomes}")
    return {
        "insert_seconds": insert_seconds,
        "insert_rows_per_second": len(rows) / insert_seconds,
        "label_seconds": label_seconds,
        "labels_per_second": len(items) / label_seconds,
        "label_outcomes": outcomes,
        "method": f"driftwarden.store.insert_rows, {INSERT_ROWS:,} PredictionRow per call; "
        f"record_labels, {LABEL_ROWS:,} per call",
    }


def postgres_admin(url: str) -> tuple[Any, str | None]:
    """An engine on the PostgreSQL server, or None and why it cannot be reached."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # reported, then the run stops: --postgres was asked for
        engine.dispose()
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return engine, None


# --------------------------------------------------------------------------------------------------
# driftwarden: Retrainer.request, the Prefect flow in this process
# --------------------------------------------------------------------------------------------------


#: The progress messages train_on_split sends within the train step, by prefix, and what runs from
#: each to the next. Its "validating" message comes after the rows were coerced and checked, so
#: that work falls in the first part, before any message.
TRAIN_FIRST_PART = "task start, concat, widen the schema, coerce and check the rows"
TRAIN_PARTS = (
    ("validating", "concat of both splits for the data hash"),
    ("fitting", "fit (one OpenMP thread, ModelParams.n_threads)"),
    ("evaluating", "evaluate on the holdout and the training rows"),
    ("profiling", "reference profile of the training rows and scores"),
    ("measuring", "permutation feature importances on the holdout, data hash"),
)


class FlowTimer:
    """Times ``driftwarden.retraining.flow.run_in_process`` (the flow, with Prefect's engine
    around it) and notes when each step is recorded and when each progress message arrives, by
    wrapping the module attributes the flow looks up at each call (``run_in_process``,
    ``record_step``); nothing else changes."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self.events: list[tuple[float, str, str]] = []
        self.verbose = False

    def install(self) -> None:
        import driftwarden.retraining.flow as flow_module

        original_run = flow_module.run_in_process
        original_record = flow_module.record_step

        def timed(ctx: Any) -> str:
            self.seconds = None
            self.events = []
            start = time.perf_counter()
            self.events.append((start, "flow", "start"))
            try:
                return original_run(ctx)
            finally:
                self.seconds = time.perf_counter() - start

        def record(*args: Any, **kwargs: Any) -> Any:
            self.events.append((time.perf_counter(), "step", str(args[2]["step"])))
            return original_record(*args, **kwargs)

        flow_module.run_in_process = timed
        flow_module.record_step = record

    def progress(self, message: str) -> None:
        self.events.append((time.perf_counter(), "progress", message))
        if self.verbose:
            print(f"     {message}", flush=True)

    def train_parts(self) -> list[dict[str, Any]]:
        """The train step split at its progress messages: from the previous step's record to the
        first message, then from each message to the next, the last one to the train step's
        record (see TRAIN_PARTS)."""
        ends = [i for i, (_, kind, name) in enumerate(self.events) if kind == "step"]
        names = [self.events[i][2] for i in ends]
        if "train" not in names or names.index("train") == 0:
            return []
        stop = ends[names.index("train")]
        begin = ends[names.index("train") - 1]
        marks = [(self.events[begin][0], TRAIN_FIRST_PART)]
        for when, kind, message in self.events[begin + 1 : stop]:
            if kind == "progress":
                label = next((v for k, v in TRAIN_PARTS if message.startswith(k)), message)
                marks.append((when, label))
        marks.append((self.events[stop][0], ""))
        return [
            {"part": label, "seconds": later - when}
            for (when, label), (later, _) in itertools.pairwise(marks)
        ]


def driftwarden_run(retrainer: Any, timer: FlowTimer, abtests: Any, tag: str) -> dict[str, Any]:
    """One ``Retrainer.request("manual", ...)``, timed; then its A/B test stopped (untimed)."""
    retrainer.progress = timer.progress
    m = measured(lambda: retrainer.request("manual", f"benchmark {tag}"))
    run = m.result
    if run["status"] != "succeeded":
        raise RuntimeError(
            f"retraining run {run['id']} ended {run['status']}: {run.get('error')}; the "
            "benchmark needs a full retraining"
        )
    steps = {s["step"]: s for s in run["steps"]}
    steps_seconds = sum(float(s["seconds"]) for s in run["steps"])
    flow_seconds = timer.seconds
    record = {
        "run_id": run["id"],
        "status": run["status"],
        "wall_seconds": m.seconds,
        "flow_seconds": flow_seconds,
        "steps_seconds": steps_seconds,
        "step_seconds": {name: float(s["seconds"]) for name, s in steps.items()},
        "prefect_overhead_seconds": None if flow_seconds is None else flow_seconds - steps_seconds,
        "request_overhead_seconds": None if flow_seconds is None else m.seconds - flow_seconds,
        "rss_rise_bytes": m.rss_rise_bytes,
        "host_steal_percent": m.host_steal_percent,
        "cpu_seconds": m.cpu_seconds,
        "children_cpu_seconds": m.children_cpu_seconds,
        "train_parts": timer.train_parts(),
        "candidate_version": run["candidate_version"],
        "ab_test_id": run["ab_test_id"],
        "flow_run_id": run["flow_run_id"],
        "steps": run["steps"],
    }
    validate = steps.get("validate", {}).get("result") or {}
    record["holdout_metrics"] = validate.get("metrics")
    record["gates"] = validate.get("gates")
    abtests.stop(run["ab_test_id"], reason="benchmark repeat", actor="bench")
    print(
        f"   {tag}: request {m.seconds:.2f} s (flow {fmt(flow_seconds, '.2f')} s, steps "
        f"{steps_seconds:.2f} s, Prefect overhead "
        f"{fmt(record['prefect_overhead_seconds'], '.2f')} s); "
        + ", ".join(f"{name} {float(s['seconds']):.2f}" for name, s in steps.items())
        + f"; CPU {m.cpu_seconds:.1f} s (Prefect server {m.children_cpu_seconds:.1f} s); RSS "
        f"+{fmt(mb(m.rss_rise_bytes), ',.0f')} MB; host steal {fmt(m.host_steal_percent, '.1f')}%",
        flush=True,
    )
    return record


# --------------------------------------------------------------------------------------------------
# The peer: the same job glued by hand (pandas, scikit-learn, MLflow's fluent API)
# --------------------------------------------------------------------------------------------------


@dataclass
class Peer:
    tracking_uri: str
    experiment_id: str
    schema: Any
    params: Any
    lookback: dt.timedelta
    holdout_fraction: float
    info: dict[str, Any]


def _quiet_mlflow() -> None:
    # The fluent API's remarks (no signature, no input example) would fill the output; they
    # change nothing that is timed.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)


def peer_setup(workdir: Path, setup: Setup) -> Peer:
    """The peer's own MLflow store, holding the champion as a user would have logged it."""
    import mlflow
    import mlflow.sklearn

    from driftwarden.training import ModelParams

    _quiet_mlflow()
    t = step("peer: a fresh local MLflow store, the champion logged with the fluent API")
    uri = f"sqlite:///{workdir / 'peer-mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = mlflow.create_experiment(
        PEER_MODEL_NAME, artifact_location=(workdir / "peer-artifacts").as_uri()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=experiment_id):
            logged = mlflow.sklearn.log_model(
                setup.model, name="model", skops_trusted_types=PEER_TRUSTED_TYPES
            )
        # register_model prints two lines to standard error at every call.
        with contextlib.redirect_stderr(io.StringIO()):
            registered = mlflow.register_model(logged.model_uri, PEER_MODEL_NAME)
    mlflow.MlflowClient().set_registered_model_alias(
        PEER_MODEL_NAME, "champion", registered.version
    )
    done(t, f": version {registered.version} (champion)")
    retraining = setup.settings.retraining
    return Peer(
        uri,
        experiment_id,
        setup.schema,
        ModelParams(random_state=setup.settings.training.seed, task=setup.schema.task),
        retraining.lookback,
        retraining.holdout_fraction,
        {"seconds": time.perf_counter() - t, "tracking_uri": uri},
    )


def _peer_metrics(model: Any, features: pd.DataFrame, labels: NDArray[np.int64]) -> dict:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    scores = model.predict_proba(features)[:, 1]
    predicted = (scores >= 0.5).astype(np.int64)
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
    }


def peer_retrain(peer: Peer, engine: Any) -> dict[str, Any]:
    """The whole job by hand; returns the seconds of each part and the holdout metrics."""
    import mlflow
    import mlflow.sklearn
    from sqlalchemy import Text, cast, select

    from driftwarden.data import TELCO_POSITIVE, TELCO_TARGET, load_telco
    from driftwarden.store import Label, Prediction
    from driftwarden.training import build_pipeline

    seconds: dict[str, float] = {}
    last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        seconds[name] = now - last
        last = now

    names = peer.schema.feature_names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        champion = mlflow.sklearn.load_model(f"models:/{PEER_MODEL_NAME}@champion")
    lap("load_champion")

    end = dt.datetime.now(dt.UTC)
    query = (
        select(
            Prediction.created_at,
            Prediction.entity_id,
            cast(Prediction.features, Text).label("features"),
            Label.label,
        )
        .join(Label, Label.request_id == Prediction.request_id)
        .where(
            Prediction.created_at >= end - peer.lookback,
            Prediction.created_at < end,
            Prediction.variant != "shadow",
        )
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        rows = pd.read_sql(query, connection)
    lap("read")

    features = pd.DataFrame.from_records([json.loads(text) for text in rows.pop("features")])
    lap("parse")

    production = pd.concat([rows, features], axis=1).drop_duplicates("entity_id", keep="last")
    cut = len(production) - max(round(len(production) * peer.holdout_fraction), 1)
    recent, holdout = production.iloc[:cut], production.iloc[cut:]
    base = load_telco()
    x_train = pd.concat([base[names], recent[names]], ignore_index=True)
    y_train = np.concatenate(
        [
            (base[TELCO_TARGET] == TELCO_POSITIVE).to_numpy(dtype=np.int64),
            recent["label"].to_numpy(dtype=np.int64),
        ]
    )
    x_holdout = holdout[names].reset_index(drop=True)
    y_holdout = holdout["label"].to_numpy(dtype=np.int64)
    lap("prepare")

    model = build_pipeline(peer.schema, peer.params).fit(x_train, y_train)
    lap("fit")

    metrics = {
        "candidate": _peer_metrics(model, x_holdout, y_holdout),
        "champion": _peer_metrics(champion, x_holdout, y_holdout),
    }
    lap("evaluate")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(experiment_id=peer.experiment_id):
            mlflow.log_params(peer.params.to_dict())
            mlflow.log_metrics(
                {
                    **metrics["candidate"],
                    **{f"champion_{k}": v for k, v in metrics["champion"].items()},
                }
            )
            logged = mlflow.sklearn.log_model(
                model, name="model", skops_trusted_types=PEER_TRUSTED_TYPES
            )
        # register_model prints two lines to standard error at every call.
        with contextlib.redirect_stderr(io.StringIO()):
            registered = mlflow.register_model(logged.model_uri, PEER_MODEL_NAME)
    lap("register")
    return {
        "step_seconds": seconds,
        "holdout_metrics": metrics,
        "n_train": len(x_train),
        "n_holdout": len(x_holdout),
        "version": int(registered.version),
    }


def peer_run(peer: Peer, engine: Any, tag: str) -> dict[str, Any]:
    m = measured(lambda: peer_retrain(peer, engine))
    record = {
        **m.result,
        "wall_seconds": m.seconds,
        "rss_rise_bytes": m.rss_rise_bytes,
        "host_steal_percent": m.host_steal_percent,
        "cpu_seconds": m.cpu_seconds,
        "children_cpu_seconds": m.children_cpu_seconds,
    }
    print(
        f"   {tag}: {m.seconds:.2f} s; "
        + ", ".join(f"{name} {value:.2f}" for name, value in record["step_seconds"].items())
        + f"; CPU {m.cpu_seconds:.1f} s (Prefect server {m.children_cpu_seconds:.1f} s); RSS "
        f"+{fmt(mb(m.rss_rise_bytes), ',.0f')} MB; host steal {fmt(m.host_steal_percent, '.1f')}%",
        flush=True,
    )
    return record


# --------------------------------------------------------------------------------------------------
# Comparison, targets and printing
# --------------------------------------------------------------------------------------------------


def compare(dw: Mapping[str, Any], peer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each flow step beside the peer's steps doing the same part of the job."""
    out = []
    for name, peer_names in STEPS:
        ours = dw["step_seconds"].get(name)
        theirs = sum(peer["step_seconds"][p] for p in peer_names) if peer_names else None
        out.append(
            {
                "step": name,
                "driftwarden_seconds": ours,
                "peer_steps": list(peer_names),
                "peer_seconds": theirs,
                "driftwarden/peer": ratio(ours, theirs),
            }
        )
    return out


def targets(best: Mapping[str, Any] | None, rows: int) -> list[dict[str, Any]]:
    name = (
        f"steady end-to-end retraining on {TARGET_ROWS:,} rows (Retrainer.request wall, the "
        "flow's overhead included)"
    )
    goal = f"< {TARGET_SECONDS:g} s"
    if best is None:
        return [_target(name, None, goal, None, "driftwarden not run")]
    seconds = best["wall_seconds"]
    small = rows < TARGET_ROWS
    scale = f"; the target is for {TARGET_ROWS:,} rows or more" if small else ""
    return [
        _target(
            name,
            seconds,
            goal,
            None if small else seconds < TARGET_SECONDS,
            f"{seconds:.2f} s on {rows:,} labelled rows (steps {best['steps_seconds']:.2f} s, "
            f"Prefect overhead {fmt(best['prefect_overhead_seconds'], '.2f')} s){scale}",
        )
    ]


def print_tables(results: Mapping[str, Any]) -> None:
    config = results["config"]
    dw = results["driftwarden"]
    peer = results["peer"]
    best, peer_best = dw["best"], peer["best"]
    prefect = results["prefect"]
    print("\n" + "=" * 100)
    print(
        f"One retraining on {config['rows']:,} labelled production rows plus the "
        f"{results['training']['n_rows']:,} Telco training rows ({config['store']}), best of "
        f"{config['repeats']} steady runs each. Seconds."
    )
    header = f"{'driftwarden step':<21} {'dw':>7}   {'peer step':<52} {'peer':>7} {'dw/peer':>8}"
    print("\n" + header)
    print("-" * len(header))
    for row in results["comparison"]:
        names = row["peer_steps"]
        first = names[0] if names else None
        print(
            f"{row['step']:<21} {fmt(row['driftwarden_seconds'], '.2f'):>7}   "
            f"{(first + ': ' + PEER_STEPS[first]) if first else '-':<52} "
            f"{fmt(peer_best['step_seconds'][first], '.2f') if first else '-':>7} "
            f"{fmt(row['driftwarden/peer'], '.2f'):>8}"
        )
        for other in names[1:]:
            print(
                f"{'':<21} {'':>7}   {other + ': ' + PEER_STEPS[other]:<52} "
                f"{peer_best['step_seconds'][other]:>7.2f}"
            )
    print(f"{'sum of the steps':<21} {best['steps_seconds']:>7.2f}")
    print(
        f"{'Prefect overhead':<21} {fmt(best['prefect_overhead_seconds'], '.2f'):>7}   "
        "(flow wall - sum of the steps)"
    )
    print(
        f"{'request bookkeeping':<21} {fmt(best['request_overhead_seconds'], '.2f'):>7}   "
        "(request wall - flow wall)"
    )
    print(
        f"{'end to end':<21} {best['wall_seconds']:>7.2f}   {'total (wall)':<52} "
        f"{peer_best['wall_seconds']:>7.2f} {fmt(results['driftwarden/peer'], '.2f'):>8}"
    )
    print(
        "dw = the step's seconds as the run records them (the best steady run, by request wall);"
        "\npeer = the same part of the job by hand (the best steady peer run, by wall)."
    )
    parts = best.get("train_parts") or []
    if parts:
        print(
            "\nThe train step of that run, by part (between train_on_split's progress messages): "
            + "; ".join(f"{p['part']} {p['seconds']:.2f}" for p in parts)
            + "."
        )
    print(
        f"CPU seconds during the best runs: driftwarden {best['cpu_seconds']:.1f} in this process "
        f"+ {best['children_cpu_seconds']:.1f} in Prefect's server; peer "
        f"{peer_best['cpu_seconds']:.1f} + {peer_best['children_cpu_seconds']:.1f}."
    )
    print(
        f"\nOnce per process: Prefect import {prefect['import_seconds']:.2f} s, Prefect server "
        f"start (once per process) {prefect['server_start_seconds']:.2f} s. Cold first run: "
        f"request {dw['cold']['wall_seconds']:.2f} s (Prefect overhead "
        f"{fmt(dw['cold']['prefect_overhead_seconds'], '.2f')} s); cold end to end with the "
        f"import and the server start: {dw['cold_end_to_end_seconds']:.2f} s. Peer's first "
        f"run: {peer['cold']['wall_seconds']:.2f} s."
    )
    print(
        "Steady runs (request wall): "
        + ", ".join(f"{r['wall_seconds']:.2f}" for r in dw["runs"])
        + " s; peer: "
        + ", ".join(f"{r['wall_seconds']:.2f}" for r in peer["runs"])
        + " s."
    )
    ours = (best.get("holdout_metrics") or {}).get("candidate", {})
    theirs = peer_best["holdout_metrics"]
    champion = (best.get("holdout_metrics") or {}).get("champion", {})
    print(
        f"Holdout ROC AUC ({peer_best['n_holdout']:,} most recent rows): candidate "
        f"{fmt(ours.get('roc_auc'), '.4f')} (driftwarden) vs "
        f"{theirs['candidate']['roc_auc']:.4f} (peer); champion "
        f"{fmt(champion.get('roc_auc'), '.4f')} vs {theirs['champion']['roc_auc']:.4f}."
    )
    print(
        "\nThe ratio is not like for like: driftwarden does more than the peer. It "
        + "; ".join(DRIFTWARDEN_MORE)
        + "."
    )
    print_targets(results["targets"])


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="one full retraining (Retrainer.request, the Prefect flow in this process) "
        "on labelled production rows, against the same job glued by hand with pandas, "
        "scikit-learn and MLflow",
    )
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="labelled production rows in the store"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help="steady runs of each (best kept), after one cold run of each",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="the store in a fresh schema of PostgreSQL instead of SQLite",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="admin URL of the PostgreSQL server; the run creates and drops its own schema",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="data seed")
    parser.add_argument("--verbose", action="store_true", help="print the flow's progress messages")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.rows < 2 * MIN_NEW_ROWS:
        parser.error(f"--rows must be at least {2 * MIN_NEW_ROWS}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    args.output = args.output.resolve()
    return args


MEASUREMENT = {
    "wall_seconds": "time.perf_counter() around Retrainer(settings, engine, registry, "
    "SystemClock()).request('manual', reason) with wait (the flow runs in this process), after "
    "gc.collect(); each run is a full retraining that ends succeeded (a run that does not "
    "stops the benchmark)",
    "step_seconds": "each step's 'seconds' as the flow records it on the run "
    "(driftwarden.store.get_retrain_run(...)['steps']), rounded to 1 ms by the flow",
    "flow_seconds": "time.perf_counter() around driftwarden.retraining.flow.run_in_process, "
    "which the benchmark wraps (the module attribute Retrainer looks up at each run)",
    "prefect_overhead_seconds": "flow_seconds - sum of the step seconds: Prefect's flow and task "
    "engine (flow and task runs created and updated through the API server, states, logs), "
    "plus the flow's own records between the steps",
    "request_overhead_seconds": "wall_seconds - flow_seconds: recording the request, the "
    "stale-run check, reading the run back",
    "cold": "the first request of the process, after the Prefect import and the server start, "
    "which are timed apart; cold_end_to_end_seconds = import + server start + that request",
    "steady": "--repeats further requests; the best (lowest wall) is reported; the A/B test each "
    "run starts is stopped (ABTestManager.stop, untimed) before the next, which the flow "
    "requires; manual requests ignore the cooldown",
    "peer": "one cold run, then --repeats runs interleaved with driftwarden's (best kept): "
    "mlflow.sklearn.load_model of its champion (models:/...@champion, its own sqlite MLflow "
    "store); pandas.read_sql of predictions JOIN labels over the same lookback window, in time "
    "order, features CAST to text; pandas.DataFrame.from_records of json.loads of each; "
    "drop_duplicates by entity; the most recent holdout_fraction held out; load_telco() "
    "concatenated; driftwarden.training.build_pipeline(schema, ModelParams(random_state=seed)) "
    ".fit (OpenMP threads left at their default, as a user would); sklearn.metrics on the "
    "holdout for the candidate and the champion; mlflow.start_run + log_params + log_metrics + "
    "mlflow.sklearn.log_model (defaults: requirements inferred) + mlflow.register_model",
    "driftwarden/peer": "best steady request wall / best steady peer wall",
    "rss_rise_bytes": "rise of the process's resident-set high-water mark (VmHWM, reset just "
    "before) over the resident set just before",
    "host_steal_percent": "share of the machine's CPU time (all cores, /proc/stat) that the "
    "hypervisor gave to others during the measurement",
}


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-retrain-bench-"))
    environment = prepare_environment(workdir)
    sources = source_files()
    here = Path.cwd()
    # Run in the temporary directory: no driftwarden.toml of the working directory is read.
    os.chdir(workdir)
    admin = None
    schema_name: str | None = None
    engine = None
    try:
        if args.postgres:
            admin, error = postgres_admin(args.postgres_url)
            if admin is None:
                raise RuntimeError(f"PostgreSQL not reachable at {args.postgres_url}: {error}")
            from sqlalchemy import text

            schema_name = f"dw_bench_{uuid.uuid4().hex[:12]}"
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema_name}"'))
            store_url = admin.url.update_query_dict(
                {"options": f"-csearch_path={schema_name}"}
            ).render_as_string(hide_password=False)
            store_label = f"PostgreSQL, schema {schema_name}"
        else:
            store_url = f"sqlite:///{workdir / 'store.db'}"
            store_label = "SQLite"

        from driftwarden.core import SystemClock
        from driftwarden.store import create_store_engine, upgrade

        setup = train_and_register(workdir, store_url)
        engine = create_store_engine(setup.settings.store.url)
        upgrade(engine)
        end = SystemClock().now() - dt.timedelta(minutes=1)
        rows, labels, generation = generate_rows(setup, args.rows, args.seed, end)
        loading = load_store(engine, rows, labels)
        del rows, labels
        gc.collect()
        peer = peer_setup(workdir, setup)

        t = step("importing the retraining flow (Prefect)")
        import driftwarden.retraining.flow as flow_module

        import_seconds = time.perf_counter() - t
        done(t)
        t = step("starting Prefect's ephemeral API server (once per process)")
        flow_module._ensure_api()
        server_seconds = time.perf_counter() - t
        done(t)

        from driftwarden.monitoring import ABTestManager
        from driftwarden.retraining import Retrainer

        timer = FlowTimer()
        timer.install()
        clock = SystemClock()
        retrainer = Retrainer(setup.settings, engine, setup.registry, clock)
        abtests = ABTestManager(setup.settings, engine, setup.registry, clock)

        t = step("cold runs: the first retraining of the process, then the peer's first")
        timer.verbose = args.verbose
        cold = driftwarden_run(retrainer, timer, abtests, "driftwarden cold")
        peer_cold = peer_run(peer, engine, "peer cold")
        done(t)
        runs: list[dict[str, Any]] = []
        peer_runs: list[dict[str, Any]] = []
        t = step(f"steady runs: {args.repeats} of each, interleaved")
        for attempt in range(1, args.repeats + 1):
            tag = f"run {attempt}/{args.repeats}"
            runs.append(driftwarden_run(retrainer, timer, abtests, f"{tag} driftwarden"))
            peer_runs.append(peer_run(peer, engine, f"{tag} peer"))
        done(t)
    finally:
        os.chdir(here)
        if engine is not None:
            engine.dispose()
        if admin is not None:
            if schema_name is not None:
                from sqlalchemy import text

                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
                print(f"dropped PostgreSQL schema {schema_name}", flush=True)
            admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    best = min(runs, key=lambda r: r["wall_seconds"])
    peer_best = min(peer_runs, key=lambda r: r["wall_seconds"])
    source = source_state(sources, source_files())
    if source["changed_during_run_and_imported"]:
        print(
            "WARNING: files of src/driftwarden that this run imported changed while it ran: "
            f"{', '.join(source['changed_during_run_and_imported'])}; the figures may mix two "
            "versions of the code",
            flush=True,
        )
    elif source["changed_during_run"]:
        print(
            f"note: {len(source['changed_during_run'])} files of src/driftwarden changed while "
            "the benchmark ran, none of them imported by it",
            flush=True,
        )
    return {
        "benchmark": "retrain",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine_info(),
        "source": source,
        "environment": environment,
        "config": {
            "rows": args.rows,
            "repeats": args.repeats,
            "seed": args.seed,
            "store": store_label,
            "span_days": SPAN.total_seconds() / 86400,
            "model_name": MODEL_NAME,
            "peer_model_name": PEER_MODEL_NAME,
            "retraining": setup.settings.retraining.model_dump(mode="json"),
            "training_data": "the bundled Telco data (training.data unset), for both",
            "labels": "the RowGenerator's ground truth (its LabelModel), one per row",
            "target_rows": TARGET_ROWS,
        },
        "measurement": MEASUREMENT,
        "driftwarden_does_more": list(DRIFTWARDEN_MORE),
        "training": setup.info,
        "generation": generation,
        "loading": loading,
        "peer_setup": peer.info,
        "prefect": {"import_seconds": import_seconds, "server_start_seconds": server_seconds},
        "driftwarden": {
            "cold": cold,
            "cold_end_to_end_seconds": import_seconds + server_seconds + cold["wall_seconds"],
            "runs": runs,
            "best": best,
        },
        "peer": {"cold": peer_cold, "runs": peer_runs, "best": peer_best},
        "comparison": compare(best, peer_best),
        "driftwarden/peer": ratio(best["wall_seconds"], peer_best["wall_seconds"]),
        "targets": targets(best, args.rows),
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
