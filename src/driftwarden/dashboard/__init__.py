"""The live dashboard: Streamlit pages over the HTTP API, and nothing else.

Every number comes from the API through :class:`~driftwarden.client.DriftwardenClient`, and every
action is an API call with the admin key. ``driftwarden dashboard`` runs :data:`APP` with
Streamlit; ``APP`` is also what Streamlit's ``AppTest`` loads in the tests.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["APP", "SETTINGS_FILE_ENV"]

#: The entry script that ``streamlit run`` runs.
APP = Path(__file__).with_name("app.py")
#: The settings file the dashboard reads, set by ``driftwarden dashboard --config``; without it
#: the dashboard reads ``driftwarden.toml`` in its working directory and ``DRIFTWARDEN_*``.
SETTINGS_FILE_ENV = "DRIFTWARDEN_SETTINGS_FILE"
