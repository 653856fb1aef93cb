"""A scenario that changes a numeric target: the level of a price moves, the features do not."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import is_numeric, require_columns
from driftwarden.data.scenarios._common import (
    TimeLike,
    Times,
    check_column,
    check_end,
    check_real,
    prepare,
    ramp,
    span,
)
from driftwarden.data.scenarios.base import Injection

__all__ = ["PriceShift"]


@dataclass(frozen=True, slots=True)
class PriceShift:
    """Multiply a numeric target by ``factor`` from ``start`` on: a market moves, houses do not.

    A row at ramp weight ``w`` (0 before ``start``, rising linearly to 1 at ``end``) has its
    target multiplied by ``factor ** w``, so the level moves geometrically from 1 to ``factor``;
    the features are left as they are. This is concept drift for regression: the same house
    now sells for more.

    When the target was drawn from a log-linear model, ``y = exp(mu(x) + eps)``, the shifted
    value is exactly ``exp(mu(x) + w * log(factor) + eps)``: the same row priced by the model
    with its level multiplied by ``factor ** w``
    (:meth:`~driftwarden.data.price_model.PriceModel.scaled`), with the same noise ``eps``.
    Every statistic of the target given the features (median, mean, quantiles) is
    multiplied by ``factor ** w``; nothing else changes.

    Parameters
    ----------
    target : str
        The numeric target column (``"price"``). Missing values stay missing.
    factor : float
        The multiplier at full strength, above 0 and not 1 (1.15: prices up 15 %).
    start : TimeLike
        When the level starts to move.
    end : TimeLike or None, optional
        When it reaches ``factor``; by default at once.
    decimals : int or None, optional
        Round the shifted values to this many decimals (0 for whole currency units); None
        keeps them unrounded. An integer column is always rounded to whole numbers.

    Raises
    ------
    ConfigError
        Naming the parameter that is invalid.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"price": [100_000.0, 100_000.0, 100_000.0]})
    >>> times = np.array(["2024-01-01", "2024-01-05", "2024-01-09"], dtype="datetime64[ns]")
    >>> shift = PriceShift("price", factor=1.21, start="2024-01-03", end="2024-01-07")
    >>> shift.apply(frame, times, np.random.default_rng(0))["price"].round().tolist()
    [100000.0, 110000.0, 121000.0]
    >>> shift.injections[0].kind, round(shift.injections[0].magnitude, 2)
    ('concept', 0.21)
    """

    target: str
    factor: float
    start: TimeLike
    end: TimeLike | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        check_column(self.target, "target")
        factor = check_real(self.factor, "factor")
        if factor <= 0:
            raise ConfigError(f"factor must be above 0, got {self.factor!r}")
        if factor == 1:
            raise ConfigError("factor 1 changes nothing; give a factor above or below 1")
        check_end(self.start, self.end)
        if self.decimals is not None and (
            isinstance(self.decimals, bool)
            or not isinstance(self.decimals, int)
            or self.decimals < 0
        ):
            raise ConfigError(
                f"decimals must be a non-negative integer or None, got {self.decimals!r}"
            )

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"concept"`` injection on the target; its magnitude is ``factor - 1``.

        The magnitude is the relative change of the target's level (its mean, median and
        every quantile given the features) at full strength: 0.15 for prices up 15 %.
        """
        start, end = span(self.start, self.end)
        change = float(self.factor) - 1.0
        ramped = f", ramped until {end}" if end != start else ""
        return (
            Injection(
                kind="concept",
                start=start,
                end=end,
                columns=(self.target,),
                magnitude=change,
                description=(
                    f"{self.target} x{float(self.factor):g} ({change:+.0%}) for the same "
                    f"features from {start}{ramped}"
                ),
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the target scaled (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        require_columns(out, [self.target], "target")
        series = out[self.target]
        if not is_numeric(series):
            raise SchemaMismatchError(
                f"PriceShift needs a numeric target; {self.target!r} has dtype {series.dtype}",
                column=self.target,
            )
        weights = ramp(t, *span(self.start, self.end))
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        scaled = values * np.exp(weights * math.log(float(self.factor)))
        if pd.api.types.is_integer_dtype(series.dtype):
            scaled = np.round(scaled)
        elif self.decimals is not None:
            scaled = np.round(scaled, self.decimals)
        out[self.target] = pd.Series(
            np.where(weights > 0, scaled, values), index=out.index, name=self.target
        ).astype(series.dtype)
        return out
