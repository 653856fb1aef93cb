"""Performance: realised metrics as labels arrive, the estimate beside them, and one window's
confusion matrix and ROC curve; for a regression model, its errors, the predicted values
against the true ones and the residuals."""

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
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")


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
    regression = read("models").get("task") == "regression"
    metrics = REGRESSION_METRICS if regression else METRICS
    metric = st.radio("Metric", metrics, horizontal=True, key="performance_metric")
    chart(charts.performance_chart(points, metric), "performance_chart")

    labelled = [p for p in points if p["n_labelled"] > 0]
    if not labelled:
        empty(
            "No window has labelled predictions yet. Realised performance and the charts of one "
            "window appear once labels for served predictions arrive at /v1/feedback."
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
    window = {"start": parse_time(start), "end": parse_time(end), "version": version}
    found = read("regression" if regression else "classification", **window)
    if found["n_labelled"] == 0:
        empty("No labelled prediction of this version in this window yet.")
        return
    if regression:
        side_by_side(
            (charts.predicted_actual_chart(found), "performance_predicted"),
            (charts.residual_chart(found), "performance_residuals"),
        )
        return
    side_by_side(
        (charts.confusion_chart(found), "performance_confusion"),
        (charts.roc_chart(found), "performance_roc"),
    )


st.title("Performance")
live(body)
