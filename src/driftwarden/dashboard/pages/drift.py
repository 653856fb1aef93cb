"""Drift: per-feature verdicts of the latest window, their history, one feature's reference and
current distributions, the drift of the model's scores, multivariate drift, and the features
whose influence on the model moved."""

from __future__ import annotations

from typing import Any

import streamlit as st

from driftwarden.dashboard import charts
from driftwarden.dashboard.api import read
from driftwarden.dashboard.common import (
    HISTORY_RUNS,
    chart,
    empty,
    live,
    parse_time,
    scored_runs,
    table,
    when,
)


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "—" if value is None else format(value, spec)


def _feature_detail(latest: list[dict[str, Any]], run: dict[str, Any]) -> None:
    worst: dict[str, float] = {}
    for p in latest:
        worst[p["feature"]] = max(worst.get(p["feature"], 0.0), p["statistic"] or 0.0)
    # The most drifted feature first; the version that served most of the window first.
    features = sorted(worst, key=lambda f: (-worst[f], f))
    served = {r["model_version"]: r["n_rows"] for r in run["results"]}
    versions = sorted({p["model_version"] for p in latest}, key=lambda v: -served.get(v, 0))
    left, right = st.columns([3, 1])
    feature = left.selectbox("Feature", features, key="drift_feature")
    version = right.selectbox("Version", versions, key="drift_version")
    point = next(
        (p for p in latest if p["feature"] == feature and p["model_version"] == version), None
    )
    if feature is None or point is None:
        empty(f"Version {version} has no verdict for {feature} in this window.")
        return
    found = read(
        "distribution",
        feature=feature,
        start=parse_time(run["window_start"]),
        end=parse_time(run["window_end"]),
        version=version,
    )
    graph, facts = st.columns([3, 1])
    with graph:
        chart(charts.distribution_chart(found), "drift_distribution")
    with facts:
        st.metric(f"{point['method']} statistic", _fmt(point["statistic"]))
        st.markdown(
            f"severity **{point['severity']}**  \n"
            f"warning at {_fmt(point['warning'], 'g')}, critical at {_fmt(point['critical'], 'g')}"
            f"  \np-value {_fmt(point['p_value'])}  \n"
            f"{point['n_reference']:,} reference rows, {point['n_current']:,} current rows"
        )


def body() -> None:
    runs = scored_runs(HISTORY_RUNS, "each feature's drift appears here")
    if runs is None:
        return
    run = runs[0]
    points = read("drift", start=parse_time(runs[-1]["window_end"]))
    latest = [p for p in points if p["window_end"] == run["window_end"]]
    st.caption(
        f"Latest window: {when(run['window_start'])} to {when(run['window_end'])}, "
        f"{run['n_rows']:,} predictions"
    )
    if not latest:
        empty(
            "The latest window had too few rows for a drift verdict; they appear once a "
            "window reaches monitor.min_samples predictions."
        )
    else:
        chart(charts.drift_bars(latest), "drift_bars")
        _feature_detail(latest, run)
    chart(charts.drift_heatmap(points), "drift_heatmap")
    chart(charts.prediction_drift_chart(runs), "drift_prediction")
    _joint(runs)


def _joint(runs: list[dict[str, Any]]) -> None:
    """Multivariate drift over time, and the latest explanation drift per feature."""
    st.subheader("Multivariate and explanation drift")
    if not any(r.get("multivariate") for run in runs for r in run["results"]):
        empty(
            "No window has been measured for multivariate drift yet. The monitor measures it at "
            "most once per monitor.multivariate.every, for versions registered with a sample "
            "of their training rows."
        )
    else:
        chart(charts.multivariate_chart(runs), "drift_multivariate")
    explained = [
        (run, result)
        for run in read("monitoring_runs", limit=25, detail=True)
        for result in run["results"]
        if result.get("explanation")
    ]
    if not explained:
        empty(
            "No explanation drift yet: it appears once a window of a version registered with "
            "its holdout attributions is measured (monitor.explanation)."
        )
        return
    run, result = explained[0]
    st.caption(
        f"Attributions of version {result['model_version']} in the window ending "
        f"{when(run['window_end'])} against its holdout's"
    )
    rows = [
        {**f, "status": f["status"].replace("_", " ")}
        for f in sorted(
            result["explanation"]["features"].values(), key=lambda f: -f["share_current"]
        )
    ]
    columns = ["feature", "status", "severity", "share_reference", "share_current", "method"]
    table(
        rows,
        [*columns, "statistic", "input_severity"],
        key="drift_explanation",
        labels={
            "share_reference": "share of attribution (holdout)",
            "share_current": "share of attribution (window)",
            "statistic": "attribution drift",
            "input_severity": "input drift",
        },
    )


st.title("Drift")
live(body)
