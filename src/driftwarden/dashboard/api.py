"""The dashboard's only door to data: the HTTP API, through :class:`DriftwardenClient`.

Reads are cached for ``dashboard.cache_ttl`` and shared by every browser session, so ten open
tabs cost the API what one does. A read that fails draws one clear banner in place of the view
(the API down, a key refused, an error answer) and stops the view; it never shows a traceback.
Actions use the admin key entered in the sidebar, once per browser session, and empty the cache
so the next read shows their effect.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import streamlit as st

from driftwarden.client import (
    ApiError,
    ApiUnavailableError,
    AuthError,
    DriftwardenClient,
)
from driftwarden.core import load_settings
from driftwarden.core.errors import DriftwardenError
from driftwarden.dashboard import SETTINGS_FILE_ENV

__all__ = [
    "ADMIN_KEY",
    "NOTICE",
    "Connection",
    "act",
    "connection",
    "has_admin_key",
    "notice",
    "read",
]

#: Where a browser session keeps the admin key (never drawn on a page).
ADMIN_KEY = "driftwarden_admin_key"
#: The outcome of the last action, drawn once by the page it reran.
NOTICE = "driftwarden_notice"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Connection:
    """How this session reaches the API, read from the settings once per session."""

    url: str
    api_key: str | None
    timeout: float
    refresh: float
    cache_ttl: float
    monitor_interval: str
    monitor_window: str


def _duration(seconds: float) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} d"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _settings_file() -> Path | None:
    named = os.environ.get(SETTINGS_FILE_ENV)
    return Path(named) if named else None


def connection() -> Connection:
    """This session's connection, read from the settings on its first use."""
    found = st.session_state.get("driftwarden_connection")
    if isinstance(found, Connection):
        return found
    try:
        settings = load_settings(_settings_file())
    except DriftwardenError as exc:
        _banner(f"The dashboard's settings cannot be read: {exc}")
    key = settings.serving.api_key
    made = Connection(
        url=settings.dashboard_api_url,
        api_key=None if key is None else key.get_secret_value(),
        timeout=settings.dashboard.timeout.total_seconds(),
        refresh=settings.dashboard.refresh.total_seconds(),
        cache_ttl=settings.dashboard.cache_ttl.total_seconds(),
        monitor_interval=_duration(settings.monitor.interval.total_seconds()),
        monitor_window=_duration(settings.monitor.window.total_seconds()),
    )
    st.session_state["driftwarden_connection"] = made
    return made


@st.cache_resource(show_spinner=False)
def _client(url: str, api_key: str | None, timeout: float) -> DriftwardenClient:
    # One connection pool per API and key, shared by every session (httpx.Client is
    # thread-safe); the admin key is never part of it.
    return DriftwardenClient(url, api_key=api_key, timeout=timeout)


@st.cache_data(ttl=3600, max_entries=2000, show_spinner=False)
def _cached(
    url: str,
    api_key: str | None,
    timeout: float,
    method: str,
    args: tuple[Any, ...],
    params: tuple[tuple[str, Any], ...],
    bucket: int,  # noqa: ARG001 - part of the cache key: a new bucket every cache_ttl
) -> Any:
    return getattr(_client(url, api_key, timeout), method)(*args, **dict(params))


def _banner(message: str) -> NoReturn:
    st.error(message, icon=":material/cloud_off:")
    st.stop()


def read(method: str, /, *args: Any, **params: Any) -> Any:
    """Call a read method of :class:`DriftwardenClient` (``read("alerts", status="open")``),
    through the shared cache; on failure draw a banner and stop the view."""
    conn = connection()
    try:
        if conn.cache_ttl <= 0:
            return getattr(_client(conn.url, conn.api_key, conn.timeout), method)(*args, **params)
        bucket = int(time.time() // conn.cache_ttl)
        return _cached(
            conn.url,
            conn.api_key,
            conn.timeout,
            method,
            args,
            tuple(sorted(params.items())),
            bucket,
        )
    except ApiUnavailableError as exc:
        _banner(
            f"The driftwarden API at {conn.url} cannot be reached ({exc}). Start it with "
            f"`driftwarden serve`, or point `dashboard.api_url` at it; this page tries again "
            f"every {conn.refresh:g} s."
        )
    except AuthError as exc:
        _banner(
            f"The API at {conn.url} refused the dashboard's key ({exc.detail}). The dashboard "
            "reads with `serving.api_key` from its settings."
        )
    except ApiError as exc:
        _banner(f"The API answered {exc.status} to {method}: {exc.detail}")


def has_admin_key() -> bool:
    """Whether this browser session has entered the admin key."""
    return bool(st.session_state.get(ADMIN_KEY))


def act(
    what: str,
    call: Callable[[DriftwardenClient], T],
    describe: Callable[[T], str] | None = None,
) -> None:
    """Run one admin action with this session's admin key and say how it went.

    On success the cached answers are dropped and the page is drawn again from the API, with
    ``"<what>: done."`` (and ``describe(result)``) above it, so every view shows the change at
    once. Without a key, or when the API refuses, an error is drawn instead and nothing reruns;
    a refused key is forgotten, so the sidebar asks for it again.
    """
    key = st.session_state.get(ADMIN_KEY)
    if not key:
        st.warning(f"{what}: enter the admin key in the sidebar first.")
        return
    conn = connection()
    try:
        with DriftwardenClient(
            conn.url, api_key=conn.api_key, admin_key=key, timeout=conn.timeout
        ) as client:
            done = call(client)
    except AuthError as exc:
        del st.session_state[ADMIN_KEY]
        st.error(f"{what}: the API refused the admin key ({exc.detail}). Enter it again.")
        return
    except ApiUnavailableError as exc:
        st.error(f"{what}: the API at {conn.url} cannot be reached ({exc}).")
        return
    except ApiError as exc:
        field = f" ({exc.field})" if exc.field else ""
        st.error(f"{what}: {exc.detail}{field}")
        return
    _cached.clear()
    extra = f" {describe(done)}" if describe is not None else ""
    st.session_state[NOTICE] = f"{what}: done.{extra}"
    st.rerun()


def notice() -> None:
    """Draw the outcome of the action that made this run, once."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(message, icon=":material/check:")
