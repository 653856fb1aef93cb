from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import sys
import threading
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from driftwarden.stats import (
    DEFAULT_THRESHOLDS,
    ColumnMismatchError,
    DriftConfig,
    DriftReport,
    FeatureDrift,
    ReferenceProfile,
    Severity,
    StatsError,
    Thresholds,
    compare,
)
from driftwarden.stats import drift as drift_module
from driftwarden.stats.profile import Kind

SERIAL = DriftConfig(n_jobs=1)
KINDS: dict[str, Kind] = {"age": "numeric", "plan": "categorical"}


def _strict_json(report: DriftReport) -> str:
    return json.dumps(report.to_dict(), allow_nan=False, sort_keys=True)


def _numeric(
    reference: Any, current: Any, config: DriftConfig = SERIAL, **fit: Any
) -> tuple[FeatureDrift, DriftReport]:
    profile = ReferenceProfile.fit({"x": reference}, {"x": "numeric"}, **fit)
    report = profile.compare({"x": current}, config=config)
    return report.features["x"], report


def _categorical(
    reference: Any, current: Any, config: DriftConfig = SERIAL, **fit: Any
) -> tuple[FeatureDrift, DriftReport]:
    profile = ReferenceProfile.fit({"c": reference}, {"c": "categorical"}, **fit)
    report = profile.compare({"c": current}, config=config)
    return report.features["c"], report


def _uniform_reference() -> NDArray[np.float64]:
    # Decile k (inverted CDF) is value 1000k - 1 of 10,000: (1000k - 0.5) / 10,000.
    return (np.arange(10_000) + 0.5) / 10_000


def _window_with_bin_counts(counts: list[int]) -> NDArray[np.float64]:
    """Values at the centres of the reference deciles of `_uniform_reference`."""
    centres = np.arange(10) / 10 + 0.05
    return np.repeat(centres, counts)


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warning", "critical"),
    [
        (-0.1, 0.2),
        (0.3, 0.2),
        (math.nan, 0.2),
        (0.1, math.nan),
        (0.1, math.inf),
        (math.inf, math.inf),
    ],
)
def test_thresholds_reject_values_out_of_order_or_not_finite(warning: float, critical: float):
    with pytest.raises(StatsError, match="thresholds must be finite with 0 <= warning <= critical"):
        Thresholds(warning, critical)


