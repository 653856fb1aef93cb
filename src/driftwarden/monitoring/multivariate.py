"""Multivariate and explanation drift of a window, beside its per-feature verdicts.

For each version that scored a window, at most once per ``every`` of the clock:

* **multivariate drift**: adversarial validation of a sample of the window against the sample
  of training rows the version was registered with (``reference_sample.parquet``); a changed
  correlation that no single feature shows is found here, with the features that carry it;
* **explanation drift**: the attributions of a sample of the window against the version's
  holdout attributions (``attributions.json``): a feature whose influence on the model moved,
  and whether its own inputs moved with it.

Both work on fixed samples, so their cost does not grow with the window. A version registered
without the samples (before they were kept, or without the ``explain`` extra for a model only
shap explains) gets neither, and the log says why once.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftwarden.core import DriftwardenError, MonitorSettings
from driftwarden.explain import (
    AdversarialParams,
    AttributionProfile,
    ExplanationDriftParams,
    adversarial_validation,
    explanation_drift,
)
from driftwarden.monitoring.references import References
from driftwarden.monitoring.window import WindowFrame

if TYPE_CHECKING:  # run.py builds on this module
    from driftwarden.monitoring.run import VersionResult

__all__ = ["WindowExplainer"]

logger = logging.getLogger(__name__)


class WindowExplainer:
    """Adds multivariate and explanation drift to a run's version results (see the module)."""

    def __init__(self, references: References, settings: MonitorSettings) -> None:
        self.references = references
        self.settings = settings
        self._said: set[tuple[str, int]] = set()

    def measure(
        self,
        result: VersionResult,
        rows: WindowFrame,
        end: datetime,
        state: dict[str, str],
        updates: dict[str, str | None],
    ) -> VersionResult:
        """``result`` with what is due of both measures; ``updates`` gets the times measured."""
        if len(rows) < self.settings.min_samples:
            return result
        version = result.model_version
        changes: dict[str, Any] = {}
        multivariate = self.settings.multivariate
        key = f"{self.references.model_name}:multivariate_at:v{version}"
        if multivariate.enabled and _due(state, key, end, multivariate.every):
            found = self._multivariate(version, rows)
            if found is not None:
                changes["multivariate"] = found
                updates[key] = end.isoformat()
        explanation = self.settings.explanation
        key = f"{self.references.model_name}:explanation_at:v{version}"
        if explanation.enabled and _due(state, key, end, explanation.every):
            found = self._explanation(result, rows)
            if found is not None:
                changes["explanation"] = found
                updates[key] = end.isoformat()
        return dataclasses.replace(result, **changes) if changes else result

    def _multivariate(self, version: int, rows: WindowFrame) -> dict[str, Any] | None:
        try:
            sample = self.references.reference_sample(version)
            if sample is None:
                self._once("multivariate", version, "it was registered without a training sample")
                return None
            schema = self.references.loaded(version).schema
            settings = self.settings.multivariate
            params = AdversarialParams(
                sample_size=settings.sample_size,
                n_folds=settings.folds,
                n_permutations=settings.permutations,
                warning=settings.warning,
                critical=settings.critical,
                alpha=self.settings.p_value_alpha,
            )
            return adversarial_validation(sample, rows.features, schema, params).to_dict()
        except DriftwardenError as exc:
            logger.warning("no multivariate drift for version %s: %s", version, exc)
            return None

    def _explanation(self, result: VersionResult, rows: WindowFrame) -> dict[str, Any] | None:
        version = result.model_version
        try:
            found = self.references.attributions(version)
            if found is None:
                self._once("explanation", version, "it was registered without attributions")
                return None
            loaded = self.references.loaded(version)
            settings = self.settings.explanation
            params = ExplanationDriftParams(
                sample_size=settings.sample_size, share_threshold=settings.share_threshold
            )
            drift = explanation_drift(
                AttributionProfile.from_dict(found),
                loaded.model,
                rows.features,
                loaded.schema,
                input_drift=result.report,
                params=params,
            )
            return drift.to_dict()
        except (DriftwardenError, ModuleNotFoundError) as exc:
            logger.warning("no explanation drift for version %s: %s", version, exc)
            return None

    def _once(self, measure: str, version: int, why: str) -> None:
        if (measure, version) not in self._said:
            self._said.add((measure, version))
            logger.info("version %s gets no %s drift: %s", version, measure, why)


def _due(state: dict[str, str], key: str, end: datetime, every: timedelta) -> bool:
    last = state.get(key)
    return last is None or end - datetime.fromisoformat(last) >= every
