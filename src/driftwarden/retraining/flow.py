"""The retraining flow (Prefect 3): one task per step, each step's result recorded on the run.

The flow takes only plain parameters (the run's id, its trigger and the settings file), so the
same flow runs in this process and as a deployment on a work pool. In this process,
:func:`run_in_process` hands the flow the live objects (the store engine, the registry, the
clock, which is simulated in simulations) through :data:`_LIVE`; a worker builds them from the
settings file.

Whatever happens, the run ends recorded: ``succeeded`` (a challenger registered and its A/B test
started), ``rejected`` (a gate failed; nothing reached traffic), ``skipped`` (nothing to do) or
``failed`` with the error. A challenger alias set by a run that then failed is removed, so the
registry never holds a challenger that no test watches.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, task
from prefect._internal.concurrency.services import _QueueServiceBase
from prefect.cache_policies import NO_CACHE
from prefect.settings import temporary_settings

from driftwarden.core import SystemClock, load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.retraining.steps import (
    Gate,
    RetrainContext,
    Skip,
    TrainingData,
    decide,
    fetch_data,
    register_challenger,
    start_ab_test,
    train_candidate,
    validate,
)
from driftwarden.schema import SchemaChange
from driftwarden.store import (
    create_store_engine,
    finish_retrain_run,
    get_retrain_run,
    record_step,
    update_retrain_run,
)
from driftwarden.training import TrainingResult

__all__ = ["retrain_flow", "run_in_process"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


def _drop_prefect_exit_hooks_in_child() -> None:
    """Forget Prefect's exit hooks in a forked child.

    Prefect 3.8 resets its background services in a forked child but leaves their hooks for
    the end of the process, which then fail on the reset state: every child forked after a flow
    ran in this process (a process pool, a test) exits with status 1 after its work is done.
    The child never started those services, so it has nothing of theirs to drain.
    """
    hooks = getattr(threading, "_threading_atexits", None)
    if isinstance(hooks, list):
        # Each hook is a functools.partial of a bound method.
        hooks[:] = [
            hook
            for hook in hooks
            if not isinstance(
                getattr(getattr(hook, "func", hook), "__self__", None), _QueueServiceBase
            )
        ]


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_drop_prefect_exit_hooks_in_child)

# The live objects of runs started in this process, by run id (see the module docstring).
_LIVE: dict[int, RetrainContext] = {}
_LIVE_LOCK = threading.Lock()


def _step(
    ctx: RetrainContext, name: str, work: Callable[[], _T], summary: Callable[[_T], Any]
) -> _T:
    """Run one step and record its result (or its error) on the run."""
    started = time.perf_counter()
    try:
        value = work()
    except Skip as exc:
        _record(ctx, name, "skipped", started, {"reason": str(exc)})
        raise
    except Exception as exc:
        _record(ctx, name, "failed", started, {"error": f"{type(exc).__name__}: {exc}"})
        raise
    _record(ctx, name, "ok", started, summary(value))
    return value


def _record(ctx: RetrainContext, name: str, status: str, started: float, result: Any) -> None:
    record_step(
        ctx.engine,
        ctx.run_id,
        {
            "step": name,
            "status": status,
            "seconds": round(time.perf_counter() - started, 3),
            "at": ctx.clock.now().isoformat(),
            "result": result,
        },
        at=ctx.clock.now(),
    )


@task(name="decide", cache_policy=NO_CACHE, persist_result=False)
def _decide(ctx: RetrainContext) -> dict[str, Any]:
    return _step(ctx, "decide", lambda: decide(ctx), lambda found: found)


@task(name="fetch-data", cache_policy=NO_CACHE, persist_result=False)
def _fetch(ctx: RetrainContext) -> TrainingData:
    return _step(ctx, "fetch_data", lambda: fetch_data(ctx), lambda data: data.summary)


@task(name="train", cache_policy=NO_CACHE, persist_result=False)
def _train(ctx: RetrainContext, data: TrainingData) -> tuple[TrainingResult, list[SchemaChange]]:
    def summary(found: tuple[TrainingResult, list[SchemaChange]]) -> dict[str, Any]:
        result, changes = found
        return {
            "n_train": result.n_train,
            "n_holdout": result.n_holdout,
            "metrics": result.metrics.to_dict(),
            "schema_changes": [change.to_dict() for change in changes],
        }

    return _step(ctx, "train", lambda: train_candidate(ctx, data), summary)


@task(name="validate", cache_policy=NO_CACHE, persist_result=False)
def _validate(
    ctx: RetrainContext, result: TrainingResult, data: TrainingData
) -> tuple[bool, list[Gate], dict[str, Any]]:
    def summary(found: tuple[bool, list[Gate], dict[str, Any]]) -> dict[str, Any]:
        passed, gates, metrics = found
        return {"passed": passed, "gates": [g.to_dict() for g in gates], "metrics": metrics}

    return _step(ctx, "validate", lambda: validate(ctx, result, data), summary)


@task(name="register-challenger", cache_policy=NO_CACHE, persist_result=False)
def _register(ctx: RetrainContext, result: TrainingResult, changes: list[SchemaChange]) -> int:
    return _step(
        ctx,
        "register_challenger",
        lambda: register_challenger(ctx, result, changes),
        lambda version: {"version": version},
    )


@task(name="start-ab-test", cache_policy=NO_CACHE, persist_result=False)
def _start_test(ctx: RetrainContext, version: int) -> dict[str, Any]:
    return _step(
        ctx,
        "start_ab_test",
        lambda: start_ab_test(ctx, version),
        lambda test: {
            "ab_test": test["id"],
            "mode": test["mode"],
            "share": test["share"],
            "champion_version": test["champion_version"],
            "challenger_version": test["challenger_version"],
        },
    )


def _context(run_id: int, trigger: str, settings_file: str | None) -> RetrainContext:
    with _LIVE_LOCK:
        live = _LIVE.get(run_id)
    if live is not None:
        return live
    # A worker: everything from the settings file, on the system clock.
    settings = load_settings(None if settings_file is None else Path(settings_file))
    clock = SystemClock()
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    return RetrainContext(settings, engine, registry, clock, run_id, trigger)


@flow(name="driftwarden-retrain", persist_result=False, log_prints=False)
def retrain_flow(run_id: int, trigger: str = "manual", settings_file: str | None = None) -> str:
    """Retrain the champion for the stored run ``run_id``; returns the run's final status."""
    ctx = _context(run_id, trigger, settings_file)
    try:
        from prefect.runtime import flow_run

        update_retrain_run(ctx.engine, run_id, {"flow_run_id": str(flow_run.id)})
        status = _steps(ctx)
    except Skip as exc:
        update_retrain_run(
            ctx.engine,
            run_id,
            {"status": "skipped", "finished_at": ctx.clock.now(), "error": str(exc)},
        )
        ctx.progress(f"skipped: {exc}")
        return "skipped"
    except BaseException as exc:
        _fail(ctx, exc)
        raise
    return status


