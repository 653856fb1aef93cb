"""The scenario protocol, the record of an injection, and composition of scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
import pandas as pd

from driftwarden.core.errors import ConfigError
from driftwarden.data.scenarios._common import Times, prepare

__all__ = ["Composition", "DriftKind", "Injection", "Scenario", "compose"]

DriftKind: TypeAlias = Literal[
    "class_balance", "concept", "gradual", "new_category", "seasonal", "sudden"
]
"""The kinds of drift a scenario injects."""


@dataclass(frozen=True, slots=True)
class Injection:
    """What a scenario injects, where and when: the ground truth of a drift detector.

    Parameters
    ----------
    kind : DriftKind
        ``"gradual"``, ``"sudden"``, ``"seasonal"``, ``"new_category"``, ``"concept"`` or
        ``"class_balance"``.
    start : Timestamp
        The first instant at which rows are changed (UTC). Rows before it are untouched.
    end : Timestamp or None
        The instant the drift reaches full strength and stays there (UTC); equal to
        ``start`` for a step change; None for seasonal drift, which never settles.
    columns : tuple of str
        The columns whose values or distribution the scenario changes: the feature for the
        feature scenarios, the target for ``"concept"`` and ``"class_balance"``.
    magnitude : float
        Size at full strength: the mean shift in column units for ``"gradual"`` and
        ``"sudden"``, the amplitude for ``"seasonal"``, the share of rows for
        ``"new_category"``, the positive rate reached for ``"class_balance"``, and for
        ``"concept"`` the mean absolute change of P(positive) over the label model's
        reference rows.
    description : str
        One line for people.
    period : Timedelta or None, optional
        The period of seasonal drift.
    """

    kind: DriftKind
    start: pd.Timestamp
    end: pd.Timestamp | None
    columns: tuple[str, ...]
    magnitude: float
    description: str
    period: pd.Timedelta | None = None


@runtime_checkable
class Scenario(Protocol):
    """Anything that injects drift into traffic and records what it injected."""

    @property
    def injections(self) -> tuple[Injection, ...]:
        """What the scenario injects, in the order it applies them."""
        ...

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with the drift injected.

        Parameters
        ----------
        frame : DataFrame
            Traffic, one row per request; any index (rows are matched to ``times`` by
            position). It may be empty.
        times : datetime64 array, Series, DatetimeIndex or list of datetimes
            The time of each row.
        rng : numpy.random.Generator
            The only source of randomness: the same generator state gives the same result.

        Raises
        ------
        SchemaMismatchError
            If a column the scenario needs is missing or of the wrong kind, or ``times``
            does not give one time per row.
        ConfigError
            If ``rng`` is not a numpy Generator.
        """
        ...


@dataclass(frozen=True, slots=True)
class Composition:
    """Scenarios applied one after the other (build it with :func:`compose`).

    Parameters
    ----------
    scenarios : tuple of Scenario
        In the order they are applied; each sees the output of the previous one.
    """

    scenarios: tuple[Scenario, ...]

    @property
    def injections(self) -> tuple[Injection, ...]:
        """The injections of every scenario, in the order they are applied."""
        return tuple(i for scenario in self.scenarios for i in scenario.injections)

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Apply every scenario in order, sharing ``rng`` (see :meth:`Scenario.apply`)."""
        out, _, rng = prepare(frame, times, rng)
        for scenario in self.scenarios:
            out = scenario.apply(out, times, rng)
        return out


def compose(*scenarios: Scenario) -> Composition:
    """Combine scenarios into one that applies them in order and merges their injections.

    Order matters where scenarios touch the same rows: put :class:`ClassBalance` first so
    that the rows it copies then receive the other drifts of their own time, and
    :class:`ConceptDrift` after feature shifts so that it labels the shifted features.
    ``compose()`` with no scenario is the no-drift baseline: it returns copies unchanged.

    Raises
    ------
    ConfigError
        If an argument is not a scenario (it lacks ``apply`` or ``injections``).

    Examples
    --------
    >>> from driftwarden.data.scenarios import Seasonal, SuddenShift
    >>> drift = compose(
    ...     SuddenShift("tenure", delta=12, at="2024-03-01"),
    ...     Seasonal("MonthlyCharges", amplitude=5.0, period="7D", start="2024-02-01"),
    ... )
    >>> [i.kind for i in drift.injections]
    ['sudden', 'seasonal']
    """
    for scenario in scenarios:
        if not isinstance(scenario, Scenario):
            raise ConfigError(
                f"compose() takes scenarios (objects with apply() and injections), got "
                f"{type(scenario).__name__}"
            )
    return Composition(tuple(scenarios))
