from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema import (
    FeatureSchema,
    FeatureSpec,
    PredictionRequest,
    build_request_model,
    infer_schema,
)

# Eight customers with the quirks of the Telco churn file: a 0/1 integer flag (SeniorCitizen),
# numbers stored as text with a " " blank (TotalCharges), Yes/No strings.
SAMPLE = Path(__file__).with_name("telco_sample.csv")


@pytest.fixture
def telco() -> pd.DataFrame:
    return pd.read_csv(SAMPLE)


@pytest.fixture
def telco_schema(telco: pd.DataFrame) -> FeatureSchema:
    return infer_schema(telco, target="Churn", entity_id="customerID")


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customerID": "7590-VHVEG",
        "gender": "Female",
        "SeniorCitizen": "0",
        "Partner": "Yes",
        "tenure": 1,
        "Contract": "Month-to-month",
        "MonthlyCharges": 29.85,
        "TotalCharges": 29.85,
    }
    row.update(changes)
    return row


@pytest.fixture
def request_model(telco_schema: FeatureSchema) -> type[PredictionRequest]:
    return build_request_model(telco_schema)


def _locs(exc: ValidationError) -> list[tuple[Any, ...]]:
    return [error["loc"] for error in exc.errors()]


def test_request_model_accepts_a_valid_row(request_model: type[PredictionRequest]):
    request = request_model.model_validate(_row(request_id="r-1"))
    assert request.request_id == "r-1"
    assert request.entity_value() == "7590-VHVEG"
    assert request.feature_values() == {
        "gender": "Female",
        "SeniorCitizen": "0",
        "Partner": "Yes",
        "tenure": 1.0,
        "Contract": "Month-to-month",
        "MonthlyCharges": 29.85,
        "TotalCharges": 29.85,
    }


def test_request_model_accepts_json(request_model: type[PredictionRequest]):
    body = '{"gender": "Male", "SeniorCitizen": 1, "Partner": "No", "tenure": 3, '
    body += '"Contract": "One year", "MonthlyCharges": 20, "TotalCharges": null}'
    request = request_model.model_validate_json(body)
    assert request.feature_values()["TotalCharges"] is None
    assert request.feature_values()["SeniorCitizen"] == "1"
    assert request.request_id is None
    assert request.entity_value() is None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_request_model_rejects_non_finite_numbers_naming_the_field(
    request_model: type[PredictionRequest], value: float
):
    with pytest.raises(ValidationError, match="finite number") as info:
        request_model.model_validate(_row(MonthlyCharges=value))
    assert _locs(info.value) == [("MonthlyCharges",)]


def test_request_model_nullable_numbers_accept_null_but_not_nan(
    request_model: type[PredictionRequest],
):
    assert (
        request_model.model_validate(_row(TotalCharges=None)).feature_values()["TotalCharges"]
        is None
    )
    row = _row()
    del row["TotalCharges"]
    assert request_model.model_validate(row).feature_values()["TotalCharges"] is None
    with pytest.raises(ValidationError, match="finite number") as info:
        request_model.model_validate(_row(TotalCharges=math.nan))
    assert _locs(info.value) == [("TotalCharges",)]


def test_request_model_requires_non_nullable_features(request_model: type[PredictionRequest]):
    row = _row()
    del row["tenure"]
    with pytest.raises(ValidationError, match="Field required") as info:
        request_model.model_validate(row)
    assert _locs(info.value) == [("tenure",)]
    with pytest.raises(ValidationError, match="valid string") as info:
        request_model.model_validate(_row(gender=None))
    assert _locs(info.value) == [("gender",)]


def test_request_model_rejects_unknown_fields(request_model: type[PredictionRequest]):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted") as info:
        request_model.model_validate(_row(tenur=3))
    assert _locs(info.value) == [("tenur",)]


def test_request_model_accepts_unseen_categories(request_model: type[PredictionRequest]):
    request = request_model.model_validate(_row(Contract="Three year"))
    assert request.feature_values()["Contract"] == "Three year"


