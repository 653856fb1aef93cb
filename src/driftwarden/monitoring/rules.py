"""Alert rules: what a monitor run found, turned into checks of conditions.

Each :class:`Check` is one condition (a rule, a model version and a subject such as a feature)
that a run could evaluate, with the severity it reached: ``ok`` when it was evaluated and is
clear, which is what lets an open alert resolve itself. A condition a run could not evaluate
(too few rows for a verdict, too few labels) yields no check, so an alert is never resolved by
a lack of data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from driftwarden.core import AlertRules, ConfigError, LevelRule
from driftwarden.monitoring.performance import watched_metric, worsening
from driftwarden.monitoring.run import RunOutcome, VersionResult
from driftwarden.stats import CategoricalProfile, NumericProfile, Severity

__all__ = ["SEVERITIES", "Check", "evaluate"]

logger = logging.getLogger(__name__)

Level = Literal["ok", "info", "warning", "critical"]
SEVERITIES: tuple[Level, ...] = ("ok", "info", "warning", "critical")

_QUALITY = (
    ("missing_rate", "missing values"),
    ("invalid_rate", "invalid values"),
    ("out_of_range_rate", "values out of range"),
    ("unseen_category_rate", "unseen categories"),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One evaluated condition of one model version."""

    rule: str
    model_version: int | None
    subject: str
    severity: Level
    title: str
    message: str
    value: float | None = None
    threshold: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        """True for info, warning and critical."""
        return self.severity != "ok"

    def key(self, model_name: str) -> str:
        """What identifies the condition across runs (one active alert per key)."""
        version = "-" if self.model_version is None else f"v{self.model_version}"
        return f"{model_name}|{version}|{self.rule}|{self.subject}"


def _level(value: float, rule: LevelRule) -> Level:
    if value >= rule.critical:
        return "critical"
    if value >= rule.warning:
        return "warning"
    return "ok"


def _threshold(level: Level, rule: LevelRule) -> float:
    return rule.critical if level == "critical" else rule.warning


def _drift_checks(result: VersionResult, rules: AlertRules) -> list[Check]:
    report = result.report
    checks: list[Check] = []
    v = result.model_version
    if rules.feature_drift:
        for name, verdict in report.features.items():
            if verdict.severity is Severity.INSUFFICIENT_DATA or verdict.statistic is None:
                continue
            level: Level = "ok" if not verdict.drifted else verdict.severity.value  # type: ignore[assignment]
            limit = verdict.critical if level == "critical" else verdict.warning
            checks.append(
                Check(
                    "feature_drift",
                    v,
                    name,
                    level,
                    f"feature drift on {name}",
                    f"{verdict.method} {verdict.statistic:.4g} against {limit:g} on "
                    f"{verdict.n_current} rows (version {v})",
                    verdict.statistic,
                    limit,
                    verdict.to_dict(),
                )
            )
    prediction = report.prediction
    if (
        rules.prediction_drift
        and prediction is not None
        and prediction.severity is not Severity.INSUFFICIENT_DATA
        and prediction.statistic is not None
    ):
        level = "ok" if not prediction.drifted else prediction.severity.value  # type: ignore[assignment]
        limit = prediction.critical if level == "critical" else prediction.warning
        checks.append(
            Check(
                "prediction_drift",
                v,
                "",
                level,
                "prediction drift",
                f"scores: {prediction.method} {prediction.statistic:.4g} against {limit:g} on "
                f"{prediction.n_current} rows (version {v})",
                prediction.statistic,
                limit,
                prediction.to_dict(),
            )
        )
    share_rule = rules.share_drifted
    decided = [f for f in report.features.values() if f.severity is not Severity.INSUFFICIENT_DATA]
    if share_rule.enabled and decided:
        share = sum(f.drifted for f in decided) / len(decided)
        level = _level(share, share_rule)
        checks.append(
            Check(
                "share_drifted",
                v,
                "",
                level,
                "many features drifted",
                f"{share:.0%} of {len(decided)} features drifted (version {v}): "
                f"{', '.join(report.drifted_features) or 'none'}",
                share,
                _threshold(level, share_rule),
                {"drifted_features": report.drifted_features},
            )
        )
    return checks


