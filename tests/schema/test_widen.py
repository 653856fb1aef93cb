from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema import FeatureSchema, FeatureSpec, SchemaChange, widen_schema
from driftwarden.training.fit import _check_declared


def _schema(**features: FeatureSpec) -> FeatureSchema:
    """A small contract: tenure in [0, 72], a Contract with three categories, a 0/1 flag."""
    specs = {
        "tenure": FeatureSpec(name="tenure", kind="numeric", dtype="int64", min=0, max=72),
        "Contract": FeatureSpec(
            name="Contract",
            kind="categorical",
            dtype="object",
            categories=["Month-to-month", "One year", "Two year"],
        ),
        "SeniorCitizen": FeatureSpec(
            name="SeniorCitizen", kind="categorical", categories=["0", "1"]
        ),
        **features,
    }
    return FeatureSchema(
        features=list(specs.values()),
        target="Churn",
        entity_id="customerID",
        time_column="ts",
        positive_label="Yes",
    )


def _frame(**columns: list[object]) -> pd.DataFrame:
    """Three rows inside :func:`_schema`, with columns replaced or added by ``columns``."""
    base: dict[str, list[object]] = {
        "tenure": [1, 12, 72],
        "Contract": ["Month-to-month", "One year", "Two year"],
        "SeniorCitizen": [0, 1, 0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def _changes_by_kind(changes: list[SchemaChange]) -> dict[tuple[str, str], SchemaChange]:
    return {(c.feature, c.kind): c for c in changes}


# -- each kind of change -------------------------------------------------------------------


def test_widen_schema_adds_new_categories_sorted():
    schema = _schema()
    frame = _frame(
        tenure=[1, 2, 3, 4, 5],
        Contract=["Sat", "Fiber 2", "One year", "Sat", "Fiber 2"],
        SeniorCitizen=[0, 1, 0, 1, 0],
    )
    widened, changes = widen_schema(schema, frame)
    assert changes == [
        SchemaChange(
            feature="Contract",
            kind="new_categories",
            before=["Month-to-month", "One year", "Two year"],
            after=["Fiber 2", "Sat"],
            n_rows=4,
        )
    ]
    assert widened.get("Contract").categories == [
        "Fiber 2",
        "Month-to-month",
        "One year",
        "Sat",
        "Two year",
    ]
    assert changes[0].describe() == "Contract: 2 new categories 'Fiber 2', 'Sat' (4 rows)"


def test_widen_schema_lowers_min_to_the_lowest_value():
    widened, changes = widen_schema(_schema(), _frame(tenure=[-3, -1, 5]))
    assert changes == [SchemaChange("tenure", "min_lowered", 0.0, -3.0, 2)]
    tenure = widened.get("tenure")
    assert (tenure.min, tenure.max) == (-3.0, 72.0)
    assert changes[0].describe() == "tenure: min lowered from 0 to -3 (2 rows)"


def test_widen_schema_raises_max_to_the_highest_value():
    widened, changes = widen_schema(_schema(), _frame(tenure=[80.5, 10, 73]))
    assert changes == [SchemaChange("tenure", "max_raised", 72.0, 80.5, 2)]
    tenure = widened.get("tenure")
    assert (tenure.min, tenure.max) == (0.0, 80.5)
    assert changes[0].describe() == "tenure: max raised from 72 to 80.5 (2 rows)"


def test_widen_schema_makes_features_with_missing_values_nullable():
    frame = _frame(tenure=[1.0, None, math.nan], Contract=["One year", None, " "])
    widened, changes = widen_schema(_schema(), frame)
    assert changes == [
        SchemaChange("tenure", "now_nullable", False, True, 2),
        SchemaChange("Contract", "now_nullable", False, True, 2),
    ]
    assert widened.get("tenure").nullable
    assert widened.get("Contract").nullable
    assert not widened.get("SeniorCitizen").nullable
    assert changes[0].describe() == "tenure: now nullable (2 rows missing a value)"


def test_widen_schema_several_changes_in_feature_then_kind_order():
    frame = _frame(
        tenure=[-5, 100, None, 7],
        Contract=["Sat", None, "One year", "Sat"],
        SeniorCitizen=[0, 1, 2, 1],
    )
    widened, changes = widen_schema(_schema(), frame)
    assert [(c.feature, c.kind) for c in changes] == [
        ("tenure", "min_lowered"),
        ("tenure", "max_raised"),
        ("tenure", "now_nullable"),
        ("Contract", "new_categories"),
        ("Contract", "now_nullable"),
        ("SeniorCitizen", "new_categories"),
    ]
    assert [c.describe() for c in changes] == [
        "tenure: min lowered from 0 to -5 (1 row)",
        "tenure: max raised from 72 to 100 (1 row)",
        "tenure: now nullable (1 row missing a value)",
        "Contract: 1 new category 'Sat' (2 rows)",
        "Contract: now nullable (1 row missing a value)",
        "SeniorCitizen: 1 new category '2' (1 row)",
    ]
    tenure = widened.get("tenure")
    assert (tenure.min, tenure.max, tenure.nullable) == (-5.0, 100.0, True)
    assert widened.get("SeniorCitizen").categories == ["0", "1", "2"]


def test_widen_schema_keeps_everything_else():
    schema = _schema()
    widened, _ = widen_schema(schema, _frame(tenure=[-5, 100, None], Contract=["Sat"] * 3))
    assert widened.feature_names == schema.feature_names
    assert widened.kinds() == schema.kinds()
    assert [f.dtype for f in widened.features] == [f.dtype for f in schema.features]
    assert (widened.target, widened.entity_id, widened.time_column) == ("Churn", "customerID", "ts")
    assert (widened.task, widened.positive_label) == (schema.task, schema.positive_label)
    assert widened.get("SeniorCitizen") == schema.get("SeniorCitizen")
    # The input is a frozen model and stays as it was.
    assert schema == _schema()


# -- nothing to widen ----------------------------------------------------------------------


def test_widen_schema_returns_the_same_schema_when_nothing_needs_widening():
    schema = _schema()
    frame = _frame(customerID=["a", "b", "c"], Churn=["No", "Yes", "No"], unrelated=[1, 2, 3])
    widened, changes = widen_schema(schema, frame)
    assert widened is schema
    assert changes == []


def test_widen_schema_on_an_empty_frame_changes_nothing():
    schema = _schema()
    widened, changes = widen_schema(schema, _frame().iloc[:0])
    assert widened is schema
    assert changes == []


def test_widen_schema_twice_changes_nothing_the_second_time():
    frame = _frame(tenure=[-5, 100, None], Contract=["Sat", "One year", None])
    widened, changes = widen_schema(_schema(), frame)
    assert changes
    again, more = widen_schema(widened, frame)
    assert again is widened
    assert more == []


def test_widen_schema_leaves_undeclared_bounds_and_empty_categories_alone():
    schema = FeatureSchema(
        features=[
            FeatureSpec(name="x", kind="numeric", max=10),
            FeatureSpec(name="y", kind="numeric"),
            FeatureSpec(name="c", kind="categorical"),
        ]
    )
    frame = pd.DataFrame({"x": [-1e9, 5], "y": [-1, 1e12], "c": ["anything", "else"]})
    widened, changes = widen_schema(schema, frame)
    assert widened is schema
    assert changes == []


def test_widen_schema_leaves_nullable_features_alone():
    schema = _schema(
        income=FeatureSpec(name="income", kind="numeric", nullable=True, min=0, max=10)
    )
    widened, changes = widen_schema(schema, _frame(income=[None, 5, math.nan]))
    assert widened is schema
    assert changes == []


# -- coercion, NaN, infinities -------------------------------------------------------------


def test_widen_schema_reads_values_as_coerce_frame_does():
    # "1", 1, 1.0 and numpy's 1 are all the category "1"; numbers may come as text.
    schema = _schema()
    frame = _frame(
        tenure=["1", " 12 ", "72.0", "0"],
        Contract=["One year"] * 4,
        SeniorCitizen=["1", 1, 1.0, np.int64(1)],
    )
    widened, changes = widen_schema(schema, frame)
    assert widened is schema
    assert changes == []


def test_widen_schema_numbers_as_text_widen_the_range():
    widened, changes = widen_schema(_schema(), _frame(tenure=["80", " ", "-2.5"]))
    assert _changes_by_kind(changes) == {
        ("tenure", "min_lowered"): SchemaChange("tenure", "min_lowered", 0.0, -2.5, 1),
        ("tenure", "max_raised"): SchemaChange("tenure", "max_raised", 72.0, 80.0, 1),
        ("tenure", "now_nullable"): SchemaChange("tenure", "now_nullable", False, True, 1),
    }
    assert (widened.get("tenure").min, widened.get("tenure").max) == (-2.5, 80.0)


def test_widen_schema_float_flags_with_nan_are_the_integer_categories():
    # pandas turns [0, 1, None] into floats 0.0, 1.0, NaN: still the categories "0" and "1".
    widened, changes = widen_schema(_schema(), _frame(SeniorCitizen=[0, 1, None]))
    assert changes == [SchemaChange("SeniorCitizen", "now_nullable", False, True, 1)]
    assert widened.get("SeniorCitizen").categories == ["0", "1"]


def test_widen_schema_infinities_are_no_range_evidence_nor_missing():
    schema = _schema()
    frame = _frame(
        tenure=[np.inf, -np.inf, 5.0, "-inf"],
        Contract=["One year"] * 4,
        SeniorCitizen=[0] * 4,
    )
    widened, changes = widen_schema(schema, frame)
    assert widened is schema
    assert changes == []


def test_widen_schema_ignores_nan_for_the_range():
    widened, changes = widen_schema(_schema(), _frame(tenure=[math.nan, 90, math.nan]))
    assert [(c.kind, c.n_rows) for c in changes] == [("max_raised", 1), ("now_nullable", 2)]
    assert widened.get("tenure").max == 90.0


# -- errors --------------------------------------------------------------------------------


def test_widen_schema_missing_feature_column_raises():
    frame = _frame().drop(columns=["Contract"])
    with pytest.raises(SchemaMismatchError, match="column 'Contract' of the feature schema") as exc:
        widen_schema(_schema(), frame)
    assert exc.value.column == "Contract"


def test_widen_schema_text_in_a_numeric_feature_raises():
    with pytest.raises(SchemaMismatchError, match="numeric column 'tenure' holds non-numeric"):
        widen_schema(_schema(), _frame(tenure=["ten", 1, 2]))


# -- determinism and serialisation ---------------------------------------------------------


def test_widen_schema_category_order_does_not_depend_on_row_order():
    rows = _frame(
        tenure=list(range(8)),
        Contract=["Zeta", "alpha", "Beta", "One year", "Zeta", "beta", "Alpha", "Beta"],
        SeniorCitizen=[0] * 8,
    )
    results = [
        widen_schema(_schema(), rows.sample(frac=1.0, random_state=seed)) for seed in range(5)
    ]
    first_schema, first_changes = results[0]
    for widened, changes in results[1:]:
        assert widened == first_schema
        assert changes == first_changes
    assert first_changes[0].after == ["Alpha", "Beta", "Zeta", "alpha", "beta"]
    assert first_changes[0].n_rows == 7


def test_widen_schema_result_round_trips_through_json():
    frame = _frame(tenure=[-5.25, 100.125, None], Contract=["Sat", "One year", None])
    widened, changes = widen_schema(_schema(), frame)
    assert FeatureSchema.from_json(widened.to_json()) == widened
    records = json.loads(json.dumps([c.to_dict() for c in changes]))
    assert [SchemaChange(**r) for r in records] == changes
    assert records[0] == {
        "feature": "tenure",
        "kind": "min_lowered",
        "before": 0.0,
        "after": -5.25,
        "n_rows": 1,
    }


def test_schema_change_to_dict_copies_lists():
    change = SchemaChange("c", "new_categories", ["a"], ["b"], 1)
    data = change.to_dict()
    data["after"].append("z")
    assert change.after == ["b"]


# -- the contract training checks ----------------------------------------------------------


def test_widen_schema_result_passes_the_training_check_the_original_fails():
    schema = _schema()
    frame = _frame(
        tenure=[-5, 100, None, "7"],
        Contract=["Sat", None, "One year", "Sat"],
        SeniorCitizen=[0, 1, 2, "1"],
        customerID=["a", "b", "c", "d"],
        Churn=["No", "Yes", "No", "Yes"],
        ts=["2024-01-01"] * 4,
    )
    data = schema.coerce_frame(frame)
    with pytest.raises(SchemaMismatchError, match="contradicts what the schema declares"):
        _check_declared(schema, data)
    widened, _ = widen_schema(schema, frame)
    _check_declared(widened, widened.coerce_frame(frame))
    _check_declared(widened, data)
