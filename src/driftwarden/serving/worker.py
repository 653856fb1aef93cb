"""The app of each worker process of ``driftwarden serve --workers N``.

uvicorn starts every worker as a fresh interpreter and builds its app with
:func:`create_worker_app`. The worker reads the settings as the ``serve`` command did, from the
same file (named in ``DRIFTWARDEN_SERVE_CONFIG``) and the same environment, which it inherits,
so secrets never pass through anything but where the user put them.

The workers share everything that must be shared through the store and the registry: the
prediction log, the champion/challenger experiment, the monitor's lease and state, retraining
runs. Each keeps its own spool file (:meth:`driftwarden.store.Spool.claim`) and its own loaded
models, which follow the registry's aliases by polling.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from driftwarden.core import apply_offline_defaults, configure_logging, load_settings
from driftwarden.serving.app import create_app

__all__ = ["CONFIG_ENV", "create_worker_app"]

#: Names the settings file ``serve`` read (empty: none, or ``driftwarden.toml`` if present).
CONFIG_ENV = "DRIFTWARDEN_SERVE_CONFIG"


def create_worker_app() -> FastAPI:
    """Build one worker's app from the settings ``serve`` was started with."""
    config = os.environ.get(CONFIG_ENV) or None
    path = None if config is None else Path(config)
    settings = load_settings(path)
    configure_logging(settings.log_level, json=settings.log_json)
    apply_offline_defaults(settings.home)
    return create_app(settings, settings_file=path)
