"""Scenarios that change labels: concept drift and class balance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftwarden.core.errors import ConfigError, SchemaMismatchError
from driftwarden.data._checks import require_columns
from driftwarden.data.labels import LabelModel, level_labels, sigmoid
from driftwarden.data.scenarios._common import (
    TimeLike,
    Times,
    assign_rows,
    check_column,
    check_end,
    check_real,
    prepare,
    ramp,
    span,
)
from driftwarden.data.scenarios.base import Injection

__all__ = ["ClassBalance", "ConceptDrift", "Effect"]

Effect: TypeAlias = float | Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ConceptDrift:
    """Change the relationship between features and label; the features stay as they are.

    Rows from ``start`` on get new labels drawn from a changed logit. With ``z`` the label
    model's logit and ``b`` its intercept, the logit at full strength is::

        z' = b + scale * (z - b) + shift + sum of effects

    and a row at ramp weight ``w`` uses ``z + w * (z' - z)``. ``scale = -1`` inverts every
    learned effect (the loyal churn, the churners stay), ``scale = 0`` makes labels
    independent of the features, ``shift`` moves the log-odds of every row alike, and
    ``effects`` add terms of their own.

    Parameters
    ----------
    label_model : LabelModel
        The ground truth that labelled the traffic (``RowGenerator.label_model``).
    start : TimeLike
        When the relationship starts to change.
    end : TimeLike or None, optional
        When the change reaches full strength; by default at once.
    shift : float, optional
        Added to every logit.
    scale : float, optional
        Multiplies the learned effects of the features.
    effects : Mapping, optional
        Extra logit terms per feature: for a numeric feature, a weight per training standard
        deviation from the training mean (``{"tenure": 1.0}``: long-standing customers now
        churn more); for a categorical feature, a mapping of level to logit change
        (``{"Contract": {"Two year": 2.0}}``); levels not given get 0.

    Raises
    ------
    ConfigError
        If nothing would change, a number is not finite, or an effect names a column that
        is not a feature of the label model or has the wrong form for its kind.
    """

    label_model: LabelModel
    start: TimeLike
    end: TimeLike | None = None
    shift: float = 0.0
    scale: float = 1.0
    effects: Mapping[str, Effect] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.label_model, LabelModel):
            raise ConfigError(
                f"label_model must be a LabelModel, got {type(self.label_model).__name__}"
            )
        check_real(self.shift, "shift")
        check_real(self.scale, "scale")
        check_end(self.start, self.end)
        if not isinstance(self.effects, Mapping):
            raise ConfigError(f"effects must be a mapping, got {type(self.effects).__name__}")
        for column, effect in self.effects.items():
            self._check_effect(column, effect)
        if self.shift == 0.0 and self.scale == 1.0 and not self.effects:
            raise ConfigError(
                "this ConceptDrift changes nothing; give a shift, a scale other than 1 or effects"
            )

    def _check_effect(self, column: str, effect: object) -> None:
        model = self.label_model
        if column in model.weights:
            check_real(effect, f"effects[{column!r}]")
        elif column in model.levels:
            if not isinstance(effect, Mapping):
                raise ConfigError(
                    f"effects[{column!r}]: {column!r} is categorical; give a mapping of level "
                    f"to logit change, got {effect!r}"
                )
            for level, change in effect.items():
                check_real(change, f"effects[{column!r}][{level!r}]")
        else:
            raise ConfigError(
                f"effects: {column!r} is not a feature of the label model (features: "
                f"{', '.join(map(repr, model.features))})"
            )

    def drifted_logit(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Return the logit of each row at full strength (``z'`` above)."""
        model = self.label_model
        z = model.logit(frame)
        drifted = model.intercept + self.scale * (z - model.intercept) + self.shift
        for column, effect in self.effects.items():
            if isinstance(effect, Mapping):
                changes = pd.Series(level_labels(frame[column])).map(dict(effect))
                drifted += changes.fillna(0.0).to_numpy(dtype=np.float64)
            else:
                drifted += float(effect) * model.standardised(frame, column)
        return drifted

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"concept"`` injection on the target; see :class:`Injection` for magnitude."""
        start, end = span(self.start, self.end)
        reference = self.label_model.reference
        before = self.label_model.probability(reference)
        after = sigmoid(self.drifted_logit(reference))
        return (
            Injection(
                kind="concept",
                start=start,
                end=end,
                columns=(self.label_model.target,),
                magnitude=float(np.mean(np.abs(after - before))),
                description=(
                    f"P({self.label_model.target} = {self.label_model.positive!r} | features) "
                    f"changed (shift {self.shift:+g}, scale {self.scale:g}, "
                    f"effects on {sorted(self.effects)}) from {start}"
                ),
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with relabelled rows (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        require_columns(out, [self.label_model.target], "target")
        weights = ramp(t, *span(self.start, self.end))
        changed = weights > 0
        if not bool(changed.any()):
            return out
        rows = out.iloc[np.flatnonzero(changed)]
        z = self.label_model.logit(rows)
        w = weights[changed]
        probabilities = sigmoid(z + w * (self.drifted_logit(rows) - z))
        labels = self.label_model.draw(probabilities, rng, index=rows.index)
        assign_rows(out, self.label_model.target, changed, labels.to_numpy(dtype=object))
        return out


@dataclass(frozen=True, slots=True)
class ClassBalance:
    """Move the positive rate to ``rate`` from ``start`` on (prior shift, P(x | y) kept).

    Among the rows from ``start`` on, with ``p`` their positive rate, the goal at ramp weight
    ``w`` is ``p + w * (rate - p)``. To raise the rate, each negative row is replaced, with
    probability ``(goal - p) / (1 - p)``, by a copy of a random positive row from ``start``
    on; lowering it works the other way round. The expected positive rate is then exactly
    the goal, and each class keeps its own feature distribution, so features correlated with
    the label drift as a consequence. A replaced row keeps its time and the ``keep`` columns.

    Parameters
    ----------
    target : str
        The label column.
    positive : object
        The positive label (``"Yes"`` for Telco).
    rate : float
        Positive rate at full strength, in [0, 1].
    start : TimeLike
        When the rate starts to move.
    end : TimeLike or None, optional
        When it reaches ``rate``; by default at once.
    keep : tuple of str, optional
        Columns that belong to the request rather than the customer and so are not copied:
        the entity id, a timestamp column.
    """

    target: str
    positive: Any
    rate: float
    start: TimeLike
    end: TimeLike | None = None
    keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_column(self.target, "target")
        check_real(self.rate, "rate", low=0.0, high=1.0)
        check_end(self.start, self.end)
        if isinstance(self.keep, str) or not all(isinstance(c, str) for c in self.keep):
            raise ConfigError(f"keep must be a tuple of column names, got {self.keep!r}")
        if self.target in self.keep:
            raise ConfigError(f"the target {self.target!r} cannot be in keep")

    @property
    def injections(self) -> tuple[Injection, ...]:
        """One ``"class_balance"`` injection on the target, magnitude the rate reached."""
        start, end = span(self.start, self.end)
        return (
            Injection(
                kind="class_balance",
                start=start,
                end=end,
                columns=(self.target,),
                magnitude=float(self.rate),
                description=(
                    f"share of {self.target} = {self.positive!r} moves to {self.rate:.1%} "
                    f"from {start}"
                ),
            ),
        )

    def apply(self, frame: pd.DataFrame, times: Times, rng: np.random.Generator) -> pd.DataFrame:
        """Return a copy of ``frame`` with rows swapped (see :meth:`Scenario.apply`)."""
        out, t, rng = prepare(frame, times, rng)
        require_columns(out, [self.target, *self.keep], "class balance")
        weights = ramp(t, *span(self.start, self.end))
        affected = weights > 0
        if not bool(affected.any()):
            return out
        positive = (out[self.target] == self.positive).to_numpy(dtype=bool, na_value=False)
        current = float(positive[affected].mean())
        goal = current + weights * (self.rate - current)
        if self.rate > current:
            candidates, donors = affected & ~positive, affected & positive
            chance = (goal - current) / (1.0 - current)
        elif self.rate < current:
            candidates, donors = affected & positive, affected & ~positive
            chance = (current - goal) / current
        else:
            return out
        replaced = candidates & (rng.random(len(out)) < chance)
        if not bool(replaced.any()):
            return out
        if not bool(donors.any()):
            wanted = "positive" if self.rate > current else "negative"
            raise SchemaMismatchError(
                f"no {wanted} row from {self.start} on to copy: ClassBalance reweights the "
                "classes present in the traffic and cannot invent one",
                column=self.target,
            )
        sources = rng.choice(np.flatnonzero(donors), size=int(replaced.sum()))
        for column in out.columns:
            if column not in self.keep:
                copied = out[column].to_numpy(dtype=object)[sources]
                assign_rows(out, str(column), replaced, copied)
        return out
