from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from driftwarden.core.errors import ConfigError, NotFoundError, SchemaMismatchError
from driftwarden.schema import FeatureSchema, FeatureSpec, infer_schema

# Eight customers with the quirks of the Telco churn file: a 0/1 integer flag (SeniorCitizen),
# numbers stored as text with a " " blank (TotalCharges), Yes/No strings.
SAMPLE = Path(__file__).with_name("telco_sample.csv")


@pytest.fixture
def telco() -> pd.DataFrame:
    return pd.read_csv(SAMPLE)


@pytest.fixture
def telco_schema(telco: pd.DataFrame) -> FeatureSchema:
    return infer_schema(telco, target="Churn", entity_id="customerID")


def _schema(**kwargs: object) -> FeatureSchema:
    base: dict[str, object] = {
        "features": [
            FeatureSpec(name="tenure", kind="numeric", min=0, max=72),
            FeatureSpec(name="Contract", kind="categorical", categories=["Two year", "One year"]),
        ]
    }
    return FeatureSchema.model_validate({**base, **kwargs})


# -- FeatureSpec -------------------------------------------------------------------------


def test_feature_spec_sorts_categories():
    spec = FeatureSpec(name="c", kind="categorical", categories=["b", "a", "c"])
    assert spec.categories == ["a", "b", "c"]


def test_feature_spec_rejects_repeated_categories():
    with pytest.raises(ValidationError, match="categories repeat 'a'"):
        FeatureSpec(name="c", kind="categorical", categories=["a", "b", "a"])


def test_feature_spec_numeric_cannot_have_categories():
    with pytest.raises(ValidationError, match="numeric feature 'x' cannot have categories"):
        FeatureSpec(name="x", kind="numeric", categories=["a"])


def test_feature_spec_categorical_cannot_have_a_range():
    with pytest.raises(ValidationError, match="categorical feature 'c' cannot have min/max"):
        FeatureSpec(name="c", kind="categorical", max=1.0)


def test_feature_spec_range_must_be_ordered():
    with pytest.raises(ValidationError, match=r"min \(5.0\) of 'x' exceeds its max"):
        FeatureSpec(name="x", kind="numeric", min=5, max=1)


@pytest.mark.parametrize("bound", [math.inf, -math.inf, math.nan])
def test_feature_spec_range_must_be_finite(bound: float):
    with pytest.raises(ValidationError, match="must be finite"):
        FeatureSpec(name="x", kind="numeric", min=bound)


def test_feature_spec_rejects_unknown_kinds_and_keys():
    with pytest.raises(ValidationError, match="'numeric' or 'categorical'"):
        FeatureSpec(name="x", kind="text")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        FeatureSpec.model_validate({"name": "x", "kind": "numeric", "unit": "EUR"})


def test_feature_spec_is_frozen():
    spec = FeatureSpec(name="x", kind="numeric")
    with pytest.raises(ValidationError, match="frozen"):
        spec.nullable = True  # type: ignore[misc]


# -- FeatureSchema -----------------------------------------------------------------------


def test_feature_schema_needs_a_feature():
    with pytest.raises(ValidationError, match="at least 1 item"):
        FeatureSchema(features=[])


def test_feature_schema_rejects_duplicate_features():
    spec = FeatureSpec(name="x", kind="numeric")
    with pytest.raises(ValidationError, match="feature 'x' is listed twice"):
        FeatureSchema(features=[spec, spec])


@pytest.mark.parametrize("role", ["target", "entity_id", "time_column"])
def test_feature_schema_role_cannot_be_a_feature(role: str):
    with pytest.raises(ValidationError, match=f"'tenure' is the {role} and cannot also be"):
        _schema(**{role: "tenure"})


def test_feature_schema_roles_are_distinct():
    with pytest.raises(ValidationError, match="must be different columns"):
        _schema(target="Churn", entity_id="Churn")


def test_feature_schema_positive_label_needs_a_target():
    with pytest.raises(ValidationError, match="positive_label is set but target is not"):
        _schema(positive_label="Yes")


