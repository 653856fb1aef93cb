"""Plotly figures of the dashboard, built from the API's JSON as it comes.

Pure functions: rows in, a figure out, no Streamlit and no I/O, so each is tested on its own.
Times arrive as ISO 8601 strings and are plotted as such (Plotly parses them).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

__all__ = [
    "SEVERITY_COLOURS",
    "ab_test_chart",
    "confusion_chart",
    "distribution_chart",
    "drift_bars",
    "drift_heatmap",
    "latency_chart",
    "performance_chart",
    "prediction_drift_chart",
    "quality_chart",
    "roc_chart",
    "version_colour",
    "volume_chart",
]

Row = Mapping[str, Any]

SEVERITY_COLOURS = {
    "ok": "#2e7d32",
    "info": "#1565c0",
    "warning": "#f9a825",
    "critical": "#c62828",
    "insufficient_data": "#9e9e9e",
}
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "height": 340,
    "legend": {"orientation": "h", "y": -0.18},
}


#: One colour per model version, the same on every chart.
_VERSION_COLOURS = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e")


def version_colour(version: int) -> str:
    """The colour of a model version on every chart."""
    return _VERSION_COLOURS[(version - 1) % len(_VERSION_COLOURS)]


def _figure(title: str, **layout: Any) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title={"text": title, "x": 0}, **{**_LAYOUT, **layout})
    return figure


def _largest_arm(run: Row) -> Row | None:
    results = run.get("results") or []
    return max(results, key=lambda r: r["n_rows"]) if results else None


def volume_chart(runs: Sequence[Row]) -> go.Figure:
    """Predictions in each monitor window, stacked by the model version that answered them."""
    figure = _figure("Predictions per window", barmode="stack", yaxis_title="predictions")
    by_version: dict[int, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
    for run in sorted(runs, key=lambda r: r["window_end"]):
        for result in run.get("results") or []:
            xs, ys = by_version[result["model_version"]]
            xs.append(run["window_end"])
            ys.append(result["n_rows"])
    for version, (xs, ys) in sorted(by_version.items()):
        figure.add_bar(x=xs, y=ys, name=f"version {version}", marker_color=version_colour(version))
    return figure


def latency_chart(runs: Sequence[Row]) -> go.Figure:
    """p50, p95 and p99 latency per window, of the version that answered most of it."""
    figure = _figure("Latency (of the version that served most of each window)", yaxis_title="ms")
    ordered = [
        (r["window_end"], _largest_arm(r)) for r in sorted(runs, key=lambda r: r["window_end"])
    ]
    points = [(end, arm) for end, arm in ordered if arm is not None]
    for name in ("p50", "p95", "p99"):
        figure.add_scatter(
            x=[end for end, _ in points],
            y=[arm[f"latency_{name}_ms"] for _, arm in points],
            mode="lines+markers",
            name=name,
        )
    return figure


def drift_bars(points: Sequence[Row]) -> go.Figure:
    """Each feature's drift statistic in one window, coloured by severity, with its warning
    and critical thresholds marked (each feature is measured by its own method)."""
    ordered = sorted(points, key=lambda p: (p["statistic"] is None, -(p["statistic"] or 0.0)))
    figure = _figure("Drift per feature, latest window", yaxis_title="statistic")
    features = [p["feature"] for p in ordered]
    figure.add_bar(
        x=features,
        y=[p["statistic"] for p in ordered],
        marker_color=[SEVERITY_COLOURS.get(p["severity"], "#9e9e9e") for p in ordered],
        customdata=[[p["method"], p["severity"], p["p_value"], p["n_current"]] for p in ordered],
        hovertemplate="%{x}: %{y:.4f} (%{customdata[0]})<br>%{customdata[1]}, "
        "p-value %{customdata[2]}<br>%{customdata[3]} rows<extra></extra>",
        name="statistic",
        showlegend=False,
    )
    for level, symbol in (("warning", "line-ew-open"), ("critical", "line-ew-open")):
        figure.add_scatter(
            x=features,
            y=[p[level] for p in ordered],
            mode="markers",
            marker={
                "symbol": symbol,
                "size": 18,
                "color": SEVERITY_COLOURS[level],
                "line": {"width": 2, "color": SEVERITY_COLOURS[level]},
            },
            name=f"{level} threshold",
        )
    return figure


def drift_heatmap(points: Sequence[Row]) -> go.Figure:
    """Feature by window: each statistic divided by its critical threshold (1 = critical)."""
    windows = sorted({p["window_end"] for p in points})
    features = sorted({p["feature"] for p in points})
    col = {w: i for i, w in enumerate(windows)}
    row = {f: i for i, f in enumerate(features)}
    z: list[list[float | None]] = [[None] * len(windows) for _ in features]
    for p in points:
        if p["statistic"] is not None and p["critical"]:
            ratio = p["statistic"] / p["critical"]
            current = z[row[p["feature"]]][col[p["window_end"]]]
            # Several versions can serve one window: show the worst.
            z[row[p["feature"]]][col[p["window_end"]]] = max(ratio, current or 0.0)
    figure = _figure(
        "Drift over time (statistic ÷ critical threshold)",
        height=max(340, 18 * len(features) + 120),
    )
    figure.add_heatmap(
        x=windows,
        y=features,
        z=z,
        zmin=0,
        zmax=2,
        colorscale=[
            [0, "#e8f5e9"],
            [0.2, SEVERITY_COLOURS["ok"]],
            [0.5, SEVERITY_COLOURS["warning"]],
            [1, SEVERITY_COLOURS["critical"]],
        ],
        colorbar={"title": "÷ critical"},
        hovertemplate="%{y} at %{x}: %{z:.2f} of critical<extra></extra>",
    )
    return figure


def distribution_chart(found: Row) -> go.Figure:
    """The reference and current distributions of one feature, overlaid."""
    kind = found["kind"]
    title = f"{found['feature']}: reference and current (version {found['model_version']})"
    figure = _figure(
        title, barmode="overlay" if kind == "numeric" else "group", yaxis_title="share of rows"
    )
    if kind == "numeric":
        edges = found["edges"]
        x = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
    else:
        x = list(found["categories"])
        widths = None
    for name, colour in (("reference", "#607d8b"), ("current", "#ef6c00")):
        figure.add_bar(
            x=x,
            y=found[name],
            width=widths,
            name=f"{name} ({found[f'n_{name}']:,} rows)",
            marker_color=colour,
            opacity=0.6 if kind == "numeric" else 0.9,
        )
    return figure


def prediction_drift_chart(runs: Sequence[Row]) -> go.Figure:
    """Drift of the model's scores per window and version, coloured by severity."""
    figure = _figure("Prediction drift (scores against the reference)", yaxis_title="statistic")
    by_version: dict[int, list[tuple[str, Row]]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r["window_end"]):
        for result in run.get("results") or []:
            if result.get("prediction_statistic") is not None:
                by_version[result["model_version"]].append((run["window_end"], result))
    for version, rows in sorted(by_version.items()):
        figure.add_scatter(
            x=[end for end, _ in rows],
            y=[r["prediction_statistic"] for _, r in rows],
            mode="lines+markers",
            line={"color": version_colour(version)},
            marker={
                "color": [
                    SEVERITY_COLOURS.get(r["prediction_severity"], "#9e9e9e") for _, r in rows
                ],
                "size": 9,
            },
            name=f"version {version}",
        )
    return figure


