"""Shared pieces of the drift benchmark: the synthetic data, timing and memory measurement.

Everything here runs in the benchmark's own interpreter (the project venv). The Evidently runner
lives in ``peers/evidently_runner.py`` and imports nothing from this module, because it runs in a
separate virtual environment with its own pandas.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical"]
Generator = Callable[[np.random.Generator, int, bool], np.ndarray]

PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")
MIB = 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One synthetic column: how to draw it, and the drift applied to current windows (if any)."""

    name: str
    kind: Kind
    shape: str
    generate: Generator
    drift: str | None = None


def _categorical(
    levels: list[str],
    shares: list[float],
    drifted_levels: list[str] | None = None,
    drifted_shares: list[float] | None = None,
) -> Generator:
    def draw(rng: np.random.Generator, n: int, drifted: bool) -> np.ndarray:
        names, p = (
            (drifted_levels or levels, drifted_shares)
            if drifted and drifted_shares is not None
            else (levels, shares)
        )
        probs = np.asarray(p, dtype=np.float64)
        codes = rng.choice(len(names), size=n, p=probs / probs.sum())
        return np.asarray(names, dtype=object)[codes]

    return draw


def _age(rng: np.random.Generator, n: int, drifted: bool) -> np.ndarray:
    return rng.normal(45.0 + (0.2 * 12.0 if drifted else 0.0), 12.0, n)