def test_thresholds_accept_equal_levels() -> None:
    assert Thresholds(0.2, 0.2).critical == 0.2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"thresholds": {"chi2": Thresholds(1, 2)}}, r"unknown drift method\(s\) \['chi2'\]"),
        ({"numeric_method": "chi2"}, "numeric_method must be one of"),
        (
            {"categorical_method": "ks"},
            r"categorical_method must be one of \['psi', 'jensen_shannon'\]",
        ),
        ({"feature_methods": {"age": "mean"}}, "feature 'age': unknown method 'mean'"),
        ({"min_samples": 0}, "min_samples must be >= 1, got 0"),
        ({"alpha": 0.0}, r"alpha must be in \(0, 1\), got 0.0"),
        ({"alpha": 1.0}, r"alpha must be in \(0, 1\), got 1.0"),
        ({"eps": 0.0}, r"eps must be in \(0, 1\), got 0.0"),
        ({"eps": 1.0}, r"eps must be in \(0, 1\), got 1.0"),
        ({"n_jobs": 0}, "n_jobs must be >= 1 or None, got 0"),
    ],
)
def test_drift_config_rejects_bad_settings(options: dict[str, Any], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        DriftConfig(**options)


def test_drift_config_merges_thresholds_over_the_defaults() -> None:
    config = DriftConfig(thresholds={"psi": Thresholds(0.2, 0.5)})

    assert config.thresholds["psi"] == Thresholds(0.2, 0.5)
    assert config.thresholds["ks"] == DEFAULT_THRESHOLDS["ks"]
    assert set(config.thresholds) == {"psi", "jensen_shannon", "ks", "wasserstein"}


def test_drift_config_method_for_uses_the_kind_default_then_the_feature() -> None:
    config = DriftConfig(
        numeric_method="ks", categorical_method="jensen_shannon", feature_methods={"age": "psi"}
    )

    assert config.method_for("age", "numeric") == "psi"
    assert config.method_for("income", "numeric") == "ks"
    assert config.method_for("plan", "categorical") == "jensen_shannon"


def test_drift_config_method_for_rejects_a_numeric_only_method_on_a_categorical_feature() -> None:
    config = DriftConfig(feature_methods={"c": "wasserstein"})

    with pytest.raises(StatsError, match="feature 'c' is categorical: its method must be one of"):
        _categorical(["a", "b"] * 50, ["a", "b"] * 50, config=config)


def test_compare_rejects_an_unknown_extra_columns_policy() -> None:
    profile = ReferenceProfile.fit({"x": np.arange(100.0)}, {"x": "numeric"})
    policy: Any = "drop"

    with pytest.raises(StatsError, match="extra_columns must be 'error' or 'ignore', got 'drop'"):
        profile.compare({"x": np.arange(100.0)}, extra_columns=policy)


# -- verdicts -----------------------------------------------------------------------------------


def test_compare_flags_a_shift_and_passes_an_equal_distribution(global_random_seed: int):
    rng = np.random.default_rng(global_random_seed)
    reference = {"age": rng.normal(40, 10, 5_000), "plan": rng.choice(["a", "b", "c"], 5_000)}
    profile = ReferenceProfile.fit(reference, KINDS)
    same = {"age": rng.normal(40, 10, 2_000), "plan": rng.choice(["a", "b", "c"], 2_000)}
    shifted = {
        "age": rng.normal(48, 10, 2_000),
        "plan": rng.choice(["a", "b", "c"], 2_000, p=[0.6, 0.2, 0.2]),
    }

    calm = profile.compare(same, config=SERIAL)
    drifted = profile.compare(shifted, config=SERIAL)

    assert calm.severity is Severity.OK
    assert calm.drifted_features == []
    assert drifted.features["age"].severity is Severity.CRITICAL
    assert drifted.features["plan"].drifted
    assert drifted.drifted_features == ["age", "plan"]


def test_compare_function_equals_the_profile_method() -> None:
    rng = np.random.default_rng(0)
    profile = ReferenceProfile.fit({"x": rng.normal(size=1_000)}, {"x": "numeric"})
    window = {"x": rng.normal(0.5, 1.0, 500)}

    assert _strict_json(compare(profile, window)) == _strict_json(profile.compare(window))


def test_compare_runs_features_in_threads_with_the_same_results() -> None:
    rng = np.random.default_rng(1)
    # Numeric and categorical features interleaved: the report keeps the profile's order.
    kinds: dict[str, Kind] = {f"f{i}": "categorical" if i % 3 == 1 else "numeric" for i in range(9)}
    names = list(kinds)

    def column(i: int, n: int, shift: float) -> NDArray[Any]:
        if kinds[f"f{i}"] == "categorical":
            return rng.choice(["a", "b", "c"], n, p=[0.5 - shift, 0.3, 0.2 + shift])
        return rng.normal(i + shift, 1.0, n)

    reference = {name: column(i, 3_000, 0.0) for i, name in enumerate(names)}
    window = {name: column(i, 1_000, 0.02 * i) for i, name in enumerate(names)}
    profile = ReferenceProfile.fit(reference, kinds)

    threaded = profile.compare(window, config=DriftConfig(n_jobs=4))

    assert _strict_json(threaded) == _strict_json(profile.compare(window, config=SERIAL))
    assert list(threaded.features) == names
    assert list(threaded.quality) == names


def test_compare_reports_every_method_of_a_numeric_feature() -> None:
    verdict, _ = _numeric(np.random.default_rng(0).normal(size=2_000), np.linspace(-2, 2, 500))

    assert [r.method for r in verdict.results] == ["psi", "jensen_shannon", "ks", "wasserstein"]
    assert verdict.method == "psi"
    assert verdict.statistic == verdict.result("psi").statistic
    assert verdict.p_value == verdict.result("ks").p_value
    assert (verdict.warning, verdict.critical) == (0.1, 0.25)


def test_compare_reports_every_method_of_a_categorical_feature() -> None:
    verdict, _ = _categorical(["a", "b"] * 100, ["a"] * 150 + ["b"] * 50)

    assert [r.method for r in verdict.results] == ["psi", "jensen_shannon", "chi2"]
    chi2 = verdict.result("chi2")
    assert (chi2.warning, chi2.critical, chi2.severity) == (None, None, None)
    assert verdict.p_value == chi2.p_value


# -- small samples ------------------------------------------------------------------------------


def test_compare_gates_a_large_effect_that_is_not_significant_in_a_small_window() -> None:
    # 50 rows, bin counts [10, 0, 5, ..., 5]: PSI = 0.1 ln 2 + (1e-4 - 0.1) ln(1e-3) = 0.759
    # (critical), but KS D = 0.15 on 50 rows has p ~ 0.2.
    window = _window_with_bin_counts([10, 0] + [5] * 8)

    verdict, _ = _numeric(_uniform_reference(), window)

    assert verdict.statistic == pytest.approx(
        0.1 * math.log(2) + (1e-4 - 0.1) * math.log(1e-3), rel=1e-12
    )
    assert verdict.result("psi").severity is Severity.CRITICAL
    assert verdict.p_value is not None
    assert verdict.p_value >= 0.05
    assert verdict.severity is Severity.OK
    assert verdict.reason is not None
    assert "psi 0.7594 is past its critical threshold, but with 50 rows" in verdict.reason
    assert "the test is not significant" in verdict.reason


def test_compare_flags_the_same_effect_in_a_large_window() -> None:
    window = _window_with_bin_counts([1_000, 0] + [500] * 8)

    verdict, _ = _numeric(_uniform_reference(), window)

    assert verdict.statistic == pytest.approx(0.7594, abs=1e-4)
    assert verdict.p_value is not None
    assert verdict.p_value < 1e-6
    assert verdict.severity is Severity.CRITICAL
    assert verdict.reason is None


def test_compare_gate_can_be_turned_off() -> None:
    window = _window_with_bin_counts([10, 0] + [5] * 8)

    verdict, _ = _numeric(_uniform_reference(), window, config=DriftConfig(gate_below=0, n_jobs=1))

    assert verdict.severity is Severity.CRITICAL


def test_compare_gates_categorical_features_by_the_chi2_p_value() -> None:
    # PSI of 60/40 against 50/50 is 0.1 ln 1.2 + 0.1 ln 1.25 = 0.0405; with thresholds at 0.03 that
    # is a warning, which 50 rows cannot support (chi2 = 2, p = 0.16); 5,000 rows can.
    config = DriftConfig(thresholds={"psi": Thresholds(0.03, 0.5)}, n_jobs=1)
    reference = ["a", "b"] * 1_000

    small, _ = _categorical(reference, ["a"] * 30 + ["b"] * 20, config=config)
    large, _ = _categorical(reference, ["a"] * 3_000 + ["b"] * 2_000, config=config)

    assert small.severity is Severity.OK
    assert small.reason is not None
    assert large.severity is Severity.WARNING


def test_compare_window_smaller_than_min_samples_is_insufficient() -> None:
    verdict, report = _numeric(np.arange(1_000.0), np.arange(29.0), DriftConfig(min_samples=30))

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert (verdict.statistic, verdict.p_value, verdict.results) == (None, None, ())
    assert verdict.reason == "the window has 29 usable values; at least 30 are needed"
    assert report.severity is Severity.INSUFFICIENT_DATA
    assert report.min_samples == 30


def test_compare_window_of_exactly_min_samples_is_decided() -> None:
    verdict, _ = _numeric(np.arange(1_000.0), np.arange(30.0), DriftConfig(min_samples=30))

    assert verdict.severity is not Severity.INSUFFICIENT_DATA


def test_compare_reference_smaller_than_min_samples_is_insufficient() -> None:
    verdict, _ = _categorical(["a", "b"] * 10, ["a", "b"] * 500)

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert verdict.reason == "the reference has 20 usable values; at least 50 are needed"


def test_compare_empty_window_gives_every_feature_insufficient_data() -> None:
    rng = np.random.default_rng(0)
    profile = ReferenceProfile.fit(
        {"age": rng.normal(size=500), "plan": rng.choice(["a", "b"], 500)},
        KINDS,
        scores=rng.random(500),
    )
    empty = {"age": np.zeros(0), "plan": np.array([], dtype=object)}

    report = profile.compare(empty, scores=np.zeros(0), config=SERIAL)

    assert report.n_rows == 0
    assert {v.severity for v in report.features.values()} == {Severity.INSUFFICIENT_DATA}
    assert report.prediction is not None
    assert report.prediction.severity is Severity.INSUFFICIENT_DATA
    assert report.severity is Severity.INSUFFICIENT_DATA
    assert report.quality["age"].missing_rate == 0.0
    assert json.loads(_strict_json(report))["severity"] == "insufficient_data"


# -- edge cases of the data ---------------------------------------------------------------------


def test_compare_constant_feature_equal_in_window_is_ok() -> None:
    verdict, report = _numeric(np.full(500, 3.0), np.full(200, 3.0))

    assert verdict.severity is Severity.OK
    statistics = {r.method: r.statistic for r in verdict.results}
    assert statistics == {"psi": 0.0, "jensen_shannon": 0.0, "ks": 0.0, "wasserstein": 0.0}
    assert report.quality["x"].n_out_of_range == 0


def test_compare_constant_feature_that_moves_is_seen_by_every_method() -> None:
    # Every decile equals the maximum 3.0: the PSI bins are (-inf, 3] and (3, inf), with reference
    # shares 1 and 0. All of the window lands in the second, so with both shares floored at eps:
    # PSI = (eps - 1) ln(eps / 1) + (1 - eps) ln(1 / eps) = 2 (1 - eps) ln(1 / eps).
    verdict, report = _numeric(np.full(500, 3.0), np.full(200, 4.5))

    eps = 1e-4
    assert verdict.result("psi").statistic == pytest.approx(2 * (1 - eps) * np.log(1 / eps))
    assert verdict.severity is Severity.CRITICAL
    assert verdict.result("ks").statistic == 1.0
    assert verdict.result("wasserstein").statistic == pytest.approx(1.5 / 3.0)
    assert report.quality["x"].out_of_range_rate == 1.0
    assert json.loads(_strict_json(report))


def test_compare_constant_feature_moving_is_flagged_when_ks_decides() -> None:
    config = DriftConfig(feature_methods={"x": "ks"}, n_jobs=1)

    verdict, _ = _numeric(np.full(500, 3.0), np.full(200, 4.5), config=config)

    assert verdict.severity is Severity.CRITICAL


def test_compare_all_missing_reference_column_is_insufficient() -> None:
    verdict, report = _numeric(np.full(500, np.nan), np.random.default_rng(0).normal(size=300))

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert verdict.n_reference == 0
    assert "the reference has 0 usable values" in (verdict.reason or "")
    assert report.quality["x"].n_out_of_range == 0
    assert json.loads(_strict_json(report))


def test_compare_all_missing_window_column_is_insufficient_with_its_missing_rate() -> None:
    window = np.array([None] * 100, dtype=object)

    verdict, report = _numeric(np.random.default_rng(0).normal(size=500), window)

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert verdict.n_current == 0
    assert report.quality["x"].missing_rate == 1.0
    assert report.n_rows == 100


def test_compare_all_missing_categorical_columns_are_insufficient() -> None:
    reference = np.array([None, math.nan, ""] * 100, dtype=object)

    verdict, report = _categorical(reference, ["a"] * 100)

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert verdict.unseen_categories == ("a",)
    assert report.quality["c"].n_unseen == 100


def test_compare_single_category_is_ok() -> None:
    verdict, _ = _categorical(["only"] * 300, ["only"] * 100)

    assert verdict.severity is Severity.OK
    assert verdict.statistic == 0.0
    assert verdict.result("chi2").p_value == 1.0


def test_compare_names_unseen_categories_and_counts_them_in_quality() -> None:
    reference = ["a"] * 600 + ["b"] * 400
    current = ["a"] * 500 + ["zeta"] * 30 + ["b"] * 400 + ["alpha"] * 70

    verdict, report = _categorical(reference, current)

    assert verdict.unseen_categories == ("alpha", "zeta")
    quality = report.quality["c"]
    assert quality.n_unseen == 100
    assert quality.unseen_category_rate == pytest.approx(0.1)
    # The unseen bucket: reference share floored at eps, window share 0.1.
    assert verdict.result("psi").statistic > (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert verdict.severity is Severity.CRITICAL


_TRUNCATED_REFERENCE = ["a"] * 500 + ["b"] * 300 + [f"rare{i}" for i in range(200)]
_TRUNCATED_WINDOW = ["a"] * 250 + ["b"] * 150 + ["rare7"] * 50 + ["brand_new"] * 50


def test_compare_truncated_profile_tells_unseen_values_from_folded_ones() -> None:
    verdict, report = _categorical(_TRUNCATED_REFERENCE, _TRUNCATED_WINDOW, max_categories=2)

    # rare7 is one of the 200 folded categories and counts as "other"; brand_new is unseen.
    assert verdict.unseen_categories == ("brand_new",)
    assert report.quality["c"].n_unseen == 50
    # Buckets a, b, other, unseen: p = .5 .3 .2 0, q = .5 .3 .1 .1.
    expected_psi = (0.1 - 0.2) * math.log(0.1 / 0.2) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert verdict.statistic == pytest.approx(expected_psi, rel=1e-12)
    assert verdict.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    "fit",
    [
        {"max_folded_categories": 0},
        # 200 folded categories, one more than may be remembered: none is.
        {"max_folded_categories": 199},
    ],
    ids=["none_remembered", "over_the_cap"],
)
def test_compare_truncated_profile_without_hashes_counts_unlisted_values_as_other(fit) -> None:
    verdict, report = _categorical(_TRUNCATED_REFERENCE, _TRUNCATED_WINDOW, max_categories=2, **fit)

    assert verdict.unseen_categories == ()
    assert report.quality["c"].n_unseen == 0
    # "other": 20% of the reference, 100 of 500 (20%) in the window: no drift at all.
    assert verdict.statistic == pytest.approx(0.0, abs=1e-12)


def test_compare_truncated_profile_written_without_hashes_counts_unlisted_values_as_other():
    profile = ReferenceProfile.fit(
        {"c": _TRUNCATED_REFERENCE}, {"c": "categorical"}, max_categories=2
    )
    data = profile.to_dict()
    # A profile written before the folded hashes were kept.
    del data["features"][0]["folded_hashes"]
    del data["max_folded_categories"]
    legacy = ReferenceProfile.from_dict(data)

    report = legacy.compare({"c": _TRUNCATED_WINDOW}, config=SERIAL)

    assert report.features["c"].unseen_categories == ()
    assert report.quality["c"].n_unseen == 0
    assert report.features["c"].statistic == pytest.approx(0.0, abs=1e-12)


def test_compare_maps_mixed_type_categories_to_the_same_category() -> None:
    reference = np.array([0, 1] * 200, dtype=np.int64)
    current = np.array([1, "1", 1.0, 0, "0", 0.0, np.int64(1), np.float32(0.0)] * 50, dtype=object)

    verdict, report = _categorical(reference, current)

    assert verdict.unseen_categories == ()
    assert report.quality["c"].n_unseen == 0
    assert verdict.statistic == pytest.approx(0.0, abs=1e-12)


def test_compare_parses_numeric_text_blanks_and_junk() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(50, 5, 2_000)
    numbers = rng.normal(50, 5, 900)
    text = np.array(
        [f"{v:.17g}" for v in numbers] + [" "] * 40 + [""] * 20 + ["n/a"] * 25 + ["inf"] * 15,
        dtype=object,
    )

    from_text, report = _numeric(reference, text)
    from_numbers, _ = _numeric(reference, numbers)

    quality = report.quality["x"]
    assert (quality.n_rows, quality.n_missing, quality.n_invalid) == (1_000, 60, 40)
    assert (quality.missing_rate, quality.invalid_rate) == (0.06, 0.04)
    assert from_text.to_dict() == from_numbers.to_dict()


def test_compare_quality_out_of_range_defaults_to_the_reference_range() -> None:
    reference = np.linspace(0.0, 100.0, 1_001)
    window = np.array(
        [50.0] * 80 + [-5.0] * 3 + [150.0] * 2 + [0.0, 100.0] + [np.nan] * 10 + [np.inf] * 3
    )

    _, report = _numeric(reference, window)

    quality = report.quality["x"]
    assert (quality.n_rows, quality.n_missing, quality.n_invalid, quality.n_out_of_range) == (
        100, 10, 3, 5
    )  # fmt: skip
    assert quality.out_of_range_rate == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("allowed", "n_out"),
    [
        ((-10.0, 200.0), 0),
        ((0.0, 120.0), 5),
        ((-10.0, 60.0), 2),
        ((40.0, 100.0), 5),
        ((60.0, 200.0), 83),
        ((0.0, 100.0), 5),  # the reference's own range
    ],
)
def test_compare_quality_out_of_range_uses_given_ranges(allowed: tuple[float, float], n_out: int):
    reference = np.linspace(0.0, 100.0, 1_001)
    window = np.array([50.0] * 80 + [-5.0] * 3 + [150.0] * 2 + [np.nan] * 15)

    _, report = _numeric(reference, window, ranges={"x": allowed})

    assert report.quality["x"].n_out_of_range == n_out
    assert report.quality["x"].out_of_range_rate == pytest.approx(n_out / 100)


