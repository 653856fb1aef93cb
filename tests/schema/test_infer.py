from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.schema import DEFAULT_CATEGORICAL_MAX_LEVELS, FeatureSchema, infer_schema

# Eight customers with the quirks of the Telco churn file: a 0/1 integer flag (SeniorCitizen),
# numbers stored as text with a " " blank (TotalCharges), Yes/No strings.
SAMPLE = Path(__file__).with_name("telco_sample.csv")


@pytest.fixture
def telco() -> pd.DataFrame:
    return pd.read_csv(SAMPLE)


@pytest.fixture
def telco_schema(telco: pd.DataFrame) -> FeatureSchema:
    return infer_schema(telco, target="Churn", entity_id="customerID")


def test_infer_schema_telco_quirks(telco_schema: FeatureSchema):
    assert telco_schema.kinds() == {
        "gender": "categorical",
        "SeniorCitizen": "categorical",
        "Partner": "categorical",
        "tenure": "numeric",
        "Contract": "categorical",
        "MonthlyCharges": "numeric",
        "TotalCharges": "numeric",
    }
    assert telco_schema.target == "Churn"
    assert telco_schema.entity_id == "customerID"
    assert telco_schema.positive_label == "Yes"


def test_infer_schema_int_flag_is_categorical(telco_schema: FeatureSchema):
    senior = telco_schema.get("SeniorCitizen")
    assert senior.categories == ["0", "1"]
    assert senior.dtype == "int64"
    assert senior.nullable is False


def test_infer_schema_numbers_as_text_with_blanks_are_numeric(telco_schema: FeatureSchema):
    total = telco_schema.get("TotalCharges")
    assert total.kind == "numeric"
    assert total.nullable is True
    assert (total.min, total.max) == (29.85, 1949.4)


def test_infer_schema_numeric_range_and_sorted_categories(telco_schema: FeatureSchema):
    tenure = telco_schema.get("tenure")
    assert (tenure.min, tenure.max) == (0.0, 45.0)
    assert telco_schema.get("Contract").categories == ["Month-to-month", "One year", "Two year"]
    assert telco_schema.get("MonthlyCharges").dtype == "float64"


def test_infer_schema_of_other_dtypes():
    df = pd.DataFrame(
        {
            "flag": [True, False, True, True],
            "band": pd.Categorical(["lo", "hi", None, "lo"]),
            "kids": pd.array([0, 2, None, 3], dtype="Int64"),
            "opted_in": [1.0, 0.0, math.nan, 1.0],
            "empty_num": [math.nan] * 4,
            "empty_text": pd.Series([" ", None, "", None], dtype=object),
            "ratio": [0.5, math.inf, 1.5, -math.inf],
            "mixed": pd.Series(["a", 1, 2.5, None], dtype=object),
        }
    )
    schema = infer_schema(df)
    spec = {f.name: f for f in schema.features}
    assert spec["flag"].categories == ["False", "True"]
    assert (spec["band"].kind, spec["band"].categories, spec["band"].nullable) == (
        "categorical",
        ["hi", "lo"],
        True,
    )
    assert (spec["kids"].kind, spec["kids"].min, spec["kids"].max) == ("numeric", 0.0, 3.0)
    assert spec["kids"].nullable is True
    assert (spec["opted_in"].categories, spec["opted_in"].nullable) == (["0", "1"], True)
    assert (spec["empty_num"].kind, spec["empty_num"].min) == ("numeric", None)
    assert (spec["empty_text"].kind, spec["empty_text"].categories) == ("categorical", [])
    assert spec["empty_text"].nullable is True
    assert (spec["ratio"].min, spec["ratio"].max) == (0.5, 1.5)
    assert spec["mixed"].categories == ["1", "2.5", "a"]


