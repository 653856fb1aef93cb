import gzip

import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError, DataError
from driftwarden.data.files import read_table


def test_read_table_reads_csv_gzip_and_parquet(tmp_path):
    frame = pd.DataFrame({"a": [1.5, 2.0], "b": ["x", " "]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    with gzip.open(tmp_path / "d.csv.gz", "wt") as out:
        frame.to_csv(out, index=False)
    for name in ("d.csv", "d.parquet", "d.csv.gz"):
        read = read_table(tmp_path / name)
        assert list(read.columns) == ["a", "b"]
        assert read["a"].tolist() == [1.5, 2.0]
    # A blank-looking cell stays text for the schema to judge, not NaN.
    assert read_table(tmp_path / "d.csv")["b"].tolist() == ["x", " "]


def test_read_table_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(ConfigError, match="unsupported extension"):
        read_table(tmp_path / "d.xlsx")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="cannot read"):
        read_table(tmp_path / "bad.parquet")