def _income(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.lognormal(10.5, 0.6, n)


def _wait_time(rng: np.random.Generator, n: int, drifted: bool) -> np.ndarray:
    return rng.exponential(5.0 * (1.10 if drifted else 1.0), n)


def _discount_ratio(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.uniform(0.0, 0.3, n)


def _session_minutes(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    second = rng.random(n) < 0.4
    return np.where(second, rng.normal(35.0, 6.0, n), rng.normal(10.0, 3.0, n))


def _daily_return(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.standard_t(3.0, n) * 0.01


def _support_calls(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.poisson(2.5, n).astype(np.int64)


def _tenure_months(rng: np.random.Generator, n: int, drifted: bool) -> np.ndarray:
    # Telco-like: many new customers, a flat middle, a bump of long-standing ones at 72.
    part = rng.random(n)
    new = rng.exponential(8.0, n)
    middle = rng.uniform(0.0, 72.0, n)
    loyal = 72.0 - rng.exponential(4.0, n)
    months = np.where(part < 0.35, new, np.where(part < 0.80, middle, loyal))
    if drifted:
        months = months - 3.0
    return np.clip(np.rint(months), 0, 72).astype(np.int64)


def _utilisation(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.beta(2.0, 5.0, n)


def _monthly_charges(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    values = 18.0 + rng.beta(1.5, 1.2, n) * 100.0
    values[rng.random(n) < 0.05] = np.nan
    return values


def _account_balance(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    zero = rng.random(n) < 0.4
    return np.where(zero, 0.0, rng.lognormal(7.0, 1.0, n))


def _sensor_temp(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.normal(1000.0, 0.5, n)


def _page_views(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return rng.negative_binomial(2, 0.15, n).astype(np.int64)


def _latency_ms(rng: np.random.Generator, n: int, _drifted: bool) -> np.ndarray:
    return (rng.pareto(2.5, n) + 1.0) * 20.0


_PLAN_TIERS = [f"tier_{i:02d}" for i in range(1, 11)]
_PLAN_SHARES = [1.0 / (i**1.1) for i in range(1, 11)]
_DEVICES = ["android", "ios", "web", "tablet", "desktop_app"]
_DEVICE_SHARES = [0.42, 0.36, 0.15, 0.05, 0.02]

FEATURES: tuple[Feature, ...] = (
    Feature("age", "numeric", "normal(45, 12)", _age, "mean +0.2 sd (45 -> 47.4)"),
    Feature("income", "numeric", "lognormal(10.5, 0.6)", _income),
    Feature("wait_time", "numeric", "exponential(scale 5)", _wait_time, "scale x1.10 (5 -> 5.5)"),
    Feature("discount_ratio", "numeric", "uniform(0, 0.3)", _discount_ratio),
    Feature("session_minutes", "numeric", "bimodal 60% N(10,3) + 40% N(35,6)", _session_minutes),
    Feature("daily_return", "numeric", "student-t(3) x 0.01, heavy tails", _daily_return),
    Feature("support_calls", "numeric", "poisson(2.5), int64", _support_calls),
    Feature(
        "tenure_months",
        "numeric",
        "integer 0..72, Telco-like mixture, int64",
        _tenure_months,
        "3 months shorter (clipped at 0)",
    ),
    Feature("utilisation", "numeric", "beta(2, 5)", _utilisation),
    Feature("monthly_charges", "numeric", "18 + 100 beta(1.5, 1.2), 5% NaN", _monthly_charges),
    Feature("account_balance", "numeric", "40% exact zeros + lognormal(7, 1)", _account_balance),
    Feature("sensor_temp", "numeric", "normal(1000, 0.5): large offset", _sensor_temp),
    Feature("page_views", "numeric", "negative binomial(2, 0.15), int64", _page_views),
    Feature("latency_ms", "numeric", "(pareto(2.5) + 1) x 20, heavy tail", _latency_ms),
    Feature(
        "contract",
        "categorical",
        "3 levels",
        _categorical(
            ["month-to-month", "one-year", "two-year"],
            [0.55, 0.24, 0.21],
            drifted_shares=[0.60, 0.21, 0.19],
        ),
        "month-to-month share +5 points (55% -> 60%)",
    ),
    Feature(
        "payment_method",
        "categorical",
        "4 levels",
        _categorical(
            ["electronic-check", "mailed-check", "bank-transfer", "credit-card"],
            [0.34, 0.23, 0.22, 0.21],
        ),
    ),
    Feature(
        "internet_service",
        "categorical",
        "3 levels",
        _categorical(["fiber", "dsl", "none"], [0.44, 0.34, 0.22]),
    ),
    Feature(
        "region",
        "categorical",
        "6 levels",
        _categorical(
            ["north", "south", "east", "west", "central", "islands"],
            [0.25, 0.20, 0.20, 0.15, 0.12, 0.08],
        ),
    ),
    Feature(
        "device",
        "categorical",
        "5 levels",
        _categorical(
            _DEVICES,
            _DEVICE_SHARES,
            drifted_levels=[*_DEVICES, "smart_tv"],
            drifted_shares=[*(s * 0.97 for s in _DEVICE_SHARES), 0.03],
        ),
        "new level 'smart_tv' at 3% (others scaled x0.97)",
    ),
    Feature(
        "plan_tier",
        "categorical",
        "10 levels, Zipf-like shares",
        _categorical(_PLAN_TIERS, _PLAN_SHARES),
    ),
)

KINDS: dict[str, Kind] = {f.name: f.kind for f in FEATURES}
NUMERIC: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "numeric")
CATEGORICAL: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "categorical")
DRIFTED: dict[str, str] = {f.name: f.drift for f in FEATURES if f.drift is not None}


def make_frame(n: int, seed: int, *, drifted: bool, string_dtype: str) -> pd.DataFrame:
    """Draw ``n`` rows of every feature; categorical columns are strings (never pre-encoded).

    ``string_dtype`` is ``"default"`` (whatever pandas infers for Python strings: ``str`` under
    pandas 3, ``object`` under pandas 2) or ``"object"``.
    """
    rng = np.random.default_rng([seed, n, int(drifted)])
    columns: dict[str, Any] = {}
    for feature in FEATURES:
        values = feature.generate(rng, n, drifted)
        if feature.kind == "categorical":
            columns[feature.name] = (
                pd.Series(values, dtype=object) if string_dtype == "object" else pd.Series(values)
            )
        else:
            columns[feature.name] = values
    return pd.DataFrame(columns)


def frame_size(df: pd.DataFrame) -> dict[str, int]:
    """Bytes of a frame's columns as ``df.memory_usage(deep=True)`` counts them (no index)."""
    usage = df.memory_usage(deep=True, index=False)
    numeric = int(sum(usage[c] for c in df.columns if KINDS.get(c) == "numeric"))
    categorical = int(sum(usage[c] for c in df.columns if KINDS.get(c) == "categorical"))
    return {
        "total_bytes": numeric + categorical,
        "numeric_bytes": numeric,
        "string_bytes": categorical,
    }


# --------------------------------------------------------------------------------------------------
# Timing and memory
# --------------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (VmHWM) of this process (Linux >= 4.0)."""
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Timing:
    best_seconds: float
    all_seconds: list[float]
    rss_peak_delta_bytes: int | None
    result: Any


def time_best_of(
    fn: Callable[[], Any], repeats: int, *, min_seconds: float = 0.0, max_repeats: int = 200
) -> Timing:
    """Run ``fn`` at least ``repeats`` times; keep the fastest wall time and the largest RSS rise.

    Runs continue past ``repeats`` until the timed runs add up to ``min_seconds`` (at most
    ``max_repeats`` runs): a call of 30 ms is at the mercy of one scheduler hiccup, and the best
    of many such calls is as steady as the best of three calls of a second.

    The RSS rise is the process's resident-set high-water mark during the call (reset just before
    it) minus the resident set just before it. No tracing is active, so the timings are clean.
    """
    seconds: list[float] = []
    rss_deltas: list[int] = []
    result: Any = None
    while len(seconds) < repeats or (
        sum(seconds) < min_seconds and len(seconds) < max(max_repeats, repeats)
    ):
        result = None
        gc.collect()
        can_reset = reset_peak_rss()
        before = _status_kib("VmRSS")
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
        peak = _status_kib("VmHWM")
        if can_reset and before is not None and peak is not None:
            rss_deltas.append(max(0, peak - before) * 1024)
    return Timing(
        best_seconds=min(seconds),
        all_seconds=seconds,
        rss_peak_delta_bytes=max(rss_deltas) if rss_deltas else None,
        result=result,
    )


def traced_peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak of tracemalloc-traced memory above the level at the start of ``fn``.

    A separate, untimed run: tracing slows allocation-heavy code. NumPy reports its data buffers to
    tracemalloc, so arrays count; memory allocated by Arrow's own pool (pandas ``str`` columns) does
    not, which is why the RSS high-water figure is reported beside it.
    """
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return max(0, peak - baseline)


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def finite_or_none(value: Any) -> Any:
    """JSON cannot carry NaN or infinity: turn them into ``None`` (recursively)."""
    if isinstance(value, Mapping):
        return {str(k): finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def mib(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / MIB


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is not positive."""
    return None if a is None or b is None or b <= 0 else a / b


def fmt(value: float | None, spec: str, missing: str = "-") -> str:
    """``format(value, spec)``, or ``missing`` for None."""
    return missing if value is None else format(value, spec)


def say(message: str, stream: TextIO | None = None) -> None:
    """Print a progress line, on ``stream`` (default: standard output)."""
    print(message, file=stream or sys.stdout, flush=True)


def step(message: str, stream: TextIO | None = None) -> float:
    """Print a progress line; return the start time for :func:`done`."""
    say(f"-> {message}", stream)
    return time.perf_counter()


def done(start: float, extra: str = "", stream: TextIO | None = None) -> None:
    """Print how long the step that began at ``start`` took."""
    say(f"   done in {time.perf_counter() - start:.1f} s{extra}", stream)


def positive_ints(flag: str, example: str) -> Callable[[str], list[int]]:
    """An argparse ``type`` for a comma-separated list of positive integers, sorted, unique."""

    def parse(text: str) -> list[int]:
        try:
            values = sorted(
                {int(part.replace("_", "")) for part in text.split(",") if part.strip()}
            )
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{flag} takes integers such as {example}: {exc}"
            ) from exc
        if not values or values[0] <= 0:
            raise argparse.ArgumentTypeError(f"{flag} needs positive integers, such as {example}")
        return values

    return parse


def cpu_model() -> str | None:
    """The processor's name, from /proc/cpuinfo where there is one."""
    try:
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or None


def write_results(output: Path, results: dict[str, Any], started: float) -> None:
    """Add the run's total time to ``results`` and write them to ``output`` as JSON."""
    results["total_seconds"] = time.perf_counter() - started
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(finite_or_none(results), indent=2, sort_keys=True, default=str) + "\n"
    )
    print(f"\nwrote {output} ({results['total_seconds']:.0f} s in all)")


def print_targets(targets: list[dict[str, Any]]) -> None:
    """Print each target's PASS/FAIL/SKIP line."""
    print("\nTargets:")
    for target in targets:
        print(
            f"  {target['status']:<4}  {target['name']} (target {target['target']}): "
            f"{target['detail']}"
        )
