"""The report of a simulation run: one self-contained HTML page, PNG copies of its charts, and
the figures and the result as JSON.

:func:`write_report` writes, into one folder:

``index.html``
    A headline (the run's configuration, the figures of :func:`~driftwarden.simulation.summary.
    summarise` and one row per injection) and three interactive charts: each feature's drift
    statistic over time with its thresholds (``drift-chart``), realised accuracy per day of the
    live system and of the frozen first champion beside the accuracy estimated from the scores
    (``performance-chart``), and a timeline of alerts, retraining runs, A/B tests and champion
    moves (``timeline-chart``). Every chart shades each injection. plotly.js is embedded once,
    so the page opens with no network.
``drift.png``, ``performance.png``, ``timeline.png``
    The same three charts drawn by matplotlib (its Agg canvas, without pyplot: nothing global
    of the calling process changes).
``summary.json``, ``result.json``
    The figures, and the result itself (:meth:`SimulationResult.load` reads it back, and this
    module renders it again without running anything).

Both renderers draw the same :class:`_Chart`, built once from the result. Text from the run
(feature names, alert titles, reasons) reaches the page only through :func:`html.escape`, and
plotly serialises figures with ``<``, ``>`` and ``/`` escaped as well. Times are shown in UTC.
"""

from __future__ import annotations

import html
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import plotly.graph_objects as go
import plotly.io as pio
from matplotlib import rcParams
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from driftwarden.simulation.result import SimulationResult
from driftwarden.simulation.summary import champion_at, parse_time, summarise

__all__ = ["CHARTS", "write_report"]

CHARTS = ("drift", "performance", "timeline")
"""The charts of a report: ``<name>-chart`` is each one's div in ``index.html``, ``<name>.png``
its PNG copy."""

Mode = Literal["lines", "markers", "segments"]

_PALETTE = (
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1",
)  # fmt: skip
_SEVERITY_COLOURS = {"info": "#1f77b4", "warning": "#ff7f0e", "critical": "#d62728"}
_STATUS_COLOURS = {
    "succeeded": "#2ca02c", "promoted": "#2ca02c", "running": "#7f7f7f", "ended": "#8c564b",
    "rejected": "#9467bd", "failed": "#d62728", "aborted": "#d62728", "skipped": "#bbbbbb",
}  # fmt: skip
_MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle-up": "^", "triangle-down": "v"}
_INJECTION_COLOUR = "#ff7f0e"
# Rows of the timeline chart, bottom to top.
_ROWS = {"champion": 0.0, "A/B tests": 1.0, "retraining": 2.0, "alerts": 3.0}


@dataclass(frozen=True, slots=True)
class _Trace:
    """One series; ``hover`` holds the lines of text of each point (raw, escaped when drawn).
    ``segments`` pairs its points: start, end, start, end..."""

    name: str
    x: list[datetime]
    y: list[float]
    hover: list[list[str]]
    mode: Mode = "lines"
    colour: str = "#1f77b4"
    dash: bool = False
    symbol: str = "circle"


@dataclass(frozen=True, slots=True)
class _Span:
    """An injection: a band from start to end, a line when they are equal."""

    start: datetime
    end: datetime
    label: str


@dataclass(slots=True)
class _Chart:
    name: str
    title: str
    ylabel: str
    traces: list[_Trace] = field(default_factory=list)
    spans: list[_Span] = field(default_factory=list)
    yticks: dict[float, str] | None = None


# -- reading the result -------------------------------------------------------------------------


