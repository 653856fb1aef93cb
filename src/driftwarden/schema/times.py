"""Event times: parse a schema's time column, or say which of its values are not times."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema._coerce import missing_mask
from driftwarden.schema._messages import show

__all__ = ["parse_times"]


def parse_times(series: pd.Series[Any], column: str) -> NDArray[np.datetime64]:
    """Parse a time column into ``datetime64`` values, ``NaT`` where a value is missing.

    Accepted: a datetime column, or text in one date format throughout (``2024-01-31``,
    ``01/31/2024``...) or in any mix of ISO 8601 forms (``2024-01-31``,
    ``2024-01-31T12:00:00+01:00``). Times with a UTC offset are converted to UTC, so that times
    written in summer and in winter time compare correctly; times without one are read as UTC.
    Blank text counts as missing, as everywhere in the schema.

    Parameters
    ----------
    series : Series
        The column's values.
    column : str
        Its name, for the error message.

    Returns
    -------
    ndarray of datetime64
        One value per row, without a time zone, in row order.

    Raises
    ------
    SchemaMismatchError
        If a value is neither missing nor a time, or the column holds numbers or flags (a
        number has no unit that says which time it is); the message shows a few such values.

    Examples
    --------
    >>> times = parse_times(pd.Series(["2024-01-02", "2024-01-01T12:00+02:00", " "]), "ts")
    >>> np.datetime_as_string(times, unit="m").tolist()
    ['2024-01-02T00:00', '2024-01-01T10:00', 'NaT']
    """
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _naive_utc(pd.Series(series, copy=False))
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        raise SchemaMismatchError(
            f"time column {column!r} holds {dtype} values, not times: expected dates or "
            f"timestamps such as '2024-01-31 12:00:00', got values such as "
            f"{show([str(v) for v in pd.unique(series.dropna())])}. Convert the column to "
            "timestamps (for epoch seconds: pd.to_datetime(values, unit='s')), or name another "
            "time column (driftwarden init --time, schema.time_column in driftwarden.toml)",
            column=column,
        )
    text = series.where(~missing_mask(series))
    try:
        return _naive_utc(_to_datetime(text))
    except (ValueError, TypeError, OverflowError) as exc:
        first_error = exc
    try:
        # A mix of ISO 8601 forms (a date, then a date with a time) defeats the format pandas
        # infers from the first value, but is unambiguous.
        return _naive_utc(_to_datetime(text, format="ISO8601"))
    except (ValueError, TypeError, OverflowError):
        pass
    raise SchemaMismatchError(
        f"time column {column!r} holds values that are not times, such as "
        f"{_bad_examples(text, first_error)}: expected dates or timestamps in one format "
        "throughout, or ISO 8601 such as '2024-01-31T12:00:00'. Fix those values, or name "
        "another time column (driftwarden init --time, schema.time_column in driftwarden.toml)",
        column=column,
    )


def _to_datetime(text: pd.Series[Any], **options: Any) -> pd.Series[Any]:
    with warnings.catch_warnings():
        # Without a recognisable format pandas parses value by value and says so; that is
        # slower, not wrong.
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        parsed: pd.Series[Any] = pd.to_datetime(text, utc=True, **options)
    return parsed


def _naive_utc(times: pd.Series[Any]) -> NDArray[np.datetime64]:
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    values: NDArray[np.datetime64] = times.to_numpy()
    return values


def _bad_examples(text: pd.Series[Any], error: Exception) -> str:
    """A few values that do not parse in the format of the others, or pandas' reason."""
    try:
        coerced = _to_datetime(text, errors="coerce")
    except (ValueError, TypeError, OverflowError):
        return f"those pandas rejects ({str(error).splitlines()[0]})"
    bad = coerced.isna().to_numpy() & text.notna().to_numpy()
    examples = [str(v) for v in pd.unique(text[bad])]
    return show(examples) if examples else f"those pandas rejects ({str(error).splitlines()[0]})"
