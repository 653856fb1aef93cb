r"""Champion/challenger tests: does the challenger's metric differ from the champion's?

Arm ``a`` is the champion (the model in production) and arm ``b`` the challenger. Every
difference is ``b - a``: a positive difference favours the challenger for a score (accuracy,
ROC AUC), a negative one for an error (mean squared or absolute error, where lower is better).
Each test returns an :class:`ArmComparison` with both metrics, their difference, a two-sided
:math:`1 - \alpha` confidence interval of the difference and the two-sided p-value of
:math:`H_0: \text{difference} = 0`.

Which test applies depends on how traffic reaches the challenger and on the metric:

=======================  ================================  ===============================
metric                   split: one arm scores each row    shadow: both score every row
=======================  ================================  ===============================
a proportion (accuracy)  :func:`two_proportion_test`        :func:`mcnemar_test`
ROC AUC                  :func:`bootstrap_auc_difference`   :func:`delong_test`
an error (MSE, MAE)      :func:`welch_loss_test`            :func:`paired_loss_test`
=======================  ================================  ===============================

Paired (shadow) tests are far more powerful for the same number of rows: the rows both models
get right or both get wrong cancel out of the difference, and so does their noise. A test on
independent arms applied to paired rows is conservative when the models' errors are positively
correlated (as they usually are) and wastes that; a paired test applied to independent arms is
wrong.

Every test assumes that rows are independent (no user contributes many correlated rows), and
the split tests that traffic is assigned to the arms at random. A p-value is valid for one
look: checking a running experiment every hour and stopping at the first ``p < alpha`` rejects
a true :math:`H_0` far more often than ``alpha``; fix the sample size in advance or correct
for the looks.

ROC AUCs are Mann-Whitney statistics: with a positive's score :math:`X` and a negative's
:math:`Y`, :math:`\psi(X, Y) = 1` if :math:`X > Y`, :math:`\tfrac12` if :math:`X = Y` and 0
otherwise,

.. math:: \mathrm{AUC} = \frac{1}{m n} \sum_{i=1}^{m} \sum_{j=1}^{n} \psi(X_i, Y_j),

over the :math:`m` positives and :math:`n` negatives, computed from midranks in
:math:`O((m + n) \log(m + n))`. It equals ``sklearn.metrics.roc_auc_score``.

References
----------
.. [1] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., sections 3.1 and 11.1. Wiley.
.. [2] McNemar, Q. (1947). Note on the sampling error of the difference between correlated
   proportions or percentages. Psychometrika 12(2), 153-157.
.. [3] DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). Comparing the areas under
   two or more correlated receiver operating characteristic curves: a nonparametric approach.
   Biometrics 44(3), 837-845.
.. [4] Sun, X. and Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the
   areas under correlated receiver operating characteristic curves. IEEE Signal Processing
   Letters 21(11), 1389-1393.
.. [5] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap, chapters 13
   and 16. Chapman & Hall.
.. [6] Welch, B. L. (1947). The generalization of "Student's" problem when several different
   population variances are involved. Biometrika 34(1-2), 28-35.
.. [7] Diebold, F. X. and Mariano, R. S. (1995). Comparing predictive accuracy. Journal of
   Business & Economic Statistics 13(3), 253-263.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from driftwarden.stats._validation import as_1d_array, as_1d_float
from driftwarden.stats.errors import InsufficientDataError, StatsError

__all__ = [
    "LOSS_METRICS",
    "ArmComparison",
    "bootstrap_auc_difference",
    "delong_test",
    "mcnemar_test",
    "paired_loss_test",
    "two_proportion_test",
    "welch_loss_test",
]

# McNemar: below this many discordant pairs the chi-square approximation is poor, so the
# exact binomial test is used (the usual rule: b + c < 25).
_EXACT_BELOW: Final = 25
# Fewer resamples cannot place a 2.5% percentile: it would be the first or second value.
_MIN_RESAMPLES: Final = 100
# Each block of resamples holds about this many indices (int64: 16 MiB per array).
_BLOCK_ELEMENTS: Final = 1 << 21
# The AUC's variance is estimated from each class's spread: one row of a class has none.
_MIN_PER_CLASS: Final = 2
# A loss test estimates each arm's (or the pairs') variance: one row has none.
_MIN_LOSS_ROWS: Final = 2

LOSS_METRICS: Final[tuple[str, ...]] = ("mse", "mae")
r"""The errors :func:`welch_loss_test` and :func:`paired_loss_test` compare: mean squared error
(per-row loss :math:`(y - \hat y)^2`) and mean absolute error (:math:`|y - \hat y|`). Lower
is better."""


@dataclass(frozen=True, slots=True)
class ArmComparison:
    """The outcome of a champion/challenger test of one metric.

    Attributes
    ----------
    method : str
        ``"two_proportion_z"``, ``"bootstrap"``, ``"mcnemar"``, ``"delong"``, ``"welch_t"``
        or ``"paired_t"``.
    metric : str
        ``"roc_auc"``, an error of :data:`LOSS_METRICS` (``"mse"``, ``"mae"``), or the name of
        the proportion metric the caller passed (``"accuracy"`` by default).
    champion, challenger : float
        The metric on arm ``a`` (champion) and arm ``b`` (challenger); for an error, the mean
        loss of the arm's rows.
    difference : float
        ``challenger - champion``: positive favours the challenger for a score, negative for
        an error (lower is better).
    ci_low, ci_high : float
        Two-sided ``1 - alpha`` confidence interval of ``difference``.
    p_value : float
        Two-sided p-value of ``H0: difference == 0``.
    alpha : float
        Significance level the interval was built for.
    n_champion, n_challenger : int
        Rows in each arm; for paired tests both are the number of pairs.
    paired : bool
        Whether both models scored the same rows (shadow mode).
    """

    method: str
    metric: str
    champion: float
    challenger: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    n_champion: int
    n_challenger: int
    paired: bool

    @property
    def significant(self) -> bool:
        """``p_value < alpha``; ``False`` when the p-value is NaN."""
        return bool(self.p_value < self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as plain Python values, ready for JSON.

        Returns
        -------
        dict of str to str, bool, int, float or None
            One entry per field, in field order; a non-finite number becomes ``None``, so the
            result never holds NaN or infinity. ``ArmComparison(**d)`` rebuilds the object.

        Examples
        --------
        >>> two_proportion_test(9, 10, 10, 10).to_dict()["method"]
        'two_proportion_z'
        """
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str):
                out[field.name] = value
            elif isinstance(value, bool | np.bool_):
                out[field.name] = bool(value)
            elif isinstance(value, int | np.integer):
                out[field.name] = int(value)
            else:
                number = float(value)
                out[field.name] = number if math.isfinite(number) else None
        return out