def test_compare_column_missing_from_the_window_is_named() -> None:
    profile = ReferenceProfile.fit({"age": np.arange(100.0), "plan": ["a"] * 100}, KINDS)

    with pytest.raises(
        ColumnMismatchError, match="column 'plan' is in the reference profile"
    ) as info:
        profile.compare({"age": np.arange(10.0)})

    assert info.value.column == "plan"


def test_compare_extra_column_is_named() -> None:
    profile = ReferenceProfile.fit({"age": np.arange(100.0)}, {"age": "numeric"})
    window = {"age": np.arange(100.0), "zip": np.arange(100)}

    with pytest.raises(ColumnMismatchError, match="column 'zip' is in the window but not") as info:
        profile.compare(window)

    assert info.value.column == "zip"
    report = profile.compare(window, extra_columns="ignore")
    assert list(report.features) == ["age"]
    assert report.features["age"].severity is Severity.OK


def test_compare_rejects_window_columns_of_different_lengths() -> None:
    profile = ReferenceProfile.fit({"age": np.arange(100.0), "plan": ["a"] * 100}, KINDS)

    with pytest.raises(StatsError, match=r"window columns have different lengths: \[10, 20\]"):
        profile.compare({"age": np.arange(10.0), "plan": ["a"] * 20})


# -- scores, thresholds, methods ----------------------------------------------------------------