@pytest.mark.parametrize(
    ("levels", "kind"), [(0, "numeric"), (2, "categorical"), (3, "categorical")]
)
def test_infer_schema_categorical_max_levels(levels: int, kind: str):
    df = pd.DataFrame({"flag": [0, 1, 1], "three": [1, 2, 3], "y": [0, 1, 0]})
    schema = infer_schema(df, target="y", categorical_max_levels=levels)
    assert schema.get("flag").kind == kind
    assert schema.get("three").kind == ("categorical" if levels >= 3 else "numeric")
    assert DEFAULT_CATEGORICAL_MAX_LEVELS == 2


@pytest.mark.parametrize("levels", [-1, 1.5, True, "2"])
def test_infer_schema_rejects_bad_categorical_max_levels(levels: Any):
    with pytest.raises(ConfigError, match="categorical_max_levels must be a non-negative"):
        infer_schema(pd.DataFrame({"x": [1.5]}), categorical_max_levels=levels)


def test_infer_schema_time_column_may_hold_dates():
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01", "2024-01-02"]), "x": [1.5, 2.5]})
    schema = infer_schema(df, time_column="ts")
    assert schema.time_column == "ts"
    assert schema.feature_names == ["x"]


def test_infer_schema_rejects_date_features():
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01", "2024-01-02"]), "x": [1.5, 2.5]})
    with pytest.raises(
        SchemaMismatchError, match=r"column 'ts' holds datetime64.*time_column"
    ) as e:
        infer_schema(df)
    assert e.value.column == "ts"


# -- frame errors ------------------------------------------------------------------------


def test_infer_schema_rejects_a_non_frame():
    with pytest.raises(SchemaMismatchError, match="needs a pandas DataFrame, got dict"):
        infer_schema({"x": [1]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "df", [pd.DataFrame({"x": []}), pd.DataFrame(index=[0, 1])], ids=["no rows", "no columns"]
)
def test_infer_schema_rejects_an_empty_frame(df: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match="empty frame"):
        infer_schema(df)


def test_infer_schema_rejects_non_string_column_names():
    with pytest.raises(SchemaMismatchError, match="column names must be strings, got 0"):
        infer_schema(pd.DataFrame([[1, 2]]))


def test_infer_schema_rejects_duplicate_columns():
    with pytest.raises(SchemaMismatchError, match="duplicate columns 'a'"):
        infer_schema(pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"]))


@pytest.mark.parametrize("role", ["target", "entity_id", "time_column"])
def test_infer_schema_role_column_must_exist(telco: pd.DataFrame, role: str):
    roles: dict[str, Any] = {role: "churn"}
    with pytest.raises(
        SchemaMismatchError, match=f"the {role} column 'churn' is not in the frame.*'Churn'"
    ) as info:
        infer_schema(telco, **roles)
    assert info.value.column == "churn"


@pytest.mark.parametrize(
    ("role", "fix"),
    [
        ("target", r"pass --target COLUMN, or set schema\.target in driftwarden\.toml"),
        ("entity_id", r"pass --id COLUMN, or set schema\.entity_id in driftwarden\.toml"),
        ("time_column", r"pass --time COLUMN, or set schema\.time_column in driftwarden\.toml"),
    ],
)
def test_infer_schema_missing_role_column_says_how_to_name_another(
    telco: pd.DataFrame, role: str, fix: str
):
    roles: dict[str, Any] = {role: "Exited"}
    with pytest.raises(
        SchemaMismatchError,
        match=r"'Exited' is not in the frame \(columns: 'customerID', 'gender', .* and \d+ "
        rf"more\); {fix}",
    ):
        infer_schema(telco, **roles)


def test_infer_schema_unknown_override_column_lists_columns_and_the_fix(telco: pd.DataFrame):
    with pytest.raises(
        ConfigError,
        match=r"schema\.exclude names the column 'gendr', which is not in the frame \(columns: "
        r"'customerID', .*\); correct the name in driftwarden\.toml, or remove the entry",
    ):
        infer_schema(telco, overrides={"exclude": ["gendr"]})


def test_infer_schema_time_column_must_hold_times(telco: pd.DataFrame):
    with pytest.raises(
        SchemaMismatchError, match=r"time column 'Contract' holds values that are not times"
    ) as info:
        infer_schema(telco, target="Churn", time_column="Contract")
    assert info.value.column == "Contract"


def test_infer_schema_time_column_needs_a_value():
    df = pd.DataFrame({"ts": [" ", ""], "x": [1.5, 2.5]})
    with pytest.raises(SchemaMismatchError, match="time column 'ts' has no values"):
        infer_schema(df, time_column="ts")


def test_infer_schema_time_column_accepts_iso_text():
    df = pd.DataFrame({"ts": ["2024-01-01", "2024-01-02T10:00:00+01:00"], "x": [1.5, 2.5]})
    assert infer_schema(df, time_column="ts").time_column == "ts"


def test_infer_schema_needs_a_feature():
    df = pd.DataFrame({"id": ["a", "b"], "y": [0, 1]})
    with pytest.raises(SchemaMismatchError, match="no feature column is left"):
        infer_schema(df, target="y", entity_id="id")


def test_infer_schema_roles_must_differ(telco: pd.DataFrame):
    with pytest.raises(ConfigError, match="must be different columns"):
        infer_schema(telco, target="Churn", entity_id="Churn")


# -- target ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        (["No", "Yes", "No"], "Yes"),
        ([0, 1, 0], 1),
        ([0.0, 1.0, math.nan], 1),
        ([True, False, True], True),
        (["stayed", "churned", "stayed"], "stayed"),
        ([1, 2, 1], 2),
        (["yes", "yes", None], "yes"),
        (["no", "no", "no"], None),
        ([0.5, 1.5, 0.5], "1.5"),
    ],
)
def test_infer_schema_positive_label(values: list[Any], positive: Any):
    df = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": values})
    label = infer_schema(df, target="y").positive_label
    assert label == positive
    assert type(label) is type(positive)


