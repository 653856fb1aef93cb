"""Model quality metrics: binary classification from labels and positive-class probabilities,
regression from true and predicted values.

One call computes every metric the monitor tracks for a window of labelled predictions, with
definitions that match scikit-learn's (``zero_division=0`` for precision, recall and F1; average
ranks for tied scores in ROC AUC; RMSE, MAE, R² and MAPE as its ``root_mean_squared_error``,
``mean_absolute_error``, ``r2_score`` and ``mean_absolute_percentage_error``), so numbers logged
at training time and numbers computed on live feedback can be compared directly.
:func:`roc_curve` gives the points of the ROC curve, as scikit-learn's ``roc_curve`` does, thinned
to a size a chart can draw. :data:`CLASSIFICATION_METRICS` and :data:`REGRESSION_METRICS` name
the headline metrics of each task, and :func:`lower_is_better` says which way each one improves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from driftwarden.stats._validation import as_1d_float
from driftwarden.stats.errors import InsufficientDataError, StatsError

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "ClassificationMetrics",
    "RegressionMetrics",
    "RocCurve",
    "classification_metrics",
    "lower_is_better",
    "regression_metrics",
    "roc_curve",
]

_MAX_SHOWN: Final = 5

CLASSIFICATION_METRICS: Final[tuple[str, ...]] = (
    "roc_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "brier",
)
"""The quality metrics of a binary classifier, fields of :class:`ClassificationMetrics`.

The headline metric first. The other fields (counts, threshold, rates) describe the window
rather than grade the model.
"""

REGRESSION_METRICS: Final[tuple[str, ...]] = ("rmse", "mae", "r2", "mape")
"""The quality metrics of a regression model, fields of :class:`RegressionMetrics`.

The headline metric first. ``mean_target`` and ``mean_prediction`` describe the window rather
than grade the model.
"""

# Errors and losses: a model improves as they fall. Every other metric above rises.
_LOWER_IS_BETTER: Final = frozenset({"rmse", "mae", "mape", "log_loss", "brier"})
# Prefixes under which the registry stores the same metrics (training rows, CBPE estimates).
_PREFIXES: Final = ("train_", "estimated_")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` means a better model.

    Parameters
    ----------
    metric : str
        A name from :data:`CLASSIFICATION_METRICS` or :data:`REGRESSION_METRICS`, optionally
        prefixed ``train_`` or ``estimated_`` (as the registry stores metrics of the training
        rows and estimates from scores).

    Returns
    -------
    bool
        True for errors and losses (``rmse``, ``mae``, ``mape``, ``log_loss``, ``brier``); False
        for scores that rise with quality (``roc_auc``, ``accuracy``, ``precision``, ``recall``,
        ``f1``, ``r2``).

    Raises
    ------
    StatsError
        ``metric`` is not a known quality metric: a direction cannot be guessed, and guessing
        wrong would turn a gate upside down.

    Examples
    --------
    >>> lower_is_better("rmse"), lower_is_better("r2"), lower_is_better("train_roc_auc")
    (True, False, False)
    """
    name = metric
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    if name not in CLASSIFICATION_METRICS and name not in REGRESSION_METRICS:
        raise StatsError(
            f"unknown metric {metric!r}: a direction is known for the classification metrics "
            f"{', '.join(CLASSIFICATION_METRICS)} and the regression metrics "
            f"{', '.join(REGRESSION_METRICS)}"
        )
    return name in _LOWER_IS_BETTER


