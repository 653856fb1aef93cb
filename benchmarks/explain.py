"""Explain benchmark: adversarial validation and explanation drift beside the per-feature verdicts.

Run from the repository root::

    .venv/bin/python benchmarks/explain.py                       # windows of 10k, 30k, 100k, 300k
    .venv/bin/python benchmarks/explain.py --sizes 100000 --repeats 1
    .venv/bin/python benchmarks/explain.py --json                 # the results as JSON on stdout
    make bench-explain BENCH_ARGS="--sizes 100000"

The data are the drift benchmark's 20 features (14 numeric, 6 categorical, as strings), with a
churn label drawn from a few of them. A model is trained once by ``driftwarden.training.train``
on the reference rows and its holdout attributions are profiled, outside the timings. For every
window size, three things are timed on the same window: ``adversarial_validation`` (against the
reference rows), ``explanation_drift`` (against the attribution profile, with the window's input
verdicts) and the engine's per-feature ``ReferenceProfile.compare``. Results go to stdout and to
``benchmarks/results/explain.json``; targets are PASS/FAIL lines, never enforced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from _common import (
    CATEGORICAL,
    DRIFTED,
    NUMERIC,
    cpu_model,
    done,
    finite_or_none,
    fmt,
    make_frame,
    mib,
    positive_ints,
    print_targets,
    step,
    time_best_of,
    traced_peak_bytes,
)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "explain.json"
DEFAULT_SIZES = (10_000, 30_000, 100_000, 300_000)
REFERENCE_ROWS = 100_000
HOLDOUT_ROWS = 10_000
SEED = 20_240_601
TARGET_ROWS = 100_000
TARGET_SECONDS = 5.0

if str(REPO / "src") not in sys.path:  # the installed package wins; src/ when it is absent
    sys.path.append(str(REPO / "src"))

from driftwarden.explain import (  # noqa: E402
    AdversarialParams,
    ExplanationDriftParams,
    adversarial_validation,
    attribution_profile,
    explanation_drift,
)
from driftwarden.explain.attributions import load_shap  # noqa: E402
from driftwarden.schema import infer_schema  # noqa: E402
from driftwarden.stats import DriftConfig  # noqa: E402
from driftwarden.training import train  # noqa: E402


def with_label(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A churn label drawn from a logistic model of a few features, one interaction included."""
    rng = np.random.default_rng([seed, len(frame)])
    monthly = frame["monthly_charges"].fillna(frame["monthly_charges"].median())
    logit = (
        -1.0
        + 0.04 * (frame["age"] - 45.0)
        - 0.03 * frame["tenure_months"]
        + 1.2 * (frame["contract"] == "month-to-month")
        + 0.8 * (frame["internet_service"] == "fiber") * (monthly > 70.0)
        + 0.15 * frame["support_calls"]
        - 0.5 * (frame["device"] == "desktop_app")
    )
    churn = rng.random(len(frame)) < 1.0 / (1.0 + np.exp(-logit.to_numpy(dtype=float)))
    return frame.assign(churn=np.where(churn, "Yes", "No"))


def machine_info() -> dict[str, Any]:
    shap = load_shap()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit_learn": sklearn.__version__,
        "shap": shap.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="adversarial validation and explanation drift beside per-feature verdicts"
    )
    parser.add_argument(
        "--sizes",
        type=positive_ints("--sizes", "10000,100000"),
        default=list(DEFAULT_SIZES),
        help="comma-separated window row counts (default 10000,30000,100000,300000)",
    )
    parser.add_argument("--reference-rows", type=int, default=REFERENCE_ROWS)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (best kept)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON instead of tables"
    )
    return parser.parse_args(argv)


def _entry(timing: Any, traced: int) -> dict[str, Any]:
    return {
        "seconds": timing.best_seconds,
        "all_seconds": timing.all_seconds,
        "peak_traced_bytes": traced,
        "peak_rss_delta_bytes": timing.rss_peak_delta_bytes,
    }