def two_proportion_test(
    successes_a: int,
    n_a: int,
    successes_b: int,
    n_b: int,
    *,
    alpha: float = 0.05,
    metric: str = "accuracy",
) -> ArmComparison:
    r"""Compare a proportion between two independent arms (split traffic).

    Parameters
    ----------
    successes_a, n_a : int
        Successes (e.g. correct predictions) and rows of the champion's arm.
    successes_b, n_b : int
        The same for the challenger's arm.
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).
    metric : str, default="accuracy"
        Name of the proportion, copied into the result.

    Returns
    -------
    ArmComparison
        ``method="two_proportion_z"``, ``paired=False``.

    Raises
    ------
    InsufficientDataError
        If an arm has no rows.
    StatsError
        If a count is not a non-negative integer, successes exceed rows, ``alpha`` is outside
        (0, 1) or ``metric`` is not a non-empty string.

    Notes
    -----
    With :math:`\hat p_a = s_a / n_a`, :math:`\hat p_b = s_b / n_b` and
    :math:`\hat d = \hat p_b - \hat p_a`, the p-value comes from the pooled-variance z test
    (the variance under :math:`H_0`, where both arms share
    :math:`\bar p = (s_a + s_b) / (n_a + n_b)`):

    .. math::

        z = \frac{\hat d}{\sqrt{\bar p (1 - \bar p) (1/n_a + 1/n_b)}}, \qquad
        p = 2\,\Phi(-|z|).

    :math:`z^2` is Pearson's chi-square statistic of the 2x2 table without continuity
    correction, so :math:`p` equals ``scipy.stats.chi2_contingency(table, correction=False)``.
    The interval is the unpooled (Wald) one,

    .. math::

        \hat d \pm z_{1 - \alpha/2}
        \sqrt{\frac{\hat p_a (1 - \hat p_a)}{n_a} + \frac{\hat p_b (1 - \hat p_b)}{n_b}},

    clipped to [-1, 1]. When both proportions are 0, or both 1, :math:`\bar p (1 - \bar p) = 0`:
    the difference is 0 and the p-value 1. The Wald interval collapses to a point when each
    proportion is 0 or 1, and is too narrow when either is within a few :math:`1/n` of 0 or 1;
    both approximations want, say, at least 10 successes and 10 failures per arm.

    Examples
    --------
    >>> r = two_proportion_test(45, 100, 60, 100)
    >>> print(r.champion, r.challenger, round(r.difference, 4))
    0.45 0.6 0.15

    Pooled :math:`\bar p = 0.525`, :math:`z = 0.15 / \sqrt{0.525 \cdot 0.475 \cdot 0.02}
    = 2.124`:

    >>> round(r.p_value, 4), r.significant
    (0.0337, True)

    Wald interval: :math:`0.15 \pm 1.96 \sqrt{0.45 \cdot 0.55 / 100 + 0.6 \cdot 0.4 / 100}
    = 0.15 \pm 0.1368`:

    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (0.0132, 0.2868)
    >>> two_proportion_test(50, 50, 80, 80).p_value
    1.0
    """
    _check_alpha(alpha)
    _check_metric(metric)
    s_a = _count(successes_a, "successes_a")
    rows_a = _count(n_a, "n_a")
    s_b = _count(successes_b, "successes_b")
    rows_b = _count(n_b, "n_b")
    if rows_a == 0 or rows_b == 0:
        raise InsufficientDataError(
            f"two_proportion_test needs at least one row in each arm; got n_a={rows_a} and "
            f"n_b={rows_b}. Wait until both arms have served labelled traffic."
        )
    for name, successes, rows in (("a", s_a, rows_a), ("b", s_b, rows_b)):
        if successes > rows:
            raise StatsError(
                f"successes_{name} must be at most n_{name}; got successes_{name}={successes} "
                f"and n_{name}={rows}."
            )

    p_a = s_a / rows_a
    p_b = s_b / rows_b
    difference = p_b - p_a
    pooled = (s_a + s_b) / (rows_a + rows_b)
    null_se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / rows_a + 1.0 / rows_b))
    se = math.sqrt(p_a * (1.0 - p_a) / rows_a + p_b * (1.0 - p_b) / rows_b)
    ci_low, ci_high = _normal_interval(difference, se, alpha)
    return ArmComparison(
        method="two_proportion_z",
        metric=metric,
        champion=p_a,
        challenger=p_b,
        difference=difference,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=_normal_p_value(difference, null_se),
        alpha=float(alpha),
        n_champion=rows_a,
        n_challenger=rows_b,
        paired=False,
    )


