"""Run Evidently's ``DataDriftPreset`` once on two parquet files and print one JSON line.

This script runs inside the benchmark's own Evidently virtual environment
(``benchmarks/.venvs/evidently``: Evidently 0.7.23 with pandas < 3), never in the project venv, and
imports nothing from the benchmark. Usage::

    python evidently_runner.py --reference ref.parquet --current cur.parquet \
        --numeric a,b --categorical c,d

Only ``Dataset.from_pandas`` (for both frames) and ``Report.run`` are timed: importing Evidently
and reading the parquet files are reported separately. A warm-up run on the first rows of both
frames comes first, so lazy imports inside Evidently are not charged to the timed run. Memory is the
rise of the process's resident-set high-water mark (``VmHWM``, reset through
``/proc/self/clear_refs`` just before the run) over the resident set just before the run.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time
from pathlib import Path

WARMUP_ROWS = 1000


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _split(text: str) -> list[str]:
    return [c for c in text.split(",") if c]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--current", required=True)
    parser.add_argument("--numeric", default="")
    parser.add_argument("--categorical", default="")
    args = parser.parse_args()
    numeric, categorical = _split(args.numeric), _split(args.categorical)

    os.environ.setdefault("DO_NOT_TRACK", "1")
    start = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report, __version__
    from evidently.presets import DataDriftPreset

    import_seconds = time.perf_counter() - start

    start = time.perf_counter()
    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    read_seconds = time.perf_counter() - start

    def run(ref: pd.DataFrame, cur: pd.DataFrame):
        definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        return Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur, data_definition=definition),
            reference_data=Dataset.from_pandas(ref, data_definition=definition),
        )

    start = time.perf_counter()
    run(reference.head(WARMUP_ROWS), current.head(WARMUP_ROWS))
    warmup_seconds = time.perf_counter() - start

    gc.collect()
    can_reset = _reset_peak_rss()
    rss_before = _status_kib("VmRSS")
    start = time.perf_counter()
    snapshot = run(reference, current)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    rss_delta = (
        max(0, peak - rss_before) * 1024
        if can_reset and peak is not None and rss_before is not None
        else None
    )

    columns: dict[str, dict[str, object]] = {}
    drifted_count = None
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith("DriftedColumnsCount"):
            drifted_count = metric["value"]
        elif kind.endswith("ValueDrift"):
            method = str(config.get("method"))
            threshold = float(config.get("threshold"))
            value = float(metric["value"])
            is_p_value = "p_value" in method
            columns[str(config["column"])] = {
                "method": method,
                "threshold": threshold,
                "value": value if math.isfinite(value) else None,
                "drift_detected": value < threshold if is_p_value else value >= threshold,
            }

    json.dump(
        {
            "evidently_version": __version__,
            "pandas_version": pd.__version__,
            "python": sys.version.split()[0],
            "seconds": seconds,
            "import_seconds": import_seconds,
            "read_seconds": read_seconds,
            "warmup_seconds": warmup_seconds,
            "rss_peak_delta_bytes": rss_delta,
            "rows_reference": len(reference),
            "rows_current": len(current),
            "drifted_columns": drifted_count,
            "columns": columns,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
