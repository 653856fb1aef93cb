"""The house-price example: the generator, its ground-truth price model and the file writer."""

from __future__ import annotations

import doctest
import importlib
import math
import time

import numpy as np
import pandas as pd
import pytest

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data import (
    CONDITION_LEVELS,
    HOUSE_CATEGORICAL,
    HOUSE_COLUMNS,
    HOUSE_ID,
    HOUSE_NUMERIC,
    HOUSE_TARGET,
    HOUSE_TIME,
    NEIGHBOURHOOD_EFFECTS,
    HouseGenerator,
    PriceModel,
    compose,
    generate_houses,
    house_scenario,
    read_table,
    write_houses,
)
from driftwarden.schema import infer_schema

MODULES = [
    "driftwarden.data.price_model",
    "driftwarden.data.houses",
    "driftwarden.data.house_scenarios",
    "driftwarden.data.scenarios.price_shift",
]
DTYPES = {
    "sqft_living": "int64",
    "bedrooms": "int64",
    "bathrooms": "float64",
    "year_built": "int64",
    "lot_sqft": "float64",
    "has_garage": "bool",
    "price": "float64",
}
REFERENCE_HOUSE = {
    "neighbourhood": "Maple Grove",
    "sqft_living": 1800,
    "bedrooms": 3,
    "bathrooms": 2.0,
    "year_built": 1994,
    "lot_sqft": 6000.0,
    "condition": "average",
    "has_garage": False,
}


@pytest.fixture(scope="module")
def houses() -> pd.DataFrame:
    """100,000 houses (seed 3); treat as read-only."""
    return generate_houses(100_000, seed=3)


def one_house(**changes: object) -> pd.DataFrame:
    return pd.DataFrame([{**REFERENCE_HOUSE, **changes}])


