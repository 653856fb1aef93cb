"""The ground-truth label model of generated rows.

:class:`LabelModel` is a logistic regression fitted on real data. Its probabilities are the
exact P(positive | row) of every row it labels, so a drift scenario can change the label
relationship by a known amount (:class:`~driftwarden.data.scenarios.ConceptDrift`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import check_frame, check_rng, is_numeric, require_columns

__all__ = ["MISSING_LEVEL", "LabelModel"]

MISSING_LEVEL: Final = "<missing>"
"""The level a missing categorical value takes in a :class:`LabelModel`."""

# Target values read as the positive class when none is given (as schema inference does).
_POSITIVE_WORDS = frozenset({"1", "true", "yes", "y", "positive", "pos"})
# Rows of the training data a LabelModel keeps to measure how much a concept drift changes it.
_REFERENCE_ROWS = 2000


def level_labels(series: pd.Series[Any]) -> NDArray[np.str_]:
    """Return category labels as strings, missing values as :data:`MISSING_LEVEL`."""
    missing = series.isna().to_numpy()
    labels = series.astype(object).to_numpy(copy=True)
    labels[missing] = MISSING_LEVEL
    return labels.astype(str)


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the logistic function of ``z``."""
    # tanh form: exact for large |z| without the overflow warning of 1 / (1 + exp(-z)).
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LabelModel:
    """Ground-truth label model: a logistic regression of the target on the features.

    Build it with :meth:`fit`. Numeric features enter standardised (missing values at the
    training mean); each categorical feature enters one-hot, with one logit contribution per
    level seen in training (a level unseen in training contributes nothing). The fitted
    model is plain numbers, so it is cheap to evaluate on any number of rows, and its
    probabilities are the exact P(positive | x) of every row it labels.

    Parameters
    ----------
    target : str
        Name of the target column.
    positive, negative : object
        The two class labels, with the type of the target values.
    features : tuple of str
        Feature columns, in frame order.
    intercept : float
        Logit of a row at the mean of every numeric feature and on unseen levels.
    means, scales, weights : Mapping of str to float
        Per numeric feature: training mean, training standard deviation (1 when constant)
        and logit weight per standard deviation.
    levels : Mapping of str to Mapping of str to float
        Per categorical feature: logit contribution of each level (as a string;
        :data:`MISSING_LEVEL` for missing values).
    target_dtype : object
        The dtype of the target column, given to the labels that :meth:`draw` returns.
    reference : DataFrame
        Features of up to 2,000 training rows, evenly spaced, on which the effect of a
        concept drift is measured.

    Examples
    --------
    >>> import numpy as np
    >>> from driftwarden.data import TELCO_ID, TELCO_TARGET, load_telco
    >>> telco = load_telco()
    >>> model = LabelModel.fit(telco, target=TELCO_TARGET, exclude=[TELCO_ID])
    >>> model.positive, model.negative
    ('Yes', 'No')
    >>> p = model.probability(telco)
    >>> round(float(p.mean()), 2)
    0.27
    >>> model.sample(telco.head(3), np.random.default_rng(0)).tolist()
    ['No', 'No', 'Yes']
    """

    target: str
    positive: Any
    negative: Any
    features: tuple[str, ...]
    intercept: float
    means: Mapping[str, float]
    scales: Mapping[str, float]
    weights: Mapping[str, float]
    levels: Mapping[str, Mapping[str, float]]
    target_dtype: Any
    reference: pd.DataFrame

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        *,
        target: str,
        positive: Any = None,
        exclude: Sequence[str] = (),
        regularization: float = 1.0,
    ) -> LabelModel:
        """Fit the label model on real data.

        Parameters
        ----------
        df : DataFrame
            Real rows with the target and the features.
        target : str
            The two-class target column.
        positive : object, optional
            The positive label. By default a label that reads as positive (``"Yes"``,
            ``True``, ``1``...) or else the greater of the two (the scikit-learn convention).
        exclude : sequence of str, optional
            Columns that are not features (an entity id, a timestamp).
        regularization : float, optional
            Inverse L2 strength ``C`` of scikit-learn's ``LogisticRegression``, on
            standardised features. The default 1.0 barely shrinks a model fitted on
            thousands of rows.

        Returns
        -------
        LabelModel

        Raises
        ------
        SchemaMismatchError
            If a column is missing, the target has missing values or does not have exactly
            two classes, ``positive`` is not one of them, or no feature is left.
        ConfigError
            If ``regularization`` is not a positive finite number.
        """
        df = check_frame(df)
        require_columns(df, [target], "target")
        require_columns(df, list(exclude), "excluded")
        if isinstance(regularization, bool) or not (
            isinstance(regularization, int | float) and 0 < regularization < math.inf
        ):
            raise ConfigError(
                f"regularization must be a positive finite number, got {regularization!r}"
            )
        y_values = df[target]
        if bool(y_values.isna().any()):
            raise SchemaMismatchError(
                f"the target {target!r} has missing values; drop the unlabelled rows first",
                column=target,
            )
        classes = list(pd.unique(y_values))
        if len(classes) != 2:
            raise SchemaMismatchError(
                f"the target {target!r} must have exactly two classes to fit a label model, "
                f"got {len(classes)}: {sorted(map(str, classes))[:5]!r}",
                column=target,
            )
        positive = _positive_label(classes, positive, target)
        negative = classes[1] if classes[0] == positive else classes[0]
        features = tuple(c for c in df.columns if c != target and c not in exclude)
        if not features:
            raise SchemaMismatchError(
                f"no feature is left besides the target {target!r} and the excluded columns"
            )
        numeric = [c for c in features if is_numeric(df[c])]
        categorical = [c for c in features if c not in numeric]

        blocks: list[NDArray[np.float64]] = []
        means: dict[str, float] = {}
        scales: dict[str, float] = {}
        for column in numeric:
            values = df[column].to_numpy(dtype=np.float64, na_value=np.nan)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            scale = float(finite.std()) if finite.size else 0.0
            means[column], scales[column] = mean, scale if scale > 0 else 1.0
            blocks.append(_standardise(values, mean, scales[column])[:, None])
        level_names: dict[str, list[str]] = {}
        for column in categorical:
            labels = level_labels(df[column])
            names = sorted(set(labels.tolist()))
            level_names[column] = names
            codes = pd.Index(names).get_indexer(pd.Index(labels))
            blocks.append(np.eye(len(names), dtype=np.float64)[codes])
        design = np.hstack(blocks)
        target_array = (y_values == positive).to_numpy(dtype=np.float64)
        regression = LogisticRegression(C=float(regularization), max_iter=1000)
        regression.fit(design, target_array)
        coef = np.asarray(regression.coef_, dtype=np.float64).ravel()
        weights = {c: float(w) for c, w in zip(numeric, coef[: len(numeric)], strict=True)}
        levels: dict[str, dict[str, float]] = {}
        offset = len(numeric)
        for column in categorical:
            names = level_names[column]
            levels[column] = dict(
                zip(names, map(float, coef[offset : offset + len(names)]), strict=True)
            )
            offset += len(names)
        spaced = np.unique(np.linspace(0, len(df) - 1, min(len(df), _REFERENCE_ROWS)).round())
        reference = df.iloc[spaced.astype(np.intp)][list(features)].reset_index(drop=True)
        return cls(
            target=target,
            positive=positive,
            negative=negative,
            features=features,
            intercept=float(np.asarray(regression.intercept_).ravel()[0]),
            means=means,
            scales=scales,
            weights=weights,
            levels=levels,
            target_dtype=y_values.dtype,
            reference=reference,
        )

    def logit(self, df: pd.DataFrame) -> NDArray[np.float64]:
        """Return the log-odds of the positive class for each row of ``df``.

        Parameters
        ----------
        df : DataFrame
            Rows with every feature column; other columns are ignored.

        Returns
        -------
        ndarray of float64
            One value per row, in row order.

        Raises
        ------
        SchemaMismatchError
            If a feature column is missing or a numeric feature holds non-numbers.
        """
        if not isinstance(df, pd.DataFrame):
            raise SchemaMismatchError(f"expected a pandas DataFrame, got {type(df).__name__}")
        require_columns(df, self.features, "feature")
        z = np.full(len(df), self.intercept, dtype=np.float64)
        for column, weight in self.weights.items():
            z += weight * self.standardised(df, column)
        for column, table in self.levels.items():
            names = list(table)
            codes = pd.Index(names).get_indexer(pd.Index(level_labels(df[column])))
            # Code -1 (a level unseen in training) picks the trailing 0.0.
            z += np.append(np.fromiter(table.values(), dtype=np.float64), 0.0)[codes]
        return z

    def standardised(self, df: pd.DataFrame, column: str) -> NDArray[np.float64]:
        """Return a numeric feature in training standard deviations, missing values at 0.

        Raises
        ------
        SchemaMismatchError
            If ``column`` is not a numeric feature of the model or is missing from ``df``,
            or holds values that are not numbers.
        """
        if column not in self.weights:
            raise SchemaMismatchError(
                f"{column!r} is not a numeric feature of the label model (numeric features: "
                f"{', '.join(map(repr, self.weights))})",
                column=column,
            )
        require_columns(df, [column], "feature")
        try:
            values = df[column].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise SchemaMismatchError(
                f"the numeric feature {column!r} holds values that are not numbers: {exc}",
                column=column,
            ) from exc
        return _standardise(values, self.means[column], self.scales[column])

    def probability(self, df: pd.DataFrame) -> NDArray[np.float64]:
        """Return P(positive | row) for each row of ``df`` (see :meth:`logit`)."""
        return sigmoid(self.logit(df))

    def draw(
        self,
        probabilities: NDArray[np.float64],
        rng: np.random.Generator,
        *,
        index: pd.Index | None = None,
    ) -> pd.Series[Any]:
        """Draw one label per probability of the positive class.

        Parameters
        ----------
        probabilities : ndarray of float
            P(positive) per row, each in [0, 1].
        rng : numpy.random.Generator
            Source of randomness; one uniform number is used per row.
        index : Index, optional
            Index of the returned series; a ``RangeIndex`` by default.

        Returns
        -------
        Series
            Labels (``positive`` or ``negative``) named after the target, with the target's
            dtype.

        Raises
        ------
        ConfigError
            If a probability is outside [0, 1] or NaN, or ``rng`` is not a Generator.
        """
        rng = check_rng(rng)
        p = np.asarray(probabilities, dtype=np.float64).ravel()
        if not bool(np.all((p >= 0.0) & (p <= 1.0))):
            raise ConfigError("probabilities must lie in [0, 1] and not be NaN")
        draws = rng.random(p.size) < p
        labels = np.array([self.negative, self.positive], dtype=object)[draws.astype(np.intp)]
        return pd.Series(labels, index=index, name=self.target).astype(self.target_dtype)

    def sample(self, df: pd.DataFrame, rng: np.random.Generator) -> pd.Series[Any]:
        """Draw a label for each row of ``df`` from its probability (see :meth:`draw`)."""
        return self.draw(self.probability(df), rng, index=df.index)


def _standardise(values: NDArray[np.float64], mean: float, scale: float) -> NDArray[np.float64]:
    standard = (values - mean) / scale
    return np.where(np.isfinite(standard), standard, 0.0)


def _positive_label(classes: list[Any], positive: Any, target: str) -> Any:
    if positive is not None:
        if positive not in classes:
            raise SchemaMismatchError(
                f"the positive label {positive!r} is not a class of {target!r} "
                f"(classes: {sorted(map(str, classes))!r})",
                column=target,
            )
        return positive
    for label in classes:
        if str(label).strip().lower() in _POSITIVE_WORDS:
            return label
    return sorted(classes, key=str)[-1]