def _naive(moment: datetime) -> datetime:
    """UTC without a zone: what both renderers read as UTC on a date axis."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _time(value: Any) -> datetime | None:
    return None if value is None or value == "" else _naive(parse_time(value))


def _extent(result: SimulationResult) -> tuple[datetime | None, datetime | None]:
    """Where the run starts and ends: the configuration's times, else the days'."""
    starts = [_naive(parse_time(day.start)) for day in result.days]
    start = _time(result.config.get("start")) or min(starts, default=None)
    end = _time(result.config.get("end"))
    if end is None and starts:
        end = max(starts) + timedelta(days=1)
    return start, end


def _spans(result: SimulationResult) -> list[_Span]:
    _, run_end = _extent(result)
    spans = []
    for injection in result.injections:
        start = _naive(parse_time(injection["start"]))
        end = _time(injection.get("end"))
        columns = injection.get("columns") or []
        names = [columns] if isinstance(columns, str) else [str(c) for c in columns]
        label = f"{injection.get('kind', 'drift')}: {', '.join(names)}"
        # Seasonal drift never settles: its band runs to the end of the run.
        spans.append(_Span(start, end or max(run_end or start, start), label))
    return spans


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _drift_chart(result: SimulationResult) -> _Chart:
    champion = champion_at(result.history)
    # One point per feature and window: the champion's, else the version that saw most rows.
    chosen: dict[tuple[str, datetime], Mapping[str, Any]] = {}
    for point in result.drift:
        if point.get("statistic") is None or not point.get("window_end"):
            continue
        end = parse_time(point["window_end"])
        key = (str(point.get("feature")), end)
        held = chosen.get(key)
        # The window was served before it ended: a promotion at its very end does not count.
        if held is None or _better(point, held, champion(end - timedelta(microseconds=1))):
            chosen[key] = point
    chart = _Chart("drift", "Drift per feature", "drift statistic")
    thresholds: dict[tuple[str, float], list[str]] = defaultdict(list)
    by_feature: dict[str, list[tuple[datetime, Mapping[str, Any]]]] = defaultdict(list)
    for (feature, end), kept in sorted(chosen.items(), key=lambda item: item[0][1]):
        by_feature[feature].append((_naive(end), kept))
    for index, (feature, points) in enumerate(sorted(by_feature.items())):
        last = points[-1][1]
        for level in ("warning", "critical"):
            if last.get(level) is not None:
                thresholds[(level, float(last[level]))].append(feature)
        chart.traces.append(
            _Trace(
                feature,
                [at for at, _ in points],
                [float(point["statistic"]) for _, point in points],
                [_drift_hover(feature, point) for _, point in points],
                colour=_PALETTE[index % len(_PALETTE)],
            )
        )
    times = [at for trace in chart.traces for at in trace.x]
    if times:
        for (level, value), features in sorted(thresholds.items(), key=lambda i: i[0][1]):
            shown = ", ".join(features[:4]) + (
                f" and {len(features) - 4} more" if len(features) > 4 else ""
            )
            chart.traces.append(
                _Trace(
                    f"{level} {value:g}: {shown}",
                    [min(times), max(times)],
                    [value, value],
                    [[f"{level} threshold {value:g}", *features]] * 2,
                    colour=_SEVERITY_COLOURS[level],
                    dash=True,
                )
            )
    chart.spans = _spans(result)
    return chart


def _better(point: Mapping[str, Any], held: Mapping[str, Any], champion: int | None) -> bool:
    if champion is not None and (point.get("model_version") == champion) != (
        held.get("model_version") == champion
    ):
        return point.get("model_version") == champion
    return int(point.get("n_current") or 0) > int(held.get("n_current") or 0)


def _drift_hover(feature: str, point: Mapping[str, Any]) -> list[str]:
    return [
        f"{feature} at {point.get('window_end')}",
        f"{point.get('method')} {_fmt(point.get('statistic'))} (warning "
        f"{_fmt(point.get('warning'))}, critical {_fmt(point.get('critical'))})",
        f"severity {point.get('severity')}, version {point.get('model_version')}, "
        f"{point.get('n_current')} rows",
    ]


def _performance_chart(result: SimulationResult) -> _Chart:
    chart = _Chart("performance", "Accuracy: live against the frozen first champion", "accuracy")
    days = sorted(result.days, key=lambda day: day.day)
    # A day's accuracy covers the whole day: its point sits at midday.
    noon = [_naive(parse_time(day.start)) + timedelta(hours=12) for day in days]
    for label, attribute, colour, dash in (
        ("live (realised, per day)", "live_accuracy", "#1f77b4", False),
        ("frozen first champion (realised, per day)", "frozen_accuracy", "#7f7f7f", True),
    ):
        chart.traces.append(
            _Trace(
                label,
                noon,
                [float(getattr(day, attribute)) for day in days],
                [
                    [
                        f"day {day.day}: {label}",
                        f"accuracy {_fmt(getattr(day, attribute))}",
                        f"{day.n} rows, champion version {day.champion_version}",
                    ]
                    for day in days
                ],
                mode="lines",
                colour=colour,
                dash=dash,
            )
        )
    estimated: dict[int, list[tuple[datetime, float, Mapping[str, Any]]]] = defaultdict(list)
    for item in result.performance:
        figures = item.get("estimated") or {}
        if figures.get("accuracy") is not None and item.get("window_end"):
            end = _naive(parse_time(item["window_end"]))
            version = int(item.get("model_version") or 0)
            estimated[version].append((end, float(figures["accuracy"]), item))
    for index, (version, points) in enumerate(sorted(estimated.items())):
        points.sort(key=lambda point: point[0])
        chart.traces.append(
            _Trace(
                f"estimated from scores (CBPE), version {version}",
                [at for at, _, _ in points],
                [value for _, value, _ in points],
                [
                    [
                        f"estimated accuracy {_fmt(value)}",
                        f"version {version}, window ending {item.get('window_end')}",
                        f"{item.get('n_rows')} rows scored",
                    ]
                    for _, value, item in points
                ],
                mode="markers",
                colour=_PALETTE[(index + 1) % len(_PALETTE)],
                symbol="diamond",
            )
        )
    chart.spans = _spans(result)
    return chart


def _markers(
    chart: _Chart,
    row: str,
    items: Iterable[tuple[datetime, str, list[str]]],
    colours: Mapping[str, str],
    symbols: Mapping[str, str] | str,
    prefix: str,
) -> None:
    groups: dict[str, list[tuple[datetime, list[str]]]] = defaultdict(list)
    for at, group, hover in items:
        groups[group].append((at, hover))
    for group, points in sorted(groups.items()):
        chart.traces.append(
            _Trace(
                f"{prefix}{group}",
                [at for at, _ in points],
                [_ROWS[row]] * len(points),
                [hover for _, hover in points],
                mode="markers",
                colour=colours.get(group, "#7f7f7f"),
                symbol=symbols if isinstance(symbols, str) else symbols.get(group, "circle"),
            )
        )


def _timeline_chart(result: SimulationResult) -> _Chart:
    chart = _Chart("timeline", "What the system did", "", yticks={v: k for k, v in _ROWS.items()})
    alerts = [
        (
            at,
            str(a.get("severity")),
            [
                str(a.get("title")),
                f"{a.get('rule')} {a.get('subject') or ''}",
                f"opened {a.get('opened_at')}, {a.get('status')}",
            ],
        )
        for a in result.alerts
        if (at := _time(a.get("opened_at"))) is not None
    ]
    _markers(chart, "alerts", alerts, _SEVERITY_COLOURS, "circle", "alert: ")
    runs = [
        (
            at,
            str(r.get("status")),
            [
                f"retraining run {r.get('id')}: {r.get('status')}",
                f"trigger {r.get('trigger')}: {r.get('reason') or ''}",
                f"candidate version {r.get('candidate_version')}",
            ],
        )
        for r in result.retraining_runs
        if (at := _time(r.get("started_at") or r.get("requested_at"))) is not None
    ]
    _markers(chart, "retraining", runs, _STATUS_COLOURS, "square", "retraining: ")
    _, run_end = _extent(result)
    tests: dict[str, list[tuple[datetime, datetime, list[str]]]] = defaultdict(list)
    for test in result.ab_tests:
        start = _time(test.get("started_at"))
        if start is None:
            continue
        end = _time(test.get("ended_at")) or max(run_end or start, start)
        hover = [
            f"A/B test {test.get('id')}: version {test.get('challenger_version')} against "
            f"{test.get('champion_version')} ({test.get('mode')})",
            f"{test.get('status')}: {test.get('reason') or test.get('decision') or ''}",
        ]
        tests[str(test.get("status"))].append((start, end, hover))
    for status, bars in sorted(tests.items()):
        chart.traces.append(
            _Trace(
                f"A/B test: {status}",
                [at for start, end, _ in bars for at in (start, end)],
                [_ROWS["A/B tests"]] * (2 * len(bars)),
                [hover for _, _, hover in bars for _ in range(2)],
                mode="segments",
                colour=_STATUS_COLOURS.get(status, "#7f7f7f"),
            )
        )
    moves = [
        (
            at,
            str(e.get("action")),
            [
                f"{e.get('action')}: version {e.get('from_version')} -> {e.get('to_version')}",
                str(e.get("reason") or ""),
                f"by {e.get('actor')} at {e.get('at')}",
            ],
        )
        for e in result.history
        if (at := _time(e.get("at"))) is not None
    ]
    _markers(
        chart,
        "champion",
        moves,
        {"promote": "#2ca02c", "rollback": "#d62728"},
        {"promote": "triangle-up", "rollback": "triangle-down"},
        "champion: ",
    )
    chart.spans = _spans(result)
    return chart


# -- drawing ------------------------------------------------------------------------------------


def _plot_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _plotly(chart: _Chart, *, include_js: bool) -> str:
    figure = go.Figure()
    for trace in chart.traces:
        x: list[str | None] = [_plot_time(at) for at in trace.x]
        y: list[float | None] = list(trace.y)
        hover: list[str | None] = [
            "<br>".join(html.escape(line) for line in h) for h in trace.hover
        ]
        if trace.mode == "segments":
            # Each bar is a pair of points; a gap (None) separates one from the next.
            x = [v for i in range(0, len(x), 2) for v in (*x[i : i + 2], None)]
            y = [v for i in range(0, len(y), 2) for v in (*y[i : i + 2], None)]
            hover = [v for i in range(0, len(hover), 2) for v in (*hover[i : i + 2], None)]
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=html.escape(trace.name),
                mode="markers" if trace.mode == "markers" else "lines+markers",
                hovertext=hover,
                hoverinfo="text",
                line={
                    "color": trace.colour,
                    "dash": "dash" if trace.dash else "solid",
                    "width": 10 if trace.mode == "segments" else 2,
                },
                marker={
                    "color": trace.colour,
                    "symbol": trace.symbol,
                    "size": 9 if trace.mode == "markers" else 4,
                },
            )
        )
    for span in chart.spans:
        start, end = _plot_time(span.start), _plot_time(span.end)
        figure.add_shape(
            type="rect" if span.end > span.start else "line",
            xref="x",
            yref="paper",
            x0=start,
            x1=end,
            y0=0,
            y1=1,
            layer="below",
            fillcolor=_INJECTION_COLOUR,
            opacity=0.15 if span.end > span.start else 0.8,
            line={
                "color": _INJECTION_COLOUR,
                "width": 0 if span.end > span.start else 2,
                "dash": "dot",
            },
        )
        figure.add_annotation(
            x=start,
            y=1,
            xref="x",
            yref="paper",
            text=html.escape(span.label),
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            font={"size": 11},
        )
    figure.update_layout(
        title={"text": html.escape(chart.title)},
        xaxis_title="time (UTC)",
        yaxis_title=html.escape(chart.ylabel),
        template="plotly_white",
        hovermode="closest",
        height=480,
        margin={"t": 80},
    )
    if chart.yticks is not None:
        figure.update_yaxes(
            tickvals=list(chart.yticks),
            ticktext=[html.escape(t) for t in chart.yticks.values()],
            range=[min(chart.yticks) - 0.5, max(chart.yticks) + 0.5],
        )
    html_div: str = pio.to_html(
        figure,
        include_plotlyjs=include_js,
        full_html=False,
        div_id=f"{chart.name}-chart",
        config={"responsive": True, "displaylogo": False},
    )
    return html_div


def _mpl(text: str) -> str:
    """Text that matplotlib draws as written: no mathtext, no hiding by a leading underscore."""
    text = text.replace("$", r"\$")
    return f" {text}" if text.startswith("_") else text


def _num(moment: datetime) -> float:
    """Matplotlib's number for a (naive UTC) time: days since its date epoch."""
    epoch = datetime.fromisoformat(str(rcParams["date.epoch"]))
    return (moment - epoch.replace(tzinfo=None)) / timedelta(days=1)