def design(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The price model's terms as regressors, with one column per non-reference level."""
    columns = {
        "intercept": np.ones(len(frame)),
        "log_sqft": np.log(frame["sqft_living"] / 1800),
        "bedrooms": frame["bedrooms"] - 3.0,
        "bathrooms": frame["bathrooms"] - 2.0,
        "age": (2024 - frame["year_built"] - 30) / 10,
        "log_lot": np.log(frame["lot_sqft"].fillna(6000.0) / 6000),
        "garage": frame["has_garage"].astype(float),
    }
    for name in NEIGHBOURHOOD_EFFECTS:
        if name != "Maple Grove":
            columns[name] = (frame["neighbourhood"] == name).astype(float)
    for level in CONDITION_LEVELS:
        if level != "average":
            columns[level] = (frame["condition"] == level).astype(float)
    return np.column_stack([np.asarray(c, dtype=float) for c in columns.values()]), list(columns)


# The generator -----------------------------------------------------------------------------------


def test_houses_are_deterministic_for_a_seed():
    first = generate_houses(5_000, seed=42)
    pd.testing.assert_frame_equal(first, generate_houses(5_000, seed=42))
    assert not first.equals(generate_houses(5_000, seed=43))


def test_house_generator_stream_is_reproducible_and_advances():
    one, two = HouseGenerator(seed=9), HouseGenerator(seed=9)
    a, b = one.generate(500), one.generate(500)
    assert not a.equals(b)
    pd.testing.assert_frame_equal(a, two.generate(500))
    pd.testing.assert_frame_equal(b, two.generate(500))
    assert not set(a[HOUSE_ID]) & set(b[HOUSE_ID])


def test_houses_have_the_documented_columns_and_dtypes(houses: pd.DataFrame):
    assert tuple(houses.columns) == HOUSE_COLUMNS
    assert set(HOUSE_COLUMNS) == {HOUSE_ID, *HOUSE_NUMERIC, *HOUSE_CATEGORICAL, HOUSE_TARGET}
    assert {c: str(houses[c].dtype) for c in DTYPES} == DTYPES
    for column in (HOUSE_ID, "neighbourhood", "condition"):
        assert pd.api.types.is_string_dtype(houses[column])
    assert isinstance(houses.index, pd.RangeIndex)
    assert houses[HOUSE_ID].is_unique
    assert houses[HOUSE_ID].str.startswith("house-").all()


def test_houses_values_lie_in_their_documented_ranges(houses: pd.DataFrame):
    assert houses["sqft_living"].between(400, 9000).all()
    assert (houses["sqft_living"] % 10 == 0).all()
    assert houses["bedrooms"].between(1, 8).all()
    assert houses["bathrooms"].between(1, 6).all()
    assert (houses["bathrooms"] * 2 % 1 == 0).all()
    assert houses["year_built"].between(1880, 2023).all()
    assert (houses["lot_sqft"].dropna() >= 500).all()
    assert set(houses["neighbourhood"]) == set(NEIGHBOURHOOD_EFFECTS)
    assert set(houses["condition"].dropna()) == set(CONDITION_LEVELS)
    price = houses[HOUSE_TARGET]
    assert (price >= 1).all()
    assert (price == price.round()).all()
    assert price.nunique() > 0.9 * len(price)
    assert 200_000 < price.median() < 600_000


def test_houses_have_missing_values_in_lot_and_condition_only(houses: pd.DataFrame):
    missing = houses.isna().mean()
    assert missing["lot_sqft"] == pytest.approx(0.04, abs=0.003)
    assert missing["condition"] == pytest.approx(0.02, abs=0.002)
    assert (missing.drop(["lot_sqft", "condition"]) == 0).all()


@pytest.mark.parametrize("seed", range(100))
def test_houses_are_valid_for_any_seed(seed: int):
    frame = generate_houses(500, seed=seed)
    assert tuple(frame.columns) == HOUSE_COLUMNS
    assert (frame[HOUSE_TARGET] > 0).all()
    assert frame[HOUSE_ID].is_unique
    assert frame.drop(columns=["lot_sqft", "condition"]).notna().all().all()


def test_no_houses_gives_an_empty_frame_with_the_dtypes():
    empty = HouseGenerator().generate(0)
    assert empty.shape == (0, len(HOUSE_COLUMNS))
    assert {c: str(empty[c].dtype) for c in DTYPES} == DTYPES


def test_houses_generate_fast():
    generator = HouseGenerator(seed=0)
    generator.generate(1_000)  # warm-up: imports and first-call caches
    began = time.perf_counter()
    generator.generate(100_000)
    # Well under a second on a quiet machine (about 0.1 s); the margin is for busy CI.
    assert time.perf_counter() - began < 2.0


def test_bigger_houses_have_more_rooms_and_cost_more(houses: pd.DataFrame):
    spearman = houses[["sqft_living", "bedrooms", "bathrooms", HOUSE_TARGET]].corr("spearman")
    with_size = spearman["sqft_living"]
    assert with_size["bedrooms"] > 0.7
    assert with_size["bathrooms"] > 0.7
    assert with_size[HOUSE_TARGET] > 0.6
    by_size = houses.groupby(pd.qcut(houses["sqft_living"], 5), observed=True)[HOUSE_TARGET]
    assert by_size.median().is_monotonic_increasing


def test_neighbourhoods_differ_in_size_age_and_garages(houses: pd.DataFrame):
    grouped = houses.groupby("neighbourhood")
    sizes = grouped["sqft_living"].median()
    assert sizes.idxmax() == "Hillcrest"
    assert sizes.idxmin() == "Mill District"
    assert grouped["year_built"].median().idxmin() == "Old Town"
    assert grouped["year_built"].median().idxmax() == "Eastfield"
    garages = grouped["has_garage"].mean()
    assert garages["Hillcrest"] > 0.9 > 0.5 > garages["Old Town"]
    shares = houses["neighbourhood"].value_counts(normalize=True)
    assert shares["Maple Grove"] == pytest.approx(0.27, abs=0.01)


def test_older_houses_are_in_worse_condition(houses: pd.DataFrame):
    worse = houses["condition"].isin(["poor", "fair"])
    old = houses["year_built"] < 1940
    new = houses["year_built"] > 2005
    assert worse[old].mean() > worse[new].mean() + 0.2


def test_neighbourhood_prices_follow_their_effects(houses: pd.DataFrame):
    # Raw medians are confounded by size and age; the model's residual-free ordering is not.
    medians = houses.groupby("neighbourhood")[HOUSE_TARGET].median()
    assert medians.idxmax() == "Hillcrest"
    assert medians.idxmin() == "Mill District"
    x, names = design(houses)
    coef, *_ = np.linalg.lstsq(x, np.log(houses[HOUSE_TARGET]), rcond=None)
    fitted = dict(zip(names, coef, strict=True))
    recovered = {n: fitted.get(n, 0.0) for n in NEIGHBOURHOOD_EFFECTS}
    assert sorted(recovered, key=recovered.__getitem__) == sorted(
        NEIGHBOURHOOD_EFFECTS, key=NEIGHBOURHOOD_EFFECTS.__getitem__
    )


def test_regression_on_the_houses_recovers_the_documented_model(houses: pd.DataFrame):
    model = PriceModel()
    x, names = design(houses)
    y = np.log(houses[HOUSE_TARGET].to_numpy())
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    fitted = dict(zip(names, coef, strict=True))
    expected = {
        "intercept": math.log(model.base_price),
        "log_sqft": model.sqft_elasticity,
        "bedrooms": model.bedroom_effect,
        "bathrooms": model.bathroom_effect,
        "age": model.age_effect,
        "log_lot": model.lot_elasticity,
        "garage": model.garage_effect,
        **{n: e for n, e in model.neighbourhood_effects.items() if n != "Maple Grove"},
        **{lv: e for lv, e in model.condition_effects.items() if lv != "average"},
    }
    for name, value in expected.items():
        assert fitted[name] == pytest.approx(value, abs=0.015), name
    residual = y - x @ coef
    assert residual.std() == pytest.approx(model.sigma, abs=0.003)


def test_price_noise_has_the_documented_sigma(houses: pd.DataFrame):
    model = HouseGenerator().price_model
    residuals = model.log_residuals(houses)
    assert residuals.mean() == pytest.approx(0.0, abs=0.002)
    assert residuals.std() == pytest.approx(model.sigma, rel=0.02)
    # The noise is normal: a quarter of it beyond 1.15 sigma on each side.
    assert np.mean(np.abs(residuals) > 1.15 * model.sigma) == pytest.approx(0.25, abs=0.01)


def test_expected_price_is_the_mean_of_the_prices(houses: pd.DataFrame):
    model = PriceModel()
    ratio = houses[HOUSE_TARGET] / model.expected_price(houses)
    assert ratio.mean() == pytest.approx(1.0, abs=0.003)


def test_a_custom_price_model_prices_the_houses():
    exact = PriceModel(sigma=0.0, base_price=100_000.0)
    frame = HouseGenerator(price_model=exact).generate(200, seed=1)
    np.testing.assert_array_equal(
        frame[HOUSE_TARGET], np.round(np.exp(exact.log_mean(frame)))
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"price_model": "default"}, "price_model must be a PriceModel"),
        ({"id_prefix": 3}, "id_prefix must be a string"),
    ],
)
def test_house_generator_rejects_bad_arguments(kwargs: dict[str, object], match: str):
    with pytest.raises(ConfigError, match=match):
        HouseGenerator(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [-1, 2.0, True, "10"])