def mcnemar_test(
    correct_a: ArrayLike,
    correct_b: ArrayLike,
    *,
    alpha: float = 0.05,
    metric: str = "accuracy",
) -> ArmComparison:
    r"""Compare a proportion between two models that scored the same rows (shadow mode).

    Parameters
    ----------
    correct_a, correct_b : array-like of shape (n,)
        Per row, whether the champion's (challenger's) prediction was a success (e.g.
        correct): bool, or 0/1. Row ``i`` of both is the same request.
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).
    metric : str, default="accuracy"
        Name of the proportion, copied into the result.

    Returns
    -------
    ArmComparison
        ``method="mcnemar"``, ``paired=True``, ``n_champion == n_challenger == n``.

    Raises
    ------
    InsufficientDataError
        If there are no rows.
    StatsError
        If the arrays are not one-dimensional, differ in length, hold anything but 0/1 (or
        NaN), ``alpha`` is outside (0, 1) or ``metric`` is not a non-empty string.

    Notes
    -----
    Only the discordant rows carry information about the difference: :math:`b` rows the
    champion got right and the challenger wrong, :math:`c` the reverse. The difference of
    proportions is :math:`\hat d = (c - b) / n`. Under :math:`H_0`, given
    :math:`b + c`, :math:`c \sim \mathrm{Binomial}(b + c, \tfrac12)`:

    * if :math:`b + c < 25`, the p-value is the exact two-sided binomial test,
      ``scipy.stats.binomtest(c, b + c, 0.5).pvalue``;
    * otherwise it is McNemar's chi-square with continuity correction,
      :math:`\chi^2 = \max(|c - b| - 1, 0)^2 / (b + c)` on one degree of freedom. The
      :math:`\max` only matters when :math:`b = c`, where it gives :math:`p = 1` (statsmodels
      computes :math:`1 / (b + c)` there);
    * if :math:`b + c = 0`, the models agree on every row: :math:`\hat d = 0`, :math:`p = 1`.

    The interval is the Wald interval of a difference of paired proportions,

    .. math::

        \hat d \pm z_{1 - \alpha/2} \frac{1}{n}\sqrt{(b + c) - (c - b)^2 / n},

    clipped to [-1, 1]; it collapses to the point 0 when there is no discordant row.

    Examples
    --------
    Of 10 rows the champion gets rows 0 to 5 right, the challenger rows 0 to 3 and 6 to 9: 2
    discordant rows each way.

    >>> a = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    >>> b = [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]
    >>> r = mcnemar_test(a, b)
    >>> print(r.champion, r.challenger, round(r.difference, 4), r.p_value)
    0.6 0.8 0.2 0.6875

    Exact: :math:`P(|c - 2| \ge 2)` for :math:`c \sim \mathrm{Binomial}(6, \tfrac12)` is
    :math:`(1 + 6 + 15 + 15 + 6 + 1 - 20) / 64 = 44 / 64`.
    """
    _check_alpha(alpha)
    _check_metric(metric)
    first = _as_binary(correct_a, "correct_a", "whether the champion's prediction was correct")
    second = _as_binary(correct_b, "correct_b", "whether the challenger's prediction was correct")
    if first.shape[0] != second.shape[0]:
        raise StatsError(
            "correct_a and correct_b must describe the same rows; got "
            f"{first.shape[0]} and {second.shape[0]} values. Pair each request's outcomes."
        )
    n = int(first.shape[0])
    if n == 0:
        raise InsufficientDataError(
            "mcnemar_test needs at least one pair of predictions; got 0 rows."
        )

    only_a = int(np.count_nonzero(first & ~second))
    only_b = int(np.count_nonzero(second & ~first))
    discordant = only_a + only_b
    champion = int(np.count_nonzero(first)) / n
    challenger = int(np.count_nonzero(second)) / n
    if discordant == 0:
        p_value = 1.0
    elif discordant < _EXACT_BELOW:
        p_value = float(stats.binomtest(only_b, discordant, 0.5).pvalue)
    else:
        corrected = max(abs(only_b - only_a) - 1, 0)
        p_value = float(stats.chi2.sf(corrected**2 / discordant, 1))
    variance = (discordant - (only_b - only_a) ** 2 / n) / n**2
    ci_low, ci_high = _normal_interval(challenger - champion, math.sqrt(max(variance, 0.0)), alpha)
    return ArmComparison(
        method="mcnemar",
        metric=metric,
        champion=champion,
        challenger=challenger,
        difference=challenger - champion,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=min(max(p_value, 0.0), 1.0),
        alpha=float(alpha),
        n_champion=n,
        n_challenger=n,
        paired=True,
    )


