"""Apply the store's Alembic migrations from code, with no ``alembic.ini``.

The migration environment lives inside the package (``driftwarden/store/migrations``), so an
installed driftwarden migrates its database with :func:`upgrade` alone.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

__all__ = ["alembic_config", "downgrade", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
    """
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the store at ``engine`` down to ``revision`` (everything removed by default)."""
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
