"""The reference profile: a fixed-size summary of training data that drift is measured against.

A profile is fitted once from the reference rows (the training data of a model version) and then
compared with any number of windows without touching those rows again. Its size is bounded by its
parameters, never by the number of reference rows:

* numeric feature: moments, range, and a grid of at most ``n_quantiles + n_bins`` distinct
  reference values (inverted-CDF quantiles) with the reference counts at and between them and the
  mean position of the values between them; the PSI bins (the reference deciles by default) are a
  subset of that grid;
* categorical feature: at most ``max_categories`` categories with their counts; rarer ones share an
  ``other`` bucket, and up to ``max_folded_categories`` of those are remembered by a 64-bit hash,
  so that a window value the profile does not list can still be told apart as unseen or as one of
  them (with more of them, unlisted values are all counted as ``other``);
* optionally the same numeric summary of the model's scores, for prediction drift.

Profiles serialise to plain JSON (:meth:`ReferenceProfile.to_json`) so they can travel with a model
version in the registry.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats._binning import GridLocator, inverted_cdf_quantiles
from driftwarden.stats._encoding import encode_categories
from driftwarden.stats._scaled import Scaled, distance_sum, scaled_total, to_float
from driftwarden.stats._validation import clean_numeric
from driftwarden.stats.errors import ColumnMismatchError, StatsError

__all__ = [
    "DEFAULT_MAX_FOLDED",
    "PROFILE_FORMAT",
    "CategoricalProfile",
    "ColumnSource",
    "Kind",
    "NumericProfile",
    "NumericWindow",
    "ReferenceProfile",
    "category_hash",
]

PROFILE_FORMAT = 1
Kind = Literal["numeric", "categorical"]
PREDICTION = "__prediction__"
# Grids whose largest magnitude is beyond this are placed in units of a power of two near it, so
# that widths, distances between values and their sums over a window cannot overflow.
_UNSCALED_LIMIT = 2.0**960
# Default of ReferenceProfile.fit(max_folded_categories=...); each hash is 16 hex digits of JSON.
DEFAULT_MAX_FOLDED = 10_000
# Values placed per step in NumericProfile.place: 512 KiB of float64, so a chunk and its few
# temporaries stay in cache (measured: 65,536 beat 16,384, 32,768 and 131,072 at 100k and 1M rows).
_T = TypeVar("_T")
_CHUNK = 1 << 16


class ColumnSource(Protocol):
    """Anything with named columns: a ``dict`` of arrays, a pandas ``DataFrame``."""

    def keys(self) -> Iterable[Any]: ...  # pragma: no cover - protocol

    def __getitem__(self, key: str, /) -> Any: ...  # pragma: no cover - protocol


def _ints(values: Iterable[int]) -> NDArray[np.int64]:
    return np.asarray(list(values), dtype=np.int64)


def _unit_exponent(edges: NDArray[np.float64]) -> int:
    """``q`` such that the grid is handled in units of ``2**q``: 0 unless its values are huge."""
    if edges.size == 0:
        return 0
    largest = max(abs(float(edges[0])), abs(float(edges[-1])))
    return 0 if largest <= _UNSCALED_LIMIT else math.frexp(largest)[1]


def _open_positions(
    x: NDArray[np.float64], edges: NDArray[np.float64], open_counts: NDArray[np.int64], unit: int
) -> NDArray[np.float64]:
    """Mean of ``(v - e_{k-1}) / (e_k - e_{k-1})`` over the sorted values ``v`` inside interval k.

    0.5 for an interval that holds no value (or is too narrow to measure in units of ``2**unit``).
    """
    m = edges.size
    index = np.searchsorted(edges, x, side="left")
    inside = np.flatnonzero(edges[np.minimum(index, m - 1)] != x)
    positions = np.full(m + 1, 0.5)
    if inside.size == 0:
        return positions
    scaled_edges, scaled_x = np.ldexp(edges, -unit), np.ldexp(x[inside], -unit)
    k = index[inside]
    lower, width = scaled_edges[k - 1], scaled_edges[k] - scaled_edges[k - 1]
    fraction = np.divide(scaled_x - lower, width, out=np.full(k.size, 0.5), where=width > 0)
    sums = np.bincount(k, weights=np.clip(fraction, 0.0, 1.0), minlength=m + 1)
    np.divide(sums, open_counts, out=positions, where=open_counts > 0)
    return positions


def _moments(sorted_values: NDArray[np.float64]) -> tuple[float, float]:
    """Mean and population standard deviation, finite for any finite values.

    Squares of values past about 1e154 overflow float64; the moments are then computed on the
    values divided by the largest magnitude and scaled back.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(sorted_values.mean()), float(sorted_values.std())
    if math.isfinite(mean) and math.isfinite(std):
        return mean, std
    scale = max(-float(sorted_values[0]), float(sorted_values[-1]))
    scaled = sorted_values / scale
    return scale * float(scaled.mean()), scale * float(scaled.std())


