"""``driftwarden serve``: run the prediction API with uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from driftwarden.cli.commands.retrain import settings_file
from driftwarden.core import Settings
from driftwarden.serving.app import create_app

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "serve",
        help="serve predictions over HTTP",
        description="Serve the registry's champion (and challenger) at /v1/predict, log every "
        "prediction, accept labels at /v1/feedback; /docs shows the API.",
    )
    parser.add_argument("--host", help="interface to bind (default: serving.host)")
    parser.add_argument("--port", type=int, help="TCP port (default: serving.port)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the app and run it until interrupted."""
    app = create_app(settings, settings_file=settings_file(args))
    uvicorn.run(
        app,
        host=args.host or settings.serving.host,
        port=args.port or settings.serving.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0
