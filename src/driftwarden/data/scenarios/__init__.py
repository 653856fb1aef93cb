"""Drift scenarios: composable, time-aware transformations of generated traffic.

A scenario takes a frame of traffic, one timestamp per row and a random generator, and returns
a new frame with drift injected in the rows whose time calls for it; the input is never
modified. Its :attr:`~Scenario.injections` say exactly what it injects: kind, start, the time
the drift reaches full strength, columns and magnitude, so a simulation can measure how long
detection took. They follow from the scenario's parameters alone, so they are known before the
traffic is, and the same scenario can be applied to a whole run at once or window by window.

================  ======================================================================
scenario          what changes (rows before ``start`` are never touched)
================  ======================================================================
GradualShift      a numeric feature's mean, ramped linearly from ``start`` to ``end``
SuddenShift       a numeric feature's mean, from instant ``at`` on
Seasonal          a numeric feature, by ``amplitude * sin(2 pi (t - start) / period)``
NewCategory       a categorical feature: a new level takes a given share of the rows
ConceptDrift      only the labels: they are redrawn from a changed label model
ClassBalance      the positive rate: rows are swapped for rows of the other class
PriceShift        only a numeric target: it is multiplied by a factor (a market moves)
================  ======================================================================

The three numeric scenarios and :class:`NewCategory` change features only, leaving the labels as
they were: the customer did not change, only what is measured about them did (a pipeline bug, a
new unit, a new code). Give them the generator's ``label_model`` to redraw the labels of the
changed rows instead, so that P(label | features) stays the same: a pure covariate shift.

Integer columns stay integers: a shift of ``d`` moves a value ``x`` to ``floor(x + d + u)``,
``u ~ U[0, 1)``, whose mean is exactly ``x + d`` (stochastic rounding).

Times may be naive (read as UTC) or aware (converted to UTC).

Examples
--------
>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"charges": [10.0, 10.0, 10.0]})
>>> times = np.array(["2024-01-01", "2024-01-05", "2024-01-09"], dtype="datetime64[ns]")
>>> shift = GradualShift("charges", delta=4.0, start="2024-01-03", end="2024-01-07")
>>> shift.apply(frame, times, np.random.default_rng(0))["charges"].tolist()
[10.0, 12.0, 14.0]
>>> shift.injections[0].kind, str(shift.injections[0].start)
('gradual', '2024-01-03 00:00:00+00:00')
"""

from driftwarden.data.scenarios._common import DurationLike, TimeLike, Times
from driftwarden.data.scenarios.base import Composition, DriftKind, Injection, Scenario, compose
from driftwarden.data.scenarios.features import GradualShift, NewCategory, Seasonal, SuddenShift
from driftwarden.data.scenarios.label_shifts import ClassBalance, ConceptDrift, Effect
from driftwarden.data.scenarios.price_shift import PriceShift

__all__ = [
    "ClassBalance",
    "Composition",
    "ConceptDrift",
    "DriftKind",
    "DurationLike",
    "Effect",
    "GradualShift",
    "Injection",
    "NewCategory",
    "PriceShift",
    "Scenario",
    "Seasonal",
    "SuddenShift",
    "TimeLike",
    "Times",
    "compose",
]
