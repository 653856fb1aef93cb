"""``create_app(settings)``: the FastAPI application of one server.

Start-up opens the store (migrating it), starts the group-commit writer, loads the champion and
challenger from the registry and the routing experiment from the store, polls both, and starts
the monitor loop (``serving.run_monitor``); shut-down flushes every pending row. The champion's
feature schema is read before the app is built, so the request model (and ``/docs``) show the
real fields.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from threadpoolctl import threadpool_limits

from driftwarden import __version__
from driftwarden.core import Clock, Settings, SystemClock
from driftwarden.core.errors import NotFoundError, RegistryError, StoreUnavailableError
from driftwarden.monitoring import Monitor, check_task_settings
from driftwarden.registry import ModelRegistry
from driftwarden.retraining import Retrainer
from driftwarden.schema import build_request_model
from driftwarden.serving.errors import install_error_handlers
from driftwarden.serving.limits import BodySizeLimit
from driftwarden.serving.metrics import ServerMetrics
from driftwarden.serving.models import ModelSet
from driftwarden.serving.openapi import install_openapi
from driftwarden.serving.routes import (
    abtests,
    alerts,
    feedback,
    health,
    models,
    monitoring,
    predict,
    retraining,
)
from driftwarden.serving.shared_routing import SharedRouting
from driftwarden.serving.state import ServingState
from driftwarden.store import PredictionWriter, create_store_engine, latest_figures, upgrade

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

# Seconds between attempts to migrate a store that was unreachable at start-up.
_MIGRATE_RETRY_SECONDS = 2.0
# Longest a shut-down waits for a background retraining; one still running is marked failed by
# the next request once its heartbeat is stale.
_RETRAIN_JOIN_SECONDS = 60.0


async def _migrate(
    engine: Engine, writer: PredictionWriter, routing: SharedRouting, tried: asyncio.Event
) -> None:
    """Migrate the store and load the stored routing; while the store is unreachable, keep
    serving (rows spool, the routing stays the default) and retry. ``tried`` is set once the
    first attempt is over, whatever its outcome.

    A database that is down when the server starts must not keep the API down: predictions are
    answered and spooled, and replayed once the store is reachable and migrated.
    """
    while True:
        try:
            await asyncio.to_thread(upgrade, engine)
        except StoreUnavailableError as exc:
            logger.warning(
                "the prediction store is unreachable (%s); serving from the spool, retrying in %ss",
                str(exc).splitlines()[0],
                _MIGRATE_RETRY_SECONDS,
            )
            tried.set()
            await asyncio.sleep(_MIGRATE_RETRY_SECONDS)
        else:
            try:
                # Only now does the routing table surely exist.
                await routing.refresh()
            except Exception:  # the routing must not keep the spool from being replayed
                logger.exception("loading the stored routing failed; retrying at the next poll")
            finally:
                tried.set()
            if writer.spool_size:
                await writer.replay()
            return


def create_app(
    settings: Settings,
    *,
    registry: ModelRegistry | None = None,
    clock: Clock | None = None,
    settings_file: Path | None = None,
) -> FastAPI:
    """Build the API for ``settings``.

    Parameters
    ----------
    settings : Settings
    registry : ModelRegistry, optional
        Defaults to the registry the settings name.
    clock : Clock, optional
        Times predictions and labels; simulated time in simulations.
    settings_file : Path, optional
        The file the settings came from, passed to retraining runs on a Prefect work pool.
    """
    clock = clock or SystemClock()
    registry = registry or ModelRegistry(settings.registry, clock=clock, home=settings.home)
    try:
        schema = registry.load(registry.champion).schema
    except NotFoundError:
        logger.warning("no champion model yet: /v1/predict answers 503 until one is trained")
        schema = None
    except RegistryError as exc:
        # Started while the tracking server is down: serve 503 and pick the champion up by
        # polling, as when none was trained yet, rather than not start at all.
        logger.warning(
            "the model registry is unreachable (%s): /v1/predict answers 503 until it is back",
            exc,
        )
        schema = None
    if schema is not None:
        # RMSE of a classifier, ROC AUC of a regression model: refused now, not per window.
        check_task_settings(settings, schema.task)
    request_model = None if schema is None else build_request_model(schema)
    if not settings.serving.log_predictions:
        logger.warning(
            "serving.log_predictions is off: predictions are answered but not logged, so they "
            "cannot be monitored, joined to labels or used to retrain"
        )
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    writer = PredictionWriter.from_settings(engine, settings.store, clock=clock)
    model_set = ModelSet(
        registry,
        max_rows=settings.serving.max_batch_size,
        max_wait_ms=settings.serving.max_batch_wait_ms,
        commit=writer.submit if settings.serving.log_predictions else None,
    )
    metrics = ServerMetrics()
    model_name = registry.name
    metrics.monitor_figures.read_from(
        lambda previous: latest_figures(engine, model_name, previous=previous)
    )
    retrainer = Retrainer(settings, engine, registry, clock, settings_file=settings_file)
    monitor = Monitor(
        settings,
        engine,
        registry,
        clock,
        error_rate=metrics.error_rate,
        on_report=metrics.observe_monitor,
        on_failure=metrics.observe_monitor_failure,
        # In the background: a monitor run must not wait for a training.
        on_retrain=lambda request: retrainer.request(
            request.trigger, request.reason, request.evidence, wait=False
        ),
        arm_error_rates=metrics.arm_error_rates,
    )
    state = ServingState(
        settings,
        clock,
        engine,
        writer,
        model_set,
        schema,
        request_model,
        metrics,
        monitor,
        retrainer,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # One OpenMP thread per scoring call: requests are concurrent already, and spinning
        # OpenMP threads of concurrent calls fight over the cores.
        threadpool_limits(limits=1, user_api="openmp")
        # A worker that replaces one that was killed: the dead one's requests are not in flight.
        metrics.forget_dead_processes()
        tried = asyncio.Event()
        migrations = asyncio.get_running_loop().create_task(
            _migrate(engine, writer, state.routing, tried)
        )
        writer.start()
        await model_set.load_initial()
        # Serve the stored experiment from the first request on, if the store answers at once;
        # waiting on the task too, so that a migration that failed for good cannot hang here.
        first_attempt = asyncio.ensure_future(tried.wait())
        await asyncio.wait({first_attempt, migrations}, return_when=asyncio.FIRST_COMPLETED)
        first_attempt.cancel()
        # Everything loaded so far (libraries, models) lives as long as the process: keep the
        # garbage collector from walking it again, which stalled requests for a few hundred ms.
        gc.collect()
        gc.freeze()
        model_set.start_polling(settings.serving.alias_poll_interval.total_seconds())
        state.routing.start_polling(settings.serving.routing_poll_interval.total_seconds())
        monitor_loop = None
        if settings.serving.run_monitor:
            monitor_loop = asyncio.get_running_loop().create_task(
                monitor.loop(), name="monitor-loop"
            )
        try:
            yield
        finally:
            for task in (migrations, monitor_loop):
                if task is not None:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception:
                        # A migration that failed for good (not an outage, which it retries):
                        # raised here, it would skip the flush of the logged rows below.
                        logger.exception("a background task of the server had failed")
            await state.routing.stop()
            # A retraining in a background thread finishes its current step's writes first.
            await asyncio.to_thread(retrainer.join, _RETRAIN_JOIN_SECONDS)
            await model_set.stop()
            await writer.stop()
            engine.dispose()
            metrics.close()

    app = FastAPI(
        title="driftwarden",
        version=__version__,
        description="Predictions with a durable log, champion/challenger routing, feedback, "
        "monitoring and alerts.",
        lifespan=lifespan,
    )
    app.state.serving = state
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(feedback.router)
    app.include_router(monitoring.router)
    app.include_router(alerts.router)
    app.include_router(retraining.router)
    app.include_router(abtests.router)
    app.include_router(predict.router)
    app.add_middleware(BodySizeLimit, limit=settings.serving.max_request_bytes)
    bodies = {("/v1/feedback", "post"): feedback.openapi_body(schema)}
    if request_model is not None:
        # Read by hand (one row or a batch): the route's signature has no body to document.
        rows = settings.serving.max_request_rows
        bodies["/v1/predict", "post"] = predict.openapi_body(request_model, rows)
    install_openapi(app, settings, bodies=bodies)
    return app
