"""Drift for the house-price example: PriceShift, SizeShift, NewNeighbourhood and the registry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data import (
    HOUSE_SCENARIOS,
    HOUSE_TARGET,
    Injection,
    NewNeighbourhood,
    PriceModel,
    PriceShift,
    Scenario,
    SizeShift,
    compose,
    generate_houses,
    house_scenario,
)

START = pd.Timestamp("2024-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)
T10, T20 = START + 10 * DAY, START + 20 * DAY
ROOMS = ["sqft_living", "bedrooms", "bathrooms"]

Traffic = tuple[pd.DataFrame, pd.DatetimeIndex]


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    """40,000 houses listed evenly over 30 days from START; treat as read-only."""
    frame = generate_houses(40_000, seed=8)
    return frame, pd.date_range(START, START + 30 * DAY, periods=len(frame))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(99)


def weights(times: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    return np.clip((times - start) / (end - start), 0.0, 1.0)


def test_every_house_scenario_follows_the_protocol():
    for scenario in (
        PriceShift(HOUSE_TARGET, 1.1, T10),
        SizeShift(300, T10),
        NewNeighbourhood("Harbour View", 0.2, T10),
        *(house_scenario(name, start=T10) for name in HOUSE_SCENARIOS),
    ):
        assert isinstance(scenario, Scenario)
        assert scenario.injections
        assert all(isinstance(i, Injection) for i in scenario.injections)


# PriceShift --------------------------------------------------------------------------------------


def test_price_shift_changes_only_the_target_after_start(traffic: Traffic, rng):
    frame, times = traffic
    out = PriceShift(HOUSE_TARGET, 1.2, T10, T20).apply(frame, times, rng)
    pd.testing.assert_frame_equal(out.drop(columns=HOUSE_TARGET), frame.drop(columns=HOUSE_TARGET))
    before = times < T10
    pd.testing.assert_frame_equal(out[before], frame[before])
    ratio = out[HOUSE_TARGET] / frame[HOUSE_TARGET]
    np.testing.assert_allclose(ratio, 1.2 ** weights(times, T10, T20), rtol=1e-12)


def test_price_shift_is_the_ground_truth_scaled_with_the_same_noise(traffic: Traffic, rng):
    frame, times = traffic
    model = PriceModel()
    shift = PriceShift(HOUSE_TARGET, 0.8, T10, decimals=0)
    out = shift.apply(frame, times, rng)
    late = times >= T10
    (injection,) = shift.injections
    assert (injection.kind, injection.columns) == ("concept", (HOUSE_TARGET,))
    assert injection.magnitude == pytest.approx(-0.2)
    assert injection.start == injection.end == T10
    # Each changed house is priced by the model scaled by 0.8, with the noise it drew before.
    before_noise = model.log_residuals(frame[late])
    after_noise = model.scaled(1 + injection.magnitude).log_residuals(out[late])
    np.testing.assert_allclose(after_noise, before_noise, atol=1e-5)
    assert (out[HOUSE_TARGET] == out[HOUSE_TARGET].round()).all()
    assert out.loc[late, HOUSE_TARGET].mean() / frame.loc[late, HOUSE_TARGET].mean() == (
        pytest.approx(0.8, abs=1e-6)
    )


def test_price_shift_keeps_integer_and_missing_targets(rng):
    frame = pd.DataFrame({"y": [100, 200, 300]})
    times = pd.date_range(START, periods=3, freq="D")
    out = PriceShift("y", 1.5, START + DAY).apply(frame, times, rng)
    assert out["y"].tolist() == [100, 300, 450]
    assert out["y"].dtype == "int64"
    floats = pd.DataFrame({"y": [1.0, np.nan, 3.0]})
    assert PriceShift("y", 2.0, START).apply(floats, times, rng)["y"].tolist()[::2] == [2.0, 6.0]
    assert np.isnan(PriceShift("y", 2.0, START).apply(floats, times, rng)["y"].iloc[1])


def test_price_shift_needs_a_numeric_target(rng):
    frame = pd.DataFrame({"y": ["cheap", "dear"]})
    times = pd.date_range(START, periods=2, freq="D")
    with pytest.raises(SchemaMismatchError, match="needs a numeric target; 'y' has dtype"):
        PriceShift("y", 1.1, START).apply(frame, times, rng)
    with pytest.raises(SchemaMismatchError, match="target column 'price' is not in the frame"):
        PriceShift(HOUSE_TARGET, 1.1, START).apply(frame, times, rng)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": ""}, "target must be a non-empty column name"),
        ({"factor": 0.0}, "factor must be above 0"),
        ({"factor": -2.0}, "factor must be above 0"),
        ({"factor": math.nan}, "factor must be a finite number"),
        ({"factor": 1.0}, "factor 1 changes nothing"),
        ({"end": START - DAY}, "must not come before start"),
        ({"start": "someday"}, "cannot read 'someday' as a time"),
        ({"decimals": -1}, "decimals must be a non-negative integer or None"),
        ({"decimals": 1.0}, "decimals must be a non-negative integer or None"),
        ({"decimals": True}, "decimals must be a non-negative integer or None"),
    ],
)
def test_price_shift_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    arguments: dict[str, object] = {"target": HOUSE_TARGET, "factor": 1.1, "start": START}
    with pytest.raises(ConfigError, match=match):
        PriceShift(**{**arguments, **kwargs})  # type: ignore[arg-type]


# SizeShift ---------------------------------------------------------------------------------------


def test_size_shift_moves_sizes_by_delta_and_rooms_by_their_slopes(traffic: Traffic, rng):
    frame, times = traffic
    shift = SizeShift(700, T10)
    out = shift.apply(frame, times, rng)
    late = times >= T10
    pd.testing.assert_frame_equal(out[~late], frame[~late])
    moved = (out[ROOMS] - frame[ROOMS])[late]
    assert (moved["sqft_living"] == 700).all()
    for injection in shift.injections:
        (column,) = injection.columns
        assert moved[column].mean() == pytest.approx(injection.magnitude, abs=0.01), column
    assert [i.magnitude for i in shift.injections] == pytest.approx([700.0, 1.0, 0.7])
    assert {i.kind for i in shift.injections} == {"sudden"}
    assert (out["bathrooms"] * 2 % 1 == 0).all()
    assert out["bedrooms"].dtype == "int64"
    unchanged = ["house_id", "neighbourhood", "year_built", "lot_sqft", "condition", "has_garage"]
    pd.testing.assert_frame_equal(out[unchanged], frame[unchanged])


def test_size_shift_keeps_the_price_given_the_features(traffic: Traffic, rng):
    frame, times = traffic
    model = PriceModel()
    out = SizeShift(500, T10, T20).apply(frame, times, rng)
    # A pure covariate shift: every house keeps its noise under the same ground truth.
    np.testing.assert_allclose(model.log_residuals(out), model.log_residuals(frame), atol=1e-5)
    late = np.asarray(times >= T20)
    assert out.loc[late, HOUSE_TARGET].mean() > 1.15 * frame.loc[late, HOUSE_TARGET].mean()


def test_size_shift_ramps_from_start_to_end(traffic: Traffic, rng):
    frame, times = traffic
    shift = SizeShift(400, T10, T20)
    out = shift.apply(frame, times, rng)
    assert {i.kind for i in shift.injections} == {"gradual"}
    assert all(i.end == T20 for i in shift.injections)
    gain = (out["sqft_living"] - frame["sqft_living"]).to_numpy()
    halfway = (times > START + 14 * DAY) & (times < START + 16 * DAY)
    assert gain[halfway].mean() == pytest.approx(200, abs=5)
    assert gain[times >= T20].mean() == pytest.approx(400)
    assert (gain[times < T10] == 0).all()


def test_size_shift_without_repricing_keeps_the_prices(traffic: Traffic, rng):
    frame, times = traffic
    out = SizeShift(400, T10, reprice=False).apply(frame, times, rng)
    pd.testing.assert_series_equal(out[HOUSE_TARGET], frame[HOUSE_TARGET])


def test_size_shift_can_shrink_houses_but_not_below_one_room(traffic: Traffic, rng):
    frame, times = traffic
    out = SizeShift(-300, T10).apply(frame, times, rng)
    assert (out["bedrooms"] >= 1).all()
    assert (out["bathrooms"] >= 1).all()
    late = times >= T10
    assert (out.loc[late, "sqft_living"] - frame.loc[late, "sqft_living"] == -300).all()
    with pytest.raises(SchemaMismatchError, match="leaves some houses with no living area"):
        SizeShift(-1000, T10).apply(frame, times, rng)


def test_size_shift_keeps_missing_rooms_missing(rng):
    frame = generate_houses(20, seed=1)
    frame["bathrooms"] = frame["bathrooms"].where(frame.index % 2 == 0)
    times = pd.date_range(START, periods=20, freq="h")
    out = SizeShift(250, START).apply(frame, times, rng)
    assert out["bathrooms"].isna().tolist() == frame["bathrooms"].isna().tolist()


def test_size_shift_needs_the_room_columns(rng):
    frame = generate_houses(5, seed=1).drop(columns="bedrooms")
    times = pd.date_range(START, periods=5, freq="h")
    with pytest.raises(SchemaMismatchError, match="house column 'bedrooms' is not in the frame"):
        SizeShift(100, START).apply(frame, times, rng)
    with pytest.raises(SchemaMismatchError, match="target column 'price' is not in the frame"):
        SizeShift(100, START).apply(
            generate_houses(5, seed=1).drop(columns=HOUSE_TARGET), times, rng
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delta": 0}, "delta 0 changes nothing"),
        ({"delta": math.inf}, "delta must be a finite number"),
        ({"end": START - DAY}, "must not come before start"),
        ({"price_model": None}, "price_model must be a PriceModel, got NoneType"),
        ({"reprice": "yes"}, "reprice must be True or False"),
    ],
)
def test_size_shift_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    with pytest.raises(ConfigError, match=match):
        SizeShift(**{"delta": 100, "start": START, **kwargs})  # type: ignore[arg-type]


# NewNeighbourhood --------------------------------------------------------------------------------


def test_new_neighbourhood_takes_its_share_and_prices_with_its_effect(traffic: Traffic, rng):
    frame, times = traffic
    scenario = NewNeighbourhood("Harbour View", 0.25, T10, price_effect=0.3)
    out = scenario.apply(frame, times, rng)
    late = np.asarray(times >= T10)
    pd.testing.assert_frame_equal(out[~late], frame[~late])
    moved = (out["neighbourhood"] == "Harbour View").to_numpy()
    assert not moved[~late].any()
    assert moved[late].mean() == pytest.approx(0.25, abs=0.01)
    others = [c for c in frame.columns if c not in ("neighbourhood", HOUSE_TARGET)]
    pd.testing.assert_frame_equal(out[others], frame[others])
    pd.testing.assert_series_equal(out[HOUSE_TARGET][~moved], frame[HOUSE_TARGET][~moved])
    effects = frame["neighbourhood"][moved].map(PriceModel().neighbourhood_effects)
    np.testing.assert_allclose(
        np.log(out[HOUSE_TARGET][moved] / frame[HOUSE_TARGET][moved]), 0.3 - effects, atol=1e-5
    )
    np.testing.assert_allclose(
        scenario.drifted_model.log_residuals(out), PriceModel().log_residuals(frame), atol=1e-5
    )
    (injection,) = scenario.injections
    assert (injection.kind, injection.columns, injection.magnitude) == (
        "new_category",
        ("neighbourhood",),
        0.25,
    )
    assert "log-price effect +0.3" in injection.description


def test_new_neighbourhood_ramps_in(traffic: Traffic, rng):
    frame, times = traffic
    out = NewNeighbourhood("Harbour View", 0.4, T10, T20).apply(frame, times, rng)
    moved = (out["neighbourhood"] == "Harbour View").to_numpy()
    halfway = (times > START + 14 * DAY) & (times < START + 16 * DAY)
    assert moved[halfway].mean() == pytest.approx(0.2, abs=0.03)
    assert moved[times >= T20].mean() == pytest.approx(0.4, abs=0.02)


def test_new_neighbourhood_needs_the_price(rng):
    frame = generate_houses(5, seed=1).drop(columns=HOUSE_TARGET)
    times = pd.date_range(START, periods=5, freq="h")
    with pytest.raises(SchemaMismatchError, match="target column 'price' is not in the frame"):
        NewNeighbourhood("Harbour View", 0.5, START).apply(frame, times, rng)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "Old Town"}, "'Old Town' is already a neighbourhood of the price model"),
        ({"name": ""}, "category must be a non-empty string"),
        ({"share": 0.0}, "share must be above 0"),
        ({"share": 1.5}, r"share must be a finite number in \[0, 1\]"),
        ({"price_effect": math.nan}, "effect must be a finite number"),
        ({"price_model": "default"}, "price_model must be a PriceModel, got str"),
    ],
)
def test_new_neighbourhood_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    arguments: dict[str, object] = {"name": "Harbour View", "share": 0.2, "start": START}
    with pytest.raises(ConfigError, match=match):
        NewNeighbourhood(**{**arguments, **kwargs})  # type: ignore[arg-type]


# The registry and composition --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("bigger_houses", SizeShift, {"delta": 400.0}),
        ("market_shift", PriceShift, {"factor": 1.15, "decimals": 0, "target": HOUSE_TARGET}),
        ("new_neighbourhood", NewNeighbourhood, {"name": "Harbour View", "share": 0.2}),
    ],
)
def test_house_scenario_builds_each_named_scenario(name: str, kind: type, expected: dict):
    scenario = house_scenario(name, start=T10, end=T20)
    assert isinstance(scenario, kind)
    for attribute, value in expected.items():
        assert getattr(scenario, attribute) == value
    assert all(i.start == T10 and i.end == T20 for i in scenario.injections)


def test_house_scenario_uses_the_given_price_model():
    model = PriceModel(sigma=0.0)
    scenario = house_scenario("new_neighbourhood", start=T10, price_model=model)
    assert isinstance(scenario, NewNeighbourhood)
    assert scenario.price_model is model


def test_house_scenario_rejects_unknown_names_and_models():
    with pytest.raises(ConfigError, match="unknown house scenario 'crash'; choose from") as caught:
        house_scenario("crash", start=T10)
    assert caught.value.key == "scenario"
    with pytest.raises(ConfigError, match="price_model must be a PriceModel"):
        house_scenario("market_shift", start=T10, price_model=1.0)  # type: ignore[arg-type]


def test_house_scenarios_compose_and_record_every_injection(traffic: Traffic, rng):
    frame, times = traffic
    drift = compose(*(house_scenario(name, start=T10) for name in sorted(HOUSE_SCENARIOS)))
    out = drift.apply(frame, times, rng)
    assert [i.columns[0] for i in drift.injections] == [
        "sqft_living",
        "bedrooms",
        "bathrooms",
        HOUSE_TARGET,
        "neighbourhood",
    ]
    late = times >= T10
    pd.testing.assert_frame_equal(out[~late], frame[~late])
    assert (out.loc[late, "neighbourhood"] == "Harbour View").mean() == pytest.approx(0.2, abs=0.01)


def test_house_scenarios_are_reproducible_and_leave_their_input_alone(traffic: Traffic):
    frame, times = traffic
    copy = frame.copy()
    for name in HOUSE_SCENARIOS:
        scenario = house_scenario(name, start=T10, end=T20)
        first = scenario.apply(frame, times, np.random.default_rng(5))
        pd.testing.assert_frame_equal(first, scenario.apply(frame, times, np.random.default_rng(5)))
    pd.testing.assert_frame_equal(frame, copy)


def test_house_scenarios_accept_an_empty_frame(rng):
    empty = generate_houses(0)
    times = pd.DatetimeIndex([], dtype="datetime64[ns]")
    for name in HOUSE_SCENARIOS:
        out = house_scenario(name, start=T10).apply(empty, times, rng)
        pd.testing.assert_frame_equal(out, empty)