def _steps(ctx: RetrainContext) -> str:
    decided = _decide(ctx)
    update_retrain_run(ctx.engine, ctx.run_id, {"champion_version": decided["champion_version"]})
    data = _fetch(ctx)
    result, changes = _train(ctx, data)
    passed, gates, _ = _validate(ctx, result, data)
    if not passed:
        failed = "; ".join(f"{g.name}: {g.detail}" for g in gates if not g.passed)
        finish_retrain_run(
            ctx.engine, ctx.run_id, status="rejected", at=ctx.clock.now(), error=failed
        )
        ctx.progress(f"candidate rejected: {failed}")
        return "rejected"
    version = _register(ctx, result, changes)
    update_retrain_run(ctx.engine, ctx.run_id, {"candidate_version": version})
    values: dict[str, Any] = {}
    if ctx.settings.retraining.start_ab_test:
        test = _start_test(ctx, version)
        values["ab_test_id"] = test["id"]
    finish_retrain_run(
        ctx.engine, ctx.run_id, status="succeeded", at=ctx.clock.now(), values=values
    )
    return "succeeded"


def _fail(ctx: RetrainContext, exc: BaseException) -> None:
    """Record the failure and leave the registry as it was before the run."""
    error = "".join(traceback.format_exception_only(exc)).strip()
    try:
        run = get_retrain_run(ctx.engine, ctx.run_id)
        version = run.get("candidate_version")
        if (
            version is not None
            and run.get("ab_test_id") is None
            and ctx.registry.alias_version(ctx.registry.challenger) == version
        ):
            ctx.registry.clear_challenger()
        finish_retrain_run(ctx.engine, ctx.run_id, status="failed", at=ctx.clock.now(), error=error)
    except Exception:  # the store or registry is what failed: the stale-run check repairs later
        logger.exception("could not record the failure of retraining run %s", ctx.run_id)


def _ensure_api() -> None:
    """Start Prefect's ephemeral API server once per process, unless a server is configured.

    Started here under a lock rather than lazily by the first flow: two threads starting flows
    at once race on the lazy start. It takes seconds, once; it stops when the process exits.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    if PREFECT_API_URL.value():
        return
    # The server keeps its database there; without the folder it never answers, and the
    # error is only a timeout.
    Path(PREFECT_HOME.value()).expanduser().mkdir(parents=True, exist_ok=True)
    with _SERVER_LOCK:
        from prefect.server.api.server import SubprocessASGIServer

        SubprocessASGIServer().start()


_SERVER_LOCK = threading.Lock()


def _flush_prefect() -> None:
    """Send the run's queued logs and events to Prefect's API now, and stop the workers that
    send them.

    Otherwise they go out later from Prefect's background thread, retrying with random jitter
    while the server is busy: work and randomness the host process did not ask for, after the
    run it belongs to has ended (and at exit, after the ephemeral server is gone).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=_FLUSH_SECONDS)
        except Exception:  # delivery to Prefect's UI is best effort; the run is recorded
            logger.warning("could not flush Prefect's %s", worker.__name__, exc_info=True)


_FLUSH_SECONDS = 5.0


def run_in_process(ctx: RetrainContext) -> str:
    """Run the flow here, with the live objects of ``ctx``; returns the run's final status."""
    _ensure_api()
    with _LIVE_LOCK:
        _LIVE[ctx.run_id] = ctx
    try:
        # No run heartbeat: its thread costs a second at the end of every run, and a run that
        # dies is found by the store's heartbeat of its steps instead.
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            return retrain_flow(ctx.run_id, ctx.trigger)
    finally:
        _flush_prefect()
        with _LIVE_LOCK:
            _LIVE.pop(ctx.run_id, None)
