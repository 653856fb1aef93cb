from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data import (
    TELCO_ID,
    TELCO_TARGET,
    ClassBalance,
    Composition,
    ConceptDrift,
    GradualShift,
    Injection,
    NewCategory,
    RowGenerator,
    Scenario,
    Seasonal,
    SuddenShift,
    compose,
)

Traffic = tuple[pd.DataFrame, pd.DatetimeIndex]
START = pd.Timestamp("2024-01-01", tz="UTC")  # where the ``traffic`` fixture starts
DAY = pd.Timedelta(days=1)
T5, T10, T20 = START + 5 * DAY, START + 10 * DAY, START + 20 * DAY


def positive_rate(frame: pd.DataFrame) -> float:
    return float(frame[TELCO_TARGET].eq("Yes").mean())


def test_every_scenario_follows_the_protocol(telco_generator: RowGenerator):
    model = telco_generator.label_model
    scenarios = [
        GradualShift("tenure", 3, T5, T10),
        SuddenShift("tenure", 3, T5),
        Seasonal("tenure", 3, "7D", T5),
        NewCategory("Contract", "Ten year", 0.1, T5),
        ConceptDrift(model, T5, shift=1.0),
        ClassBalance(TELCO_TARGET, "Yes", 0.5, T5),
        compose(),
    ]
    for scenario in scenarios:
        assert isinstance(scenario, Scenario)
        assert all(isinstance(i, Injection) for i in scenario.injections)


# GradualShift ---------------------------------------------------------------------------------


def test_gradual_shift_changes_only_its_column_after_start(traffic: Traffic, rng):
    frame, times = traffic
    out = GradualShift("MonthlyCharges", 12.5, T5, T10).apply(frame, times, rng)
    pd.testing.assert_frame_equal(
        out.drop(columns="MonthlyCharges"), frame.drop(columns="MonthlyCharges")
    )
    before = times < T5
    pd.testing.assert_frame_equal(out[before], frame[before])
    assert out["MonthlyCharges"].dtype == frame["MonthlyCharges"].dtype


def test_gradual_shift_ramps_linearly_to_the_full_shift(traffic: Traffic, rng):
    frame, times = traffic
    out = GradualShift("MonthlyCharges", 12.5, T5, T10).apply(frame, times, rng)
    shift = (out["MonthlyCharges"] - frame["MonthlyCharges"]).to_numpy()
    progress = np.clip((times - T5) / (T10 - T5), 0, 1)
    np.testing.assert_allclose(shift, 12.5 * progress, atol=1e-9)
    full = times >= T10
    assert out.loc[full, "MonthlyCharges"].mean() - frame.loc[full, "MonthlyCharges"].mean() == (
        pytest.approx(12.5)
    )


def test_gradual_shift_keeps_an_integer_column_integer(traffic: Traffic, rng):
    frame, times = traffic
    out = GradualShift("tenure", 2.5, T5, T10).apply(frame, times, rng)
    assert out["tenure"].dtype == np.dtype("int64")
    full = times >= T10
    shift = out.loc[full, "tenure"] - frame.loc[full, "tenure"]
    assert set(shift) == {2, 3}
    assert shift.mean() == pytest.approx(2.5, abs=0.05)
    exact = GradualShift("tenure", 4, T5, T10).apply(frame, times, rng)
    assert (exact.loc[full, "tenure"] - frame.loc[full, "tenure"] == 4).all()


def test_gradual_shift_leaves_labels_alone_without_a_label_model(traffic: Traffic, rng):
    frame, times = traffic
    out = GradualShift("tenure", 40, T5, T10).apply(frame, times, rng)
    pd.testing.assert_series_equal(out[TELCO_TARGET], frame[TELCO_TARGET])


def test_gradual_shift_with_a_label_model_keeps_p_label_given_features(
    traffic: Traffic, rng, telco_generator: RowGenerator
):
    frame, times = traffic
    model = telco_generator.label_model
    out = GradualShift("tenure", 40, T5, T10, label_model=model).apply(frame, times, rng)
    before = times < T5
    pd.testing.assert_frame_equal(out[before], frame[before])
    full = np.asarray(times >= T10)
    # Longer tenure lowers churn, and the new labels follow the model on the new features.
    assert positive_rate(out[full]) < positive_rate(frame[full]) - 0.05
    expected = model.probability(out[full]).mean()
    assert positive_rate(out[full]) == pytest.approx(expected, abs=0.02)