@dataclass(frozen=True, slots=True)
class NumericWindow:
    """A window's values placed on a numeric profile's grid.

    ``open_counts[k]`` counts values strictly between edges ``k-1`` and ``k`` (``k = 0``: below the
    first edge, ``k = m``: above the last); ``atom_counts[k]`` counts values equal to edge ``k``.
    ``open_gaps[k]`` (``0 < k < m``) is the sum of ``e_k - x`` over the values strictly inside
    interval ``k``, in units of ``2**unit_exponent`` (the profile's); 0 at ``k = 0`` and ``k = m``.
    ``below_excess * 2**excess_exponent`` is the sum of ``e_0 - x`` over the values below the grid,
    ``above_excess * 2**excess_exponent`` that of ``x - e_last`` over those above it: kept scaled,
    because for values near the float limits either can exceed the largest float.
    ``unit_exponent``, ``first_edge`` and ``last_edge`` are copied from the profile.
    """

    n: int
    open_counts: NDArray[np.int64]
    atom_counts: NDArray[np.int64]
    open_gaps: NDArray[np.float64]
    below_excess: float = 0.0
    above_excess: float = 0.0
    excess_exponent: int = 0
    unit_exponent: int = 0
    first_edge: float = 0.0
    last_edge: float = 0.0

    @property
    def below_sum(self) -> float:
        """The sum of the values below the grid (``±inf`` if beyond the float range)."""
        excess = to_float(self.below_excess, self.excess_exponent)
        return float(self.open_counts[0]) * self.first_edge - excess if self.open_counts[0] else 0.0

    @property
    def above_sum(self) -> float:
        """The sum of the values above the grid (``±inf`` if beyond the float range)."""
        excess = to_float(self.above_excess, self.excess_exponent)
        return (
            float(self.open_counts[-1]) * self.last_edge + excess if self.open_counts[-1] else 0.0
        )


