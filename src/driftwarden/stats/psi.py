r"""Population Stability Index over fixed bins.

.. math:: \mathrm{PSI} = \sum_i (q_i - p_i) \ln \frac{q_i}{p_i}

with :math:`p_i` the reference share and :math:`q_i` the window share of bin :math:`i`. An empty bin
would make the logarithm infinite, so both shares are floored at ``eps`` (default ``1e-4``) before
the sum, and are *not* renormalised: an emptied bin with reference share 0.1 contributes
``(1e-4 - 0.1) * ln(1e-4 / 0.1) = 0.690``. This term dominates when a shift empties reference bins,
which is exactly when PSI should be large; its size depends on ``eps``, which every report names.

For numeric features the bins are fixed by the reference (its deciles by default) and never move
with the window; for categorical features each category is a bin, plus one bin for categories the
reference never saw.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats._validation import as_1d_float
from driftwarden.stats.errors import StatsError

__all__ = ["DEFAULT_EPS", "population_stability_index", "psi_terms"]

DEFAULT_EPS = 1e-4


def population_stability_index(
    reference: ArrayLike, current: ArrayLike, *, eps: float = DEFAULT_EPS
) -> float:
    """PSI between two vectors of bin shares (or counts, which are normalised first).

    Parameters
    ----------
    reference, current : array_like
        Non-negative shares or counts per bin, same length, each with a positive total.
    eps : float
        Floor applied to every share before the sum (``0 < eps < 1``).

    Returns
    -------
    float
        PSI >= 0; 0 when the shares are equal.

    Raises
    ------
    StatsError
        Lengths differ, a share is negative, a total is zero, or ``eps`` is out of range.

    Examples
    --------
    >>> round(population_stability_index([0.5, 0.5], [0.4, 0.6]), 6)
    0.040547
    >>> round(population_stability_index([0.1, 0.9], [0.0, 1.0]), 4)  # emptied bin, eps=1e-4
    0.7006
    """
    if not 0.0 < eps < 1.0:
        raise StatsError(f"eps must be in (0, 1), got {eps}")
    p = _shares(reference, "reference")
    q = _shares(current, "current")
    if p.shape != q.shape:
        raise StatsError(f"reference has {p.size} bins but current has {q.size}")
    return float(max(np.sum(psi_terms(p, q, eps)), 0.0))


def psi_terms(p: NDArray[np.float64], q: NDArray[np.float64], eps: float) -> NDArray[np.float64]:
    """``(q_i - p_i) ln(q_i / p_i)`` per bin, of the shares floored at ``eps``.

    :func:`population_stability_index` is their sum, floored at 0.

    Examples
    --------
    >>> import numpy as np
    >>> psi_terms(np.array([0.5, 0.5]), np.array([0.5, 0.5]), 1e-4).tolist()
    [0.0, 0.0]
    """
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    terms: NDArray[np.float64] = (q - p) * np.log(q / p)
    return terms


def _shares(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = as_1d_float(values, name)
    if (array < 0).any():
        raise StatsError(f"{name}: bin counts and shares must be >= 0")
    total = float(array.sum())
    if total <= 0:
        raise StatsError(f"{name}: the bins are empty (total 0); nothing to compare")
    shares: NDArray[np.float64] = array / total
    return shares
