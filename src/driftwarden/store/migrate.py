"""Apply the store's Alembic migrations from code, with no ``alembic.ini``.

The migration environment lives inside the package (``driftwarden/store/migrations``), so an
installed driftwarden migrates its database with :func:`upgrade` alone.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from driftwarden.store.engine import is_outage, outage_error

__all__ = ["alembic_config", "downgrade", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# The PostgreSQL advisory lock that serialises migrations: replicas that start together would
# otherwise each run the same CREATE TABLE, and all but one fail. (Any fixed 64-bit number.)
_MIGRATION_LOCK = 0x647277_6D6967  # "drw" "mig"
# Alembic's command objects are not safe to run from two threads of one process at once.
_IN_PROCESS = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic configuration for the store's migrations.

    Parameters
    ----------
    connection : Connection or None, optional
        The connection the migrations run on; the environment refuses to run without one.

    Returns
    -------
    alembic.config.Config
        ``script_location`` points at the package's ``migrations`` folder.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store at ``engine`` up to ``revision`` (``alembic upgrade head``).

    Parameters
    ----------
    engine : Engine
        The store's engine (see :func:`driftwarden.store.create_store_engine`).
    revision : str, optional
        The target revision; the newest by default.

    Raises
    ------
    StoreUnavailableError
        The store cannot be reached (or stays locked); nothing was changed.
    """
    try:
        with _IN_PROCESS, engine.begin() as connection:
            _serialise(connection)
            command.upgrade(alembic_config(connection), revision)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        raise outage_error(
            engine, exc, "could not migrate the store", "start it, or correct store.url"
        ) from exc


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the store at ``engine`` down to ``revision`` (everything removed by default)."""
    with _IN_PROCESS, engine.begin() as connection:
        _serialise(connection)
        command.downgrade(alembic_config(connection), revision)


def _serialise(connection: Connection) -> None:
    """Wait for any other process's migration to commit first; the next one then finds the store
    at its revision.

    PostgreSQL: an advisory lock held to the end of the transaction. SQLite: the database's write
    lock, taken at once (``BEGIN IMMEDIATE``, waiting up to the busy timeout); without it the
    driver would run each DDL statement in a transaction of its own.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
