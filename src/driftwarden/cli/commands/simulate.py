"""``driftwarden simulate``: the whole system on a simulated clock, and its report.

A 30-day run at 2,000 predictions a day takes a few minutes: the real API, store, registry,
monitor, retraining flow and promotion policy run in this process while the clock jumps. The
report folder holds ``index.html`` (charts), PNG copies, ``summary.json`` and ``result.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from driftwarden.core import ConfigError, Settings

__all__ = ["add_parser", "duration", "run"]


def duration(text: str) -> timedelta:
    """``1d``, ``6h``, ``30m``, ``90s`` or an ISO 8601 duration (``PT6H``) as a timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    value = text.strip()
    if value and value[-1].lower() in units and value[:-1].replace(".", "", 1).isdigit():
        return timedelta(**{units[value[-1].lower()]: float(value[:-1])})
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(timedelta).validate_python(value)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 1d, 6h, 30m or PT6H, got {text!r}"
        ) from exc


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    from driftwarden.simulation import SCENARIOS

    parser = verbs.add_parser(
        "simulate",
        help="run the whole system in simulated time on generated traffic with drift",
        description="Generated customers arrive, are scored through the real API, their labels "
        "come back later, the monitor runs, alerts fire, retraining and A/B tests happen, all "
        "on a simulated clock. A frozen copy of the first champion scores the same traffic, so "
        "the report shows what retraining bought. Scenarios: "
        + "; ".join(f"{name}: {text}" for name, text in SCENARIOS.items()),
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="drift to inject (repeat for several in sequence; default: concept)",
    )
    parser.add_argument("--days", type=int, default=30, help="simulated days (default 30)")
    parser.add_argument("--rate", type=int, default=2000, help="predictions a day (2000)")
    parser.add_argument(
        "--label-delay", type=duration, default=timedelta(days=1), help="default 1d"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--monitor-every", type=duration, default=timedelta(hours=6), help="default 6h"
    )
    parser.add_argument(
        "--window", type=duration, default=timedelta(days=1), help="monitor window (1d)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="report folder (default .driftwarden/simulations/<time>/report)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Simulate, then write the report."""
    from driftwarden.simulation.report import write_report
    from driftwarden.simulation.simulate import SimulationOptions, simulate

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = (args.out.parent if args.out else settings.home / "simulations" / stamp).resolve()
    out = (args.out or folder / "report").resolve()
    options = SimulationOptions(
        scenarios=tuple(args.scenario or ["concept"]),
        days=args.days,
        rate=args.rate,
        label_delay=args.label_delay,
        seed=args.seed,
        monitor_every=args.monitor_every,
        window=args.window,
    )
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"\r[{time.perf_counter() - started:6.1f}s] {message}", end="", file=sys.stderr,
              flush=True)  # fmt: skip
        if not message.startswith("day "):
            print(file=sys.stderr)

    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; choose another --out", key="out")
    # The API, monitor and flow log every run at INFO: thousands of lines that would bury the
    # progress line. Warnings and errors still show; --config with log_level DEBUG shows all.
    loggers = [logging.getLogger(name) for name in ("driftwarden", "prefect", "mlflow")]
    previous = [logger.level for logger in loggers]
    if settings.log_level == "INFO":
        for logger in loggers:
            logger.setLevel(logging.WARNING)
    try:
        result = simulate(settings, options, folder / "state", progress=progress)
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)
    print(file=sys.stderr)
    index = write_report(result, out)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    print(json.dumps(summary.get("performance", {}), indent=2))
    print(f"report: {index}")
    return 0
