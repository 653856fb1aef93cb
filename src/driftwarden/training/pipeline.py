"""The scikit-learn pipeline a model version is: encoding plus a gradient-boosted model.

Choice: scikit-learn's ``HistGradientBoostingClassifier`` (binary classification) or
``HistGradientBoostingRegressor`` (regression, squared error) behind an ``OrdinalEncoder``.

* Gradient boosting is the strongest plain learner on tabular data of this size, and the
  histogram variant trains on tens of thousands of rows in seconds on two cores.
* It handles categorical features natively (``categorical_features``), so there is no one-hot
  blow-up, and it handles missing values natively (NaN goes to the better side of each split),
  so there is no imputer to fit.
* The encoder maps categories never seen in training to NaN
  (``handle_unknown="use_encoded_value"``): an unseen category is scored as a missing value
  instead of failing the request; the monitor counts it as drift.
* Every step is a stock scikit-learn class, so the model loads anywhere scikit-learn does, with no
  custom code to trust at load time.

Numeric columns pass through untouched (trees need no scaling). The two steps are named
``"preprocess"`` and, after the task, ``"classifier"`` or ``"regressor"`` (:data:`FINAL_STEP`);
``pipeline[-1]`` is the model whatever the task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, get_args

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from driftwarden.core.errors import ConfigError
from driftwarden.schema import FeatureSchema, Task

__all__ = ["FINAL_STEP", "ModelParams", "build_pipeline"]

# The model's bins per feature: categorical features need codes below this.
_MAX_BINS = 255
# The tasks this pipeline builds models for: every task a schema can declare.
_TASKS: tuple[str, ...] = get_args(Task)

FINAL_STEP: Final[dict[str, str]] = {
    "binary_classification": "classifier",
    "regression": "regressor",
}
"""The name of the pipeline's last step (the model) for each task."""


@dataclass(frozen=True, slots=True)
class ModelParams:
    """The model to build: its task and the gradient-boosted model's hyper-parameters (logged
    with every training run).

    The defaults are regularised for datasets of a few thousand rows (shallow trees, a slow
    learning rate, early stopping on an internal validation split), where the library defaults
    overfit. Classifier and regressor share them.

    ``task`` is the learning task (``"binary_classification"`` or ``"regression"``), recorded
    with the model version so that a loader can tell which kind of model it holds. ``None``,
    the default, means the schema's task: :func:`build_pipeline` and
    :func:`~driftwarden.training.train` fill it in, so a trained model's parameters always name
    it. A task given explicitly must be the schema's.
    """

    learning_rate: float = 0.05
    max_iter: int = 300
    max_leaf_nodes: int = 8
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    early_stopping: bool = True
    validation_fraction: float = 0.15
    n_iter_no_change: int = 20
    random_state: int = 0
    # OpenMP threads while fitting. One by default: on data of this size a second thread gains
    # little, and where another process holds a core, OpenMP's spinning threads made fitting
    # several times slower (measured: 3.1 s with one thread, 6.9 s with two, Telco, one core busy).
    n_threads: int = 1
    task: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a flat dict (for MLflow ``log_params``)."""
        return asdict(self)


def build_pipeline(schema: FeatureSchema, params: ModelParams | None = None) -> Pipeline:
    """An unfitted pipeline for ``schema``'s features (fit it on ``schema.coerce_frame`` output).

    Parameters
    ----------
    schema : FeatureSchema
        Which columns are features, which of them are categorical, and the task.
    params : ModelParams, optional
        The task (default: the schema's) and the model's hyper-parameters.

    Returns
    -------
    Pipeline
        Two steps: ``"preprocess"`` (the encoder), then ``"classifier"``, a
        ``HistGradientBoostingClassifier``, for binary classification, or ``"regressor"``, a
        ``HistGradientBoostingRegressor`` with squared error loss, for regression.

    Raises
    ------
    ConfigError
        The task is not one driftwarden builds models for, or is not the schema's task.
    """
    params = params or ModelParams()
    task = schema.task if params.task is None else params.task
    if task not in _TASKS:
        raise ConfigError(
            f"task {task!r} is not supported: driftwarden builds models for "
            f"{', '.join(map(repr, _TASKS))}; use one of those, or frame the problem as one",
            key="task",
        )
    if task != schema.task:
        raise ConfigError(
            f"the model parameters ask for task {task!r}, but the schema is for "
            f"{schema.task!r}; make the two agree (or leave ModelParams.task unset to follow "
            "the schema)",
            key="task",
        )
    categorical = schema.categorical_features
    numeric = schema.numeric_features
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        # Rare categories beyond what the model can bin share one code.
        max_categories=_MAX_BINS - 1,
        dtype=np.float64,
    )
    transformers: list[tuple[str, Any, list[str]]] = []
    if categorical:
        transformers.append(("categorical", encoder, categorical))
    if numeric:
        transformers.append(("numeric", "passthrough", numeric))
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    shared: dict[str, Any] = {
        "learning_rate": params.learning_rate,
        "max_iter": params.max_iter,
        "max_leaf_nodes": params.max_leaf_nodes,
        "min_samples_leaf": params.min_samples_leaf,
        "l2_regularization": params.l2_regularization,
        "early_stopping": params.early_stopping,
        "validation_fraction": params.validation_fraction,
        "n_iter_no_change": params.n_iter_no_change,
        "random_state": params.random_state,
        # The encoder emits categorical columns first, then the numeric ones.
        "categorical_features": [True] * len(categorical) + [False] * len(numeric),
    }
    model: HistGradientBoostingClassifier | HistGradientBoostingRegressor
    if task == "regression":
        model = HistGradientBoostingRegressor(loss="squared_error", **shared)
    else:
        model = HistGradientBoostingClassifier(**shared)
    return Pipeline([("preprocess", preprocess), (FINAL_STEP[task], model)])
