"""Explanations and multivariate drift (the optional ``explain`` extra).

* :func:`adversarial_validation`: a cross-validated classifier trained to tell a window's rows
  from the reference's; its ROC AUC is a multivariate drift score with a permutation p-value,
  and its feature importances say where the shift is. Needs scikit-learn only.
* :func:`compute_attributions`, :func:`attribution_profile`: per-row SHAP values of a fitted
  driftwarden pipeline, and their summary for a model version's holdout.
* :func:`with_explanations`: a training result with its holdout's attribution profile, which
  the registry keeps with the version.
* :func:`explanation_drift`: whether each feature's influence on the model moved in a window,
  and whether it did so while the feature's own inputs looked stable.

Importing this package never imports shap; the attribution functions do, and without it raise a
``ModuleNotFoundError`` that names ``pip install 'driftwarden[explain]'``. The methods are
written down in ``docs/statistics.md``.
"""

from driftwarden.explain.adversarial import (
    AdversarialParams,
    AdversarialResult,
    FeatureImportance,
    adversarial_validation,
)
from driftwarden.explain.attributions import (
    INSTALL_HINT,
    AttributionProfile,
    Attributions,
    attribution_profile,
    compute_attributions,
)
from driftwarden.explain.drift import (
    ExplanationDriftParams,
    ExplanationDriftResult,
    ExplanationStatus,
    FeatureExplanationDrift,
    explanation_drift,
)
from driftwarden.explain.version import with_explanations

__all__ = [
    "INSTALL_HINT",
    "AdversarialParams",
    "AdversarialResult",
    "AttributionProfile",
    "Attributions",
    "ExplanationDriftParams",
    "ExplanationDriftResult",
    "ExplanationStatus",
    "FeatureExplanationDrift",
    "FeatureImportance",
    "adversarial_validation",
    "attribution_profile",
    "compute_attributions",
    "explanation_drift",
    "with_explanations",
]