def test_gradual_shift_injection(telco_generator: RowGenerator):
    (injection,) = GradualShift("MonthlyCharges", 12.5, "2024-01-06", "2024-01-11").injections
    assert injection.kind == "gradual"
    assert injection.start == T5
    assert injection.end == T10
    assert str(injection.start.tz) == "UTC"
    assert injection.columns == ("MonthlyCharges",)
    assert injection.magnitude == 12.5
    assert injection.period is None
    assert "MonthlyCharges" in injection.description


def test_gradual_shift_rejects_an_end_before_its_start():
    with pytest.raises(ConfigError, match=r"must come after start.*use SuddenShift"):
        GradualShift("tenure", 1.0, T10, T5)
    with pytest.raises(ConfigError, match="must come after start"):
        GradualShift("tenure", 1.0, T5, T5)


# SuddenShift ----------------------------------------------------------------------------------


def test_sudden_shift_changes_every_row_from_its_instant(traffic: Traffic, rng):
    frame, times = traffic
    at = times[4000]
    out = SuddenShift("TotalCharges", -100.0, at).apply(frame, times, rng)
    shift = (out["TotalCharges"] - frame["TotalCharges"]).to_numpy()
    assert (shift[:4000] == 0).all()
    np.testing.assert_allclose(shift[4000:], -100.0)
    pd.testing.assert_frame_equal(
        out.drop(columns="TotalCharges"), frame.drop(columns="TotalCharges")
    )
    (injection,) = SuddenShift("TotalCharges", -100.0, at).injections
    assert injection.kind == "sudden"
    assert injection.start == injection.end == at
    assert injection.magnitude == -100.0


# Seasonal -------------------------------------------------------------------------------------


def test_seasonal_follows_a_sine_of_the_stated_period(rng):
    times = pd.date_range(START, periods=24 * 21, freq="h", tz="UTC")  # 8 cycles after T5
    frame = pd.DataFrame({"load": np.zeros(len(times)), "other": np.arange(len(times))})
    scenario = Seasonal("load", amplitude=3.0, period="2D", start=T5)
    out = scenario.apply(frame, times, rng)
    load = out["load"].to_numpy()
    before = np.asarray(times < T5)
    assert (load[before] == 0).all()
    after = np.flatnonzero(~before)
    hours = 48
    np.testing.assert_allclose(load[after[:-hours]], load[after[hours:]], atol=1e-9)
    assert load[after[12]] == pytest.approx(3.0)  # a quarter period after start
    assert load[after[36]] == pytest.approx(-3.0)
    assert load[after[24]] == pytest.approx(0.0, abs=1e-9)
    # The dominant frequency of the swing is one cycle per two days.
    spectrum = np.abs(np.fft.rfft(load[after]))
    frequencies = np.fft.rfftfreq(len(after), d=1.0)
    assert 1 / frequencies[np.argmax(spectrum[1:]) + 1] == pytest.approx(hours)
    pd.testing.assert_series_equal(out["other"], frame["other"])
    (injection,) = scenario.injections
    assert injection.kind == "seasonal"
    assert injection.end is None
    assert injection.period == pd.Timedelta(days=2)
    assert injection.magnitude == 3.0


def test_seasonal_phase_shifts_the_swing(rng):
    times = pd.DatetimeIndex([T5, T5 + pd.Timedelta(hours=6)])
    frame = pd.DataFrame({"load": [0.0, 0.0]})
    out = Seasonal("load", 2.0, dt.timedelta(days=1), T5, phase=np.pi / 2).apply(frame, times, rng)
    np.testing.assert_allclose(out["load"], [2.0, 0.0], atol=1e-9)


def test_seasonal_rejects_a_non_positive_period():
    with pytest.raises(ConfigError, match="period must be a positive duration"):
        Seasonal("load", 1.0, "0D", T5)
    with pytest.raises(ConfigError, match="period: cannot read 'weekly' as a duration"):
        Seasonal("load", 1.0, "weekly", T5)
    with pytest.raises(ConfigError, match="period must be a timedelta"):
        Seasonal("load", 1.0, 7, T5)  # type: ignore[arg-type]


# NewCategory ----------------------------------------------------------------------------------


