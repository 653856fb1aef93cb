"""Training: the scikit-learn pipeline, fitting with a holdout, evaluation and importances."""

from driftwarden.training.evaluate import (
    binary_labels,
    evaluate,
    feature_importances,
    predict_scores,
)
from driftwarden.training.fit import Holdout, TrainingResult, data_hash, train, train_on_split
from driftwarden.training.pipeline import ModelParams, build_pipeline
from driftwarden.training.scorer import RowScorer

__all__ = [
    "Holdout",
    "ModelParams",
    "RowScorer",
    "TrainingResult",
    "binary_labels",
    "build_pipeline",
    "data_hash",
    "evaluate",
    "feature_importances",
    "predict_scores",
    "train",
    "train_on_split",
]
