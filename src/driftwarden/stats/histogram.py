"""What a chart draws of one feature: the reference's distribution and a window's, on equal bins.

A profile keeps no reference rows, only a fine grid of reference quantiles with the counts at and
between them (:class:`~driftwarden.stats.profile.NumericProfile`) or the counts of the categories
(:class:`~driftwarden.stats.profile.CategoricalProfile`). So a window is drawn against its
reference on the profile's own grid: :func:`numeric_histogram` places the window on it with
:meth:`NumericProfile.place`, the pass every numeric statistic reads, and merges adjacent grid bins
into a few dozen display bins; :func:`categorical_histogram` counts the window over the profile's
categories, its ``other`` bucket and the labels it has never seen. Both give proportions, so a
reference of a million rows and a window of a hundred are drawn on one scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats._encoding import encode_categories
from driftwarden.stats._validation import clean_numeric
from driftwarden.stats.errors import StatsError
from driftwarden.stats.profile import CategoricalProfile, NumericProfile

__all__ = [
    "OTHER",
    "UNSEEN",
    "CategoricalHistogram",
    "NumericHistogram",
    "categorical_histogram",
    "numeric_histogram",
]

#: The category of the labels a truncated profile folded together (and of the window's values
#: that are one of them).
OTHER: Final = "(other)"
#: The category of the window's values the profile has never seen.
UNSEEN: Final = "(unseen)"
# Reference mass left to each tail bin, so that a few far values do not squeeze the body of the
# distribution into one display bin when the bins are spread evenly over the values.
_TAIL: Final = 0.005


def _shares(counts: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """``counts / n``; all 0 when ``n`` is 0."""
    if n == 0:
        return np.zeros(counts.shape[0])
    shares: NDArray[np.float64] = counts / n
    return shares


@dataclass(frozen=True, slots=True)
class NumericHistogram:
    """A numeric feature's reference and window, as proportions over shared bins.

    Attributes
    ----------
    edges : ndarray of float64
        ``len(reference) + 1`` increasing finite bin edges; bin ``k`` is
        ``[edges[k], edges[k + 1])``.
    reference, current : ndarray of float64
        Share of the reference's and of the window's values in each bin: each sums to 1, or is
        all 0 when it holds no value.
    n_reference, n_current : int
        Values counted (finite numbers).
    n_missing : int
        Values of the window not counted: missing, infinite or not a number.
    """

    edges: NDArray[np.float64]
    reference: NDArray[np.float64]
    current: NDArray[np.float64]
    n_reference: int
    n_current: int
    n_missing: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (every number is finite)."""
        return {
            "kind": "numeric",
            "edges": self.edges.tolist(),
            "reference": self.reference.tolist(),
            "current": self.current.tolist(),
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_missing": self.n_missing,
        }


