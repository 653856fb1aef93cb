"""Alembic environment of the prediction store; run through :mod:`driftwarden.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from driftwarden.core import ConfigError
from driftwarden.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise ConfigError(
        "the store's migrations run on a given connection, got none; "
        "call driftwarden.store.migrate.upgrade(engine) instead of the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
