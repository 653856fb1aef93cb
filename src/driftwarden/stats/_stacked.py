"""Every numeric method for several placed windows at once.

Once a window is placed (:meth:`NumericProfile.place`), each feature's statistics come from arrays
the size of its grid (about 2000 edges by default), whatever the number of rows. Worked out one
feature at a time, that is a few dozen short numpy calls per feature, whose cost is mostly the
calls themselves. Here the features' arrays are laid end to end ("stacked"): every elementwise step
is one call over all of them, and only the sums and maxima are taken per feature, each over its
own slice in the same order as for the feature alone. A feature's statistics therefore do not
depend on which other features are computed with it.

The formulas are those of :mod:`driftwarden.stats.psi`, :mod:`driftwarden.stats.jensen_shannon`,
:mod:`driftwarden.stats.ks` and :mod:`driftwarden.stats.wasserstein`; what depends on the
reference alone is worked out once per profile (:meth:`NumericProfile.derived`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from driftwarden.stats._scaled import FLOAT_MAX, scaled_ratio, scaled_total
from driftwarden.stats.jensen_shannon import distance_of, kl_terms
from driftwarden.stats.ks import ks_p_value
from driftwarden.stats.profile import NumericProfile, NumericWindow
from driftwarden.stats.psi import psi_terms
from driftwarden.stats.wasserstein import interval_integrals

__all__ = ["NumericStatistics", "binned_statistics", "numeric_statistics"]


@dataclass(frozen=True, slots=True)
class NumericStatistics:
    """Every numeric method's statistic for one feature and one window.

    ``wasserstein`` is normalised by the profile's ``scale``; the error bounds are those of
    :mod:`driftwarden.stats.ks` and :mod:`driftwarden.stats.wasserstein`.
    """

    psi: float
    jensen_shannon: float
    ks: float
    ks_p_value: float
    ks_error_bound: float
    wasserstein: float
    wasserstein_error_bound: float


class _Stack:
    """Where each feature's piece lies in an array that holds the pieces of all features."""

    __slots__ = ("bounds", "ends", "size", "sizes", "starts")

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = np.asarray(sizes, dtype=np.intp)
        self.ends = np.cumsum(self.sizes)
        self.starts = self.ends - self.sizes
        self.size = int(self.ends[-1]) if self.sizes.size else 0
        self.bounds = list(zip(self.starts.tolist(), self.ends.tolist(), strict=True))

    def spread(self, values: NDArray[np.int64]) -> NDArray[np.int64]:
        """Each feature's value repeated over its piece."""
        return np.repeat(values, self.sizes)

    def cumsum(self, values: NDArray[np.int64]) -> NDArray[np.int64]:
        """The cumulative sum within each piece (exact: the values are counts)."""
        total = np.cumsum(values)
        before = np.concatenate(([0], total))[self.starts]
        result: NDArray[np.int64] = total - self.spread(before)
        return result

    def maxima(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """The largest of each piece's values, which are >= 0; 0 for an empty piece."""
        result = np.zeros(self.sizes.size)
        filled = self.sizes > 0
        if values.size:
            result[filled] = np.maximum.reduceat(values, self.starts[filled])
        return result

    def sums(self, values: NDArray[np.float64]) -> list[float]:
        """``np.sum`` of each piece."""
        return [float(values[start:end].sum()) for start, end in self.bounds]

    def dots(self, left: NDArray[np.float64], right: NDArray[np.float64]) -> list[float]:
        """``np.dot`` of each piece of two arrays."""
        return [float(np.dot(left[start:end], right[start:end])) for start, end in self.bounds]

    def totals(self, counts: NDArray[np.int64]) -> NDArray[np.int64]:
        """The sum of each piece of ``counts``; every piece must hold at least one value."""
        result: NDArray[np.int64] = np.add.reduceat(counts, self.starts)
        return result

    def sums_at(self, picked: NDArray[np.intp], values: NDArray[np.float64]) -> list[float]:
        """``np.sum`` of each piece of ``values``, which holds one value per index of ``picked``
        (increasing indices into the stacked arrays)."""
        starts = np.searchsorted(picked, self.starts).tolist()
        ends = np.searchsorted(picked, self.ends).tolist()
        return [float(values[start:end].sum()) for start, end in zip(starts, ends, strict=True)]


def _cumulative(
    open_counts: NDArray[np.int64], atom_counts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The number of values at or below every edge."""
    result: NDArray[np.int64] = np.cumsum(open_counts[:-1] + atom_counts)
    return result


def _reference_cdfs(profile: NumericProfile) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The reference's ``F(e_k)`` and ``F(e_k^-)`` at every edge."""

    def compute() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        at = _cumulative(profile.open_counts, profile.atom_counts)
        return at / profile.n, (at - profile.atom_counts) / profile.n

    return profile.derived("cdfs", compute)


def _reference_psi_shares(profile: NumericProfile) -> NDArray[np.float64]:
    """The reference's share of each PSI bin ``(-inf, c_1], (c_1, c_2], ..., (c_last, inf)``."""

    def compute() -> NDArray[np.float64]:
        at = _cumulative(profile.open_counts, profile.atom_counts)
        total = int(profile.open_counts.sum() + profile.atom_counts.sum())
        bins = np.diff(np.concatenate(([0], at[profile.psi_positions], [total])))
        shares: NDArray[np.float64] = bins / float(bins.sum())
        return shares

    return profile.derived("psi_shares", compute)


def _interval_shares(profile: NumericProfile) -> NDArray[np.float64]:
    """The reference's share strictly inside each interval of its grid."""
    return profile.derived("interval_shares", lambda: profile.open_counts[1:-1] / profile.n)


def _widths(profile: NumericProfile) -> NDArray[np.float64]:
    """The grid's interval widths, in units of ``2**unit_exponent``."""
    return profile.derived(
        "widths", lambda: np.diff(np.ldexp(profile.edges, -profile.unit_exponent))
    )


def _reference_positions(profile: NumericProfile) -> NDArray[np.float64]:
    """The mean position of the reference's values inside each interval (0.5 if not known)."""
    return profile.derived(
        "positions",
        lambda: (
            np.full(profile.edges.size - 1, 0.5)
            if profile.open_positions is None
            else profile.open_positions[1:-1]
        ),
    )


def _slack(profile: NumericProfile) -> NDArray[np.float64]:
    """What :func:`~driftwarden.stats.wasserstein.interval_integrals` allows for the reference's
    positions: 0 where the profile knows them, ``rise / 2`` where it does not."""
    return profile.derived(
        "slack",
        lambda: (
            np.zeros(profile.edges.size - 1)
            if profile.open_positions is not None
            else 0.5 * _interval_shares(profile)
        ),
    )


def _stacked(arrays: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
    result: NDArray[np.float64] = np.concatenate(arrays)
    return result


def _divergences(
    bins: _Stack, p: NDArray[np.float64], q: NDArray[np.float64], eps: float
) -> tuple[list[float], list[float]]:
    """PSI (shares floored at ``eps``) and Jensen–Shannon distance per piece of the bin shares."""
    psi = [max(total, 0.0) for total in bins.sums(psi_terms(p, q, eps))]
    p_from_m, q_from_m = (bins.sums_at(*kl_terms(a, b)) for a, b in ((p, q), (q, p)))
    js = [distance_of(0.5 * (a + b)) for a, b in zip(p_from_m, q_from_m, strict=True)]
    return psi, js


def binned_statistics(
    reference: Sequence[NDArray[np.int64]], current: Sequence[NDArray[np.int64]], eps: float
) -> tuple[list[float], list[float]]:
    """PSI and Jensen–Shannon distance between each pair of bin counts.

    Parameters
    ----------
    reference, current : sequence of ndarray
        One pair per feature: the reference's and the window's counts in the same bins, each with
        a positive total.
    eps : float
        The PSI floor.

    Returns
    -------
    psi, jensen_shannon : list of float
        One per pair, equal to :func:`~driftwarden.stats.psi.population_stability_index` and
        :func:`~driftwarden.stats.jensen_shannon.jensen_shannon_distance` of that pair.

    Examples
    --------
    >>> import numpy as np
    >>> reference, current = [np.array([1, 1]), np.array([3, 1])], [np.array([0, 2])] * 2
    >>> psi, js = binned_statistics(reference, current, 1e-4)
    >>> [round(value, 4) for value in psi], [round(value, 4) for value in js]
    ([4.6043, 7.7308], [0.5579, 0.7408])
    """
    if not reference:
        return [], []
    bins = _Stack([counts.size for counts in reference])
    p, q = (_shares(bins, np.concatenate(counts)) for counts in (reference, current))
    return _divergences(bins, p, q, eps)


def _shares(bins: _Stack, counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Each piece of ``counts`` divided by its total."""
    shares: NDArray[np.float64] = counts / bins.spread(bins.totals(counts))
    return shares


def numeric_statistics(
    pairs: Sequence[tuple[NumericProfile, NumericWindow]], eps: float
) -> list[NumericStatistics]:
    """Every numeric method for each profile and the window placed on it, in the order given.

    Parameters
    ----------
    pairs : sequence of (NumericProfile, NumericWindow)
        Each window placed on its profile by :meth:`NumericProfile.place`; every profile and
        every window holds at least one value.
    eps : float
        The PSI floor (:func:`~driftwarden.stats.psi.population_stability_index`).

    Returns
    -------
    list of NumericStatistics
        One per pair, equal to what the modules of each method compute for that pair alone.
    """
    if not pairs:
        return []
    profiles = [profile for profile, _ in pairs]
    windows = [window for _, window in pairs]
    edges = _Stack([profile.edges.size for profile in profiles])
    inner = _Stack([profile.edges.size - 1 for profile in profiles])
    bins = _Stack([profile.psi_positions.size + 1 for profile in profiles])
    cuts = _Stack([profile.psi_positions.size for profile in profiles])
    n_cur = np.array([window.n for window in windows], dtype=np.int64)

    # The window's CDFs at every edge and just before it, from its count at or below each edge.
    atoms = np.concatenate([window.atom_counts for window in windows])
    below = np.concatenate([window.open_counts[:-1] for window in windows])
    at = edges.cumsum(below + atoms)
    per_edge = edges.spread(n_cur)
    cdfs = [_reference_cdfs(profile) for profile in profiles]
    ref_at, ref_before = _stacked([at for at, _ in cdfs]), _stacked([before for _, before in cdfs])
    difference_at = ref_at - at / per_edge
    difference_before = ref_before - (at - atoms) / per_edge
    ks = edges.maxima(np.maximum(np.abs(difference_at), np.abs(difference_before))).tolist()

    # PSI and Jensen–Shannon on the PSI bins: per feature, the window's count up to each cut and
    # its total are the bins' upper ends.
    above = np.array([window.open_counts[-1] for window in windows], dtype=np.int64)
    upper = np.empty(bins.size, dtype=np.int64)
    is_cut = np.ones(bins.size, dtype=np.bool_)
    is_cut[bins.ends - 1] = False
    cut_positions = np.concatenate([profile.psi_positions for profile in profiles])
    upper[is_cut] = at[cut_positions + cuts.spread(edges.starts)]
    upper[bins.ends - 1] = at[edges.ends - 1] + above
    counts = upper.copy()
    counts[1:] -= upper[:-1]
    counts[bins.starts] = upper[bins.starts]
    p = _stacked([_reference_psi_shares(profile) for profile in profiles])
    psi, js = _divergences(bins, p, _shares(bins, counts), eps)

    # The open intervals inside each grid: KS error bound and Wasserstein-1.
    rise = _stacked([_interval_shares(profile) for profile in profiles])
    widths = _stacked([_widths(profile) for profile in profiles])
    inside = np.concatenate([window.open_counts[1:-1] for window in windows])
    fall = inside / inner.spread(n_cur)
    ks_bound = inner.maxima(np.minimum(rise, fall)).tolist()
    # The window's mean position in each interval, from the sum of its distances below the upper
    # edge (0.5, unused, where it has no value or the width is too small to divide by).
    scaled = inside * widths
    current_position = np.ones_like(widths)
    current_position -= np.divide(
        _stacked([window.open_gaps[1:-1] for window in windows]),
        scaled,
        out=np.full_like(widths, 0.5),
        where=scaled > 0,
    )
    known = all(profile.open_positions is not None for profile in profiles)
    estimate, error = interval_integrals(
        np.delete(difference_at, edges.ends - 1),  # D just after each interval's lower edge
        rise,
        fall,
        _stacked([_reference_positions(profile) for profile in profiles]),
        current_position,
        slack=None if known else _stacked([_slack(profile) for profile in profiles]),
    )
    integrals = inner.dots(estimate, widths)
    errors = inner.dots(error, widths)

    results = []
    for i, (profile, window) in enumerate(pairs):
        distance, bound = _wasserstein(profile, window, integrals[i], errors[i])
        results.append(
            NumericStatistics(
                psi=psi[i],
                jensen_shannon=js[i],
                ks=ks[i],
                ks_p_value=ks_p_value(ks[i], profile.n, window.n),
                ks_error_bound=ks_bound[i],
                wasserstein=distance,
                wasserstein_error_bound=bound,
            )
        )
    return results


def _wasserstein(
    profile: NumericProfile, window: NumericWindow, inside: float, error: float
) -> tuple[float, float]:
    """Normalised Wasserstein-1 and its error bound from the integral over the grid.

    ``inside`` and ``error`` are in units of ``2**unit_exponent`` (the profile's), the parts
    outside the grid in their own scale, so that nothing overflows; the ratio to the profile's
    scale is capped at the largest float.
    """
    n_cur = window.n
    outside, outside_exponent = scaled_total(
        [(window.below_excess / n_cur, window.excess_exponent),
         (window.above_excess / n_cur, window.excess_exponent)]
    )  # fmt: skip
    unit, scale = profile.unit_exponent, profile.scale
    # Both parts are at most the largest float once divided by the scale, so the sum is at most
    # twice it: capped again.
    distance = scaled_ratio(inside, unit, scale) + scaled_ratio(outside, outside_exponent, scale)
    return min(distance, FLOAT_MAX), scaled_ratio(error, unit, scale)
