"""Explanation drift: has each feature's influence on the model moved?

The reference is a model version's :class:`~driftwarden.explain.AttributionProfile` (its
holdout rows' attributions). For a window, a fixed-size sample of its rows is explained with the
same model and, per feature:

* **share change**: the feature's share of total attribution (mean ``|SHAP|`` of the feature over
  the sum over features) in the window minus the reference's. ``|share_change| >=
  share_threshold`` counts as influence moved;
* **attribution drift**: the window's attribution values against the reference's distribution of
  them, with the drift engine's own per-feature verdict
  (:meth:`~driftwarden.stats.ReferenceProfile.compare` under ``params.config``: PSI decides by
  default, Jensen–Shannon, KS and Wasserstein are reported beside it, small samples are gated by
  the KS p-value).

A feature's ``severity`` is that of its attribution drift, raised to ``warning`` when only its
share moved. With the window's input verdicts (``input_drift``), the status separates *influence
moved, inputs stable* (the feature's own distribution passed its test, yet what the model makes
of it changed: an interaction partner, or the joint distribution, moved) from influence that
moved with its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from driftwarden.core.errors import ConfigError, DataError, SchemaMismatchError
from driftwarden.explain._frames import check_frame, check_positive, sample_features
from driftwarden.explain.attributions import (
    AttributionProfile,
    compute_attributions,
    summarise,
)
from driftwarden.schema import FeatureSchema
from driftwarden.stats import DriftConfig, DriftReport, FeatureDrift, Severity

__all__ = [
    "ExplanationDriftParams",
    "ExplanationDriftResult",
    "ExplanationStatus",
    "FeatureExplanationDrift",
    "explanation_drift",
]

METHOD = "explanation_drift"
_DRIFTED = (Severity.WARNING, Severity.CRITICAL)


class ExplanationStatus(StrEnum):
    """What moved for one feature: its influence on the model, its inputs, both or neither."""

    STABLE = "stable"
    #: Influence moved while the feature's input verdict was ok.
    INFLUENCE_MOVED_INPUTS_STABLE = "influence_moved_inputs_stable"
    #: Influence and the feature's inputs both drifted.
    INFLUENCE_AND_INPUTS_MOVED = "influence_and_inputs_moved"
    #: Influence moved; no input verdict was given (or it had insufficient data).
    INFLUENCE_MOVED = "influence_moved"
    #: The inputs drifted but the feature's influence did not move.
    INPUTS_MOVED = "inputs_moved"
    #: Too few window rows for the attribution verdict.
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class ExplanationDriftParams:
    """Parameters of :func:`explanation_drift`.

    Parameters
    ----------
    sample_size : int, default=2000
        Window rows explained (all of them when the window has fewer); bounds the cost.
    share_threshold : float, default=0.05
        An absolute change of a feature's share of total attribution at least this large (five
        percentage points) counts as influence moved.
    config : DriftConfig, default=DriftConfig(n_jobs=1)
        The engine's verdicts on the attribution distributions (deciding method, thresholds,
        ``min_samples``, small-sample gate).
    seed : int, default=0
        Seeds the window sample.
    """

    sample_size: int = 2000
    share_threshold: float = 0.05
    config: DriftConfig = field(default_factory=lambda: DriftConfig(n_jobs=1))
    seed: int = 0

    def __post_init__(self) -> None:
        check_positive("sample_size", self.sample_size)
        if not 0.0 < self.share_threshold <= 1.0:
            raise ConfigError(
                f"share_threshold must be in (0, 1], got {self.share_threshold}",
                key="share_threshold",
            )


@dataclass(frozen=True, slots=True)
class FeatureExplanationDrift:
    """Explanation drift of one feature.

    Attributes
    ----------
    feature, kind : str
        The feature and its input kind.
    status : ExplanationStatus
        What moved.
    severity : Severity
        The attribution drift's severity, at least ``warning`` when the share moved.
    mean_abs_reference, mean_abs_current : float
        Mean ``|SHAP|``.
    share_reference, share_current, share_change : float
        Share of total attribution, and current minus reference.
    share_moved : bool
        ``|share_change| >= share_threshold``.
    attribution : FeatureDrift
        The engine's verdict on the attribution values (method, statistic, thresholds,
        p-value, every method's result).
    input_severity : Severity or None
        The input verdict given for the feature, if any.
    """

    feature: str
    kind: str
    status: ExplanationStatus
    severity: Severity
    mean_abs_reference: float
    mean_abs_current: float
    share_reference: float
    share_current: float
    share_change: float
    share_moved: bool
    attribution: FeatureDrift
    input_severity: Severity | None

    @property
    def influence_moved(self) -> bool:
        """The attributions drifted or the share moved."""
        return self.severity in _DRIFTED

    @property
    def influence_moved_inputs_stable(self) -> bool:
        """Influence moved although the feature's own input verdict was ok."""
        return self.status is ExplanationStatus.INFLUENCE_MOVED_INPUTS_STABLE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; the engine's verdict under ``attribution_drift``."""
        verdict = self.attribution
        return {
            "feature": self.feature,
            "kind": self.kind,
            "status": self.status.value,
            "severity": self.severity.value,
            "influence_moved": self.influence_moved,
            "influence_moved_inputs_stable": self.influence_moved_inputs_stable,
            "mean_abs_reference": self.mean_abs_reference,
            "mean_abs_current": self.mean_abs_current,
            "share_reference": self.share_reference,
            "share_current": self.share_current,
            "share_change": self.share_change,
            "share_moved": self.share_moved,
            "input_severity": None if self.input_severity is None else self.input_severity.value,
            "method": verdict.method,
            "statistic": verdict.to_dict()["statistic"],
            "warning": verdict.warning,
            "critical": verdict.critical,
            "p_value": verdict.to_dict()["p_value"],
            "attribution_drift": verdict.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ExplanationDriftResult:
    """Explanation drift of one window against a version's attribution profile.

    Attributes
    ----------
    method : str
        ``"explanation_drift"``.
    features : dict of str to FeatureExplanationDrift
        In schema order.
    n_reference : int
        Holdout rows behind the profile.
    n_current : int
        Window rows explained (the sample).
    n_window : int
        Rows the window had.
    share_threshold : float
        As in the parameters.
    output, explainer : str
        What the attributions explain (``log_odds``/``raw``) and which implementation.
    expected_value : float
        The model's base value.
    """

    method: str
    features: dict[str, FeatureExplanationDrift]
    n_reference: int
    n_current: int
    n_window: int
    share_threshold: float
    output: str
    explainer: str
    expected_value: float

    @property
    def influence_moved(self) -> list[str]:
        """Features whose influence moved, in schema order."""
        return [name for name, f in self.features.items() if f.influence_moved]

    @property
    def influence_moved_inputs_stable(self) -> list[str]:
        """Features whose influence moved while their input verdict was ok."""
        return [name for name, f in self.features.items() if f.influence_moved_inputs_stable]

    @property
    def severity(self) -> Severity:
        """The worst feature severity; insufficient data only if no feature had enough."""
        ranked = [f.severity for f in self.features.values()]
        order = (Severity.OK, Severity.WARNING, Severity.CRITICAL)
        known = [s for s in ranked if s in order]
        return max(known, key=order.index) if known else Severity.INSUFFICIENT_DATA

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (strict JSON: no NaN or infinity)."""
        return {
            "method": self.method,
            "severity": self.severity.value,
            "influence_moved": self.influence_moved,
            "influence_moved_inputs_stable": self.influence_moved_inputs_stable,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_window": self.n_window,
            "share_threshold": self.share_threshold,
            "output": self.output,
            "explainer": self.explainer,
            "expected_value": self.expected_value,
            "features": {name: f.to_dict() for name, f in self.features.items()},
        }


def _input_severities(
    input_drift: Mapping[str, Severity | str] | DriftReport | None,
) -> dict[str, Severity]:
    if input_drift is None:
        return {}
    if isinstance(input_drift, DriftReport):
        return {name: verdict.severity for name, verdict in input_drift.features.items()}
    try:
        return {str(name): Severity(value) for name, value in input_drift.items()}
    except ValueError as exc:
        raise ConfigError(
            f"input_drift maps features to severities ({', '.join(s.value for s in Severity)}): "
            f"{exc}",
            key="input_drift",
        ) from exc


def _status(influence: bool, attribution: Severity, inputs: Severity | None) -> ExplanationStatus:
    if attribution is Severity.INSUFFICIENT_DATA:
        return ExplanationStatus.INSUFFICIENT_DATA
    inputs_moved = inputs in _DRIFTED
    if not influence:
        return ExplanationStatus.INPUTS_MOVED if inputs_moved else ExplanationStatus.STABLE
    if inputs is Severity.OK:
        return ExplanationStatus.INFLUENCE_MOVED_INPUTS_STABLE
    if inputs_moved:
        return ExplanationStatus.INFLUENCE_AND_INPUTS_MOVED
    return ExplanationStatus.INFLUENCE_MOVED


def explanation_drift(
    reference: AttributionProfile,
    pipeline: Any,
    window: pd.DataFrame,
    schema: FeatureSchema,
    *,
    input_drift: Mapping[str, Severity | str] | DriftReport | None = None,
    params: ExplanationDriftParams | None = None,
) -> ExplanationDriftResult:
    """Compare the attributions of a window sample with a model version's profile of them.

    Parameters
    ----------
    reference : AttributionProfile
        The version's holdout attributions (:func:`attribution_profile`).
    pipeline : Pipeline
        The same version's fitted pipeline: the model that served the window.
    window : DataFrame
        The window's rows, with the schema's features (others are ignored).
    schema : FeatureSchema
        The schema the model was trained with.
    input_drift : mapping of feature to Severity (or its value), or DriftReport, optional
        The window's input verdicts (the engine's report on the same window); without them no
        feature can be reported as *influence moved, inputs stable*.
    params : ExplanationDriftParams, optional

    Returns
    -------
    ExplanationDriftResult

    Raises
    ------
    ModuleNotFoundError
        shap is not installed (``pip install 'driftwarden[explain]'``).
    SchemaMismatchError
        The window lacks a feature, or the profile's features are not the schema's.
    DataError
        The window has no rows, or the profile belongs to another model (its base value
        differs from this model's).
    ConfigError
        ``input_drift`` holds a value that is not a severity.
    """
    params = params or ExplanationDriftParams()
    check_frame(window, schema, "window")
    if list(reference.features) != schema.feature_names:
        raise SchemaMismatchError(
            f"the attribution profile is for features {list(reference.features)}, the schema has "
            f"{schema.feature_names}; profile this model version's holdout again",
            column=next((f for f in schema.feature_names if f not in reference.features), None),
        )
    inputs = _input_severities(input_drift)
    sample = sample_features(window, schema, params.sample_size, np.random.default_rng(params.seed))
    attributions = compute_attributions(pipeline, sample, schema)
    if not np.isclose(attributions.expected_value, reference.expected_value, rtol=1e-9, atol=1e-9):
        raise DataError(
            f"the attribution profile belongs to another model: its base value is "
            f"{reference.expected_value:.10g}, this model's {attributions.expected_value:.10g}. "
            "Compare a window with the profile of the version that served it"
        )
    mean_abs, shares = summarise(attributions)
    columns = {name: attributions.column(name) for name in attributions.features}
    report = reference.profile.compare(columns, config=params.config)
    features = {}
    for name in schema.feature_names:
        verdict: FeatureDrift = report.features[name]
        change = shares[name] - reference.shares[name]
        moved = abs(change) >= params.share_threshold
        severity = verdict.severity
        if moved and severity is Severity.OK:
            severity = Severity.WARNING
        influence = severity in _DRIFTED
        features[name] = FeatureExplanationDrift(
            feature=name,
            kind=reference.kinds[name],
            status=_status(influence, verdict.severity, inputs.get(name)),
            severity=severity,
            mean_abs_reference=reference.mean_abs[name],
            mean_abs_current=mean_abs[name],
            share_reference=reference.shares[name],
            share_current=shares[name],
            share_change=change,
            share_moved=moved,
            attribution=verdict,
            input_severity=inputs.get(name),
        )
    return ExplanationDriftResult(
        method=METHOD,
        features=features,
        n_reference=reference.n_rows,
        n_current=len(sample),
        n_window=len(window),
        share_threshold=params.share_threshold,
        output=attributions.output,
        explainer=attributions.explainer,
        expected_value=attributions.expected_value,
    )
