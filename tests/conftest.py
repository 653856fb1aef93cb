"""Fixtures every test folder may use: a fresh PostgreSQL schema, or a skip that says why.

Without a server at 127.0.0.1:5432 the PostgreSQL tests are skipped with the reason, never
passed; where CI promised a server (``DRIFTWARDEN_REQUIRE_POSTGRES=1``) they fail instead.
"""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

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