class Progress:
    """Progress lines on stdout, or none (``--json`` keeps stdout for the document)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def step(self, message: str) -> float:
        return time.perf_counter() if self.quiet else step(message)

    def done(self, start: float, extra: str = "") -> None:
        if not self.quiet:
            done(start, extra)


def run(args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    adversarial_params = AdversarialParams()
    drift_params = ExplanationDriftParams()
    started = progress.step("training the model on the reference rows (untimed)")
    reference = with_label(
        make_frame(args.reference_rows, args.seed, drifted=False, string_dtype="default"),
        args.seed,
    )
    schema = infer_schema(reference, target="churn")
    trained = train(reference, schema, seed=0)
    train_seconds = time.perf_counter() - started
    # A churn label: the metrics are a classifier's.
    holdout_auc = float(getattr(trained.metrics, "roc_auc", None) or math.nan)
    progress.done(started, f" (holdout AUC {holdout_auc:.3f})")

    started = progress.step(
        f"profiling the attributions of {HOLDOUT_ROWS:,} holdout rows (untimed)"
    )
    holdout = with_label(
        make_frame(HOLDOUT_ROWS, args.seed + 1, drifted=False, string_dtype="default"), args.seed
    )
    profile = attribution_profile(trained.model, holdout, schema, sample_size=2000)
    profile_seconds = time.perf_counter() - started
    progress.done(started, f" ({profile.explainer})")

    windows = []
    for size in args.sizes:
        started = progress.step(f"window of {size:,} rows")
        window = make_frame(size, args.seed + 2, drifted=True, string_dtype="default")
        config = DriftConfig()

        def per_feature(window: pd.DataFrame = window, config: DriftConfig = config) -> Any:
            return trained.profile.compare(window[schema.feature_names], config=config)

        def adversarial(window: pd.DataFrame = window) -> Any:
            return adversarial_validation(reference, window, schema, adversarial_params)

        inputs = per_feature()

        def explained(window: pd.DataFrame = window, inputs: Any = inputs) -> Any:
            return explanation_drift(
                profile, trained.model, window, schema, input_drift=inputs, params=drift_params
            )

        timings = {
            name: time_best_of(fn, args.repeats)
            for name, fn in (
                ("per_feature", per_feature),
                ("adversarial", adversarial),
                ("explanation", explained),
            )
        }
        traced = {
            name: traced_peak_bytes(fn)
            for name, fn in (
                ("per_feature", per_feature),
                ("adversarial", adversarial),
                ("explanation", explained),
            )
        }
        report = timings["per_feature"].result
        av = timings["adversarial"].result
        ed = timings["explanation"].result
        windows.append(
            {
                "rows": size,
                "load_average": load_average(),
                "per_feature": {
                    **_entry(timings["per_feature"], traced["per_feature"]),
                    "drifted_features": report.drifted_features,
                    "severity": report.severity.value,
                },
                "adversarial": {
                    **_entry(timings["adversarial"], traced["adversarial"]),
                    "result": av.to_dict(),
                },
                "explanation": {
                    **_entry(timings["explanation"], traced["explanation"]),
                    "influence_moved": ed.influence_moved,
                    "influence_moved_inputs_stable": ed.influence_moved_inputs_stable,
                    "result": ed.to_dict(),
                },
            }
        )
        progress.done(started)
    return {
        "machine": machine_info(),
        "config": {
            "sizes": list(args.sizes),
            "reference_rows": args.reference_rows,
            "holdout_rows": HOLDOUT_ROWS,
            "repeats": args.repeats,
            "seed": args.seed,
            "features": {"numeric": list(NUMERIC), "categorical": list(CATEGORICAL)},
            "drift_in_windows": DRIFTED,
            "adversarial_params": {
                k: getattr(adversarial_params, k) for k in adversarial_params.__slots__
            },
            "explanation_params": {
                "sample_size": drift_params.sample_size,
                "share_threshold": drift_params.share_threshold,
                "attribution_method": drift_params.config.numeric_method,
            },
            "per_feature_config": "DriftConfig() (every core)",
        },
        "model": {
            "train_seconds": train_seconds,
            "holdout_auc": holdout_auc,
            "n_iter": int(trained.model[-1].n_iter_),
            "profile_seconds": profile_seconds,
            "explainer": profile.explainer,
            "top_shares": dict(sorted(profile.shares.items(), key=lambda kv: -kv[1])[:6]),
        },
        "windows": windows,
    }


def scaling(windows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per method: the log-log slope of seconds against rows (1 = linear, 0 = flat)."""
    out: dict[str, Any] = {}
    if len(windows) < 2:
        return out
    rows = np.log([w["rows"] for w in windows])
    for method in ("per_feature", "adversarial", "explanation"):
        seconds = np.log([w[method]["seconds"] for w in windows])
        slope = float(np.polyfit(rows, seconds, 1)[0])
        first, last = windows[0][method]["seconds"], windows[-1][method]["seconds"]
        out[method] = {
            "log_log_slope": slope,
            "seconds_ratio_last_to_first": last / first,
            "rows_ratio_last_to_first": windows[-1]["rows"] / windows[0]["rows"],
        }
    return out


