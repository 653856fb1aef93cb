"""The reference profile: a fixed-size summary of training data that drift is measured against.

A profile is fitted once from the reference rows (the training data of a model version) and then
compared with any number of windows without touching those rows again. Its size is bounded by its
parameters, never by the number of reference rows:

* numeric feature: moments, range, and a grid of at most ``n_quantiles + n_bins`` distinct
  reference values (inverted-CDF quantiles) with the reference counts at and between them; the PSI
  bins (the reference deciles by default) are a subset of that grid;
* categorical feature: at most ``max_categories`` categories with their counts; rarer ones share an
  ``other`` bucket (and then values the profile does not list are counted there, not as unseen);
* optionally the same numeric summary of the model's scores, for prediction drift.

Profiles serialise to plain JSON (:meth:`ReferenceProfile.to_json`) so they can travel with a model
version in the registry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftwarden.stats._binning import GridLocator, inverted_cdf_quantiles
from driftwarden.stats._encoding import encode_categories
from driftwarden.stats._validation import clean_numeric
from driftwarden.stats.errors import ColumnMismatchError, StatsError

__all__ = [
    "PROFILE_FORMAT",
    "CategoricalProfile",
    "ColumnSource",
    "Kind",
    "NumericProfile",
    "NumericWindow",
    "ReferenceProfile",
]

PROFILE_FORMAT = 1
Kind = Literal["numeric", "categorical"]
PREDICTION = "__prediction__"
# Values placed per step in NumericProfile.place: 512 KiB of float64, so a chunk and its few
# temporaries stay in cache (measured: 65,536 beat 16,384, 32,768 and 131,072 at 100k and 1M rows).
_CHUNK = 1 << 16


class ColumnSource(Protocol):
    """Anything with named columns: a ``dict`` of arrays, a pandas ``DataFrame``."""

    def keys(self) -> Iterable[Any]: ...  # pragma: no cover - protocol

    def __getitem__(self, key: str, /) -> Any: ...  # pragma: no cover - protocol


def _ints(values: Iterable[int]) -> NDArray[np.int64]:
    return np.asarray(list(values), dtype=np.int64)


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
    ``below_sum``/``above_sum`` are the sums of the values below/above the grid.
    """

    n: int
    open_counts: NDArray[np.int64]
    atom_counts: NDArray[np.int64]
    below_sum: float
    above_sum: float


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
    _locator: GridLocator | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.edges.size:
            object.__setattr__(self, "_locator", GridLocator(self.edges))

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
                       np.zeros(0, dtype=np.intp))  # fmt: skip
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
        if self._locator is None or values.size == 0:
            return NumericWindow(int(values.size), np.zeros(m + 1, np.int64),
                                 np.zeros(m, np.int64), 0.0, 0.0)  # fmt: skip
        counts = np.zeros(2 * m + 2, dtype=np.int64)
        # Chunks keep every temporary small enough to stay in cache and to be reused by the
        # allocator, so the cost per row does not grow with the window.
        for start in range(0, values.size, _CHUNK):
            chunk = values[start : start + _CHUNK]
            index = self._locator.locate(chunk)
            # Code 2k for "strictly below edge k" and 2k+1 for "equal to edge k": one bincount
            # gives both, so the CDFs are known exactly at every edge and just before it.
            code = index * 2
            code += self._locator.padded_edges[index] == chunk
            counts += np.bincount(code, minlength=2 * m + 2)
        open_counts = counts[0::2].astype(np.int64)
        atom_counts = counts[1 : 2 * m : 2].astype(np.int64)
        below_sum = float(values[values < self.edges[0]].sum()) if open_counts[0] else 0.0
        above_sum = float(values[values > self.edges[-1]].sum()) if open_counts[m] else 0.0
        return NumericWindow(int(values.size), open_counts, atom_counts, below_sum, above_sum)

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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericProfile:
        """Inverse of :meth:`to_dict`."""
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
        )


@dataclass(frozen=True, slots=True, eq=False)
class CategoricalProfile:
    """Reference summary of one categorical column.

    ``other_count`` is the reference mass of categories beyond ``max_categories``; when it is
    positive the profile is *truncated* and window values it does not list count as ``other``.
    """

    kind: ClassVar[Kind] = "categorical"

    name: str
    n: int
    n_missing: int
    categories: tuple[str, ...]
    counts: NDArray[np.int64]
    other_count: int = 0

    @property
    def truncated(self) -> bool:
        """True when rare categories were folded into ``other``."""
        return self.other_count > 0

    @classmethod
    def fit(cls, name: str, values: Any, *, max_categories: int) -> CategoricalProfile:
        """Count the categories of one column, keeping the ``max_categories`` most frequent."""
        encoded = encode_categories(values, (), name)
        labels = np.asarray(encoded.unseen, dtype=object)
        counts = encoded.unseen_counts
        order = np.lexsort((labels.astype(str), -counts)) if labels.size else np.zeros(0, int)
        keep = order[:max_categories]
        other = int(counts[order[max_categories:]].sum())
        # Stored sorted by label so that profiles of equal data are equal, whatever the row order.
        kept = sorted(zip(labels[keep].tolist(), counts[keep].tolist(), strict=True))
        return cls(
            name=name,
            n=int(counts.sum()),
            n_missing=encoded.n_missing,
            categories=tuple(label for label, _ in kept),
            counts=_ints(count for _, count in kept),
            other_count=other,
        )

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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            n=int(data["n"]),
            n_missing=int(data["n_missing"]),
            categories=tuple(str(c) for c in data["categories"]),
            counts=_ints(data["counts"]),
            other_count=int(data.get("other_count", 0)),
        )


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
            Fine grid resolution; the KS error bound is about ``1 / n_quantiles``.
        max_categories : int
            Categories kept per categorical feature.
        ranges : mapping of column name to (low, high), optional
            Allowed ranges for the out-of-range quality check (default: the reference's min/max).

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
                features[name] = CategoricalProfile.fit(name, column, max_categories=max_categories)
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
        return cls(features, int(n_rows or 0), n_bins, n_quantiles, max_categories, prediction)

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
