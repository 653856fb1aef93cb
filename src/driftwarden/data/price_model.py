"""The columns of the house-price example and the ground-truth model of its prices.

:class:`PriceModel` is the hedonic log-linear model that prices every generated house
(:class:`~driftwarden.data.houses.HouseGenerator`). Its coefficients are plain numbers, so the
exact distribution of a price given the house is known, and a drift scenario can change it by a
stated amount (a market shift multiplies every price by ``k``; a new neighbourhood adds its own
effect).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import check_rng, require_columns
from driftwarden.data.scenarios._common import check_real

__all__ = [
    "CONDITION_LEVELS",
    "HOUSE_CATEGORICAL",
    "HOUSE_ID",
    "HOUSE_NUMERIC",
    "HOUSE_TARGET",
    "NEIGHBOURHOOD_EFFECTS",
    "PriceModel",
]

HOUSE_TARGET: Final = "price"
"""The target column: the sale price in whole currency units (a float, always positive)."""

HOUSE_ID: Final = "house_id"
"""The entity id column: text, unique per generated house."""

HOUSE_NUMERIC: Final = ("sqft_living", "bedrooms", "bathrooms", "year_built", "lot_sqft")
"""The numeric features, in column order."""

HOUSE_CATEGORICAL: Final = ("neighbourhood", "condition", "has_garage")
"""The categorical features (text, text and bool), in column order."""

CONDITION_LEVELS: Final = ("poor", "fair", "average", "good", "excellent")
"""The levels of ``condition``, worst first."""

NEIGHBOURHOOD_EFFECTS: Final[Mapping[str, float]] = MappingProxyType(
    {
        "Hillcrest": 0.45,
        "Riverside": 0.35,
        "Old Town": 0.25,
        "Maple Grove": 0.0,
        "Eastfield": -0.15,
        "Mill District": -0.35,
    }
)
"""Log-price effect of each neighbourhood, dearest first (Maple Grove is the reference)."""

_CONDITION_EFFECTS: Final[Mapping[str, float]] = MappingProxyType(
    {"poor": -0.25, "fair": -0.10, "average": 0.0, "good": 0.08, "excellent": 0.18}
)

# The reference house: the terms of a house with these values are 0.
_REFERENCE_SQFT: Final = 1800.0
_REFERENCE_BEDROOMS: Final = 3.0
_REFERENCE_BATHROOMS: Final = 2.0
_REFERENCE_AGE: Final = 30.0
_REFERENCE_LOT: Final = 6000.0

# Flags as pandas reads them from a frame or a CSV file.
_FLAGS: Final[Mapping[Any, float]] = {
    True: 1.0,
    False: 0.0,
    "True": 1.0,
    "False": 0.0,
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
}


@dataclass(frozen=True, slots=True)
class PriceModel:
    """The ground-truth price of a house: a log-linear (hedonic) model with log-normal noise.

    With ``age = reference_year - year_built``::

        log(price) = log(base_price)
                   + neighbourhood_effects[neighbourhood]
                   + sqft_elasticity * log(sqft_living / 1800)
                   + bedroom_effect  * (bedrooms - 3)
                   + bathroom_effect * (bathrooms - 2)
                   + age_effect      * (age - 30) / 10
                   + lot_elasticity  * log(lot_sqft / 6000)
                   + condition_effects[condition]
                   + garage_effect   * has_garage
                   + eps,            eps ~ N(0, sigma**2), independent per house

        price = max(1, round(exp(log(price))))      whole currency units

    The default coefficients:

    ==================  ========  ============================================================
    term                default   meaning
    ==================  ========  ============================================================
    base_price          350,000   median price of the reference house: Maple Grove, 1,800
                                  sqft, 3 bedrooms, 2 bathrooms, 30 years old, 6,000 sqft lot,
                                  average condition, no garage
    neighbourhoods      see       Hillcrest +0.45, Riverside +0.35, Old Town +0.25, Maple
                                  Grove 0, Eastfield -0.15, Mill District -0.35
    sqft_elasticity     0.75      +10 % living area, +7.4 % price
    bedroom_effect      -0.03     per bedroom at the same area (smaller rooms)
    bathroom_effect     0.05      per bathroom
    age_effect          -0.03     per decade of age
    lot_elasticity      0.10      +10 % lot, +1 % price
    condition           see       poor -0.25, fair -0.10, average 0, good +0.08, excellent +0.18
    garage_effect       0.05      a garage
    sigma               0.15      noise of log(price): a typical house sells within ±15 %
    reference_year      2024      the year ages are counted to
    ==================  ========  ============================================================

    Missing values take the reference: a missing ``bedrooms``, ``bathrooms``, ``year_built``,
    ``lot_sqft`` or ``has_garage`` contributes 0, as does a missing ``condition`` (priced as
    average) and a neighbourhood or condition level the model does not know (as a
    :class:`~driftwarden.data.LabelModel` treats an unseen level). ``sqft_living`` is
    required and must be positive.

    ``exp(log_mean)`` is the median price of a house and ``exp(log_mean + sigma**2 / 2)`` its
    expected price (:meth:`expected_price`), the best a model trained on squared error can
    predict; ``sigma`` is the floor of the residual standard deviation of log(price).

    Parameters
    ----------
    base_price : float
        Median price of the reference house, above 0.
    neighbourhood_effects, condition_effects : Mapping of str to float
        Log-price effect per level.
    sqft_elasticity, bedroom_effect, bathroom_effect, age_effect, lot_elasticity, garage_effect
        Coefficients, as in the formula.
    sigma : float
        Standard deviation of the log-price noise, 0 or more (0 gives exact prices).
    reference_year : int
        The year ages are counted to.

    Raises
    ------
    ConfigError
        Naming the parameter that is not a finite number of its range, or not a mapping of
        level names to finite numbers.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> model = PriceModel()
    >>> house = pd.DataFrame({
    ...     "neighbourhood": ["Maple Grove"], "sqft_living": [1800], "bedrooms": [3],
    ...     "bathrooms": [2.0], "year_built": [1994], "lot_sqft": [6000.0],
    ...     "condition": ["average"], "has_garage": [False],
    ... })
    >>> round(float(np.exp(model.log_mean(house))[0]), 6)
    350000.0
    >>> round(float(model.expected_price(house)[0]))
    353960
    >>> round(model.scaled(1.1).base_price, 6)
    385000.0
    >>> prices = model.sample(house.loc[house.index.repeat(20_000)], np.random.default_rng(0))
    >>> round(float(np.log(prices).std()), 2)
    0.15
    """

    base_price: float = 350_000.0
    neighbourhood_effects: Mapping[str, float] = field(
        default_factory=lambda: dict(NEIGHBOURHOOD_EFFECTS)
    )
    sqft_elasticity: float = 0.75
    bedroom_effect: float = -0.03
    bathroom_effect: float = 0.05
    age_effect: float = -0.03
    lot_elasticity: float = 0.10
    condition_effects: Mapping[str, float] = field(default_factory=lambda: dict(_CONDITION_EFFECTS))
    garage_effect: float = 0.05
    sigma: float = 0.15
    reference_year: int = 2024

    def __post_init__(self) -> None:
        if check_real(self.base_price, "base_price") <= 0:
            raise ConfigError(f"base_price must be above 0, got {self.base_price!r}")
        for name in (
            "sqft_elasticity",
            "bedroom_effect",
            "bathroom_effect",
            "age_effect",
            "lot_elasticity",
            "garage_effect",
        ):
            check_real(getattr(self, name), name)
        check_real(self.sigma, "sigma", low=0.0)
        if isinstance(self.reference_year, bool) or not isinstance(
            self.reference_year, int | np.integer
        ):
            raise ConfigError(f"reference_year must be an integer, got {self.reference_year!r}")
        for name in ("neighbourhood_effects", "condition_effects"):
            # Frozen copies: a model must not change under a scenario that holds it.
            object.__setattr__(self, name, MappingProxyType(_effects(getattr(self, name), name)))

    def log_mean(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Return the mean of log(price) of each house: the formula without ``eps``.

        Parameters
        ----------
        frame : DataFrame
            Houses with every feature column (``neighbourhood``, ``sqft_living``,
            ``bedrooms``, ``bathrooms``, ``year_built``, ``lot_sqft``, ``condition``,
            ``has_garage``); other columns are ignored.

        Returns
        -------
        ndarray of float64
            One value per row, in row order.

        Raises
        ------
        SchemaMismatchError
            If a feature column is missing, a numeric one holds values that are not numbers,
            ``sqft_living`` is missing or not positive, ``lot_sqft`` is not positive, or
            ``has_garage`` holds something other than a flag.
        """
        if not isinstance(frame, pd.DataFrame):
            raise SchemaMismatchError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        require_columns(frame, (*HOUSE_CATEGORICAL, *HOUSE_NUMERIC), "house feature")
        sqft = _numbers(frame, "sqft_living")
        if not bool(np.all(sqft > 0)):
            raise SchemaMismatchError(
                "sqft_living must be a positive number in every row; the price model needs "
                "the living area of each house",
                column="sqft_living",
            )
        lot = _numbers(frame, "lot_sqft")
        if bool(np.any(lot <= 0)):
            raise SchemaMismatchError(
                "lot_sqft must be positive where it is given (leave it blank when unknown)",
                column="lot_sqft",
            )
        age = self.reference_year - _numbers(frame, "year_built")
        z = math.log(self.base_price) + self.sqft_elasticity * np.log(sqft / _REFERENCE_SQFT)
        z += _levels(frame, "neighbourhood", self.neighbourhood_effects)
        z += _zero_if_missing(
            self.bedroom_effect * (_numbers(frame, "bedrooms") - _REFERENCE_BEDROOMS)
        )
        z += _zero_if_missing(
            self.bathroom_effect * (_numbers(frame, "bathrooms") - _REFERENCE_BATHROOMS)
        )
        z += _zero_if_missing(self.age_effect * (age - _REFERENCE_AGE) / 10.0)
        z += _zero_if_missing(self.lot_elasticity * np.log(lot / _REFERENCE_LOT))
        z += _levels(frame, "condition", self.condition_effects)
        z += self.garage_effect * _flags(frame, "has_garage")
        return np.asarray(z, dtype=np.float64)

    def expected_price(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Return E[price | house] of each row: ``exp(log_mean + sigma**2 / 2)``, unrounded."""
        return np.asarray(np.exp(self.log_mean(frame) + 0.5 * self.sigma**2), dtype=np.float64)

    def sample(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series[float]:
        """Draw a price for each house (see the formula; one normal number per row).

        Returns
        -------
        Series
            ``float64`` whole numbers of at least 1, named ``price``, with the frame's index.

        Raises
        ------
        ConfigError
            If ``rng`` is not a numpy Generator.
        SchemaMismatchError
            As :meth:`log_mean`.
        """
        rng = check_rng(rng)
        noise = self.sigma * rng.standard_normal(len(frame))
        prices = np.maximum(1.0, np.round(np.exp(self.log_mean(frame) + noise)))
        return pd.Series(prices, index=frame.index, name=HOUSE_TARGET, dtype="float64")

    def log_residuals(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Return ``log(price) - log_mean``: the noise ``eps`` each house drew (up to rounding).

        Raises
        ------
        SchemaMismatchError
            If the ``price`` column is missing or holds a value that is not a positive number,
            or as :meth:`log_mean`.
        """
        require_columns(frame, [HOUSE_TARGET], "target")
        prices = _numbers(frame, HOUSE_TARGET)
        if not bool(np.all(prices > 0)):
            raise SchemaMismatchError(
                "price must be a positive number in every row", column=HOUSE_TARGET
            )
        return np.log(prices) - self.log_mean(frame)

    def scaled(self, factor: float) -> PriceModel:
        """Return the model with every price multiplied by ``factor`` (a market shift).

        Raises
        ------
        ConfigError
            If ``factor`` is not a positive finite number.
        """
        if check_real(factor, "factor") <= 0:
            raise ConfigError(f"factor must be above 0, got {factor!r}")
        return replace(self, base_price=self.base_price * float(factor))

    def with_neighbourhood(self, name: str, effect: float) -> PriceModel:
        """Return the model with one more neighbourhood and its log-price effect.

        Raises
        ------
        ConfigError
            If ``name`` is not a non-empty string or is already a neighbourhood of the model,
            or ``effect`` is not a finite number.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        if name in self.neighbourhood_effects:
            raise ConfigError(
                f"{name!r} is already a neighbourhood of the price model; a new one needs a "
                f"new name (known: {', '.join(map(repr, self.neighbourhood_effects))})"
            )
        effects = {**self.neighbourhood_effects, name: check_real(effect, "effect")}
        return replace(self, neighbourhood_effects=effects)


def _effects(value: object, name: str) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{name} must be a non-empty mapping of level to effect, got {value!r}")
    effects: dict[str, float] = {}
    for level, effect in value.items():
        if not isinstance(level, str) or not level:
            raise ConfigError(f"{name}: levels must be non-empty strings, got {level!r}")
        effects[level] = check_real(effect, f"{name}[{level!r}]")
    return effects


def _numbers(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    try:
        return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise SchemaMismatchError(
            f"the numeric column {column!r} holds values that are not numbers: {exc}",
            column=column,
        ) from exc


def _zero_if_missing(terms: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.isnan(terms), 0.0, terms)


def _levels(frame: pd.DataFrame, column: str, effects: Mapping[str, float]) -> NDArray[np.float64]:
    """Effect per row of a categorical column; 0 for missing and unknown levels."""
    # Factorised first: the lookup costs per distinct value, not per row.
    codes, uniques = pd.factorize(frame[column])
    table = np.array([effects.get(str(level), 0.0) for level in uniques] + [0.0])
    return np.asarray(table[codes], dtype=np.float64)


def _flags(frame: pd.DataFrame, column: str) -> NDArray[np.float64]:
    """A flag column as 1.0/0.0, 0 where missing."""
    codes, uniques = pd.factorize(frame[column])
    table = [_FLAGS.get(level) for level in uniques]
    for level, flag in zip(uniques, table, strict=True):
        if flag is None:
            raise SchemaMismatchError(
                f"{column!r} must hold flags (True/False), got {level!r}", column=column
            )
    return np.asarray(np.array([*table, 0.0], dtype=np.float64)[codes], dtype=np.float64)
