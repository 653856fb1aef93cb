"""Drift scenarios for the house-price example, and the named ones the command line offers.

==================  ==============================================================================
scenario            what changes (rows before ``start`` are never touched)
==================  ==============================================================================
SizeShift           ``sqft_living`` by ``delta`` (ramped or at once); bedrooms and bathrooms follow
                    the generator's rooms per square foot; prices follow the ground truth
NewNeighbourhood    a new ``neighbourhood`` takes a share of the houses, priced with its own effect
PriceShift          only ``price``: multiplied by a factor for the same houses (a market shift;
                    :mod:`driftwarden.data.scenarios`)
==================  ==============================================================================

:class:`SizeShift` and :class:`NewNeighbourhood` reprice the rows they change exactly: each
keeps its noise draw ``eps`` and gets the ground-truth log mean of its new features, so that
P(price | features) is unchanged by a size shift (pure covariate shift) and follows the new
neighbourhood's effect. Every scenario fits the :class:`~driftwarden.data.Scenario` protocol and
composes with the others (:func:`~driftwarden.data.compose`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import require_columns
from driftwarden.data.houses import BATHROOMS_PER_SQFT, BEDROOMS_PER_SQFT
from driftwarden.data.price_model import HOUSE_TARGET, PriceModel
from driftwarden.data.scenarios import (
    GradualShift,
    Injection,
    NewCategory,
    PriceShift,
    Scenario,
    SuddenShift,
    TimeLike,
    Times,
)
from driftwarden.data.scenarios._common import check_end, check_real, prepare, span

__all__ = ["HOUSE_SCENARIOS", "NewNeighbourhood", "SizeShift", "house_scenario"]

HOUSE_SCENARIOS: Final[dict[str, str]] = {
    "bigger_houses": "living area +400 sqft; bedrooms and bathrooms follow, prices with them",
    "market_shift": "prices x1.15 for the same houses (concept drift; the features stay)",
    "new_neighbourhood": "a new neighbourhood, 'Harbour View', takes 20% of the listings, "
    "priced with a log-price effect of +0.30 (like Riverside)",
}
"""Every named house scenario of :func:`house_scenario`, with what it does."""

_SQFT = "sqft_living"
_NEIGHBOURHOOD = "neighbourhood"


def _check_price_model(price_model: object) -> None:
    if not isinstance(price_model, PriceModel):
        raise ConfigError(f"price_model must be a PriceModel, got {type(price_model).__name__}")


def _reprice(
    out: pd.DataFrame,
    before: pd.DataFrame,
    changed: NDArray[np.bool_],
    old: PriceModel,
    new: PriceModel,
) -> None:
    """Give the changed rows of ``out`` the price of their new features, keeping their noise."""
    if not bool(changed.any()):
        return
    rows = np.flatnonzero(changed)
    after_rows, before_rows = out.iloc[rows], before.iloc[rows]
    ratio = np.exp(new.log_mean(after_rows) - old.log_mean(before_rows))
    prices = out[HOUSE_TARGET].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    prices[rows] = np.maximum(1.0, np.round(prices[rows] * ratio))
    out[HOUSE_TARGET] = pd.Series(prices, index=out.index, name=HOUSE_TARGET).astype(
        out[HOUSE_TARGET].dtype
    )


def _follow(
    values: NDArray[np.float64], change: NDArray[np.float64], step: float, u: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Move room counts by ``change`` in expectation, in steps of ``step``, at least 1."""
    moved = np.floor((values + change) / step + u) * step
    return np.where(change != 0, np.maximum(moved, 1.0), values)