def test_compare_scores_report_prediction_drift() -> None:
    rng = np.random.default_rng(3)
    profile = ReferenceProfile.fit(
        {"age": rng.normal(size=4_000)}, {"age": "numeric"}, scores=rng.beta(2, 5, 4_000)
    )
    window = {"age": rng.normal(size=2_000)}
    scores = np.append(rng.beta(5, 2, 1_990), [np.nan] * 10)

    report = profile.compare(window, scores=scores, config=SERIAL)

    assert report.prediction is not None
    assert report.prediction.feature == "prediction"
    assert report.prediction.kind == "numeric"
    assert report.prediction.severity is Severity.CRITICAL
    assert report.prediction_quality is not None
    assert report.prediction_quality.n_missing == 10
    assert report.features["age"].severity is Severity.OK
    assert report.severity is Severity.CRITICAL
    assert report.drifted_features == []
    assert json.loads(_strict_json(report))["prediction"]["feature"] == "prediction"


def test_compare_verdict_of_a_feature_does_not_depend_on_the_features_beside_it() -> None:
    # The statistics of all numeric (and of all categorical) features are computed together:
    # each verdict must be exactly the one of its feature compared alone, in profile order, and a
    # feature named "prediction" must not be confused with the scores.
    rng = np.random.default_rng(8)
    reference: dict[str, Any] = {
        "prediction": rng.normal(size=3_000),
        "plan": rng.choice(["a", "b", "c"], 3_000),
        "visits": rng.poisson(3, 3_000).astype(float),
        "constant": np.full(3_000, 1.5),
        "empty": np.full(3_000, np.nan),
        "city": rng.choice(["x", "y"], 3_000),
        "spend": rng.lognormal(size=3_000),
    }
    window: dict[str, Any] = {
        "prediction": rng.normal(0.2, 1.0, 1_500),
        "plan": rng.choice(["a", "b", "d"], 1_500),
        "visits": rng.poisson(4, 1_500).astype(float),
        "constant": rng.choice([1.5, 2.5], 1_500),
        "empty": rng.normal(size=1_500),
        "city": np.full(1_500, None),
        "spend": rng.lognormal(0.1, 1.0, 1_500),
    }
    kinds: dict[str, Kind] = {
        name: "categorical" if name in ("plan", "city") else "numeric" for name in reference
    }
    reference_scores, scores = rng.beta(2, 5, 3_000), rng.beta(3, 5, 1_500)
    profile = ReferenceProfile.fit(reference, kinds, scores=reference_scores)

    report = profile.compare(window, scores=scores, config=SERIAL)

    assert list(report.features) == list(kinds)
    for name, kind in kinds.items():
        alone = ReferenceProfile.fit({name: reference[name]}, {name: kind}).compare(
            {name: window[name]}, config=SERIAL
        )
        assert report.features[name].to_dict() == alone.features[name].to_dict(), name
    scores_alone = ReferenceProfile.fit(
        {"spend": reference["spend"]}, {"spend": "numeric"}, scores=reference_scores
    ).compare({"spend": window["spend"]}, scores=scores, config=SERIAL)
    assert report.prediction is not None
    assert scores_alone.prediction is not None
    assert report.prediction.to_dict() == scores_alone.prediction.to_dict()
    assert report.prediction.to_dict() != report.features["prediction"].to_dict()
    assert report.features["empty"].severity is Severity.INSUFFICIENT_DATA
    assert report.features["city"].severity is Severity.INSUFFICIENT_DATA


