"""Datasets for driftwarden: the bundled Telco churn data, a generator of realistic rows and drift
scenarios to inject into generated traffic.

* :mod:`~driftwarden.data.telco`: :func:`load_telco` and the constants of the dataset;
* :mod:`~driftwarden.data.files`: :func:`read_table` for a user's CSV or Parquet file;
* :mod:`~driftwarden.data.generator`: :class:`RowGenerator` and its ground truth
  :class:`LabelModel`;
* :mod:`~driftwarden.data.scenarios`: drift scenarios over time, each with an exact record of
  what it injected (:class:`Injection`), and :func:`compose`.

Frames go in and out; this layer knows columns by name and needs no feature schema.
"""

from driftwarden.data.files import SUPPORTED_SUFFIXES, read_table
from driftwarden.data.generator import DEFAULT_BANDWIDTH, RowGenerator
from driftwarden.data.labels import MISSING_LEVEL, LabelModel
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
    "DEFAULT_BANDWIDTH",
    "MISSING_LEVEL",
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
    "Injection",
    "LabelModel",
    "NewCategory",
    "RowGenerator",
    "Scenario",
    "Seasonal",
    "SuddenShift",
    "TimeLike",
    "Times",
    "binary_target",
    "compose",
    "load_telco",
    "read_table",
]
