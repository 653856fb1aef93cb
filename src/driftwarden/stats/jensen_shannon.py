r"""Jensen–Shannon distance (base 2) between two binned distributions.

.. math::

    m = \tfrac12 (p + q), \qquad
    \mathrm{JS}(p, q) = \sqrt{\tfrac12 \textstyle\sum_i p_i \log_2 \frac{p_i}{m_i}
                              + \tfrac12 \sum_i q_i \log_2 \frac{q_i}{m_i}}

with :math:`0 \log 0 = 0`, so no epsilon is needed. The distance is symmetric, lies in ``[0, 1]``
and agrees with ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats.errors import StatsError
from driftwarden.stats.psi import _shares

__all__ = ["distance_of", "jensen_shannon_distance", "kl_terms"]


def jensen_shannon_distance(reference: ArrayLike, current: ArrayLike) -> float:
    """JS distance (base 2) between bin shares or counts (each normalised to sum 1).

    Examples
    --------
    >>> round(jensen_shannon_distance([1, 0], [0, 1]), 6)
    1.0
    >>> jensen_shannon_distance([0.2, 0.8], [0.2, 0.8])
    0.0
    """
    p = _shares(reference, "reference")
    q = _shares(current, "current")
    if p.shape != q.shape:
        raise StatsError(f"reference has {p.size} bins but current has {q.size}")
    divergence = 0.5 * (float(np.sum(kl_terms(p, q)[1])) + float(np.sum(kl_terms(q, p)[1])))
    return distance_of(divergence)


def kl_terms(
    p: NDArray[np.float64], q: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The bins where ``p > 0``, and there ``p log2(p / m)`` with ``m = (p + q) / 2``.

    Their sum is the Kullback–Leibler divergence of ``p`` from ``m`` in bits (``0 log 0 = 0`` in
    the other bins); the Jensen–Shannon divergence is the mean of that and the same for ``q``.

    Examples
    --------
    >>> import numpy as np
    >>> bins, terms = kl_terms(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    >>> bins.tolist(), terms.tolist()
    ([1], [1.0])
    """
    nonzero = np.flatnonzero(p > 0)
    p, q = p[nonzero], q[nonzero]
    # p / m is written 2p / (p + q): halving the smallest subnormal share rounds m to 0.
    terms: NDArray[np.float64] = p * np.log2(2.0 * p / (p + q))
    return nonzero, terms


def distance_of(divergence: float) -> float:
    """The Jensen–Shannon distance from the divergence: its square root.

    The divergence is first clamped to ``[0, 1]``: rounding can leave it a little below 0 for
    identical inputs (the distance is then 0) or a little above 1.

    Examples
    --------
    >>> distance_of(0.25), distance_of(-1e-17)
    (0.5, 0.0)
    """
    return math.sqrt(min(max(divergence, 0.0), 1.0))
