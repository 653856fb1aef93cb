"""Datasets for driftwarden: the bundled Telco churn data, a generator of realistic rows and drift
scenarios to inject into generated traffic.

* :mod:`~driftwarden.data.telco`: :func:`load_telco` and the constants of the dataset;
* :mod:`~driftwarden.data.files`: :func:`read_table` for a user's CSV or Parquet file;
* :mod:`~driftwarden.data.generator`: :class:`RowGenerator` and its ground truth
  :class:`LabelModel`;
* :mod:`~driftwarden.data.scenarios`: drift scenarios over time, each with an exact record of
  what it injected (:class:`Injection`), and :func:`compose`;
* :mod:`~driftwarden.data.houses`, :mod:`~driftwarden.data.price_model` and
  :mod:`~driftwarden.data.house_scenarios`: the house-price example for regression, generated
  houses (:class:`HouseGenerator`, :func:`write_houses`) priced by a known ground truth
  (:class:`PriceModel`), with drift of their own (:func:`house_scenario`).

Frames go in and out; this layer knows columns by name and needs no feature schema.
"""

from driftwarden.data.files import SUPPORTED_SUFFIXES, read_table
from driftwarden.data.generator import DEFAULT_BANDWIDTH, RowGenerator
from driftwarden.data.house_scenarios import (
    HOUSE_SCENARIOS,
    NewNeighbourhood,
    SizeShift,
    house_scenario,
)
from driftwarden.data.houses import (
    BATHROOMS_PER_SQFT,
    BEDROOMS_PER_SQFT,
    HOUSE_COLUMNS,
    HOUSE_TIME,
    HouseGenerator,
    generate_houses,
    write_houses,
)
from driftwarden.data.labels import MISSING_LEVEL, LabelModel
from driftwarden.data.price_model import (
    CONDITION_LEVELS,
    HOUSE_CATEGORICAL,
    HOUSE_ID,
    HOUSE_NUMERIC,
    HOUSE_TARGET,
    NEIGHBOURHOOD_EFFECTS,
    PriceModel,
)
from driftwarden.data.scenarios import (
    ClassBalance,
    Composition,
    ConceptDrift,
    DriftKind,
    DurationLike,
    Effect,
    GradualShift,
    Injection,
    NewCategory,
    PriceShift,
    Scenario,
    Seasonal,
    SuddenShift,
    TimeLike,
    Times,
    compose,
)
from driftwarden.data.telco import (
    TELCO_CATEGORICAL,
    TELCO_ID,
    TELCO_NUMERIC,
    TELCO_POSITIVE,
    TELCO_TARGET,
    binary_target,
    load_telco,
)

__all__ = [
    "BATHROOMS_PER_SQFT",
    "BEDROOMS_PER_SQFT",
    "CONDITION_LEVELS",
    "DEFAULT_BANDWIDTH",
    "HOUSE_CATEGORICAL",
    "HOUSE_COLUMNS",
    "HOUSE_ID",
    "HOUSE_NUMERIC",
    "HOUSE_SCENARIOS",
    "HOUSE_TARGET",
    "HOUSE_TIME",
    "MISSING_LEVEL",
    "NEIGHBOURHOOD_EFFECTS",
    "SUPPORTED_SUFFIXES",
    "TELCO_CATEGORICAL",
    "TELCO_ID",
    "TELCO_NUMERIC",
    "TELCO_POSITIVE",
    "TELCO_TARGET",
    "ClassBalance",
    "Composition",
    "ConceptDrift",
    "DriftKind",
    "DurationLike",
    "Effect",
    "GradualShift",
    "HouseGenerator",
    "Injection",
    "LabelModel",
    "NewCategory",
    "NewNeighbourhood",
    "PriceModel",
    "PriceShift",
    "RowGenerator",
    "Scenario",
    "Seasonal",
    "SizeShift",
    "SuddenShift",
    "TimeLike",
    "Times",
    "binary_target",
    "compose",
    "generate_houses",
    "house_scenario",
    "load_telco",
    "read_table",
    "write_houses",
]
