"""Verdicts: what one method said about one feature, and the report over a whole window.

Every number a verdict carries is computed; where a statistic does not apply the field is
``None``, never NaN, so a verdict always serialises to strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "DriftReport",
    "FeatureDrift",
    "FeatureQuality",
    "MethodResult",
    "Severity",
    "severity_of",
]

Kind = Literal["numeric", "categorical"]


class Severity(StrEnum):
    """How far a statistic is past its thresholds."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    INSUFFICIENT_DATA = "insufficient_data"


def severity_of(statistic: float, warning: float, critical: float) -> Severity:
    """Map an effect size onto ok / warning / critical (thresholds are inclusive)."""
    if statistic >= critical:
        return Severity.CRITICAL
    if statistic >= warning:
        return Severity.WARNING
    return Severity.OK


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One method's statistic for one feature.

    Attributes
    ----------
    method : str
        ``"psi"``, ``"jensen_shannon"``, ``"ks"``, ``"wasserstein"`` or ``"chi2"``.
    statistic : float
        The effect size (PSI, JS distance, KS D, normalised W1) or the chi-squared statistic.
    p_value : float or None
        For the tests (KS, chi-squared); ``None`` for pure effect sizes.
    warning, critical : float or None
        The thresholds applied; ``None`` for chi-squared, which is reported, not thresholded.
    severity : Severity or None
        ``None`` where there are no thresholds.
    error_bound : float or None
        A bound on the difference from the exact statistic on the full samples, where the profile
        approximates it (KS on the quantile grid, Wasserstein between grid edges; 0 when the
        value is exact for this window); ``None`` for the methods computed exactly on their bins
        (PSI, Jensen–Shannon, chi-squared).
    """

    method: str
    statistic: float
    p_value: float | None = None
    warning: float | None = None
    critical: float | None = None
    severity: Severity | None = None
    error_bound: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, no NaN."""
        return {
            "method": self.method,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "warning": self.warning,
            "critical": self.critical,
            "severity": None if self.severity is None else self.severity.value,
            "error_bound": _finite(self.error_bound),
        }


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """The drift verdict for one feature (or for the model's scores).

    ``method``, ``statistic``, ``warning``/``critical`` and ``severity`` are those of the deciding
    method; ``p_value`` is that of the feature's test (KS for numeric, chi-squared for categorical),
    shown beside the effect size; ``results`` has every method computed.
    """

    feature: str
    kind: Kind
    severity: Severity
    method: str
    statistic: float | None
    warning: float
    critical: float
    p_value: float | None
    n_reference: int
    n_current: int
    results: tuple[MethodResult, ...] = ()
    unseen_categories: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def drifted(self) -> bool:
        """True for warning or critical."""
        return self.severity in (Severity.WARNING, Severity.CRITICAL)

    def result(self, method: str) -> MethodResult:
        """The result of one method, by name."""
        for item in self.results:
            if item.method == method:
                return item
        computed = ", ".join(r.method for r in self.results) or "none"
        raise KeyError(f"{self.feature}: method {method!r} was not computed (computed: {computed})")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, no NaN."""
        return {
            "feature": self.feature,
            "kind": self.kind,
            "severity": self.severity.value,
            "method": self.method,
            "statistic": _finite(self.statistic),
            "warning": self.warning,
            "critical": self.critical,
            "p_value": _finite(self.p_value),
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "results": [r.to_dict() for r in self.results],
            "unseen_categories": list(self.unseen_categories),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """Data quality of one column in one window; rates are shares of the window's rows."""

    feature: str
    n_rows: int
    n_missing: int
    n_invalid: int
    n_out_of_range: int
    n_unseen: int

    def _rate(self, count: int) -> float:
        return count / self.n_rows if self.n_rows else 0.0

    @property
    def missing_rate(self) -> float:
        """Share of rows with no value (NaN, None, blank)."""
        return self._rate(self.n_missing)

    @property
    def invalid_rate(self) -> float:
        """Share of type violations: text in a numeric column, infinities."""
        return self._rate(self.n_invalid)

    @property
    def out_of_range_rate(self) -> float:
        """Share of numeric values outside the profile's allowed range."""
        return self._rate(self.n_out_of_range)

    @property
    def unseen_category_rate(self) -> float:
        """Share of categorical values never seen in the reference."""
        return self._rate(self.n_unseen)

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates as plain JSON types."""
        return {
            "feature": self.feature,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "n_invalid": self.n_invalid,
            "n_out_of_range": self.n_out_of_range,
            "n_unseen": self.n_unseen,
            "missing_rate": self.missing_rate,
            "invalid_rate": self.invalid_rate,
            "out_of_range_rate": self.out_of_range_rate,
            "unseen_category_rate": self.unseen_category_rate,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift and quality of one window against one reference profile."""

    n_rows: int
    features: dict[str, FeatureDrift]
    quality: dict[str, FeatureQuality]
    prediction: FeatureDrift | None = None
    prediction_quality: FeatureQuality | None = None
    min_samples: int = field(default=0)

    @property
    def drifted_features(self) -> list[str]:
        """Names of features at warning or critical, in profile order."""
        return [name for name, verdict in self.features.items() if verdict.drifted]

    @property
    def share_drifted(self) -> float:
        """Share of features at warning or critical (0 for a report with no features)."""
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    @property
    def severity(self) -> Severity:
        """The worst severity over features and scores; insufficient data only if nothing ran."""
        verdicts = [*self.features.values()]
        if self.prediction is not None:
            verdicts.append(self.prediction)
        ranked = [v.severity for v in verdicts if v.severity is not Severity.INSUFFICIENT_DATA]
        if not ranked:
            return Severity.INSUFFICIENT_DATA
        order = (Severity.OK, Severity.WARNING, Severity.CRITICAL)
        return max(ranked, key=order.index)

    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain JSON types (strict JSON: no NaN or infinity)."""
        return {
            "n_rows": self.n_rows,
            "min_samples": self.min_samples,
            "severity": self.severity.value,
            "share_drifted": self.share_drifted,
            "drifted_features": self.drifted_features,
            "features": {name: v.to_dict() for name, v in self.features.items()},
            "quality": {name: q.to_dict() for name, q in self.quality.items()},
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "prediction_quality": (
                None if self.prediction_quality is None else self.prediction_quality.to_dict()
            ),
        }
