"""Helpers shared by the drift scenarios: times, argument checks, row updates.

Times are compared as UTC nanoseconds since the epoch. A naive time (a ``numpy.datetime64``,
a naive ``datetime`` or string) is read as UTC; an aware one is converted to UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import check_frame, check_rng, require_columns
from driftwarden.data.labels import LabelModel

__all__ = [
    "DurationLike",
    "TimeLike",
    "Times",
    "assign_rows",
    "check_column",
    "check_end",
    "check_label_model",
    "check_real",
    "prepare",
    "ramp",
    "relabel",
    "span",
    "stamp_ns",
    "to_timedelta",
    "to_timestamp",
    "to_utc_ns",
]

TimeLike: TypeAlias = pd.Timestamp | datetime | np.datetime64 | str
"""An instant: aware or naive (read as UTC) datetime, ``numpy.datetime64`` or ISO 8601 text."""

DurationLike: TypeAlias = pd.Timedelta | timedelta | np.timedelta64 | str
"""A duration: ``timedelta``, ``numpy.timedelta64`` or text such as ``"7D"`` or ``"12h"``."""

Times: TypeAlias = "NDArray[np.datetime64] | pd.Series[Any] | pd.DatetimeIndex | Sequence[datetime]"
"""One time per row: datetime64 array, datetime series or index, or a list of datetimes."""


def to_timestamp(value: object, name: str) -> pd.Timestamp:
    """Return ``value`` as an aware UTC timestamp, or raise ConfigError."""
    if not isinstance(value, pd.Timestamp | datetime | np.datetime64 | str):
        raise ConfigError(
            f"{name} must be a datetime, numpy.datetime64 or ISO 8601 string, got "
            f"{type(value).__name__}"
        )
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot read {value!r} as a time: {exc}") from exc
    if pd.isna(stamp):
        raise ConfigError(f"{name} must be a time, got {value!r}")
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC")


def to_timedelta(value: object, name: str) -> pd.Timedelta:
    """Return ``value`` as a positive timedelta, or raise ConfigError."""
    if not isinstance(value, pd.Timedelta | timedelta | np.timedelta64 | str):
        raise ConfigError(
            f"{name} must be a timedelta, numpy.timedelta64 or string such as '7D', got "
            f"{type(value).__name__}"
        )
    try:
        delta = pd.Timedelta(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot read {value!r} as a duration: {exc}") from exc
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise ConfigError(f"{name} must be a positive duration, got {value!r}")
    return delta


def check_real(
    value: object, name: str, *, low: float = -math.inf, high: float = math.inf
) -> float:
    """Return ``value`` as a float if it is a finite real number in [low, high]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(float(value))
        or not low <= float(value) <= high
    ):
        bounds = "" if (low, high) == (-math.inf, math.inf) else f" in [{low:g}, {high:g}]"
        raise ConfigError(f"{name} must be a finite number{bounds}, got {value!r}")
    return float(value)


def stamp_ns(stamp: pd.Timestamp) -> int:
    """Return an aware timestamp as UTC nanoseconds since the epoch."""
    return int(stamp.as_unit("ns").value)


def to_utc_ns(times: object, rows: int) -> NDArray[np.int64]:
    """Return one UTC nanosecond time per row, or raise SchemaMismatchError."""
    if isinstance(times, pd.Series | pd.Index | np.ndarray) and (
        pd.api.types.is_numeric_dtype(times.dtype) or pd.api.types.is_bool_dtype(times.dtype)
    ):
        raise SchemaMismatchError(
            f"times must hold datetimes, got numbers of dtype {times.dtype}; convert them with "
            "pandas.to_datetime first"
        )
    try:
        index = pd.DatetimeIndex(times)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SchemaMismatchError(f"times must hold datetimes: {exc}") from exc
    if len(index) != rows:
        raise SchemaMismatchError(
            f"times has {len(index)} values for a frame of {rows} rows; give one time per row"
        )
    if bool(index.isna().any()):
        raise SchemaMismatchError("times has missing values (NaT); give every row a time")
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


def ramp(
    times_ns: NDArray[np.int64], start: pd.Timestamp, end: pd.Timestamp
) -> NDArray[np.float64]:
    """Weight of a drift per row: 0 before ``start``, rising linearly to 1 at ``end``.

    With ``end == start`` the weight is 1 from ``start`` on (a step).
    """
    begin, finish = stamp_ns(start), stamp_ns(end)
    if finish == begin:
        return (times_ns >= begin).astype(np.float64)
    weights = (times_ns - begin).astype(np.float64) / float(finish - begin)
    return np.clip(weights, 0.0, 1.0)


def assign_rows(
    frame: pd.DataFrame, column: str, mask: NDArray[np.bool_], values: Any, dtype: Any = None
) -> None:
    """Set ``column`` to ``values`` in the rows of ``mask``, keeping the column's dtype.

    The whole column is replaced, so the other rows keep their exact values and no index
    alignment is involved.
    """
    current = frame[column]
    array = current.to_numpy(dtype=object, copy=True)
    array[mask] = values
    frame[column] = pd.Series(array, index=frame.index, name=column).astype(
        current.dtype if dtype is None else dtype
    )


def prepare(
    frame: pd.DataFrame, times: Times, rng: np.random.Generator
) -> tuple[pd.DataFrame, NDArray[np.int64], np.random.Generator]:
    """Check the arguments of ``apply``; return a copy of the frame, its times and ``rng``."""
    frame = check_frame(frame, "frame", allow_empty=True)
    return frame.copy(), to_utc_ns(times, len(frame)), check_rng(rng)


def relabel(
    frame: pd.DataFrame,
    changed: NDArray[np.bool_],
    label_model: LabelModel | None,
    rng: np.random.Generator,
) -> None:
    """Redraw the labels of the changed rows from the label model, if one is given."""
    if label_model is None or not bool(changed.any()):
        return
    require_columns(frame, [label_model.target], "target")
    labels = label_model.sample(frame.iloc[np.flatnonzero(changed)], rng)
    assign_rows(frame, label_model.target, changed, labels.to_numpy(dtype=object))


def check_column(column: object, name: str = "column") -> str:
    """Return ``column`` if it is a non-empty string, else raise ConfigError."""
    if not isinstance(column, str) or not column:
        raise ConfigError(f"{name} must be a non-empty column name, got {column!r}")
    return column


def check_label_model(label_model: object) -> None:
    """Raise ConfigError unless ``label_model`` is a LabelModel or None."""
    if label_model is not None and not isinstance(label_model, LabelModel):
        raise ConfigError(
            f"label_model must be a LabelModel or None, got {type(label_model).__name__}"
        )


def check_end(start: TimeLike, end: TimeLike | None) -> None:
    """Raise ConfigError if a time is invalid or ``end`` comes before ``start``."""
    begin = to_timestamp(start, "start")
    if end is not None and to_timestamp(end, "end") < begin:
        raise ConfigError(f"end ({end!r}) must not come before start ({start!r})")


def span(start: TimeLike, end: TimeLike | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return ``(start, end)`` as UTC timestamps, ``end`` defaulting to ``start``."""
    begin = to_timestamp(start, "start")
    return begin, begin if end is None else to_timestamp(end, "end")
