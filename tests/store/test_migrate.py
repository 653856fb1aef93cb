from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from driftwarden.core import ConfigError
from driftwarden.store import alembic_config, downgrade, metadata, upgrade


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_exactly_the_tables_of_the_metadata(engine: Engine):
    upgrade(engine)
    assert _diff(engine) == []
    names = set(inspect(engine).get_table_names())
    assert names == {"predictions", "labels", "alembic_version"}


def test_upgrade_creates_the_window_indexes(migrated: Engine):
    indexes = {
        ix["name"]: ix["column_names"] for ix in inspect(migrated).get_indexes("predictions")
    }
    assert indexes["ix_predictions_created_at"] == ["created_at"]
    assert indexes["ix_predictions_model_version_created_at"] == ["model_version", "created_at"]


def test_upgrade_twice_is_a_no_op(migrated: Engine):
    upgrade(migrated)
    assert _diff(migrated) == []


def test_downgrade_removes_the_tables(migrated: Engine):
    downgrade(migrated)
    assert set(inspect(migrated).get_table_names()) <= {"alembic_version"}
    upgrade(migrated)
    assert _diff(migrated) == []


def test_migration_environment_refuses_to_run_without_a_connection():
    with pytest.raises(ConfigError, match="run on a given connection"):
        command.upgrade(alembic_config(), "head")
