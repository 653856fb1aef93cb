"""Sums and ratios that stay finite for any finite input: numbers kept as ``value * 2**exponent``.

Finite float64 values reach about ``1.8e308``; the distance between two of them, or the sum of a
few, can be larger. Where the numeric statistics add such quantities (the Wasserstein distance of
values outside the reference range, mainly), they are carried as a pair ``(value, exponent)``
meaning ``value * 2**exponent``. Scaling by a power of two is exact (short of the subnormal range,
where it loses only what is negligible beside the largest term), so ordinary data get the same
result as without it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

__all__ = ["FLOAT_MAX", "Scaled", "distance_sum", "scaled_ratio", "scaled_total", "to_float"]

FLOAT_MAX = sys.float_info.max
# (value, exponent): the number value * 2**exponent.
Scaled = tuple[float, int]


def distance_sum(edge: float, values: NDArray[np.float64]) -> Scaled:
    """``sum(|values - edge|)`` as a :data:`Scaled`, without overflow.

    Examples
    --------
    Two distances of 3e308 each, beyond the largest float together and apart:

    >>> import numpy as np
    >>> value, exponent = distance_sum(-1.5e308, np.array([1.5e308, 1.5e308]))
    >>> round(value, 4), exponent, to_float(value, exponent)
    (3.3376, 1024, inf)
    """
    if values.size == 0:
        return 0.0, 0
    largest = max(abs(edge), float(np.max(np.abs(values))))
    if largest == 0.0:
        return 0.0, 0
    # Dividing by the power of two above the largest magnitude puts every term in [0, 2).
    exponent = math.frexp(largest)[1]
    scaled = np.ldexp(values, -exponent)
    scaled -= math.ldexp(edge, -exponent)
    return float(np.abs(scaled).sum()), exponent


def scaled_total(parts: Iterable[Scaled]) -> Scaled:
    """The sum of non-negative :data:`Scaled` numbers, as one.

    Examples
    --------
    >>> scaled_total([(1.5, 1), (0.5, 3)])
    (0.875, 3)
    """
    normalised = [(mantissa, exponent + shift)
                  for value, exponent in parts
                  for mantissa, shift in [math.frexp(value)] if mantissa]  # fmt: skip
    if not normalised:
        return 0.0, 0
    # Every mantissa is below 1, so the sum is below the number of parts: it cannot overflow.
    top = max(exponent for _, exponent in normalised)
    return math.fsum(math.ldexp(mantissa, exponent - top) for mantissa, exponent in normalised), top


def to_float(value: float, exponent: int) -> float:
    """``value * 2**exponent`` as a float: ``inf`` where it is beyond the largest one.

    Examples
    --------
    >>> to_float(0.75, 4), to_float(1.0, 2000)
    (12.0, inf)
    """
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def scaled_ratio(value: float, exponent: int, divisor: float) -> float:
    """``value * 2**exponent / divisor``, capped at the largest float.

    ``value >= 0`` and ``divisor > 0``. The cap is the one rule that keeps a normalised distance
    finite when a reference of tiny spread meets values near the float limits.

    Examples
    --------
    >>> scaled_ratio(3.0, 2, 4.0)
    3.0
    >>> scaled_ratio(1.0, 1000, 1e-300) == FLOAT_MAX
    True
    """
    if value == 0.0:
        return 0.0
    top, top_exponent = math.frexp(value)
    bottom, bottom_exponent = math.frexp(divisor)
    return min(to_float(top / bottom, exponent + top_exponent - bottom_exponent), FLOAT_MAX)
