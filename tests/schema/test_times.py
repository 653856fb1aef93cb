"""Parsing the time column: formats, offsets, missing values and the errors for the rest."""

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema import parse_times


def test_parse_times_reads_one_format_and_blanks():
    times = parse_times(pd.Series(["03/04/2024", " ", "12/04/2024", None]), "ts")
    assert times[0] == np.datetime64("2024-03-04")
    assert times[2] == np.datetime64("2024-12-04")
    assert np.isnat(times[[1, 3]]).all()


def test_parse_times_reads_mixed_iso_forms_and_offsets_in_utc():
    times = parse_times(
        pd.Series(["2024-01-01", "2024-01-01T12:00:00", "2024-01-01T12:00:00+02:00"]), "ts"
    )
    assert list(times) == [
        np.datetime64("2024-01-01T00:00"),
        np.datetime64("2024-01-01T12:00"),
        np.datetime64("2024-01-01T10:00"),
    ]


def test_parse_times_keeps_datetime_columns_and_converts_zones():
    zoned = pd.Series(pd.date_range("2024-06-01", periods=2, freq="D", tz="Europe/Paris"))
    assert parse_times(zoned, "ts")[0] == np.datetime64("2024-05-31T22:00")
    naive = pd.Series(pd.date_range("2024-06-01", periods=2, freq="D"))
    assert parse_times(naive, "ts")[1] == np.datetime64("2024-06-02")


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (["2024-01-01", "soon", "2024-01-03"], "'soon'"),
        (["03/04/2024", "13/04/2024"], "'13/04/2024'"),
        (["2024-01-01", "01/02/2024"], "'01/02/2024'"),
    ],
)
def test_parse_times_names_the_values_that_are_not_times(values, shown):
    with pytest.raises(
        SchemaMismatchError,
        match=rf"time column 'ts' holds values that are not times, such as {shown}: expected "
        r".*name another time column \(driftwarden init --time",
    ) as info:
        parse_times(pd.Series(values), "ts")
    assert info.value.column == "ts"


@pytest.mark.parametrize("values", [[1, 2, 3], [0.5, 1.5], [True, False]])
def test_parse_times_refuses_numbers_and_flags(values):
    with pytest.raises(
        SchemaMismatchError, match=r"time column 'ts' holds \w+ values, not times.*unit='s'"
    ):
        parse_times(pd.Series(values), "ts")