@pytest.mark.parametrize(("sent", "label"), [(0, "0"), (1.0, "1"), (True, "True"), ("1", "1")])
def test_request_model_categorical_numbers_become_labels(
    request_model: type[PredictionRequest], sent: Any, label: str
):
    request = request_model.model_validate(_row(SeniorCitizen=sent))
    assert request.feature_values()["SeniorCitizen"] == label


def test_request_model_categorical_rejects_non_finite_and_other_types(
    request_model: type[PredictionRequest],
):
    for value in (math.nan, ["0"]):
        with pytest.raises(ValidationError, match="valid string"):
            request_model.model_validate(_row(SeniorCitizen=value))


def test_request_model_parses_numbers_sent_as_text(request_model: type[PredictionRequest]):
    assert request_model.model_validate(_row(tenure="12")).feature_values()["tenure"] == 12.0
    with pytest.raises(ValidationError, match="valid number"):
        request_model.model_validate(_row(tenure="twelve"))


def test_request_model_entity_id_may_be_a_number(request_model: type[PredictionRequest]):
    assert request_model.model_validate(_row(customerID=42)).entity_value() == "42"


def test_request_model_request_id_is_bounded(request_model: type[PredictionRequest]):
    with pytest.raises(ValidationError, match="at most 128") as info:
        request_model.model_validate(_row(request_id="x" * 129))
    assert _locs(info.value) == [("request_id",)]


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("column", ["tenure", "TotalCharges"])
def test_request_model_rejects_booleans_for_numbers_naming_the_field(
    request_model: type[PredictionRequest], column: str, value: bool
):
    with pytest.raises(ValidationError, match=f"got the boolean {str(value).lower()}") as info:
        request_model.model_validate(_row(**{column: value}))
    assert _locs(info.value) == [(column,)]


def test_request_model_rejects_json_booleans_for_numbers(request_model: type[PredictionRequest]):
    body = '{"gender": "Male", "SeniorCitizen": 1, "Partner": "No", "tenure": true, '
    body += '"Contract": "One year", "MonthlyCharges": 20}'
    with pytest.raises(ValidationError, match="send 1 or 0") as info:
        request_model.model_validate_json(body)
    assert _locs(info.value) == [("tenure",)]


@pytest.mark.parametrize("blank", ["", " ", "\t \n"])
def test_request_model_refuses_a_blank_required_category(
    request_model: type[PredictionRequest], blank: str
):
    with pytest.raises(ValidationError, match="blank string") as info:
        request_model.model_validate(_row(Contract=blank))
    assert _locs(info.value) == [("Contract",)]


@pytest.mark.parametrize("blank", ["", "  "])
def test_request_model_reads_a_blank_optional_category_as_missing(blank: str):
    schema = FeatureSchema(
        features=[
            FeatureSpec(name="band", kind="categorical", categories=["a"], nullable=True),
            FeatureSpec(name="plan", kind="categorical", categories=["b"]),
        ]
    )
    model = build_request_model(schema)
    request = model.model_validate({"band": blank, "plan": " b "})
    assert request.feature_values() == {"band": None, "plan": " b "}


def test_request_model_entity_id_is_bounded_by_what_the_store_holds(
    request_model: type[PredictionRequest],
):
    longest = "c" * 256
    assert request_model.model_validate(_row(customerID=longest)).entity_value() == longest
    with pytest.raises(ValidationError, match="at most 256 characters") as info:
        request_model.model_validate(_row(customerID=longest + "c"))
    assert _locs(info.value) == [("customerID",)]
    entity = request_model.model_json_schema()["properties"]["customerID"]
    assert {"type": "string", "maxLength": 256} in entity["anyOf"]


def test_request_model_refuses_a_request_id_kept_for_shadow_rows(
    request_model: type[PredictionRequest],
):
    with pytest.raises(ValidationError, match="does not end with ':shadow'") as info:
        request_model.model_validate(_row(request_id="r-1:shadow"))
    assert _locs(info.value) == [("request_id",)]
    assert request_model.model_validate(_row(request_id="shadow:r-1")).request_id == "shadow:r-1"


