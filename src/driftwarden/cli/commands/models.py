"""``driftwarden models list|promote|rollback|history``: the registered versions and aliases."""

from __future__ import annotations

import argparse
import json
from typing import Any

from driftwarden.core import Settings
from driftwarden.registry import ModelRegistry

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb and its sub-verbs."""
    parser = verbs.add_parser("models", help="list, promote and roll back model versions")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="versions with aliases, metrics and training dates")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    promote = actions.add_parser("promote", help="make a version the champion")
    promote.add_argument("version", type=int)
    promote.add_argument("--reason", default="", help="recorded in the promotion history")
    rollback = actions.add_parser("rollback", help="return to the previous champion")
    rollback.add_argument("--reason", default="", help="recorded in the promotion history")
    history = actions.add_parser("history", help="every champion move, oldest first")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch the action."""
    registry = ModelRegistry(settings.registry, home=settings.home)
    if args.action == "list":
        return _list(registry, as_json=args.json)
    if args.action == "promote":
        event = registry.promote(args.version, reason=args.reason, actor="cli")
        print(f"version {event.to_version} is now the {event.alias} (was {event.from_version})")
        return 0
    if args.action == "rollback":
        event = registry.rollback(reason=args.reason, actor="cli")
        print(
            f"rolled back: version {event.to_version} is the {event.alias} again "
            f"(was {event.from_version})"
        )
        return 0
    events = registry.history()
    if args.json:
        print(json.dumps([json.loads(e.to_json()) for e in events], indent=2))
        return 0
    for e in events:
        reason = f": {e.reason}" if e.reason else ""
        print(
            f"#{e.sequence} {e.at.isoformat()} {e.action:<8} {e.alias}: {e.from_version} -> "
            f"{e.to_version} by {e.actor}{reason}"
        )
    return 0


def _list(registry: ModelRegistry, *, as_json: bool) -> int:
    versions = registry.list_versions()
    if as_json:
        print(json.dumps([v.to_dict() for v in versions], indent=2))
        return 0
    if not versions:
        print(f"model {registry.name!r} has no versions yet; run `driftwarden train`")
        return 0
    # The columns of the tasks listed: a classifier's ROC AUC and accuracy, a regressor's RMSE,
    # MAE, R² and MAPE; "-" where a version has no such metric.
    columns = [
        column
        for task, task_columns in _COLUMNS.items()
        if any(v.task == task for v in versions)
        for column in task_columns
    ] or list(_COLUMNS["binary_classification"])
    header = " ".join(f"{column:>{_WIDTH[column]}}" for column in columns)
    print(f"{'version':>7}  {'aliases':<20} {header}  trained at")
    for v in versions:
        cells = " ".join(
            f"{_fmt(column, v.metrics.get(column)):>{_WIDTH[column]}}" for column in columns
        )
        print(
            f"{v.version:>7}  {', '.join(v.aliases) or '-':<20} {cells}  "
            f"{v.tags.get('trained_at', '-')}"
        )
    return 0


_COLUMNS = {
    "binary_classification": ("roc_auc", "accuracy"),
    "regression": ("rmse", "mae", "r2", "mape"),
}
_WIDTH = {"roc_auc": 8, "accuracy": 8, "rmse": 10, "mae": 10, "r2": 8, "mape": 8}


def _fmt(column: str, value: float | None) -> str:
    if value is None:
        return "-"
    if column in ("rmse", "mae"):
        # In the target's unit, whatever its scale.
        return f"{value:.6g}"
    if column == "mape":
        return f"{value:.2%}"
    return f"{value:.4f}"
