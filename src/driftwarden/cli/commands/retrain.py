"""``driftwarden retrain [runs|show|deploy]``: retrain now, read the runs, or deploy the flow.

``driftwarden retrain`` records a manual request and runs the retraining flow in this process
with progress on standard error (or submits it to the Prefect deployment that
``retraining.deployment`` names); it prints how the run ended. A retraining already running
elsewhere makes this one a recorded, skipped request (exit status 1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from driftwarden.cli.commands._shared import Progress
from driftwarden.core import Settings, SystemClock
from driftwarden.registry import ModelRegistry
from driftwarden.retraining import Retrainer
from driftwarden.store import create_store_engine, get_retrain_run, list_retrain_runs, upgrade

__all__ = ["add_parser", "run", "settings_file"]


def add_parser(verbs: Any) -> None:
    """Register the verb and its sub-verbs."""
    parser = verbs.add_parser(
        "retrain",
        help="retrain the champion now; list retraining runs; deploy the flow to Prefect",
        description="Without an action: fetch the training data and the labelled production "
        "rows, train a candidate, validate it against the champion on the most recent rows, "
        "register it as challenger and start its A/B test.",
    )
    parser.add_argument("--reason", default="", help="recorded on the run")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    runs = actions.add_parser("runs", help="retraining runs, newest first")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true", help="machine-readable output")
    show = actions.add_parser("show", help="one run with its steps and gates")
    show.add_argument("run_id", type=int)
    deploy = actions.add_parser(
        "deploy",
        help="register the flow as a Prefect deployment on a work pool (PREFECT_API_URL)",
    )
    deploy.add_argument("--pool", required=True, help="the process work pool (created if new)")
    deploy.add_argument("--name", default="driftwarden", help="the deployment's name")
    parser.set_defaults(run=run)


def settings_file(args: argparse.Namespace) -> Path | None:
    """The settings file this command read, as an absolute path (for workers), if any."""
    config: Path | None = args.config
    if config is None and Path("driftwarden.toml").is_file():
        config = Path("driftwarden.toml")
    return None if config is None else config.resolve()


def _print_run(found: dict[str, Any]) -> None:
    print(
        f"retraining run {found['id']} ({found['trigger']}): {found['status']}"
        + (f": {found['error']}" if found.get("error") else "")
    )
    for step in found.get("steps") or []:
        print(f"  {step['step']:<20} {step['status']:<8} {step['seconds']:>8.2f}s")
    if found.get("candidate_version") is not None:
        print(f"  candidate: version {found['candidate_version']}")
    if found.get("ab_test_id") is not None:
        test = found["ab_test_id"]
        print(f"  A/B test: {test} (driftwarden ab-tests show {test})")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch the action."""
    if args.action == "deploy":
        from driftwarden.retraining.deploy import deploy

        name = deploy(args.pool, name=args.name, settings_file=settings_file(args))
        print(
            f"deployed {name} on work pool {args.pool!r}; set retraining.deployment = "
            f'"{name}" and start a worker: prefect worker start --pool {args.pool}'
        )
        return 0
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    upgrade(engine)
    clock = SystemClock()
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    if args.action == "runs":
        listed = list_retrain_runs(engine, model_name=registry.name, limit=args.limit)
        if args.json:
            print(json.dumps(listed, indent=2, default=str))
        for item in [] if args.json else listed:
            print(
                f"{item['id']:>5}  {item['requested_at'].isoformat()}  {item['trigger']:<11} "
                f"{item['status']:<9} {item.get('error') or item['reason']}"
            )
        return 0
    if args.action == "show":
        print(json.dumps(get_retrain_run(engine, args.run_id), indent=2, default=str))
        return 0
    retrainer = Retrainer(
        settings, engine, registry, clock, settings_file=settings_file(args), progress=Progress()
    )
    found = retrainer.request("manual", args.reason or "requested with driftwarden retrain")
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    else:
        _print_run(found)
    return 0 if found["status"] in ("succeeded", "running") else 1