def test_feature_schema_names_and_kinds():
    schema = _schema()
    assert schema.feature_names == ["tenure", "Contract"]
    assert schema.kinds() == {"tenure": "numeric", "Contract": "categorical"}
    assert schema.numeric_features == ["tenure"]
    assert schema.categorical_features == ["Contract"]
    assert schema.task == "binary_classification"


def test_feature_schema_get():
    assert _schema().get("Contract").categories == ["One year", "Two year"]


def test_feature_schema_get_unknown_suggests_close_names():
    with pytest.raises(NotFoundError, match=r"no feature named 'tenur'.*did you mean 'tenure'"):
        _schema().get("tenur")


def test_feature_schema_get_unknown_without_close_names():
    with pytest.raises(NotFoundError, match=r"no feature named 'zzz' .*\)$"):
        _schema().get("zzz")


# -- serialisation -----------------------------------------------------------------------


@pytest.mark.parametrize("label", ["Yes", True, 1, None])
def test_feature_schema_json_round_trip(label: object):
    schema = _schema(target="Churn", entity_id="id", time_column="ts", positive_label=label)
    again = FeatureSchema.from_json(schema.to_json())
    assert again == schema
    assert type(again.positive_label) is type(schema.positive_label)


def test_feature_schema_json_round_trip_of_an_inferred_schema(telco_schema: FeatureSchema):
    assert FeatureSchema.from_json(telco_schema.to_json(indent=None)) == telco_schema


def test_feature_schema_from_json_rejects_bad_json():
    with pytest.raises(ConfigError, match=r"(?s)invalid feature schema JSON.*Invalid JSON"):
        FeatureSchema.from_json("{not json")


def test_feature_schema_from_json_names_the_bad_key():
    text = '{"features": [{"name": "x", "kind": "text"}]}'
    with pytest.raises(ConfigError, match=r"schema\.features\.0\.kind") as info:
        FeatureSchema.from_json(text)
    assert info.value.key == "schema.features.0.kind"


def test_feature_schema_toml_dict_round_trip(telco_schema: FeatureSchema):
    table = telco_schema.to_toml_dict()
    assert table["target"] == "Churn"
    assert table["features"]["SeniorCitizen"] == {
        "kind": "categorical",
        "dtype": "int64",
        "nullable": False,
        "categories": ["0", "1"],
    }
    assert None not in table.values()
    assert FeatureSchema.from_toml_dict(table) == telco_schema


def test_feature_schema_toml_dict_leaves_out_unset_values():
    schema = FeatureSchema(features=[FeatureSpec(name="x", kind="numeric")])
    assert schema.to_toml_dict() == {
        "task": "binary_classification",
        "unlisted_columns": "ignore",
        "features": {"x": {"kind": "numeric", "nullable": False}},
    }


def test_feature_schema_from_toml_dict_refuses_inferring_unlisted_columns():
    table = {"unlisted_columns": "infer", "features": {"x": {"kind": "numeric"}}}
    with pytest.raises(ConfigError, match="a complete schema lists every feature") as info:
        FeatureSchema.from_toml_dict(table)
    assert info.value.key == "schema.unlisted_columns"


def test_feature_schema_from_a_toml_document():
    table = tomllib.loads(
        """
        target = "Churn"
        positive_label = "Yes"
        [features.tenure]
        kind = "numeric"
        min = 0
        max = 72
        [features.Contract]
        kind = "categorical"
        categories = ["One year", "Month-to-month"]
        """
    )
    schema = FeatureSchema.from_toml_dict(table)
    assert schema.feature_names == ["tenure", "Contract"]
    assert schema.get("tenure").max == 72.0
    assert schema.get("Contract").categories == ["Month-to-month", "One year"]


def test_feature_schema_from_toml_dict_names_the_feature():
    table = {"features": {"tenure": {"kind": "numeric"}, "Contract": {"kind": "text"}}}
    with pytest.raises(ConfigError, match=r"schema\.features\.Contract\.kind") as info:
        FeatureSchema.from_toml_dict(table)
    assert info.value.key == "schema.features.Contract.kind"