def test_house_generator_rejects_a_bad_count(n: object):
    with pytest.raises(ConfigError, match="n must be a non-negative integer"):
        HouseGenerator().generate(n)  # type: ignore[arg-type]


def test_house_generator_describes_its_columns():
    generator = HouseGenerator()
    assert generator.target == HOUSE_TARGET
    assert generator.entity_id == HOUSE_ID
    assert generator.columns == HOUSE_COLUMNS
    assert generator.numeric == HOUSE_NUMERIC
    assert generator.categorical == HOUSE_CATEGORICAL
    assert generator.price_model == PriceModel()


# The price model ---------------------------------------------------------------------------------


def test_price_model_prices_the_reference_house_at_the_base_price():
    model = PriceModel()
    assert np.exp(model.log_mean(one_house()))[0] == pytest.approx(350_000.0)
    assert model.expected_price(one_house())[0] == pytest.approx(350_000 * math.exp(0.15**2 / 2))


@pytest.mark.parametrize(
    ("changes", "term"),
    [
        ({"neighbourhood": "Hillcrest"}, 0.45),
        ({"neighbourhood": "Mill District"}, -0.35),
        ({"sqft_living": 3600}, 0.75 * math.log(2)),
        ({"bedrooms": 5}, 2 * -0.03),
        ({"bathrooms": 3.5}, 1.5 * 0.05),
        ({"year_built": 1894}, 10 * -0.03),
        ({"lot_sqft": 12000.0}, 0.10 * math.log(2)),
        ({"condition": "poor"}, -0.25),
        ({"condition": "excellent"}, 0.18),
        ({"has_garage": True}, 0.05),
        ({"has_garage": "True"}, 0.05),
        ({"has_garage": 1}, 0.05),
    ],
)
def test_price_model_terms_are_the_documented_coefficients(changes: dict[str, object], term: float):
    model = PriceModel()
    change = model.log_mean(one_house(**changes)) - model.log_mean(one_house())
    assert change[0] == pytest.approx(term)