def test_new_category_takes_its_share_after_start_only(traffic: Traffic, rng):
    frame, times = traffic
    scenario = NewCategory("PaymentMethod", "Digital wallet", 0.25, T10)
    out = scenario.apply(frame, times, rng)
    new = out["PaymentMethod"].eq("Digital wallet")
    after = np.asarray(times >= T10)
    assert not new[~after].any()
    assert new[after].mean() == pytest.approx(0.25, abs=0.02)
    pd.testing.assert_frame_equal(
        out.drop(columns="PaymentMethod"), frame.drop(columns="PaymentMethod")
    )
    unchanged = ~new.to_numpy()
    pd.testing.assert_frame_equal(out[unchanged], frame[unchanged])
    assert out["PaymentMethod"].dtype == frame["PaymentMethod"].dtype
    (injection,) = scenario.injections
    assert injection.kind == "new_category"
    assert injection.start == injection.end == T10
    assert injection.columns == ("PaymentMethod",)
    assert injection.magnitude == 0.25


def test_new_category_ramps_its_share(traffic: Traffic, rng):
    frame, times = traffic
    out = NewCategory("Contract", "Ten year", 0.4, T10, end=T20).apply(frame, times, rng)
    new = out["Contract"].eq("Ten year").to_numpy()
    early = np.asarray((times >= T10) & (times < T10 + 2 * DAY))
    late = np.asarray(times >= T20)
    assert new[early].mean() < 0.1
    assert new[late].mean() == pytest.approx(0.4, abs=0.03)


def test_new_category_adds_the_level_to_a_category_column(traffic: Traffic, rng):
    frame, times = traffic
    categorical = frame.astype({"Contract": "category"})
    out = NewCategory("Contract", "Ten year", 0.5, T5).apply(categorical, times, rng)
    assert "Ten year" in out["Contract"].cat.categories
    assert out["Contract"].eq("Ten year").any()
    assert categorical["Contract"].cat.categories.tolist() == [
        "Month-to-month",
        "One year",
        "Two year",
    ]
    again = NewCategory("Contract", "Ten year", 0.5, T5).apply(out, times, rng)
    assert again["Contract"].dtype == out["Contract"].dtype


def test_new_category_relabels_with_a_label_model(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    scenario = NewCategory("Contract", "Ten year", 0.5, T5, label_model=telco_generator.label_model)
    out = scenario.apply(frame, times, rng)
    switched = out["Contract"].eq("Ten year").to_numpy()
    same = ~switched
    pd.testing.assert_series_equal(out.loc[same, TELCO_TARGET], frame.loc[same, TELCO_TARGET])
    assert not out.loc[switched, TELCO_TARGET].equals(frame.loc[switched, TELCO_TARGET])


@pytest.mark.parametrize("column", ["tenure", "flag"])
def test_new_category_needs_a_categorical_column(rng, column: str):
    frame = pd.DataFrame({"tenure": [1, 2], "flag": [True, False]})
    times = pd.DatetimeIndex([T5, T10])
    with pytest.raises(SchemaMismatchError, match=f"needs a categorical column.*{column!r}"):
        NewCategory(column, "new", 0.5, START).apply(frame, times, rng)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"share": 0.0}, "share must be above 0"),
        ({"share": 1.5}, r"share must be a finite number in \[0, 1\]"),
        ({"category": ""}, "category must be a non-empty string"),
        ({"end": "2023-12-01"}, "must not come before start"),
    ],
)
def test_new_category_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    arguments: dict[str, object] = {
        "column": "Contract",
        "category": "Ten year",
        "share": 0.2,
        "start": START,
        **kwargs,
    }
    with pytest.raises(ConfigError, match=match):
        NewCategory(**arguments)  # type: ignore[arg-type]


# ConceptDrift ---------------------------------------------------------------------------------