def test_compare_without_scores_reports_no_prediction() -> None:
    rng = np.random.default_rng(3)
    profile = ReferenceProfile.fit(
        {"age": rng.normal(size=400)}, {"age": "numeric"}, scores=rng.random(400)
    )

    report = profile.compare({"age": rng.normal(size=100)})

    assert (report.prediction, report.prediction_quality) == (None, None)


def test_compare_scores_need_a_profile_fitted_with_scores() -> None:
    profile = ReferenceProfile.fit({"age": np.arange(100.0)}, {"age": "numeric"})

    with pytest.raises(StatsError, match="scores were given but the profile has no score profile"):
        profile.compare({"age": np.arange(100.0)}, scores=np.ones(100))


def test_compare_feature_thresholds_apply_to_the_deciding_method_only() -> None:
    window = _window_with_bin_counts([1_000, 0] + [500] * 8)
    config = DriftConfig(feature_thresholds={"x": Thresholds(1.0, 2.0)}, n_jobs=1)

    verdict, _ = _numeric(_uniform_reference(), window, config=config)

    assert (verdict.warning, verdict.critical) == (1.0, 2.0)
    assert verdict.severity is Severity.OK
    assert verdict.reason is None
    assert (verdict.result("ks").warning, verdict.result("ks").critical) == (0.1, 0.2)


