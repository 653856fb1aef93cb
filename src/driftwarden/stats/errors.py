"""Errors raised by the statistics engine.

``driftwarden.stats`` stands alone (it imports nothing from the rest of driftwarden), so its
errors do too. Each subclasses the builtin a caller would expect::

    ValueError
    └── StatsError                  bad input to a statistic: wrong shape, NaN where none may be,
        │                           a window whose columns do not match the profile
        ├── InsufficientDataError   too few values to compute anything meaningful
        ├── ColumnMismatchError     a column missing from, or unexpected in, a window
        └── NotFittedError          (also AttributeError) a profile or detector used before fit
"""

from __future__ import annotations

__all__ = ["ColumnMismatchError", "InsufficientDataError", "NotFittedError", "StatsError"]


class StatsError(ValueError):
    """Input that a statistic cannot be computed on."""


class InsufficientDataError(StatsError):
    """Too few values: fewer than a statistic needs, or than the configured minimum."""


class ColumnMismatchError(StatsError):
    """A window's columns do not match the reference profile.

    Parameters
    ----------
    message : str
        What was expected, what came, what to do.
    column : str
        The first offending column, so that callers can name the field in an API error.
    """

    def __init__(self, message: str, *, column: str) -> None:
        super().__init__(message)
        self.column = column


class NotFittedError(StatsError, AttributeError):
    """An estimator was used before ``fit``/``update`` gave it state (as in scikit-learn)."""
