"""The monitor's pass as a Prefect flow (``driftwarden-monitor``), for a scheduled deployment.

By default the monitor runs inside ``driftwarden serve``. Where the API replicas should only
serve, ``driftwarden monitor deploy --pool NAME`` registers this flow on a work pool with the
schedule ``monitor.interval`` (:func:`driftwarden.retraining.deploy.deploy_monitor`); a worker of
the pool then runs one pass per interval, in a process of its own, reading the settings file the
deployment names. Turn the API's loop off then (``serving.run_monitor = false``).

A pass takes the store's ``monitor:<model>`` lease first, as the API's loop does, so a run that
overlaps another (a slow pass, a replica still running its loop) stands by instead of running
the same window twice; it gives the lease back when it ends. A retraining its policy asks for
goes to ``retraining.deployment`` when that is set, and otherwise runs inside the flow's run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow

from driftwarden.core import load_settings
from driftwarden.retraining.runner import build_monitor
from driftwarden.store import lease_holder, release_lease

__all__ = ["MONITOR_FLOW_NAME", "monitor_flow"]

logger = logging.getLogger(__name__)

#: The flow's name in Prefect; its deployments are addressed as ``driftwarden-monitor/<name>``.
MONITOR_FLOW_NAME = "driftwarden-monitor"


@flow(name=MONITOR_FLOW_NAME)
def monitor_flow(settings_file: str | None = None) -> dict[str, Any]:
    """One monitor pass over the latest window, with its alert rules, notifications and A/B
    decision; what it found, as ``monitor --once --json`` prints it, with ``status`` ``ok``, or
    ``standby`` and the lease's ``holder`` when another process is running a pass."""
    path = None if settings_file is None else Path(settings_file)
    monitor = build_monitor(load_settings(path), path)
    try:
        if not monitor.lead():
            holder = lease_holder(monitor.engine, monitor.lease, now=datetime.now(UTC))
            logger.info("another process holds the monitor's lease (%s): no pass now", holder)
            return {"status": "standby", "holder": holder}
        try:
            report = monitor.run_once()
        finally:
            release_lease(monitor.engine, monitor.lease, monitor.holder, now=datetime.now(UTC))
        return {"status": "ok", **report.to_dict()}
    finally:
        monitor.engine.dispose()