def test_infer_schema_target_must_be_binary():
    df = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": ["a", "b", "c"]})
    with pytest.raises(SchemaMismatchError, match="target column 'y' has 3 classes") as info:
        infer_schema(df, target="y")
    assert info.value.column == "y"


def test_infer_schema_target_needs_values():
    df = pd.DataFrame({"x": [1.5, 2.5], "y": [None, " "]})
    with pytest.raises(SchemaMismatchError, match="target column 'y' has no values"):
        infer_schema(df, target="y")


def test_infer_schema_positive_label_override(telco: pd.DataFrame):
    schema = infer_schema(telco, target="Churn", overrides={"positive_label": "No"})
    assert schema.positive_label == "No"
    numeric = pd.DataFrame({"x": [1.5, 2.5], "y": ["0", "1"]})
    assert infer_schema(numeric, target="y", overrides={"positive_label": 1}).positive_label == 1


def test_infer_schema_positive_label_must_be_a_target_value(telco: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match="positive_label 'yes' is not a value"):
        infer_schema(telco, target="Churn", overrides={"positive_label": "yes"})


def test_infer_schema_positive_label_needs_a_target(telco: pd.DataFrame):
    with pytest.raises(ConfigError, match="positive_label is set but target is not") as info:
        infer_schema(telco.drop(columns="Churn"), overrides={"positive_label": "Yes"})
    assert info.value.key == "schema"


# -- overrides ---------------------------------------------------------------------------


