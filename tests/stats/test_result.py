from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from driftwarden.stats import (
    DriftConfig,
    DriftReport,
    FeatureDrift,
    FeatureQuality,
    MethodResult,
    ReferenceProfile,
    Severity,
)
from driftwarden.stats.profile import Kind
from driftwarden.stats.result import severity_of


@pytest.mark.parametrize(
    ("statistic", "severity"),
    [
        (0.0, Severity.OK),
        (0.0999, Severity.OK),
        (0.1, Severity.WARNING),  # thresholds are inclusive
        (0.2499, Severity.WARNING),
        (0.25, Severity.CRITICAL),
        (7.0, Severity.CRITICAL),
        (math.inf, Severity.CRITICAL),
    ],
)
def test_severity_of_maps_an_effect_size_onto_thresholds(statistic: float, severity: Severity):
    assert severity_of(statistic, 0.1, 0.25) is severity


def test_severity_values_are_their_json_names() -> None:
    assert [s.value for s in Severity] == ["ok", "warning", "critical", "insufficient_data"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_method_result_to_dict_writes_non_finite_numbers_as_null(bad: float) -> None:
    result = MethodResult(method="ks", statistic=bad, p_value=bad, error_bound=bad)

    data = result.to_dict()

    assert (data["statistic"], data["p_value"], data["error_bound"]) == (None, None, None)


def _verdict(feature: str, severity: Severity, **changes: Any) -> FeatureDrift:
    fields: dict[str, Any] = {
        "feature": feature,
        "kind": "numeric",
        "severity": severity,
        "method": "psi",
        "statistic": 0.3,
        "warning": 0.1,
        "critical": 0.25,
        "p_value": 0.01,
        "n_reference": 1_000,
        "n_current": 500,
        "results": (MethodResult("psi", 0.3, None, 0.1, 0.25, severity),),
    }
    fields.update(changes)
    return FeatureDrift(**fields)


@pytest.mark.parametrize(
    ("severity", "drifted"),
    [
        (Severity.OK, False),
        (Severity.WARNING, True),
        (Severity.CRITICAL, True),
        (Severity.INSUFFICIENT_DATA, False),
    ],
)
def test_feature_drift_drifted_is_warning_or_critical(severity: Severity, drifted: bool) -> None:
    assert _verdict("x", severity).drifted is drifted


def test_feature_drift_result_finds_a_method_by_name() -> None:
    verdict = _verdict("x", Severity.CRITICAL)

    assert verdict.result("psi").statistic == 0.3


def test_feature_drift_result_of_a_method_not_computed_raises() -> None:
    with pytest.raises(KeyError, match=r"x: method 'chi2' was not computed \(computed: psi\)"):
        _verdict("x", Severity.OK).result("chi2")


def test_feature_drift_result_without_results_names_none() -> None:
    with pytest.raises(KeyError, match=r"method 'psi' was not computed \(computed: none\)"):
        _verdict("x", Severity.INSUFFICIENT_DATA, results=()).result("psi")


def test_feature_quality_rates_are_shares_of_the_rows() -> None:
    quality = FeatureQuality(
        "x", n_rows=200, n_missing=10, n_invalid=4, n_out_of_range=50, n_unseen=2
    )

    assert quality.missing_rate == pytest.approx(0.05)
    assert quality.invalid_rate == pytest.approx(0.02)
    assert quality.out_of_range_rate == pytest.approx(0.25)
    assert quality.unseen_category_rate == pytest.approx(0.01)


def test_feature_quality_rates_of_no_rows_are_zero() -> None:
    quality = FeatureQuality("x", 0, 0, 0, 0, 0)

    assert quality.to_dict()["missing_rate"] == 0.0
    assert quality.unseen_category_rate == 0.0


def test_drift_report_severity_is_the_worst_verdict() -> None:
    report = DriftReport(
        n_rows=500,
        features={
            "a": _verdict("a", Severity.OK),
            "b": _verdict("b", Severity.WARNING),
            "c": _verdict("c", Severity.INSUFFICIENT_DATA),
            "d": _verdict("d", Severity.CRITICAL),
        },
        quality={},
    )

    assert report.severity is Severity.CRITICAL
    assert report.drifted_features == ["b", "d"]
    assert report.share_drifted == pytest.approx(0.5)


def test_drift_report_severity_counts_the_prediction() -> None:
    report = DriftReport(
        n_rows=500,
        features={"a": _verdict("a", Severity.OK)},
        quality={},
        prediction=_verdict("prediction", Severity.WARNING),
    )

    assert report.severity is Severity.WARNING
    assert report.drifted_features == []


def test_drift_report_is_insufficient_only_when_nothing_ran() -> None:
    insufficient = _verdict("a", Severity.INSUFFICIENT_DATA)
    report = DriftReport(n_rows=0, features={"a": insufficient}, quality={})

    assert report.severity is Severity.INSUFFICIENT_DATA
    assert report.share_drifted == 0.0


def test_drift_report_without_features_is_insufficient() -> None:
    report = DriftReport(n_rows=0, features={}, quality={})

    assert report.severity is Severity.INSUFFICIENT_DATA
    assert report.share_drifted == 0.0


def _compared_report() -> DriftReport:
    rng = np.random.default_rng(0)
    reference = {
        "age": rng.normal(40, 10, 3_000),
        "plan": rng.choice(["a", "b"], 3_000),
        "empty": np.full(3_000, np.nan),
    }
    kinds: dict[str, Kind] = {"age": "numeric", "plan": "categorical", "empty": "numeric"}
    profile = ReferenceProfile.fit(reference, kinds, scores=rng.random(3_000))
    window = {
        "age": np.append(rng.normal(45, 10, 999), np.inf),
        "plan": rng.choice(["a", "b", "c"], 1_000),
        "empty": rng.normal(0, 1, 1_000),
    }
    return profile.compare(window, scores=rng.random(1_000), config=DriftConfig(n_jobs=1))


def _empty_report() -> DriftReport:
    profile = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"})
    return profile.compare({"x": np.zeros(0)})


INSTANCES: dict[str, Callable[[], Any]] = {
    "method_result": lambda: MethodResult("ks", 0.2, 0.01, 0.1, 0.2, Severity.CRITICAL, 0.001),
    "method_result_chi2": lambda: MethodResult("chi2", 12.0, 0.002),
    "method_result_non_finite": lambda: MethodResult("wasserstein", math.inf, math.nan),
    "feature_drift": lambda: _verdict("x", Severity.CRITICAL, unseen_categories=("new",)),
    "feature_drift_non_finite": lambda: _verdict("x", Severity.OK, statistic=math.nan),
    "feature_drift_insufficient": lambda: _verdict(
        "x", Severity.INSUFFICIENT_DATA, statistic=None, p_value=None, results=(), reason="few"
    ),
    "feature_quality": lambda: FeatureQuality("x", 10, 1, 2, 3, 4),
    "feature_quality_empty": lambda: FeatureQuality("x", 0, 0, 0, 0, 0),
    "drift_report": _compared_report,
    "drift_report_empty_window": _empty_report,
    "drift_report_no_features": lambda: DriftReport(n_rows=0, features={}, quality={}),
}


@pytest.mark.parametrize("name", list(INSTANCES))
def test_result_dataclasses_conform(name: str) -> None:
    instance = INSTANCES[name]()

    data = instance.to_dict()

    # Strict JSON (no NaN, no infinity), and plain types that survive a round trip unchanged.
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert dataclasses.is_dataclass(instance)
    field = dataclasses.fields(instance)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError, match=field):
        setattr(instance, field, None)


def test_result_dataclasses_cover_every_public_result_type() -> None:
    covered = {type(factory()) for factory in INSTANCES.values()}

    assert covered == {MethodResult, FeatureDrift, FeatureQuality, DriftReport}