@dataclass(frozen=True, slots=True)
class ClassificationMetrics:
    """Metrics of binary predictions against true labels.

    Attributes
    ----------
    n : int
        Number of labelled predictions.
    n_positive : int
        Number of actual positives (``tp + fn``).
    threshold : float
        Score at or above which a prediction counts as positive.
    accuracy : float
        ``(tp + tn) / n``.
    precision : float
        ``tp / (tp + fp)``; 0 when nothing is predicted positive.
    recall : float
        ``tp / (tp + fn)``; 0 when there is no actual positive.
    f1 : float
        ``2 tp / (2 tp + fp + fn)``; 0 when ``tp + fp + fn == 0``.
    roc_auc : float or None
        Area under the ROC curve; ``None`` when only one class is present in the labels, since
        the curve is then undefined.
    log_loss : float
        Mean negative log-likelihood of the labels under the clipped scores.
    brier : float
        Mean squared difference between scores and labels.
    positive_rate : float
        Share of predicted positives, ``(tp + fp) / n``.
    prevalence : float
        Share of actual positives, ``(tp + fn) / n``.
    tn, fp, fn, tp : int
        Confusion matrix counts (true negatives, false positives, false negatives, true
        positives), in the order of ``sklearn.metrics.confusion_matrix(...).ravel()``.
    """

    n: int
    n_positive: int
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    log_loss: float
    brier: float
    positive_rate: float
    prevalence: float
    tn: int
    fp: int
    fn: int
    tp: int

    def to_dict(self) -> dict[str, int | float | None]:
        """Return the metrics as plain Python values, ready for JSON.

        Returns
        -------
        dict of str to int, float or None
            One entry per field, in field order. Integers stay ``int``, metrics are ``float``,
            and an undefined metric (``roc_auc`` with a single class, or any non-finite value)
            is ``None``, so the result never contains NaN or infinity.

        Examples
        --------
        >>> m = classification_metrics([1, 1], [0.8, 0.3])
        >>> m.to_dict()["roc_auc"] is None
        True
        """
        return _plain(self)


def classification_metrics(
    y_true: ArrayLike,
    scores: ArrayLike,
    *,
    threshold: float = 0.5,
    eps: float = 1e-15,
) -> ClassificationMetrics:
    r"""Compute threshold, ranking and probabilistic metrics of binary predictions.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels: bool, or integers 0 and 1 (floats exactly equal to 0.0 or 1.0 are accepted
        too, as produced by columns that once held missing values).
    scores : array-like of shape (n,)
        Predicted probability of the positive class for each row, finite and within [0, 1].
    threshold : float, default=0.5
        A row is predicted positive when ``score >= threshold``. Must lie in [0, 1].
    eps : float, default=1e-15
        Scores are clipped to ``[eps, 1 - eps]`` for the log loss only, so that a confident
        wrong prediction costs ``-log(eps)`` (about 34.5) instead of infinity. Must lie in
        (0, 0.5).

    Returns
    -------
    ClassificationMetrics
        Every metric and the confusion matrix counts.

    Raises
    ------
    InsufficientDataError
        If the inputs are empty.
    StatsError
        If an input is not one-dimensional, the lengths differ, ``y_true`` holds anything but
        0 and 1, ``scores`` holds NaN, infinity or values outside [0, 1], or ``threshold`` or
        ``eps`` is out of range.

    Notes
    -----
    With :math:`\hat y_i = [s_i \ge t]` and the confusion matrix counts ``tn, fp, fn, tp``:

    * accuracy :math:`= (tp + tn) / n`
    * precision :math:`= tp / (tp + fp)`, recall :math:`= tp / (tp + fn)`,
      :math:`F_1 = 2\,tp / (2\,tp + fp + fn)`; each is defined as 0 when its denominator is 0
      (nothing predicted positive, no actual positive, or neither), as scikit-learn does with
      ``zero_division=0``.
    * ROC AUC is the Mann-Whitney U statistic scaled to [0, 1]. With :math:`R_i` the rank of
      :math:`s_i` among all scores (tied scores share their average rank), :math:`n_1`
      positives and :math:`n_0` negatives,

      .. math:: \mathrm{AUC} = \frac{\sum_{y_i = 1} R_i - n_1 (n_1 + 1) / 2}{n_1 n_0},

      the probability that a random positive scores above a random negative, ties counting
      one half. It equals the trapezoidal area under the ROC curve and costs
      :math:`O(n \log n)`. It is undefined, and reported as ``None``, when
      :math:`n_1 = 0` or :math:`n_0 = 0`; no warning is emitted.
    * log loss :math:`= -\frac{1}{n}\sum_i \left[y_i \log p_i + (1 - y_i)\log(1 - p_i)\right]`
      with :math:`p_i = \min(\max(s_i, \epsilon), 1 - \epsilon)`. scikit-learn (1.5 and later)
      clips at the machine epsilon of the dtype instead, so the two differ only for scores
      within ``eps`` of 0 or 1.
    * Brier score :math:`= \frac{1}{n}\sum_i (s_i - y_i)^2`.
    * positive rate :math:`= (tp + fp) / n`, prevalence :math:`= (tp + fn) / n`.

    References
    ----------
    .. [1] Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under a
       receiver operating characteristic (ROC) curve. Radiology 143(1), 29-36.
    .. [2] Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
       Monthly Weather Review 78(1), 1-3.

    Examples
    --------
    >>> m = classification_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> m.tn, m.fp, m.fn, m.tp
    (1, 1, 1, 1)
    >>> print(m.accuracy, m.precision, m.recall, m.f1, m.roc_auc)
    0.5 0.5 0.5 0.5 0.75
    >>> print(round(m.log_loss, 4), round(m.brier, 4))
    0.5108 0.185
    >>> classification_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], threshold=0.3).recall
    1.0
    """
    _check_params(threshold, eps)
    labels = _as_labels(y_true)
    probs = _as_scores(scores)
    if labels.shape[0] != probs.shape[0]:
        raise StatsError(
            f"y_true and scores must have the same length; got {labels.shape[0]} labels and "
            f"{probs.shape[0]} scores. Pass one score per labelled row."
        )
    n = int(labels.shape[0])
    if n == 0:
        raise InsufficientDataError(
            "classification metrics need at least one labelled prediction; got 0 rows."
        )

    predicted = probs >= threshold
    tp = int(np.count_nonzero(labels & predicted))
    fp = int(np.count_nonzero(~labels & predicted))
    fn = int(np.count_nonzero(labels & ~predicted))
    tn = n - tp - fp - fn
    n_positive = tp + fn

    clipped = np.clip(probs, eps, 1.0 - eps)
    likelihood = np.where(labels, clipped, 1.0 - clipped)
    log_loss = float(-np.mean(np.log(likelihood)))
    brier = float(np.mean(np.square(probs - labels)))

    return ClassificationMetrics(
        n=n,
        n_positive=n_positive,
        threshold=float(threshold),
        accuracy=(tp + tn) / n,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        roc_auc=_roc_auc(labels, probs, n_positive),
        log_loss=log_loss,
        brier=brier,
        positive_rate=(tp + fp) / n,
        prevalence=n_positive / n,
        tn=tn,
        fp=fp,
        fn=fn,
        tp=tp,
    )


