"""``driftwarden alerts list|show|ack|mute``: the alerts the monitor raised."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import Any

from driftwarden.cli.commands.monitor import build_monitor
from driftwarden.core import Settings
from driftwarden.store import alert_events, create_store_engine, get_alert, list_alerts, upgrade

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb and its sub-verbs."""
    parser = verbs.add_parser("alerts", help="list, acknowledge and mute alerts")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="alerts, newest first")
    listing.add_argument("--status", choices=("open", "acknowledged", "resolved"))
    listing.add_argument("--severity", choices=("info", "warning", "critical"))
    listing.add_argument("--rule", help="e.g. feature_drift, performance_drop")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = actions.add_parser("show", help="one alert and its history")
    show.add_argument("id", type=int)
    ack = actions.add_parser("ack", help="acknowledge an alert (no more reminders)")
    ack.add_argument("id", type=int)
    mute = actions.add_parser("mute", help="send nothing about an alert for a while")
    mute.add_argument("id", type=int)
    mute.add_argument("--minutes", type=float, required=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch the action."""
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    upgrade(engine)
    if args.action == "list":
        found = list_alerts(
            engine,
            model_name=settings.registry.model_name,
            status=args.status,
            severity=args.severity,
            rule=args.rule,
            limit=args.limit,
        )
        if args.json:
            print(json.dumps(found, indent=2, default=str))
            return 0
        if not found:
            print("no alerts")
            return 0
        for a in found:
            print(
                f"#{a['id']:<5} {a['severity'].upper():<8} {a['status']:<12} "
                f"{a['opened_at'].isoformat()}  {a['title']}: {a['message']}"
            )
        return 0
    if args.action == "show":
        alert = get_alert(engine, args.id)
        alert["events"] = alert_events(engine, args.id)
        print(json.dumps(alert, indent=2, default=str))
        return 0
    # Acknowledging and muting go through the monitor's alert manager, which keeps the history.
    monitor = build_monitor(settings)
    if args.action == "ack":
        monitor.alerts.acknowledge(args.id, by="cli")
        print(f"alert {args.id} acknowledged")
        return 0
    until = monitor.alerts.mute(args.id, timedelta(minutes=args.minutes), by="cli")["muted_until"]
    print(f"alert {args.id} muted until {until.isoformat()}")
    return 0