def test_compare_feature_thresholds_leave_other_features_alone() -> None:
    window = _window_with_bin_counts([1_000, 0] + [500] * 8)
    config = DriftConfig(feature_thresholds={"other": Thresholds(1.0, 2.0)}, n_jobs=1)

    verdict, _ = _numeric(_uniform_reference(), window, config=config)

    assert verdict.severity is Severity.CRITICAL


@pytest.mark.parametrize("method", ["psi", "jensen_shannon", "ks", "wasserstein"])
def test_compare_feature_method_decides_the_verdict(method: str) -> None:
    rng = np.random.default_rng(4)
    config = DriftConfig(
        feature_methods={"x": method}, feature_thresholds={"x": Thresholds(0.0, 1e-9)}, n_jobs=1
    )

    verdict, _ = _numeric(rng.normal(size=3_000), rng.normal(0.3, 1, 3_000), config=config)

    decider = verdict.result(method)
    assert verdict.method == method
    assert verdict.statistic == decider.statistic
    assert (verdict.warning, verdict.critical) == (0.0, 1e-9)
    assert (decider.warning, decider.critical) == (0.0, 1e-9)
    assert verdict.severity is Severity.CRITICAL


def test_compare_kind_methods_decide_by_default() -> None:
    rng = np.random.default_rng(5)
    profile = ReferenceProfile.fit(
        {"age": rng.normal(size=2_000), "plan": rng.choice(["a", "b"], 2_000)}, KINDS
    )
    config = DriftConfig(
        numeric_method="wasserstein", categorical_method="jensen_shannon", n_jobs=1
    )

    report = profile.compare(
        {"age": rng.normal(size=500), "plan": rng.choice(["a", "b"], 500)}, config=config
    )

    assert report.features["age"].method == "wasserstein"
    assert report.features["plan"].method == "jensen_shannon"
    assert (report.features["plan"].warning, report.features["plan"].critical) == (0.1, 0.2)


def test_compare_insufficient_verdict_names_the_deciding_method_and_its_thresholds() -> None:
    config = DriftConfig(
        feature_methods={"x": "ks"}, feature_thresholds={"x": Thresholds(0.3, 0.4)}, n_jobs=1
    )

    verdict, _ = _numeric(np.arange(1_000.0), np.arange(10.0), config=config)

    assert verdict.severity is Severity.INSUFFICIENT_DATA
    assert (verdict.method, verdict.warning, verdict.critical) == ("ks", 0.3, 0.4)


# -- pandas -------------------------------------------------------------------------------------

PANDAS_KINDS: dict[str, Kind] = {
    "age": "numeric",
    "charges": "numeric",
    "plan": "categorical",
    "contract": "categorical",
    "senior": "categorical",
    "tenure": "numeric",
}


def _numpy_frame(rng: np.random.Generator, n: int, shift: float) -> dict[str, NDArray[Any]]:
    charges = np.array([f"{v:.2f}" for v in rng.normal(70 + shift, 20, n)], dtype=object)
    charges[rng.random(n) < 0.03] = None
    charges[rng.random(n) < 0.02] = "n/a"
    plan = rng.choice(["basic", "plus", "pro", "max" if shift else "pro"], n).astype(object)
    plan[rng.random(n) < 0.05] = None
    return {
        "age": rng.normal(40 + shift, 10, n),
        "charges": charges,
        "plan": plan,
        "contract": rng.choice(["Month-to-month", "One year", "Two year"], n).astype(object),
        "senior": rng.integers(0, 2, n),
        "tenure": rng.integers(0, 72, n).astype(np.float64),
    }


def _pandas_frame(columns: dict[str, NDArray[Any]], string_dtype: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": columns["age"],
            "charges": pd.Series(columns["charges"], dtype=string_dtype),
            "plan": pd.Series(columns["plan"], dtype=string_dtype),
            "contract": pd.Series(columns["contract"], dtype="category"),
            "senior": pd.Series(columns["senior"], dtype="category"),
            "tenure": pd.Series(columns["tenure"], dtype="Int64"),
        }
    )


