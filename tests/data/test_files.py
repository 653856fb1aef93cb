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
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="cannot read"):
        read_table(tmp_path / "bad.parquet")


def test_read_table_empty_file_says_what_was_expected_and_what_to_do(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(
        DataError,
        match=r"'.*empty\.csv' is empty: expected a header line naming the columns and at least "
        r"one row of data; write the data into it, or point --data \(or training\.data in "
        r"driftwarden\.toml\) at the file that holds it",
    ):
        read_table(tmp_path / "empty.csv")


@pytest.mark.parametrize("name", ["header.csv", "header.parquet"])
def test_read_table_header_without_rows_names_the_columns_and_the_fix(tmp_path, name):
    path = tmp_path / name
    frame = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)})
    if name.endswith(".csv"):
        path.write_text("a,b\n")
    else:
        frame.to_parquet(path)
    with pytest.raises(
        DataError,
        match=r"has a header \('a', 'b'\) but no rows of data; write the data into it, or "
        r"point --data",
    ):
        read_table(path)


def test_read_table_parquet_without_columns_is_a_clear_error(tmp_path):
    pd.DataFrame(index=range(3)).to_parquet(tmp_path / "none.parquet")
    with pytest.raises(DataError, match="has no columns; write the data into it"):
        read_table(tmp_path / "none.parquet")
