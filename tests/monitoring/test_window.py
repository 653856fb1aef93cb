"""Windows as columns: the fast column-wise JSON parse, its row-by-row fallback, and versions
the registry does not know."""

import json
from datetime import timedelta

import numpy as np
import pandas as pd

from driftwarden.monitoring import assemble
from driftwarden.monitoring.window import parse_chunk
from driftwarden.store import PredictionRow, WindowChunk, WindowColumns, insert_rows

KINDS = {"usage": "numeric", "plan": "categorical"}


def _chunk(*features, version=1):
    lines = [
        json.dumps({"v": version, "r": "champion", "s": 0.25, "l": 2.0, "f": f}) for f in features
    ]
    return WindowChunk(("\n".join(lines) + "\n").encode(), len(lines))


def test_parse_reads_typed_columns_and_ignores_unknown_keys():
    chunk = _chunk({"usage": 1, "plan": "basic", "x": [1]}, {"usage": 2.5, "plan": None}, {})
    frame = parse_chunk(chunk, KINDS)
    np.testing.assert_array_equal(frame.features["usage"].to_numpy(), [1.0, 2.5, np.nan])
    assert frame.features["plan"].tolist()[:1] == ["basic"]
    assert frame.features["plan"].isna().tolist() == [False, True, True]
    assert frame.model_version.tolist() == [1, 1, 1]
    assert frame.variant.tolist() == ["champion"] * 3
    assert frame.score.tolist() == [0.25] * 3
    assert frame.latency_ms.dtype == np.float64


def test_parse_falls_back_row_by_row_on_values_of_another_type():
    # Text in a numeric column must reach the quality check as an invalid value, not be lost;
    # a number in a categorical column is the category of that name.
    chunk = _chunk({"usage": "lots", "plan": 3}, {"usage": 4.0, "plan": "pro"}, version=2)
    frame = parse_chunk(chunk, KINDS)
    assert frame.features["usage"].tolist() == ["lots", 4.0]
    assert frame.features["plan"].tolist() == ["3", "pro"]
    assert frame.model_version.tolist() == [2, 2]


def test_parse_takes_the_columns_beside_features_only_lines():
    lines = b'{"usage": 1, "plan": "a"}\n{"usage": "x", "plan": "b"}\n'
    columns = WindowColumns(
        np.array([3, 3]), np.array(["shadow", "shadow"]), np.array([0.1, 0.9]), np.array([1.0, 2.0])
    )
    frame = parse_chunk(WindowChunk(lines, 2, columns), KINDS)  # text in usage: the slow path
    assert frame.features["usage"].tolist() == [1, "x"]
    assert frame.score.tolist() == [0.1, 0.9]
    fast = parse_chunk(WindowChunk(b'{"usage": 1, "plan": "a"}\n', 1, _first(columns)), KINDS)
    assert fast.features["usage"].tolist() == [1.0]
    assert fast.variant.tolist() == ["shadow"]


def _first(columns):
    return WindowColumns(*(getattr(columns, name)[:1] for name in WindowColumns.__slots__))


def test_assemble_joins_chunks_and_keeps_an_empty_window_typed():
    first = _chunk({"usage": 1, "plan": "a"}, version=1)
    second = _chunk({"usage": 2, "plan": "b"}, {"usage": 3, "plan": "b"}, version=2)
    frame = assemble([first, WindowChunk(b"", 0), second], KINDS)
    assert len(frame) == 3
    assert frame.versions() == [1, 2]
    assert frame.of_version(2).features["usage"].tolist() == [2.0, 3.0]
    assert frame.features.index.tolist() == [0, 1, 2]
    empty = assemble([], KINDS)
    assert len(empty) == 0
    assert list(empty.features.columns) == ["usage", "plan"]
    assert isinstance(empty.features, pd.DataFrame)


def test_rows_of_a_version_the_registry_lacks_are_skipped(make_served, churn_frame, caplog):
    served = make_served()
    served.traffic(churn_frame(200, seed=9), over=timedelta(hours=1))
    now = served.clock.now()
    insert_rows(
        served.engine,
        [
            PredictionRow(
                f"x{i}",
                now - timedelta(minutes=5),
                99,
                "champion",
                {"usage": 3.0, "plan": "pro"},
                0.4,
                0,
                1.0,
            )
            for i in range(20)
        ],
    )
    report = served.monitor.run_once()
    assert report.outcome.n_rows == 220
    assert [r.model_version for r in report.outcome.results] == [1]
    assert "version 99 scored 20 rows of the window but is not in the registry" in caplog.text