@pytest.mark.parametrize("string_dtype", ["string", "str", "object"])
def test_compare_pandas_frame_gives_the_same_report_as_numpy_arrays(string_dtype: str) -> None:
    rng = np.random.default_rng(6)
    reference = _numpy_frame(rng, 3_000, 0.0)
    window = _numpy_frame(rng, 1_000, 5.0)
    expected_profile = ReferenceProfile.fit(reference, PANDAS_KINDS)
    expected = expected_profile.compare(window, config=SERIAL)

    profile = ReferenceProfile.fit(_pandas_frame(reference, string_dtype), PANDAS_KINDS)
    report = profile.compare(_pandas_frame(window, string_dtype), config=SERIAL)

    assert profile.to_json() == expected_profile.to_json()
    assert _strict_json(report) == _strict_json(expected)
    assert report.quality["charges"].n_missing > 0
    assert report.quality["charges"].n_invalid > 0
    assert report.features["plan"].unseen_categories == ("max",)


# -- properties ---------------------------------------------------------------------------------


def _assert_same_tree(actual: Any, expected: Any, path: str = "") -> None:
    """Equal JSON trees, floats to 1e-9 relative: sums of the same values in another order."""
    if isinstance(expected, float) and isinstance(actual, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), path
    elif isinstance(expected, dict):
        assert isinstance(actual, dict)
        assert list(actual) == list(expected), path
        for key in expected:
            _assert_same_tree(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list)
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same_tree(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, path


def _mixed_window(rng: np.random.Generator, n: int) -> dict[str, NDArray[Any]]:
    age = rng.normal(42, 12, n)
    age[rng.random(n) < 0.05] = np.nan
    age[rng.random(n) < 0.01] = np.inf
    plan = rng.choice(
        ["a", "b", "c", "new1", "new2", "new3"], n, p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05]
    )
    return {"age": np.round(age, 1), "plan": plan.astype(object)}


@settings(deadline=None, max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), permutation_seed=st.integers(0, 99))
def test_compare_is_invariant_to_the_row_order_of_the_window(seed: int, n: int, permutation_seed):
    rng = np.random.default_rng(seed)
    reference = _mixed_window(rng, 2_000)
    reference["plan"] = rng.choice(["a", "b", "c"], 2_000).astype(object)
    profile = ReferenceProfile.fit(reference, KINDS, scores=rng.random(2_000))
    window = _mixed_window(rng, n)
    scores = rng.random(n)
    order = np.random.default_rng(permutation_seed).permutation(n)
    shuffled = {name: column[order] for name, column in window.items()}
    config = DriftConfig(min_samples=5, n_jobs=1)

    original = profile.compare(window, scores=scores, config=config).to_dict()
    permuted = profile.compare(shuffled, scores=scores[order], config=config).to_dict()

    _assert_same_tree(permuted, original)


_HUGE = 1e300
_MAX = sys.float_info.max
numbers = st.one_of(
    st.floats(min_value=-_HUGE, max_value=_HUGE),
    # The whole float range, and the values next to its ends: distances between them and their
    # sums are beyond the largest float.
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            0.0,
            1.0,
            -1.0,
            _HUGE,
            -_HUGE,
            5e-324,
            math.nan,
            math.inf,
            -math.inf,
            _MAX,
            -_MAX,
            1.7e308,
            -1.7e308,
            math.nextafter(_MAX, 0.0),
            -math.nextafter(_MAX, 0.0),
        ]
    ),
)
labels = st.one_of(
    st.sampled_from(["a", "b", "", " ", "1", "1.0"]),
    st.none(),
    st.integers(-2, 2),
    st.sampled_from([1.0, math.nan, 2.5]),
)


def _column_pair(cells: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.one_of(
        st.lists(cells, max_size=120),
        # constant, or a handful of distinct values repeated
        st.builds(lambda value, n: [value] * n, cells, st.integers(0, 120)),
        st.builds(
            lambda values, n: [values[i % len(values)] for i in range(n)],
            st.lists(cells, min_size=1, max_size=3),
            st.integers(0, 120),
        ),
    )


@st.composite
def adversarial_data(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], Any, Any]:
    ref_num = draw(_column_pair(numbers))
    n_ref = len(ref_num)
    ref_cat = draw(st.lists(labels, min_size=n_ref, max_size=n_ref))
    cur_num = draw(_column_pair(numbers))
    n_cur = len(cur_num)
    cur_cat = draw(st.lists(labels, min_size=n_cur, max_size=n_cur))
    ref_scores = draw(st.lists(numbers, min_size=n_ref, max_size=n_ref))
    cur_scores = draw(st.lists(numbers, min_size=n_cur, max_size=n_cur))
    reference = {"num": np.array(ref_num), "cat": np.array(ref_cat, dtype=object)}
    window = {"num": np.array(cur_num), "cat": np.array(cur_cat, dtype=object)}
    return reference, window, np.array(ref_scores), np.array(cur_scores)


