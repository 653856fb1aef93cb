from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data import MISSING_LEVEL, TELCO_ID, TELCO_TARGET, LabelModel, RowGenerator


@pytest.fixture(scope="module")
def model(telco_generator: RowGenerator) -> LabelModel:
    return telco_generator.label_model


def small_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    colour = rng.choice(["red", "blue"], size=400)
    logit = 1.5 * x + np.where(colour == "red", 1.0, -1.0)
    y = rng.random(400) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"x": x, "colour": colour, "y": np.where(y, "pos", "neg")})


def test_label_model_fits_the_telco_target(model: LabelModel, telco_frame: pd.DataFrame):
    assert (model.positive, model.negative) == ("Yes", "No")
    assert model.target == TELCO_TARGET
    assert TELCO_ID not in model.features
    assert TELCO_TARGET not in model.features
    assert set(model.weights) == {"tenure", "MonthlyCharges", "TotalCharges"}
    assert len(model.features) == 19
    p = model.probability(telco_frame)
    assert p.shape == (7043,)
    assert ((p > 0) & (p < 1)).all()
    truth = (telco_frame[TELCO_TARGET] == "Yes").to_numpy()
    assert abs(p.mean() - truth.mean()) < 0.01
    assert roc_auc_score(truth, p) > 0.83


def test_label_model_matches_the_churn_rate_of_each_contract(
    model: LabelModel, telco_frame: pd.DataFrame
):
    p = pd.Series(model.probability(telco_frame), index=telco_frame.index)
    truth = telco_frame[TELCO_TARGET].eq("Yes")
    for _, rows in telco_frame.groupby("Contract").groups.items():
        assert abs(p[rows].mean() - truth[rows].mean()) < 0.01


def test_label_model_probability_is_the_sigmoid_of_the_logit(
    model: LabelModel, telco_frame: pd.DataFrame
):
    z = model.logit(telco_frame)
    np.testing.assert_allclose(model.probability(telco_frame), 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_label_model_sample_is_deterministic_and_typed(
    model: LabelModel, telco_frame: pd.DataFrame
):
    rows = telco_frame.iloc[100:400]
    first = model.sample(rows, np.random.default_rng(3))
    second = model.sample(rows, np.random.default_rng(3))
    pd.testing.assert_series_equal(first, second)
    assert first.index.equals(rows.index)
    assert first.name == TELCO_TARGET
    assert first.dtype == telco_frame[TELCO_TARGET].dtype
    assert set(first) <= {"Yes", "No"}


def test_label_model_draw_follows_the_probabilities(model: LabelModel):
    rng = np.random.default_rng(0)
    labels = model.draw(np.full(20_000, 0.3), rng)
    assert isinstance(labels.index, pd.RangeIndex)
    assert abs(labels.eq("Yes").mean() - 0.3) < 0.015
    assert model.draw(np.array([0.0, 1.0]), rng).tolist() == ["No", "Yes"]


@pytest.mark.parametrize("bad", [[0.5, 1.5], [-0.1], [np.nan]])
def test_label_model_draw_rejects_invalid_probabilities(model: LabelModel, bad: list[float]):
    with pytest.raises(ConfigError, match=r"lie in \[0, 1\]"):
        model.draw(np.array(bad), np.random.default_rng(0))


def test_label_model_draw_needs_a_numpy_generator(model: LabelModel):
    with pytest.raises(ConfigError, match=r"numpy\.random\.Generator, got int"):
        model.draw(np.array([0.5]), 42)  # type: ignore[arg-type]


def test_label_model_unseen_level_contributes_nothing(model: LabelModel, telco_frame: pd.DataFrame):
    rows = telco_frame.head(50).copy()
    before = model.logit(rows)
    contribution = rows["PaymentMethod"].map(model.levels["PaymentMethod"]).to_numpy()
    rows["PaymentMethod"] = "Digital wallet"
    np.testing.assert_allclose(model.logit(rows), before - contribution, atol=1e-12)


def test_label_model_standardised_puts_missing_values_at_the_mean(
    model: LabelModel, telco_frame: pd.DataFrame
):
    rows = telco_frame.head(3).copy()
    rows["TotalCharges"] = [np.nan, model.means["TotalCharges"], 1e4]
    values = model.standardised(rows, "TotalCharges")
    assert values[0] == 0.0
    assert values[1] == pytest.approx(0.0)
    assert values[2] == pytest.approx(
        (1e4 - model.means["TotalCharges"]) / model.scales["TotalCharges"]
    )


def test_label_model_handles_missing_values_in_training():
    frame = small_frame()
    frame.loc[::10, "x"] = np.nan
    frame.loc[::7, "colour"] = None
    model = LabelModel.fit(frame, target="y")
    assert MISSING_LEVEL in model.levels["colour"]
    assert np.isfinite(model.logit(frame)).all()


def test_label_model_recovers_a_known_relationship():
    model = LabelModel.fit(small_frame(), target="y")
    assert model.positive == "pos"
    assert model.weights["x"] > 1.0
    assert model.levels["colour"]["red"] - model.levels["colour"]["blue"] > 1.2


def test_label_model_keeps_a_constant_numeric_feature_finite():
    frame = small_frame().assign(constant=5.0)
    model = LabelModel.fit(frame, target="y")
    assert model.scales["constant"] == 1.0
    assert np.isfinite(model.logit(frame)).all()


def test_label_model_all_missing_numeric_feature():
    frame = small_frame().assign(empty=np.nan)
    model = LabelModel.fit(frame, target="y")
    assert model.means["empty"] == 0.0
    assert np.isfinite(model.logit(frame)).all()


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        ([0, 1, 1, 0], 1),
        ([True, False, True, False], True),
        (["b", "a", "b", "a"], "b"),
        (["No", "yes", "No", "yes"], "yes"),
    ],
)
def test_label_model_infers_the_positive_label(values: list[object], positive: object):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": values})
    assert LabelModel.fit(frame, target="y").positive == positive


