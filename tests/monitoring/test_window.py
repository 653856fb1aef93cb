"""Windows as columns: the fast column-wise JSON parse, its row-by-row fallback, and versions
the registry does not know."""

from datetime import timedelta

import numpy as np
import pandas as pd

from driftwarden.monitoring import assemble
from driftwarden.monitoring.window import parse_features
from driftwarden.store import PredictionRow, WindowChunk, insert_rows

KINDS = {"usage": "numeric", "plan": "categorical"}


def test_parse_reads_typed_columns_and_ignores_unknown_keys():
    lines = ['{"usage": 1, "plan": "basic", "x": [1]}', '{"usage": 2.5, "plan": null}', "{}"]
    frame = parse_features(lines, KINDS)
    np.testing.assert_array_equal(frame["usage"].to_numpy(), [1.0, 2.5, np.nan])
    assert frame["plan"].tolist()[:1] == ["basic"]
    assert frame["plan"].isna().tolist() == [False, True, True]


def test_parse_falls_back_row_by_row_on_values_of_another_type():
    # Text in a numeric column must reach the quality check as an invalid value, not be lost;
    # a number in a categorical column is the category of that name.
    lines = ['{"usage": "lots", "plan": 3}', '{"usage": 4.0, "plan": "pro"}']
    frame = parse_features(lines, KINDS)
    assert frame["usage"].tolist() == ["lots", 4.0]
    assert frame["plan"].tolist() == ["3", "pro"]


def test_assemble_joins_chunks_and_keeps_an_empty_window_typed():
    chunk = WindowChunk(
        np.array([1, 2]),
        np.array(["champion", "challenger"]),
        np.array([0.2, 0.7]),
        np.array([1.0, 3.0]),
        ['{"usage": 1, "plan": "a"}', '{"usage": 2, "plan": "b"}'],
    )
    frame = assemble([chunk, chunk], KINDS)
    assert len(frame) == 4
    assert frame.versions() == [1, 2]
    assert frame.of_version(2).features["usage"].tolist() == [2.0, 2.0]
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
