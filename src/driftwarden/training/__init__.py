"""Training: the scikit-learn pipeline (a binary classifier or a regressor), fitting with a
holdout, evaluation and importances."""

from driftwarden.training.evaluate import (
    binary_labels,
    check_metric,
    evaluate,
    feature_importances,
    is_regression_model,
    predict_scores,
    regression_target,
    task_metrics,
)
from driftwarden.training.fit import (
    Holdout,
    TrainingResult,
    data_hash,
    holdout_metric,
    train,
    train_on_split,
)
from driftwarden.training.pipeline import FINAL_STEP, ModelParams, build_pipeline
from driftwarden.training.scorer import RowScorer

__all__ = [
    "FINAL_STEP",
    "Holdout",
    "ModelParams",
    "RowScorer",
    "TrainingResult",
    "binary_labels",
    "build_pipeline",
    "check_metric",
    "data_hash",
    "evaluate",
    "feature_importances",
    "holdout_metric",
    "is_regression_model",
    "predict_scores",
    "regression_target",
    "task_metrics",
    "train",
    "train_on_split",
]
