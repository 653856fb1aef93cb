"""Offline-first defaults for the libraries driftwarden drives.

MLflow, Prefect, Streamlit and NannyML phone home or wait on the network unless told not to.
:func:`apply_offline_defaults` tells them, before they are imported, so the embedded default
works with no network at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from driftwarden.core.settings import DEFAULT_HOME

__all__ = ["apply_offline_defaults", "offline_defaults"]


def offline_defaults(home: Path = DEFAULT_HOME) -> dict[str, str]:
    """Return the environment variables that keep the stack offline.

    Parameters
    ----------
    home : Path, optional
        driftwarden's working directory; Prefect keeps its state in ``home/prefect``.

    Returns
    -------
    dict of str to str
        Variable name to value.

    Notes
    -----
    Prefect's ephemeral server takes about 15 s to start on two cores, hence the generous
    startup timeout.

    Examples
    --------
    >>> offline_defaults()["DO_NOT_TRACK"]
    '1'
    """
    return {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        # Absolute, because Prefect may be started from another working directory.
        "PREFECT_HOME": str((home / "prefect").resolve()),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "NML_DISABLE_USAGE_LOGGING": "1",
        # MLflow retries an unreachable tracking server for minutes by default; fail in seconds
        # so a command against a server that is down says so promptly.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
    }


def apply_offline_defaults(home: Path = DEFAULT_HOME) -> None:
    """Set the variables of :func:`offline_defaults` in ``os.environ`` where they are unset.

    A value the user set explicitly wins. Call this before importing MLflow, Prefect or
    Streamlit: they read these variables at import time.

    Parameters
    ----------
    home : Path, optional
        driftwarden's working directory (``Settings.home``).
    """
    for name, value in offline_defaults(home).items():
        os.environ.setdefault(name, value)