def delong_test(
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: float = 0.05,
) -> ArmComparison:
    r"""Compare the ROC AUCs of two models that scored the same rows (DeLong's test).

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n,)
        The champion's and the challenger's scores of the same rows: any finite numbers,
        higher meaning more likely positive (only their order matters).
    labels : array-like of shape (n,)
        True labels, 0/1 or bool.
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).

    Returns
    -------
    ArmComparison
        ``method="delong"``, ``metric="roc_auc"``, ``paired=True``,
        ``n_champion == n_challenger == n``.

    Raises
    ------
    InsufficientDataError
        If there are fewer than 2 positives or fewer than 2 negatives.
    StatsError
        If an array is not one-dimensional, the lengths differ, a score is NaN or infinite,
        a label is not 0/1, or ``alpha`` is outside (0, 1).

    Notes
    -----
    DeLong, DeLong and Clarke-Pearson's structural components of model :math:`r`: for each
    positive :math:`X_i` the share of negatives it outscores, for each negative :math:`Y_j`
    the share of positives that outscore it (ties counting one half),

    .. math::

        V^r_{10}(X_i) = \frac1n \sum_j \psi(X^r_i, Y^r_j), \qquad
        V^r_{01}(Y_j) = \frac1m \sum_i \psi(X^r_i, Y^r_j),

    both averaging to :math:`\mathrm{AUC}^r`. Sun and Xu compute them from midranks in
    :math:`O(N \log N)`: with :math:`T_Z` the midranks of a model's :math:`m + n` scores,
    :math:`T_X` those of its positives among themselves and :math:`T_Y` of its negatives,
    :math:`V_{10} = (T_Z - T_X) / n` on the positives and :math:`V_{01} = 1 - (T_Z - T_Y) / m`
    on the negatives. The variance of :math:`\hat d = \mathrm{AUC}^b - \mathrm{AUC}^a` is

    .. math::

        \hat\sigma^2 = \frac{s^2(V^b_{10} - V^a_{10})}{m} + \frac{s^2(V^b_{01} - V^a_{01})}{n},

    :math:`s^2` the sample variance (denominator :math:`m - 1`, :math:`n - 1`); this is
    :math:`c^\top (S_{10}/m + S_{01}/n)\, c` with :math:`c = (-1, 1)` in DeLong's notation. Then
    :math:`z = \hat d / \hat\sigma`, :math:`p = 2\,\Phi(-|z|)` and the interval is
    :math:`\hat d \pm z_{1 - \alpha/2} \hat\sigma`, clipped to [-1, 1].

    When :math:`\hat\sigma = 0` (identical scores, or scores in the same order) the difference
    is 0 and the p-value 1. In the rarer case that every row moves the AUC by the same nonzero
    amount (e.g. 2 positives and 2 negatives, one model tying them all, the other separating
    them), :math:`\hat\sigma = 0` with :math:`\hat d \ne 0`: the p-value is then 0 and the
    interval the point :math:`\hat d`, the limit of the normal approximation, which has no
    sampling noise left to measure; collect more rows before trusting it.

    Examples
    --------
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> a = [0.1, 0.4, 0.35, 0.8, 0.3, 0.9]
    >>> b = [0.1, 0.3, 0.2, 0.8, 0.45, 0.9]
    >>> r = delong_test(a, b, labels)
    >>> print(round(r.champion, 4), round(r.challenger, 4), round(r.difference, 4))
    0.7778 1.0 0.2222

    Champion: :math:`V_{10} = (1, \tfrac13, 1)` on the positives 0.8, 0.3, 0.9 and
    :math:`V_{01} = (1, \tfrac23, \tfrac23)` on the negatives 0.1, 0.4, 0.35; the challenger
    separates the classes, all ones. The differences :math:`(0, \tfrac23, 0)` and
    :math:`(0, \tfrac13, \tfrac13)` have sample variances :math:`12/81` and :math:`3/81`, so
    :math:`\hat\sigma^2 = (12/81)/3 + (3/81)/3 = 5/81` and
    :math:`z = (2/9) / \sqrt{5/81} = 0.894`:

    >>> round(r.p_value, 4)
    0.3711
    """
    _check_alpha(alpha)
    first = as_1d_float(scores_a, "scores_a")
    second = as_1d_float(scores_b, "scores_b")
    positive = _as_binary(labels, "labels", "the true label of each row")
    if not first.shape[0] == second.shape[0] == positive.shape[0]:
        raise StatsError(
            "scores_a, scores_b and labels must describe the same rows; got "
            f"{first.shape[0]}, {second.shape[0]} and {positive.shape[0]} values."
        )
    n = int(positive.shape[0])
    _check_classes(positive, "delong_test", "labels")

    v10_a, v01_a = _structural_components(first[positive], first[~positive])
    v10_b, v01_b = _structural_components(second[positive], second[~positive])
    champion = float(np.mean(v10_a))
    challenger = float(np.mean(v10_b))
    difference = challenger - champion
    variance = (
        float(np.var(v10_b - v10_a, ddof=1)) / v10_a.shape[0]
        + float(np.var(v01_b - v01_a, ddof=1)) / v01_a.shape[0]
    )
    se = math.sqrt(max(variance, 0.0))
    ci_low, ci_high = _normal_interval(difference, se, alpha)
    return ArmComparison(
        method="delong",
        metric="roc_auc",
        champion=champion,
        challenger=challenger,
        difference=difference,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=_normal_p_value(difference, se),
        alpha=float(alpha),
        n_champion=n,
        n_challenger=n,
        paired=True,
    )