def test_infer_schema_overrides_win_over_inference(telco: pd.DataFrame):
    overrides = {
        "target": "Churn",
        "entity_id": "customerID",
        "exclude": ["gender"],
        "task": "binary_classification",
        "features": {
            "tenure": {"kind": "categorical"},
            "SeniorCitizen": {"kind": "numeric"},
            "MonthlyCharges": {"min": 0, "max": 200, "dtype": "float32"},
            "Partner": {"categories": ["No", "Yes", "Unknown"], "nullable": True},
        },
    }
    schema = infer_schema(telco, overrides=overrides)
    assert schema.target == "Churn"
    assert "gender" not in schema.feature_names
    assert schema.get("tenure").categories == sorted(str(v) for v in telco["tenure"])
    senior = schema.get("SeniorCitizen")
    assert (senior.kind, senior.min, senior.max) == ("numeric", 0.0, 1.0)
    charges = schema.get("MonthlyCharges")
    assert (charges.min, charges.max, charges.dtype) == (0.0, 200.0, "float32")
    assert schema.get("Partner").categories == ["No", "Unknown", "Yes"]
    assert schema.get("Partner").nullable is True


def test_infer_schema_overrides_declare_text_numbers_numeric():
    df = pd.DataFrame({"code": ["1", "2", "1"], "x": [0.5, 1.5, 2.5]})
    assert infer_schema(df).get("code").kind == "categorical"
    schema = infer_schema(df, overrides={"features": {"code": {"kind": "numeric"}}})
    assert (schema.get("code").kind, schema.get("code").max) == ("numeric", 2.0)


def test_infer_schema_overrides_keep_the_inferred_kind_when_unset(telco: pd.DataFrame):
    schema = infer_schema(telco, overrides={"features": {"tenure": {"nullable": True}}})
    assert schema.get("tenure").kind == "numeric"
    assert schema.get("tenure").nullable is True


def test_infer_schema_keywords_beat_overrides(telco: pd.DataFrame):
    schema = infer_schema(
        telco.assign(Exited=telco["Churn"]),
        target="Churn",
        overrides={"target": "Exited", "entity_id": "customerID", "exclude": ["Exited"]},
    )
    assert schema.target == "Churn"
    assert schema.entity_id == "customerID"


def test_infer_schema_numeric_override_on_text_names_the_values(telco: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match=r"kind = 'numeric'.*text such as 'Female'") as e:
        infer_schema(telco, overrides={"features": {"gender": {"kind": "numeric"}}})
    assert e.value.column == "gender"


def test_infer_schema_invalid_override_value_names_the_key(telco: pd.DataFrame):
    overrides = {"features": {"tenure": {"min": 10, "max": 1}}}
    with pytest.raises(ConfigError, match=r"schema\.features\.tenure.*exceeds its max") as info:
        infer_schema(telco, overrides=overrides)
    assert info.value.key == "schema.features.tenure"


def test_infer_schema_invalid_override_field_names_the_key(telco: pd.DataFrame):
    overrides = {"features": {"tenure": {"nullable": "perhaps"}}}
    with pytest.raises(ConfigError, match=r"schema\.features\.tenure\.nullable") as info:
        infer_schema(telco, overrides=overrides)
    assert info.value.key == "schema.features.tenure.nullable"


@pytest.mark.parametrize(
    ("overrides", "message", "key"),
    [
        (["target"], "must be a table", "schema"),
        ({"targt": "Churn"}, "schema.targt: unknown key.*did you mean 'target'", "schema.targt"),
        ({"target": 3}, "schema.target must be a column name", "schema.target"),
        ({"task": "multiclass"}, "'multiclass' is not supported", "schema.task"),
        ({"positive_label": 1.5}, "positive_label must be a string", "schema.positive_label"),
        ({"exclude": "gender"}, "schema.exclude must be a list", "schema.exclude"),
        ({"exclude": ["gendr"]}, "'gendr', which is not in.*'gender'", "schema.exclude.gendr"),
        ({"features": ["tenure"]}, "schema.features must be a table", "schema.features"),
        (
            {"features": {"tenur": {"kind": "numeric"}}},
            "schema.features names the column 'tenur'.*did you mean 'tenure'",
            "schema.features.tenur",
        ),
        (
            {"features": {"tenure": "numeric"}},
            "schema.features.tenure must be a table",
            "schema.features.tenure",
        ),
        (
            {"features": {"tenure": {"knd": "numeric"}}},
            "tenure.knd: unknown key.*did you mean 'kind'",
            "schema.features.tenure.knd",
        ),
        (
            {"features": {"tenure": {"name": "x"}}},
            "tenure.name is 'x'",
            "schema.features.tenure.name",
        ),
        (
            {"features": {"tenure": {"kind": "text"}}},
            "tenure.kind: 'text' is not a kind",
            "schema.features.tenure.kind",
        ),
        (
            {"target": "Churn", "features": {"Churn": {"kind": "categorical"}}},
            "'Churn' is the target, not a feature",
            "schema.features.Churn",
        ),
        (
            {"exclude": ["tenure"], "features": {"tenure": {"kind": "numeric"}}},
            "also in schema.exclude",
            "schema.features.tenure",
        ),
    ],
)
def test_infer_schema_bad_overrides_name_the_key(
    telco: pd.DataFrame, overrides: Any, message: str, key: str
):
    with pytest.raises(ConfigError, match=message) as info:
        infer_schema(telco, overrides=overrides)
    assert info.value.key == key