def multivariate_chart(runs: Sequence[Row]) -> go.Figure:
    """Adversarial validation's AUC per window and version, with its warning and critical
    levels; a point's hover names the features that carry the shift."""
    figure = _figure("Multivariate drift: adversarial validation AUC", yaxis_title="ROC AUC")
    by_version: dict[int, list[tuple[str, Row]]] = defaultdict(list)
    levels: Row | None = None
    for run in sorted(runs, key=lambda r: r["window_end"]):
        for result in run["results"]:
            found = result.get("multivariate")
            if found:
                by_version[result["model_version"]].append((run["window_end"], found))
                levels = found
    for version, points in sorted(by_version.items()):
        figure.add_scatter(
            x=[end for end, _ in points],
            y=[found["auc"] for _, found in points],
            text=[", ".join(found["top_features"][:3]) for _, found in points],
            hovertemplate="AUC %{y:.3f}<br>most telling: %{text}<extra></extra>",
            mode="lines+markers",
            line={"color": version_colour(version)},
            name=f"version {version}",
        )
    if levels is not None:
        for level, colour in (("warning", "#f9a825"), ("critical", "#c62828")):
            figure.add_hline(
                y=levels[level], line={"dash": "dot", "color": colour}, annotation_text=level
            )
    return figure


def performance_chart(points: Sequence[Row], metric: str) -> go.Figure:
    """Realised ``metric`` per window and version (labelled rows under each point) beside the
    figure estimated from the scores alone, where there is one (a classifier's)."""
    estimates = any((p.get("estimated") or {}).get(metric) is not None for p in points)
    title = f"{metric}: realised and estimated" if estimates else f"{metric}: realised"
    figure = _figure(title, yaxis_title=metric)
    by_version: dict[int, list[Row]] = defaultdict(list)
    for point in sorted(points, key=lambda p: p["window_end"]):
        by_version[point["model_version"]].append(point)
    for version, rows in sorted(by_version.items()):
        realised = [r for r in rows if (r.get("realised") or {}).get(metric) is not None]
        figure.add_scatter(
            x=[r["window_end"] for r in realised],
            y=[r["realised"][metric] for r in realised],
            text=[f"{r['n_labelled']:,}" for r in realised],
            mode="lines+markers+text",
            textposition="top center",
            line={"color": version_colour(version)},
            name=f"version {version} realised (labelled rows above each point)",
        )
        estimated = [r for r in rows if (r.get("estimated") or {}).get(metric) is not None]
        figure.add_scatter(
            x=[r["window_end"] for r in estimated],
            y=[r["estimated"][metric] for r in estimated],
            mode="lines",
            line={"dash": "dot", "color": version_colour(version)},
            name=f"version {version} estimated",
        )
    return figure