@dataclass(frozen=True, slots=True)
class CategoricalHistogram:
    """A categorical feature's reference and window, as proportions over shared categories.

    Attributes
    ----------
    categories : tuple of str
        The profile's categories, most frequent in the reference first (ties by label), then
        :data:`OTHER` if the profile folded rare labels together, then :data:`UNSEEN` if the
        window holds labels the profile has never seen.
    reference, current : ndarray of float64
        Share of each category in the reference and in the window: each sums to 1, or is all 0
        when it holds no value. The reference's share of :data:`UNSEEN` is 0.
    n_reference, n_current : int
        Values counted (not missing).
    n_missing : int
        Missing values of the window (None, NaN, blank text).
    unseen : dict of str to int
        The window's labels the profile has never seen, with their counts, most frequent first
        (at most ``max_unseen`` of them; :data:`UNSEEN` counts them all).
    """

    categories: tuple[str, ...]
    reference: NDArray[np.float64]
    current: NDArray[np.float64]
    n_reference: int
    n_current: int
    n_missing: int
    unseen: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (every number is finite)."""
        return {
            "kind": "categorical",
            "categories": list(self.categories),
            "reference": self.reference.tolist(),
            "current": self.current.tolist(),
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "n_missing": self.n_missing,
            "unseen": dict(self.unseen),
        }


def _upper_edge(edges: NDArray[np.float64]) -> float:
    """Where the grid's last bin ends: one mean grid step past the last edge (1 for one edge),
    or the next float up when that step is lost to rounding or overflow."""
    # Python floats: an overflow is inf here, without a warning.
    last = float(edges[-1])
    step = (last - float(edges[0])) / (edges.shape[0] - 1) if edges.shape[0] > 1 else 1.0
    upper = last + step
    if not last < upper < math.inf:
        upper = math.nextafter(last, math.inf)
        if upper == math.inf:  # the last edge is the largest float: its bin has no width
            upper = last
    return upper


def _display_starts(
    edges: NDArray[np.float64], reference: NDArray[np.int64], max_bins: int
) -> NDArray[np.intp]:
    """The grid bins that start a display bin: every one when there are at most ``max_bins``.

    Otherwise the reference's central 99% (:data:`_TAIL` each side) is cut at evenly spaced
    values, each moved to the nearest grid edge; the tails are a bin each.
    """
    m = reference.shape[0]
    if m <= max_bins:
        return np.arange(m, dtype=np.intp)
    cumulative = np.cumsum(reference) / reference.sum()
    low = int(np.searchsorted(cumulative, _TAIL, side="left"))
    high = int(np.searchsorted(cumulative, 1.0 - _TAIL, side="left")) + 1
    # Weighted sums and halves, not differences: nothing overflows for edges near the float limits.
    fraction = np.linspace(0.0, 1.0, max_bins - 1)
    targets = edges[low] * (1.0 - fraction) + edges[high] * fraction
    above = np.clip(np.searchsorted(edges, targets), 1, m)
    middle = edges[above - 1] / 2.0 + edges[above] / 2.0
    snapped = np.where(targets <= middle, above - 1, above)
    starts = np.unique(np.concatenate(([0], snapped)))
    result: NDArray[np.intp] = starts[starts < m].astype(np.intp)
    return result


def _grid_counts(
    open_counts: NDArray[np.int64], atom_counts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Counts of the grid's bins ``[e_j, e_{j+1})``: at edge ``j`` and strictly after it, the
    values below the first edge in the first bin and those above the last in the last."""
    counts = atom_counts + open_counts[1:]
    counts[0] += open_counts[0]
    return counts


def numeric_histogram(
    profile: NumericProfile, values: ArrayLike, *, max_bins: int = 40
) -> NumericHistogram:
    """The reference of ``profile`` and the window ``values`` on the profile's grid, in at most
    ``max_bins`` bins.

    Parameters
    ----------
    profile : NumericProfile
    values : array-like of shape (n,)
        The window's values; missing, infinite and non-numeric ones are counted in
        ``n_missing`` and left out.
    max_bins : int, default=40
        Most display bins, at least 1.

    Returns
    -------
    NumericHistogram

    Raises
    ------
    StatsError
        If ``values`` is not one-dimensional or ``max_bins`` is below 1.

    Notes
    -----
    The grid's bin ``j`` is ``[e_j, e_{j+1})`` for the profile's edges ``e_0 < ... < e_{m-1}``,
    so each of its distinct reference values (a discrete feature's every value) starts a bin of
    its own; the last bin ends one mean grid step past ``e_{m-1}`` (an edge no reference value
    reaches). **Values below the first edge are counted in the first bin, and values at or above
    the last edge in the last one**: the outer edges are the reference's minimum and maximum, so
    the outer bins also say how much of the window lies beyond the reference's range.

    A grid of more than ``max_bins`` bins is merged into runs of adjacent bins: the part of the
    reference between its 0.5% and 99.5% quantiles is cut at ``max_bins - 1`` evenly spaced
    values, each moved to the nearest grid edge (cuts that meet are merged), and the two tails
    are one bin each; a few far reference values therefore cannot squeeze the rest into one bar.
    Bins are equally wide where the reference is dense, wider in its sparse parts; the proportions
    are per bin, not densities.

    A profile fitted on no value has no grid: the window is then one bin over the profile's
    allowed range (or ``[low, low + 1)``).

    Examples
    --------
    >>> profile = NumericProfile.fit("x", [1, 2, 2, 3], n_bins=2, n_quantiles=4)
    >>> h = numeric_histogram(profile, [0.5, 2, 2, 2, 9])
    >>> h.edges.tolist(), h.reference.tolist(), h.current.tolist()
    ([1.0, 2.0, 3.0, 4.0], [0.25, 0.5, 0.25], [0.2, 0.6, 0.2])
    """
    if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 1:
        raise StatsError(f"max_bins must be an integer >= 1; got {max_bins!r}")
    clean = clean_numeric(values, profile.name)
    n_current = int(clean.values.shape[0])
    n_missing = clean.n_missing + clean.n_invalid
    if profile.edges.shape[0] == 0:
        low, high = profile.range_min, profile.range_max
        if not high > low:
            high = _upper_edge(np.array([low]))
        edges = np.array([low, high])
        reference = np.zeros(1, dtype=np.int64)
        current = np.array([n_current], dtype=np.int64)
    else:
        window = profile.place(clean.values)
        edges = np.append(profile.edges, _upper_edge(profile.edges))
        reference = _grid_counts(profile.open_counts, profile.atom_counts)
        current = _grid_counts(window.open_counts, window.atom_counts)
        starts = _display_starts(edges, reference, max_bins)
        edges = edges[np.append(starts, reference.shape[0])]
        reference = np.add.reduceat(reference, starts)
        current = np.add.reduceat(current, starts)
    return NumericHistogram(
        edges=edges,
        reference=_shares(reference, profile.n),
        current=_shares(current, n_current),
        n_reference=profile.n,
        n_current=n_current,
        n_missing=n_missing,
    )