def bootstrap_auc_difference(
    scores_a: ArrayLike,
    labels_a: ArrayLike,
    scores_b: ArrayLike,
    labels_b: ArrayLike,
    *,
    alpha: float = 0.05,
    n_resamples: int = 1000,
    seed: int = 0,
) -> ArmComparison:
    r"""Compare the ROC AUCs of two independent arms (split traffic) by a stratified bootstrap.

    Parameters
    ----------
    scores_a, labels_a : array-like of shape (n_a,)
        The champion arm's scores (any finite numbers, higher meaning more likely positive) and
        true labels (0/1 or bool).
    scores_b, labels_b : array-like of shape (n_b,)
        The same for the challenger's arm; the arms may differ in size.
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).
    n_resamples : int, default=1000
        Bootstrap resamples, at least 100. The p-value cannot go below
        ``1 / (n_resamples + 1)``.
    seed : int, default=0
        Seed of the resampling (``numpy.random.default_rng``), a non-negative integer: the same
        inputs and seed give the same result.

    Returns
    -------
    ArmComparison
        ``method="bootstrap"``, ``metric="roc_auc"``, ``paired=False``; ``champion`` and
        ``challenger`` are the AUCs of the data themselves, not bootstrap means.

    Raises
    ------
    InsufficientDataError
        If an arm has fewer than 2 positives or fewer than 2 negatives.
    StatsError
        If an array is not one-dimensional, an arm's scores and labels differ in length, a
        score is NaN or infinite, a label is not 0/1, ``alpha`` is outside (0, 1),
        ``n_resamples`` is not an integer of at least 100 or ``seed`` not a non-negative integer.

    Notes
    -----
    Each resample draws, independently in each arm, :math:`m` of the arm's positives and
    :math:`n` of its negatives with replacement (a stratified bootstrap: the class counts, which
    the AUC is conditional on, stay fixed), and computes
    :math:`\hat d^* = \mathrm{AUC}^{b*} - \mathrm{AUC}^{a*}`. The interval is the percentile one,
    the :math:`\alpha/2` and :math:`1 - \alpha/2` quantiles of the :math:`B` values
    :math:`\hat d^*` (linear interpolation). The p-value inverts it,

    .. math::

        p = \min\Bigl(1,\ \max\bigl(2 \min(\#\{\hat d^* \le 0\}, \#\{\hat d^* \ge 0\}) / B,\
        1 / (B + 1)\bigr)\Bigr),

    so :math:`p < \alpha` roughly when the interval excludes 0. When every resample gives the
    same difference 0 (e.g. both arms separate their classes perfectly) :math:`p = 1`.

    A resample's AUC is computed without sorting: with the arm's negatives sorted once and, for
    each positive :math:`x`, :math:`\ell(x)` and :math:`h(x)` the numbers of negatives below and
    at most :math:`x`, and :math:`C_k` the number of drawn negatives among the :math:`k`
    smallest,

    .. math:: \mathrm{AUC}^* = \frac{1}{2 m n} \sum_{\text{drawn } x} (C_{\ell(x)} + C_{h(x)}),

    exact integer counting, :math:`O(m + n)` per resample, done for blocks of resamples at once.

    Examples
    --------
    >>> labels = [0, 0, 0, 1, 1, 1]
    >>> r = bootstrap_auc_difference(
    ...     [0.1, 0.4, 0.35, 0.8, 0.3, 0.9], labels, [0.1, 0.3, 0.2, 0.8, 0.45, 0.9], labels
    ... )
    >>> print(round(r.champion, 4), round(r.challenger, 4), r.paired, r.n_champion)
    0.7778 1.0 False 6
    >>> r.ci_low <= r.difference <= r.ci_high
    True
    """
    _check_alpha(alpha)
    _check_integer(n_resamples, "n_resamples", minimum=_MIN_RESAMPLES)
    _check_integer(seed, "seed", minimum=0)
    arms = []
    for name, scores, labels in (("a", scores_a, labels_a), ("b", scores_b, labels_b)):
        values = as_1d_float(scores, f"scores_{name}")
        positive = _as_binary(labels, f"labels_{name}", "the true label of each row")
        if values.shape[0] != positive.shape[0]:
            raise StatsError(
                f"scores_{name} and labels_{name} must describe the same rows; got "
                f"{values.shape[0]} scores and {positive.shape[0]} labels."
            )
        _check_classes(positive, "bootstrap_auc_difference", f"labels_{name}")
        arms.append((values[positive], values[~positive]))

    rng = np.random.default_rng(int(seed))
    point = []
    resampled = []
    for positives, negatives in arms:
        sorted_negatives = np.sort(negatives)
        below = np.searchsorted(sorted_negatives, positives, side="left")
        at_most = np.searchsorted(sorted_negatives, positives, side="right")
        pairs = 2.0 * positives.shape[0] * negatives.shape[0]
        point.append(float(np.sum(below) + np.sum(at_most)) / pairs)
        resampled.append(_bootstrap_aucs(below, at_most, negatives.shape[0], rng, n_resamples))

    differences = resampled[1] - resampled[0]
    quantiles = np.quantile(differences, [alpha / 2.0, 1.0 - alpha / 2.0])
    at_most_zero = int(np.count_nonzero(differences <= 0.0))
    at_least_zero = int(np.count_nonzero(differences >= 0.0))
    p_value = 2.0 * min(at_most_zero, at_least_zero) / n_resamples
    return ArmComparison(
        method="bootstrap",
        metric="roc_auc",
        champion=point[0],
        challenger=point[1],
        difference=point[1] - point[0],
        ci_low=float(quantiles[0]),
        ci_high=float(quantiles[1]),
        p_value=min(max(p_value, 1.0 / (n_resamples + 1)), 1.0),
        alpha=float(alpha),
        n_champion=sum(part.shape[0] for part in arms[0]),
        n_challenger=sum(part.shape[0] for part in arms[1]),
        paired=False,
    )