def targets(windows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    at = next((w for w in windows if w["rows"] == TARGET_ROWS), None)
    out = []
    for method, label in (
        ("adversarial", "adversarial validation"),
        ("explanation", "explanation drift"),
    ):
        if at is None:
            out.append(
                {"name": f"{label} at {TARGET_ROWS:,} rows", "target": f"< {TARGET_SECONDS} s",
                 "status": "SKIP", "detail": "size not run"}
            )  # fmt: skip
            continue
        seconds = at[method]["seconds"]
        out.append(
            {
                "name": f"{label} at {TARGET_ROWS:,} rows",
                "target": f"< {TARGET_SECONDS} s",
                "status": "PASS" if seconds < TARGET_SECONDS else "FAIL",
                "detail": f"{seconds:.2f} s",
            }
        )
    return out


def _peaks(entry: Mapping[str, Any]) -> str:
    traced = fmt(mib(entry["peak_traced_bytes"]), "6.1f")
    rss = fmt(mib(entry["peak_rss_delta_bytes"]), "6.1f")
    return f"{traced} / {rss}"


def print_tables(results: Mapping[str, Any]) -> None:
    model = results["model"]
    print(
        f"\nmodel: {model['n_iter']} trees, holdout AUC {model['holdout_auc']:.3f}, trained in "
        f"{model['train_seconds']:.1f} s; holdout attributions profiled in "
        f"{model['profile_seconds']:.1f} s ({model['explainer']})"
    )
    print(
        "\n   rows | per-feature s | adversarial s  peak MiB traced / RSS | "
        "explanation s  peak MiB traced / RSS | load avg"
    )
    for w in results["windows"]:
        pf, av, ed = w["per_feature"], w["adversarial"], w["explanation"]
        print(
            f"{w['rows']:>7,} | {pf['seconds']:>13.3f} | {av['seconds']:>13.2f}  {_peaks(av):>21} "
            f"| {ed['seconds']:>13.2f}  {_peaks(ed):>21} | {w['load_average']}"
        )
    print("\nverdicts per window:")
    for w in results["windows"]:
        av = w["adversarial"]["result"]
        drifted = ", ".join(w["per_feature"]["drifted_features"])
        print(
            f"{w['rows']:>7,}  per-feature drifted: {drifted}"
            f"\n         adversarial: AUC {av['auc']:.3f}, p {av['p_value']:.3g}, "
            f"{av['severity']}; top: {', '.join(av['top_features'][:3])}"
            f"\n         explanation: influence moved {w['explanation']['influence_moved']}; "
            f"inputs stable among them {w['explanation']['influence_moved_inputs_stable']}"
        )
    if results["scaling"]:
        print("\nscaling with window size (log-log slope of seconds on rows: 1 linear, 0 flat):")
        for method, s in results["scaling"].items():
            rows, seconds = s["rows_ratio_last_to_first"], s["seconds_ratio_last_to_first"]
            print(
                f"  {method:<12} slope {s['log_log_slope']:+.2f}; "
                f"x{rows:.0f} rows -> x{seconds:.2f} seconds"
            )
    print_targets(results["targets"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run(args, Progress(quiet=args.json))
    results["scaling"] = scaling(results["windows"])
    results["targets"] = targets(results["windows"])
    results["total_seconds"] = time.perf_counter() - started
    document = json.dumps(finite_or_none(results), indent=2, sort_keys=True, default=str)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(document + "\n")
    if args.json:
        print(document)
    else:
        print_tables(results)
        print(f"\nwrote {args.output} ({results['total_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