@pytest.mark.parametrize(
    "column", ["bedrooms", "bathrooms", "year_built", "lot_sqft", "condition", "has_garage"]
)
def test_price_model_prices_a_missing_value_at_the_reference(column: str):
    model = PriceModel()
    missing = one_house(**{column: None})
    assert model.log_mean(missing)[0] == pytest.approx(math.log(350_000))


def test_price_model_gives_unknown_levels_no_effect():
    model = PriceModel()
    unknown = one_house(neighbourhood="Atlantis", condition="haunted")
    assert model.log_mean(unknown)[0] == pytest.approx(math.log(350_000))


def test_price_model_reads_categories_and_text_flags_from_a_file():
    frame = one_house(has_garage="yes")
    frame["neighbourhood"] = frame["neighbourhood"].astype("category")
    assert PriceModel().log_mean(frame)[0] == pytest.approx(math.log(350_000) + 0.05)


def test_price_model_without_noise_prices_exactly():
    frame = generate_houses(1_000, seed=5)
    exact = PriceModel(sigma=0.0)
    prices = exact.sample(frame, np.random.default_rng(0))
    np.testing.assert_array_equal(prices, np.round(np.exp(exact.log_mean(frame))))
    assert prices.name == HOUSE_TARGET
    assert prices.index.equals(frame.index)


def test_price_model_scaled_multiplies_every_price():
    model = PriceModel()
    frame = generate_houses(1_000, seed=5)
    shifted = model.scaled(1.2)
    np.testing.assert_allclose(shifted.log_mean(frame) - model.log_mean(frame), math.log(1.2))
    assert shifted.base_price == pytest.approx(420_000.0)
    assert model.base_price == 350_000.0


def test_price_model_with_neighbourhood_adds_only_that_level():
    model = PriceModel()
    extended = model.with_neighbourhood("Harbour View", 0.3)
    assert extended.neighbourhood_effects["Harbour View"] == 0.3
    assert "Harbour View" not in model.neighbourhood_effects
    harbour = one_house(neighbourhood="Harbour View")
    assert extended.log_mean(harbour)[0] - model.log_mean(harbour)[0] == pytest.approx(0.3)


def test_price_model_keeps_its_own_copy_of_the_effects():
    effects = {"North": 0.1, "South": -0.1}
    model = PriceModel(neighbourhood_effects=effects)
    effects["North"] = 5.0
    assert model.neighbourhood_effects["North"] == 0.1
    with pytest.raises(TypeError, match="does not support item assignment"):
        model.neighbourhood_effects["North"] = 1.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_price": 0.0}, "base_price must be above 0"),
        ({"base_price": math.nan}, "base_price must be a finite number"),
        ({"sigma": -0.1}, "sigma must be a finite number in"),
        ({"sqft_elasticity": math.inf}, "sqft_elasticity must be a finite number"),
        ({"garage_effect": "0.1"}, "garage_effect must be a finite number"),
        ({"reference_year": 2024.0}, "reference_year must be an integer"),
        ({"reference_year": True}, "reference_year must be an integer"),
        ({"neighbourhood_effects": {}}, "neighbourhood_effects must be a non-empty mapping"),
        ({"condition_effects": [("good", 1.0)]}, "condition_effects must be a non-empty"),
        ({"condition_effects": {"": 1.0}}, "levels must be non-empty strings"),
        ({"neighbourhood_effects": {"A": math.nan}}, r"neighbourhood_effects\['A'\] must be"),
    ],
)
def test_price_model_rejects_bad_parameters(kwargs: dict[str, object], match: str):
    with pytest.raises(ConfigError, match=match):
        PriceModel(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.scaled(0.0), "factor must be above 0"),
        (lambda m: m.scaled(math.nan), "factor must be a finite number"),
        (lambda m: m.with_neighbourhood("Old Town", 0.1), "'Old Town' is already a neighbourhood"),
        (lambda m: m.with_neighbourhood("", 0.1), "name must be a non-empty string"),
        (lambda m: m.with_neighbourhood("New", math.inf), "effect must be a finite number"),
        (lambda m: m.sample(one_house(), 7), "rng must be a numpy.random.Generator"),
    ],
)
def test_price_model_methods_reject_bad_arguments(call, match: str):
    with pytest.raises(ConfigError, match=match):
        call(PriceModel())