def welch_loss_test(
    true_a: ArrayLike,
    predicted_a: ArrayLike,
    true_b: ArrayLike,
    predicted_b: ArrayLike,
    *,
    metric: str = "mse",
    alpha: float = 0.05,
) -> ArmComparison:
    r"""Compare the mean error of two independent arms (split traffic) by Welch's t test.

    Parameters
    ----------
    true_a, predicted_a : array-like of shape (n_a,)
        The true values of the champion arm's rows and the champion's predictions of them.
    true_b, predicted_b : array-like of shape (n_b,)
        The same for the challenger's arm; the arms may differ in size.
    metric : {"mse", "mae"}, default="mse"
        The per-row loss: squared error (the arms' means are their MSEs) or absolute error
        (their MAEs).
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).

    Returns
    -------
    ArmComparison
        ``method="welch_t"``, ``paired=False``; ``champion`` and ``challenger`` are the mean
        losses of the arms, ``difference`` is ``challenger - champion``: negative when the
        challenger's error is lower.

    Raises
    ------
    InsufficientDataError
        If an arm has fewer than 2 rows (its variance cannot be estimated).
    StatsError
        If an array is not one-dimensional, an arm's true values and predictions differ in
        length, a value is NaN or infinite, ``metric`` is not ``"mse"`` or ``"mae"``, or
        ``alpha`` is outside (0, 1).

    Notes
    -----
    With the per-row losses :math:`\ell_i = (y_i - \hat y_i)^2` (MSE) or
    :math:`|y_i - \hat y_i|` (MAE), each arm's mean :math:`\bar\ell` and sample variance
    :math:`s^2` (denominator :math:`n - 1`), the difference :math:`\hat d = \bar\ell_b -
    \bar\ell_a` has the standard error and the Welch-Satterthwaite degrees of freedom

    .. math::

        \hat\sigma = \sqrt{\frac{s_a^2}{n_a} + \frac{s_b^2}{n_b}}, \qquad
        \nu = \frac{\hat\sigma^4}{\frac{(s_a^2/n_a)^2}{n_a - 1} + \frac{(s_b^2/n_b)^2}{n_b - 1}}.

    Then :math:`t = \hat d / \hat\sigma`, :math:`p = 2\,T_\nu(-|t|)` and the interval is
    :math:`\hat d \pm t_{\nu,\,1 - \alpha/2}\,\hat\sigma`: ``scipy.stats.ttest_ind(losses_b,
    losses_a, equal_var=False)``. The interval is not clipped (a loss is unbounded).

    When both arms' losses are constant (:math:`\hat\sigma = 0`) the p-value is 1 if they are
    equal and 0 otherwise, and the interval is the point :math:`\hat d`.

    The t distribution holds when each arm's mean loss is close to normal. Squared errors are
    skewed (a chi-square with one degree of freedom when the residuals are normal, heavier
    still when they are not), so the test wants a few hundred rows per arm; fewer, and a few
    large errors decide it.

    Examples
    --------
    The champion misses its four rows by 1, -1, 2 and -2 (squared: 1, 1, 4, 4), the
    challenger its four by 0, 1, -1 and 0 (squared: 0, 1, 1, 0):

    >>> r = welch_loss_test([0, 0, 0, 0], [1, -1, 2, -2], [0, 0, 0, 0], [0, 1, -1, 0])
    >>> print(r.method, r.metric, r.champion, r.challenger, r.difference)
    welch_t mse 2.5 0.5 -2.0

    :math:`\hat\sigma^2 = 3/4 + (1/3)/4 = 0.8333`, :math:`t = -2 / 0.9129 = -2.191` on
    :math:`\nu = 0.6944 / (0.1875 + 0.0023) = 3.66` degrees of freedom:

    >>> round(r.p_value, 4), r.significant
    (0.0999, False)
    """
    _check_alpha(alpha)
    _check_loss_metric(metric)
    losses_a = _losses(true_a, predicted_a, "a", metric)
    losses_b = _losses(true_b, predicted_b, "b", metric)
    n_a, n_b = int(losses_a.shape[0]), int(losses_b.shape[0])
    if min(n_a, n_b) < _MIN_LOSS_ROWS:
        raise InsufficientDataError(
            f"welch_loss_test needs at least {_MIN_LOSS_ROWS} labelled rows in each arm, since "
            f"each arm's variance is estimated from its rows; got n_a={n_a} and n_b={n_b}. "
            "Wait until both arms have served more labelled traffic."
        )
    champion = float(np.mean(losses_a))
    challenger = float(np.mean(losses_b))
    difference = challenger - champion
    share_a = float(np.var(losses_a, ddof=1)) / n_a
    share_b = float(np.var(losses_b, ddof=1)) / n_b
    variance = share_a + share_b
    if variance > 0.0:
        df = variance**2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    else:
        df = float(n_a + n_b - 2)
    p_value, ci_low, ci_high = _t_inference(difference, math.sqrt(variance), df, alpha)
    return ArmComparison(
        method="welch_t",
        metric=metric,
        champion=champion,
        challenger=challenger,
        difference=difference,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        alpha=float(alpha),
        n_champion=n_a,
        n_challenger=n_b,
        paired=False,
    )


