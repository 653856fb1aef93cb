from __future__ import annotations

import pytest

from driftwarden.core import errors
from driftwarden.core.errors import (
    ClockError,
    ConfigError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    SchemaMismatchError,
    StoreUnavailableError,
)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigError, ValueError),
        (NotFoundError, LookupError),
        (StoreUnavailableError, Exception),
        (RegistryError, Exception),
        (SchemaMismatchError, ValueError),
        (ClockError, ValueError),
    ],
)
def test_errors_derive_from_root_and_builtin(error: type[Exception], builtin: type[Exception]):
    assert issubclass(error, DriftwardenError)
    assert issubclass(error, builtin)
    with pytest.raises(builtin, match="boom"):
        raise error("boom")


def test_config_error_carries_the_key():
    assert ConfigError("bad").key is None
    assert ConfigError("bad", key="serving.port").key == "serving.port"


def test_schema_mismatch_error_carries_the_column():
    assert SchemaMismatchError("bad").column is None
    err = SchemaMismatchError("column 'tenure' is missing", column="tenure")
    assert err.column == "tenure"
    assert str(err) == "column 'tenure' is missing"


def test_errors_docstring_draws_every_error():
    assert errors.__doc__ is not None
    for name in errors.__all__:
        assert name in errors.__doc__
