"""Binary classification metrics from labels and positive-class probabilities.

One call computes every metric the monitor tracks for a window of labelled predictions, with
definitions that match scikit-learn's (``zero_division=0`` for precision, recall and F1; average
ranks for tied scores in ROC AUC), so numbers logged at training time and numbers computed on live
feedback can be compared directly. :func:`roc_curve` gives the points of the ROC curve, as
scikit-learn's ``roc_curve`` does, thinned to a size a chart can draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from driftwarden.stats._validation import as_1d_float
from driftwarden.stats.errors import InsufficientDataError, StatsError

__all__ = ["ClassificationMetrics", "RocCurve", "classification_metrics", "roc_curve"]

_MAX_SHOWN: Final = 5


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
        out: dict[str, int | float | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                out[field.name] = None
            elif isinstance(value, bool | int | np.integer):
                out[field.name] = int(value)
            else:
                number = float(value)
                out[field.name] = number if math.isfinite(number) else None
        return out


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
