"""``driftwarden demo``: the whole loop, live, on one machine, in accelerated time.

It writes a settings file for the demo under ``<home>/demo/`` (its own store, registry and
Prefect home; a monitor every 20 seconds over the last 5 minutes; an A/B test that may decide
after 2 minutes), trains the first champion on the configured data (the bundled Telco data by
default) unless the demo has one, starts ``driftwarden serve`` and ``driftwarden dashboard`` with
it, and sends live traffic with a drift scenario that starts after ``--drift-after``. It prints
where to look and what to watch for, and on Ctrl-C (or after ``--duration``) stops the traffic,
the dashboard and the server cleanly and prints what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from driftwarden.cli.commands.simulate import duration
from driftwarden.core import ConfigError, Settings, load_settings

__all__ = ["add_parser", "demo_settings", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    from driftwarden.simulation import SCENARIOS

    parser = verbs.add_parser(
        "demo",
        help="train, serve and send live drifting traffic: the whole loop in a few minutes",
        description="Everything on the embedded defaults (SQLite, a local MLflow store, "
        "Prefect in process), under <home>/demo. Stop it with Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8000, help="the API's port (8000)")
    parser.add_argument(
        "--dashboard-port", type=int, default=8501, help="the live dashboard's port (8501)"
    )
    parser.add_argument(
        "--no-dashboard", action="store_true", help="serve and send traffic without a dashboard"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="predictions a second (20)")
    parser.add_argument(
        "--scenario", choices=sorted(SCENARIOS), default="concept", help="default concept"
    )
    parser.add_argument("--drift-after", type=duration, default=timedelta(minutes=2))
    parser.add_argument("--label-delay", type=duration, default=timedelta(seconds=15))
    parser.add_argument(
        "--duration", type=duration, default=None, help="stop by itself after this long"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def demo_settings(settings: Settings, folder: Path, port: int) -> dict[str, Any]:
    """The demo's settings file: the user's data and schema, accelerated time, own state."""
    admin = secrets.token_hex(12)
    config: dict[str, Any] = {
        "home": str(folder),
        "log_level": "WARNING",
        "serving": {"host": "127.0.0.1", "port": port, "admin_api_key": admin},
        "monitor": {
            "window": "PT5M",
            "interval": "PT20S",
            "retry_after": "PT10S",
            "min_samples": 100,
            "min_labelled": 100,
        },
        "alerts": {"repeat_after": "PT10M"},
        "retraining": {
            "cooldown": "PT2M",
            "lookback": "PT1H",
            "min_new_rows": 500,
            "policy": {"drift_runs": 2},
        },
        "ab_test": {
            "share": 0.5,
            "min_labelled": 150,
            "min_duration": "PT2M",
            "max_duration": "PT20M",
        },
    }
    if settings.training.data is not None:
        config["training"] = {"data": str(Path(settings.training.data).resolve())}
    if settings.feature_schema:
        config["schema"] = settings.feature_schema
    return config


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ConfigError(
                f"the API stopped while starting (exit {server.returncode}); its log: {log}\n"
                + log.read_text("utf-8", errors="replace")[-2000:]
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        time.sleep(0.3)
    raise ConfigError(f"the API did not answer {url}/ready within {timeout:.0f} s; see {log}")


def _start_dashboard(
    command: list[str], env: dict[str, str], port: int, folder: Path
) -> subprocess.Popen[bytes]:
    log = folder / "dashboard.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "dashboard", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # uvicorn shuts down, flushing every logged row
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _report(url: str, admin: str) -> str:
    from driftwarden.client import DriftwardenClient

    with DriftwardenClient(url, admin_key=admin) as client:
        alerts = client.alerts(limit=1000)
        runs = client.retraining_runs(limit=1000)
        tests = client.ab_tests(limit=1000)
        history = client.model_history()
    moves = [e for e in history if e["action"] == "promote" and e["actor"] != "train"]
    return (
        f"alerts: {len(alerts)} ({sum(a['severity'] == 'critical' for a in alerts)} critical); "
        f"retraining runs: {sum(r['status'] != 'skipped' for r in runs)} "
        f"({sum(r['status'] == 'succeeded' for r in runs)} succeeded); A/B tests: {len(tests)}; "
        f"promotions: {len(moves)}"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Set up, serve, send traffic, and stop everything cleanly."""
    folder = (settings.home / "demo").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "demo.toml"
    if config_path.exists():
        # Run again: the same state and key, on the port asked for now.
        config = tomllib.loads(config_path.read_text("utf-8"))
        config["serving"] = {**config.get("serving", {}), "port": args.port}
    else:
        config = demo_settings(settings, folder, args.port)
    config_path.write_text(tomli_w.dumps(_plain(config)), "utf-8")
    demo = load_settings(config_path)
    admin_key = demo.serving.admin_api_key
    assert admin_key is not None
    command = [sys.executable, "-m", "driftwarden", "--config", str(config_path)]
    # The demo's file carries every setting it needs (the data and schema included); settings
    # from the environment would beat it, and the demo would share the real state.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env["PYTHONUNBUFFERED"] = "1"
    from driftwarden.registry import ModelRegistry

    if ModelRegistry(demo.registry, home=demo.home).alias_version("champion") is None:
        print("training the first champion (about a minute the first time)...", flush=True)
        subprocess.run([*command, "train"], env=env, check=True)
    url = f"http://127.0.0.1:{args.port}"
    log = folder / "serve.log"
    with log.open("ab") as out:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(args.port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    dashboard = None
    try:
        _wait_ready(url, server, log, timeout=120)
        if not args.no_dashboard:
            dashboard = _start_dashboard(command, env, args.dashboard_port, folder)
        print(_banner(url, config_path, args, admin_key.get_secret_value()), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_traffic(args, demo, url))
        print("\nstopping the traffic and the API...", flush=True)
        print(_report(url, admin_key.get_secret_value()), flush=True)
    finally:
        if dashboard is not None:
            _stop(dashboard)
        _stop(server)
    print(f"stopped. The demo's state is in {folder}; run it again to continue.")
    return 0


def _plain(value: Any) -> Any:
    """Drop the None values TOML cannot hold."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _banner(url: str, config: Path, args: argparse.Namespace, admin_key: str) -> str:
    cli = f"driftwarden --config {config}"
    if args.no_dashboard:
        dashboard = f"  live dashboard:     off (--no-dashboard); {cli} dashboard starts it"
    else:
        dashboard = (
            f"  live dashboard:     http://127.0.0.1:{args.dashboard_port}\n"
            f"  its admin key:      {admin_key} (for promote, roll back, retrain, acknowledge)"
        )
    return f"""
driftwarden demo is running
{dashboard}
  API and its docs:   {url}/docs
  Prometheus metrics: {url}/metrics
  monitor runs:       {url}/v1/monitoring/runs
  alerts:             {url}/v1/alerts
  retraining runs:    {url}/v1/retraining/runs
  A/B tests:          {url}/v1/ab-tests
  champion history:   {url}/v1/models/history

What to watch for: traffic at {args.rate:g} predictions a second, labels {args.label_delay}
after each prediction. After {args.drift_after} the '{args.scenario}' drift starts. Within a
monitor run or two the alerts open; when the champion's realised performance falls (or its
drift stays critical) a retraining starts, its candidate becomes the challenger of an A/B test
on half the customers, and after two minutes with enough labels the policy promotes or rejects
it. All of it shows on the dashboard; from another terminal:
  {cli} alerts list | retrain runs | ab-tests list | models history
Stop with Ctrl-C.
"""


async def _traffic(args: argparse.Namespace, demo: Settings, url: str) -> None:
    from driftwarden.client import AsyncDriftwardenClient
    from driftwarden.data import RowGenerator
    from driftwarden.simulation.scenarios import build_scenarios
    from driftwarden.simulation.simulate import base_data
    from driftwarden.simulation.traffic import TrafficOptions, TrafficStats, run_traffic

    frame, schema = base_data(demo)
    assert schema.target is not None
    generator = RowGenerator.fit(
        frame, target=schema.target, entity_id=schema.entity_id, seed=args.seed,
        positive=schema.positive_label,
    )  # fmt: skip
    scenario = build_scenarios(
        [args.scenario], generator, frame, start=datetime.now(UTC), length=args.drift_after * 2
    )
    options = TrafficOptions(
        rate=args.rate,
        duration=args.duration or timedelta(days=365),
        label_delay=args.label_delay,
        seed=args.seed,
    )

    def progress(stats: TrafficStats) -> None:
        print(f"\r{stats.line()}", end="", file=sys.stderr, flush=True)

    async with AsyncDriftwardenClient(url) as client:
        await run_traffic(client, generator, schema, scenario, options, progress=progress)