@settings(deadline=None, max_examples=300)
@given(data=adversarial_data(), min_samples=st.integers(1, 5), max_categories=st.integers(1, 4))
def test_compare_report_is_strict_json_for_adversarial_input(data, min_samples, max_categories):
    reference, window, ref_scores, cur_scores = data
    kinds: dict[str, Kind] = {"num": "numeric", "cat": "categorical"}
    profile = ReferenceProfile.fit(
        reference, kinds, scores=ref_scores, max_categories=max_categories
    )

    report = profile.compare(
        window, scores=cur_scores, config=DriftConfig(min_samples=min_samples, n_jobs=1)
    )

    text = _strict_json(report)
    assert json.loads(text)["n_rows"] == len(window["num"])
    verdicts = [*report.features.values(), report.prediction]
    for verdict in verdicts:
        assert verdict is not None
        # The numbers themselves, not their JSON form, which would hide an infinity as null.
        _assert_finite_numbers(verdict)
        if verdict.severity is not Severity.INSUFFICIENT_DATA:
            assert verdict.statistic is not None
            assert verdict.statistic >= 0.0
            assert len(verdict.results) == (4 if verdict.kind == "numeric" else 3)
            for result in verdict.results:
                assert result.statistic >= 0.0
    for quality in [*report.quality.values(), report.prediction_quality]:
        assert quality is not None
        _assert_finite_numbers(quality)
    assert ReferenceProfile.from_json(profile.to_json()).to_dict() == profile.to_dict()


def _numbers_in(value: Any) -> list[float]:
    """Every int and float in a result dataclass, its properties' values and its nested results."""
    if isinstance(value, bool | str | Enum) or value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, tuple | list):
        return [number for item in value for number in _numbers_in(item)]
    assert dataclasses.is_dataclass(value)
    found = [n for f in dataclasses.fields(value) for n in _numbers_in(getattr(value, f.name))]
    properties = [name for name, item in vars(type(value)).items() if isinstance(item, property)]
    return found + [n for name in properties for n in _numbers_in(getattr(value, name))]


def _assert_finite_numbers(value: Any) -> None:
    numbers = _numbers_in(value)
    assert numbers
    assert all(math.isfinite(number) for number in numbers), numbers


def test_compare_scores_of_another_length_is_an_error() -> None:
    rng = np.random.default_rng(1)
    profile = ReferenceProfile.fit(
        {"x": rng.normal(size=300)}, {"x": "numeric"}, scores=rng.random(300)
    )

    with pytest.raises(StatsError, match="scores has 99 values but the window has 100 rows"):
        profile.compare({"x": rng.normal(size=100)}, scores=rng.random(99))


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_compare_raises_a_column_error_from_any_lane(n_jobs: int) -> None:
    rng = np.random.default_rng(4)
    kinds: dict[str, Kind] = {f"n{i}": "numeric" for i in range(5)}
    kinds.update({f"c{i}": "categorical" for i in range(3)})
    reference = {
        name: rng.normal(size=500) if kind == "numeric" else rng.choice(["a", "b"], 500)
        for name, kind in kinds.items()
    }
    profile = ReferenceProfile.fit(reference, kinds)
    window = dict(reference)
    window["n3"] = rng.normal(size=(500, 2))  # the same length, but not one-dimensional

    with pytest.raises(StatsError, match=r"n3: expected a one-dimensional array"):
        profile.compare(window, config=DriftConfig(n_jobs=n_jobs))


def test_compare_keeps_its_worker_threads_between_calls() -> None:
    rng = np.random.default_rng(5)
    kinds: dict[str, Kind] = {"x": "numeric", "y": "numeric", "c": "categorical"}
    data = {"x": rng.normal(size=400), "y": rng.normal(size=400), "c": rng.choice(["a"], 400)}
    profile = ReferenceProfile.fit(data, kinds)

    def workers() -> set[int]:
        return {
            t.ident or 0 for t in threading.enumerate() if t.name.startswith("driftwarden-stats")
        }

    profile.compare(data, config=DriftConfig(n_jobs=2))
    first = workers()
    for _ in range(3):
        profile.compare(data, config=DriftConfig(n_jobs=2))
    assert first  # the second lane ran on a worker thread
    assert workers() == first


def _small_case(seed: int, n: int = 400) -> tuple[ReferenceProfile, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    kinds: dict[str, Kind] = {"x": "numeric", "y": "numeric", "c": "categorical"}
    data = {"x": rng.normal(size=n), "y": rng.gamma(2.0, size=n), "c": rng.choice(["a", "b"], n)}
    return ReferenceProfile.fit(data, kinds), data


def test_compare_started_on_a_worker_thread_runs_serially_instead_of_waiting_for_itself() -> None:
    profile, data = _small_case(6)
    expected = _strict_json(profile.compare(data, config=SERIAL))

    nested = drift_module._pool(1).submit(profile.compare, data, config=DriftConfig(n_jobs=2))
    assert _strict_json(nested.result(timeout=30)) == expected


def test_compare_beside_a_longer_one_on_the_kept_pool_gives_the_serial_results() -> None:
    big, big_data = _small_case(7, n=300_000)
    small, small_data = _small_case(8)
    expected = _strict_json(small.compare(small_data, config=SERIAL))
    done: list[float] = []

    def long_one() -> None:
        big.compare(big_data, config=DriftConfig(n_jobs=2))
        done.append(1.0)

    other = threading.Thread(target=long_one)
    other.start()
    try:
        results = [small.compare(small_data, config=DriftConfig(n_jobs=2)) for _ in range(5)]
    finally:
        other.join(timeout=60)
    assert done
    assert all(_strict_json(r) == expected for r in results)


def test_compare_in_a_forked_child_starts_its_own_threads() -> None:
    profile, data = _small_case(9)
    expected = _strict_json(profile.compare(data, config=DriftConfig(n_jobs=2)))  # pool in use
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        queue.put(_strict_json(profile.compare(data, config=DriftConfig(n_jobs=2))))

    process = context.Process(target=child)
    process.start()
    try:
        got = queue.get(timeout=60)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    assert got == expected
    assert process.exitcode == 0
