from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    r2_score,
)

import driftwarden.stats
from driftwarden.stats.errors import InsufficientDataError, StatsError
from driftwarden.stats.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    ClassificationMetrics,
    RegressionMetrics,
    lower_is_better,
    regression_metrics,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def test_regression_metrics_agree_with_sklearn(global_random_seed: int) -> None:
    rng = np.random.default_rng(global_random_seed)
    n = int(rng.integers(2, 300))
    y_true = rng.normal(rng.uniform(-50, 50), rng.uniform(0.1, 20), n)
    y_pred = y_true + rng.normal(rng.uniform(-2, 2), rng.uniform(0.1, 10), n)

    m = regression_metrics(y_true, y_pred)

    assert m.n == n
    assert m.rmse == pytest.approx(math.sqrt(mean_squared_error(y_true, y_pred)), rel=1e-12)
    assert m.mae == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-12)
    assert m.r2 == pytest.approx(r2_score(y_true, y_pred), rel=1e-9, abs=1e-12)
    assert m.mape == pytest.approx(mean_absolute_percentage_error(y_true, y_pred), rel=1e-12)
    assert m.mean_target == pytest.approx(float(np.mean(y_true)))
    assert m.mean_prediction == pytest.approx(float(np.mean(y_pred)))


def test_regression_metrics_hand_computed_golden_values() -> None:
    # errors 0.5, -0.5, 0, -1: squares sum to 1.5, absolutes to 2.
    m = regression_metrics([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])

    assert m.n == 4
    assert m.mae == 0.5
    assert m.rmse == pytest.approx(math.sqrt(1.5 / 4))
    # mean 2.875; squared deviations 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875
    assert m.r2 == pytest.approx(1 - 1.5 / 29.1875)
    assert m.mape == pytest.approx((0.5 / 3 + 0.5 / 0.5 + 0 + 1 / 7) / 4)
    assert (m.mean_target, m.mean_prediction) == (2.875, 3.125)


def test_regression_metrics_r2_is_none_for_a_constant_target_or_one_row() -> None:
    constant = regression_metrics([5.0, 5.0, 5.0], [4.0, 5.0, 6.0])
    single = regression_metrics([5.0], [4.0])

    assert constant.r2 is None
    assert constant.rmse == pytest.approx(math.sqrt(2 / 3))
    assert single.r2 is None
    assert (single.rmse, single.mae, single.mape) == (1.0, 1.0, 0.2)


def test_regression_metrics_r2_of_a_constant_target_ignores_rounding_of_its_mean() -> None:
    # The mean of three 0.1s is not exactly 0.1 in floating point; the target still has no
    # variance, so R² is undefined rather than a huge negative number.
    assert regression_metrics([0.1, 0.1, 0.1], [0.1, 0.2, 0.1]).r2 is None


def test_regression_metrics_mape_is_none_when_a_target_is_zero() -> None:
    m = regression_metrics([0.0, 2.0, 4.0], [1.0, 2.0, 3.0])

    assert m.mape is None
    # scikit-learn divides by its machine epsilon instead: an absurd figure.
    assert mean_absolute_percentage_error([0.0, 2.0, 4.0], [1.0, 2.0, 3.0]) > 1e14
    assert m.r2 == pytest.approx(r2_score([0.0, 2.0, 4.0], [1.0, 2.0, 3.0]))


def test_regression_metrics_perfect_predictions() -> None:
    y = np.array([1.0, -2.0, 3.5, 10.0])

    m = regression_metrics(y, y.copy())

    assert (m.rmse, m.mae, m.r2, m.mape) == (0.0, 0.0, 1.0, 0.0)


def test_regression_metrics_neither_overflow_nor_vanish_at_extreme_scales() -> None:
    huge = regression_metrics([3e200, -3e200], [0.0, 0.0])
    tiny = regression_metrics([4e-170, 0.0], [0.0, 0.0])

    # Squared, 3e200 overflows and 4e-170 vanishes; the metrics are still the plain figures.
    assert huge.rmse == pytest.approx(3e200)
    assert huge.r2 == pytest.approx(0.0)
    assert tiny.rmse == pytest.approx(4e-170 / math.sqrt(2))
    assert tiny.r2 == pytest.approx(-1.0)