def test_label_model_keeps_an_explicit_positive_label():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["b", "a", "b", "a"]})
    model = LabelModel.fit(frame, target="y", positive="a")
    assert (model.positive, model.negative) == ("a", "b")


def test_label_model_draw_keeps_a_category_target_dtype():
    frame = small_frame().astype({"y": "category"})
    model = LabelModel.fit(frame, target="y")
    labels = model.sample(frame, np.random.default_rng(0))
    assert labels.dtype == frame["y"].dtype


def test_label_model_reference_is_capped_and_spread(telco_frame: pd.DataFrame):
    model = LabelModel.fit(telco_frame, target=TELCO_TARGET, exclude=[TELCO_ID])
    assert len(model.reference) == 2000
    assert list(model.reference.columns) == list(model.features)
    small = LabelModel.fit(small_frame(), target="y")
    assert len(small.reference) == 400


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target": "nope"}, SchemaMismatchError, "target column 'nope' is not in the frame"),
        ({"target": "y", "exclude": ["id"]}, SchemaMismatchError, "excluded column 'id'"),
        ({"target": "y", "positive": "maybe"}, SchemaMismatchError, "'maybe' is not a class"),
        ({"target": "y", "regularization": 0}, ConfigError, "positive finite number"),
        ({"target": "y", "regularization": True}, ConfigError, "positive finite number"),
        ({"target": "y", "exclude": ["x", "colour"]}, SchemaMismatchError, "no feature is left"),
    ],
)
def test_label_model_fit_rejects_bad_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
):
    with pytest.raises(error, match=match):
        LabelModel.fit(small_frame(), **kwargs)  # type: ignore[arg-type]


def test_label_model_fit_rejects_a_target_with_missing_values():
    frame = small_frame()
    frame.loc[3, "y"] = None
    with pytest.raises(SchemaMismatchError, match="has missing values"):
        LabelModel.fit(frame, target="y")


@pytest.mark.parametrize("values", [["a"] * 4, ["a", "b", "c", "a"]])
def test_label_model_fit_needs_exactly_two_classes(values: list[str]):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": values})
    with pytest.raises(SchemaMismatchError, match="exactly two classes"):
        LabelModel.fit(frame, target="y")


def test_label_model_logit_rejects_frames_without_the_features(model: LabelModel):
    with pytest.raises(SchemaMismatchError, match="feature column 'gender' is not in the frame"):
        model.logit(pd.DataFrame({"tenure": [1]}))
    with pytest.raises(SchemaMismatchError, match="expected a pandas DataFrame, got list"):
        model.logit([1, 2])  # type: ignore[arg-type]


def test_label_model_standardised_rejects_bad_columns(model: LabelModel, telco_frame: pd.DataFrame):
    with pytest.raises(SchemaMismatchError, match="'Contract' is not a numeric feature"):
        model.standardised(telco_frame, "Contract")
    rows = telco_frame.head(2).astype({"tenure": object})
    rows.loc[0, "tenure"] = "twelve"
    with pytest.raises(SchemaMismatchError, match="'tenure' holds values that are not numbers"):
        model.standardised(rows, "tenure")
