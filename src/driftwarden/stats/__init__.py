"""The drift statistics engine: pure numerics on arrays (numpy and scipy, no I/O).

Fit a :class:`ReferenceProfile` once from reference data, then :meth:`ReferenceProfile.compare`
any window against it to get a :class:`DriftReport` of per-feature verdicts and data quality.
Champion/challenger tests (:func:`two_proportion_test`, :func:`mcnemar_test`,
:func:`bootstrap_auc_difference`, :func:`delong_test`, and for errors :func:`welch_loss_test`
and :func:`paired_loss_test`) compare two models' metrics.
:func:`numeric_histogram` and :func:`categorical_histogram` put a window beside its reference for a
chart; :func:`roc_curve` gives the points of a ROC curve. :func:`classification_metrics` and
:func:`regression_metrics` grade a model's predictions against true labels or values.
The formulas are written down in each module and in ``docs/statistics.md``.
"""

from driftwarden.stats.abtest import (
    LOSS_METRICS,
    ArmComparison,
    bootstrap_auc_difference,
    delong_test,
    mcnemar_test,
    paired_loss_test,
    two_proportion_test,
    welch_loss_test,
)
from driftwarden.stats.chi2 import chi2_goodness_of_fit
from driftwarden.stats.drift import DEFAULT_THRESHOLDS, DriftConfig, Thresholds, compare
from driftwarden.stats.errors import (
    ColumnMismatchError,
    InsufficientDataError,
    NotFittedError,
    StatsError,
)
from driftwarden.stats.estimated import EstimatedMetrics, estimated_metrics
from driftwarden.stats.histogram import (
    CategoricalHistogram,
    NumericHistogram,
    categorical_histogram,
    numeric_histogram,
)
from driftwarden.stats.jensen_shannon import jensen_shannon_distance
from driftwarden.stats.ks import ks_p_value
from driftwarden.stats.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    ClassificationMetrics,
    RegressionMetrics,
    RocCurve,
    classification_metrics,
    lower_is_better,
    regression_metrics,
    roc_curve,
)
from driftwarden.stats.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
)
from driftwarden.stats.psi import DEFAULT_EPS, population_stability_index
from driftwarden.stats.result import (
    DriftReport,
    FeatureDrift,
    FeatureQuality,
    MethodResult,
    Severity,
)
from driftwarden.stats.streaming import Adwin

__all__ = [
    "CLASSIFICATION_METRICS",
    "DEFAULT_EPS",
    "DEFAULT_THRESHOLDS",
    "LOSS_METRICS",
    "REGRESSION_METRICS",
    "Adwin",
    "ArmComparison",
    "CategoricalHistogram",
    "CategoricalProfile",
    "ClassificationMetrics",
    "ColumnMismatchError",
    "DriftConfig",
    "DriftReport",
    "EstimatedMetrics",
    "FeatureDrift",
    "FeatureQuality",
    "InsufficientDataError",
    "MethodResult",
    "NotFittedError",
    "NumericHistogram",
    "NumericProfile",
    "ReferenceProfile",
    "RegressionMetrics",
    "RocCurve",
    "Severity",
    "StatsError",
    "Thresholds",
    "bootstrap_auc_difference",
    "categorical_histogram",
    "chi2_goodness_of_fit",
    "classification_metrics",
    "compare",
    "delong_test",
    "estimated_metrics",
    "jensen_shannon_distance",
    "ks_p_value",
    "lower_is_better",
    "mcnemar_test",
    "numeric_histogram",
    "paired_loss_test",
    "population_stability_index",
    "regression_metrics",
    "roc_curve",
    "two_proportion_test",
    "welch_loss_test",
]
