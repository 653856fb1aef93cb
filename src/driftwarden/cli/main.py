"""The ``driftwarden`` command: parse the verb, set up logging, run it, turn errors into messages.

Progress goes to standard error and results to standard output, so results can be piped.
A driftwarden error exits with status 1 and a one-line message (no traceback); bad usage
exits with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from driftwarden import __version__
from driftwarden.cli.commands import (
    abtests,
    alerts,
    dashboard,
    demo,
    example,
    init,
    models,
    monitor,
    retrain,
    serve,
    simulate,
    store,
    traffic,
    train,
)
from driftwarden.core import apply_offline_defaults, configure_logging, load_settings
from driftwarden.core.errors import DriftwardenError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb."""
    parser = argparse.ArgumentParser(
        prog="driftwarden",
        description="Serve a tabular model, watch it for drift, retrain and promote it.",
    )
    parser.add_argument("--version", action="version", version=f"driftwarden {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: driftwarden.toml in the working directory, if present)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for module in (
        init, train, models, serve, monitor, alerts, retrain, abtests, simulate, traffic,
        dashboard, demo, example, store,
    ):  # fmt: skip
        module.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "reads_settings", True):
            settings = load_settings(args.config)
            configure_logging(settings.log_level, json=settings.log_json)
            apply_offline_defaults(settings.home)
            status: int = args.run(args, settings)
        else:
            # `init` writes the settings file: a broken existing one must not stop it.
            configure_logging()
            status = args.run(args, None)
    except DriftwardenError as exc:
        print(f"driftwarden: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("driftwarden: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover - python -m driftwarden.cli.main
    sys.exit(main())
