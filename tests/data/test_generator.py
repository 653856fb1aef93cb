from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data import (
    DEFAULT_BANDWIDTH,
    TELCO_CATEGORICAL,
    TELCO_ID,
    TELCO_NUMERIC,
    TELCO_TARGET,
    RowGenerator,
)

ADD_ONS = [
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
]


def churn_rate_by(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[TELCO_TARGET].eq("Yes").groupby(frame[column]).mean()


def mixed_frame(n: int = 600) -> pd.DataFrame:
    """Every kind of column the generator treats differently, with missing values."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "key": [f"k{i}" for i in range(n)],
            "balance": rng.normal(0.0, 50.0, n).round(2),  # signed: additive kernel
            "ratio": rng.random(n),  # many decimals: not rounded
            "weight": rng.gamma(2.0, 3.0, n).astype(np.float32).round(1),
            "visits": rng.poisson(3, n),  # integers: kept as drawn
            "flag": rng.random(n) < 0.3,
            "colour": rng.choice(np.array(["red", "green", None], dtype=object), n),
            "empty": np.nan,
            "label": rng.choice(["a", "b"], n),
        }
    )
    frame.loc[::9, "balance"] = np.nan
    return frame


def test_generator_reproduces_categorical_shares(
    telco_frame: pd.DataFrame, generated: pd.DataFrame
):
    for column in TELCO_CATEGORICAL:
        real = telco_frame[column].value_counts(normalize=True)
        fake = generated[column].value_counts(normalize=True)
        assert set(fake.index) == set(real.index), column
        assert (real - fake).abs().max() < 0.02, column


def test_generator_reproduces_numeric_marginals(telco_frame: pd.DataFrame, generated: pd.DataFrame):
    for column in TELCO_NUMERIC:
        assert ks_2samp(telco_frame[column], generated[column]).statistic < 0.05, column
        quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
        real = telco_frame[column].quantile(quantiles).to_numpy()
        fake = generated[column].quantile(quantiles).to_numpy()
        spread = telco_frame[column].std()
        assert np.abs(real - fake).max() < 0.1 * spread, column
        assert generated[column].min() >= telco_frame[column].min()
        assert generated[column].max() <= telco_frame[column].max()


def test_generator_keeps_the_joint_structure(telco_frame: pd.DataFrame, generated: pd.DataFrame):
    real = telco_frame[["tenure", "MonthlyCharges", "TotalCharges"]].corr().to_numpy()
    fake = generated[["tenure", "MonthlyCharges", "TotalCharges"]].corr().to_numpy()
    assert np.abs(real - fake).max() < 0.02
    real_rates = churn_rate_by(telco_frame, "Contract")
    fake_rates = churn_rate_by(generated, "Contract")
    assert (real_rates - fake_rates).abs().max() < 0.02
    assert (
        churn_rate_by(telco_frame, "InternetService") - churn_rate_by(generated, "InternetService")
    ).abs().max() < 0.03
    real_positive = telco_frame[TELCO_TARGET].eq("Yes").mean()
    assert abs(generated[TELCO_TARGET].eq("Yes").mean() - real_positive) < 0.015


def test_generator_keeps_the_logical_constraints_of_telco(generated: pd.DataFrame):
    no_internet = generated["InternetService"] == "No"
    for column in ADD_ONS:
        assert ((generated[column] == "No internet service") == no_internet).all(), column
    no_phone = generated["PhoneService"] == "No"
    assert ((generated["MultipleLines"] == "No phone service") == no_phone).all()
    assert ((generated["TotalCharges"] == 0) == (generated["tenure"] == 0)).all()


def test_generator_keeps_total_charges_near_tenure_times_monthly(
    telco_frame: pd.DataFrame, generated: pd.DataFrame
):
    def ratio(frame: pd.DataFrame) -> pd.Series:
        billed = frame[frame["tenure"] > 0]
        return billed["TotalCharges"] / (billed["tenure"] * billed["MonthlyCharges"])

    real, fake = ratio(telco_frame), ratio(generated)
    assert abs(real.median() - fake.median()) < 0.005
    assert abs(real.quantile(0.9) - fake.quantile(0.9)) < 0.01
    assert fake.between(real.min() - 0.01, real.max() + 0.01).all()


def test_generator_writes_money_with_two_decimals(generated: pd.DataFrame):
    for column in ("MonthlyCharges", "TotalCharges"):
        cents = generated[column].to_numpy() * 100
        assert np.allclose(cents, np.round(cents), atol=1e-6), column


def test_generator_keeps_columns_and_dtypes(telco_frame: pd.DataFrame, generated: pd.DataFrame):
    assert list(generated.columns) == list(telco_frame.columns)
    assert generated.dtypes.equals(telco_frame.dtypes)
    assert isinstance(generated.index, pd.RangeIndex)
    assert len(generated) == 20_000
    assert not generated.isna().any().any()


def test_generator_gives_fresh_unique_entity_ids(
    telco_generator: RowGenerator, telco_frame: pd.DataFrame, generated: pd.DataFrame
):
    ids = generated[TELCO_ID]
    assert ids.is_unique
    assert ids.str.startswith("syn-").all()
    assert not ids.isin(telco_frame[TELCO_ID]).any()
    other = telco_generator.generate(1000, seed=12)[TELCO_ID]
    assert not other.isin(ids).any()


def test_generator_same_seed_gives_an_identical_frame(telco_generator: RowGenerator):
    first = telco_generator.generate(500, seed=7)
    pd.testing.assert_frame_equal(first, telco_generator.generate(500, seed=7))
    assert not first.equals(telco_generator.generate(500, seed=8))


def test_generator_fit_seed_makes_the_sequence_of_calls_reproducible(
    telco_frame: pd.DataFrame,
):
    def run() -> list[pd.DataFrame]:
        generator = RowGenerator.fit(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=3)
        return [generator.generate(200), generator.generate(200)]

    first, second = run(), run()
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0].equals(first[1])


def test_generator_zero_rows_gives_an_empty_frame_with_the_columns(
    telco_generator: RowGenerator, telco_frame: pd.DataFrame
):
    empty = telco_generator.generate(0, seed=1)
    assert empty.shape == (0, 21)
    assert list(empty.columns) == list(telco_frame.columns)
    assert empty.dtypes.equals(telco_frame.dtypes)


def test_generator_properties(telco_generator: RowGenerator):
    assert telco_generator.target == TELCO_TARGET
    assert telco_generator.entity_id == TELCO_ID
    assert telco_generator.columns[0] == TELCO_ID
    assert len(telco_generator.columns) == 21
    assert telco_generator.continuous == ("MonthlyCharges", "TotalCharges")
    assert telco_generator.label_model.target == TELCO_TARGET


def test_generator_without_bandwidth_is_a_plain_bootstrap(telco_frame: pd.DataFrame):
    generator = RowGenerator(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID, bandwidth=0)
    rows = generator.generate(300, seed=2)
    features = [c for c in telco_frame.columns if c not in (TELCO_ID, TELCO_TARGET)]
    real = set(telco_frame[features].itertuples(index=False, name=None))
    assert all(row in real for row in rows[features].itertuples(index=False, name=None))


def test_generator_on_a_generic_frame(rng: np.random.Generator):
    real = mixed_frame()
    generator = RowGenerator.fit(real, target="label", seed=1)
    assert generator.entity_id is None
    assert set(generator.continuous) == {"weight", "balance", "ratio"}
    fake = generator.generate(5000, seed=4)
    assert fake.dtypes.equals(real.dtypes)
    assert set(fake["key"]) <= set(real["key"])  # no entity id: an ordinary text column
    assert set(fake["visits"]) <= set(real["visits"])
    assert set(fake["flag"]) <= {True, False}
    assert fake["empty"].isna().all()
    assert abs(fake["balance"].isna().mean() - real["balance"].isna().mean()) < 0.02
    assert abs(fake["colour"].isna().mean() - real["colour"].isna().mean()) < 0.03
    balance = fake["balance"].dropna()
    assert balance.between(real["balance"].min(), real["balance"].max()).all()
    assert np.allclose(balance * 100, np.round(balance * 100))
    assert ks_2samp(real["balance"].dropna(), balance).statistic < 0.05
    # "ratio" has more than six decimals: smoothed but not rounded.
    assert not fake["ratio"].isin(real["ratio"]).all()
    assert set(fake["label"]) == {"a", "b"}


def test_generator_with_only_signed_continuous_columns():
    real = mixed_frame()[["balance", "visits", "label"]]
    generator = RowGenerator.fit(real, target="label", seed=1)
    assert generator.continuous == ("balance",)
    fake = generator.generate(2000, seed=0)
    assert fake["balance"].dropna().between(real["balance"].min(), real["balance"].max()).all()
    assert not fake["balance"].dropna().isin(real["balance"]).all()


def test_generator_fit_equals_calling_the_class(telco_frame: pd.DataFrame):
    a = RowGenerator.fit(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=9)
    b = RowGenerator(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=9)
    pd.testing.assert_frame_equal(a.generate(50), b.generate(50))
    assert DEFAULT_BANDWIDTH == 0.02


@pytest.mark.parametrize(
    ("n", "match"),
    [
        (-1, "n must be a non-negative integer, got -1"),
        (2.5, "got 2.5"),
        (True, "got True"),
        ("10", "got '10'"),
    ],
)
def test_generator_rejects_bad_row_counts(telco_generator: RowGenerator, n: object, match: str):
    with pytest.raises(ConfigError, match=match):
        telco_generator.generate(n)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, "7", 1.5, True])
def test_generator_rejects_bad_seeds(telco_generator: RowGenerator, seed: object):
    with pytest.raises(ConfigError, match="seed must be a non-negative integer or None"):
        telco_generator.generate(3, seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target": "Churned"}, SchemaMismatchError, "target column 'Churned' is not in"),
        ({"entity_id": "id"}, SchemaMismatchError, "entity id column 'id' is not in"),
        ({"entity_id": TELCO_TARGET}, ConfigError, "target and entity_id are both 'Churn'"),
        ({"bandwidth": 0.9}, ConfigError, r"bandwidth must be a number in \[0, 0.5\]"),
        ({"bandwidth": "wide"}, ConfigError, "bandwidth must be a number"),
        ({"id_prefix": 3}, ConfigError, "id_prefix must be a string, got int"),
        ({"seed": -2}, ConfigError, "seed must be a non-negative integer"),
    ],
)
def test_generator_fit_rejects_bad_arguments(
    telco_frame: pd.DataFrame, kwargs: dict[str, object], error: type[Exception], match: str
):
    arguments: dict[str, object] = {"target": TELCO_TARGET, **kwargs}
    with pytest.raises(error, match=match):
        RowGenerator.fit(telco_frame, **arguments)  # type: ignore[arg-type]


def test_generator_fit_rejects_bad_frames():
    with pytest.raises(SchemaMismatchError, match="df must be a pandas DataFrame, got dict"):
        RowGenerator.fit({"a": [1]}, target="a")  # type: ignore[arg-type]
    with pytest.raises(SchemaMismatchError, match="df has no rows"):
        RowGenerator.fit(pd.DataFrame({"x": [], "y": []}), target="y")
    with pytest.raises(SchemaMismatchError, match="column names must be strings"):
        RowGenerator.fit(pd.DataFrame({0: [1, 2], "y": ["a", "b"]}), target="y")
    duplicated = pd.DataFrame([[1, 2, "a"], [3, 4, "b"]], columns=["x", "x", "y"])
    with pytest.raises(SchemaMismatchError, match=r"\['x'\] appear more than once"):
        RowGenerator.fit(duplicated, target="y")
    with pytest.raises(SchemaMismatchError, match="exactly two classes"):
        RowGenerator.fit(pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "a"]}), target="y")
