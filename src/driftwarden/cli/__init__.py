"""The ``driftwarden`` command line."""

from driftwarden.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