def test_concept_drift_changes_labels_only(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    scenario = ConceptDrift(telco_generator.label_model, T10, shift=2.0)
    out = scenario.apply(frame, times, rng)
    pd.testing.assert_frame_equal(out.drop(columns=TELCO_TARGET), frame.drop(columns=TELCO_TARGET))
    before = np.asarray(times < T10)
    pd.testing.assert_frame_equal(out[before], frame[before])
    assert positive_rate(out[~before]) > positive_rate(frame[~before]) + 0.2
    (injection,) = scenario.injections
    assert injection.kind == "concept"
    assert injection.start == injection.end == T10
    assert injection.columns == (TELCO_TARGET,)
    assert 0.2 < injection.magnitude < 0.5


def test_concept_drift_can_invert_the_relationship(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    out = ConceptDrift(telco_generator.label_model, T5, scale=-1.0).apply(frame, times, rng)
    after = np.asarray(times >= T5)
    rates = out[after][TELCO_TARGET].eq("Yes").groupby(out[after]["Contract"]).mean()
    assert rates["Two year"] > rates["One year"] > rates["Month-to-month"]
    original = frame[after][TELCO_TARGET].eq("Yes").groupby(frame[after]["Contract"]).mean()
    assert original["Two year"] < original["One year"] < original["Month-to-month"]


def test_concept_drift_effects_and_ramp(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    model = telco_generator.label_model
    scenario = ConceptDrift(
        model, T5, end=T20, effects={"Contract": {"Two year": 4.0}, "tenure": 0.5}
    )
    rows = frame[frame["Contract"] == "Two year"].head(5)
    expected = (
        model.logit(rows)
        + 4.0
        + 0.5 * (rows["tenure"] - model.means["tenure"]) / model.scales["tenure"]
    )
    np.testing.assert_allclose(scenario.drifted_logit(rows), expected, rtol=1e-12)
    out = scenario.apply(frame, times, rng)
    two_year = frame["Contract"].eq("Two year").to_numpy()
    mid = np.asarray((times >= T10) & (times < T10 + 3 * DAY)) & two_year
    late = np.asarray(times >= T20) & two_year
    assert positive_rate(frame[late]) < 0.1
    assert positive_rate(out[mid]) < positive_rate(out[late])
    assert positive_rate(out[late]) > 0.5
    assert scenario.injections[0].end == T20


def test_concept_drift_ignores_traffic_before_its_start(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    out = ConceptDrift(telco_generator.label_model, START + 60 * DAY, shift=1.0).apply(
        frame, times, rng
    )
    pd.testing.assert_frame_equal(out, frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "changes nothing"),
        ({"shift": float("nan")}, "shift must be a finite number"),
        ({"scale": "2"}, "scale must be a finite number"),
        ({"effects": {"Nope": 1.0}}, "'Nope' is not a feature of the label model"),
        ({"effects": {"Contract": 1.0}}, "'Contract' is categorical; give a mapping"),
        ({"effects": {"tenure": {"x": 1.0}}}, r"effects\['tenure'\] must be a finite number"),
        ({"effects": {"Contract": {"Two year": "a"}}}, r"\['Two year'\] must be a finite"),
        ({"effects": [("tenure", 1.0)]}, "effects must be a mapping"),
        ({"end": START - DAY}, "must not come before start"),
    ],
)
def test_concept_drift_rejects_bad_arguments(
    telco_generator, kwargs: dict[str, object], match: str
):
    with pytest.raises(ConfigError, match=match):
        ConceptDrift(telco_generator.label_model, START, **kwargs)  # type: ignore[arg-type]


def test_concept_drift_needs_a_label_model():
    with pytest.raises(ConfigError, match="label_model must be a LabelModel, got str"):
        ConceptDrift("model", START, shift=1.0)  # type: ignore[arg-type]


# ClassBalance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.6, 0.1])
def test_class_balance_reaches_the_stated_rate(traffic: Traffic, rng, rate: float):
    frame, times = traffic
    scenario = ClassBalance(TELCO_TARGET, "Yes", rate, T10, keep=(TELCO_ID,))
    out = scenario.apply(frame, times, rng)
    after = np.asarray(times >= T10)
    assert positive_rate(out[after]) == pytest.approx(rate, abs=0.02)
    pd.testing.assert_frame_equal(out[~after], frame[~after])
    pd.testing.assert_series_equal(out[TELCO_ID], frame[TELCO_ID])
    # Replaced rows are copies of real rows of the other class: P(x | y) is kept.
    features = [c for c in frame.columns if c != TELCO_ID]
    originals = set(frame[after][features].itertuples(index=False, name=None))
    assert all(row in originals for row in out[after][features].itertuples(index=False, name=None))
    assert out.dtypes.equals(frame.dtypes)
    (injection,) = scenario.injections
    assert injection.kind == "class_balance"
    assert injection.magnitude == rate
    assert injection.columns == (TELCO_TARGET,)
    assert injection.start == T10


def test_class_balance_ramps_to_the_rate(traffic: Traffic, rng):
    frame, times = traffic
    out = ClassBalance(TELCO_TARGET, "Yes", 0.8, T5, end=T20).apply(frame, times, rng)
    early = np.asarray((times >= T5) & (times < T5 + 2 * DAY))
    late = np.asarray(times >= T20)
    assert positive_rate(out[early]) < 0.45
    assert positive_rate(out[late]) > 0.7


def test_class_balance_at_the_current_rate_changes_nothing(rng):
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["Yes", "No", "Yes", "No"]})
    times = pd.DatetimeIndex([T5] * 4)
    out = ClassBalance("y", "Yes", 0.5, START).apply(frame, times, rng)
    pd.testing.assert_frame_equal(out, frame)
    late = ClassBalance("y", "Yes", 0.9, T20).apply(frame, times, rng)
    pd.testing.assert_frame_equal(late, frame)