def _reference_rates(profile: Any) -> dict[str, float]:
    if isinstance(profile, NumericProfile):
        total = profile.n + profile.n_missing + profile.n_invalid
        if not total:
            return {}
        return {
            "missing_rate": profile.n_missing / total,
            "invalid_rate": profile.n_invalid / total,
        }
    if isinstance(profile, CategoricalProfile):
        total = profile.n + profile.n_missing
        return {"missing_rate": profile.n_missing / total} if total else {}
    return {}  # pragma: no cover - a profile holds only these two kinds


def _quality_checks(result: VersionResult, rule: LevelRule) -> list[Check]:
    report = result.report
    if not rule.enabled or report.n_rows == 0:
        return []
    checks = []
    for name, quality in report.quality.items():
        reference = _reference_rates(result.profile.features.get(name))
        worst, worst_what, worst_increase = "", "", 0.0
        for attribute, what in _QUALITY:
            increase = float(getattr(quality, attribute)) - reference.get(attribute, 0.0)
            if increase > worst_increase:
                worst, worst_what, worst_increase = attribute, what, increase
        level = _level(worst_increase, rule)
        message = (
            f"{worst_what} in {name} up by {worst_increase:.1%} over the reference "
            f"(version {result.model_version})"
            if worst
            else f"{name} is as clean as the reference"
        )
        checks.append(
            Check(
                "data_quality",
                result.model_version,
                name,
                level,
                f"data quality of {name}",
                message,
                worst_increase,
                _threshold(level, rule),
                {"rate": worst, **quality.to_dict()},
            )
        )
    return checks


def _performance_check(result: VersionResult, rules: AlertRules) -> Check | None:
    rule = rules.performance_drop
    if not rule.enabled:
        return None
    try:
        metric = watched_metric(rule.metric, result.task, "alerts.rules.performance_drop.metric")
    except ConfigError as exc:
        # Refused at start-up (check_task_settings); a version of another task is not judged.
        logger.warning("version %s: %s", result.model_version, exc)
        return None
    basis = "realised"
    figures = result.performance
    holdout = result.holdout.get(metric)
    if figures is None:
        # An estimate is compared with the same estimate on the holdout, so that the model's
        # own miscalibration cancels; versions registered without it fall back to the realised.
        # A regression model has no estimate (its ``estimated`` is empty).
        basis, figures = "estimated", result.estimated
        holdout = result.holdout.get(f"estimated_{metric}", holdout)
    value = None if figures is None else figures.get(metric)
    if value is None or not holdout:
        return None
    worse = worsening(metric, float(value), holdout)
    if worse is None:
        return None
    level = _level(worse, rule)
    rests_on = (
        f"{result.n_labelled} labelled rows" if basis == "realised" else f"{result.n_rows} scores"
    )
    rose = result.task == "regression"
    return Check(
        "performance_drop",
        result.model_version,
        metric,
        level,
        f"{metric} rose" if rose else f"{metric} dropped",
        f"{basis} {metric} {float(value):.4f} is {worse:.1%} {'above' if rose else 'below'} "
        f"the holdout's {holdout:.4f}, on {rests_on} (version {result.model_version})",
        worse,
        _threshold(level, rule),
        {
            "basis": basis,
            "value": float(value),
            "holdout": holdout,
            "n_labelled": result.n_labelled,
            "n_rows": result.n_rows,
        },
    )


