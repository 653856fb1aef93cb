"""The house-price example: generated houses, priced by a known ground-truth model.

No real house data can be downloaded on every machine, so the example for regression is
generated: :class:`HouseGenerator` draws realistic, correlated houses in six neighbourhoods and
prices them with a :class:`~driftwarden.data.price_model.PriceModel`; :func:`write_houses`
writes them to a file that ``driftwarden init --data houses.csv --target price --id house_id``
reads. Drift for houses lives in :mod:`driftwarden.data.house_scenarios`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError
from driftwarden.data._checks import check_seed
from driftwarden.data.price_model import (
    CONDITION_LEVELS,
    HOUSE_CATEGORICAL,
    HOUSE_ID,
    HOUSE_NUMERIC,
    HOUSE_TARGET,
    PriceModel,
)
from driftwarden.data.scenarios import Scenario, TimeLike
from driftwarden.data.scenarios._common import DurationLike, to_timedelta, to_timestamp

__all__ = [
    "BATHROOMS_PER_SQFT",
    "BEDROOMS_PER_SQFT",
    "HOUSE_COLUMNS",
    "HOUSE_TIME",
    "HouseGenerator",
    "generate_houses",
    "write_houses",
]

HOUSE_COLUMNS: Final = (
    HOUSE_ID,
    "neighbourhood",
    "sqft_living",
    "bedrooms",
    "bathrooms",
    "year_built",
    "lot_sqft",
    "condition",
    "has_garage",
    HOUSE_TARGET,
)
"""The columns of a generated frame, in order."""

HOUSE_TIME: Final = "listed_at"
"""The time column :func:`write_houses` adds when it injects drift."""

BEDROOMS_PER_SQFT: Final = 1 / 700
"""Expected bedrooms per square foot of living area: E[bedrooms | sqft] = 0.5 + sqft / 700."""

BATHROOMS_PER_SQFT: Final = 1 / 1000
"""Expected bathrooms per square foot: E[bathrooms | sqft] = 0.25 + sqft / 1000."""

_SQFT_RANGE: Final = (400, 9000)
_YEAR_RANGE: Final = (1880, 2023)
_LOT_MIN: Final = 500.0
_LOT_MISSING: Final = 0.04
_CONDITION_MISSING: Final = 0.02
# Cut points of the latent condition score, and how much it falls per year of age.
_CONDITION_CUTS: Final = (-1.9, -1.0, 0.7, 1.6)
_CONDITION_AGEING: Final = 0.012


@dataclass(frozen=True, slots=True)
class _Neighbourhood:
    """How the houses of one neighbourhood are drawn (prices come from the PriceModel)."""

    name: str
    share: float
    median_sqft: float
    sqft_spread: float  # standard deviation of log(sqft)
    year_built: float
    year_spread: float
    median_lot: float  # of a house of 1,800 sqft
    garage_rate: float


_NEIGHBOURHOODS: Final = (
    _Neighbourhood("Old Town", 0.12, 1300, 0.30, 1925, 20, 3000, 0.35),
    _Neighbourhood("Riverside", 0.13, 2200, 0.30, 1975, 20, 8000, 0.80),
    _Neighbourhood("Hillcrest", 0.08, 3000, 0.30, 1995, 15, 12000, 0.95),
    _Neighbourhood("Maple Grove", 0.27, 1900, 0.25, 1985, 12, 7000, 0.90),
    _Neighbourhood("Eastfield", 0.25, 1600, 0.25, 2008, 8, 5000, 0.85),
    _Neighbourhood("Mill District", 0.15, 1100, 0.25, 1950, 15, 4000, 0.40),
)


def _profile(attribute: str) -> NDArray[np.float64]:
    return np.array([getattr(n, attribute) for n in _NEIGHBOURHOODS], dtype=np.float64)


class HouseGenerator:
    """Draw realistic houses with a price from a known ground-truth model.

    Each house is drawn so (``N`` standard normal, independent per draw):

    * ``neighbourhood``: one of six, with shares Maple Grove 27 %, Eastfield 25 %, Mill
      District 15 %, Riverside 13 %, Old Town 12 %, Hillcrest 8 %;
    * ``sqft_living``: log-normal around the neighbourhood's median (Mill District 1,100, Old
      Town 1,300, Eastfield 1,600, Maple Grove 1,900, Riverside 2,200, Hillcrest 3,000; log
      spread 0.25-0.30), rounded to 10 and kept in [400, 9000];
    * ``bedrooms``: ``round(0.5 + sqft / 700 + 0.6 N)`` in [1, 8]; ``bathrooms``:
      ``0.25 + sqft / 1000 + 0.35 N`` rounded to a half, in [1, 6]: bigger houses have more
      rooms (:data:`BEDROOMS_PER_SQFT`, :data:`BATHROOMS_PER_SQFT`);
    * ``year_built``: normal around the neighbourhood's (Old Town 1925 ... Eastfield 2008),
      in [1880, 2023];
    * ``lot_sqft``: log-normal, ``median_lot * (sqft / 1800) ** 0.5``, log spread 0.3,
      rounded to 10, at least 500; **missing in 4 %** of houses (not recorded);
    * ``condition``: ``poor`` ... ``excellent``, worse for older houses; **missing in 2 %**;
    * ``has_garage``: bool, likelier in the suburbs (35 % in Old Town, 95 % in Hillcrest);
    * ``price``: drawn from :attr:`price_model` given the row as written, missing values
      included (see :class:`~driftwarden.data.price_model.PriceModel`).

    Parameters
    ----------
    seed : int or None, optional
        Seeds the stream :meth:`generate` uses when called without a seed. None draws fresh
        entropy.
    price_model : PriceModel or None, optional
        The ground truth of the prices; the default :class:`PriceModel` when None.
    id_prefix : str, optional
        Prefix of the house ids.

    Raises
    ------
    ConfigError
        If ``seed``, ``price_model`` or ``id_prefix`` is invalid.

    Examples
    --------
    >>> houses = HouseGenerator(seed=0).generate(1000, seed=1)
    >>> houses.shape
    (1000, 10)
    >>> houses.equals(HouseGenerator().generate(1000, seed=1))
    True
    >>> bool((houses["price"] > 0).all()), houses["price"].dtype
    (True, dtype('float64'))
    """

    def __init__(
        self,
        *,
        seed: int | None = 0,
        price_model: PriceModel | None = None,
        id_prefix: str = "house-",
    ) -> None:
        if price_model is not None and not isinstance(price_model, PriceModel):
            raise ConfigError(
                f"price_model must be a PriceModel or None, got {type(price_model).__name__}"
            )
        if not isinstance(id_prefix, str):
            raise ConfigError(f"id_prefix must be a string, got {type(id_prefix).__name__}")
        self._seed = check_seed(seed)
        self._price_model = PriceModel() if price_model is None else price_model
        self._id_prefix = id_prefix
        self._rng = np.random.default_rng(self._seed)

    @property
    def target(self) -> str:
        """The target column, ``price``."""
        return HOUSE_TARGET

    @property
    def entity_id(self) -> str:
        """The entity id column, ``house_id``."""
        return HOUSE_ID

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of generated frames, in order."""
        return HOUSE_COLUMNS

    @property
    def numeric(self) -> tuple[str, ...]:
        """The numeric features."""
        return HOUSE_NUMERIC

    @property
    def categorical(self) -> tuple[str, ...]:
        """The categorical features."""
        return HOUSE_CATEGORICAL

    @property
    def price_model(self) -> PriceModel:
        """The ground-truth model that prices generated houses."""
        return self._price_model

    def generate(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """Generate ``n`` houses.

        Parameters
        ----------
        n : int
            Number of rows, 0 or more (0 gives an empty frame with the columns and dtypes).
        seed : int or None, optional
            With a seed the result depends on it alone. Without one the generator's own
            stream is used and advanced, so that successive calls differ reproducibly.

        Returns
        -------
        DataFrame
            The columns of :data:`HOUSE_COLUMNS` with a ``RangeIndex``: ``house_id``,
            ``neighbourhood`` and ``condition`` as text, ``sqft_living``, ``bedrooms`` and
            ``year_built`` as ``int64``, ``bathrooms``, ``lot_sqft`` and ``price`` as
            ``float64``, ``has_garage`` as ``bool``. House ids are
            ``<id_prefix><run>-<i>``, with ``run`` 12 random hex digits per call.

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
        shares = _profile("share")
        hood = rng.choice(len(_NEIGHBOURHOODS), size=count, p=shares / shares.sum())
        z = rng.standard_normal((6, count))
        u = rng.random((3, count))

        log_sqft = np.log(_profile("median_sqft")[hood]) + _profile("sqft_spread")[hood] * z[0]
        sqft = np.clip(np.round(np.exp(log_sqft), -1), *_SQFT_RANGE)
        bedrooms = np.clip(np.round(0.5 + sqft * BEDROOMS_PER_SQFT + 0.6 * z[1]), 1, 8)
        bathrooms = np.clip(
            np.round(2 * (0.25 + sqft * BATHROOMS_PER_SQFT + 0.35 * z[2])) / 2, 1, 6
        )
        year = np.clip(
            np.round(_profile("year_built")[hood] + _profile("year_spread")[hood] * z[3]),
            *_YEAR_RANGE,
        )
        lot = np.log(_profile("median_lot")[hood]) + 0.5 * np.log(sqft / 1800) + 0.3 * z[4]
        lot = np.maximum(np.round(np.exp(lot), -1), _LOT_MIN)
        lot[u[0] < _LOT_MISSING] = np.nan
        age = self._price_model.reference_year - year
        score = z[5] - _CONDITION_AGEING * (age - 30)
        levels = np.searchsorted(_CONDITION_CUTS, score)
        condition = np.array(CONDITION_LEVELS, dtype=object)[levels]
        condition[u[1] < _CONDITION_MISSING] = None
        garage = u[2] < _profile("garage_rate")[hood]

        run = int(rng.integers(0, 2**48))
        names = np.array([n.name for n in _NEIGHBOURHOODS], dtype=object)
        frame = pd.DataFrame(
            {
                HOUSE_ID: pd.Series(
                    [f"{self._id_prefix}{run:012x}-{i}" for i in range(count)], dtype="str"
                ),
                "neighbourhood": pd.Series(names[hood], dtype="str"),
                "sqft_living": sqft.astype(np.int64),
                "bedrooms": bedrooms.astype(np.int64),
                "bathrooms": bathrooms,
                "year_built": year.astype(np.int64),
                "lot_sqft": lot,
                "condition": pd.Series(condition, dtype="str"),
                "has_garage": garage,
            }
        )
        frame[HOUSE_TARGET] = self._price_model.sample(frame, rng)
        return frame


def generate_houses(
    n: int, *, seed: int | None = 0, price_model: PriceModel | None = None
) -> pd.DataFrame:
    """Generate ``n`` houses (see :class:`HouseGenerator` and :meth:`HouseGenerator.generate`).

    Examples
    --------
    >>> generate_houses(3, seed=7).columns.tolist()[:4]
    ['house_id', 'neighbourhood', 'sqft_living', 'bedrooms']
    """
    return HouseGenerator(seed=seed, price_model=price_model).generate(n, seed=seed)


def write_houses(
    path: Path | str,
    rows: int = 10_000,
    *,
    seed: int = 0,
    scenario: Scenario | None = None,
    start: TimeLike = "2024-01-01",
    period: DurationLike = "365D",
    price_model: PriceModel | None = None,
) -> pd.DataFrame:
    """Generate houses and write them to a CSV (or Parquet) file.

    Parameters
    ----------
    path : Path or str
        ``.csv``, ``.csv.gz`` or ``.parquet``. Its folder is created if needed; an existing
        file is overwritten.
    rows : int, optional
        Number of houses, at least 1.
    seed : int, optional
        The file depends on the seed alone (house ids included).
    scenario : Scenario or None, optional
        Drift to inject. The houses are then listed at evenly spaced times over ``period``
        from ``start`` (UTC), written in a :data:`HOUSE_TIME` column after ``house_id``, and
        the scenario is applied at those times; build it with times within that span (see
        :func:`~driftwarden.data.house_scenarios.house_scenario`). Without a scenario there
        is no time column.
    start : TimeLike, optional
        Time of the first listing, with a scenario.
    period : DurationLike, optional
        Span of the listings, with a scenario.
    price_model : PriceModel or None, optional
        The ground truth of the prices (the default :class:`PriceModel` when None).

    Returns
    -------
    DataFrame
        The frame written.

    Raises
    ------
    ConfigError
        If ``rows``, ``seed``, ``start``, ``period`` or ``scenario`` is invalid, or the path
        has an unsupported extension or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_houses(pathlib.Path(folder) / "houses.csv", 100, seed=3)
    >>> len(written), written.columns[-1]
    (100, 'price')
    """
    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        raise ConfigError(
            f"cannot write {str(path)!r}: use a .csv, .csv.gz or .parquet file name", key="out"
        )
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise ConfigError(f"rows must be a positive integer, got {rows!r}", key="rows")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}", key="seed")
    frame = generate_houses(int(rows), seed=seed, price_model=price_model)
    if scenario is not None:
        if not isinstance(scenario, Scenario):
            raise ConfigError(
                f"scenario must be a drift scenario, got {type(scenario).__name__}",
                key="scenario",
            )
        first, span = to_timestamp(start, "start"), to_timedelta(period, "period")
        times = pd.date_range(first, first + span, periods=len(frame)).round("s")
        frame = scenario.apply(frame, times, np.random.default_rng([seed, 1]))
        frame.insert(1, HOUSE_TIME, times.tz_localize(None))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(path)!r}: {exc}", key="out") from exc
    return frame
