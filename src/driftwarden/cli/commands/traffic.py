"""``driftwarden traffic``: generated customers against a running API, with drift and labels."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from driftwarden.cli.commands.simulate import duration
from driftwarden.core import Settings

__all__ = ["add_parser", "run"]


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    from driftwarden.simulation import SCENARIOS

    parser = verbs.add_parser(
        "traffic",
        help="send generated traffic (with drift and delayed labels) to a running API",
        description="Customers drawn from the training data are sent to /v1/predict at a steady "
        "rate; their true labels follow to /v1/feedback after --label-delay. Drift scenarios "
        "switch on at --drift-after (the i-th of several at i times it). Stops by itself after "
        "--duration or --count, then sends the labels still owed.",
    )
    parser.add_argument("--url", default=None, help="the API (default: serving.host:port)")
    parser.add_argument("--rate", type=float, default=20.0, help="predictions a second (20)")
    parser.add_argument("--batch", type=int, default=1, help="rows per request (1)")
    parser.add_argument("--duration", type=duration, default=timedelta(minutes=10))
    parser.add_argument("--count", type=int, help="stop after this many predictions")
    parser.add_argument("--label-delay", type=duration, default=timedelta(seconds=30))
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="drift to inject"
    )
    parser.add_argument("--drift-after", type=duration, default=timedelta(minutes=2))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Fit the generator, then send traffic until done."""
    from driftwarden.client import AsyncDriftwardenClient
    from driftwarden.data import RowGenerator
    from driftwarden.simulation.scenarios import build_scenarios
    from driftwarden.simulation.simulate import base_data
    from driftwarden.simulation.traffic import TrafficOptions, TrafficStats, run_traffic

    frame, schema = base_data(settings)
    assert schema.target is not None
    generator = RowGenerator.fit(
        frame, target=schema.target, entity_id=schema.entity_id, seed=args.seed,
        positive=schema.positive_label,
    )  # fmt: skip
    names = args.scenario or ["none"]
    scenario = build_scenarios(
        names, generator, frame, start=datetime.now(UTC), length=args.drift_after * (len(names) + 1)
    )
    options = TrafficOptions(
        rate=args.rate,
        batch=args.batch,
        duration=args.duration,
        count=args.count,
        label_delay=args.label_delay,
        concurrency=args.concurrency,
        seed=args.seed,
    )
    url = args.url or f"http://{settings.serving.host}:{settings.serving.port}"
    key = settings.serving.api_key or settings.serving.admin_api_key

    def progress(stats: TrafficStats) -> None:
        print(f"\r{stats.line()}", end="", file=sys.stderr, flush=True)

    async def go() -> TrafficStats:
        async with AsyncDriftwardenClient(
            url, api_key=None if key is None else key.get_secret_value()
        ) as client:
            return await run_traffic(
                client, generator, schema, scenario, options, progress=progress
            )

    stats = asyncio.run(go())
    print(file=sys.stderr)
    print(stats.line())
    return 0 if stats.predictions else 1
