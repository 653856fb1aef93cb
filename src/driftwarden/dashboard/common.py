"""What every page of the dashboard shares: live views, empty states, times and tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from driftwarden.dashboard.api import connection, notice, read

__all__ = [
    "HISTORY_RUNS",
    "chart",
    "empty",
    "live",
    "parse_time",
    "scored_runs",
    "side_by_side",
    "table",
    "when",
]


#: How many monitor runs the history views read (30 days of runs every 6 hours).
HISTORY_RUNS = 120


def live(render: Callable[[], None]) -> None:
    """Draw ``render`` as a fragment that redraws itself in place every ``dashboard.refresh``
    (the rest of the page, and its widgets' state, stay as they are). The outcome of an action
    that reran the page is drawn above it."""
    notice()
    st.fragment(render, run_every=connection().refresh)()


def empty(message: str) -> None:
    """An empty state: what will appear here, and when."""
    st.info(message, icon=":material/hourglass_empty:")


def chart(figure: go.Figure, key: str) -> None:
    """One Plotly chart, as wide as its column."""
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


def side_by_side(left: tuple[go.Figure, str], right: tuple[go.Figure, str]) -> None:
    """Two charts (figure, key) in two columns."""
    for column, (figure, key) in zip(st.columns(2), (left, right), strict=True):
        with column:
            chart(figure, key)


def scored_runs(limit: int, what: str) -> list[dict[str, Any]] | None:
    """The latest ``limit`` monitor runs that scored a window, newest first; or, before the
    first, an empty state saying that ``what`` appears after it, and None."""
    conn = connection()
    runs = [r for r in read("monitoring_runs", limit=limit) if r.get("results")]
    if runs:
        return runs
    empty(
        f"No monitor run has scored a window yet. The monitor runs every "
        f"{conn.monitor_interval} over the last {conn.monitor_window}; {what} after its "
        "first run."
    )
    return None


def parse_time(text: str) -> datetime:
    """An API time (``2024-05-01T00:00:00Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def when(text: str | None) -> str:
    """An API time for people: ``2024-05-01 00:00 UTC``, or an em dash for none."""
    if not text:
        return "—"
    return parse_time(text).strftime("%Y-%m-%d %H:%M UTC")


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    key: str,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Rows as a table of the given columns, in that order (missing values left empty)."""
    frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
    if labels:
        frame = frame.rename(columns=dict(labels))
    st.dataframe(frame, hide_index=True, key=key)