def paired_loss_test(
    true: ArrayLike,
    predicted_a: ArrayLike,
    predicted_b: ArrayLike,
    *,
    metric: str = "mse",
    alpha: float = 0.05,
) -> ArmComparison:
    r"""Compare the mean error of two models that predicted the same rows (shadow mode) by a
    paired t test on the per-row loss differences.

    Parameters
    ----------
    true : array-like of shape (n,)
        The true values of the rows.
    predicted_a, predicted_b : array-like of shape (n,)
        The champion's and the challenger's predictions of the same rows.
    metric : {"mse", "mae"}, default="mse"
        The per-row loss: squared error or absolute error.
    alpha : float, default=0.05
        Significance level; the interval covers ``1 - alpha``. Must lie in (0, 1).

    Returns
    -------
    ArmComparison
        ``method="paired_t"``, ``paired=True``, ``n_champion == n_challenger == n``;
        ``champion`` and ``challenger`` are the models' mean losses, ``difference`` is
        ``challenger - champion``: negative when the challenger's error is lower.

    Raises
    ------
    InsufficientDataError
        If there are fewer than 2 rows.
    StatsError
        If an array is not one-dimensional, the lengths differ, a value is NaN or infinite,
        ``metric`` is not ``"mse"`` or ``"mae"``, or ``alpha`` is outside (0, 1).

    Notes
    -----
    With the per-row loss differences :math:`D_i = \ell^b_i - \ell^a_i` (the Diebold-Mariano
    statistic for independent rows), their mean :math:`\hat d` and sample standard deviation
    :math:`s_D`, :math:`\hat\sigma = s_D / \sqrt n`, :math:`t = \hat d / \hat\sigma` on
    :math:`n - 1` degrees of freedom, :math:`p = 2\,T_{n-1}(-|t|)` and the interval
    :math:`\hat d \pm t_{n-1,\,1 - \alpha/2}\,\hat\sigma`: ``scipy.stats.ttest_rel(losses_b,
    losses_a)``. The rows' own difficulty cancels out of :math:`D_i`, which makes the test
    far more powerful than :func:`welch_loss_test` on the same rows.

    When every row's difference is the same (:math:`\hat\sigma = 0`: identical predictions,
    say) the p-value is 1 if it is 0 and 0 otherwise, and the interval is the point
    :math:`\hat d`. As for :func:`welch_loss_test`, the t distribution wants a few hundred
    rows when the differences are skewed.

    Examples
    --------
    >>> r = paired_loss_test([3, 5, 2, 8, 6], [4, 3, 2, 11, 5], [3, 4, 3, 9, 6])
    >>> print(r.method, r.champion, r.challenger, round(r.difference, 4), r.paired)
    paired_t 3.0 0.6 -2.4 True

    The squared errors are 1, 4, 0, 9, 1 and 0, 1, 1, 1, 0: :math:`D = (-1, -3, 1, -8, -1)`,
    :math:`s_D = 3.435`, :math:`t = -2.4 / (3.435 / \sqrt 5) = -1.562` on 4 degrees of
    freedom:

    >>> round(r.p_value, 4)
    0.1933
    """
    _check_alpha(alpha)
    _check_loss_metric(metric)
    values = as_1d_float(true, "true")
    first = as_1d_float(predicted_a, "predicted_a")
    second = as_1d_float(predicted_b, "predicted_b")
    if not values.shape[0] == first.shape[0] == second.shape[0]:
        raise StatsError(
            "true, predicted_a and predicted_b must describe the same rows; got "
            f"{values.shape[0]}, {first.shape[0]} and {second.shape[0]} values. Pair each "
            "request's predictions with its true value."
        )
    n = int(values.shape[0])
    if n < _MIN_LOSS_ROWS:
        raise InsufficientDataError(
            f"paired_loss_test needs at least {_MIN_LOSS_ROWS} labelled pairs of predictions, "
            f"since the variance of their differences is estimated from them; got {n}."
        )
    losses_a = _loss(values, first, metric)
    losses_b = _loss(values, second, metric)
    differences = losses_b - losses_a
    champion = float(np.mean(losses_a))
    challenger = float(np.mean(losses_b))
    se = math.sqrt(max(float(np.var(differences, ddof=1)), 0.0) / n)
    p_value, ci_low, ci_high = _t_inference(float(np.mean(differences)), se, n - 1.0, alpha)
    return ArmComparison(
        method="paired_t",
        metric=metric,
        champion=champion,
        challenger=challenger,
        difference=challenger - champion,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        alpha=float(alpha),
        n_champion=n,
        n_challenger=n,
        paired=True,
    )


def _check_loss_metric(metric: str) -> None:
    if not isinstance(metric, str) or metric not in LOSS_METRICS:
        raise StatsError(
            f"metric must name an error, one of {', '.join(map(repr, LOSS_METRICS))}; got "
            f"{metric!r}."
        )


def _loss(
    true: NDArray[np.float64], predicted: NDArray[np.float64], metric: str
) -> NDArray[np.float64]:
    errors = predicted - true
    result: NDArray[np.float64] = errors * errors if metric == "mse" else np.abs(errors)
    return result


def _losses(true: ArrayLike, predicted: ArrayLike, arm: str, metric: str) -> NDArray[np.float64]:
    values = as_1d_float(true, f"true_{arm}")
    predictions = as_1d_float(predicted, f"predicted_{arm}")
    if values.shape[0] != predictions.shape[0]:
        raise StatsError(
            f"true_{arm} and predicted_{arm} must describe the same rows; got "
            f"{values.shape[0]} true values and {predictions.shape[0]} predictions."
        )
    return _loss(values, predictions, metric)


def _t_inference(estimate: float, se: float, df: float, alpha: float) -> tuple[float, float, float]:
    """Two-sided p-value and interval of a t statistic on ``df`` degrees of freedom."""
    if se > 0.0 and math.isfinite(se):
        statistic = estimate / se
        p_value = min(float(2.0 * stats.t.sf(abs(statistic), df)), 1.0)
        half_width = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * se
        return p_value, estimate - half_width, estimate + half_width
    # No sampling noise left: the estimate is either exactly what H0 says or infinitely far.
    return (1.0 if estimate == 0.0 else 0.0), estimate, estimate


