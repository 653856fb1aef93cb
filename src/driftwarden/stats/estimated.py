r"""Estimated performance without labels: confidence-based performance estimation (CBPE).

Labels arrive late, or never; scores arrive with every prediction. If the model's scores are
calibrated probabilities, each score :math:`p_i` is the chance that row :math:`i` is positive, so
the confusion matrix, and every metric built on it, has an expected value that can be computed
from the scores alone. This is NannyML's CBPE [1]_ for a binary classifier.

Assumptions, each of which the estimate silently relies on:

* **Calibration on the monitored population**: :math:`P(y = 1 \mid p) = p` for the rows being
  scored now, not only on the data the model was calibrated on. Calibrate (isotonic or Platt)
  on held-out data before trusting the estimate; an over-confident model reports an optimistic
  estimate.
* **No concept drift**: :math:`P(y \mid x)` is unchanged since calibration. Covariate shift
  (a change of :math:`P(x)`) is what CBPE is for: the scores move with the inputs and the
  estimate follows. Concept drift is invisible to it: the same inputs get the same scores, so
  the estimate stays put while real performance falls. That is why the realised metrics
  (:func:`driftwarden.stats.metrics.classification_metrics` on labels that do arrive) and a
  change detector on the error stream (:class:`driftwarden.stats.streaming.Adwin`) exist next
  to it.
* **No label shift**: a change of the prevalence :math:`P(y)` with :math:`P(x \mid y)` fixed
  breaks calibration (the scores keep the old prior), so the estimate is biased towards the
  old prevalence.
* Labels are independent given the scores (rows are not duplicated or grouped).

The estimates are ratios of expected counts, as in NannyML, not expected ratios: for precision,
recall, F1 and ROC AUC they differ from the mean of the realised metric by :math:`O(1/n)`,
far below the sampling noise of order :math:`1/\sqrt{n}` of the realised metric itself.

References
----------
.. [1] NannyML. Confidence-based Performance Estimation (CBPE).
   https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats.errors import InsufficientDataError, StatsError

__all__ = ["EstimatedMetrics", "estimated_metrics"]


@dataclass(frozen=True, slots=True)
class EstimatedMetrics:
    """Expected binary classification metrics of a window of calibrated scores.

    Attributes
    ----------
    n : int
        Number of scored rows.
    threshold : float
        Score at or above which a row is predicted positive.
    tp, fp, fn, tn : float
        Expected confusion matrix counts (true positives, false positives, false negatives,
        true negatives); they sum to ``n``.
    accuracy : float
        ``(tp + tn) / n``.
    precision : float
        ``tp / (tp + fp)``; 0 when nothing is predicted positive.
    recall : float
        ``tp / (tp + fn)``; 0 when every score is 0.
    f1 : float
        ``2 tp / (2 tp + fp + fn)``; 0 when ``tp + fp + fn == 0``.
    roc_auc : float or None
        Expected ROC AUC; ``None`` when every score is 0 or every score is 1 (no expected
        negative or no expected positive).
    positive_rate : float
        Share of rows predicted positive (exact, not an estimate).
    expected_prevalence : float
        Mean score, the expected share of actual positives.
    """

    n: int
    threshold: float
    tp: float
    fp: float
    fn: float
    tn: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    positive_rate: float
    expected_prevalence: float

    def to_dict(self) -> dict[str, int | float | None]:
        """Return the metrics as plain Python values, ready for JSON.

        Returns
        -------
        dict of str to int, float or None
            One entry per field, in field order: ``n`` an ``int``, ``roc_auc`` ``None`` when
            undefined, every other value a finite ``float``. Never NaN or infinity.

        Examples
        --------
        >>> estimated_metrics([0.0, 0.0]).to_dict()["roc_auc"] is None
        True
        """
        out: dict[str, int | float | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or isinstance(value, int):
                out[field.name] = value
            else:
                out[field.name] = float(value)
        return out


def estimated_metrics(scores: ArrayLike, *, threshold: float = 0.5) -> EstimatedMetrics:
    r"""Estimate the metrics of a binary classifier from its calibrated scores alone (CBPE).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibrated probability of the positive class for each row, within [0, 1].
    threshold : float, default=0.5
        A row is predicted positive when ``score >= threshold``. Must lie in (0, 1).

    Returns
    -------
    EstimatedMetrics
        Expected confusion counts and the metrics computed from them.

    Raises
    ------
    InsufficientDataError
        If ``scores`` is empty.
    StatsError
        If ``scores`` is not one-dimensional or not numeric, holds NaN or values outside
        [0, 1] (the message gives how many and the first), or ``threshold`` is outside (0, 1).

    Notes
    -----
    Row :math:`i` is positive with probability :math:`p_i` and predicted positive when
    :math:`p_i \ge t`. Its expected contribution to the confusion matrix is :math:`p_i` true
    positive and :math:`1 - p_i` false positive if predicted positive, :math:`p_i` false
    negative and :math:`1 - p_i` true negative otherwise:

    .. math::

        \mathrm{TP} = \sum_{p_i \ge t} p_i,\quad \mathrm{FP} = \sum_{p_i \ge t} (1 - p_i),\quad
        \mathrm{FN} = \sum_{p_i < t} p_i,\quad \mathrm{TN} = \sum_{p_i < t} (1 - p_i).

    Accuracy :math:`= (\mathrm{TP} + \mathrm{TN}) / n`, precision
    :math:`= \mathrm{TP} / (\mathrm{TP} + \mathrm{FP})`, recall
    :math:`= \mathrm{TP} / (\mathrm{TP} + \mathrm{FN})`,
    :math:`F_1 = 2\,\mathrm{TP} / (2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN})`, each 0 when its
    denominator is 0 (scikit-learn's ``zero_division=0``).

    Expected ROC AUC: with :math:`P = \sum_i p_i` and :math:`N = \sum_i (1 - p_i)`, the ROC
    curve is drawn through the expected rates at every distinct score :math:`s`,

    .. math::

        \mathrm{TPR}(s) = \frac{1}{P} \sum_{p_i \ge s} p_i, \qquad
        \mathrm{FPR}(s) = \frac{1}{N} \sum_{p_i \ge s} (1 - p_i),

    from (0, 0) to (1, 1), tied scores making one (diagonal) step, and the area under it is
    taken by the trapezoidal rule. Equivalently, with :math:`K(a, b) = 1` if :math:`a > b`,
    :math:`\tfrac12` if :math:`a = b` and 0 otherwise,

    .. math::

        \mathrm{AUC} = \frac{1}{P N} \sum_{i, j} p_i (1 - p_j)\, K(p_i, p_j),

    the expected number of correctly ordered (positive, negative) pairs over the expected
    number of pairs. The sum includes :math:`i = j` (half a pair each, in both the numerator
    and :math:`PN`), which a realised AUC cannot; the difference is :math:`O(1/n)`. It is
    undefined, and ``None``, when :math:`P = 0` or :math:`N = 0`. Cost :math:`O(n \log n)`.

    A single row, or scores that are all equal, give AUC 0.5: the curve is the diagonal.

    Examples
    --------
    >>> m = estimated_metrics([0.9, 0.8, 0.3, 0.1])

    Rows 0 and 1 are predicted positive: TP = 0.9 + 0.8, FP = 0.1 + 0.2; rows 2 and 3 are
    not: FN = 0.3 + 0.1, TN = 0.7 + 0.9.

    >>> print(round(m.tp, 4), round(m.fp, 4), round(m.fn, 4), round(m.tn, 4))
    1.7 0.3 0.4 1.6
    >>> print(round(m.accuracy, 4), round(m.precision, 4), round(m.recall, 4), round(m.f1, 4))
    0.825 0.85 0.8095 0.8293

    The ROC curve passes through (FP, TP) = (0.1, 0.9), (0.3, 1.7), (1.0, 2.0), (1.9, 2.1);
    its trapezoids add up to 3.445, over P N = 2.1 * 1.9 = 3.99:

    >>> round(m.roc_auc, 4)
    0.8634
    >>> print(m.positive_rate, round(m.expected_prevalence, 4))
    0.5 0.525
    """
    if not (math.isfinite(threshold) and 0.0 < threshold < 1.0):
        raise StatsError(
            f"threshold must be a number in (0, 1), e.g. 0.5; got {threshold!r}. At 0 or 1 "
            "(nearly) every row falls on one side and the estimate says nothing."
        )
    probs = _as_probabilities(scores)
    n = int(probs.shape[0])
    if n == 0:
        raise InsufficientDataError("estimated metrics need at least one score; got 0 rows.")

    predicted = probs >= threshold
    positive_scores = probs[predicted]
    negative_scores = probs[~predicted]
    tp = float(np.sum(positive_scores))
    fp = float(np.sum(1.0 - positive_scores))
    fn = float(np.sum(negative_scores))
    tn = float(np.sum(1.0 - negative_scores))

    return EstimatedMetrics(
        n=n,
        threshold=float(threshold),
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        accuracy=(tp + tn) / n,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2.0 * tp, 2.0 * tp + fp + fn),
        roc_auc=_expected_roc_auc(probs),
        positive_rate=int(np.count_nonzero(predicted)) / n,
        expected_prevalence=float(np.mean(probs)),
    )


def _ratio(numerator: float, denominator: float) -> float:
    # zero_division=0, as scikit-learn and metrics.py: an undefined ratio counts as no skill.
    return numerator / denominator if denominator > 0.0 else 0.0


def _expected_roc_auc(probs: NDArray[np.float64]) -> float | None:
    descending = np.sort(probs)[::-1]
    # The last row of each group of tied scores: one point of the curve per distinct score.
    group_ends = np.append(np.flatnonzero(np.diff(descending)), descending.shape[0] - 1)
    tps = np.cumsum(descending)[group_ends]
    fps = np.cumsum(1.0 - descending)[group_ends]
    positives = float(tps[-1])
    negatives = float(fps[-1])
    if positives == 0.0 or negatives == 0.0:
        return None
    # Trapezoids between consecutive points, starting from (0, 0).
    widths = np.diff(fps, prepend=0.0)
    heights = tps + np.append(0.0, tps[:-1])
    area = float(np.dot(widths, heights)) / (2.0 * positives * negatives)
    # The area is at most 1 in exact arithmetic; rounding must not push it past.
    return min(area, 1.0)


def _as_probabilities(scores: ArrayLike) -> NDArray[np.float64]:
    try:
        array = np.asarray(scores)
    except (TypeError, ValueError) as exc:
        raise StatsError(
            f"scores must be a one-dimensional array; could not read it: {exc}"
        ) from exc
    if array.ndim != 1:
        raise StatsError(
            f"scores must be one-dimensional; got an array of shape {array.shape}. "
            "Pass one score per row (for a column vector use .ravel())."
        )
    if array.dtype.kind not in "biuf":
        raise StatsError(
            "scores must be probabilities of the positive class (numbers in [0, 1]); got an "
            f"array of dtype {array.dtype}."
        )
    probs = array.astype(np.float64, copy=False)
    # Written so that NaN, failing both comparisons, counts as bad.
    bad = ~((probs >= 0.0) & (probs <= 1.0))
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise StatsError(
            f"scores must be probabilities in [0, 1]; got {int(np.count_nonzero(bad))} value(s) "
            f"that are NaN or outside it, the first {float(probs[first])!r} at index {first}. "
            "Pass calibrated predict_proba(...)[:, 1] (not logits or decision_function) and "
            "drop rows without a score."
        )
    return probs
