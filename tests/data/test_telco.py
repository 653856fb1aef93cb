from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.data import (
    TELCO_CATEGORICAL,
    TELCO_ID,
    TELCO_NUMERIC,
    TELCO_POSITIVE,
    TELCO_TARGET,
    binary_target,
    load_telco,
)
from driftwarden.data import telco as telco_module
from driftwarden.schema import infer_schema

# From shared/data/README.md: the sha256 of telco_churn.csv (LF line endings).
README_SHA256 = "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"
HEADER = [
    "customerID",
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "tenure",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
    "MonthlyCharges",
    "TotalCharges",
    "Churn",
]
BLANK_IDS = {
    "4472-LVYGI",
    "3115-CZMZD",
    "5709-LVOEQ",
    "4367-NUYAO",
    "1371-DWPAZ",
    "7644-OMVMY",
    "3213-VVOLG",
    "2520-SGTTA",
    "2923-ARZLG",
    "4075-WKNIU",
    "2775-SEFEE",
}


def test_telco_bundled_file_matches_the_readme_sha256():
    source = resources.files("driftwarden.data").joinpath("telco_churn.csv.gz")
    data = gzip.decompress(source.read_bytes())
    assert len(data) == 970_457
    assert hashlib.sha256(data).hexdigest() == README_SHA256


def test_telco_shape_columns_and_positives(telco_frame: pd.DataFrame):
    assert telco_frame.shape == (7043, 21)
    assert list(telco_frame.columns) == HEADER
    assert isinstance(telco_frame.index, pd.RangeIndex)
    assert int((telco_frame[TELCO_TARGET] == TELCO_POSITIVE).sum()) == 1869
    assert int((telco_frame[TELCO_TARGET] == "No").sum()) == 5174
    assert telco_frame[TELCO_ID].is_unique
    assert not telco_frame.isna().any().any()


def test_telco_constants_cover_every_column_once(telco_frame: pd.DataFrame):
    roles = [TELCO_ID, *TELCO_CATEGORICAL, *TELCO_NUMERIC, TELCO_TARGET]
    assert sorted(roles) == sorted(telco_frame.columns)
    assert len(set(roles)) == len(roles)


def test_telco_dtypes(telco_frame: pd.DataFrame):
    assert telco_frame["tenure"].dtype == np.dtype("int64")
    assert telco_frame["MonthlyCharges"].dtype == np.dtype("float64")
    assert telco_frame["TotalCharges"].dtype == np.dtype("float64")
    for column in (TELCO_ID, TELCO_TARGET, *TELCO_CATEGORICAL):
        assert pd.api.types.is_string_dtype(telco_frame[column]), column
    assert set(telco_frame[TELCO_TARGET]) == {"Yes", "No"}


def test_telco_blank_total_charges_are_the_eleven_unbilled_customers(
    telco_frame: pd.DataFrame,
):
    raw = load_telco(raw=True)
    blank = raw["TotalCharges"] == " "
    assert int(blank.sum()) == 11
    assert set(raw.loc[blank, TELCO_ID]) == BLANK_IDS
    assert (blank == (raw["tenure"] == 0)).all()
    # Not yet billed: the total charged to date is zero, not unknown.
    assert (telco_frame.loc[blank, "TotalCharges"] == 0.0).all()
    assert (telco_frame.loc[~blank, "TotalCharges"] > 0).all()
    parsed = pd.to_numeric(raw.loc[~blank, "TotalCharges"])
    assert np.array_equal(parsed.to_numpy(), telco_frame.loc[~blank, "TotalCharges"].to_numpy())


def test_telco_senior_citizen_is_a_yes_no_flag(telco_frame: pd.DataFrame):
    raw = load_telco(raw=True)
    assert raw["SeniorCitizen"].dtype == np.dtype("int64")
    assert set(telco_frame["SeniorCitizen"]) == {"Yes", "No"}
    assert ((telco_frame["SeniorCitizen"] == "Yes") == (raw["SeniorCitizen"] == 1)).all()
    assert int((telco_frame["SeniorCitizen"] == "Yes").sum()) == 1142


def test_telco_raw_keeps_every_other_value(telco_frame: pd.DataFrame):
    raw = load_telco(raw=True)
    assert raw.shape == (7043, 21)
    assert pd.api.types.is_string_dtype(raw["TotalCharges"])
    same = [c for c in HEADER if c not in ("SeniorCitizen", "TotalCharges")]
    pd.testing.assert_frame_equal(raw[same], telco_frame[same])


def test_telco_load_returns_an_independent_frame_each_call():
    first = load_telco()
    first.loc[0, "tenure"] = 999
    assert load_telco().loc[0, "tenure"] == 1


def test_telco_clean_refuses_blanks_outside_tenure_zero():
    raw = load_telco(raw=True)
    raw.loc[0, "TotalCharges"] = " "
    with pytest.raises(SchemaMismatchError, match="blank exactly where tenure is 0"):
        telco_module._clean(raw)


def test_telco_schema_inferred_from_the_clean_frame(telco_frame: pd.DataFrame):
    schema = infer_schema(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID)
    kinds = schema.kinds()
    assert {c for c, k in kinds.items() if k == "numeric"} == set(TELCO_NUMERIC)
    assert {c for c, k in kinds.items() if k == "categorical"} == set(TELCO_CATEGORICAL)
    assert schema.positive_label == TELCO_POSITIVE
    assert not schema.get("TotalCharges").nullable


def test_binary_target_maps_the_positive_label_to_one(telco_frame: pd.DataFrame):
    target = binary_target(telco_frame[TELCO_TARGET])
    assert target.dtype == np.dtype("int64")
    assert target.name == TELCO_TARGET
    assert target.index.equals(telco_frame.index)
    assert int(target.sum()) == 1869
    labels = pd.Series(["a", "b", "a"], index=[10, 11, 12])
    assert binary_target(labels, positive="b").to_dict() == {10: 0, 11: 1, 12: 0}


def test_binary_target_accepts_a_single_class():
    assert binary_target(pd.Series(["No", "No"])).tolist() == [0, 0]


def test_binary_target_rejects_missing_labels():
    with pytest.raises(SchemaMismatchError, match="1 missing values") as info:
        binary_target(pd.Series(["Yes", None, "No"], name="Churn"))
    assert info.value.column == "Churn"


def test_binary_target_rejects_more_than_two_classes():
    with pytest.raises(SchemaMismatchError, match="at most two classes, got 3"):
        binary_target(pd.Series(["Yes", "No", "Maybe"]))
