"""A numeric target with many values is a regression target; bad ones are refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from driftwarden.core.errors import SchemaMismatchError
from driftwarden.schema import FeatureSchema, FeatureSpec, infer_schema
from driftwarden.schema.infer import DISTINCT_REGRESSION_VALUES


def _frame(target: object) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = list(target)  # type: ignore[call-overload]
    return pd.DataFrame({"size": rng.normal(100, 10, len(values)), "target": values})


def test_diabetes_target_is_inferred_as_regression() -> None:
    data = load_diabetes(as_frame=True).frame
    schema = infer_schema(data, target="target")
    assert schema.task == "regression"
    assert schema.is_regression
    assert schema.positive_label is None
    assert set(schema.feature_names) == set(data.columns) - {"target"}
    assert FeatureSchema.from_json(schema.to_json()) == schema


def test_two_valued_numeric_target_stays_binary() -> None:
    schema = infer_schema(_frame([0, 1] * 20), target="target")
    assert schema.task == "binary_classification"
    assert schema.positive_label == 1
    assert not schema.is_regression


def test_declared_task_wins_over_inference() -> None:
    values = list(range(DISTINCT_REGRESSION_VALUES)) * 3
    assert infer_schema(_frame(values), target="target").task == "regression"
    values = [float(v) for v in range(40)]
    declared = infer_schema(_frame(values), target="target", overrides={"task": "regression"})
    assert declared.task == "regression"


def test_few_values_for_declared_regression_are_refused() -> None:
    with pytest.raises(SchemaMismatchError, match=r"'target' has only 2 distinct values") as info:
        infer_schema(_frame([0.5, 1.5] * 20), target="target", overrides={"task": "regression"})
    assert info.value.column == "target"
    assert "schema.task = 'binary_classification'" in str(info.value)


def test_a_handful_of_numeric_values_names_both_ways_out() -> None:
    with pytest.raises(SchemaMismatchError, match="5 classes") as info:
        infer_schema(_frame([1, 2, 3, 4, 5] * 8), target="target")
    assert f"at least {DISTINCT_REGRESSION_VALUES} distinct values is a regression" in str(
        info.value
    )


def test_text_in_a_regression_target_is_named() -> None:
    values: list[object] = [float(v) for v in range(40)]
    values[3] = "n/a"
    values[7] = "unknown"
    with pytest.raises(SchemaMismatchError, match="2 non-numeric values") as info:
        infer_schema(_frame(values), target="target", overrides={"task": "regression"})
    assert "'n/a'" in str(info.value)
    assert info.value.column == "target"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([np.nan] * 20, "has no values"),
        ([float(v) for v in range(30)] + [np.inf], "infinite values"),
        ([True, False] * 20, "holds booleans"),
    ],
)
def test_bad_regression_targets(values: list[object], message: str) -> None:
    with pytest.raises(SchemaMismatchError, match=message):
        infer_schema(_frame(values), target="target", overrides={"task": "regression"})


def test_positive_label_is_refused_for_regression() -> None:
    values = [float(v) for v in range(30)]
    with pytest.raises(SchemaMismatchError, match="positive_label 1 is set but"):
        infer_schema(
            _frame(values), target="target", overrides={"task": "regression", "positive_label": 1}
        )
    with pytest.raises(ValueError, match="the task is regression"):
        FeatureSchema(
            features=[FeatureSpec(name="x", kind="numeric")],
            target="y",
            task="regression",
            positive_label=1,
        )
