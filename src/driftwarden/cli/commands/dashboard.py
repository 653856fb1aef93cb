"""``driftwarden dashboard``: run the live dashboard (Streamlit) against the API."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from driftwarden.cli.commands.retrain import settings_file
from driftwarden.core import Settings
from driftwarden.dashboard import APP, SETTINGS_FILE_ENV

__all__ = ["add_parser", "command", "environment", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "dashboard",
        help="run the live dashboard against the API",
        description="A Streamlit app that reads the API only (dashboard.api_url, by default "
        "this machine's serving.port) with serving.api_key; its actions ask for the admin key "
        "once per browser session. Stop it with Ctrl-C.",
    )
    parser.add_argument("--host", help="interface to bind (default: dashboard.host)")
    parser.add_argument("--port", type=int, help="TCP port (default: dashboard.port, 8501)")
    parser.add_argument("--api-url", help="the API to read (default: dashboard.api_url)")
    parser.set_defaults(run=run)


def command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line of the dashboard: headless, no usage statistics, no
    file watcher, nothing fetched from the network."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]  # fmt: skip


def environment(
    base: Mapping[str, str], config: os.PathLike[str] | None, api_url: str | None
) -> dict[str, str]:
    """The dashboard process's environment: ``base``, the settings file it must read, and an
    API URL given on the command line (which beats the file, as the environment always does)."""
    env = dict(base)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    if config is not None:
        env[SETTINGS_FILE_ENV] = os.fspath(config)
    if api_url:
        env["DRIFTWARDEN_DASHBOARD__API_URL"] = api_url
    return env


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Become Streamlit: this process is replaced, so a stop signal (Ctrl-C, SIGTERM from a
    supervisor) reaches the server itself and leaves nothing running behind."""
    host = args.host or settings.dashboard.host
    port = args.port or settings.dashboard.port
    api = args.api_url or settings.dashboard_api_url
    print(f"dashboard: http://{host}:{port} (reading the API at {api})", flush=True)
    env = environment(os.environ, settings_file(args), args.api_url)
    argv = command(host, port)
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover - execve does not return