@dataclass(frozen=True, slots=True)
class SizeShift:
    """Shift the living area by ``delta`` square feet; rooms and prices follow.

    ``sqft_living`` moves as with :class:`~driftwarden.data.GradualShift` (with ``end``) or
    :class:`~driftwarden.data.SuddenShift` (without): its mean rises by exactly ``delta`` at
    full strength. A house whose area changes by ``d`` then gains ``d / 700`` bedrooms and
    ``d / 1000`` bathrooms in expectation (stochastic rounding to whole bedrooms and half
    bathrooms, never below 1), the slopes the generator draws rooms with
    (:data:`~driftwarden.data.houses.BEDROOMS_PER_SQFT`), so bigger houses keep realistic room
    counts. With ``reprice`` its price becomes the ground-truth price of its new features with
    its own noise: ``price * exp(log_mean(new) - log_mean(old))``, rounded to whole units.

    Parameters
    ----------
    delta : float
        Shift of ``sqft_living`` at full strength, not 0.
    start : TimeLike
        When the sizes start to move.
    end : TimeLike or None, optional
        When they reach ``delta``; by default at once.
    price_model : PriceModel, optional
        The ground truth that priced the houses.
    reprice : bool, optional
        Reprice the changed houses (True: pure covariate shift, P(price | features) kept);
        False leaves prices as they were, as when the area is only measured differently.

    Raises
    ------
    ConfigError
        Naming the parameter that is invalid.

    Examples
    --------
    >>> from driftwarden.data import generate_houses
    >>> houses = generate_houses(2000, seed=0)
    >>> times = pd.date_range("2024-01-01", periods=2000, freq="h")
    >>> bigger = SizeShift(400, start="2024-02-01").apply(houses, times, np.random.default_rng(0))
    >>> late = times >= "2024-02-01"
    >>> round(float((bigger["sqft_living"] - houses["sqft_living"])[late].mean()))
    400
    >>> [(i.columns, round(i.magnitude, 2)) for i in SizeShift(400, "2024-02-01").injections]
    [(('sqft_living',), 400.0), (('bedrooms',), 0.57), (('bathrooms',), 0.4)]
    """

    delta: float
    start: TimeLike
    end: TimeLike | None = None
    price_model: PriceModel = field(default_factory=PriceModel)
    reprice: bool = True

    def __post_init__(self) -> None:
        if check_real(self.delta, "delta") == 0:
            raise ConfigError("delta 0 changes nothing; give a shift in square feet")
        check_end(self.start, self.end)
        _check_price_model(self.price_model)
        if not isinstance(self.reprice, bool):
            raise ConfigError(f"reprice must be True or False, got {self.reprice!r}")

    def _shift(self) -> GradualShift | SuddenShift:
        start, end = span(self.start, self.end)
        if end > start:
            return GradualShift(_SQFT, float(self.delta), start, end)
        return SuddenShift(_SQFT, float(self.delta), start)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """Three injections of one kind: ``sqft_living`` (``delta``), then ``bedrooms`` and
        ``bathrooms`` (their mean shifts, ``delta / 700`` and ``delta / 1000``)."""
        (area,) = self._shift().injections
        rooms = tuple(
            replace(
                area,
                columns=(column,),
                magnitude=float(self.delta) * slope,
                description=f"{column} mean {float(self.delta) * slope:+.3g}, following "
                f"{_SQFT} (from {area.start})",
            )
            for column, slope in (
                ("bedrooms", BEDROOMS_PER_SQFT),
                ("bathrooms", BATHROOMS_PER_SQFT),
            )
        )
        return (area, *rooms)

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with bigger (or smaller) houses (see
        :meth:`Scenario.apply`)."""
        before, _, rng = prepare(frame, times, rng)
        require_columns(before, [_SQFT, "bedrooms", "bathrooms"], "house")
        out = self._shift().apply(before, times, rng)
        old = before[_SQFT].to_numpy(dtype=np.float64, na_value=np.nan)
        new = out[_SQFT].to_numpy(dtype=np.float64, na_value=np.nan)
        if bool(np.any(new <= 0)):
            raise SchemaMismatchError(
                f"a shift of {float(self.delta):g} sqft leaves some houses with no living area "
                f"(smallest: {np.nanmin(old):g} sqft); give a smaller cut",
                column=_SQFT,
            )
        change = np.nan_to_num(new - old)
        u = rng.random((2, len(out)))
        for column, slope, step, draws in (
            ("bedrooms", BEDROOMS_PER_SQFT, 1.0, u[0]),
            ("bathrooms", BATHROOMS_PER_SQFT, 0.5, u[1]),
        ):
            values = out[column].to_numpy(dtype=np.float64, na_value=np.nan)
            moved = _follow(values, change * slope, step, draws)
            out[column] = pd.Series(moved, index=out.index, name=column).astype(out[column].dtype)
        if self.reprice:
            require_columns(out, [HOUSE_TARGET], "target")
            _reprice(out, before, change != 0, self.price_model, self.price_model)
        return out


@dataclass(frozen=True, slots=True)
class NewNeighbourhood:
    """A new neighbourhood takes a share of the houses from ``start`` on, at its own prices.

    Each row from ``start`` on moves to ``name`` with probability ``share`` (ramped to it at
    ``end``), exactly as :class:`~driftwarden.data.NewCategory` does; its other features stay.
    Its price then follows :attr:`drifted_model`, the price model with the new neighbourhood
    and ``price_effect`` added: it is multiplied by
    ``exp(price_effect - effect of the neighbourhood it left)``, keeping its noise.

    Parameters
    ----------
    name : str
        The new neighbourhood, not one the price model knows.
    share : float
        Share of the rows it takes at full strength, in (0, 1].
    start : TimeLike
        When it appears.
    end : TimeLike or None, optional
        When it reaches ``share``; by default at once.
    price_effect : float, optional
        Its log-price effect (Riverside's is +0.35, Mill District's -0.35).
    price_model : PriceModel, optional
        The ground truth that priced the houses.

    Raises
    ------
    ConfigError
        Naming the parameter that is invalid, or if ``name`` is already a neighbourhood.

    Examples
    --------
    >>> from driftwarden.data import generate_houses
    >>> houses = generate_houses(2000, seed=0)
    >>> times = pd.date_range("2024-01-01", periods=2000, freq="h")
    >>> scenario = NewNeighbourhood("Harbour View", 0.3, start="2024-01-01")
    >>> out = scenario.apply(houses, times, np.random.default_rng(0))
    >>> round(float((out["neighbourhood"] == "Harbour View").mean()), 1)
    0.3
    """

    name: str
    share: float
    start: TimeLike
    end: TimeLike | None = None
    price_effect: float = 0.0
    price_model: PriceModel = field(default_factory=PriceModel)

    def __post_init__(self) -> None:
        self._category()
        _check_price_model(self.price_model)
        self.price_model.with_neighbourhood(self.name, self.price_effect)

    def _category(self) -> NewCategory:
        return NewCategory(_NEIGHBOURHOOD, self.name, self.share, self.start, self.end)

    @property
    def drifted_model(self) -> PriceModel:
        """The ground truth of the changed rows: the price model with the new neighbourhood."""
        return self.price_model.with_neighbourhood(self.name, self.price_effect)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"new_category"`` injection on ``neighbourhood``, its magnitude the share."""
        (injection,) = self._category().injections
        description = f"{injection.description}, log-price effect {float(self.price_effect):+g}"
        return (replace(injection, description=description),)

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the new neighbourhood (see :meth:`Scenario.apply`)."""
        before, _, rng = prepare(frame, times, rng)
        out = self._category().apply(before, times, rng)
        require_columns(out, [HOUSE_TARGET], "target")
        moved = (out[_NEIGHBOURHOOD] == self.name) & (before[_NEIGHBOURHOOD] != self.name)
        _reprice(
            out,
            before,
            moved.to_numpy(dtype=bool, na_value=False),
            self.price_model,
            self.drifted_model,
        )
        return out


def house_scenario(
    name: str,
    *,
    start: TimeLike,
    end: TimeLike | None = None,
    price_model: PriceModel | None = None,
) -> Scenario:
    """Build a named house scenario (see :data:`HOUSE_SCENARIOS`).

    Parameters
    ----------
    name : str
        ``"bigger_houses"``, ``"market_shift"`` or ``"new_neighbourhood"``.
    start : TimeLike
        When the drift starts.
    end : TimeLike or None, optional
        When it reaches full strength (a ramp); by default at once.
    price_model : PriceModel or None, optional
        The ground truth of the houses' prices (the default :class:`PriceModel` when None).

    Returns
    -------
    Scenario
        :class:`SizeShift` of +400 sqft, :class:`~driftwarden.data.PriceShift` of ``price``
        by 1.15 in whole units, or :class:`NewNeighbourhood` "Harbour View" with share 0.2
        and log-price effect +0.30.

    Raises
    ------
    ConfigError
        If ``name`` is not a house scenario, or a time or the price model is invalid.

    Examples
    --------
    >>> [i.kind for i in house_scenario("market_shift", start="2024-07-01").injections]
    ['concept']
    """
    model = PriceModel() if price_model is None else price_model
    if name == "bigger_houses":
        return SizeShift(400.0, start, end, price_model=model)
    if name == "market_shift":
        _check_price_model(model)
        return PriceShift(HOUSE_TARGET, 1.15, start, end, decimals=0)
    if name == "new_neighbourhood":
        return NewNeighbourhood("Harbour View", 0.2, start, end, 0.3, price_model=model)
    raise ConfigError(
        f"unknown house scenario {name!r}; choose from {', '.join(sorted(HOUSE_SCENARIOS))}",
        key="scenario",
    )
