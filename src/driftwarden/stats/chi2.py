r"""Chi-squared goodness-of-fit of a window's category counts against reference proportions.

.. math:: \chi^2 = \sum_i \frac{(O_i - E_i)^2}{E_i}, \qquad E_i = n\,p_i, \qquad
          \text{df} = k - 1

with :math:`O_i` the window's counts over the :math:`k` reference categories. Agrees with
``scipy.stats.chisquare(O, E)``. When the window holds categories the reference never saw, they
form one more bucket whose expected proportion is ``eps`` (the PSI epsilon) and the reference
proportions are scaled by ``1 - eps``: the statistic is then very large, as it should be. With a
single bucket there is nothing to test: the statistic is 0 and the p-value 1.

With large windows the p-value is tiny for any difference at all; it is reported beside the
effect sizes (PSI, Jensen–Shannon), which decide.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["chi2_goodness_of_fit"]


def chi2_goodness_of_fit(
    observed: NDArray[np.float64], expected_shares: NDArray[np.float64]
) -> tuple[float, float]:
    """Return ``(statistic, p_value)`` for counts against expected shares summing to 1.

    Buckets whose expected share is 0 must be merged or smoothed by the caller.

    Examples
    --------
    >>> import numpy as np
    >>> stat, p = chi2_goodness_of_fit(np.array([30.0, 70.0]), np.array([0.5, 0.5]))
    >>> round(stat, 6), round(p, 6)
    (16.0, 6.3e-05)
    """
    n = observed.sum()
    if observed.shape[0] < 2 or n <= 0:
        return 0.0, 1.0
    expected = n * expected_shares
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    # special.chdtrc(df, x) is chi2.sf(x, df) without the distribution machinery around it.
    p_value = float(special.chdtrc(observed.shape[0] - 1, statistic))
    return statistic, p_value
