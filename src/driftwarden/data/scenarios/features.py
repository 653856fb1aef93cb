"""Scenarios that change features: numeric shifts, seasonality, a new category."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import is_numeric, require_columns
from driftwarden.data.labels import LabelModel
from driftwarden.data.scenarios._common import (
    DurationLike,
    TimeLike,
    Times,
    assign_rows,
    check_column,
    check_end,
    check_label_model,
    check_real,
    prepare,
    ramp,
    relabel,
    span,
    stamp_ns,
    to_timedelta,
    to_timestamp,
)
from driftwarden.data.scenarios.base import Injection

__all__ = ["GradualShift", "NewCategory", "Seasonal", "SuddenShift"]


def _numeric_column(frame: pd.DataFrame, column: str) -> pd.Series[Any]:
    require_columns(frame, [column], "drifting")
    series = frame[column]
    if not is_numeric(series):
        raise SchemaMismatchError(
            f"the column {column!r} must be numeric to shift its values, got dtype "
            f"{series.dtype}; use NewCategory for a categorical column",
            column=column,
        )
    return series


def _add_offsets(
    frame: pd.DataFrame,
    column: str,
    offsets: NDArray[np.float64],
    changed: NDArray[np.bool_],
    rng: np.random.Generator,
) -> None:
    """Add ``offsets`` to ``column`` in the ``changed`` rows, keeping its dtype."""
    series = _numeric_column(frame, column)
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    shifted = values + offsets
    if pd.api.types.is_integer_dtype(series.dtype):
        shifted = np.floor(shifted + rng.random(len(values)))
    frame[column] = pd.Series(
        np.where(changed, shifted, values), index=frame.index, name=column
    ).astype(series.dtype)


@dataclass(frozen=True, slots=True)
class GradualShift:
    """Shift a numeric feature's mean by ``delta``, ramped linearly from ``start`` to ``end``.

    A row at time ``t`` gets ``delta * clip((t - start) / (end - start), 0, 1)`` added; rows
    before ``start`` are untouched and every row from ``end`` on is shifted by ``delta``.

    Parameters
    ----------
    column : str
        The numeric feature.
    delta : float
        The shift at full strength, in the column's units.
    start, end : TimeLike
        The ramp, with ``end`` after ``start``.
    label_model : LabelModel or None, optional
        Redraw the labels of changed rows from it (see the module docstring).
    """

    column: str
    delta: float
    start: TimeLike
    end: TimeLike
    label_model: LabelModel | None = None

    def __post_init__(self) -> None:
        check_column(self.column)
        check_real(self.delta, "delta")
        if to_timestamp(self.end, "end") <= to_timestamp(self.start, "start"):
            raise ConfigError(
                f"end ({self.end!r}) must come after start ({self.start!r}); "
                "use SuddenShift for a change at one instant"
            )
        check_label_model(self.label_model)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"gradual"`` injection (see :class:`Injection`)."""
        start, end = to_timestamp(self.start, "start"), to_timestamp(self.end, "end")
        return (
            Injection(
                kind="gradual",
                start=start,
                end=end,
                columns=(self.column,),
                magnitude=float(self.delta),
                description=f"{self.column} mean {self.delta:+g}, ramped from {start} to {end}",
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the shift injected (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        weights = ramp(t, to_timestamp(self.start, "start"), to_timestamp(self.end, "end"))
        changed = weights > 0
        _add_offsets(out, self.column, self.delta * weights, changed, rng)
        relabel(out, changed, self.label_model, rng)
        return out


@dataclass(frozen=True, slots=True)
class SuddenShift:
    """Shift a numeric feature's mean by ``delta`` in every row from instant ``at`` on.

    Parameters
    ----------
    column : str
        The numeric feature.
    delta : float
        The shift, in the column's units.
    at : TimeLike
        The instant of the change; rows at exactly ``at`` are shifted.
    label_model : LabelModel or None, optional
        Redraw the labels of changed rows from it (see the module docstring).
    """

    column: str
    delta: float
    at: TimeLike
    label_model: LabelModel | None = None

    def __post_init__(self) -> None:
        check_column(self.column)
        check_real(self.delta, "delta")
        to_timestamp(self.at, "at")
        check_label_model(self.label_model)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"sudden"`` injection whose ``end`` equals its ``start``."""
        at = to_timestamp(self.at, "at")
        return (
            Injection(
                kind="sudden",
                start=at,
                end=at,
                columns=(self.column,),
                magnitude=float(self.delta),
                description=f"{self.column} mean {self.delta:+g} from {at}",
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the shift injected (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        at = to_timestamp(self.at, "at")
        weights = ramp(t, at, at)
        changed = weights > 0
        _add_offsets(out, self.column, self.delta * weights, changed, rng)
        relabel(out, changed, self.label_model, rng)
        return out


@dataclass(frozen=True, slots=True)
class Seasonal:
    """Add a periodic swing to a numeric feature from ``start`` on.

    A row at time ``t >= start`` gets ``amplitude * sin(2 pi (t - start) / period + phase)``
    added: with the default phase the swing starts at 0, peaks a quarter period later and
    repeats every ``period``.

    Parameters
    ----------
    column : str
        The numeric feature.
    amplitude : float
        Height of the swing, in the column's units.
    period : DurationLike
        Length of one cycle (``"1D"`` for a daily pattern, ``"7D"`` for a weekly one).
    start : TimeLike
        When the pattern appears.
    phase : float, optional
        Phase at ``start``, in radians.
    label_model : LabelModel or None, optional
        Redraw the labels of changed rows from it (see the module docstring).
    """

    column: str
    amplitude: float
    period: DurationLike
    start: TimeLike
    phase: float = 0.0
    label_model: LabelModel | None = None

    def __post_init__(self) -> None:
        check_column(self.column)
        check_real(self.amplitude, "amplitude")
        check_real(self.phase, "phase")
        to_timedelta(self.period, "period")
        to_timestamp(self.start, "start")
        check_label_model(self.label_model)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"seasonal"`` injection, with no ``end`` and the ``period`` set."""
        start, period = to_timestamp(self.start, "start"), to_timedelta(self.period, "period")
        return (
            Injection(
                kind="seasonal",
                start=start,
                end=None,
                columns=(self.column,),
                magnitude=float(self.amplitude),
                description=(
                    f"{self.column} swings by ±{self.amplitude:g} every {period} from {start}"
                ),
                period=period,
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the swing injected (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        start = stamp_ns(to_timestamp(self.start, "start"))
        period = int(to_timedelta(self.period, "period").as_unit("ns").value)
        changed = t >= start
        # Whole periods are removed in integers first, so float precision holds for years.
        angle = 2 * math.pi * ((t - start) % period).astype(np.float64) / period + self.phase
        offsets = np.where(changed, self.amplitude * np.sin(angle), 0.0)
        _add_offsets(out, self.column, offsets, changed, rng)
        relabel(out, changed, self.label_model, rng)
        return out


@dataclass(frozen=True, slots=True)
class NewCategory:
    """Make a new level of a categorical feature take a share of the rows from ``start`` on.

    Each row after ``start`` switches to ``category`` with probability ``share`` (times the
    ramp weight when ``end`` is given: adoption grows linearly to ``share`` at ``end``). A
    ``category``-dtype column gets the new level added to its categories.

    Parameters
    ----------
    column : str
        The categorical feature (text, object or category dtype).
    category : str
        The new level, e.g. ``"Digital wallet"`` for ``PaymentMethod``.
    share : float
        Share of rows that take the new level at full strength, in (0, 1].
    start : TimeLike
        When the level appears.
    end : TimeLike or None, optional
        When it reaches ``share``; by default at once.
    label_model : LabelModel or None, optional
        Redraw the labels of changed rows from it (see the module docstring). The model has
        never seen the level, which therefore adds nothing to the logit.
    """

    column: str
    category: str
    share: float
    start: TimeLike
    end: TimeLike | None = None
    label_model: LabelModel | None = None

    def __post_init__(self) -> None:
        check_column(self.column)
        if not isinstance(self.category, str) or not self.category:
            raise ConfigError(f"category must be a non-empty string, got {self.category!r}")
        if check_real(self.share, "share", low=0.0, high=1.0) == 0.0:
            raise ConfigError("share must be above 0: a category that never appears is no drift")
        check_end(self.start, self.end)
        check_label_model(self.label_model)

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"new_category"`` injection whose magnitude is the share."""
        start, end = span(self.start, self.end)
        return (
            Injection(
                kind="new_category",
                start=start,
                end=end,
                columns=(self.column,),
                magnitude=float(self.share),
                description=(
                    f"{self.column} = {self.category!r} in {self.share:.0%} of rows from {start}"
                ),
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the new level injected (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        require_columns(out, [self.column], "categorical")
        series = out[self.column]
        dtype: Any = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if self.category not in dtype.categories:
                dtype = pd.CategoricalDtype([*dtype.categories, self.category], dtype.ordered)
        elif not (
            pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
        ) or pd.api.types.is_bool_dtype(series):
            raise SchemaMismatchError(
                f"NewCategory needs a categorical column (text or category dtype); "
                f"{self.column!r} has dtype {dtype}",
                column=self.column,
            )
        weights = ramp(t, *span(self.start, self.end))
        changed = rng.random(len(out)) < self.share * weights
        assign_rows(out, self.column, changed, self.category, dtype)
        relabel(out, changed, self.label_model, rng)
        return out
