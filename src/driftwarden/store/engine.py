"""Engines for the prediction store: SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pydantic_core
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from driftwarden.core import ConfigError, StoreUnavailableError

__all__ = ["check_reachable", "create_store_engine"]


def is_outage(exc: DBAPIError) -> bool:
    """Whether ``exc`` means the database cannot be reached (or is locked), rather than that it
    refused what was sent: the one test of every store call that turns an outage into
    :class:`~driftwarden.core.StoreUnavailableError`."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def outage_error(engine: Engine, exc: DBAPIError, failed: str, then: str) -> StoreUnavailableError:
    """The error of a store call that met an outage: what ``failed``, where, why, and what to do
    ``then`` (the password never appears)."""
    where = engine.url.render_as_string(hide_password=True)
    return StoreUnavailableError(
        f"{failed}: the prediction store at {where} is not reachable ({exc.orig}); {then}"
    )


#: Bytes per page of a new SQLite store. Every commit writes each page it changed to the WAL
#: whole: the table's last leaf and a leaf of each index, for a group of a few predictions of
#: about 700 bytes each. With SQLite's default 4 KiB pages that was 5.7 KB of WAL per logged row;
#: with 1 KiB pages the WAL carries about a quarter of it, and serving at concurrency 8 with the
#: durable log ran at 1,610 instead of 1,343 requests/s (p99 8.4 instead of 18.0 ms; 1,740 and
#: 8.0 ms without the log), median of five alternating rounds on this project's 2-core virtual
#: machine, whose disk writes its host serves. The price: a row fills a page of its own, so the
#: file holds about 1.1 KB per logged row instead of 0.7 KB.
SQLITE_PAGE_SIZE = 1024


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # Only a new, empty database takes it (an existing one keeps its page size). See
            # SQLITE_PAGE_SIZE.
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            # WAL lets readers run beside the writer; NORMAL is durable in WAL mode except
            # against power loss of the last transactions, at a fraction of FULL's cost.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    return on_connect


def _json_text(value: Any) -> str:
    """JSON text of a value (the features of a logged prediction), written by pydantic-core in
    a quarter of the time ``json.dumps`` takes; NaN and infinity are written as ``json.dumps``
    writes them."""
    return pydantic_core.to_json(value).decode()


def _parse(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"store.url: expected an SQLAlchemy URL such as sqlite:///path/to.db or "
            f"postgresql://user@host/db, got {str(url)!r}",
            key="store.url",
        ) from exc


def create_store_engine(url: str | URL, *, connect_timeout: float = 5.0) -> Engine:
    """Create the engine of the prediction store.

    Parameters
    ----------
    url : str or URL
        ``sqlite:///path/to.db`` or ``postgresql://...``; ``postgresql://`` and
        ``postgresql+psycopg2://`` are rewritten to use psycopg 3 (``postgresql+psycopg://``).
    connect_timeout : float, optional
        Seconds to wait for a connection (PostgreSQL) or for a lock (SQLite busy timeout).

    Returns
    -------
    Engine
        Not yet connected; see :func:`check_reachable`.

    Raises
    ------
    ConfigError
        If the URL cannot be parsed, names another database, or the timeout is not positive.

    Notes
    -----
    SQLite connections use WAL mode, ``synchronous=NORMAL``, a busy timeout and foreign keys;
    the database file's folder is created, and a new database gets pages of
    :data:`SQLITE_PAGE_SIZE` bytes.
    """
    if not connect_timeout > 0 or not math.isfinite(connect_timeout):
        raise ConfigError(
            f"store.connect_timeout_seconds: expected a positive number, got {connect_timeout!r}",
            key="store.connect_timeout_seconds",
        )
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": connect_timeout}, json_serializer=_json_text
        )
        event.listen(engine, "connect", _sqlite_pragmas(int(connect_timeout * 1000)))
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            json_serializer=_json_text,
            # libpq takes whole seconds and treats anything below 2 as 2.
            connect_args={"connect_timeout": max(2, math.ceil(connect_timeout))},
        )
    raise ConfigError(
        f"store.url: expected a sqlite:// or postgresql:// URL, got the {backend!r} backend "
        f"in {parsed.render_as_string(hide_password=True)!r}",
        key="store.url",
    )


def check_reachable(engine: Engine) -> None:
    """Open a connection and run ``SELECT 1``.

    Raises
    ------
    StoreUnavailableError
        If the database cannot be reached (server down, wrong host, locked or missing file).
    """
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:  # OperationalError is a DBAPIError
        where = engine.url.render_as_string(hide_password=True)
        raise StoreUnavailableError(
            f"the prediction store at {where} is not reachable: {exc.orig}; "
            "check that the database is running and the URL is right"
        ) from exc
