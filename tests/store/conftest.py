"""Fixtures of the store tests: every test runs on SQLite and on PostgreSQL.

The PostgreSQL variant gives each test its own freshly created schema (through ``search_path``)
and drops it afterwards. Without a server it is skipped with the reason, never passed.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from driftwarden.store import PredictionRow, create_store_engine, upgrade

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(
    autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The database of this test; the PostgreSQL variant skips when the server is absent."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_admin")
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> URL:
    """A URL of an empty database: a file under tmp_path, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'db' / 'store.db'}")
    url: URL = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def engine(store_url: URL) -> Iterator[Engine]:
    """An engine on the empty database."""
    engine = create_store_engine(store_url, connect_timeout=2)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """The engine, with the migrations applied."""
    upgrade(engine)
    return engine


@pytest.fixture
def unreachable_url(backend: str, tmp_path: Path) -> str:
    """A URL whose database cannot be opened: a file path through a file, or a closed port."""
    if backend == "sqlite":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        return f"sqlite:///{blocker / 'store.db'}"
    return CLOSED_PORT_URL


@pytest.fixture
def unreachable_engine(backend: str, tmp_path: Path, unreachable_url: str) -> Iterator[Engine]:
    """An engine whose database cannot be opened: on SQLite a folder where the database file
    should be (made after the engine, which creates the file's parent folder), on PostgreSQL a
    closed port."""
    if backend == "sqlite":
        database = tmp_path / "gone" / "store.db"
        engine = create_store_engine(f"sqlite:///{database}", connect_timeout=1)
        database.mkdir()
    else:
        engine = create_store_engine(unreachable_url, connect_timeout=1)
    yield engine
    engine.dispose()


class TcpProxy:
    """Forwards a local port to PostgreSQL; ``down()`` refuses and cuts connections for real."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        self._stop.clear()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, args=(self._server,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._server is not None:
            self._server.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class Outage:
    """Makes the database really unreachable for one engine, and brings it back."""

    def __init__(self, engine: Engine, down: Any, up: Any) -> None:
        self.engine = engine
        self._down = down
        self._up = up

    def down(self) -> None:
        self._down()

    def up(self) -> None:
        self._up()


@pytest.fixture
def outage(backend: str, store_url: URL, migrated: Engine) -> Iterator[Outage]:
    """SQLite: another connection holds an exclusive lock. PostgreSQL: the proxy goes away."""
    if backend == "sqlite":
        engine = create_store_engine(store_url, connect_timeout=0.2)
        holder: list[sqlite3.Connection] = []

        def lock() -> None:
            connection = sqlite3.connect(str(store_url.database), isolation_level=None)
            connection.execute("BEGIN EXCLUSIVE")
            holder.append(connection)

        def unlock() -> None:
            holder.pop().close()

        yield Outage(engine, lock, unlock)
        for connection in holder:
            connection.close()
        engine.dispose()
        return
    proxy = TcpProxy(store_url.host or "127.0.0.1", store_url.port or 5432)
    proxy.up()
    engine = create_store_engine(
        store_url.set(host="127.0.0.1", port=proxy.port), connect_timeout=2
    )
    yield Outage(engine, proxy.down, proxy.up)
    engine.dispose()
    proxy.down()


def _make_row(
    index: int, *, minutes: float | None = None, version: int = 1, **changes: Any
) -> PredictionRow:
    """A prediction row numbered ``index``, created ``minutes`` (default ``index``) after START."""
    values: dict[str, Any] = {
        "request_id": f"req-{index:05d}",
        "created_at": START + timedelta(minutes=index if minutes is None else minutes),
        "model_version": version,
        "variant": "champion",
        "features": {"tenure": index, "contract": "month"},
        "score": index / 1000,
        "label": index % 2,
        "latency_ms": 1.5,
        "entity_id": f"cust-{index}",
    }
    values.update(changes)
    return PredictionRow(**values)


@pytest.fixture(name="make_row")
def make_row_fixture() -> Any:
    """The factory of test rows (see ``_make_row``)."""
    return _make_row
