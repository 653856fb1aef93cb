"""``driftwarden dashboard``: the Streamlit command line it runs and the environment it gives it.
The process itself runs in the dashboard's browser test."""

from __future__ import annotations

import os
from pathlib import Path

from driftwarden.cli import main
from driftwarden.cli.commands import dashboard
from driftwarden.core import load_settings
from driftwarden.dashboard import APP, SETTINGS_FILE_ENV


def test_the_command_runs_the_app_headless_without_usage_statistics():
    command = dashboard.command("127.0.0.1", 8600)
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert command[4] == str(APP)
    pairs = dict(zip(command[5::2], command[6::2], strict=True))
    assert pairs["--server.port"] == "8600"
    assert pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.headless"] == "true"
    assert pairs["--browser.gatherUsageStats"] == "false"


def test_the_environment_names_the_settings_file_and_an_api_url_given_on_the_line(tmp_path):
    env = dashboard.environment({"PATH": "/bin"}, tmp_path / "x.toml", "http://api:9000")
    assert env[SETTINGS_FILE_ENV] == str(tmp_path / "x.toml")
    assert env["DRIFTWARDEN_DASHBOARD__API_URL"] == "http://api:9000"
    assert env["PATH"] == "/bin"
    bare = dashboard.environment({}, None, None)
    assert SETTINGS_FILE_ENV not in bare
    assert "DRIFTWARDEN_DASHBOARD__API_URL" not in bare


def test_the_verb_runs_streamlit_with_the_settings_it_read(tmp_path, monkeypatch, capsys):
    config = tmp_path / "driftwarden.toml"
    config.write_text("[serving]\nport = 8123\n[dashboard]\nport = 8601\n", "utf-8")
    seen = {}

    def execve(path, command, env):
        seen.update(path=path, command=command, env=env)

    # The process would become Streamlit; the real run is in the dashboard's browser test.
    monkeypatch.setattr(os, "execve", execve)
    assert main(["--config", str(config), "dashboard"]) == 0
    assert seen["path"] == seen["command"][0]
    assert "--server.port" in seen["command"]
    assert seen["command"][seen["command"].index("--server.port") + 1] == "8601"
    assert seen["env"][SETTINGS_FILE_ENV] == str(config.resolve())
    assert "reading the API at http://127.0.0.1:8123" in capsys.readouterr().out


def test_the_api_url_follows_the_serving_port_unless_set(tmp_path):
    assert load_settings(None, serving={"port": 9001}).dashboard_api_url == "http://127.0.0.1:9001"
    every = load_settings(None, serving={"host": "0.0.0.0", "port": 9002})
    assert every.dashboard_api_url == "http://127.0.0.1:9002"
    ipv6 = load_settings(None, serving={"host": "::1"})
    assert ipv6.dashboard_api_url == "http://[::1]:8000"
    named = load_settings(None, dashboard={"api_url": "https://models.example/"})
    assert named.dashboard_api_url == "https://models.example"
    assert Path(APP).name == "app.py"