def _write_png(chart: _Chart, path: Path, extent: tuple[datetime | None, datetime | None]) -> None:
    figure = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for trace in chart.traces:
        x = [_num(at) for at in trace.x]
        label = _mpl(trace.name)
        if trace.mode == "markers":
            axes.scatter(
                x,
                trace.y,
                color=trace.colour,
                marker=_MARKERS.get(trace.symbol, "o"),
                s=36,
                label=label,
                zorder=3,
            )
        elif trace.mode == "segments":
            for i in range(0, len(trace.x) - 1, 2):
                axes.plot(
                    x[i : i + 2],
                    trace.y[i : i + 2],
                    color=trace.colour,
                    linewidth=8,
                    solid_capstyle="butt",
                    label=label if i == 0 else "_nolegend_",
                )
        else:
            axes.plot(
                x,
                trace.y,
                color=trace.colour,
                linestyle="--" if trace.dash else "-",
                marker="." if len(trace.x) < 60 and not trace.dash else "",
                linewidth=1.5,
                label=label,
            )
    for span in chart.spans:
        start, end = _num(span.start), _num(span.end)
        if end > start:
            axes.axvspan(start, end, color=_INJECTION_COLOUR, alpha=0.15, linewidth=0)
        else:
            axes.axvline(start, color=_INJECTION_COLOUR, linestyle=":", linewidth=2)
        axes.text(
            start,
            1.0,
            _mpl(span.label),
            transform=axes.get_xaxis_transform(),
            fontsize=8,
            va="bottom",
            ha="left",
            color="#a0522d",
        )
    # The run's extent, widened to whatever happened outside it (the first champion's move).
    times = [at for trace in chart.traces for at in trace.x]
    times += [at for span in chart.spans for at in (span.start, span.end)]
    times += [at for at in extent if at is not None]
    if times and max(times) > min(times):
        axes.set_xlim(_num(min(times)), _num(max(times)))
    if times:
        axes.xaxis_date()
        axes.set_xlabel("time (UTC)")
    else:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")
    if chart.yticks is not None:
        axes.set_yticks(list(chart.yticks), [_mpl(t) for t in chart.yticks.values()])
        axes.set_ylim(min(chart.yticks) - 0.5, max(chart.yticks) + 0.5)
    axes.set_title(_mpl(chart.title), pad=16)
    axes.set_ylabel(_mpl(chart.ylabel))
    axes.grid(alpha=0.3)
    axes.tick_params(axis="x", labelsize=8)
    if chart.traces:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    figure.savefig(path, format="png")


