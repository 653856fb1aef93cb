from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from driftwarden.core import ConfigError, StoreUnavailableError
from driftwarden.store import check_reachable, create_store_engine
from driftwarden.store.engine import SQLITE_PAGE_SIZE


def test_create_store_engine_connects(engine: Engine):
    check_reachable(engine)


def test_create_store_engine_configures_the_backend(backend: str, engine: Engine, store_url: URL):
    with engine.connect() as connection:
        if backend == "sqlite":
            assert Path(str(store_url.database)).parent.is_dir()
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 2000
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA page_size")).scalar() == SQLITE_PAGE_SIZE
        else:
            assert engine.url.drivername == "postgresql+psycopg"
            assert connection.execute(text("SELECT 1")).scalar() == 1


def test_an_existing_sqlite_store_keeps_its_page_size(tmp_path: Path):
    path = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as connection:  # made before: SQLite's default pages, in WAL mode
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        default = connection.exec_driver_sql("PRAGMA page_size").scalar()
    old.dispose()
    assert default != SQLITE_PAGE_SIZE
    engine = create_store_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == default
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2", "postgresql+psycopg"])
def test_create_store_engine_uses_psycopg_3(scheme: str):
    engine = create_store_engine(f"{scheme}://user@db.example/prod")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_create_store_engine_rejects_other_databases():
    with pytest.raises(ConfigError, match="expected a sqlite:// or postgresql:// URL"):
        create_store_engine("mysql://user:secret@host/db")


def test_create_store_engine_rejects_an_unparsable_url():
    with pytest.raises(ConfigError, match="expected an SQLAlchemy URL"):
        create_store_engine("not a url")


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("inf")])
def test_create_store_engine_rejects_a_bad_timeout(timeout: float):
    with pytest.raises(ConfigError, match="expected a positive number"):
        create_store_engine("sqlite://", connect_timeout=timeout)


def test_create_store_engine_accepts_in_memory_sqlite():
    engine = create_store_engine("sqlite:///:memory:")
    check_reachable(engine)
    engine.dispose()


def test_check_reachable_raises_store_unavailable(backend: str, unreachable_url: str):
    # create_store_engine would already fail creating the SQLite folder; a plain engine fails
    # only on connect, as a database that went away does.
    if backend == "sqlite":
        engine = create_engine(unreachable_url)
    else:
        engine = create_store_engine(unreachable_url, connect_timeout=1)
    with pytest.raises(StoreUnavailableError, match="is not reachable") as info:
        check_reachable(engine)
    assert info.value.__cause__ is not None
    engine.dispose()