def categorical_histogram(
    profile: CategoricalProfile, values: ArrayLike, *, max_unseen: int = 100
) -> CategoricalHistogram:
    """The reference of ``profile`` and the window ``values`` over the profile's categories.

    Parameters
    ----------
    profile : CategoricalProfile
    values : array-like of shape (n,)
        The window's values, compared with the categories as text (``1``, ``1.0`` and ``"1"``
        are one category); missing ones are counted in ``n_missing`` and left out.
    max_unseen : int, default=100
        Most unseen labels listed by name in ``unseen`` (the most frequent); the
        :data:`UNSEEN` category counts all of them whatever this is. At least 0.

    Returns
    -------
    CategoricalHistogram

    Raises
    ------
    StatsError
        If ``values`` is not one-dimensional or ``max_unseen`` is below 0.

    Notes
    -----
    A label the profile does not list is one of its folded rare categories, and counted in
    :data:`OTHER`, when the profile remembers it among them (or when the profile is truncated and
    remembers none: :meth:`CategoricalProfile.may_be_folded`); otherwise it is unseen. A real
    category named ``"(other)"`` or ``"(unseen)"`` would share its name with those buckets.

    Examples
    --------
    >>> profile = CategoricalProfile.fit("plan", ["a", "a", "a", "b"], max_categories=5)
    >>> h = categorical_histogram(profile, ["a", "b", "c", "c", None])
    >>> h.categories, h.reference.tolist(), h.current.tolist()
    (('a', 'b', '(unseen)'), [0.75, 0.25, 0.0], [0.25, 0.25, 0.5])
    >>> h.unseen, h.n_missing
    ({'c': 2}, 1)
    """
    if isinstance(max_unseen, bool) or not isinstance(max_unseen, int) or max_unseen < 0:
        raise StatsError(f"max_unseen must be an integer >= 0; got {max_unseen!r}")
    encoded = encode_categories(values, profile.categories, profile.name)
    folded = profile.may_be_folded(encoded.unseen)
    labels = np.array(profile.categories, dtype=np.str_)
    order = np.lexsort((labels, -profile.counts))
    categories = [profile.categories[i] for i in order.tolist()]
    reference = [int(count) for count in profile.counts[order].tolist()]
    current = [int(count) for count in encoded.category_counts[order].tolist()]
    unseen_counts = encoded.unseen_counts
    if profile.truncated:
        categories.append(OTHER)
        reference.append(profile.other_count)
        current.append(int(unseen_counts[folded].sum()))
    unseen = sorted(
        (
            (label, int(count))
            for label, count, known in zip(encoded.unseen, unseen_counts, folded, strict=True)
            if not known
        ),
        key=lambda item: (-item[1], item[0]),
    )
    n_unseen = sum(count for _, count in unseen)
    if n_unseen:
        categories.append(UNSEEN)
        reference.append(0)
        current.append(n_unseen)
    n_current = sum(current)
    return CategoricalHistogram(
        categories=tuple(categories),
        reference=_shares(np.array(reference, dtype=np.int64), profile.n),
        current=_shares(np.array(current, dtype=np.int64), n_current),
        n_reference=profile.n,
        n_current=n_current,
        n_missing=encoded.n_missing,
        unseen=dict(unseen[:max_unseen]),
    )
