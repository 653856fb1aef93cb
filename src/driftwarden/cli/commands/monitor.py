"""``driftwarden monitor [--once | deploy]``: run the monitor over the latest window, once or on
a schedule, or deploy it to Prefect.

``--once`` is the form a scheduler (cron, a Kubernetes CronJob) runs: one window, the alert
rules, the notifications, then exit. Without it the monitor repeats every ``monitor.interval``
until interrupted (``driftwarden serve`` already runs this loop inside the API unless
``serving.run_monitor`` is off). ``deploy`` registers the pass as a Prefect deployment on a work
pool, scheduled every ``monitor.interval`` (:mod:`driftwarden.retraining.monitor_flow`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from driftwarden import retraining
from driftwarden.cli.commands._shared import Progress
from driftwarden.cli.commands.retrain import settings_file
from driftwarden.core import Settings
from driftwarden.core.errors import ConfigError
from driftwarden.monitoring import Monitor, MonitorReport

__all__ = ["add_parser", "build_monitor", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "monitor",
        help="check the logged predictions for drift, quality and performance; raise alerts",
        description="Run the monitor over the latest window of logged predictions (the window "
        "and interval come from [monitor] in driftwarden.toml).",
    )
    parser.add_argument("--once", action="store_true", help="one run, then exit")
    parser.add_argument(
        "--end",
        help="end of the window (ISO 8601 with a zone; default: now), with --once",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    deploy = actions.add_parser(
        "deploy",
        help="register the monitor's pass as a Prefect deployment on a work pool, run every "
        "monitor.interval (PREFECT_API_URL)",
    )
    deploy.add_argument("--pool", required=True, help="the process work pool (created if new)")
    deploy.add_argument("--name", default="driftwarden", help="the deployment's name")
    parser.set_defaults(run=run)


def build_monitor(settings: Settings, settings_file: Path | None = None) -> Monitor:
    """The monitor of the settings' store and registry (the store is migrated first); a
    retraining its policy asks for runs before the run returns, with progress on standard
    error."""
    return retraining.build_monitor(settings, settings_file, progress=Progress())


def _end(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        end = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"--end: expected an ISO 8601 time, got {text!r}") from exc
    if end.utcoffset() is None:
        raise ConfigError(f"--end: give the time with a zone, e.g. {text}+00:00")
    return end


def _print(report: MonitorReport) -> None:
    outcome = report.outcome
    print(
        f"run {outcome.run_id}: {outcome.n_rows} predictions from "
        f"{outcome.window_start.isoformat()} to {outcome.window_end.isoformat()} "
        f"(read {outcome.read_seconds:.3f}s, statistics {outcome.stats_seconds:.3f}s)"
    )
    for r in outcome.results:
        drifted = r.report.drifted_features
        if r.performance is None:
            realised = "too few for realised performance"
        else:
            # The headline metric of the version's task: AUC for a classifier, RMSE otherwise.
            headline = "rmse" if "rmse" in r.performance else "roc_auc"
            realised = f"realised {headline} {r.performance.get(headline)}"
        print(
            f"  version {r.model_version}: {r.n_rows} rows, drift {r.severity}, drifted: "
            f"{', '.join(drifted) or 'none'}; {r.n_labelled} labelled, {realised}"
        )
    for check in report.firing:
        print(f"  {check.severity.upper():<8} {check.rule}: {check.message}")
    alerts = report.alerts
    print(
        f"alerts: {len(alerts.opened)} opened, {len(alerts.escalated)} escalated, "
        f"{len(alerts.resolved)} resolved, {alerts.failed_deliveries} failed deliveries"
    )
    if report.ab_test is not None:
        decision = report.ab_test
        print(
            f"A/B test {decision.test_id}: {decision.action} ({decision.n_champion} labelled "
            f"champion rows, {decision.n_challenger} challenger rows): {decision.reason}"
        )
    if report.retrain is not None:
        print(f"retraining asked for ({report.retrain.trigger}): {report.retrain.reason}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run once, loop until interrupted, or deploy the pass to Prefect."""
    if args.action == "deploy":
        from driftwarden.retraining.deploy import deploy_monitor

        interval = settings.monitor.interval
        name = deploy_monitor(
            args.pool, interval, name=args.name, settings_file=settings_file(args)
        )
        print(
            f"deployed {name} on work pool {args.pool!r}, every {interval}; start a worker "
            f"(prefect worker start --pool {args.pool}) and set serving.run_monitor = false "
            "so that the API does not run the monitor too"
        )
        return 0
    monitor = build_monitor(settings, settings_file(args))
    if not args.once:
        if args.end is not None:
            raise ConfigError("--end only goes with --once")
        asyncio.run(monitor.loop())
        return 0  # pragma: no cover - the loop ends by an interrupt only
    report = monitor.run_once(_end(args.end))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
    return 0