def test_feature_schema_from_toml_dict_rejects_a_name_mismatch():
    table = {"features": {"tenure": {"kind": "numeric", "name": "other"}}}
    with pytest.raises(ConfigError, match=r"schema\.features\.tenure\.name"):
        FeatureSchema.from_toml_dict(table)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (["x"], "must be a table, got list"),
        ({"features": ["x"]}, r"schema\.features must be a table"),
        ({"features": {"x": "numeric"}}, r"schema\.features\.x must be a table"),
    ],
)
def test_feature_schema_from_toml_dict_rejects_bad_shapes(table: object, message: str):
    with pytest.raises(ConfigError, match=message):
        FeatureSchema.from_toml_dict(table)  # type: ignore[arg-type]


# -- frames ------------------------------------------------------------------------------


def test_feature_schema_validate_frame_accepts_roles_and_unseen_categories(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    telco_schema.validate_frame(telco)
    telco_schema.validate_frame(telco.drop(columns=["Churn", "customerID"]))
    telco.loc[0, "Contract"] = "Three year"
    telco_schema.validate_frame(telco)


def test_feature_schema_validate_frame_names_the_first_missing_column(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    frame = telco.drop(columns=["tenure", "Contract"]).assign(extra=1)
    with pytest.raises(
        SchemaMismatchError,
        match=r"column 'tenure' .* not in the frame\. missing: 'tenure', 'Contract'\. "
        r"unexpected: 'extra'\.",
    ) as info:
        telco_schema.validate_frame(frame)
    assert info.value.column == "tenure"


def test_feature_schema_validate_frame_rejects_extra_columns(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    with pytest.raises(SchemaMismatchError, match="column 'notes' is not in the feature schema"):
        telco_schema.validate_frame(telco.assign(notes="x"))


def test_feature_schema_validate_frame_rejects_text_in_numeric_columns(
    telco: pd.DataFrame, telco_schema: FeatureSchema
):
    telco["TotalCharges"] = telco["TotalCharges"].replace({"301.9": "n/a", "820.5": "n/a"})
    with pytest.raises(SchemaMismatchError, match=r"numeric column 'TotalCharges'.*'n/a'") as info:
        telco_schema.validate_frame(telco)
    assert info.value.column == "TotalCharges"


def test_feature_schema_validate_frame_rejects_duplicate_columns(telco_schema: FeatureSchema):
    frame = pd.DataFrame([[1, 2]], columns=["tenure", "tenure"])
    with pytest.raises(SchemaMismatchError, match="duplicate columns 'tenure'"):
        telco_schema.validate_frame(frame)


def test_feature_schema_error_messages_shorten_long_lists():
    schema = FeatureSchema(features=[FeatureSpec(name=f"f{i}", kind="numeric") for i in range(8)])
    with pytest.raises(SchemaMismatchError, match="'f4' and 3 more"):
        schema.validate_frame(pd.DataFrame({"other": [1]}))


def test_feature_schema_coerce_frame(telco: pd.DataFrame, telco_schema: FeatureSchema):
    frame = telco.iloc[::-1].set_index(pd.Index([5, 5, 4, 3, 2, 1, 0, 0]))
    frame["SeniorCitizen"] = frame["SeniorCitizen"].astype(float)
    out = telco_schema.coerce_frame(frame)
    assert list(out.columns) == [*telco_schema.feature_names, "Churn", "customerID"]
    assert out.index.equals(frame.index)
    assert out["TotalCharges"].dtype == np.float64
    assert out["TotalCharges"].isna().sum() == 1
    assert out["TotalCharges"].iloc[0] == 301.9
    assert out["SeniorCitizen"].dtype == object
    assert set(out["SeniorCitizen"]) == {"0", "1"}
    assert out["Churn"].tolist() == frame["Churn"].tolist()
    assert out["Churn"].dtype == frame["Churn"].dtype


def test_feature_schema_coerce_frame_keeps_missing_categories_missing(
    telco_schema: FeatureSchema, telco: pd.DataFrame
):
    telco.loc[0, "Contract"] = None
    telco.loc[1, "Contract"] = " "
    out = telco_schema.coerce_frame(telco)
    assert out["Contract"].isna().tolist()[:3] == [True, True, False]


def test_feature_schema_coerce_frame_validates(telco_schema: FeatureSchema, telco: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match="column 'gender'"):
        telco_schema.coerce_frame(telco.drop(columns="gender"))