@pytest.mark.parametrize(
    ("frame", "column", "match"),
    [
        (one_house().drop(columns="condition"), "condition", "'condition' is not in the frame"),
        (one_house(sqft_living=0), "sqft_living", "sqft_living must be a positive number"),
        (one_house(sqft_living=None), "sqft_living", "sqft_living must be a positive number"),
        (one_house(lot_sqft=-5.0), "lot_sqft", "lot_sqft must be positive"),
        (one_house(bedrooms="three"), "bedrooms", "'bedrooms' holds values that are not numbers"),
        (one_house(has_garage="maybe"), "has_garage", "must hold flags"),
    ],
)
def test_price_model_names_the_column_it_cannot_price(frame: pd.DataFrame, column: str, match: str):
    with pytest.raises(SchemaMismatchError, match=match) as caught:
        PriceModel().log_mean(frame)
    assert caught.value.column == column


def test_price_model_needs_a_frame_and_positive_prices():
    model = PriceModel()
    with pytest.raises(SchemaMismatchError, match="expected a pandas DataFrame, got dict"):
        model.log_mean(REFERENCE_HOUSE)  # type: ignore[arg-type]
    with pytest.raises(SchemaMismatchError, match="target column 'price' is not in the frame"):
        model.log_residuals(one_house())
    with pytest.raises(SchemaMismatchError, match="price must be a positive number"):
        model.log_residuals(one_house(price=0.0))


# Writing a file ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["houses.csv", "houses.csv.gz", "out/houses.parquet"])
def test_write_houses_writes_a_readable_file(tmp_path, name: str):
    written = write_houses(tmp_path / name, 300, seed=4)
    pd.testing.assert_frame_equal(written, generate_houses(300, seed=4))
    read = read_table(tmp_path / name)
    assert list(read.columns) == list(HOUSE_COLUMNS)
    assert len(read) == 300
    np.testing.assert_array_equal(read[HOUSE_TARGET], written[HOUSE_TARGET])
    assert read["lot_sqft"].isna().sum() == written["lot_sqft"].isna().sum()


def test_write_houses_with_a_scenario_adds_listing_times(tmp_path):
    start = pd.Timestamp("2024-01-01", tz="UTC")
    scenario = house_scenario("market_shift", start=start + pd.Timedelta(days=200))
    written = write_houses(tmp_path / "h.csv", 1_000, seed=2, scenario=scenario)
    assert list(written.columns) == [HOUSE_ID, HOUSE_TIME, *HOUSE_COLUMNS[1:]]
    times = written[HOUSE_TIME]
    assert times.is_monotonic_increasing
    assert times.iloc[0] == pd.Timestamp("2024-01-01")
    assert times.iloc[-1] == pd.Timestamp("2024-12-31")
    late = (times >= pd.Timestamp("2024-07-19")).to_numpy()
    plain = generate_houses(1_000, seed=2)
    np.testing.assert_array_equal(written[HOUSE_TARGET][~late], plain[HOUSE_TARGET][~late])
    gap = written[HOUSE_TARGET][late] - 1.15 * plain[HOUSE_TARGET][late]
    assert gap.abs().max() <= 0.5 + 1e-6  # whole currency units
    pd.testing.assert_frame_equal(written.drop(columns=[HOUSE_TIME, HOUSE_TARGET]),
                                  plain.drop(columns=HOUSE_TARGET))  # fmt: skip
    read = read_table(tmp_path / "h.csv")
    assert infer_schema(read, target=HOUSE_TARGET, entity_id=HOUSE_ID, time_column=HOUSE_TIME)


