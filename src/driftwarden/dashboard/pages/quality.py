"""Data quality: missing, invalid, out-of-range and unseen-category rates over time."""

from __future__ import annotations

import streamlit as st

from driftwarden.dashboard import charts
from driftwarden.dashboard.api import read
from driftwarden.dashboard.common import HISTORY_RUNS, chart, live, parse_time, scored_runs, table

RATES = {
    "missing_rate": "Missing",
    "out_of_range_rate": "Out of range",
    "unseen_rate": "Unseen category",
    "invalid_rate": "Invalid",
}


def body() -> None:
    runs = scored_runs(
        HISTORY_RUNS, "each feature's missing, out-of-range and unseen-category rates appear here"
    )
    if runs is None:
        return
    points = read("quality", start=parse_time(runs[-1]["window_end"]))
    rate = st.radio(
        "Rate", list(RATES), format_func=RATES.__getitem__, horizontal=True, key="quality_rate"
    )
    chart(charts.quality_chart(points, rate, label=RATES[rate]), "quality_chart")
    latest_end = max(p["window_end"] for p in points) if points else None
    latest = [p for p in points if p["window_end"] == latest_end]
    latest.sort(key=lambda p: -max(p.get(r) or 0.0 for r in RATES))
    st.subheader("Latest window")
    table(
        latest,
        ["feature", "model_version", "n_current", *RATES],
        key="quality_latest",
        labels={"model_version": "version", "n_current": "rows", **RATES},
    )


st.title("Data quality")
live(body)
