"""The retraining flow as a Prefect deployment on a work pool, and submitting runs to it.

With ``PREFECT_API_URL`` pointing at a Prefect server, :func:`deploy` registers the flow of
:mod:`driftwarden.retraining.flow` (by its module path: workers run the installed package, no
source folder or image is needed) on a ``process`` work pool, creating the pool if it does not
exist. Set ``retraining.deployment`` to the name it prints and every retraining request is
submitted to it (:func:`submit`); a worker of the pool (``prefect worker start --pool NAME``)
runs it with the settings file passed as a parameter, so it must read the same settings (an
absolute path every worker can read) and reach the same store and registry.

:func:`deploy_monitor` registers the monitor's pass (:mod:`driftwarden.retraining.monitor_flow`)
on a pool the same way, scheduled every ``monitor.interval``.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from driftwarden.core import ConfigError

__all__ = ["FLOW_NAME", "deploy", "deploy_monitor", "submit"]

#: The flow's name in Prefect; a deployment is addressed as ``<flow>/<deployment>``.
FLOW_NAME = "driftwarden-retrain"


def _require_server() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "deployments live on a Prefect server: set PREFECT_API_URL (for example "
            "http://127.0.0.1:4200/api) to the server the workers use"
        )
    return str(url)


def deploy(pool: str, *, name: str = "driftwarden", settings_file: Path | None = None) -> str:
    """Register the retraining flow as deployment ``name`` on work pool ``pool``.

    Returns the name to set as ``retraining.deployment`` (``driftwarden-retrain/<name>``).

    Raises
    ------
    ConfigError
        ``PREFECT_API_URL`` is not set.
    """
    _require_server()
    from driftwarden.retraining.flow import retrain_flow

    _apply(retrain_flow, pool, name, settings_file)
    return f"{FLOW_NAME}/{name}"


def deploy_monitor(
    pool: str, interval: timedelta, *, name: str = "driftwarden", settings_file: Path | None = None
) -> str:
    """Register the monitor's flow as deployment ``name`` on work pool ``pool``, run every
    ``interval`` (``monitor.interval``); a worker of the pool runs each pass.

    Returns the deployment's name (``driftwarden-monitor/<name>``).

    Raises
    ------
    ConfigError
        ``PREFECT_API_URL`` is not set, or ``interval`` is not positive.
    """
    _require_server()
    if interval <= timedelta(0):
        raise ConfigError(f"the monitor's interval must be positive, got {interval}")
    from driftwarden.retraining.monitor_flow import MONITOR_FLOW_NAME, monitor_flow

    _apply(monitor_flow, pool, name, settings_file, interval=interval)
    return f"{MONITOR_FLOW_NAME}/{name}"


def _apply(
    flow: Any, pool: str, name: str, settings_file: Path | None, *,
    interval: timedelta | None = None,
) -> None:  # fmt: skip
    """Create the ``process`` work pool ``pool`` if it is new; register ``flow`` on it as
    deployment ``name`` (replacing one of that name), run by module path, every ``interval``
    when given."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments.runner import RunnerDeployment
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.types.entrypoint import EntrypointType
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(
            WorkPoolCreate(
                name=pool,
                type="process",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            )
        )
    parameters = {} if settings_file is None else {"settings_file": str(settings_file.resolve())}
    # RunnerDeployment.apply: Flow.deploy() would ask for an image or remote storage, and the
    # workers import the installed package by module path.
    deployment = flow.to_deployment(
        name=name, entrypoint_type=EntrypointType.MODULE_PATH, parameters=parameters,
        interval=interval,
    )  # fmt: skip
    # Both are sync-compatible: called outside an event loop they return their result.
    assert isinstance(deployment, RunnerDeployment)
    deployment.apply(work_pool_name=pool)


def submit(deployment: str, run_id: int, trigger: str, settings_file: Path | None) -> str:
    """Create a run of ``deployment`` for the stored retraining run; returns its flow run id.

    Returns at once: a worker of the deployment's pool picks the run up.
    """
    _require_server()
    from prefect.deployments import run_deployment

    parameters: dict[str, object] = {"run_id": run_id, "trigger": trigger}
    if settings_file is not None:
        parameters["settings_file"] = str(Path(settings_file).resolve())
    from prefect.client.schemas.objects import FlowRun

    flow_run = run_deployment(name=deployment, parameters=parameters, timeout=0)
    assert isinstance(flow_run, FlowRun)  # sync-compatible: called outside an event loop
    return str(flow_run.id)
