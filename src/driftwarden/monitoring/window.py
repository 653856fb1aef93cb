"""A window of logged predictions as columns: read from the store, features parsed column-wise.

The features of a logged prediction are stored as JSON text. Parsing a million of them one by
one in Python would cost more than all the statistics of the window, so each chunk is joined
into newline-delimited JSON and parsed by pyarrow in one call, with the column types taken from
the reference profiles (numeric columns as float64, categorical ones as text). A chunk that
does not fit those types (a text value in a numeric column, which the data-quality check must
count as invalid, not lose) is parsed row by row instead.
"""

from __future__ import annotations

import io
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


def _parse_fast(lines: list[str], schema: pa.Schema) -> pd.DataFrame:
    data = "\n".join(lines).encode()
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pa_json.read_json(
        io.BytesIO(data),
        read_options=pa_json.ReadOptions(block_size=max(1 << 20, len(data) // 4 + 1)),
        parse_options=options,
    )
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def _parse_slow(lines: list[str], kinds: Mapping[str, str]) -> pd.DataFrame:
    rows = [json.loads(line) for line in lines]
    columns: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = [row.get(name) for row in rows]
        if kind == "categorical":
            values = [None if v is None else str(v) for v in values]
        columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def parse_features(lines: list[str], kinds: Mapping[str, str]) -> pd.DataFrame:
    """The features named in ``kinds`` of rows given as JSON text, one column each."""
    if not lines:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in kinds})
    schema = pa.schema([(name, _arrow_type(kind)) for name, kind in kinds.items()])
    try:
        return _parse_fast(lines, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _parse_slow(lines, kinds)


def assemble(chunks: Iterable[WindowChunk], kinds: Mapping[str, str]) -> WindowFrame:
    """Parse and join the chunks of a window."""
    parts = list(chunks)
    frames = [parse_features(chunk.features, kinds) for chunk in parts]
    if not parts:
        empty = np.empty(0)
        return WindowFrame(
            empty.astype(np.int64),
            empty.astype(np.str_),
            empty,
            empty,
            parse_features([], kinds),
        )
    features = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return WindowFrame(
        np.concatenate([c.model_version for c in parts]),
        np.concatenate([c.variant for c in parts]),
        np.concatenate([c.score for c in parts]),
        np.concatenate([c.latency_ms for c in parts]),
        features,
    )
