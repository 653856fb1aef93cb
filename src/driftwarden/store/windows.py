"""Columnar reads of prediction windows for the monitor.

A monitor run needs a handful of columns of every row in a window, not row objects: this module
reads them in chunks straight into arrays and keeps the features as their stored JSON text,
which the monitor parses column-wise in one call per chunk. Windows are half-open,
``start <= created_at < end``, like every window of the store; the reads that take a
``model_version`` keep only the rows that version scored (its answers and its shadow scores).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Text, and_, cast, func, select, union_all
from sqlalchemy.exc import DBAPIError

from driftwarden.store.engine import is_outage, outage_error
from driftwarden.store.queries import _LABELLED_BY, _require_window
from driftwarden.store.tables import Label, Prediction

__all__ = [
    "LabelledScores",
    "WindowChunk",
    "WindowColumns",
    "count_between",
    "labelled_scores",
    "newly_labelled",
    "read_window",
    "scores_between",
    "versions_between",
    "window_bounds_by_count",
]

#: Rows fetched from the database per chunk: large enough that per-chunk costs vanish, small
#: enough that a million-row window never holds every row's text at once.
CHUNK_ROWS = 100_000
# What a logged row takes as JSON, about, to cut PostgreSQL's byte stream into chunks of rows.
_BYTES_PER_ROW = 500


@dataclass(frozen=True, slots=True)
class WindowColumns:
    """Who scored each row of a chunk, the score and the latency."""

    model_version: NDArray[np.int64]
    variant: NDArray[np.str_]
    score: NDArray[np.float64]
    latency_ms: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WindowChunk:
    """Consecutive rows of a window as newline-delimited JSON, one object per row.

    Without ``columns`` each object is a whole row, ``{"v": model_version, "r": variant,
    "s": score, "l": latency_ms, "f": {features}}``, written by the database itself
    (PostgreSQL); with ``columns`` it is the row's features, and the rest is in ``columns``
    (SQLite, whose JSON functions round numbers to 15 digits). Either way a million
    rows reach the monitor as a few large byte strings that one parser call turns into columns,
    not as a million row objects.
    """

    lines: bytes
    n_rows: int
    columns: WindowColumns | None = None

    def __len__(self) -> int:
        return self.n_rows


@dataclass(frozen=True, slots=True)
class LabelledScores:
    """The labelled predictions of a window: who scored them, the score and the true label."""

    model_version: NDArray[np.int64]
    variant: NDArray[np.str_]
    score: NDArray[np.float64]
    #: 0 or 1 for a classifier, the true value for a regression model.
    true_label: NDArray[np.float64]
    received_at: list[datetime]

    def __len__(self) -> int:
        return len(self.received_at)


def _postgres_chunks(
    connection: Connection,
    start: datetime,
    end: datetime,
    chunk_bytes: int,
    model_version: int | None = None,
) -> Iterator[WindowChunk]:
    """COPY the window out as text, one JSON object per line, cut into chunks at line ends."""
    parameters: tuple[Any, ...] = (start, end)
    version = ""
    if model_version is not None:
        version = " AND model_version = %s"
        parameters += (model_version,)
    statement = (
        "COPY (SELECT json_build_object('v', model_version, 'r', variant, 's', score, "
        "'l', latency_ms, 'f', features) FROM predictions "
        f"WHERE created_at >= %s AND created_at < %s{version} ORDER BY created_at, id) TO STDOUT"
    )
    raw = connection.connection.dbapi_connection
    pending = bytearray()
    with raw.cursor() as cursor, cursor.copy(statement, parameters) as copy:  # type: ignore[union-attr]
        for block in copy:
            pending += block
            if len(pending) >= chunk_bytes:
                cut = pending.rindex(b"\n") + 1
                yield _chunk(bytes(pending[:cut]))
                del pending[:cut]
    if pending:
        yield _chunk(bytes(pending))


def _chunk(text: bytes) -> WindowChunk:
    # COPY's text format doubles every backslash; JSON text holds no raw control characters,
    # which are the only other thing it escapes.
    if b"\\" in text:
        text = text.replace(b"\\\\", b"\\")
    return WindowChunk(text, text.count(b"\n"))


class _CollectorPause:
    """Keeps the cyclic garbage collector from running while a window's rows are fetched.

    Fetching allocates millions of short-lived row objects, none of them in a cycle, and each
    allocation threshold they pass sets off a collection that walks every object of the
    process: 4-5 s of a million-row read. Pausing only postpones collection; the pauses of
    concurrent reads are counted, and the last one to end restores the collector.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = True

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


def _of_version(query: Any, model_version: int | None) -> Any:
    """``query`` restricted to the rows ``model_version`` scored (unchanged for None)."""
    if model_version is None:
        return query
    return query.where(Prediction.model_version == model_version)


def _generic_chunks(
    connection: Connection,
    start: datetime,
    end: datetime,
    chunk_rows: int,
    model_version: int | None = None,
) -> Iterator[WindowChunk]:
    query = (
        select(
            Prediction.model_version,
            Prediction.variant,
            Prediction.score,
            Prediction.latency_ms,
            # As text: the driver would otherwise build a dict per row.
            cast(Prediction.features, Text),
        )
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .order_by(Prediction.created_at, Prediction.id)
    )
    query = _of_version(query, model_version)
    result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
    while True:
        with _collector_paused():
            rows = result.fetchmany(chunk_rows)
            if not rows:
                return
            versions, variants, scores, latencies, features = zip(*rows, strict=True)
            n = len(rows)
            columns = WindowColumns(
                np.fromiter(versions, dtype=np.int64, count=n),
                np.array(variants, dtype=np.str_),
                np.fromiter(scores, dtype=np.float64, count=n),
                np.fromiter(latencies, dtype=np.float64, count=n),
            )
            lines = ("\n".join(features) + "\n").encode()
            del rows, versions, variants, scores, latencies, features
        yield WindowChunk(lines, n, columns)


