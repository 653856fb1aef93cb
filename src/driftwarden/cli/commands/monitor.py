"""``driftwarden monitor [--once]``: run the monitor over the latest window, once or on a schedule.

``--once`` is the form a scheduler (cron, a Prefect deployment, a Kubernetes CronJob) runs: one
window, the alert rules, the notifications, then exit. Without it the monitor repeats every
``monitor.interval`` until interrupted (``driftwarden serve`` already runs this loop inside the
API unless ``serving.run_monitor`` is off).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from driftwarden.cli.commands._shared import Progress
from driftwarden.cli.commands.retrain import settings_file
from driftwarden.core import Settings, SystemClock
from driftwarden.core.errors import ConfigError
from driftwarden.monitoring import Monitor, MonitorReport
from driftwarden.registry import ModelRegistry
from driftwarden.retraining import Retrainer
from driftwarden.store import create_store_engine, upgrade

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
    parser.set_defaults(run=run)


def build_monitor(settings: Settings, settings_file: Path | None = None) -> Monitor:
    """The monitor of the settings' store and registry (the store is migrated first); a
    retraining its policy asks for runs before the run returns."""
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    upgrade(engine)
    clock = SystemClock()
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    retrainer = Retrainer(
        settings, engine, registry, clock, settings_file=settings_file, progress=Progress()
    )
    return Monitor(
        settings,
        engine,
        registry,
        clock,
        on_retrain=lambda request: retrainer.request(
            request.trigger, request.reason, request.evidence
        ),
    )


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
        realised = "-" if r.performance is None else f"{r.performance.get('roc_auc')}"
        print(
            f"  version {r.model_version}: {r.n_rows} rows, drift {r.severity}, drifted: "
            f"{', '.join(drifted) or 'none'}; {r.n_labelled} labelled, realised roc_auc "
            f"{realised}"
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
    """Run once, or loop until interrupted."""
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
