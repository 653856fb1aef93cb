from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftwarden.core.offline import apply_offline_defaults, offline_defaults

NAMES = [
    "MLFLOW_DISABLE_TELEMETRY",
    "DO_NOT_TRACK",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "PREFECT_HOME",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS",
    "NML_DISABLE_USAGE_LOGGING",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
]


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every variable, and restore the caller's values afterwards."""
    for name in NAMES:
        # setenv first so that monkeypatch records and later restores the original state.
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


def test_offline_defaults_cover_the_stack():
    defaults = offline_defaults()
    assert sorted(defaults) == sorted(NAMES)
    assert defaults["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert defaults["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "90"


@pytest.mark.usefixtures("unset")
def test_apply_offline_defaults_sets_unset_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    apply_offline_defaults()
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["NML_DISABLE_USAGE_LOGGING"] == "1"
    assert os.environ["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    prefect_home = Path(os.environ["PREFECT_HOME"])
    assert prefect_home.is_absolute()
    assert prefect_home == tmp_path.resolve() / ".driftwarden" / "prefect"


@pytest.mark.usefixtures("unset")
def test_apply_offline_defaults_puts_prefect_under_home(tmp_path: Path):
    apply_offline_defaults(tmp_path / "state")
    assert Path(os.environ["PREFECT_HOME"]) == (tmp_path / "state" / "prefect").resolve()


@pytest.mark.usefixtures("unset")
def test_apply_offline_defaults_keeps_explicit_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    monkeypatch.setenv("PREFECT_HOME", "/opt/prefect")
    apply_offline_defaults()
    assert os.environ["DO_NOT_TRACK"] == "0"
    assert os.environ["PREFECT_HOME"] == "/opt/prefect"
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