def test_class_balance_with_no_donor_class_explains_itself(rng):
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["No", "No", "No"]})
    times = pd.DatetimeIndex([T5] * 3)
    with pytest.raises(SchemaMismatchError, match=r"no positive row .* cannot invent one"):
        ClassBalance("y", "Yes", 1.0, START).apply(frame, times, rng)


def test_class_balance_may_replace_no_row_by_chance():
    frame = pd.DataFrame({"x": [1, 2], "y": ["Yes", "No"]})
    times = pd.DatetimeIndex([T5, T5])
    # Goal 0.5 + 0.001: the single negative row is replaced with probability 0.002.
    out = ClassBalance("y", "Yes", 0.501, START).apply(frame, times, np.random.default_rng(0))
    pd.testing.assert_frame_equal(out, frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": 1.2}, r"rate must be a finite number in \[0, 1\]"),
        ({"keep": "customerID"}, "keep must be a tuple of column names"),
        ({"keep": ("Churn",)}, "the target 'Churn' cannot be in keep"),
        ({"target": ""}, "target must be a non-empty column name"),
    ],
)
def test_class_balance_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    arguments: dict[str, object] = {
        "target": TELCO_TARGET,
        "positive": "Yes",
        "rate": 0.5,
        "start": START,
        **kwargs,
    }
    with pytest.raises(ConfigError, match=match):
        ClassBalance(**arguments)  # type: ignore[arg-type]


# compose --------------------------------------------------------------------------------------


def test_compose_applies_in_order_and_merges_injections(traffic: Traffic, telco_generator):
    frame, times = traffic
    first = SuddenShift("MonthlyCharges", 10.0, T5)
    second = NewCategory("PaymentMethod", "Digital wallet", 0.3, T10)
    third = ConceptDrift(telco_generator.label_model, T20, shift=1.0)
    composed = compose(first, compose(second, third))
    assert isinstance(composed, Composition)
    assert [i.kind for i in composed.injections] == ["sudden", "new_category", "concept"]
    assert [i.start for i in composed.injections] == [T5, T10, T20]
    out = composed.apply(frame, times, np.random.default_rng(8))
    rng = np.random.default_rng(8)
    step = frame
    for scenario in (first, second, third):
        step = scenario.apply(step, times, rng)
    pd.testing.assert_frame_equal(out, step)


def test_compose_without_scenarios_is_the_baseline(traffic: Traffic, rng):
    frame, times = traffic
    out = compose().apply(frame, times, rng)
    pd.testing.assert_frame_equal(out, frame)
    assert out is not frame
    assert compose().injections == ()


def test_compose_rejects_non_scenarios():
    with pytest.raises(ConfigError, match=r"compose\(\) takes scenarios .* got function"):
        compose(lambda frame: frame)  # type: ignore[arg-type]


def test_scenarios_are_reproducible_under_the_same_rng(traffic: Traffic, telco_generator):
    frame, times = traffic
    scenario = compose(
        ClassBalance(TELCO_TARGET, "Yes", 0.5, T5, keep=(TELCO_ID,)),
        GradualShift("tenure", 3.5, T5, T20, label_model=telco_generator.label_model),
        NewCategory("Contract", "Ten year", 0.2, T10),
    )
    first = scenario.apply(frame, times, np.random.default_rng(5))
    second = scenario.apply(frame, times, np.random.default_rng(5))
    pd.testing.assert_frame_equal(first, second)


# Arguments shared by every scenario ------------------------------------------------------------


def test_scenarios_never_modify_their_input(traffic: Traffic, rng, telco_generator):
    frame, times = traffic
    snapshot = frame.copy()
    compose(
        SuddenShift("tenure", 3, T5),
        ConceptDrift(telco_generator.label_model, T5, shift=1.0),
        ClassBalance(TELCO_TARGET, "Yes", 0.5, T5),
    ).apply(frame, times, rng)
    pd.testing.assert_frame_equal(frame, snapshot)


