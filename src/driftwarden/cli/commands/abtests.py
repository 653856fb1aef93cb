"""``driftwarden ab-tests [list|show|start|stop]``: the champion/challenger A/B tests."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driftwarden.core import Settings, SystemClock
from driftwarden.monitoring import ABTestManager
from driftwarden.registry import ModelRegistry
from driftwarden.store import create_store_engine, get_ab_test, list_ab_tests, upgrade

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb and its sub-verbs."""
    parser = verbs.add_parser("ab-tests", help="list, read, start and stop A/B tests")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tests, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = actions.add_parser("show", help="one test with its statistics over time (JSON)")
    show.add_argument("test_id", type=int)
    start = actions.add_parser("start", help="test a registered version against the champion")
    start.add_argument("version", type=int)
    start.add_argument("--mode", choices=("split", "shadow"))
    start.add_argument("--share", type=float, help="the challenger's share in split mode")
    stop = actions.add_parser("stop", help="end a running test without promotion")
    stop.add_argument("test_id", type=int)
    stop.add_argument("--reason", default="", help="recorded on the test")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch the action."""
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    upgrade(engine)
    clock = SystemClock()
    registry = ModelRegistry(settings.registry, clock=clock, home=settings.home)
    manager = ABTestManager(settings, engine, registry, clock)
    if args.action == "list":
        found = list_ab_tests(engine, model_name=registry.name)
        if args.json:
            print(json.dumps(found, indent=2, default=str))
            return 0
        if not found:
            print("no A/B tests yet; a retraining starts one (driftwarden retrain)")
        for test in found:
            print(
                f"{test['id']:>5}  {test['started_at'].isoformat()}  v{test['challenger_version']} "
                f"vs v{test['champion_version']} ({test['mode']})  {test['status']:<9} "
                f"{test.get('reason') or ''}"
            )
        return 0
    if args.action == "show":
        print(json.dumps(get_ab_test(engine, args.test_id), indent=2, default=str))
        return 0
    if args.action == "start":
        test = manager.start(args.version, mode=args.mode, share=args.share, actor="cli")
        print(
            f"A/B test {test['id']} started: version {test['challenger_version']} against "
            f"{test['champion_version']} ({test['mode']}); servers pick it up at their next poll"
        )
        return 0
    test = manager.stop(args.test_id, reason=args.reason or "no reason given", actor="cli")
    print(f"A/B test {test['id']} stopped: {test['reason']}")
    return 0
