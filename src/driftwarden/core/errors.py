"""The exceptions that driftwarden raises.

Every error derives from :class:`DriftwardenError`, so ``except DriftwardenError`` catches
anything the package raised on purpose. Where a builtin already names the kind of failure, the
error subclasses it too, so callers that only know the standard library still catch it::

    DriftwardenError
    ├── ConfigError            (also ValueError) a setting, a config file or a schema document
    │                          is invalid; ``key`` names the offending setting when known
    ├── NotFoundError          (also LookupError) a model version, alias, feature, alert... does
    │                          not exist
    ├── StoreUnavailableError  the prediction store cannot be reached; retry or spool
    │   └── SpoolFullError     ...and the local spool cannot keep the rows either (its quota
    │                          or the disk is full); nothing was kept
    ├── RegistryError          the model registry failed or holds something unusable
    ├── SchemaMismatchError    (also ValueError) data does not match the feature schema;
    │                          ``column`` names the offending column when known
    ├── DataError              (also ValueError) data that cannot be trained or evaluated on:
    │                          empty, a target that is not binary, too few rows of a class
    ├── ConflictError          the action collides with one under way (a retraining that runs,
    │                          an A/B test already running); nothing was changed
    └── ClockError             (also ValueError) a clock was asked to go backwards or was given
                               a naive datetime

Third-party exceptions are translated where they enter the package and chained with
``raise ... from exc``, so the original traceback is kept. Messages say what was expected,
what came instead and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ClockError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "DriftwardenError",
    "NotFoundError",
    "RegistryError",
    "SchemaMismatchError",
    "SpoolFullError",
    "StoreUnavailableError",
]


class DriftwardenError(Exception):
    """Root of every exception raised on purpose by driftwarden."""


class ConfigError(DriftwardenError, ValueError):
    """A setting, a configuration file or a schema document is invalid.

    Parameters
    ----------
    message : str
        What was expected, what came, what to do.
    key : str or None, optional
        Dotted name of the offending setting (``"serving.port"``), when one is to blame.

    Examples
    --------
    >>> err = ConfigError("serving.port: expected an integer, got 'abc'", key="serving.port")
    >>> err.key
    'serving.port'
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class NotFoundError(DriftwardenError, LookupError):
    """A named thing (model version, alias, feature, alert...) does not exist."""


class StoreUnavailableError(DriftwardenError):
    """The prediction store cannot be reached (network, locked file, server down)."""


class SpoolFullError(StoreUnavailableError):
    """The store is unreachable and the local spool cannot keep more rows (its quota,
    ``store.spool_max_bytes``, or the disk is full): the rows were not kept."""


class RegistryError(DriftwardenError):
    """The model registry failed, or a registered version lacks what driftwarden needs."""


class SchemaMismatchError(DriftwardenError, ValueError):
    """Data does not match the feature schema.

    Parameters
    ----------
    message : str
        What was expected, what came, what to do.
    column : str or None, optional
        The first offending column, so that an API error can name the field.

    Examples
    --------
    >>> err = SchemaMismatchError("column 'tenure' is missing", column="tenure")
    >>> err.column
    'tenure'
    """

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class ClockError(DriftwardenError, ValueError):
    """A clock was given a naive datetime or asked to move backwards."""


class DataError(DriftwardenError, ValueError):
    """Data that cannot be trained or evaluated on: empty, a non-binary target, one class only."""


class ConflictError(DriftwardenError):
    """The action collides with one under way (one retraining or A/B test at a time)."""
