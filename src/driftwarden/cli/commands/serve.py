"""``driftwarden serve``: run the prediction API with uvicorn, in one process or in several
worker processes behind one port."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from driftwarden.cli.commands.retrain import settings_file
from driftwarden.core import ConfigError, Settings
from driftwarden.core.errors import RegistryError, StoreUnavailableError
from driftwarden.registry import ModelRegistry
from driftwarden.serving.app import create_app
from driftwarden.serving.worker import CONFIG_ENV
from driftwarden.store import create_store_engine, upgrade

__all__ = ["add_parser", "cores", "run"]

logger = logging.getLogger(__name__)

# Seconds a worker may take to answer the supervisor's health ping before it is restarted. A
# monitor pass keeps the interpreter busy for seconds at a time; uvicorn's default (5 s) would
# restart a worker that is only working.
_WORKER_HEALTHCHECK_SECONDS = 30


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "serve",
        help="serve predictions over HTTP",
        description="Serve the registry's champion (and challenger) at /v1/predict, log every "
        "prediction, accept labels at /v1/feedback; /docs shows the API.",
    )
    parser.add_argument("--host", help="interface to bind (default: serving.host)")
    parser.add_argument("--port", type=int, help="TCP port (default: serving.port)")
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes behind the port (default: serving.workers, else one per core); "
        "with more than one, use a PostgreSQL store",
    )
    parser.set_defaults(run=run)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the app (or the workers' apps) and run until interrupted."""
    workers = args.workers if args.workers is not None else settings.serving.workers or cores()
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}", key="serving.workers")
    host = args.host or settings.serving.host
    port = args.port or settings.serving.port
    log_level = settings.log_level.lower()
    if workers == 1:
        app = create_app(settings, settings_file=settings_file(args))
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        return 0
    if settings.store.url.startswith("sqlite"):
        logger.warning(
            "%d workers share an SQLite store, whose commits take turns; for replicas on "
            "several machines, or when commits wait on each other, use PostgreSQL (see the "
            "README's numbers)",
            workers,
        )
    _migrate_first(settings)
    config = settings_file(args)
    with _metrics_dir() as metrics:
        logger.info("%d workers on %s:%d, metrics in %s", workers, host, port, metrics)
        os.environ[CONFIG_ENV] = "" if config is None else str(config)
        uvicorn.run(
            "driftwarden.serving.worker:create_worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
        )
    return 0


def _migrate_first(settings: Settings) -> None:
    """Migrate the store, and open the registry, once, before the workers start.

    Workers that open a new local MLflow store together would each create its tables, and all
    but one fail. If the store is unreachable, each worker serves from its spool and migrates
    when it can; a registry that is unreachable is retried by each worker's alias poll.
    """
    try:
        registry = ModelRegistry(settings.registry, home=settings.home)
        registry.alias_version(registry.champion)
    except RegistryError as exc:
        logger.warning("the model registry is unreachable (%s); the workers will retry", exc)
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    try:
        upgrade(engine)
    except StoreUnavailableError as exc:
        logger.warning(
            "the prediction store is unreachable (%s); the workers will migrate it when it is back",
            str(exc).splitlines()[0],
        )
    finally:
        engine.dispose()


@contextlib.contextmanager
def _metrics_dir() -> Iterator[Path]:
    """The multiprocess folder of the workers' Prometheus metrics: the one the environment names
    (a container's volume, say), else a fresh one removed at exit. It must start empty: values
    left from an earlier run would be added to this one's."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="driftwarden-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)