def _multivariate_checks(result: VersionResult, rules: AlertRules) -> list[Check]:
    """Adversarial validation's verdict, and each feature whose influence moved."""
    checks: list[Check] = []
    found = result.multivariate
    if rules.multivariate_drift and found is not None:
        level = cast(Level, found["severity"])
        top = ", ".join(found["top_features"][:3]) or "no single feature"
        checks.append(
            Check(
                "multivariate_drift",
                result.model_version,
                "",
                level,
                "the window can be told from the reference",
                f"a classifier tells the window from the training sample with ROC AUC "
                f"{found['auc']:.3f} (p = {found['p_value']:.3g}, {found['n_current']} and "
                f"{found['n_reference']} rows); most telling: {top} "
                f"(version {result.model_version})",
                found["auc"],
                found["critical"] if level == "critical" else found["warning"],
                {key: found[key] for key in ("auc", "p_value", "top_features", "n_current")},
            )
        )
    explained = result.explanation
    if rules.explanation_drift and explained is not None:
        for feature in explained["features"].values():
            if feature["status"] == "insufficient_data":
                continue
            moved = bool(feature["influence_moved"])
            level = cast(Level, feature["severity"]) if moved else "ok"
            stable = bool(feature["influence_moved_inputs_stable"])
            statistic = feature["statistic"]
            drifted = (
                ""
                if statistic is None
                else f"; its attributions drifted by {feature['method']} {statistic:.3g}"
            )
            checks.append(
                Check(
                    "explanation_drift",
                    result.model_version,
                    feature["feature"],
                    level,
                    f"the influence of {feature['feature']} moved"
                    + (" while its inputs look stable" if stable else ""),
                    f"{feature['feature']}'s share of the attributions went from "
                    f"{feature['share_reference']:.1%} to {feature['share_current']:.1%}"
                    f"{drifted} (version {result.model_version})",
                    statistic,
                    feature["critical"] if level == "critical" else feature["warning"],
                    {
                        "status": feature["status"],
                        "share_reference": feature["share_reference"],
                        "share_current": feature["share_current"],
                        "input_severity": feature["input_severity"],
                    },
                )
            )
    return checks


def _latency_check(result: VersionResult, rule: LevelRule) -> Check | None:
    p99 = result.latency_ms.get("p99")
    if not rule.enabled or p99 is None:
        return None
    level = _level(p99, rule)
    return Check(
        "latency_p99",
        result.model_version,
        "",
        level,
        "slow predictions",
        f"p99 latency {p99:.1f} ms over {result.n_rows} predictions "
        f"(version {result.model_version})",
        p99,
        _threshold(level, rule),
        dict(result.latency_ms),
    )


def evaluate(
    outcome: RunOutcome, rules: AlertRules, *, error_rate: float | None = None
) -> list[Check]:
    """Every condition the run could evaluate, with its severity.

    Parameters
    ----------
    outcome : RunOutcome
    rules : AlertRules
    error_rate : float or None, optional
        Share of prediction requests answered with a server error since the last run, where
        the monitor runs inside the API (it is not in the store); ``None`` skips that rule.
    """
    checks: list[Check] = []
    for result in outcome.results:
        checks += _drift_checks(result, rules)
        checks += _multivariate_checks(result, rules)
        checks += _quality_checks(result, rules.data_quality)
        performance = _performance_check(result, rules)
        latency = _latency_check(result, rules.latency_p99_ms)
        checks += [check for check in (performance, latency) if check is not None]
    if rules.concept_drift:
        for change in outcome.changes:
            if change.after <= change.before:
                continue  # errors fell or scores fell: no alarm on improvement
            error = change.stream == "error"
            checks.append(
                Check(
                    "concept_drift" if error else "score_shift",
                    change.model_version,
                    "",
                    "critical" if error else "warning",
                    "the error rate changed" if error else "the scores shifted",
                    f"ADWIN found a change in the {change.stream} stream of version "
                    f"{change.model_version}: mean {change.before:.4f} -> {change.after:.4f} "
                    f"after {change.n_seen} values",
                    change.after,
                    change.before,
                    {
                        "stream": change.stream,
                        "before": change.before,
                        "after": change.after,
                        "n_seen": change.n_seen,
                    },
                )
            )
    no_traffic = rules.no_traffic
    if no_traffic.enabled and outcome.champion is not None:
        champion = outcome.result(outcome.champion)
        rows = 0 if champion is None else champion.n_rows
        level: Level = no_traffic.severity if rows < no_traffic.min_rows else "ok"
        checks.append(
            Check(
                "no_traffic",
                outcome.champion,
                "",
                level,
                "no traffic",
                f"the champion (version {outcome.champion}) answered {rows} predictions from "
                f"{outcome.window_start.isoformat()} to {outcome.window_end.isoformat()}",
                float(rows),
                float(no_traffic.min_rows),
            )
        )
    rule = rules.error_rate
    if rule.enabled and error_rate is not None:
        level = _level(error_rate, rule)
        checks.append(
            Check(
                "error_rate",
                None,
                "",
                level,
                "server errors",
                f"{error_rate:.2%} of prediction requests failed with a server error",
                error_rate,
                _threshold(level, rule),
            )
        )
    return checks
