"""``driftwarden example``: write an example dataset to try driftwarden on, with optional drift."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from driftwarden.core import Settings
from driftwarden.core.errors import ConfigError
from driftwarden.data import (
    HOUSE_ID,
    HOUSE_SCENARIOS,
    HOUSE_TARGET,
    HOUSE_TIME,
    Scenario,
    compose,
    house_scenario,
    write_houses,
)

__all__ = ["add_parser", "run"]

# Listings with drift span one year; each scenario ramps in over a month.
_START = pd.Timestamp("2024-01-01", tz="UTC")
_PERIOD = pd.Timedelta(days=365)
_RAMP = pd.Timedelta(days=30)


def add_parser(verbs: Any) -> None:
    """Register the verb."""
    parser = verbs.add_parser(
        "example",
        help="write an example dataset (generated houses with prices) to try driftwarden on",
        description="Write generated houses with a known ground-truth price to a CSV file, "
        "ready for `driftwarden init --data FILE --target price --id house_id`, then `train` "
        "and `serve`. With --scenario the houses are listed over 2024 (a listed_at column) "
        "and drift switches on during the year: the i-th of k scenarios at (i + 1) / (k + 1) "
        "of it, ramped in over 30 days.",
    )
    parser.add_argument("dataset", choices=("houses",), help="the example to write")
    parser.add_argument("--rows", type=int, default=10_000, help="number of rows (10,000)")
    parser.add_argument("--seed", type=int, default=0, help="the file depends on it alone (0)")
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write (default: <dataset>.csv)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(HOUSE_SCENARIOS),
        help="drift to inject (repeat for several): "
        + "; ".join(
            f"{name}: {what}".replace("%", "%%") for name, what in sorted(HOUSE_SCENARIOS.items())
        ),
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(run=run, reads_settings=False)


def run(args: argparse.Namespace, settings: Settings | None) -> int:  # noqa: ARG001
    """Generate, write, and say what to run next."""
    out: Path = args.out if args.out is not None else Path(f"{args.dataset}.csv")
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it", key="out")
    names: list[str] = args.scenario or []
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"scenario {repeated[0]!r} is given twice; give it once", key="scenario")
    scenario = _scenario(names)
    frame = write_houses(
        out, args.rows, seed=args.seed, scenario=scenario, start=_START, period=_PERIOD
    )
    columns = ", ".join(map(str, frame.columns))
    print(
        f"wrote {out}: {len(frame):,} houses, {len(frame.columns)} columns ({columns}); target "
        f"{HOUSE_TARGET!r} (sale price, a regression target), entity id {HOUSE_ID!r}, seed "
        f"{args.seed}"
    )
    init = f"driftwarden init --data {shlex.quote(out.as_posix())} --target {HOUSE_TARGET}"
    init += f" --id {HOUSE_ID}"
    if scenario is not None:
        init += f" --time {HOUSE_TIME}"
        print(f"drift injected, by {HOUSE_TIME}:")
        for injection in scenario.injections:
            print(f"  {injection.kind}: {injection.description}")
    print("next:")
    for command in (init, "driftwarden train", "driftwarden serve"):
        print(f"  {command}")
    return 0


def _scenario(names: list[str]) -> Scenario | None:
    """The named scenarios, the i-th of k starting at (i + 1) / (k + 1) of the year."""
    built = []
    for i, name in enumerate(names):
        start = _START + _PERIOD * (i + 1) / (len(names) + 1)
        built.append(house_scenario(name, start=start, end=start + _RAMP))
    if not built:
        return None
    return built[0] if len(built) == 1 else compose(*built)
