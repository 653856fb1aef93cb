from __future__ import annotations

import importlib
import re

import pytest

import driftwarden.stats

MODULES = [
    "driftwarden.stats",
    "driftwarden.stats._binning",
    "driftwarden.stats._encoding",
    "driftwarden.stats._scaled",
    "driftwarden.stats._validation",
    "driftwarden.stats.abtest",
    "driftwarden.stats.chi2",
    "driftwarden.stats.drift",
    "driftwarden.stats.errors",
    "driftwarden.stats.estimated",
    "driftwarden.stats.histogram",
    "driftwarden.stats.jensen_shannon",
    "driftwarden.stats.ks",
    "driftwarden.stats.metrics",
    "driftwarden.stats.profile",
    "driftwarden.stats.psi",
    "driftwarden.stats.result",
    "driftwarden.stats.streaming",
    "driftwarden.stats.wasserstein",
]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in (RUF022): CONSTANTS, then Classes, then functions."""
    if re.fullmatch(r"[A-Z0-9_]+", name) and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("module_name", MODULES)
def test_stats_all_is_sorted_and_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)

    names = list(module.__all__)

    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(module, name) is not None


def test_stats_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}

    exec("from driftwarden.stats import *", namespace)

    assert set(driftwarden.stats.__all__) <= set(namespace)


def test_stats_reexports_the_public_api_of_the_engine() -> None:
    public = {
        "driftwarden.stats.abtest": [
            "ArmComparison",
            "bootstrap_auc_difference",
            "delong_test",
            "mcnemar_test",
            "two_proportion_test",
        ],
        "driftwarden.stats.chi2": ["chi2_goodness_of_fit"],
        "driftwarden.stats.drift": ["DEFAULT_THRESHOLDS", "DriftConfig", "Thresholds", "compare"],
        "driftwarden.stats.errors": [
            "ColumnMismatchError",
            "InsufficientDataError",
            "NotFittedError",
            "StatsError",
        ],
        "driftwarden.stats.estimated": ["EstimatedMetrics", "estimated_metrics"],
        "driftwarden.stats.histogram": [
            "CategoricalHistogram",
            "NumericHistogram",
            "categorical_histogram",
            "numeric_histogram",
        ],
        "driftwarden.stats.jensen_shannon": ["jensen_shannon_distance"],
        "driftwarden.stats.ks": ["ks_p_value"],
        "driftwarden.stats.metrics": ["RocCurve", "roc_curve"],
        "driftwarden.stats.profile": ["CategoricalProfile", "NumericProfile", "ReferenceProfile"],
        "driftwarden.stats.psi": ["DEFAULT_EPS", "population_stability_index"],
        "driftwarden.stats.result": [
            "DriftReport",
            "FeatureDrift",
            "FeatureQuality",
            "MethodResult",
            "Severity",
        ],
        "driftwarden.stats.streaming": ["Adwin"],
    }
    for module_name, names in public.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(driftwarden.stats, name) is getattr(module, name), name
            assert name in driftwarden.stats.__all__, name


def test_stats_errors_subclass_the_builtins_callers_expect() -> None:
    from driftwarden.stats import (
        ColumnMismatchError,
        InsufficientDataError,
        NotFittedError,
        StatsError,
    )

    assert issubclass(StatsError, ValueError)
    assert issubclass(InsufficientDataError, StatsError)
    assert issubclass(ColumnMismatchError, StatsError)
    assert issubclass(NotFittedError, StatsError)
    assert issubclass(NotFittedError, AttributeError)
    error = ColumnMismatchError("column 'age' is missing", column="age")
    assert (str(error), error.column) == ("column 'age' is missing", "age")