def confusion_chart(found: Row) -> go.Figure:
    """The confusion matrix of one window's labelled rows."""
    c = found["confusion"]
    figure = _figure(
        f"Confusion matrix at threshold {found['threshold']:g} ({found['n_labelled']:,} labelled)",
        xaxis_title="predicted",
        yaxis_title="actual",
        yaxis_autorange="reversed",
    )
    z = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    figure.add_heatmap(
        x=["negative", "positive"],
        y=["negative", "positive"],
        z=z,
        text=[[f"{v:,}" for v in row] for row in z],
        texttemplate="%{text}",
        colorscale="Blues",
        showscale=False,
    )
    return figure


def roc_chart(found: Row) -> go.Figure:
    """The ROC curve of one window's labelled rows, with its area."""
    auc = found.get("roc_auc")
    title = "ROC curve" + ("" if auc is None else f" (AUC {auc:.3f})")
    figure = _figure(title, xaxis_title="false positive rate", yaxis_title="true positive rate")
    figure.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#9e9e9e"}, name="chance"
    )
    figure.add_scatter(x=found["roc"]["fpr"], y=found["roc"]["tpr"], mode="lines", name="model")
    return figure


def predicted_actual_chart(found: Row) -> go.Figure:
    """A regression model's predicted values against the true ones (the diagonal is perfect)."""
    pairs = found["pairs"]
    figure = _figure(
        f"Predicted against actual ({len(pairs['actual']):,} of {found['n_labelled']:,} labelled)",
        xaxis_title="actual",
        yaxis_title="predicted",
    )
    values = [*pairs["actual"], *pairs["predicted"]]
    if values:
        low, high = min(values), max(values)
        figure.add_scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            line={"dash": "dash", "color": "#9e9e9e"},
            name="perfect",
        )
    figure.add_scatter(
        x=pairs["actual"], y=pairs["predicted"], mode="markers", marker={"size": 5}, name="rows"
    )
    return figure


def residual_chart(found: Row) -> go.Figure:
    """The histogram of a regression model's residuals (predicted minus actual), with its RMSE."""
    metrics = found.get("metrics") or {}
    rmse = metrics.get("rmse")
    title = "Residuals (predicted - actual)" + ("" if rmse is None else f", RMSE {rmse:,.4g}")
    figure = _figure(title, xaxis_title="predicted - actual", yaxis_title="rows", bargap=0.02)
    edges, counts = found["residuals"]["edges"], found["residuals"]["counts"]
    bins = list(itertools.pairwise(edges))
    figure.add_bar(
        x=[(a + b) / 2 for a, b in bins],
        y=counts,
        width=[b - a for a, b in bins],
        name="rows",
    )
    return figure


def quality_chart(
    points: Sequence[Row], rate: str, *, label: str | None = None, top: int = 8
) -> go.Figure:
    """One data-quality rate over time for the ``top`` features where it is highest."""
    label = label or rate.removesuffix("_rate").replace("_", " ").capitalize()
    figure = _figure(
        f"{label} rate per feature", yaxis_title="share of rows", yaxis_tickformat=".0%"
    )
    series: dict[str, dict[str, float]] = defaultdict(dict)
    for p in points:
        value = p.get(rate)
        if value is not None:
            # Several versions can serve one window: show the worst.
            seen = series[p["feature"]]
            seen[p["window_end"]] = max(value, seen.get(p["window_end"], 0.0))
    worst = sorted(series, key=lambda f: (-max(series[f].values(), default=0.0), f))[:top]
    for feature in worst:
        xs = sorted(series[feature])
        figure.add_scatter(
            x=xs, y=[series[feature][x] for x in xs], mode="lines+markers", name=feature
        )
    return figure


def ab_test_chart(test: Row) -> go.Figure:
    """How the challenger compares as the test goes: the difference in the test's metric with
    its confidence interval, at each decision the policy took."""
    figure = _figure(
        f"Challenger minus champion, {test['metric']} (with its confidence interval)",
        yaxis_title=f"difference in {test['metric']}",
    )
    snapshots = [
        s for s in test.get("snapshots") or [] if (s.get("statistics") or {}).get("comparison")
    ]
    xs = [s["at"] for s in snapshots]
    comparisons = [s["statistics"]["comparison"] for s in snapshots]
    figure.add_scatter(
        x=xs + xs[::-1],
        y=[c["ci_high"] for c in comparisons] + [c["ci_low"] for c in comparisons][::-1],
        fill="toself",
        line={"width": 0},
        fillcolor="rgba(21, 101, 192, 0.2)",
        name="confidence interval",
        hoverinfo="skip",
    )
    figure.add_scatter(
        x=xs, y=[c["difference"] for c in comparisons], mode="lines+markers", name="difference"
    )
    figure.add_hline(y=0, line_dash="dash", line_color="#9e9e9e")
    return figure
