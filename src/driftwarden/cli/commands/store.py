"""``driftwarden store migrate``: bring the prediction store to the newest schema.

The API, the monitor and the other commands migrate the store themselves when they start. A
deployment migrates it once, in a step of its own, before any replica starts: replicas that
start together on an empty database would otherwise wait on each other's migration (they take
turns on a lock in the store), and a migration that fails then fails one step, not every replica.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.engine import make_url

from driftwarden.core import Settings
from driftwarden.store import create_store_engine, upgrade

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb and its action."""
    parser = verbs.add_parser(
        "store",
        help="migrate the prediction store to the newest schema",
        description="Act on the prediction store that store.url names.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "migrate",
        help="create the store's tables, or bring them to the newest schema (safe to repeat)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001 - one action
    """Migrate."""
    engine = create_store_engine(
        settings.store.url, connect_timeout=settings.store.connect_timeout_seconds
    )
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    shown = make_url(settings.store.url).render_as_string(hide_password=True)
    print(f"the store at {shown} has the newest schema")
    return 0