def _ratio(numerator: int, denominator: int) -> float:
    # zero_division=0, as scikit-learn: an undefined ratio counts as no skill, not as NaN.
    return numerator / denominator if denominator > 0 else 0.0


def _roc_auc(
    labels: NDArray[np.bool_], probs: NDArray[np.float64], n_positive: int
) -> float | None:
    n_negative = int(labels.shape[0]) - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    ranks = np.asarray(rankdata(probs, method="average"), dtype=np.float64)
    u_statistic = float(np.sum(ranks[labels])) - n_positive * (n_positive + 1) / 2.0
    return u_statistic / (n_positive * n_negative)


@dataclass(frozen=True, slots=True)
class RegressionMetrics:
    """Metrics of predicted values against true values.

    Attributes
    ----------
    n : int
        Number of labelled predictions.
    rmse : float
        Root mean squared error, in the target's unit.
    mae : float
        Mean absolute error, in the target's unit.
    r2 : float or None
        Coefficient of determination: the share of the target's variance the predictions
        explain (1 is perfect, 0 is no better than predicting the mean, below 0 is worse).
        ``None`` when the true values have no variance (all equal) or ``n < 2``, since the
        share of nothing is undefined.
    mape : float or None
        Mean absolute percentage error, as a fraction (0.12 is 12 %, as scikit-learn reports
        it). ``None`` when any true value is 0, since its percentage error is undefined.
    mean_target : float
        Mean of the true values.
    mean_prediction : float
        Mean of the predicted values; beside ``mean_target`` it shows a bias at a glance.
    """

    n: int
    rmse: float
    mae: float
    r2: float | None
    mape: float | None
    mean_target: float
    mean_prediction: float

    def to_dict(self) -> dict[str, int | float | None]:
        """Return the metrics as plain Python values, ready for JSON.

        Returns
        -------
        dict of str to int, float or None
            One entry per field, in field order: ``n`` an ``int``, the metrics ``float``, and an
            undefined metric (``r2`` or ``mape`` as above, or any non-finite value) ``None``,
            so the result never contains NaN or infinity.

        Examples
        --------
        >>> d = regression_metrics([0.0, 2.0], [1.0, 2.0]).to_dict()
        >>> d["n"], d["mae"], d["r2"], d["mape"], d["mean_prediction"]
        (2, 0.5, 0.5, None, 1.5)
        """
        return _plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegressionMetrics:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            Every field of the class; other keys are ignored (a stored document may carry
            more). ``r2`` and ``mape`` may be ``None``; ``None`` in another metric (a value that
            was not finite) reads back as NaN.

        Raises
        ------
        StatsError
            A field is missing, or a value is not a number.

        Examples
        --------
        >>> m = regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
        >>> RegressionMetrics.from_dict(m.to_dict()) == m
        True
        """
        names = [field.name for field in fields(cls)]
        missing = [name for name in names if name not in data]
        if missing:
            raise StatsError(
                f"regression metrics need the fields {', '.join(names)}; missing "
                f"{', '.join(missing)}. Pass what RegressionMetrics.to_dict() returned."
            )
        try:
            n = data["n"]
            if isinstance(n, bool) or int(n) != n:
                raise TypeError(f"n must be an integer, got {n!r}")
            return cls(
                n=int(n),
                rmse=_number(data, "rmse"),
                mae=_number(data, "mae"),
                r2=None if data["r2"] is None else _number(data, "r2"),
                mape=None if data["mape"] is None else _number(data, "mape"),
                mean_target=_number(data, "mean_target"),
                mean_prediction=_number(data, "mean_prediction"),
            )
        except (TypeError, ValueError) as exc:
            raise StatsError(f"unreadable regression metrics: {exc}") from exc


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> RegressionMetrics:
    r"""Compute the error metrics of predicted values against true values.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True values, finite numbers.
    y_pred : array-like of shape (n,)
        Predicted values, finite numbers, one per true value.

    Returns
    -------
    RegressionMetrics
        RMSE, MAE, R², MAPE and the two means.

    Raises
    ------
    InsufficientDataError
        If the inputs are empty.
    StatsError
        If an input is not one-dimensional or not numeric (booleans included), the lengths
        differ, or a value is NaN or infinite.

    Notes
    -----
    With errors :math:`e_i = y_i - \hat y_i` over :math:`n` rows and :math:`ar y` the mean of
    the true values:

    * RMSE :math:`= \sqrt{rac{1}{n}\sum_i e_i^2}`, MAE :math:`= rac{1}{n}\sum_i |e_i|`.
    * :math:`R^2 = 1 - \sum_i e_i^2 / \sum_i (y_i - ar y)^2`. Undefined, and reported as
      ``None``, when every :math:`y_i` is equal (the denominator is 0) or :math:`n < 2`.
      scikit-learn's ``r2_score`` returns 1.0 or 0.0 there instead (``force_finite``), which
      would read as a perfect or a useless model on a window that says neither.
    * MAPE :math:`= rac{1}{n}\sum_i |e_i| / |y_i|`, a fraction. Undefined, and reported as
      ``None``, when any :math:`y_i = 0`: scikit-learn divides by its machine epsilon instead,
      which turns one zero target into an error of about :math:`10^{15}`. Other targets that
      are not zero are taken as they are (scikit-learn clips :math:`|y_i|` at that epsilon,
      which only differs below :math:`2.2 	imes 10^{-16}`).

    Each equals scikit-learn's ``root_mean_squared_error``, ``mean_absolute_error``,
    ``r2_score`` and ``mean_absolute_percentage_error`` wherever it is defined.

    Examples
    --------
    >>> m = regression_metrics([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    >>> print(m.n, m.mae, round(m.rmse, 4), round(m.r2, 4), round(m.mape, 4))
    4 0.5 0.6124 0.9486 0.3274
    >>> regression_metrics([5.0, 5.0], [4.0, 6.0]).r2 is None
    True
    """
    actual = _as_values(y_true, "y_true")
    predicted = _as_values(y_pred, "y_pred")
    if actual.shape[0] != predicted.shape[0]:
        raise StatsError(
            f"y_true and y_pred must have the same length; got {actual.shape[0]} true values "
            f"and {predicted.shape[0]} predictions. Pass one prediction per labelled row."
        )
    n = int(actual.shape[0])
    if n == 0:
        raise InsufficientDataError(
            "regression metrics need at least one labelled prediction; got 0 rows."
        )
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        absolute = np.abs(actual - predicted)
        errors, error_exponent = _sum_of_squares(absolute)
        rmse = float(np.ldexp(math.sqrt(errors / n), error_exponent))
        r2: float | None = None
        if n >= 2 and float(np.ptp(actual)) > 0.0:
            spread, spread_exponent = _sum_of_squares(np.abs(actual - np.mean(actual)))
            if spread > 0.0:
                ratio = np.ldexp(errors / spread, 2 * (error_exponent - spread_exponent))
                r2 = float(1.0 - ratio)
        mape: float | None = None
        if np.all(actual != 0.0):
            mape = float(np.mean(absolute / np.abs(actual)))
    return RegressionMetrics(
        n=n,
        rmse=rmse,
        mae=float(np.mean(absolute)),
        r2=r2,
        mape=mape,
        mean_target=float(np.mean(actual)),
        mean_prediction=float(np.mean(predicted)),
    )


def _sum_of_squares(values: NDArray[np.float64]) -> tuple[float, int]:
    """The sum of squares of non-negative ``values`` as ``(total, k)``: it is ``total * 4**k``.

    The values are divided by the power of two ``2**k`` nearest above the largest before they
    are squared, so that values near 1e-160 or 1e160 neither vanish nor overflow when squared.
    A power of two divides exactly, so within the ordinary range the result is bit for bit
    the plain sum of squares.
    """
    top = float(values.max())
    if top == 0.0 or not math.isfinite(top):
        return top, 0
    exponent = math.frexp(top)[1]
    return float(np.sum(np.square(np.ldexp(values, -exponent)))), exponent


def _plain(metrics: ClassificationMetrics | RegressionMetrics) -> dict[str, int | float | None]:
    """The fields of ``metrics`` as JSON values: ints, finite floats, None for the rest."""
    out: dict[str, int | float | None] = {}
    for field in fields(metrics):
        value = getattr(metrics, field.name)
        if value is None:
            out[field.name] = None
        elif isinstance(value, bool | int | np.integer):
            out[field.name] = int(value)
        else:
            number = float(value)
            out[field.name] = number if math.isfinite(number) else None
    return out


def _number(data: Mapping[str, Any], name: str) -> float:
    """``data[name]`` as a float; None (a value that was not finite) as NaN."""
    value = data[name]
    if isinstance(value, bool | str):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return math.nan if value is None else float(value)


def _as_values(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = _as_1d(values, name)
    expected = f"{name} must hold numbers (the target's values)"
    if array.dtype.kind == "b":
        raise StatsError(
            f"{expected}; got booleans. Regression metrics compare numbers; for two classes "
            "use classification_metrics."
        )
    if array.dtype.kind not in "iuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise StatsError(f"{expected}; got an array of dtype {array.dtype}.") from exc
    numbers = array.astype(np.float64, copy=False)
    for kind, bad in (("NaN", np.isnan(numbers)), ("infinite", np.isinf(numbers))):
        count = int(np.count_nonzero(bad))
        if count:
            first = int(np.flatnonzero(bad)[0])
            raise StatsError(
                f"{name} must be finite numbers; got {count} {kind} value(s), the first at "
                f"index {first}. Drop or impute those rows first."
            )
    return numbers


@dataclass(frozen=True, slots=True)
class RocCurve:
    """Points of a ROC curve, from the strictest threshold to the loosest.

    Attributes
    ----------
    fpr, tpr : ndarray of float64
        False and true positive rates at each point; both rise from 0 to 1.
    thresholds : ndarray of float64
        The score at or above which a row counts as positive at each point, decreasing; the first
        is ``inf`` (nothing predicted positive: the point (0, 0)), as in scikit-learn.
    """

    fpr: NDArray[np.float64]
    tpr: NDArray[np.float64]
    thresholds: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.fpr.shape[0])

    def to_dict(self) -> dict[str, list[float | None]]:
        """The three arrays as lists, ready for JSON; the infinite first threshold is ``None``.

        Examples
        --------
        >>> roc_curve([0, 1], [0.2, 0.9]).to_dict()
        {'fpr': [0.0, 0.0, 1.0], 'tpr': [0.0, 1.0, 1.0], 'thresholds': [None, 0.9, 0.2]}
        """
        return {
            "fpr": self.fpr.tolist(),
            "tpr": self.tpr.tolist(),
            "thresholds": [t if math.isfinite(t) else None for t in self.thresholds.tolist()],
        }


def roc_curve(y_true: ArrayLike, scores: ArrayLike, *, max_points: int = 200) -> RocCurve:
    r"""The ROC curve of binary predictions: its corners, at most ``max_points`` of them.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels: bool, or 0 and 1 (as for :func:`classification_metrics`).
    scores : array-like of shape (n,)
        Scores of the positive class, any finite numbers (higher means more likely positive).
    max_points : int, default=200
        Most points returned; a longer curve is thinned to evenly spaced points of it, the first
        and the last always among them. At least 2.

    Returns
    -------
    RocCurve
        Empty when the labels hold only one class (or none): a rate over an absent class is
        undefined, as ROC AUC is (:func:`classification_metrics` reports it as ``None``).

    Raises
    ------
    StatsError
        If an input is not one-dimensional, the lengths differ, ``y_true`` holds anything but 0
        and 1, ``scores`` holds NaN or infinity, or ``max_points`` is below 2.

    Notes
    -----
    The rows are sorted by decreasing score and the labels summed cumulatively. With
    :math:`t_1 > t_2 > \dots` the distinct scores, the point of threshold :math:`t_k` counts as
    positive every row scoring at least :math:`t_k`:

    .. math:: TP_k = \sum_{s_i \ge t_k} y_i, \quad FP_k = \#\{i : s_i \ge t_k\} - TP_k,
              \quad \mathrm{TPR}_k = TP_k / n_1, \quad \mathrm{FPR}_k = FP_k / n_0.

    Tied scores therefore enter the curve together, as one diagonal step, which is what makes
    the trapezoidal area equal the tie-corrected ROC AUC. Points that lie on a straight segment
    between their neighbours (equal steps of both counts) are dropped, and the point (0, 0)
    with threshold ``inf`` is put first: the result equals ``sklearn.metrics.roc_curve`` with
    its default ``drop_intermediate=True``, in :math:`O(n \log n)`. Thinning keeps the curve's
    ends, so it still runs from (0, 0) to (1, 1).

    Examples
    --------
    >>> curve = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> curve.fpr.tolist(), curve.tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    >>> curve.thresholds.tolist()
    [inf, 0.8, 0.4, 0.35, 0.1]
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise StatsError(
            f"max_points must be an integer >= 2 (the curve's two ends); got {max_points!r}."
        )
    labels = _as_labels(y_true)
    values = as_1d_float(scores, "scores")
    if labels.shape[0] != values.shape[0]:
        raise StatsError(
            f"y_true and scores must have the same length; got {labels.shape[0]} labels and "
            f"{values.shape[0]} scores. Pass one score per labelled row."
        )
    n_positive = int(np.count_nonzero(labels))
    if n_positive == 0 or n_positive == labels.shape[0]:
        empty = np.zeros(0)
        return RocCurve(empty, empty.copy(), empty.copy())
    order = np.argsort(values, kind="stable")[::-1]
    ranked, hits = values[order], labels[order]
    # The last row of each run of tied scores: a threshold takes the whole run.
    last = np.append(np.flatnonzero(np.diff(ranked)), ranked.shape[0] - 1)
    tps = np.cumsum(hits, dtype=np.float64)[last]
    fps = (last + 1) - tps
    thresholds = ranked[last]
    if tps.shape[0] > 2:
        corner = np.flatnonzero(
            np.concatenate(([True], (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), [True]))
        )
        tps, fps, thresholds = tps[corner], fps[corner], thresholds[corner]
    tps, fps = np.append(0.0, tps), np.append(0.0, fps)
    thresholds = np.append(np.inf, thresholds)
    if tps.shape[0] > max_points:
        kept = np.unique(np.linspace(0, tps.shape[0] - 1, max_points).astype(np.intp))
        tps, fps, thresholds = tps[kept], fps[kept], thresholds[kept]
    return RocCurve(fps / fps[-1], tps / tps[-1], thresholds)


def _check_params(threshold: float, eps: float) -> None:
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise StatsError(
            f"threshold must be a finite number in [0, 1]; got {threshold!r}. Scores are "
            "probabilities, so a threshold outside [0, 1] predicts a single class."
        )
    if not (math.isfinite(eps) and 0.0 < eps < 0.5):
        raise StatsError(f"eps must be a number in (0, 0.5), e.g. 1e-15; got {eps!r}.")


def _as_1d(values: ArrayLike, name: str) -> NDArray[np.generic]:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise StatsError(
            f"{name} must be a one-dimensional array; could not read it: {exc}"
        ) from exc
    if array.ndim != 1:
        raise StatsError(
            f"{name} must be one-dimensional; got an array of shape {array.shape}. "
            "Pass one value per row (for a column vector use .ravel())."
        )
    return array


def _as_labels(y_true: ArrayLike) -> NDArray[np.bool_]:
    array = _as_1d(y_true, "y_true")
    expected = "y_true must hold binary labels 0/1 (bool or integer)"
    if array.dtype.kind == "b":
        return array.astype(np.bool_, copy=False)
    if array.dtype.kind not in "iuf":
        raise StatsError(f"{expected}; got an array of dtype {array.dtype}.")
    invalid = (array != 0) & (array != 1)
    if np.any(invalid):
        shown = np.unique(array[invalid])[:_MAX_SHOWN].tolist()
        raise StatsError(
            f"{expected}; got {int(np.count_nonzero(invalid))} other value(s), e.g. {shown}. "
            "Encode the positive class as 1 and the negative class as 0."
        )
    positive: NDArray[np.bool_] = np.equal(array, 1)
    return positive


def _as_scores(scores: ArrayLike) -> NDArray[np.float64]:
    array = _as_1d(scores, "scores")
    if array.dtype.kind not in "biuf":
        raise StatsError(
            f"scores must be probabilities of the positive class (numbers in [0, 1]); "
            f"got an array of dtype {array.dtype}."
        )
    probs = array.astype(np.float64, copy=False)
    n_nan = int(np.count_nonzero(np.isnan(probs)))
    if n_nan:
        first = int(np.flatnonzero(np.isnan(probs))[0])
        raise StatsError(
            f"scores must be finite probabilities in [0, 1]; got {n_nan} NaN value(s), the "
            f"first at index {first}. Drop or impute those rows first."
        )
    n_inf = int(np.count_nonzero(np.isinf(probs)))
    if n_inf:
        first = int(np.flatnonzero(np.isinf(probs))[0])
        raise StatsError(
            f"scores must be finite probabilities in [0, 1]; got {n_inf} infinite value(s), "
            f"the first at index {first}."
        )
    outside = (probs < 0.0) | (probs > 1.0)
    if np.any(outside):
        raise StatsError(
            f"scores must be probabilities in [0, 1]; got {int(np.count_nonzero(outside))} "
            f"value(s) outside it (scores range from {float(probs.min())!r} to "
            f"{float(probs.max())!r}). "
            "Pass predict_proba(...)[:, 1], not decision_function or logits."
        )
    return probs