def test_write_houses_composes_scenarios(tmp_path):
    start = pd.Timestamp("2024-03-01", tz="UTC")
    drift = compose(
        house_scenario("bigger_houses", start=start),
        house_scenario("new_neighbourhood", start=start),
    )
    written = write_houses(tmp_path / "h.csv", 2_000, seed=2, scenario=drift)
    late = written[HOUSE_TIME] >= pd.Timestamp("2024-03-01")
    assert (written.loc[late, "neighbourhood"] == "Harbour View").mean() > 0.15
    assert not (written.loc[~late, "neighbourhood"] == "Harbour View").any()


def test_write_houses_of_one_row(tmp_path):
    scenario = house_scenario("market_shift", start="2023-06-01")
    written = write_houses(tmp_path / "one.csv", 1, seed=0, scenario=scenario)
    assert len(written) == 1
    assert written[HOUSE_TIME].iloc[0] == pd.Timestamp("2024-01-01")


@pytest.mark.parametrize(
    ("kwargs", "key", "match"),
    [
        ({"path": "houses.txt"}, "out", "use a .csv, .csv.gz or .parquet file name"),
        ({"rows": 0}, "rows", "rows must be a positive integer, got 0"),
        ({"rows": 1.5}, "rows", "rows must be a positive integer"),
        ({"seed": None}, "seed", "seed must be a non-negative integer, got None"),
        ({"scenario": "market_shift"}, "scenario", "scenario must be a drift scenario"),
    ],
)
def test_write_houses_rejects_bad_arguments(tmp_path, kwargs: dict[str, object], key, match):
    arguments: dict[str, object] = {"path": "houses.csv", **kwargs}
    arguments["path"] = tmp_path / str(arguments["path"])
    with pytest.raises(ConfigError, match=match) as caught:
        write_houses(**arguments)  # type: ignore[arg-type]
    assert caught.value.key == key


def test_write_houses_rejects_a_negative_seed_and_bad_times(tmp_path):
    with pytest.raises(ConfigError, match="seed must be a non-negative integer"):
        write_houses(tmp_path / "h.csv", 10, seed=-3)
    scenario = house_scenario("market_shift", start="2024-06-01")
    with pytest.raises(ConfigError, match="period must be a positive duration"):
        write_houses(tmp_path / "h.csv", 10, scenario=scenario, period="0D")
    with pytest.raises(ConfigError, match="start: cannot read 'soon' as a time"):
        write_houses(tmp_path / "h.csv", 10, scenario=scenario, start="soon")


def test_write_houses_explains_a_path_it_cannot_write(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(ConfigError, match="cannot write") as caught:
        write_houses(tmp_path / "taken" / "houses.csv", 10)
    assert caught.value.key == "out"


# The schema and the package ----------------------------------------------------------------------


def test_infer_schema_reads_the_houses_as_a_regression_problem(houses: pd.DataFrame):
    schema = infer_schema(houses, target=HOUSE_TARGET, entity_id=HOUSE_ID)
    assert schema.task == "regression"
    assert schema.kinds() == {
        **dict.fromkeys(HOUSE_NUMERIC, "numeric"),
        **dict.fromkeys(HOUSE_CATEGORICAL, "categorical"),
    }
    assert schema.get("lot_sqft").nullable
    assert schema.get("condition").nullable
    assert not schema.get("sqft_living").nullable
    assert schema.positive_label is None


def isort_key(name: str) -> tuple[int, str]:
    """The order of ruff's RUF022: CONSTANTS, then Classes, then functions, each sorted."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize("module_name", [*MODULES, "driftwarden.data.scenarios"])
def test_house_modules_export_sorted_names_reexported_by_the_package(module_name: str):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__, key=isort_key)
    package = importlib.import_module("driftwarden.data")
    assert list(package.__all__) == sorted(package.__all__, key=isort_key)
    for name in module.__all__:
        assert getattr(package, name) is getattr(module, name), name


@pytest.mark.parametrize("module_name", MODULES)
def test_house_docstring_examples_run(module_name: str):
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