def read_window(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    chunk_rows: int = CHUNK_ROWS,
    model_version: int | None = None,
) -> Iterator[WindowChunk]:
    """Yield the window's rows in chunks (of about ``chunk_rows``), oldest first; only those
    ``model_version`` scored when it is given.

    PostgreSQL copies the rows out (``COPY ... TO STDOUT``) as JSON objects it writes itself;
    SQLite's rows are fetched in chunks, with the garbage collector paused.

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``end`` is before ``start``.
    StoreUnavailableError
        If the database cannot be reached.
    """
    _require_window(start, end)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                chunk_bytes = chunk_rows * _BYTES_PER_ROW
                yield from _postgres_chunks(connection, start, end, chunk_bytes, model_version)
            else:
                yield from _generic_chunks(connection, start, end, chunk_rows, model_version)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        raise outage_error(
            engine, exc, "could not read the monitoring window", "the run will be retried"
        ) from exc


def window_bounds_by_count(engine: Engine, end: datetime, rows: int) -> datetime | None:
    """The start of the window that holds the latest ``rows`` predictions before ``end``
    (``None`` when there are none)."""
    _require_window(end, end)
    query = (
        select(Prediction.created_at)
        .where(Prediction.created_at < end)
        .order_by(Prediction.created_at.desc())
        .offset(rows - 1)
        .limit(1)
    )
    with engine.connect() as connection:
        start = connection.scalar(query)
        if start is None:
            start = connection.scalar(
                select(func.min(Prediction.created_at)).where(Prediction.created_at < end)
            )
    return start


def labelled_scores(
    engine: Engine, start: datetime, end: datetime, *, model_version: int | None = None
) -> LabelledScores:
    """The predictions of the window that have a true label (shadow rows take their parent's);
    only those ``model_version`` scored when it is given.

    Raises
    ------
    ValueError
        If ``start`` or ``end`` is naive, or ``end`` is before ``start``.
    """
    _require_window(start, end)
    query = (
        select(
            Prediction.model_version,
            Prediction.variant,
            Prediction.score,
            Label.label,
            Label.received_at,
        )
        .join(Label, Label.request_id == _LABELLED_BY)
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(_of_version(query, model_version)).all()
    return _labelled(rows)


def _labelled(rows: Sequence[Sequence[Any]]) -> LabelledScores:
    if not rows:
        empty = np.empty(0)
        return LabelledScores(
            empty.astype(np.int64), empty.astype(np.str_), empty, empty.copy(), []
        )
    versions, variants, scores, labels, received = zip(*rows, strict=True)
    return LabelledScores(
        np.array(versions, dtype=np.int64),
        np.array(variants, dtype=np.str_),
        np.array(scores, dtype=np.float64),
        np.array(labels, dtype=np.float64),
        list(received),
    )


def newly_labelled(
    engine: Engine, since: datetime | None, until: datetime
) -> tuple[list[datetime], LabelledScores]:
    """The predictions whose label arrived in ``since <= received_at < until`` (every labelled
    prediction when ``since`` is None), in order of arrival: their creation times, and who
    scored them with what score and true label.

    The monitor feeds them to its error-stream detector and recomputes the performance of the
    windows they fall in.
    """

    # Two joins on indexed columns (an answered row by its own id, a shadow row by its
    # parent's), not one on coalesce(...), which no index serves: the labels that arrived are
    # few, the predictions many.
    def arrived(on: Any) -> Any:
        query = (
            select(
                Prediction.created_at,
                Prediction.id,
                Prediction.model_version,
                Prediction.variant,
                Prediction.score,
                Label.label,
                Label.received_at,
            )
            .select_from(Label)
            .join(Prediction, on)
            .where(Label.received_at < until)
        )
        return query if since is None else query.where(Label.received_at >= since)

    answered = and_(
        Prediction.request_id == Label.request_id, Prediction.parent_request_id.is_(None)
    )
    both = union_all(arrived(answered), arrived(Prediction.parent_request_id == Label.request_id))
    ordered = both.subquery()
    query = select(
        ordered.c.created_at,
        ordered.c.model_version,
        ordered.c.variant,
        ordered.c.score,
        ordered.c.label,
        ordered.c.received_at,
    ).order_by(ordered.c.received_at, ordered.c.created_at, ordered.c.id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [row[0] for row in rows], _labelled([row[1:] for row in rows])


def versions_between(engine: Engine, start: datetime, end: datetime) -> list[int]:
    """The model versions that scored rows in the window (read from the window index alone)."""
    _require_window(start, end)
    query = (
        select(Prediction.model_version)
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .distinct()
    )
    with engine.connect() as connection:
        return sorted(int(v) for v in connection.scalars(query))


def scores_between(
    engine: Engine, start: datetime, end: datetime, *, model_version: int | None = None
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The version and score of every row of the window, oldest first: the score stream (of
    ``model_version`` alone when it is given)."""
    _require_window(start, end)
    query = (
        select(Prediction.model_version, Prediction.score)
        .where(Prediction.created_at >= start, Prediction.created_at < end)
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(_of_version(query, model_version)).all()
    versions = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    scores = np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows))
    return versions, scores


def count_between(engine: Engine, start: datetime, end: datetime) -> int:
    """How many rows the window holds (read from the window index alone)."""
    _require_window(start, end)
    query = (
        select(func.count())
        .select_from(Prediction)
        .where(Prediction.created_at >= start, Prediction.created_at < end)
    )
    with engine.connect() as connection:
        return int(connection.scalar(query) or 0)
