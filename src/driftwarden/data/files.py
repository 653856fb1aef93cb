"""Read a user's dataset from a CSV or Parquet file, with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from driftwarden.core.errors import ConfigError, DataError

__all__ = ["SUPPORTED_SUFFIXES", "read_table"]

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or Parquet file into a frame.

    CSV cells are read as text where pandas cannot tell (the schema parses numbers stored as
    text, with blanks as missing values), and no value is silently turned into NaN except empty
    cells.

    Raises
    ------
    ConfigError
        The file does not exist or has an unsupported extension.
    DataError
        The file is empty, unreadable, or has no rows.
    """
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist; check the path", key="data")
    if not name.endswith(SUPPORTED_SUFFIXES):
        raise ConfigError(
            f"data file {str(path)!r} has an unsupported extension; use one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}",
            key="data",
        )
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"data file {str(path)!r} is empty: expected a header line naming the columns and "
            f"at least one row of data; {_FIX}"
        ) from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read data file {str(path)!r}: {exc}") from exc
    if len(frame.columns) == 0:
        raise DataError(f"data file {str(path)!r} has no columns; {_FIX}")
    if frame.empty:
        shown = ", ".join(repr(str(c)) for c in frame.columns[:5])
        raise DataError(
            f"data file {str(path)!r} has a header ({shown}"
            f"{' ...' if len(frame.columns) > 5 else ''}) but no rows of data; {_FIX}"
        )
    return frame


_FIX = (
    "write the data into it, or point --data (or training.data in driftwarden.toml) at the "
    "file that holds it"
)
