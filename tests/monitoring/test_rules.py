"""Alert rules on run outcomes built from real profiles and reports."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from driftwarden.core import AlertRules
from driftwarden.monitoring import Check, DetectorChange, RunOutcome, VersionResult, evaluate
from driftwarden.stats import ReferenceProfile

END = datetime(2024, 1, 2, tzinfo=UTC)


def _result(version=1, *, n=500, shift=0.0, missing=0.0, p99=5.0, performance=None, holdout=None):
    rng = np.random.default_rng(version)
    reference = {"age": rng.normal(40, 10, 4000), "plan": rng.choice(["a", "b"], 4000)}
    profile = ReferenceProfile.fit(reference, {"age": "numeric", "plan": "categorical"})
    age = rng.normal(40 + shift, 10, n)
    age[: int(missing * n)] = np.nan
    report = profile.compare({"age": age, "plan": rng.choice(["a", "b"], n)})
    return VersionResult(
        model_version=version,
        n_rows=n,
        report=report,
        profile=profile,
        latency_ms={"p50": 1.0, "p95": 2.0, "p99": p99},
        estimated={"roc_auc": 0.80},
        performance=performance,
        n_labelled=0 if performance is None else performance["n"],
        holdout={"roc_auc": 0.82, "estimated_roc_auc": 0.81} if holdout is None else holdout,
    )


def _outcome(*results, changes=(), champion=1):
    return RunOutcome(
        run_id=1, model_name="churn", window_start=END - timedelta(hours=1), window_end=END,
        n_rows=sum(r.n_rows for r in results), results=list(results), changes=list(changes),
        champion=champion, read_seconds=0.1, stats_seconds=0.01, duration_seconds=0.2,
    )  # fmt: skip


def _by_rule(checks):
    return {(c.rule, c.subject): c for c in checks}


def test_a_healthy_run_evaluates_every_rule_and_all_are_clear():
    checks = evaluate(_outcome(_result()), AlertRules(), error_rate=0.0)
    rules = {c.rule for c in checks}
    # The profile has no scores, so there is no prediction drift to check.
    assert rules == {
        "feature_drift", "share_drifted", "data_quality", "performance_drop", "latency_p99",
        "no_traffic", "error_rate",
    }  # fmt: skip
    assert [c for c in checks if c.firing] == []


def test_drift_quality_latency_and_errors_fire_at_their_levels():
    result = _result(shift=15.0, missing=0.3, p99=400.0)
    checks = _by_rule(evaluate(_outcome(result), AlertRules(), error_rate=0.2))
    assert checks[("feature_drift", "age")].severity == "critical"
    assert checks[("feature_drift", "plan")].severity == "ok"
    assert checks[("share_drifted", "")].severity == "critical"  # 1 of 2 features
    quality = checks[("data_quality", "age")]
    assert quality.severity == "critical"
    assert quality.value == pytest.approx(0.3)
    assert "missing values" in quality.message
    assert checks[("latency_p99", "")].severity == "warning"
    assert checks[("latency_p99", "")].threshold == 250.0
    assert checks[("error_rate", "")].severity == "critical"


def test_performance_drop_uses_realised_figures_when_labels_are_in():
    realised = _result(performance={"n": 400, "roc_auc": 0.70})
    check = _by_rule(evaluate(_outcome(realised), AlertRules()))[("performance_drop", "roc_auc")]
    assert check.severity == "critical"
    assert check.evidence["basis"] == "realised"
    assert check.value == pytest.approx((0.82 - 0.70) / 0.82)
    assert "400 labelled rows" in check.message
    # Without labels the estimate is compared with the holdout's estimate: 0.80 vs 0.81.
    estimated = _by_rule(evaluate(_outcome(_result()), AlertRules()))
    check = estimated[("performance_drop", "roc_auc")]
    assert (check.severity, check.evidence["basis"]) == ("ok", "estimated")
    assert check.evidence["holdout"] == 0.81


def test_no_traffic_fires_when_the_champion_served_nothing():
    challenger_only = _outcome(_result(version=2), champion=1)
    check = _by_rule(evaluate(challenger_only, AlertRules()))[("no_traffic", "")]
    assert check.severity == "warning"
    assert check.model_version == 1
    assert "answered 0 predictions" in check.message


def test_detectors_alarm_on_rising_errors_only():
    changes = [
        DetectorChange("error", 1, before=0.1, after=0.4, n_seen=900),
        DetectorChange("score", 1, before=0.3, after=0.5, n_seen=900),
        DetectorChange("error", 2, before=0.4, after=0.1, n_seen=900),
    ]
    checks = _by_rule(evaluate(_outcome(_result(), changes=changes), AlertRules()))
    assert checks[("concept_drift", "")].severity == "critical"
    assert checks[("concept_drift", "")].model_version == 1
    assert checks[("score_shift", "")].severity == "warning"
    assert sum(c.rule == "concept_drift" for c in checks.values()) == 1


def test_disabled_rules_make_no_checks():
    rules = AlertRules(
        feature_drift=False,
        share_drifted={"enabled": False},
        data_quality={"enabled": False},
        performance_drop={"enabled": False},
        latency_p99_ms={"enabled": False},
        error_rate={"enabled": False},
        no_traffic={"enabled": False},
    )
    assert evaluate(_outcome(_result(shift=15.0)), rules, error_rate=0.5) == []


def test_check_key_names_model_version_rule_and_subject():
    check = Check("feature_drift", 3, "tenure", "warning", "t", "m")
    assert check.key("churn") == "churn|v3|feature_drift|tenure"
    assert Check("error_rate", None, "", "ok", "t", "m").key("churn") == "churn|-|error_rate|"


def test_conditions_that_cannot_be_evaluated_make_no_checks():
    # 20 rows are too few for a verdict (min_samples 50): no drift check, so an open drift
    # alert is neither fed nor resolved; without a holdout figure there is no baseline.
    small = _result(n=20, holdout={})
    rules = {c.rule for c in evaluate(_outcome(small), AlertRules())}
    assert "feature_drift" not in rules
    assert "share_drifted" not in rules
    assert "performance_drop" not in rules
    assert "latency_p99" in rules