def test_regression_metrics_accept_integers_and_object_arrays_of_numbers() -> None:
    ints = regression_metrics([1, 2, 3], [1, 2, 4])
    objects = regression_metrics(np.array([1.0, 2.0, 3.0], dtype=object), [1.0, 2.0, 4.0])

    assert ints == objects
    assert ints.mae == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "error", "match"),
    [
        ([], [], InsufficientDataError, "at least one labelled prediction; got 0 rows"),
        ([1.0, 2.0], [1.0], StatsError, "same length; got 2 true values and 1 predictions"),
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], StatsError, "y_true must be finite numbers; got "
         "1 NaN value\\(s\\), the first at index 1"),
        ([1.0, 2.0], [np.inf, 1.0], StatsError, "y_pred must be finite numbers; got 1 "
         "infinite value\\(s\\), the first at index 0"),
        ([[1.0, 2.0]], [[1.0, 2.0]], StatsError, "y_true must be one-dimensional"),
        ([True, False], [1.0, 0.0], StatsError, "y_true must hold numbers.*got booleans"),
        (["a", "b"], [1.0, 0.0], StatsError, "y_true must hold numbers.*dtype <U1"),
    ],
)  # fmt: skip
def test_regression_metrics_reject_bad_input(
    y_true: object, y_pred: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        regression_metrics(y_true, y_pred)  # type: ignore[arg-type]


def test_regression_metrics_to_dict_is_json_and_round_trips() -> None:
    m = regression_metrics([1.0, 2.0, 4.0, 0.0], [1.5, 2.0, 3.0, 0.5])

    data = m.to_dict()

    assert list(data) == [f.name for f in dataclasses.fields(RegressionMetrics)]
    assert isinstance(data["n"], int)
    assert data["mape"] is None
    assert json.loads(json.dumps(data)) == data
    assert RegressionMetrics.from_dict(data) == m
    assert RegressionMetrics.from_dict({**data, "extra": 1}) == m


def test_regression_metrics_to_dict_writes_non_finite_values_as_none() -> None:
    m = RegressionMetrics(
        n=2, rmse=math.inf, mae=1.0, r2=None, mape=None, mean_target=0.0, mean_prediction=1.0
    )

    data = m.to_dict()

    assert data["rmse"] is None
    assert math.isnan(RegressionMetrics.from_dict(data).rmse)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"rmse": "1.0"}, "rmse must be a number"),
        ({"n": 2.5}, "n must be an integer"),
        ({"n": True}, "n must be an integer"),
        ({"mae": [1.0]}, "unreadable regression metrics"),
    ],
)
def test_regression_metrics_from_dict_rejects_bad_values(
    change: dict[str, object], match: str
) -> None:
    data = {**regression_metrics([1.0, 2.0], [1.0, 3.0]).to_dict(), **change}

    with pytest.raises(StatsError, match=match):
        RegressionMetrics.from_dict(data)


def test_regression_metrics_from_dict_names_missing_fields() -> None:
    data = regression_metrics([1.0, 2.0], [1.0, 3.0]).to_dict()
    del data["mae"], data["r2"]

    with pytest.raises(StatsError, match=r"missing mae, r2\. Pass what RegressionMetrics"):
        RegressionMetrics.from_dict(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=40))
def test_regression_metrics_properties(pairs: list[tuple[float, float]]) -> None:
    y_true = np.array([p[0] for p in pairs])
    y_pred = np.array([p[1] for p in pairs])

    m = regression_metrics(y_true, y_pred)
    reversed_m = regression_metrics(y_true[::-1], y_pred[::-1])

    # RMSE is a quadratic mean of the absolute errors, so it is at least their mean.
    assert m.rmse >= m.mae * (1 - 1e-12) >= 0.0
    assert m.r2 is None or m.r2 <= 1.0 + 1e-12
    assert m.mape is None or m.mape >= 0.0
    # Permutation invariance: the order of the rows does not matter.
    assert reversed_m.rmse == pytest.approx(m.rmse, rel=1e-9, abs=1e-9)
    assert reversed_m.mae == pytest.approx(m.mae, rel=1e-9, abs=1e-9)


def test_metric_name_constants_are_fields_of_the_metrics() -> None:
    classification = {f.name for f in dataclasses.fields(ClassificationMetrics)}
    regression = {f.name for f in dataclasses.fields(RegressionMetrics)}

    assert set(CLASSIFICATION_METRICS) <= classification
    assert REGRESSION_METRICS == ("rmse", "mae", "r2", "mape")
    assert set(REGRESSION_METRICS) <= regression
    assert CLASSIFICATION_METRICS[0] == "roc_auc"


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("rmse", True),
        ("mae", True),
        ("mape", True),
        ("r2", False),
        ("roc_auc", False),
        ("accuracy", False),
        ("f1", False),
        ("log_loss", True),
        ("brier", True),
        ("train_rmse", True),
        ("estimated_roc_auc", False),
    ],
)
def test_lower_is_better(metric: str, expected: bool) -> None:
    assert lower_is_better(metric) is expected


def test_lower_is_better_refuses_an_unknown_metric() -> None:
    with pytest.raises(StatsError, match=r"unknown metric 'speed'.*regression metrics rmse, mae"):
        lower_is_better("speed")


def test_regression_names_are_exported_from_the_package() -> None:
    for name in (
        "CLASSIFICATION_METRICS",
        "REGRESSION_METRICS",
        "ClassificationMetrics",
        "RegressionMetrics",
        "classification_metrics",
        "lower_is_better",
        "regression_metrics",
    ):
        assert name in driftwarden.stats.__all__
        assert getattr(driftwarden.stats, name) is getattr(driftwarden.stats.metrics, name)
