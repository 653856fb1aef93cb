"""Reference-quantile grids and the one pass that places window values on them.

A numeric feature's reference profile keeps a grid of ``edges``: distinct reference values at fine
quantile levels (the *inverted CDF* quantile, so every edge is a value that occurs in the data and
every atom of a discrete feature heavy enough to matter is an edge). Placing a window on that grid
once gives, per edge, how many values lie strictly below it, at it, and above it: enough for PSI and
Jensen–Shannon on coarse bins, Kolmogorov–Smirnov at every edge, and Wasserstein-1 between edges.

Placement is ``bin = #{edges < x}`` (``np.searchsorted(edges, x, side="left")``). Binary
search costs ``log2(len(edges))`` unpredictable branches per value; :class:`GridLocator`
replaces most of it with a lookup on a uniform grid of cells over the central part of the
reference, followed by at most ``_MAX_STEPS`` vectorised comparison steps, and falls back to binary
search only for values whose cell holds more edges than that (heavy tails, far outliers).
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numpy.typing import NDArray

__all__ = ["GridLocator", "inverted_cdf_quantiles"]

# Comparison steps after the lookup; cells holding more edges than this use binary search.
_MAX_STEPS = 2
# The lookup grid spans the reference between these quantile levels; the tails use binary search.
_CORE_LEVELS = (0.005, 0.995)
# Lookup cells per edge: more cells means fewer crowded cells but a larger table.
_CELLS_PER_EDGE = 8
_MIN_CELLS = 1024


def inverted_cdf_quantiles(
    sorted_values: NDArray[np.float64], steps: NDArray[np.int64], n_steps: int
) -> NDArray[np.float64]:
    """Quantiles at levels ``steps / n_steps`` by the inverted empirical CDF.

    The quantile at level ``u`` is the smallest value ``v`` with ``F(v) >= u``: the value at
    (0-based) position ``ceil(u * n) - 1`` of the sorted data. Levels are given as integer
    fractions and the position is computed in integers, because in floating point
    ``0.3 * 10 == 3.0000000000000004`` and the ceiling would skip a value.
    """
    n = sorted_values.shape[0]
    positions = np.clip((steps * n + n_steps - 1) // n_steps - 1, 0, n - 1)
    result: NDArray[np.float64] = sorted_values[positions]
    return result


class GridLocator:
    """Place values on sorted distinct ``edges``: ``locate(x) == searchsorted(edges, x, "left")``.

    Parameters
    ----------
    edges : ndarray of float64
        Strictly increasing, finite, at least one value.
    """

    __slots__ = ("_cell_start", "_crowded", "_edges", "_edges_padded", "_inv_width", "_low")

    def __init__(self, edges: NDArray[np.float64]) -> None:
        self._edges = edges
        m = edges.shape[0]
        # +inf after the last edge lets a comparison step index one past the end safely.
        self._edges_padded = np.append(edges, np.inf)
        low_index, high_index = (int(level * (m - 1)) for level in _CORE_LEVELS)
        low, high = float(edges[low_index]), float(edges[high_index])
        n_cells = max(_MIN_CELLS, _CELLS_PER_EDGE * m)
        width = (high - low) / n_cells
        if not sys.float_info.min <= width < math.inf:
            # Too few distinct values for a grid, or a span float64 cannot cut into cells (wider
            # than the largest float, or cells narrower than the smallest normal one; `low + 1.0`
            # equals `low` past 2**53): one cell, binary search for everything else.
            n_cells, width = 1, 1.0
            high = low + width
        # Cell c (0-based) covers [low + c*width, low + (c+1)*width); index 0 of the tables is the
        # cell below `low`, index n_cells+1 the one above `high`. Bounds are widened by 1% of a cell
        # so that rounding in (x - low) / width can never put a value outside its cell's range.
        # Near the largest float a widened bound overflows to +-inf, which still counts the edges
        # below it correctly.
        with np.errstate(over="ignore"):
            bounds = low + (np.arange(n_cells + 1, dtype=np.float64)) * width
            start = np.searchsorted(edges, bounds[:-1] - 0.01 * width, side="left")
            stop = np.searchsorted(edges, bounds[1:] + 0.01 * width, side="left")
        below_start, below_stop = 0, int(np.searchsorted(edges, low + 0.01 * width, side="left"))
        above_start = int(np.searchsorted(edges, high - 0.01 * width, side="left"))
        cell_start = np.concatenate(([below_start], start, [above_start])).astype(np.intp)
        cell_stop = np.concatenate(([below_stop], stop, [m])).astype(np.intp)
        self._cell_start = cell_start
        self._crowded = (cell_stop - cell_start) > _MAX_STEPS
        self._low = low
        self._inv_width = 1.0 / width

    @property
    def edges(self) -> NDArray[np.float64]:
        """The edges values are placed among."""
        return self._edges

    @property
    def padded_edges(self) -> NDArray[np.float64]:
        """The edges followed by ``+inf``: indexable by any result of :meth:`locate`."""
        return self._edges_padded

    def locate(self, values: NDArray[np.float64]) -> NDArray[np.intp]:
        """Return ``#{edges < v}`` for every (finite or infinite, never NaN) value ``v``."""
        # Far values overflow to +-inf here; the clip below puts them in the outer cells.
        with np.errstate(over="ignore"):
            position = values - self._low
            position *= self._inv_width
        np.clip(position, -1.0, self._cell_start.shape[0] - 2, out=position)
        np.floor(position, out=position)
        cell = position.astype(np.intp)
        cell += 1
        index = self._cell_start[cell]
        for _ in range(_MAX_STEPS):
            index += self._edges_padded[index] < values
        crowded = np.flatnonzero(self._crowded[cell])
        if crowded.size:
            index[crowded] = np.searchsorted(self._edges, values[crowded], side="left")
        return index
