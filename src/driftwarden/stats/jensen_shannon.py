r"""Jensen–Shannon distance (base 2) between two binned distributions.

.. math::

    m = \tfrac12 (p + q), \qquad
    \mathrm{JS}(p, q) = \sqrt{\tfrac12 \textstyle\sum_i p_i \log_2 \frac{p_i}{m_i}
                              + \tfrac12 \sum_i q_i \log_2 \frac{q_i}{m_i}}

with :math:`0 \log 0 = 0`, so no epsilon is needed. The distance is symmetric, lies in ``[0, 1]``
and agrees with ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats.errors import StatsError
from driftwarden.stats.psi import _shares

__all__ = ["jensen_shannon_distance"]


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
    divergence = 0.5 * (_kl_terms(p, q) + _kl_terms(q, p))
    # Rounding can leave a tiny negative divergence for identical inputs; the distance is 0 then.
    return float(np.sqrt(min(max(divergence, 0.0), 1.0)))


def _kl_terms(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """``sum p log2(p / m)`` with ``m = (p + q) / 2``, over the bins where ``p > 0``."""
    nonzero = p > 0
    # p / m is written 2p / (p + q): halving the smallest subnormal share rounds m to 0.
    ratio = 2.0 * p[nonzero] / (p[nonzero] + q[nonzero])
    return float(np.sum(p[nonzero] * np.log2(ratio)))