@dataclass(frozen=True, slots=True, eq=False)
class NumericProfile:
    """Reference summary of one numeric column (see the module notes)."""

    kind: ClassVar[Kind] = "numeric"

    name: str
    n: int
    n_missing: int
    n_invalid: int
    mean: float
    std: float
    minimum: float
    maximum: float
    range_min: float
    range_max: float
    edges: NDArray[np.float64]
    open_counts: NDArray[np.int64]
    atom_counts: NDArray[np.int64]
    psi_positions: NDArray[np.intp]
    open_positions: NDArray[np.float64] | None = None
    _locator: GridLocator | None = field(init=False, repr=False, compare=False, default=None)
    _unit: int = field(init=False, repr=False, compare=False, default=0)
    _gap_edges: NDArray[np.float64] | None = field(
        init=False, repr=False, compare=False, default=None
    )
    _derived: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.edges.size:
            object.__setattr__(self, "_locator", GridLocator(self.edges))
            unit = _unit_exponent(self.edges)
            object.__setattr__(self, "_unit", unit)
            # What e_k - x is computed from, for x placed at k: the last edge again past the end,
            # so that the values above the grid give -(x - e_last).
            gap_edges = np.ldexp(np.append(self.edges, self.edges[-1]), -unit)
            object.__setattr__(self, "_gap_edges", gap_edges)

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """``compute()``, worked out once per profile and kept: what comparisons derive from the
        reference alone (its CDFs, PSI shares, interval widths), so that no window pays for it.

        Two threads may both compute a missing value; both get equal results. Arrays come back
        read-only, since every comparison shares them.
        """
        try:
            value: _T = self._derived[key]
        except KeyError:
            value = compute()
            for array in value if isinstance(value, tuple) else (value,):
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False
            self._derived[key] = value
        return value

    @property
    def unit_exponent(self) -> int:
        """Distances on the grid are handled in units of ``2**unit_exponent`` (0 but for huge
        values, where the widths or their sums would overflow)."""
        return self._unit

    @classmethod
    def fit(
        cls,
        name: str,
        values: ArrayLike,
        *,
        n_bins: int,
        n_quantiles: int,
        value_range: tuple[float, float] | None = None,
    ) -> NumericProfile:
        """Summarise one column. ``value_range`` overrides the allowed range (default min/max)."""
        clean = clean_numeric(values, name)
        x = np.sort(clean.values)
        n = int(x.size)
        if n == 0:
            low, high = value_range if value_range is not None else (0.0, 0.0)
            empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
            return cls(name, 0, clean.n_missing, clean.n_invalid, 0.0, 0.0, 0.0, 0.0,
                       float(low), float(high), empty_f, _ints([0]), empty_i,
                       np.zeros(0, dtype=np.intp), np.full(1, 0.5))  # fmt: skip
        grid = inverted_cdf_quantiles(x, np.arange(n_quantiles + 1), n_quantiles)
        psi_values = np.unique(inverted_cdf_quantiles(x, np.arange(1, n_bins), n_bins))
        # The PSI cuts are grid levels only when n_bins divides n_quantiles; adding them keeps the
        # PSI bins the reference's quantiles whatever the two parameters are.
        edges = np.unique(np.concatenate((grid, psi_values)))
        # A cut at the maximum is kept: its bin (max, inf) is empty in the reference, so a window
        # that moves past the reference range shows up in PSI through that bin.
        psi_positions = np.searchsorted(edges, psi_values).astype(np.intp)
        # Counts at and strictly between the edges, from the sorted values directly.
        left = np.searchsorted(x, edges, side="left")
        right = np.searchsorted(x, edges, side="right")
        atom_counts = (right - left).astype(np.int64)
        open_counts = np.empty(edges.size + 1, dtype=np.int64)
        open_counts[0] = left[0]
        open_counts[1:-1] = left[1:] - right[:-1]
        open_counts[-1] = n - right[-1]
        low, high = value_range if value_range is not None else (float(x[0]), float(x[-1]))
        mean, std = _moments(x)
        return cls(
            name=name,
            n=n,
            n_missing=clean.n_missing,
            n_invalid=clean.n_invalid,
            mean=mean,
            std=std,
            minimum=float(x[0]),
            maximum=float(x[-1]),
            range_min=float(low),
            range_max=float(high),
            edges=edges,
            open_counts=open_counts,
            atom_counts=atom_counts,
            psi_positions=psi_positions,
            open_positions=_open_positions(x, edges, open_counts, _unit_exponent(edges)),
        )

    @property
    def scale(self) -> float:
        """What Wasserstein-1 is divided by: the std, else ``|mean|``, else 1."""
        if self.std > 0:
            return self.std
        return abs(self.mean) if self.mean != 0 else 1.0

    def place(self, values: NDArray[np.float64]) -> NumericWindow:
        """Place finite values on the grid: the single pass every numeric statistic reads."""
        m = self.edges.size
        if self._locator is None or self._gap_edges is None or values.size == 0:
            return NumericWindow(int(values.size), np.zeros(m + 1, np.int64),
                                 np.zeros(m, np.int64), np.zeros(m + 1))  # fmt: skip
        counts = np.zeros(2 * m + 2, dtype=np.int64)
        gaps = np.zeros(m + 1)
        below: list[Scaled] = []
        above: list[Scaled] = []
        unit, first, last = self._unit, float(self.edges[0]), float(self.edges[-1])
        # Chunks keep every temporary small enough to stay in cache and to be reused by the
        # allocator, so the cost per row does not grow with the window. A distance past the float
        # range (values near +-1.8e308) becomes inf here and is redone scaled below.
        with np.errstate(over="ignore"):
            for start in range(0, values.size, _CHUNK):
                chunk = values[start : start + _CHUNK]
                index = self._locator.locate(chunk)
                # gap = e_k - x for x placed at k: 0 exactly when x is the edge, since x != y
                # implies x - y != 0 in IEEE arithmetic (scaled, that would fail for tiny values).
                if unit:
                    gap = self._gap_edges[index] - np.ldexp(chunk, -unit)
                    equal = self._locator.padded_edges[index] == chunk
                else:
                    gap = self._gap_edges[index] - chunk
                    equal = gap == 0.0
                # Code 2k for "strictly below edge k" and 2k+1 for "equal to edge k": one bincount
                # gives both, so the CDFs are known exactly at every edge and just before it.
                code = index * 2
                code += equal
                chunk_counts = np.bincount(code, minlength=2 * m + 2)
                counts += chunk_counts
                # Summed by interval in the same pass: what makes the Wasserstein integral exact.
                chunk_gaps = np.bincount(index, weights=gap, minlength=m + 1)
                gaps[1:m] += chunk_gaps[1:m]
                if chunk_counts[0]:
                    below.append(_excess(chunk_gaps[0], unit, first, chunk, index == 0))
                if chunk_counts[2 * m]:
                    above.append(_excess(-chunk_gaps[m], unit, last, chunk, index == m))
        open_counts = counts[0::2].astype(np.int64)
        atom_counts = counts[1 : 2 * m : 2].astype(np.int64)
        (below_excess, below_exp), (above_excess, above_exp) = map(scaled_total, (below, above))
        exponent = max(below_exp, above_exp)
        return NumericWindow(
            n=int(values.size),
            open_counts=open_counts,
            atom_counts=atom_counts,
            open_gaps=gaps,
            below_excess=math.ldexp(below_excess, below_exp - exponent),
            above_excess=math.ldexp(above_excess, above_exp - exponent),
            excess_exponent=exponent,
            unit_exponent=unit,
            first_edge=first,
            last_edge=last,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind,
            "name": self.name,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_invalid": self.n_invalid,
            "mean": self.mean,
            "std": self.std,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "range_min": self.range_min,
            "range_max": self.range_max,
            "edges": self.edges.tolist(),
            "open_counts": self.open_counts.tolist(),
            "atom_counts": self.atom_counts.tolist(),
            "psi_positions": self.psi_positions.tolist(),
            "open_positions": None if self.open_positions is None else self.open_positions.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericProfile:
        """Inverse of :meth:`to_dict`."""
        positions = data.get("open_positions")
        if positions is not None and len(positions) != len(data["edges"]) + 1:
            raise ValueError(
                f"{len(positions)} open_positions for {len(data['edges'])} edges; expected one "
                "per interval"
            )
        return cls(
            name=str(data["name"]),
            n=int(data["n"]),
            n_missing=int(data["n_missing"]),
            n_invalid=int(data["n_invalid"]),
            mean=float(data["mean"]),
            std=float(data["std"]),
            minimum=float(data["minimum"]),
            maximum=float(data["maximum"]),
            range_min=float(data["range_min"]),
            range_max=float(data["range_max"]),
            edges=np.asarray(data["edges"], dtype=np.float64),
            open_counts=_ints(data["open_counts"]),
            atom_counts=_ints(data["atom_counts"]),
            psi_positions=np.asarray(data["psi_positions"], dtype=np.intp),
            # Absent from profiles written before it existed: Wasserstein then takes the values as
            # spread evenly between edges, and says so in its error bound.
            open_positions=(None if positions is None else np.asarray(positions, dtype=np.float64)),
        )


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalProfile:
    """Reference summary of one categorical column.

    ``other_count`` is the reference mass of categories beyond ``max_categories``; when it is
    positive the profile is *truncated*. ``folded_hashes`` then holds the sorted 64-bit hashes
    (:func:`category_hash`) of every folded category, so that a window value the profile does not
    list is known to be either one of them (counted as ``other``) or unseen. It is ``None`` when
    there were more folded categories than ``max_folded_categories``, and in profiles written
    before it existed: every value the profile does not list is then counted as ``other``.
    """

    kind: ClassVar[Kind] = "categorical"

    name: str
    n: int
    n_missing: int
    categories: tuple[str, ...]
    counts: NDArray[np.int64]
    other_count: int = 0
    folded_hashes: NDArray[np.uint64] | None = None

    @property
    def truncated(self) -> bool:
        """True when rare categories were folded into ``other``."""
        return self.other_count > 0

    @classmethod
    def fit(
        cls,
        name: str,
        values: Any,
        *,
        max_categories: int,
        max_folded_categories: int = DEFAULT_MAX_FOLDED,
    ) -> CategoricalProfile:
        """Count the categories of one column, keeping the ``max_categories`` most frequent.

        The folded ones are remembered by hash if there are at most ``max_folded_categories``.
        """
        encoded = encode_categories(values, (), name)
        labels = np.asarray(encoded.unseen, dtype=object)
        counts = encoded.unseen_counts
        order = np.lexsort((labels.astype(str), -counts)) if labels.size else np.zeros(0, int)
        keep, folded = order[:max_categories], order[max_categories:]
        other = int(counts[folded].sum())
        # Stored sorted by label so that profiles of equal data are equal, whatever the row order.
        kept = sorted(zip(labels[keep].tolist(), counts[keep].tolist(), strict=True))
        hashes = (
            np.unique(_hashes(labels[folded].tolist()))
            if folded.size <= max_folded_categories
            else None
        )
        return cls(
            name=name,
            n=int(counts.sum()),
            n_missing=encoded.n_missing,
            categories=tuple(label for label, _ in kept),
            counts=_ints(count for _, count in kept),
            other_count=other,
            folded_hashes=hashes,
        )

    def may_be_folded(self, labels: Sequence[str]) -> NDArray[np.bool_]:
        """For labels the profile does not list: whether each may be a folded category.

        False for all of them when the profile is not truncated, True for all when it is but
        keeps no hashes; otherwise True exactly for the labels whose hash is a folded one's.
        """
        if not self.truncated or not labels:
            return np.zeros(len(labels), dtype=np.bool_)
        if self.folded_hashes is None:
            return np.ones(len(labels), dtype=np.bool_)
        known = self.folded_hashes
        wanted = _hashes(labels)
        position = np.minimum(np.searchsorted(known, wanted), max(known.size - 1, 0))
        return known[position] == wanted if known.size else np.zeros(len(labels), np.bool_)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {
            "kind": self.kind,
            "name": self.name,
            "n": self.n,
            "n_missing": self.n_missing,
            "categories": list(self.categories),
            "counts": self.counts.tolist(),
            "other_count": self.other_count,
            # Hex text, not JSON numbers: readers that parse numbers as doubles would round them.
            "folded_hashes": (
                None
                if self.folded_hashes is None
                else [f"{value:016x}" for value in self.folded_hashes.tolist()]
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Inverse of :meth:`to_dict`."""
        hashes = data.get("folded_hashes")
        return cls(
            name=str(data["name"]),
            n=int(data["n"]),
            n_missing=int(data["n_missing"]),
            categories=tuple(str(c) for c in data["categories"]),
            counts=_ints(data["counts"]),
            other_count=int(data.get("other_count", 0)),
            folded_hashes=(
                None
                if hashes is None
                else np.sort(np.array([int(str(h), 16) for h in hashes], dtype=np.uint64))
            ),
        )


def category_hash(label: str) -> int:
    """The 64-bit hash a truncated profile remembers a folded category by.

    BLAKE2b with an 8-byte digest of the label's UTF-8 text, read big-endian: stable across
    processes and platforms, unlike :func:`hash`.

    Examples
    --------
    >>> f"{category_hash('a'):016x}"
    '40f89e395b66422f'
    """
    digest = hashlib.blake2b(label.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _hashes(labels: Sequence[str]) -> NDArray[np.uint64]:
    return np.array([category_hash(str(label)) for label in labels], dtype=np.uint64)


def _excess(
    fast: float, unit: int, edge: float, chunk: NDArray[np.float64], outside: NDArray[np.bool_]
) -> Scaled:
    """The sum of ``|x - edge|`` over the chunk's values outside the grid, as a scaled number.

    ``fast`` is that sum from the pass, in units of ``2**unit``; it is right unless a distance or
    the sum overflowed, and only then are the values summed again in a scale of their own.
    """
    if math.isfinite(fast):
        return fast, unit
    return distance_sum(edge, chunk[outside])


FeatureProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceProfile:
    """Fixed-size summaries of every feature (and optionally the model's scores) of a reference.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = {"age": rng.normal(40, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> profile = ReferenceProfile.fit(reference, {"age": "numeric", "plan": "categorical"})
    >>> window = {"age": rng.normal(48, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> report = profile.compare(window)
    >>> report.features["age"].severity.value, report.features["plan"].severity.value
    ('critical', 'ok')
    """

    features: dict[str, FeatureProfile]
    n_rows: int
    n_bins: int
    n_quantiles: int
    max_categories: int
    prediction: NumericProfile | None = None
    max_folded_categories: int = DEFAULT_MAX_FOLDED

    @classmethod
    def fit(
        cls,
        reference: ColumnSource | Mapping[str, Any],
        kinds: Mapping[str, Kind],
        *,
        scores: ArrayLike | None = None,
        n_bins: int = 10,
        n_quantiles: int = 2000,
        max_categories: int = 200,
        ranges: Mapping[str, tuple[float, float]] | None = None,
        max_folded_categories: int = DEFAULT_MAX_FOLDED,
    ) -> ReferenceProfile:
        """Fit the profile of ``reference`` for the features named in ``kinds``.

        Parameters
        ----------
        reference : mapping of column name to array, or a pandas DataFrame
            The reference rows; columns not named in ``kinds`` are ignored.
        kinds : mapping of column name to ``"numeric"`` or ``"categorical"``
        scores : array_like, optional
            The model's scores on the reference rows, profiled for prediction drift.
        n_bins : int
            PSI bins for numeric features (reference quantiles; 10 = deciles).
        n_quantiles : int
            Fine grid resolution. The KS statistic is within ``1 / n_quantiles`` of the exact one
            on the full samples (the reported ``error_bound`` is never larger, and is usually
            smaller): the default 2000 keeps it within 5e-4, and within 1e-3 needs at least 1000.
            The smallest allowed value, ``n_bins``, allows an error of ``1 / n_bins``.
        max_categories : int
            Categories kept per categorical feature.
        ranges : mapping of column name to (low, high), optional
            Allowed ranges for the out-of-range quality check (default: the reference's min/max).
        max_folded_categories : int
            Categories beyond ``max_categories`` remembered by a 64-bit hash (8 bytes each in
            memory, 19 characters each in the JSON), so that a window value the profile does not
            list is still known to be unseen. A feature with more folded categories than this
            keeps none, and counts every value it does not list as ``other``; 0 never keeps any.

        Raises
        ------
        StatsError
            A bad parameter, an unknown kind, or columns of unequal length.
        ColumnMismatchError
            A column named in ``kinds`` (or ``ranges``) is not in ``reference``.
        """
        if n_bins < 2:
            raise StatsError(f"n_bins must be >= 2, got {n_bins}")
        if n_quantiles < n_bins:
            raise StatsError(f"n_quantiles must be >= n_bins ({n_bins}), got {n_quantiles}")
        if max_categories < 1:
            raise StatsError(f"max_categories must be >= 1, got {max_categories}")
        if max_folded_categories < 0:
            raise StatsError(f"max_folded_categories must be >= 0, got {max_folded_categories}")
        if not kinds:
            raise StatsError("kinds is empty: name at least one feature to profile")
        available = {str(key) for key in reference.keys()}  # noqa: SIM118 - a DataFrame too
        ranges = dict(ranges or {})
        for name in [*kinds, *ranges]:
            if name not in available:
                raise ColumnMismatchError(
                    f"column {name!r} is not in the reference data "
                    f"(it has: {', '.join(sorted(available)) or 'no columns'})",
                    column=name,
                )
        features: dict[str, FeatureProfile] = {}
        n_rows: int | None = None
        for name, kind in kinds.items():
            column = reference[name]
            length = len(column)
            if n_rows is not None and length != n_rows:
                raise StatsError(f"column {name!r} has {length} rows, the others {n_rows}")
            n_rows = length
            if kind == "numeric":
                features[name] = NumericProfile.fit(
                    name, column, n_bins=n_bins, n_quantiles=n_quantiles,
                    value_range=ranges.get(name),
                )  # fmt: skip
            elif kind == "categorical":
                features[name] = CategoricalProfile.fit(
                    name, column, max_categories=max_categories,
                    max_folded_categories=max_folded_categories,
                )  # fmt: skip
            else:
                raise StatsError(
                    f"feature {name!r}: kind must be 'numeric' or 'categorical', got {kind!r}"
                )
        prediction = None
        if scores is not None:
            prediction = NumericProfile.fit(
                PREDICTION, scores, n_bins=n_bins, n_quantiles=n_quantiles
            )
            n_scores = prediction.n + prediction.n_missing + prediction.n_invalid
            if n_scores != n_rows:
                raise StatsError(f"scores has a different length from the reference ({n_rows})")
        return cls(
            features, int(n_rows or 0), n_bins, n_quantiles, max_categories, prediction,
            max_folded_categories,
        )  # fmt: skip

    def with_scores(self, scores: ArrayLike) -> ReferenceProfile:
        """A copy whose score profile is fitted from ``scores``.

        For scores of other rows than the feature reference: a model's scores on its training
        rows are over-confident, so a trainer profiles its scores on held-out rows instead.
        """
        prediction = NumericProfile.fit(
            PREDICTION, scores, n_bins=self.n_bins, n_quantiles=self.n_quantiles
        )
        return replace(self, prediction=prediction)

    @property
    def kinds(self) -> dict[str, Kind]:
        """Feature name to kind, in profile order."""
        return {name: feature.kind for name, feature in self.features.items()}

    def compare(
        self,
        window: ColumnSource | Mapping[str, Any],
        *,
        scores: ArrayLike | None = None,
        config: Any = None,
        extra_columns: Literal["error", "ignore"] = "error",
    ) -> Any:
        """Drift and quality of ``window`` against this profile: see :func:`compare`."""
        from driftwarden.stats.drift import compare  # drift builds on this module

        return compare(self, window, scores=scores, config=config, extra_columns=extra_columns)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; :meth:`from_dict` restores an equal profile."""
        return {
            "format": PROFILE_FORMAT,
            "n_rows": self.n_rows,
            "n_bins": self.n_bins,
            "n_quantiles": self.n_quantiles,
            "max_categories": self.max_categories,
            "max_folded_categories": self.max_folded_categories,
            "features": [feature.to_dict() for feature in self.features.values()],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
        }

    def to_json(self) -> str:
        """Compact JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        """Restore a profile written by :meth:`to_dict`.

        Raises
        ------
        StatsError
            The data is not a profile, or of a format this version does not read.
        """
        try:
            version = data["format"]
            if version != PROFILE_FORMAT:
                raise StatsError(
                    f"profile format {version!r} is not supported (this version reads "
                    f"{PROFILE_FORMAT}); refit the profile from the reference data"
                )
            features: dict[str, FeatureProfile] = {}
            for item in data["features"]:
                feature: FeatureProfile = (
                    NumericProfile.from_dict(item)
                    if item["kind"] == "numeric"
                    else CategoricalProfile.from_dict(item)
                )
                features[feature.name] = feature
            prediction = data.get("prediction")
            return cls(
                features=features,
                n_rows=int(data["n_rows"]),
                n_bins=int(data["n_bins"]),
                n_quantiles=int(data["n_quantiles"]),
                max_categories=int(data["max_categories"]),
                prediction=None if prediction is None else NumericProfile.from_dict(prediction),
                max_folded_categories=int(data.get("max_folded_categories", DEFAULT_MAX_FOLDED)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StatsError):
                raise
            raise StatsError(f"not a reference profile: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> ReferenceProfile:
        """Restore a profile from :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StatsError(f"not a reference profile: invalid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise StatsError("not a reference profile: expected a JSON object")
        return cls.from_dict(data)