def _bootstrap_aucs(
    below: NDArray[np.intp],
    at_most: NDArray[np.intp],
    n_negatives: int,
    rng: np.random.Generator,
    n_resamples: int,
) -> NDArray[np.float64]:
    m = int(below.shape[0])
    block = max(1, _BLOCK_ELEMENTS // (m + n_negatives))
    aucs = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        positive_draws = rng.integers(0, m, size=(size, m))
        negative_draws = rng.integers(0, n_negatives, size=(size, n_negatives))
        aucs[start : start + size] = _resampled_aucs(below, at_most, positive_draws, negative_draws)
    return aucs


def _resampled_aucs(
    below: NDArray[np.intp],
    at_most: NDArray[np.intp],
    positive_draws: NDArray[np.int64],
    negative_draws: NDArray[np.int64],
) -> NDArray[np.float64]:
    """AUC of each resample (one per row of the draws).

    ``below[i]`` and ``at_most[i]`` count the negatives below and at most positive ``i``;
    ``negative_draws`` index the negatives *sorted*, ``positive_draws`` the positives.
    """
    size, n = negative_draws.shape
    m = positive_draws.shape[1]
    # One bincount for the whole block: row r's draws are shifted into [r n, (r + 1) n).
    offsets = np.arange(size, dtype=np.int64)[:, np.newaxis] * n
    counts = np.bincount((negative_draws + offsets).ravel(), minlength=size * n)
    cumulative = np.zeros((size, n + 1), dtype=np.int64)
    np.cumsum(counts.reshape(size, n), axis=1, out=cumulative[:, 1:])
    twice_wins = np.take_along_axis(cumulative, below[positive_draws], axis=1)
    twice_wins += np.take_along_axis(cumulative, at_most[positive_draws], axis=1)
    result: NDArray[np.float64] = twice_wins.sum(axis=1) / (2.0 * m * n)
    return result


def _structural_components(
    positives: NDArray[np.float64], negatives: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    m = positives.shape[0]
    n = negatives.shape[0]
    combined = np.asarray(stats.rankdata(np.concatenate([positives, negatives])), np.float64)
    within_positives = np.asarray(stats.rankdata(positives), np.float64)
    within_negatives = np.asarray(stats.rankdata(negatives), np.float64)
    v10 = (combined[:m] - within_positives) / n
    v01 = 1.0 - (combined[m:] - within_negatives) / m
    return v10, v01


def _normal_p_value(estimate: float, se: float) -> float:
    if se > 0.0:
        return min(float(2.0 * special.ndtr(-abs(estimate) / se)), 1.0)
    # No sampling noise left: the estimate is either exactly what H0 says or infinitely far.
    return 1.0 if estimate == 0.0 else 0.0


def _normal_interval(estimate: float, se: float, alpha: float) -> tuple[float, float]:
    half_width = float(special.ndtri(1.0 - alpha / 2.0)) * se
    return max(estimate - half_width, -1.0), min(estimate + half_width, 1.0)


def _check_alpha(alpha: float) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise StatsError(f"alpha must be a number in (0, 1), e.g. 0.05; got {alpha!r}.")
    if not (math.isfinite(alpha) and 0.0 < alpha < 1.0):
        raise StatsError(f"alpha must be a number in (0, 1), e.g. 0.05; got {alpha!r}.")


def _check_metric(metric: str) -> None:
    if not isinstance(metric, str) or not metric:
        raise StatsError(
            f"metric must be the non-empty name of a proportion, e.g. 'accuracy'; got {metric!r}."
        )


def _check_integer(value: int, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise StatsError(f"{name} must be an integer of at least {minimum}; got {value!r}.")


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise StatsError(f"{name} must be a count: a non-negative integer; got {value!r}.")
    return int(value)


def _as_binary(values: ArrayLike, name: str, meaning: str) -> NDArray[np.bool_]:
    array = as_1d_array(values, name)
    expected = f"{name} must hold 0/1 or bool values ({meaning})"
    if array.dtype.kind == "b":
        return array.astype(np.bool_, copy=False)
    if array.dtype.kind not in "iuf":
        raise StatsError(f"{expected}; got an array of dtype {array.dtype}.")
    if array.dtype.kind == "f" and np.isnan(array).any():
        nan = np.isnan(array)
        raise StatsError(
            f"{expected}; got {int(np.count_nonzero(nan))} NaN value(s), the first at index "
            f"{int(np.flatnonzero(nan)[0])}. Drop rows without an outcome first."
        )
    invalid = (array != 0) & (array != 1)
    if np.any(invalid):
        shown = np.unique(array[invalid])[:5].tolist()
        raise StatsError(
            f"{expected}; got {int(np.count_nonzero(invalid))} other value(s), e.g. {shown}."
        )
    result: NDArray[np.bool_] = np.equal(array, 1)
    return result


def _check_classes(positive: NDArray[np.bool_], test: str, name: str) -> None:
    n_positive = int(np.count_nonzero(positive))
    n_negative = int(positive.shape[0]) - n_positive
    if n_positive < _MIN_PER_CLASS or n_negative < _MIN_PER_CLASS:
        raise InsufficientDataError(
            f"{test} needs at least {_MIN_PER_CLASS} positive and {_MIN_PER_CLASS} negative "
            f"labels in {name}, since the AUC and its variance are computed from both classes; "
            f"got {n_positive} positive and {n_negative} negative."
        )
