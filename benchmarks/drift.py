"""Drift benchmark: driftwarden against Evidently's DataDriftPreset and a naive scipy loop.

Run from the repository root::

    .venv/bin/python benchmarks/drift.py                 # 100k, 1M and 5M-row windows
    .venv/bin/python benchmarks/drift.py --sizes 100000,1000000 --no-evidently
    make bench BENCH_ARGS="--sizes 100000,1000000"

All three tools get the same pandas DataFrames (20 features, categorical columns as strings) and
produce a full drift verdict for every feature. Results go to stdout and to
``benchmarks/results/drift.json``. Targets are reported as PASS/FAIL lines; a missed target never
makes the command fail, only a real error does. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

from _common import (
    CATEGORICAL,
    DRIFTED,
    FEATURES,
    KINDS,
    NUMERIC,
    Timing,
    cpu_model,
    done,
    finite_or_none,
    fmt,
    frame_size,
    make_frame,
    mib,
    positive_ints,
    ratio,
    step,
    time_best_of,
    traced_peak_bytes,
)
from peers import evidently_peer, naive

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "drift.json"
EVIDENTLY_VENV = BENCH_DIR / ".venvs" / "evidently"

REFERENCE_ROWS = 100_000
DEFAULT_SIZES = (100_000, 1_000_000, 5_000_000)
EVIDENTLY_MAX_ROWS = 1_000_000
WASSERSTEIN_SUBSAMPLE = 200_000
SEED = 20_240_601
# Used by the naive loop when driftwarden does not expose its own PSI epsilon.
FALLBACK_PSI_EPSILON = 1e-4

TARGET_ROWS = 1_000_000
TARGET_VS_EVIDENTLY = 50.0
TARGET_VS_NAIVE = 3.0
TARGET_FLATNESS = 1.5
TARGET_MEMORY_RATIO = 2.0
KS_ABS_TOLERANCE = 1e-3
BOUND_SLACK = 1e-12  # float rounding allowed on top of a reported error bound


# --------------------------------------------------------------------------------------------------
# driftwarden adapter
# --------------------------------------------------------------------------------------------------


def import_driftwarden() -> Any:
    """``driftwarden.stats``, from the installed package or else from ``src/``."""
    if importlib.util.find_spec("driftwarden") is None:
        sys.path.insert(0, str(REPO / "src"))
    return importlib.import_module("driftwarden.stats")


def driftwarden_psi_epsilon(stats_module: Any) -> tuple[float, str]:
    """The epsilon driftwarden floors PSI shares with, so the naive loop can use the same one."""
    value = getattr(stats_module, "DEFAULT_EPS", None)
    if isinstance(value, float):
        return value, "driftwarden.stats.DEFAULT_EPS"
    return FALLBACK_PSI_EPSILON, "benchmark fallback (driftwarden.stats has no DEFAULT_EPS)"


def single_thread_config(stats_module: Any) -> Any:
    """``DriftConfig(n_jobs=1)``: driftwarden with one thread, for a like-for-like figure."""
    config_cls = getattr(stats_module, "DriftConfig", None)
    return None if config_cls is None else config_cls(n_jobs=1)


def _result_by_method(feature: Any) -> dict[str, Any]:
    return {str(r.method): r for r in getattr(feature, "results", ())}


def summarise_report(report: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, feature in report.features.items():
        results = {
            method: {
                "statistic": getattr(r, "statistic", None),
                "p_value": getattr(r, "p_value", None),
                "error_bound": getattr(r, "error_bound", None),
            }
            for method, r in _result_by_method(feature).items()
        }
        out[str(name)] = {
            "severity": str(feature.severity),
            "method": str(getattr(feature, "method", "")),
            "statistic": getattr(feature, "statistic", None),
            "p_value": getattr(feature, "p_value", None),
            "results": results,
        }
    return out


def method_value(report: Any, feature: str, method: str, field: str = "statistic") -> Any:
    result = _result_by_method(report.features[feature]).get(method)
    return None if result is None else getattr(result, field, None)


# --------------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------------


def subsample(window: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(window) <= rows:
        return window
    rng = np.random.default_rng([seed, len(window), 7])
    index = np.sort(rng.choice(len(window), size=rows, replace=False))
    return window.iloc[index].reset_index(drop=True)


def accuracy(
    report: Any,
    naive_result: Mapping[str, Mapping[str, Any]],
    sub_report: Any,
    reference: pd.DataFrame,
    window: pd.DataFrame,
    sub_window: pd.DataFrame,
    psi_epsilon: float,
) -> dict[str, dict[str, Any]]:
    """Per numeric feature: KS against ks_2samp (full data), PSI against the naive decile PSI and
    against the same deciles with driftwarden's quantile and tie rules, normalised Wasserstein
    against scipy on a subsample."""
    out: dict[str, dict[str, Any]] = {}
    for name in NUMERIC:
        exact_ks = naive_result[name]["ks"]
        dw_ks = method_value(report, name, "ks")
        bound = method_value(report, name, "ks", "error_bound")
        ks_diff = None if dw_ks is None else abs(float(dw_ks) - exact_ks)
        allowed = (0.0 if bound is None else float(bound)) + BOUND_SLACK
        dw_psi = method_value(report, name, "psi")
        psi_diff = None if dw_psi is None else abs(float(dw_psi) - naive_result[name]["psi"])
        same_rule = naive.numeric_psi_same_rule(
            reference[name].to_numpy(dtype=np.float64),
            window[name].to_numpy(dtype=np.float64),
            psi_epsilon,
        )
        same_rule_diff = None if dw_psi is None else abs(float(dw_psi) - same_rule)
        scipy_w = naive.normalised_wasserstein(
            reference[name].to_numpy(dtype=np.float64), sub_window[name].to_numpy(dtype=np.float64)
        )
        dw_w = method_value(sub_report, name, "wasserstein")
        w_abs = None if dw_w is None else abs(float(dw_w) - scipy_w)
        w_rel = None if w_abs is None else w_abs / max(abs(scipy_w), sys.float_info.epsilon)
        out[name] = {
            "ks_driftwarden": dw_ks,
            "ks_scipy_exact": exact_ks,
            "ks_abs_diff": ks_diff,
            "ks_error_bound": bound,
            "ks_within_error_bound": None if ks_diff is None else ks_diff <= allowed,
            "ks_within_1e-3": None if ks_diff is None else ks_diff <= KS_ABS_TOLERANCE,
            "psi_driftwarden": dw_psi,
            "psi_naive_deciles": naive_result[name]["psi"],
            "psi_abs_diff": psi_diff,
            "psi_same_rule": same_rule,
            "psi_same_rule_abs_diff": same_rule_diff,
            "wasserstein_driftwarden_subsample": dw_w,
            "wasserstein_scipy_subsample": scipy_w,
            "wasserstein_abs_diff": w_abs,
            "wasserstein_rel_error": w_rel,
        }
    return out


# --------------------------------------------------------------------------------------------------
# Reporting helpers
# --------------------------------------------------------------------------------------------------


def verdict_summary(flagged_names: Sequence[str]) -> dict[str, Any]:
    truth = set(DRIFTED)
    got = set(flagged_names)
    return {
        "flagged": sorted(got),
        "missed_drifted": sorted(truth - got),
        "flagged_without_drift": sorted(got - truth),
    }


def fmt_rows(n: int) -> str:
    return f"{n:,}"


def fmt_x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def machine_info(evidently_version: str | None) -> dict[str, Any]:
    try:
        total_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory_gib: float | None = total_kib / 1024 / 1024
    except (OSError, StopIteration):
        memory_gib = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "evidently": evidently_version,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="driftwarden vs Evidently DataDriftPreset vs a naive scipy loop",
    )
    parser.add_argument(
        "--sizes",
        type=positive_ints("--sizes", "100000,1000000"),
        default=list(DEFAULT_SIZES),
        help="comma-separated current-window row counts (default 100000,1000000,5000000)",
    )
    parser.add_argument("--reference-rows", type=int, default=REFERENCE_ROWS)
    parser.add_argument(
        "--repeats", type=int, default=3, help="least timed runs per tool (best kept)"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=2.0,
        help="keep timing driftwarden and the naive loop until their runs add up to this",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--no-evidently", action="store_true", help="skip Evidently (and its venv) entirely"
    )
    parser.add_argument(
        "--evidently-all-sizes",
        action="store_true",
        help=f"also run Evidently above {EVIDENTLY_MAX_ROWS:,} rows (minutes, several GB)",
    )
    parser.add_argument(
        "--string-dtype",
        choices=["default", "object"],
        default="default",
        help="dtype of categorical columns: pandas' default for strings (str under pandas 3) "
        "or object",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def _tool_entry(timing: Timing, traced: int, rows: int, window_bytes: int) -> dict[str, Any]:
    return {
        "seconds": timing.best_seconds,
        "all_seconds": timing.all_seconds,
        "rows_per_second": rows / timing.best_seconds,
        "seconds_per_row": timing.best_seconds / rows,
        "traced_peak_bytes": traced,
        "traced_peak_over_window": traced / window_bytes,
        "rss_peak_delta_bytes": timing.rss_peak_delta_bytes,
        "rss_peak_over_window": ratio(timing.rss_peak_delta_bytes, window_bytes),
    }


def bench_driftwarden(
    profile: Any,
    window: pd.DataFrame,
    repeats: int,
    one_thread: Any,
    window_bytes: int,
    min_seconds: float,
) -> tuple[dict[str, Any], Any]:
    t = step(f"driftwarden: profile.compare x{repeats}+ + 1 traced run (+ x{repeats}+ on 1 thread)")
    timing = time_best_of(lambda: profile.compare(window), repeats, min_seconds=min_seconds)
    report = timing.result
    traced = traced_peak_bytes(lambda: profile.compare(window))
    single = (
        None
        if one_thread is None
        else time_best_of(
            lambda: profile.compare(window, config=one_thread), repeats, min_seconds=min_seconds
        )
    )
    done(t, f": best {timing.best_seconds:.3f} s")
    summary = summarise_report(report)
    try:
        report_dict = json.loads(json.dumps(report.to_dict(), default=str))
    except (AttributeError, TypeError, ValueError) as exc:
        report_dict = {"error": f"to_dict failed: {exc}"}
    entry = _tool_entry(timing, traced, len(window), window_bytes)
    entry.update(
        {
            "single_thread_seconds": None if single is None else single.best_seconds,
            "single_thread_all_seconds": None if single is None else single.all_seconds,
            "features": summary,
            "report": report_dict,
            "verdict": verdict_summary(
                [n for n, f in summary.items() if f["severity"] in {"warning", "critical"}]
            ),
        }
    )
    return entry, report


def bench_naive(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    repeats: int,
    epsilon: float,
    window_bytes: int,
    min_seconds: float,
) -> dict[str, Any]:
    t = step(f"naive scipy loop x{repeats}+ + 1 traced run")
    timing = time_best_of(
        lambda: naive.naive_drift(reference, window, KINDS, epsilon),
        repeats,
        min_seconds=min_seconds,
    )
    traced = traced_peak_bytes(lambda: naive.naive_drift(reference, window, KINDS, epsilon))
    done(t, f": best {timing.best_seconds:.3f} s")
    entry = _tool_entry(timing, traced, len(window), window_bytes)
    entry.update(
        {
            "features": timing.result,
            "verdict": verdict_summary(
                [n for n, f in timing.result.items() if f["severity"] != "ok"]
            ),
        }
    )
    return entry


def bench_evidently(
    python: Path,
    reference_parquet: Path,
    window: pd.DataFrame,
    tmp_dir: Path,
    window_bytes: int,
) -> dict[str, Any]:
    """One Evidently run (raises EvidentlyError or OSError on failure)."""
    t = step("Evidently DataDriftPreset: writing parquet, 1 run in its venv")
    current_parquet = tmp_dir / f"current-{len(window)}.parquet"
    window.to_parquet(current_parquet)
    try:
        result = evidently_peer.run_evidently(
            python, reference_parquet, current_parquet, NUMERIC, CATEGORICAL
        )
    finally:
        current_parquet.unlink(missing_ok=True)
    done(
        t,
        f": run {result['seconds']:.2f} s (not timed: import {result['import_seconds']:.1f} s, "
        f"parquet read {result['read_seconds']:.1f} s)",
    )
    return {
        **result,
        "rows_per_second": len(window) / result["seconds"],
        "rss_peak_over_window": ratio(result.get("rss_peak_delta_bytes"), window_bytes),
        "verdict": verdict_summary(
            [n for n, c in result["columns"].items() if c["drift_detected"]]
        ),
    }


def run(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    print("driftwarden drift benchmark")
    print(f"  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    print(
        f"  python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, pandas {pd.__version__}, {os.cpu_count()} CPUs"
    )

    stats_module = import_driftwarden()
    psi_epsilon, epsilon_source = driftwarden_psi_epsilon(stats_module)
    one_thread = single_thread_config(stats_module)
    print(f"  PSI epsilon for the naive loop: {psi_epsilon:g} ({epsilon_source})")

    t = step(f"generating the reference: {fmt_rows(args.reference_rows)} rows x {len(FEATURES)}")
    reference = make_frame(
        args.reference_rows, args.seed, drifted=False, string_dtype=args.string_dtype
    )
    string_dtype_seen = str(reference[CATEGORICAL[0]].dtype)
    done(t, f" (categorical dtype: {string_dtype_seen})")

    evidently_python: Path | None = None
    if not args.no_evidently:
        t = step("Evidently venv (benchmarks/.venvs/evidently)")
        try:
            evidently_python = evidently_peer.ensure_venv(EVIDENTLY_VENV)
        except (evidently_peer.EvidentlyError, OSError, subprocess.SubprocessError) as exc:
            errors.append(f"Evidently setup failed: {exc}")
            print(f"   ERROR: {exc}\n   (use --no-evidently to run without it)", flush=True)
        else:
            done(t)

    t = step("driftwarden: ReferenceProfile.fit on the reference (once, not part of the timing)")
    start = time.perf_counter()
    profile = stats_module.ReferenceProfile.fit(reference, dict(KINDS))
    fit_seconds = time.perf_counter() - start
    done(t)

    windows: list[dict[str, Any]] = []
    evidently_version: str | None = None
    with tempfile.TemporaryDirectory(prefix="driftwarden-bench-") as tmp:
        tmp_dir = Path(tmp)
        reference_parquet: Path | None = None
        for size in args.sizes:
            print(f"\n=== current window: {fmt_rows(size)} rows ===", flush=True)
            t = step(f"generating {fmt_rows(size)} rows (drift in {len(DRIFTED)} features)")
            window = make_frame(size, args.seed, drifted=True, string_dtype=args.string_dtype)
            window_bytes = frame_size(window)
            total_bytes = window_bytes["total_bytes"]
            done(t, f" ({mib(total_bytes):.0f} MiB of columns)")
            entry: dict[str, Any] = {"rows": size, "window_bytes": window_bytes}

            entry["driftwarden"], dw_report = bench_driftwarden(
                profile, window, args.repeats, one_thread, total_bytes, args.min_seconds
            )
            entry["naive"] = bench_naive(
                reference, window, args.repeats, psi_epsilon, total_bytes, args.min_seconds
            )

            if evidently_python is None:
                entry["evidently"] = {
                    "skipped": "--no-evidently" if args.no_evidently else "setup failed"
                }
            elif size > EVIDENTLY_MAX_ROWS and not args.evidently_all_sizes:
                note = (
                    f"skipped above {EVIDENTLY_MAX_ROWS:,} rows (minutes and many GB); "
                    "--evidently-all-sizes runs it"
                )
                print(f"-> Evidently: {note}", flush=True)
                entry["evidently"] = {"skipped": note}
            else:
                try:
                    if reference_parquet is None:
                        reference_parquet = tmp_dir / "reference.parquet"
                        reference.to_parquet(reference_parquet)
                    entry["evidently"] = bench_evidently(
                        evidently_python, reference_parquet, window, tmp_dir, total_bytes
                    )
                    evidently_version = entry["evidently"].get("evidently_version")
                except (evidently_peer.EvidentlyError, OSError) as exc:
                    errors.append(f"Evidently at {size} rows: {exc}")
                    print(f"   ERROR: {exc}", flush=True)
                    entry["evidently"] = {"error": str(exc)}

            dw_seconds = entry["driftwarden"]["seconds"]
            entry["ratios"] = {
                "evidently/driftwarden": ratio(entry["evidently"].get("seconds"), dw_seconds),
                "naive/driftwarden": ratio(entry["naive"]["seconds"], dw_seconds),
                "naive/driftwarden_1_thread": ratio(
                    entry["naive"]["seconds"], entry["driftwarden"]["single_thread_seconds"]
                ),
            }

            # Accuracy (untimed): the subsample run of driftwarden is for Wasserstein only.
            t = step("accuracy: KS vs ks_2samp, PSI vs naive deciles, Wasserstein vs scipy")
            sub_window = subsample(window, WASSERSTEIN_SUBSAMPLE, args.seed)
            entry["accuracy"] = accuracy(
                dw_report,
                entry["naive"]["features"],
                profile.compare(sub_window),
                reference,
                window,
                sub_window,
                psi_epsilon,
            )
            entry["accuracy_subsample_rows"] = len(sub_window)
            done(t)

            windows.append(entry)
            del window, sub_window, dw_report
            gc.collect()

    results = {
        "benchmark": "drift",
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine_info(evidently_version),
        "config": {
            "sizes": args.sizes,
            "reference_rows": args.reference_rows,
            "repeats": args.repeats,
            "min_seconds": args.min_seconds,
            "seed": args.seed,
            "string_dtype_option": args.string_dtype,
            "categorical_dtype": string_dtype_seen,
            "evidently": "off" if args.no_evidently else "on",
            "evidently_max_rows": None if args.evidently_all_sizes else EVIDENTLY_MAX_ROWS,
            "evidently_requirements": list(evidently_peer.REQUIREMENTS),
            "psi_epsilon": psi_epsilon,
            "psi_epsilon_source": epsilon_source,
            "wasserstein_subsample_rows": WASSERSTEIN_SUBSAMPLE,
        },
        "measurement": MEASUREMENT,
        "data": {
            "features": [
                {"name": f.name, "kind": f.kind, "shape": f.shape, "drift": f.drift}
                for f in FEATURES
            ],
            "drifted": DRIFTED,
        },
        "profile_fit": {"seconds": fit_seconds, "reference_rows": args.reference_rows},
        "windows": windows,
    }
    results["flatness"] = flatness(windows)
    results["targets"] = targets(windows, results["flatness"])
    return results, errors


MEASUREMENT = {
    "seconds": "wall time (time.perf_counter) of the timed part only; best of at least --repeats "
    "runs, continued until the runs add up to --min-seconds (at most 200), for "
    "driftwarden (profile.compare(window)) and the naive loop; one run for Evidently (slow): "
    "Dataset.from_pandas for both frames + Report([DataDriftPreset()]).run, after a 1,000-row "
    "warm-up run, excluding import and parquet reading",
    "profile_fit": "ReferenceProfile.fit(reference, kinds), once, not in the compare timings",
    "traced_peak": "tracemalloc peak above the level at the start of one extra, untimed run "
    "(driftwarden and naive; numpy buffers are traced, Arrow's memory pool is not)",
    "rss_peak_delta": "rise of the resident-set high-water mark (VmHWM, reset via "
    "/proc/self/clear_refs before each run) over the resident set just before the run; the max "
    "over the timed runs for driftwarden and naive; the one run in Evidently's subprocess",
    "window_bytes": "df.memory_usage(deep=True, index=False).sum() of the current window: numpy "
    "nbytes for numeric columns, the string storage pandas reports for categorical ones",
    "ks_exact": "scipy.stats.ks_2samp on all non-missing values (the naive loop's statistic)",
    "psi": "naive: reference deciles via np.quantile (linear), duplicate edges merged, counts via "
    "np.histogram with current values clipped into the reference range, shares floored at the "
    "epsilon",
    "wasserstein": "scipy.stats.wasserstein_distance(ref, cur) / np.std(ref) against the "
    "driftwarden 'wasserstein' statistic, both on the same seeded subsample of the window "
    "(full reference)",
}


def flatness(windows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    per_row = {str(w["rows"]): w["driftwarden"]["seconds_per_row"] for w in windows}
    values = list(per_row.values())
    return {
        "driftwarden_seconds_per_row": per_row,
        "max_over_min": max(values) / min(values) if len(values) > 1 else None,
        "sizes": [w["rows"] for w in windows],
    }


def _target(name: str, value: float | None, goal: str, ok: bool | None, detail: str) -> dict:
    status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    return {"name": name, "status": status, "value": value, "target": goal, "detail": detail}


def targets(windows: Sequence[Mapping[str, Any]], flat: Mapping[str, Any]) -> list[dict]:
    out: list[dict] = []
    at_target = next((w for w in windows if w["rows"] == TARGET_ROWS), None)
    where = f"at {TARGET_ROWS:,} rows"
    if at_target is None:
        out.append(
            _target(
                f"{where}: vs Evidently",
                None,
                f">= {TARGET_VS_EVIDENTLY:g}x",
                None,
                f"no {TARGET_ROWS:,}-row window in --sizes",
            )
        )
        out.append(
            _target(
                f"{where}: vs naive loop",
                None,
                f">= {TARGET_VS_NAIVE:g}x",
                None,
                f"no {TARGET_ROWS:,}-row window in --sizes",
            )
        )
    else:
        ev = at_target["ratios"]["evidently/driftwarden"]
        out.append(
            _target(
                f"{where}: evidently/driftwarden time",
                ev,
                f">= {TARGET_VS_EVIDENTLY:g}x",
                None if ev is None else ev >= TARGET_VS_EVIDENTLY,
                "Evidently did not run" if ev is None else f"{ev:.1f}x",
            )
        )
        nv = at_target["ratios"]["naive/driftwarden"]
        out.append(
            _target(
                f"{where}: naive/driftwarden time",
                nv,
                f">= {TARGET_VS_NAIVE:g}x",
                nv >= TARGET_VS_NAIVE,
                f"{nv:.1f}x",
            )
        )
    spread = flat["max_over_min"]
    sizes = ", ".join(f"{s:,}" for s in flat["sizes"])
    out.append(
        _target(
            "driftwarden seconds per row, max/min across sizes",
            spread,
            f"<= {TARGET_FLATNESS:g}",
            None if spread is None else spread <= TARGET_FLATNESS,
            f"{spread:.2f} over {sizes}" if spread is not None else "needs two sizes",
        )
    )
    # tracemalloc does not see Arrow's memory pool (string columns), the resident-set rise
    # does: the larger of the two is the honest figure.
    mem = [
        (
            w["rows"],
            max(
                w["driftwarden"]["traced_peak_over_window"],
                w["driftwarden"].get("rss_peak_over_window") or 0.0,
            ),
        )
        for w in windows
    ]
    worst = max(mem, key=lambda m: m[1])
    out.append(
        _target(
            "driftwarden peak memory (larger of traced and RSS rise) / window column bytes "
            "(every size)",
            worst[1],
            f"< {TARGET_MEMORY_RATIO:g}",
            all(m[1] < TARGET_MEMORY_RATIO for m in mem),
            f"worst {worst[1]:.2f} at {worst[0]:,} rows",
        )
    )
    checks = [
        (w["rows"], name, a["ks_within_error_bound"])
        for w in windows
        for name, a in w["accuracy"].items()
    ]
    bad = [f"{name}@{rows:,}" for rows, name, ok in checks if not ok]
    out.append(
        _target(
            "driftwarden KS within its error_bound of exact ks_2samp (every feature, size)",
            float(len(checks) - len(bad)),
            f"{len(checks)}/{len(checks)}",
            not bad,
            f"{len(checks) - len(bad)}/{len(checks)} within"
            + (f"; outside: {', '.join(bad)}" if bad else ""),
        )
    )
    return out


# --------------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------------


def print_tables(results: Mapping[str, Any]) -> None:
    windows = results["windows"]
    config = results["config"]
    print("\n" + "=" * 100)
    print(
        f"Reference {config['reference_rows']:,} rows, {len(FEATURES)} features "
        f"({len(NUMERIC)} numeric, {len(CATEGORICAL)} categorical as {config['categorical_dtype']}"
        f" strings); drift in: {', '.join(DRIFTED)}"
    )
    print(f"driftwarden ReferenceProfile.fit: {results['profile_fit']['seconds']:.3f} s (once)")
    print(
        f"seconds: best of at least {config['repeats']} runs (until they add up to "
        f"{config['min_seconds']:g} s) for driftwarden and naive, 1 run for Evidently (slow). "
        "MB = MiB."
    )
    print(
        "peak traced = tracemalloc peak in a separate untimed run; peak RSS = rise of the "
        "resident-set high-water mark during the run;\nwindow MB = df.memory_usage(deep=True) "
        "of the window's columns (numpy nbytes + pandas' string storage)"
    )
    header = (
        f"{'rows':>10}  {'tool':<12} {'seconds':>9} {'rows/s':>12} {'peak traced MB':>15} "
        f"{'peak RSS MB':>12} {'window MB':>10} {'traced/window':>14} {'RSS/window':>11}"
    )
    print("\n" + header)
    print("-" * len(header))
    for w in windows:
        window_mb = mib(w["window_bytes"]["total_bytes"])
        for tool in ("driftwarden", "naive", "evidently"):
            entry = w[tool]
            if "seconds" not in entry:
                reason = entry.get("skipped") or entry.get("error", "")
                print(f"{w['rows']:>10,}  {tool:<12} {'skipped: ' + reason[:80]}")
                continue
            print(
                f"{w['rows']:>10,}  {tool:<12} {entry['seconds']:>9.3f} "
                f"{entry['rows_per_second']:>12,.0f} "
                f"{fmt(mib(entry.get('traced_peak_bytes')), '.1f'):>15} "
                f"{fmt(mib(entry.get('rss_peak_delta_bytes')), '.1f'):>12} {window_mb:>10.1f} "
                f"{fmt(entry.get('traced_peak_over_window'), '.2f'):>14} "
                f"{fmt(entry.get('rss_peak_over_window'), '.2f'):>11}"
            )
    header = (
        f"{'rows':>10}  {'driftwarden s':>13} {'naive s':>9} {'evidently s':>11} "
        f"{'evidently/driftwarden':>22} {'naive/driftwarden':>18} {'dw ns/row':>10} "
        f"{'dw 1-thread s':>14} {'naive/dw 1-thread':>18}"
    )
    print("\n" + header)
    print("-" * len(header))
    for w in windows:
        dw = w["driftwarden"]
        print(
            f"{w['rows']:>10,}  {dw['seconds']:>13.3f} {w['naive']['seconds']:>9.3f} "
            f"{fmt(w['evidently'].get('seconds'), '.2f', 'skipped'):>11} "
            f"{fmt_x(w['ratios']['evidently/driftwarden']):>22} "
            f"{fmt_x(w['ratios']['naive/driftwarden']):>18} "
            f"{dw['seconds_per_row'] * 1e9:>10.1f} "
            f"{fmt(dw.get('single_thread_seconds'), '.3f'):>14} "
            f"{fmt_x(w['ratios']['naive/driftwarden_1_thread']):>18}"
        )
    flat = results["flatness"]
    print(
        f"driftwarden seconds-per-row max/min across sizes: {fmt(flat['max_over_min'], '.2f')}"
        f" (compare uses {results['machine']['cpu_count']} threads by default; 1-thread column "
        "with DriftConfig(n_jobs=1))"
    )

    print(
        "\nVerdicts (flagged = warning/critical for driftwarden, PSI >= 0.1 for naive, "
        "drift_detected for Evidently):"
    )
    for w in windows:
        for tool in ("driftwarden", "naive", "evidently"):
            verdict = w[tool].get("verdict")
            if verdict is None:
                continue
            print(
                f"{w['rows']:>10,}  {tool:<12} flagged {len(verdict['flagged']):>2}; missed "
                f"{', '.join(verdict['missed_drifted']) or '-'}; flagged without drift: "
                f"{', '.join(verdict['flagged_without_drift']) or '-'}"
            )

    print(
        "\nAccuracy per numeric feature. KS: driftwarden vs scipy ks_2samp on the full data; "
        "PSI: vs the naive decile PSI (linear quantiles, [a, b) bins) and vs the same deciles with "
        "driftwarden's rules\n(inverted-CDF quantiles, (a, b] bins); W: normalised Wasserstein "
        "vs scipy (scipy's value W, absolute and relative error)\non a "
        f"{WASSERSTEIN_SUBSAMPLE:,}-row subsample of the window"
    )
    for w in windows:
        header = (
            f"{'rows ' + format(w['rows'], ','):<20} {'ks':>8} {'ks_2samp':>8} {'|dKS|':>8} "
            f"{'bound':>8} {'<=bound':>7} {'<=1e-3':>6} {'psi':>8} {'|dPSI|':>8} "
            f"{'|dPSI| same':>11} {'W':>7} {'|dW|':>8} {'W rel err':>9}"
        )
        print("\n" + header)
        print("-" * len(header))
        for name in NUMERIC:
            a = w["accuracy"][name]
            print(
                f"{name:<20} {fmt(a['ks_driftwarden'], '8.5f')} {a['ks_scipy_exact']:8.5f} "
                f"{fmt(a['ks_abs_diff'], '8.1e')} {fmt(a['ks_error_bound'], '8.1e')} "
                f"{yes_no(a['ks_within_error_bound']):>7} {yes_no(a['ks_within_1e-3']):>6} "
                f"{fmt(a['psi_driftwarden'], '8.5f')} {fmt(a['psi_abs_diff'], '8.1e')} "
                f"{fmt(a['psi_same_rule_abs_diff'], '11.1e')} "
                f"{a['wasserstein_scipy_subsample']:7.4f} {fmt(a['wasserstein_abs_diff'], '8.1e')} "
                f"{fmt(a['wasserstein_rel_error'], '9.1e')}"
            )

    print("\nTargets:")
    for target in results["targets"]:
        print(
            f"  {target['status']:<4}  {target['name']} (target {target['target']}): "
            f"{target['detail']}"
        )


def yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results, errors = run(args)
    print_tables(results)
    results["errors"] = errors
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(finite_or_none(results), indent=2, sort_keys=True, default=str) + "\n"
    )
    print(f"\nwrote {args.output}")
    if errors:
        print("errors:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