def test_request_model_json_schema_documents_the_fields(request_model: type[PredictionRequest]):
    document = request_model.model_json_schema()
    properties = document["properties"]
    assert list(properties)[:2] == ["request_id", "gender"]
    assert "customerID" in properties
    assert document["additionalProperties"] is False
    assert document["required"] == [
        "gender",
        "SeniorCitizen",
        "Partner",
        "tenure",
        "Contract",
        "MonthlyCharges",
    ]
    contract = properties["Contract"]
    assert "'Month-to-month', 'One year', 'Two year'" in contract["description"]
    assert contract["examples"] == ["Month-to-month", "One year", "Two year"]
    tenure = properties["tenure"]
    assert "from 0 to 45" in tenure["description"]
    assert "NaN and infinity are rejected" in tenure["description"]
    assert "Send null" in properties["TotalCharges"]["description"]
    assert document["description"].startswith("One row to score: 7 features")


def test_request_model_example_is_a_valid_body(request_model: type[PredictionRequest]):
    (example,) = request_model.model_json_schema()["examples"]
    request = request_model.model_validate(example)
    assert request.feature_values()["tenure"] == 0.0


def test_request_model_of_odd_column_names():
    names = ["Monthly Charges", "class", "model_version", "_x", "feature_0", "feature_values"]
    specs = [FeatureSpec(name=n, kind="numeric") for n in names]
    specs.append(FeatureSpec(name="band", kind="categorical"))
    schema = FeatureSchema(features=specs, entity_id="entity id")
    model = build_request_model(schema, name="ScoreRow")
    body = {n: i for i, n in enumerate(names)} | {"band": "z", "entity id": "e-1"}
    request = model.model_validate(body)
    assert request.feature_values() == {n: float(i) for i, n in enumerate(names)} | {"band": "z"}
    assert request.entity_value() == "e-1"
    assert model.__name__ == "ScoreRow"
    document = model.model_json_schema()
    assert document["title"] == "ScoreRow"
    assert set(document["properties"]) == {"request_id", "entity id", "band", *names}
    assert "known categories: none" in document["properties"]["band"]["description"]
    (example,) = document["examples"]
    assert model.model_validate(example).feature_values()["band"] == "a"


def test_request_model_summarises_many_categories():
    categories = [f"c{i:02d}" for i in range(25)]
    schema = FeatureSchema(
        features=[
            FeatureSpec(name="code", kind="categorical", categories=categories, nullable=True)
        ]
    )
    model = build_request_model(schema)
    field = model.model_json_schema()["properties"]["code"]
    assert "'c19' and 5 more" in field["description"]
    assert len(field["examples"]) == 20
    assert model.model_validate({}).feature_values() == {"code": None}


@pytest.mark.parametrize("role", ["feature", "entity"])
def test_request_model_refuses_a_column_called_request_id(role: str):
    if role == "feature":
        schema = FeatureSchema(features=[FeatureSpec(name="request_id", kind="numeric")])
    else:
        schema = FeatureSchema(
            features=[FeatureSpec(name="x", kind="numeric")], entity_id="request_id"
        )
    with pytest.raises(SchemaMismatchError, match="collides with the request's own") as info:
        build_request_model(schema)
    assert info.value.column == "request_id"


def test_request_model_base_has_no_features():
    request = PredictionRequest()
    assert request.feature_values() == {}
    assert request.entity_value() is None


def test_request_model_sanitised_names_avoid_real_columns():
    schema = FeatureSchema(
        features=[
            FeatureSpec(name="feature_1", kind="numeric"),
            FeatureSpec(name="a b", kind="numeric"),
        ]
    )
    request = build_request_model(schema).model_validate({"feature_1": 1, "a b": 2})
    assert request.feature_values() == {"feature_1": 1.0, "a b": 2.0}