def test_infer_schema_accepts_the_settings_schema_table(telco: pd.DataFrame):
    from driftwarden.core.settings import Settings

    table = Settings.model_validate(
        {"schema": {"target": "Churn", "features": {"SeniorCitizen": {"kind": "numeric"}}}}
    ).feature_schema
    schema = infer_schema(telco, overrides=table)
    assert schema.get("SeniorCitizen").kind == "numeric"


def test_infer_schema_round_trips_through_its_own_toml_table(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    again = infer_schema(telco, overrides=telco_schema.to_toml_dict())
    assert again == telco_schema


def test_infer_schema_ignores_unlisted_columns_of_a_complete_table(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    grown = telco.assign(Region="north", Score=np.arange(len(telco), dtype=float))
    assert {"Region", "Score"} <= set(infer_schema(grown, target="Churn").feature_names)
    again = infer_schema(grown, overrides=telco_schema.to_toml_dict())
    assert again == telco_schema


def test_infer_schema_complete_table_keeps_its_feature_order(telco: pd.DataFrame):
    overrides = {
        "target": "Churn",
        "unlisted_columns": "ignore",
        "features": {"tenure": {}, "gender": {"kind": "categorical"}},
    }
    schema = infer_schema(telco[telco.columns[::-1]], overrides=overrides)
    assert schema.feature_names == ["tenure", "gender"]
    assert schema.get("tenure").kind == "numeric"


def test_infer_schema_infers_unlisted_columns_by_default(telco: pd.DataFrame):
    overrides = {"target": "Churn", "features": {"tenure": {"nullable": True}}}
    schema = infer_schema(telco, overrides=overrides)
    assert "gender" in schema.feature_names
    assert schema.get("tenure").nullable is True


def test_infer_schema_complete_table_needs_its_columns(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    with pytest.raises(
        ConfigError, match=r"schema\.features names the column 'tenure', which is not in"
    ):
        infer_schema(telco.drop(columns="tenure"), overrides=telco_schema.to_toml_dict())


def test_infer_schema_ignoring_unlisted_columns_needs_listed_features(telco: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match="none is listed; list the features"):
        infer_schema(telco, overrides={"target": "Churn", "unlisted_columns": "ignore"})


def test_infer_schema_rejects_an_unknown_unlisted_columns_value(telco: pd.DataFrame):
    with pytest.raises(
        ConfigError, match=r"schema\.unlisted_columns must be 'ignore' or 'infer', got 'drop'"
    ) as info:
        infer_schema(telco, overrides={"unlisted_columns": "drop"})
    assert info.value.key == "schema.unlisted_columns"


def test_infer_schema_accepts_numpy_integer_levels():
    df = pd.DataFrame({"flag": [0, 1, 1], "x": [0.5, 1.5, 2.5]})
    levels: Any = np.int64(0)
    assert infer_schema(df, categorical_max_levels=levels).get("flag").kind == "numeric"
