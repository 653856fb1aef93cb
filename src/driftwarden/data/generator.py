"""Realistic synthetic rows from a real frame, labelled by a known ground-truth model.

:class:`RowGenerator` draws any number of new rows that look like the rows of a real frame, in
the same columns and dtypes, keeping the joint structure of the columns, and labels them with a
:class:`~driftwarden.data.labels.LabelModel` fitted on the real data.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError
from driftwarden.data._checks import check_frame, check_seed, require_columns
from driftwarden.data.labels import LabelModel

__all__ = ["DEFAULT_BANDWIDTH", "RowGenerator"]

DEFAULT_BANDWIDTH: Final = 0.02
"""Relative size of the kernel that smooths continuous columns (2 % of a value)."""

# Values closer than this (relative) to a multiple of 10**-d are taken as written with d decimals.
_DECIMAL_TOLERANCE = 1e-9
_MAX_DECIMALS = 6


def _decimals(values: NDArray[np.float64]) -> int | None:
    """Fewest decimals (up to 6) that write every value, or None if there are more."""
    tolerance = _DECIMAL_TOLERANCE * np.maximum(1.0, np.abs(values))
    for decimals in range(_MAX_DECIMALS + 1):
        if bool(np.all(np.abs(np.round(values, decimals) - values) <= tolerance)):
            return decimals
    return None


class RowGenerator:
    """Draw realistic synthetic rows with the columns and the joint structure of a real frame.

    Build it with :meth:`fit` (or by calling the class with the same arguments).

    Each generated row is a *smoothed bootstrap* draw: a real row picked uniformly at random,
    whose continuous numeric values are then perturbed by a small kernel, given a fresh entity
    id and a label drawn from the :class:`LabelModel` fitted on the real data.

    * Categorical columns, integer-valued numeric columns (counts, months, codes) and bool
      columns are kept as drawn: smoothing them would create values that cannot occur.
    * Continuous columns whose values are all non-negative are multiplied by one common
      factor ``exp(bandwidth * z)``, ``z ~ N(0, 1)``, per row. Zeros stay zeros, and the
      ratios between such columns of a row are kept: Telco's ``TotalCharges`` stays at the
      same multiple of ``tenure * MonthlyCharges`` as in the real row (a new customer with
      no bill keeps ``TotalCharges == 0``).
    * Other continuous columns get independent additive noise ``bandwidth * std * z``.
    * Perturbed values are clipped to the observed range and rounded to the observed number
      of decimals (two for money), so they stay valid for a schema inferred on the real data.
      Missing values stay missing, with the frequency and the co-occurrence of the real data.

    Why a smoothed bootstrap and not a Gaussian copula: every dependency of the real data
    survives, not only pairwise rank correlations. That includes the logical constraints of
    Telco (``InternetService == "No"`` exactly when every add-on says ``"No internet
    service"``, ``PhoneService == "No"`` exactly when ``MultipleLines == "No phone
    service"``, ``tenure == 0`` exactly when nothing has been charged), which a copula breaks
    with rows that no real system would send. Marginals are reproduced up to the kernel with
    no model to get wrong, it works unchanged on any frame, and drawing costs O(n). The price:
    generated rows never wander far from real ones, and combinations of categories absent from
    the data never appear. For traffic that is realism; departures from the real data are the
    job of the drift scenarios, which inject them on purpose and record where.

    Labels come from the label model rather than from the drawn row, so the true P(positive |
    row) of every generated row is known and a concept drift can change it by a known amount.
    The logistic model misses interactions, but on its own training data its one-hot score
    equations make the churn rate of each level of a categorical column (e.g. per
    ``Contract``) match the real rate.

    Parameters
    ----------
    df : DataFrame
        The real rows, with at least one row, string column names and a two-class target.
    target : str
        The target column; generated rows get labels drawn from :attr:`label_model`.
    entity_id : str or None, optional
        The entity id column; generated rows get fresh unique ids (see :meth:`generate`).
        It is not a feature of the label model.
    seed : int or None, optional
        Seeds the stream that :meth:`generate` uses when called without a seed, so that a
        sequence of calls is reproducible. None draws fresh entropy.
    bandwidth : float, optional
        Size of the kernel, relative (see above), in [0, 0.5]. 0 gives a plain bootstrap.
    id_prefix : str, optional
        Prefix of generated entity ids; keep it distinct from the real ids.
    positive : object, optional
        The positive label (see :meth:`LabelModel.fit`).

    Raises
    ------
    SchemaMismatchError
        If the frame is empty, has non-string or duplicate column names, lacks the target or
        the entity id, or its target does not have two classes.
    ConfigError
        If ``target`` and ``entity_id`` are the same column, or ``seed``, ``bandwidth`` or
        ``id_prefix`` are invalid.

    Examples
    --------
    >>> from driftwarden.data import TELCO_ID, TELCO_TARGET, load_telco
    >>> generator = RowGenerator.fit(load_telco(), target=TELCO_TARGET, entity_id=TELCO_ID)
    >>> rows = generator.generate(5, seed=1)
    >>> rows.shape
    (5, 21)
    >>> rows.equals(generator.generate(5, seed=1))
    True
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        target: str,
        entity_id: str | None = None,
        seed: int | None = 0,
        bandwidth: float = DEFAULT_BANDWIDTH,
        id_prefix: str = "syn-",
        positive: Any = None,
    ) -> None:
        df = check_frame(df)
        if entity_id is not None and entity_id == target:
            raise ConfigError(f"target and entity_id are both {target!r}; they must differ")
        require_columns(df, [target], "target")
        if entity_id is not None:
            require_columns(df, [entity_id], "entity id")
        if isinstance(bandwidth, bool) or not (
            isinstance(bandwidth, int | float) and 0.0 <= bandwidth <= 0.5
        ):
            raise ConfigError(f"bandwidth must be a number in [0, 0.5], got {bandwidth!r}")
        if not isinstance(id_prefix, str):
            raise ConfigError(f"id_prefix must be a string, got {type(id_prefix).__name__}")
        self._seed = check_seed(seed)
        self._target = target
        self._entity_id = entity_id
        self._bandwidth = float(bandwidth)
        self._id_prefix = id_prefix
        exclude = () if entity_id is None else (entity_id,)
        self._label_model = LabelModel.fit(df, target=target, positive=positive, exclude=exclude)
        self._rows = df.reset_index(drop=True).copy()
        self._scaled: list[str] = []
        self._shifted: dict[str, float] = {}
        self._bounds: dict[str, tuple[float, float]] = {}
        self._decimals: dict[str, int | None] = {}
        for column in self._label_model.weights:
            values = self._rows[column].to_numpy(dtype=np.float64, na_value=np.nan)
            finite = values[np.isfinite(values)]
            decimals = _decimals(finite)
            if finite.size == 0 or decimals == 0:
                continue
            self._bounds[column] = (float(finite.min()), float(finite.max()))
            self._decimals[column] = decimals
            if finite.min() >= 0:
                self._scaled.append(column)
            else:
                self._shifted[column] = float(finite.std())
        self._rng = np.random.default_rng(self._seed)

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        *,
        target: str,
        entity_id: str | None = None,
        seed: int | None = 0,
        bandwidth: float = DEFAULT_BANDWIDTH,
        id_prefix: str = "syn-",
        positive: Any = None,
    ) -> RowGenerator:
        """Fit a generator on real rows (see the class docstring for the parameters)."""
        return cls(
            df,
            target=target,
            entity_id=entity_id,
            seed=seed,
            bandwidth=bandwidth,
            id_prefix=id_prefix,
            positive=positive,
        )

    @property
    def target(self) -> str:
        """The target column."""
        return self._target

    @property
    def entity_id(self) -> str | None:
        """The entity id column, if any."""
        return self._entity_id

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of generated frames, in the order of the real frame."""
        return tuple(map(str, self._rows.columns))

    @property
    def continuous(self) -> tuple[str, ...]:
        """The columns that the kernel perturbs."""
        return (*self._scaled, *self._shifted)

    @property
    def label_model(self) -> LabelModel:
        """The ground-truth model that labels generated rows."""
        return self._label_model

    def generate(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """Generate ``n`` rows.

        Parameters
        ----------
        n : int
            Number of rows, 0 or more. ``n == 0`` gives an empty frame with the right
            columns and dtypes (a simulated minute may bring no request at all).
        seed : int or None, optional
            With a seed the result depends on it alone: the same seed gives an identical
            frame. Without one, the generator's own stream (seeded at fit) is used and
            advanced, so successive calls differ but the sequence is reproducible.

        Returns
        -------
        DataFrame
            ``n`` rows with a ``RangeIndex``, the columns and dtypes of the real frame. The
            entity id column, if any, holds fresh text ids ``<id_prefix><run>-<i>``: ``run`` is 12
            random hex digits per call and ``i`` the row number in hex, so ids are unique
            within a frame by construction and across calls with near certainty (two calls
            share a run with probability 2**-48).

        Raises
        ------
        ConfigError
            If ``n`` is not a non-negative integer or ``seed`` is invalid.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ConfigError(f"n must be a non-negative integer, got {n!r}")
        seed = check_seed(seed)
        rng = self._rng if seed is None else np.random.default_rng(seed)
        count = int(n)
        out = self._rows.iloc[rng.integers(0, len(self._rows), size=count)].reset_index(drop=True)
        if self._scaled:
            factor = np.exp(self._bandwidth * rng.standard_normal(count))
            for column in self._scaled:
                out[column] = self._finish(out[column], self._values(out, column) * factor)
        for column, std in self._shifted.items():
            noise = self._bandwidth * std * rng.standard_normal(count)
            out[column] = self._finish(out[column], self._values(out, column) + noise)
        if self._entity_id is not None:
            run = int(rng.integers(0, 2**48))
            ids = [f"{self._id_prefix}{run:012x}-{i:x}" for i in range(count)]
            out[self._entity_id] = pd.Series(ids, dtype="str")
        out[self._target] = self._label_model.sample(out, rng)
        return out

    @staticmethod
    def _values(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
        return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)

    def _finish(self, original: pd.Series[Any], values: NDArray[np.float64]) -> pd.Series[Any]:
        """Clip and round perturbed values, back in the dtype of the real column."""
        column = str(original.name)
        low, high = self._bounds[column]
        values = np.clip(values, low, high)
        decimals = self._decimals[column]
        if decimals is not None:
            values = np.round(values, decimals)
        return pd.Series(values, index=original.index, name=column).astype(original.dtype)
