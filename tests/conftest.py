"""Fixtures every test folder may use: a fresh PostgreSQL schema, or a skip that says why.

Without a server at 127.0.0.1:5432 the PostgreSQL tests are skipped with the reason, never
passed; where CI promised a server (``DRIFTWARDEN_REQUIRE_POSTGRES=1``) they fail instead.
"""

from __future__ import annotations

import getpass
import importlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

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