def test_scenarios_accept_every_form_of_times(rng):
    frame = pd.DataFrame({"x": [0.0, 0.0, 0.0]}, index=[7, 3, 5])
    aware = pd.DatetimeIndex([START, T5, T10])
    naive = aware.tz_localize(None).to_numpy()
    paris = pd.Series(aware.tz_convert("Europe/Paris"))
    as_list = [d.to_pydatetime() for d in aware]
    scenario = SuddenShift("x", 1.0, at=pd.Timestamp("2024-01-06 01:00", tz="Europe/Paris"))
    expected = [0.0, 1.0, 1.0]
    for times in (aware, naive, paris, as_list):
        out = scenario.apply(frame, times, rng)
        assert out["x"].tolist() == expected
        assert out.index.tolist() == [7, 3, 5]
    at = dt.datetime(2024, 1, 6, tzinfo=dt.UTC)
    assert SuddenShift("x", 1.0, at=np.datetime64("2024-01-06")).injections[0].start == at


def test_scenarios_accept_an_empty_frame(rng, telco_generator):
    frame = telco_generator.generate(0, seed=0)
    times = np.array([], dtype="datetime64[ns]")
    out = compose(
        GradualShift("tenure", 1, T5, T10),
        NewCategory("Contract", "Ten year", 0.2, T5),
        ClassBalance(TELCO_TARGET, "Yes", 0.5, T5),
        ConceptDrift(telco_generator.label_model, T5, shift=1.0),
    ).apply(frame, times, rng)
    assert out.empty
    assert list(out.columns) == list(frame.columns)


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (pd.DatetimeIndex([START, T5]), "times has 2 values for a frame of 3 rows"),
        (np.array([1, 2, 3]), "times must hold datetimes, got numbers"),
        (["2024-01-01", "not a day", "2024-01-02"], "times must hold datetimes"),
        (pd.DatetimeIndex([START, pd.NaT, T5]), r"missing values \(NaT\)"),
        (42, "times must hold datetimes"),
    ],
)
def test_scenarios_reject_bad_times(rng, times: object, match: str):
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    with pytest.raises(SchemaMismatchError, match=match):
        SuddenShift("x", 1.0, START).apply(frame, times, rng)  # type: ignore[arg-type]


def test_scenarios_reject_bad_frames_and_generators(rng):
    times = pd.DatetimeIndex([START])
    scenario = SuddenShift("x", 1.0, START)
    with pytest.raises(SchemaMismatchError, match="frame must be a pandas DataFrame"):
        scenario.apply({"x": [1.0]}, times, rng)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"rng must be a numpy\.random\.Generator"):
        scenario.apply(pd.DataFrame({"x": [1.0]}), times, 0)  # type: ignore[arg-type]


def test_scenarios_reject_missing_or_wrong_columns(rng, telco_generator):
    frame = pd.DataFrame({"x": [1.0], "text": ["a"]})
    times = pd.DatetimeIndex([T5])
    model = telco_generator.label_model
    cases: list[tuple[Scenario, str]] = [
        (SuddenShift("nope", 1.0, START), "drifting column 'nope' is not in the frame"),
        (SuddenShift("text", 1.0, START), "'text' must be numeric"),
        (NewCategory("nope", "new", 0.5, START), "categorical column 'nope' is not in"),
        (ConceptDrift(model, START, shift=1.0), "target column 'Churn' is not in"),
        (ClassBalance("y", "Yes", 0.5, START), "class balance column 'y' is not in"),
        (SuddenShift("x", 1.0, START, label_model=model), "target column 'Churn' is not in"),
    ]
    for scenario, match in cases:
        with pytest.raises(SchemaMismatchError, match=match):
            scenario.apply(frame, times, rng)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: SuddenShift("", 1.0, START), "column must be a non-empty column name"),
        (lambda: SuddenShift("x", True, START), "delta must be a finite number, got True"),
        (lambda: SuddenShift("x", float("inf"), START), "delta must be a finite number"),
        (lambda: SuddenShift("x", 1.0, 20240101), "at must be a datetime"),  # type: ignore[arg-type]
        (lambda: SuddenShift("x", 1.0, "soon"), "at: cannot read 'soon' as a time"),
        (lambda: SuddenShift("x", 1.0, np.datetime64("NaT")), "at must be a time"),
        (lambda: SuddenShift("x", 1.0, START, label_model="m"), "label_model must be a Label"),  # type: ignore[arg-type]
        (lambda: Seasonal("x", 1.0, "1D", START, phase="0"), "phase must be a finite number"),  # type: ignore[arg-type]
    ],
)
def test_scenarios_reject_bad_parameters(build, match: str):
    with pytest.raises(ConfigError, match=match):
        build()
