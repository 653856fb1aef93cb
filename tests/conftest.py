"""Fixtures every test folder may use: a fresh PostgreSQL schema, or a skip that says why.

Without a server at 127.0.0.1:5432 the PostgreSQL tests are skipped with the reason, never
passed; where CI promised a server (``DRIFTWARDEN_REQUIRE_POSTGRES=1``) they fail instead.
"""

from __future__ import annotations

import atexit
import getpass
import importlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url

# Each test process gets its own Prefect home (its ephemeral API server keeps a SQLite database
# there): two test workers sharing one would lock each other out. Set before Prefect is imported.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="driftwarden-test-prefect-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)
# The multivariate and explanation measures (on by default in the product) cost a monitor run
# about half a second a version, and the suite's hundreds of monitor runs test other things:
# off here, and on in the tests of those measures, which say so explicitly.
os.environ.setdefault("DRIFTWARDEN_MONITOR__MULTIVARIATE__ENABLED", "false")
os.environ.setdefault("DRIFTWARDEN_MONITOR__EXPLANATION__ENABLED", "false")
# `driftwarden serve` runs one worker per core by default; the tests that start a server want one
# process each (tests/cli/test_serve_workers.py asks for two).
os.environ.setdefault("DRIFTWARDEN_SERVING__WORKERS", "1")

# MLflow makes a new SQLite tracking database by running its Alembic migrations (several
# dozen): 3-5 s of every test that opens a registry in a fresh folder, hundreds of times a run.
# Each test process migrates one database for real, once, and copies it (SQLite's backup API)
# into every new, empty one: the same tables, indexes and schema version, which MLflow then
# verifies and uses as it would any database it made. Any other database (PostgreSQL, one that
# already has tables, in memory) is migrated by MLflow as usual.
_MLFLOW_INITIALIZERS = ("mlflow.store.db.utils", "mlflow.store.model_registry.sqlalchemy_store")
_mlflow_template: dict[str, Any] = {}


def _migrated_mlflow_database() -> Path:
    if "path" not in _mlflow_template:
        folder = tempfile.mkdtemp(prefix="driftwarden-test-mlflow-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = Path(folder) / "mlflow.db"
        engine = create_engine(f"sqlite:///{path}")
        try:
            _mlflow_template["migrate"](engine)
        finally:
            engine.dispose()
        _mlflow_template["path"] = path
    return _mlflow_template["path"]  # type: ignore[no-any-return]


def _initialize_mlflow_tables(engine: Engine) -> None:
    """MLflow's ``_initialize_tables``, by copy for a new SQLite database file."""
    if (
        engine.dialect.name != "sqlite"
        or engine.url.database in (None, "", ":memory:")
        or inspect(engine).get_table_names()
    ):
        _mlflow_template["migrate"](engine)
        return
    template = sqlite3.connect(_migrated_mlflow_database())
    try:
        with engine.connect() as connection:
            database = connection.connection.driver_connection
            assert isinstance(database, sqlite3.Connection)
            template.backup(database)
    finally:
        template.close()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Route MLflow's table creation through ``_initialize_mlflow_tables`` once MLflow is
    imported (the registry store binds the function at import, so both modules are patched)."""
    for name in _MLFLOW_INITIALIZERS:
        module = sys.modules.get(name)
        current = getattr(module, "_initialize_tables", None)
        if current is None or current is _initialize_mlflow_tables:
            continue
        _mlflow_template.setdefault("migrate", current)
        module._initialize_tables = _initialize_mlflow_tables  # type: ignore[union-attr]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, start each worker on its share of the ``slow`` tests.

    ``--dist worksteal`` (``make test``) hands each of N workers one N-th of the collection, in
    order, and idle workers steal from the end of the others' queues. Left in place, the
    minute-long tests (the simulations, the dashboard's seeded API, the demo) run last and one
    worker finishes minutes after the others; here they are dealt out, a folder at a time (its
    tests share its conftest's fixtures, such as the dashboard's seeded API), to the heads of
    the N shares, and the fast tests fill the rest.
    Every worker collects the same order, as pytest-xdist requires; one process keeps the
    order as it was."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers < 2:
        return
    folders: dict[Path, list[pytest.Item]] = {}
    for item in items:
        if item.get_closest_marker("slow") is not None:
            folders.setdefault(item.path.parent, []).append(item)
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for folder in sorted(folders.values(), key=len, reverse=True):
        min(shares, key=len).extend(folder)
    slow = {id(item) for share in shares for item in share}
    rest = [item for item in items if id(item) not in slow]
    ordered: list[pytest.Item] = []
    left = len(items)
    for index, share in enumerate(shares):
        size = left // (workers - index)  # the share worksteal sends this worker first
        left -= size
        take = max(size - len(share), 0)
        ordered += share + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


POSTGRES_URL = os.environ.get(
    "DRIFTWARDEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

_admin: dict[str, Any] = {}


def unreachable(error: object) -> NoReturn:
    """Skip the PostgreSQL tests, or fail them where CI promised a server."""
    message = f"PostgreSQL not reachable at 127.0.0.1:5432: {error}"
    if os.environ.get("DRIFTWARDEN_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{message} (DRIFTWARDEN_REQUIRE_POSTGRES=1: CI must run these tests)")
    pytest.skip(message)


def postgres_admin_url() -> URL:
    """Return a URL that connects, trying user postgres and then the OS user; else skip."""
    if "url" in _admin:
        return _admin["url"]  # type: ignore[no-any-return]
    if "error" in _admin:
        unreachable(_admin["error"])
    base = make_url(POSTGRES_URL)
    candidates = [base]
    if "DRIFTWARDEN_TEST_POSTGRES_URL" not in os.environ:
        candidates.append(base.set(username=getpass.getuser()))
    error: Exception | None = None
    for url in candidates:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            error = exc
            continue
        finally:
            engine.dispose()
        _admin["url"] = url
        return url
    _admin["error"] = error
    unreachable(error)


@pytest.fixture
def postgres_admin() -> URL:
    """A URL of the test PostgreSQL server as its admin; skips (or fails under CI) without one."""
    return postgres_admin_url()


@pytest.fixture
def postgres_schema_url() -> Iterator[URL]:
    """A URL of a freshly created, empty PostgreSQL schema (through ``search_path``), dropped
    afterwards; skips (or fails under CI) without a server."""
    admin_url = postgres_admin_url()
    schema = f"dw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield admin_url.update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ruff_all_order(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in (RUF022): CONSTANTS, then Classes, then functions."""
    if re.fullmatch(r"[A-Z0-9_]+", name) and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _check_exports(package: str, modules: Sequence[str]) -> None:
    """Every module's ``__all__`` is sorted as ruff sorts it and names what exists, and the
    package re-exports every public name of its modules."""
    exported = importlib.import_module(package).__all__
    for module_name in (package, *modules):
        module = importlib.import_module(module_name)
        names = list(module.__all__)
        assert names == sorted(names, key=ruff_all_order), f"{module_name}.__all__ is unsorted"
        assert len(set(names)) == len(names), f"{module_name}.__all__ repeats a name"
        for name in names:
            assert getattr(module, name) is not None
            if module_name != package:
                assert name in exported, f"{module_name}.{name} is not re-exported"


@pytest.fixture
def check_exports() -> Callable[[str, Sequence[str]], None]:
    """``check_exports(package, modules)``: see ``_check_exports``."""
    return _check_exports
