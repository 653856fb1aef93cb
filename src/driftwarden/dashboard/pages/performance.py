"""Performance: realised metrics as labels arrive, the estimate beside them, and one window's
confusion matrix and ROC curve."""

from __future__ import annotations

import streamlit as st

from driftwarden.dashboard import charts
from driftwarden.dashboard.api import connection, read
from driftwarden.dashboard.common import (
    HISTORY_RUNS,
    chart,
    empty,
    live,
    parse_time,
    side_by_side,
    when,
)

METRICS = ("accuracy", "roc_auc", "f1", "precision", "recall")


def body() -> None:
    conn = connection()
    points = read("performance", limit=HISTORY_RUNS)
    if not points:
        empty(
            f"No monitor run has scored a window yet. The monitor runs every "
            f"{conn.monitor_interval}; the performance estimated from the scores appears after "
            "its first run, the realised performance as labels arrive at /v1/feedback."
        )
        return
    metric = st.radio("Metric", METRICS, horizontal=True, key="performance_metric")
    chart(charts.performance_chart(points, metric), "performance_chart")

    labelled = [p for p in points if p["n_labelled"] > 0]
    if not labelled:
        empty(
            "No window has labelled predictions yet. Realised performance, the confusion matrix "
            "and the ROC curve appear once labels for served predictions arrive at /v1/feedback."
        )
        return
    windows = sorted({(p["window_start"], p["window_end"]) for p in labelled}, reverse=True)
    left, right = st.columns([3, 1])
    start, end = left.selectbox(
        "Window", windows, format_func=lambda w: f"{when(w[0])} to {when(w[1])}", key="perf_window"
    )
    versions = sorted({p["model_version"] for p in labelled if p["window_end"] == end})
    version = right.selectbox(
        "Version",
        [None, *versions],
        format_func=lambda v: "all" if v is None else f"v{v}",
        key="perf_version",
    )
    found = read("classification", start=parse_time(start), end=parse_time(end), version=version)
    if found["n_labelled"] == 0:
        empty("No labelled prediction of this version in this window yet.")
        return
    side_by_side(
        (charts.confusion_chart(found), "performance_confusion"),
        (charts.roc_chart(found), "performance_roc"),
    )


st.title("Performance")
live(body)
