"""A window of logged predictions as columns: read from the store, features parsed column-wise.

The features of a logged prediction are stored as JSON text. Parsing a million of them one by
one in Python would cost more than all the statistics of the window, so the store hands the
window over as newline-delimited JSON, one object per row written by the database itself
(:class:`~driftwarden.store.WindowChunk`), and pyarrow parses each chunk in one call, on every
core, with the column types taken from the reference profiles (numeric columns as float64,
categorical ones as text). A chunk that does not fit those types (a text value in a numeric
column, which the data-quality check must count as invalid, not lose) is parsed row by row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from numpy.typing import NDArray

from driftwarden.store import WindowChunk

__all__ = ["WindowFrame", "assemble"]


@dataclass(frozen=True, slots=True)
class WindowFrame:
    """Every row of a window: who scored it, the score, the latency, and the features."""

    model_version: NDArray[np.int64]
    variant: NDArray[np.str_]
    score: NDArray[np.float64]
    latency_ms: NDArray[np.float64]
    features: pd.DataFrame

    def __len__(self) -> int:
        return len(self.score)

    def versions(self) -> list[int]:
        """The model versions that scored rows of the window, in ascending order."""
        return sorted(int(v) for v in np.unique(self.model_version))

    def of_version(self, version: int) -> WindowFrame:
        """The rows one version scored (its answers and its shadow scores)."""
        mask = self.model_version == version
        return WindowFrame(
            self.model_version[mask],
            self.variant[mask],
            self.score[mask],
            self.latency_ms[mask],
            self.features.loc[mask].reset_index(drop=True),
        )


def _arrow_type(kind: str) -> pa.DataType:
    return pa.float64() if kind == "numeric" else pa.string()


def _features_schema(kinds: Mapping[str, str]) -> pa.Schema:
    return pa.schema([(name, _arrow_type(kind)) for name, kind in kinds.items()])


def _row_schema(kinds: Mapping[str, str]) -> pa.Schema:
    return pa.schema(
        [("v", pa.int64()), ("r", pa.string()), ("s", pa.float64()), ("l", pa.float64()),
         ("f", pa.struct(list(_features_schema(kinds))))]
    )  # fmt: skip


def _strings(values: pa.ChunkedArray) -> NDArray[np.str_]:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.str_)


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def _parse_fast(chunk: WindowChunk, kinds: Mapping[str, str]) -> WindowFrame:
    whole_rows = chunk.columns is None
    schema = _row_schema(kinds) if whole_rows else _features_schema(kinds)
    table = pa_json.read_json(
        pa.BufferReader(chunk.lines),
        # Blocks of a quarter of the chunk at least: pyarrow parses blocks in parallel.
        read_options=pa_json.ReadOptions(block_size=max(1 << 20, len(chunk.lines) // 4 + 1)),
        parse_options=pa_json.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore"
        ),
    )
    if chunk.columns is not None:
        c = chunk.columns
        return WindowFrame(c.model_version, c.variant, c.score, c.latency_ms, _to_pandas(table))
    struct = table.column("f").combine_chunks()
    features = pa.table({name: struct.field(name) for name in kinds})
    return WindowFrame(
        table.column("v").to_numpy(),
        _strings(table.column("r")),
        table.column("s").to_numpy(),
        table.column("l").to_numpy(),
        _to_pandas(features),
    )


def _parse_slow(chunk: WindowChunk, kinds: Mapping[str, str]) -> WindowFrame:
    objects = [json.loads(line) for line in chunk.lines.splitlines() if line]
    rows = objects if chunk.columns is None else [{"f": o} for o in objects]
    columns: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = [row["f"].get(name) for row in rows]
        if kind == "categorical":
            values = [None if v is None else str(v) for v in values]
        columns[name] = pd.Series(values, dtype=object)
    features = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    if chunk.columns is not None:
        c = chunk.columns
        return WindowFrame(c.model_version, c.variant, c.score, c.latency_ms, features)
    return WindowFrame(
        np.array([row["v"] for row in rows], dtype=np.int64),
        np.array([row["r"] for row in rows], dtype=np.str_),
        np.array([row["s"] for row in rows], dtype=np.float64),
        np.array([row["l"] for row in rows], dtype=np.float64),
        features,
    )


def parse_chunk(chunk: WindowChunk, kinds: Mapping[str, str]) -> WindowFrame:
    """The rows of one chunk as columns, with the features named in ``kinds``.

    A value of another type than its feature's kind (text in a numeric column) fails the fast
    parse, and the chunk is parsed row by row, keeping such values for the quality check.
    """
    try:
        return _parse_fast(chunk, kinds)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _parse_slow(chunk, kinds)


def _empty(kinds: Mapping[str, str]) -> WindowFrame:
    empty = np.empty(0)
    features = pd.DataFrame({name: pd.Series([], dtype=object) for name in kinds})
    return WindowFrame(empty.astype(np.int64), empty.astype(np.str_), empty, empty, features)


def assemble(chunks: Iterable[WindowChunk], kinds: Mapping[str, str]) -> WindowFrame:
    """Parse and join the chunks of a window."""
    parts = [parse_chunk(chunk, kinds) for chunk in chunks if chunk.n_rows]
    if not parts:
        return _empty(kinds)
    if len(parts) == 1:
        return parts[0]
    return WindowFrame(
        np.concatenate([p.model_version for p in parts]),
        np.concatenate([p.variant for p in parts]),
        np.concatenate([p.score for p in parts]),
        np.concatenate([p.latency_ms for p in parts]),
        pd.concat([p.features for p in parts], ignore_index=True),
    )