# -- the page -----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    if isinstance(value, str):
        return html.escape(value)
    return html.escape(json.dumps(value, default=str))


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    head = ""
    if header is not None:
        head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items()) or "none"


def _accuracy(period: Mapping[str, Any] | None) -> str | None:
    if period is None or period["live_accuracy"] is None:
        return None
    text = (
        f"live {period['live_accuracy']:.4f} against frozen {period['frozen_accuracy']:.4f} "
        f"({period['gain_accuracy_points']:+.2f} points) over {period['days']} days"
    )
    if period["live_roc_auc"] is not None:
        text += f"; ROC AUC {period['live_roc_auc']:.4f} against {period['frozen_roc_auc']:.4f}"
    return text


def _figures(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    run, detection, alarms = summary["run"], summary["detection"], summary["false_alarms"]
    performance = summary["performance"]
    before = "before the first injection" if summary["injections"] else "(nothing injected)"
    return [
        ("simulated", f"{run['days']} days, {run['rows']} predictions, in {run['seconds']:.1f} s"),
        ("injections detected", f"{detection['detected']} of {detection['injections']}"),
        (
            "mean / longest detection delay (hours)",
            f"{_fmt(detection['mean_delay_hours'], '.1f')} / "
            f"{_fmt(detection['max_delay_hours'], '.1f')}",
        ),
        (
            f"false alarms {before}",
            f"{alarms['total']} ({alarms['warning']} warning, {alarms['critical']} critical)",
        ),
        ("alerts", _counted(summary["alerts_by_severity"])),
        ("retraining runs", _counted(summary["retraining_runs"])),
        ("A/B tests", _counted(summary["ab_tests"])),
        ("promotions / rollbacks", f"{summary['promotions']} / {summary['rollbacks']}"),
        ("accuracy, whole run", _accuracy(performance["whole_run"])),
        ("accuracy, after the first injection", _accuracy(performance["after_first_injection"])),
        ("accuracy, last 7 days", _accuracy(performance["last_week"])),
    ]


def _injection_rows(summary: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for item in summary["injections"]:
        retrained, promoted = item["retrained"], item["promoted"]
        rows.append(
            [
                item["kind"],
                ", ".join(item["columns"]),
                item["start"],
                item["end"],
                item["detected_at"],
                item["detection_delay_hours"],
                item["false_alarms_before"],
                item["max_drop_points"],
                item["recovered_at"],
                None if retrained is None else f"{retrained['at']} ({retrained['status']})",
                None
                if promoted is None
                else f"{promoted['at']} (version "
                f"{promoted['from_version']} -> {promoted['to_version']})",
            ]
        )
    return rows


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
section { margin-bottom: 2em; }
"""

_NOTES = {
    "drift": "One line per feature (the champion's verdict of each window); dashed lines are the "
    "warning and critical thresholds; shaded bands and dotted lines are the injected drift.",
    "performance": "Realised accuracy of each simulated day for what driftwarden served and for "
    "a frozen copy of the first champion on the same rows, and the accuracy the monitor "
    "estimated from the scores alone, per window and model version.",
    "timeline": "Alerts by severity (hover for the title), retraining runs by status, A/B tests "
    "from start to end, and every move of the champion alias.",
}


def _page(result: SimulationResult, summary: Mapping[str, Any], charts: Sequence[str]) -> str:
    scenarios = result.config.get("scenarios") or []
    name = ", ".join(map(str, scenarios)) if isinstance(scenarios, list) else str(scenarios)
    title = f"driftwarden simulation: {name or 'no drift'}"
    header = [
        "kind",
        "columns",
        "start",
        "full strength",
        "detected",
        "delay (h)",
        "false alarms before",
        "max drop (points)",
        "recovered",
        "retrained",
        "promoted",
    ]
    injections = (
        _table(_injection_rows(summary), header)
        if summary["injections"]
        else "<p>Nothing was injected: every alarm is a false one.</p>"
    )
    sections = "".join(
        f"<section><h2>{html.escape(chart.capitalize())}</h2><p>{html.escape(_NOTES[chart])} "
        f'<a href="{chart}.png">PNG</a></p>{div}</section>'
        for chart, div in zip(CHARTS, charts, strict=True)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<h2>Configuration</h2>{_table(list(result.config.items()))}\n"
        f"<h2>Figures</h2>{_table(_figures(summary))}\n"
        f"<h2>Injections</h2>{injections}\n{sections}\n</body>\n</html>\n"
    )


def write_report(result: SimulationResult, folder: Path) -> Path:
    """Write the report of a run into ``folder`` (created with its parents if missing).

    Parameters
    ----------
    result : SimulationResult
        The run to report on.
    folder : Path
        Where to write ``index.html``, ``drift.png``, ``performance.png``, ``timeline.png``,
        ``summary.json`` and ``result.json``; files of the same names are replaced.

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    ValueError
        If a time in the result is not ISO 8601.
    OSError
        If the folder cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarise(result)
    charts = [_drift_chart(result), _performance_chart(result), _timeline_chart(result)]
    extent = _extent(result)
    divs = [_plotly(chart, include_js=index == 0) for index, chart in enumerate(charts)]
    page = folder / "index.html"
    page.write_text(_page(result, summary, divs), "utf-8")
    for chart in charts:
        _write_png(chart, folder / f"{chart.name}.png", extent)
    text = json.dumps(summary, indent=1, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", "utf-8")
    result.save(folder / "result.json")
    return page
