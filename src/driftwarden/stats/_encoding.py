"""Turn a categorical column into integer codes against a reference's categories.

Categories are compared as text (``str``), with integral numbers written without a decimal point,
so a flag stored as ``1`` in training and sent as ``1.0`` or ``"1"`` later is the same category.
Four paths, fastest first, chosen by what the column is:

* text held by pyarrow (a pandas column of the ``str`` or ``string`` dtype with pyarrow storage,
  pandas' default for text from version 3 when pyarrow is installed): pyarrow counts the distinct
  values in C, and only those are mapped in Python;
* anything else with a ``factorize()`` method returning ``(codes, uniques)`` (a pandas ``Series``
  or extension array; hashing runs in C there, so only the few distinct values are mapped in
  Python);
* numeric numpy arrays: ``np.unique(..., return_inverse=True)``, then the distinct values are
  mapped;
* other arrays (object or string dtype): one dictionary look-up per cell.

Missing values (``None``, NaN, blank text) get their own code; values the reference never saw get
codes after it, one per distinct value, so they can be counted and reported by name.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftwarden.stats._validation import as_1d_array

__all__ = ["EncodedColumn", "category_label", "encode_categories"]


def category_label(value: object) -> str | None:
    """The text a category value is compared by; ``None`` for a missing value."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


@dataclass(frozen=True, slots=True)
class EncodedColumn:
    """Counts of one column over ``categories + [missing] + unseen``.

    ``counts[:k]`` are the reference categories, ``counts[k]`` the missing values and
    ``counts[k+1:]`` the unseen values named in ``unseen``.
    """

    counts: NDArray[np.int64]
    n_categories: int
    unseen: tuple[str, ...]

    @property
    def category_counts(self) -> NDArray[np.int64]:
        """Counts of the reference categories, in the reference's order."""
        return self.counts[: self.n_categories]

    @property
    def n_missing(self) -> int:
        """Missing values (None, NaN, blank)."""
        return int(self.counts[self.n_categories])

    @property
    def unseen_counts(self) -> NDArray[np.int64]:
        """Counts of each unseen value, in the order of ``unseen``."""
        return self.counts[self.n_categories + 1 :]


class _Lookup:
    """Maps labels to codes, handing out new codes to unseen labels as they appear."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.codes: dict[str | None, int] = {label: i for i, label in enumerate(categories)}
        self.n_categories = len(categories)
        self.codes[None] = self.n_categories
        self.unseen: list[str] = []

    def code(self, value: object) -> int:
        label = category_label(value)
        found = self.codes.get(label)
        if found is None:
            found = self.n_categories + 1 + len(self.unseen)
            self.codes[label] = found
            self.unseen.append(str(label))
        return found


class _CellCodes(dict[Any, int]):
    """A cache from raw cells to codes: the C-level hit path serves repeated values."""

    def __init__(self, lookup: _Lookup) -> None:
        super().__init__()
        self._lookup = lookup

    def __missing__(self, value: Any) -> int:
        code = self._lookup.code(value)
        # NaN never equals itself, so caching it would add one key per NaN cell.
        if not (isinstance(value, float) and math.isnan(value)):
            # An unhashable cell (a list, say) is looked up every time instead.
            with contextlib.suppress(TypeError):
                self[value] = code
        return code

    def code(self, value: Any) -> int:
        """``self[value]``, also for an unhashable cell, which the dict look-up refuses."""
        try:
            return self[value]
        except TypeError:
            return self._lookup.code(value)


def _factorized(values: Any) -> tuple[Any, Any] | None:
    """``values.factorize()`` if it has one that succeeds (pandas refuses unhashable cells)."""
    factorize = getattr(values, "factorize", None)
    if not callable(factorize):
        return None
    try:
        codes, uniques = factorize()
    except TypeError:
        return None
    return codes, uniques


def _arrow_text(values: Any) -> Any | None:
    """The pyarrow array behind a pandas column of text with pyarrow storage (no copy), else
    ``None``.

    Only pandas' ``StringDtype`` (named ``str`` or ``string``) is taken: its values are text or
    null, so counting them as they are stored gives the labels :func:`category_label` would.
    """
    dtype = getattr(values, "dtype", None)
    if getattr(dtype, "storage", None) != "pyarrow" or getattr(dtype, "name", None) not in (
        "str",
        "string",
    ):
        return None
    # A Series holds its values in ``.array``; an extension array is its own.
    return getattr(values, "array", values).__arrow_array__()


def _counted_text(text: Any, lookup: _Lookup) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Codes of the distinct values of a pyarrow array of text and how often each occurs.

    ``value_counts`` lists the values in order of first appearance, as ``factorize`` does (null,
    if any, among them: it maps to the missing code), so unseen values get the same codes on
    either path.
    """
    counted = text.value_counts()
    codes = np.array([lookup.code(label) for label in counted.field("values").to_pylist()], np.intp)
    return codes, np.asarray(counted.field("counts").to_numpy(), dtype=np.int64)


def encode_categories(values: Any, categories: Sequence[str], name: str) -> EncodedColumn:
    """Count ``values`` over ``categories``, the missing bucket and the unseen values."""
    lookup = _Lookup(categories)
    text = _arrow_text(values)
    if text is not None:
        codes, occurrences = _counted_text(text, lookup)
        counts = np.zeros(lookup.n_categories + 1 + len(lookup.unseen), dtype=np.int64)
        np.add.at(counts, codes, occurrences)
        return EncodedColumn(counts, lookup.n_categories, tuple(lookup.unseen))
    factorized = _factorized(values)
    if factorized is not None:
        codes = np.asarray(factorized[0], dtype=np.intp)
        uniques = factorized[1]
        table = np.array([lookup.code(u) for u in list(uniques)] + [lookup.codes[None]], np.intp)
        # factorize marks missing values with -1, which indexes the last (missing) entry.
        mapped = table[codes]
    else:
        array = as_1d_array(values, name)
        if array.dtype.kind in "biuf":
            uniques, inverse = np.unique(array, return_inverse=True)
            table = np.array([lookup.code(u) for u in uniques.tolist()], dtype=np.intp)
            mapped = table[inverse.reshape(-1)] if table.size else np.zeros(0, np.intp)
        else:
            cells = _CellCodes(lookup)
            try:
                mapped = np.fromiter(map(cells.__getitem__, array), dtype=np.intp, count=array.size)
            except TypeError:
                # An unhashable cell (a list, say): the same look-ups, one Python call per cell.
                mapped = np.fromiter(map(cells.code, array), dtype=np.intp, count=array.size)
    size = lookup.n_categories + 1 + len(lookup.unseen)
    counts = np.bincount(mapped, minlength=size).astype(np.int64)
    return EncodedColumn(counts, lookup.n_categories, tuple(lookup.unseen))
