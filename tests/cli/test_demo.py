"""`driftwarden demo` (and with it `traffic`): train, serve, send drifting traffic, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from driftwarden.cli.commands.simulate import duration
from driftwarden.core import ConfigError, load_settings
from driftwarden.simulation.traffic import TrafficOptions
from driftwarden.store import count_predictions, create_store_engine

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_durations_read_short_and_iso_forms():
    assert duration("90s") == timedelta(seconds=90)
    assert duration("1.5h") == timedelta(hours=1.5)
    assert duration("2d") == timedelta(days=2)
    assert duration("PT6H") == timedelta(hours=6)
    with pytest.raises(Exception, match="expected a duration"):
        duration("soon")


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"rate": 0.0}, "rate"),
        ({"batch": 0}, "batch"),
        ({"duration": None, "count": None}, "duration"),
        ({"count": 0}, "count"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_traffic_options_that_cannot_work_are_refused(options, key):
    with pytest.raises(ConfigError) as caught:
        TrafficOptions(**options).check()
    assert caught.value.key == key


@pytest.mark.slow
def test_the_demo_trains_serves_sends_drifting_traffic_and_stops_on_an_interrupt(tmp_path):
    """Ctrl-C: the traffic stops, the server is stopped, the summary is printed."""
    port, dashboard_port = free_port(), free_port()
    env = {
        **os.environ,
        # The demo's own file wins over these: its state lives under <home>/demo.
        "DRIFTWARDEN_HOME": str(tmp_path / "home"),
        "DRIFTWARDEN_MONITOR__INTERVAL": "PT1H",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    process = subprocess.Popen(
        [str(BIN / "driftwarden"), "demo", "--port", str(port), "--rate", "25",
         "--dashboard-port", str(dashboard_port),
         "--drift-after", "3s", "--label-delay", "2s", "--scenario", "sudden"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = ""
    deadline = time.monotonic() + 240
    assert process.stdout is not None
    while "Stop with Ctrl-C" not in output:
        line = process.stdout.readline()
        assert line or process.poll() is None, output
        output += line
        assert time.monotonic() < deadline, output
    assert f"http://127.0.0.1:{port}/docs" in output
    assert f"live dashboard:     http://127.0.0.1:{dashboard_port}" in output
    # The dashboard answers while the demo runs.
    deadline = time.monotonic() + 60
    while True:
        try:
            health = httpx.get(f"http://127.0.0.1:{dashboard_port}/_stcore/health", timeout=2)
            if health.status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the demo's dashboard did not start"
        time.sleep(0.3)
    time.sleep(5)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    output += rest
    assert process.returncode == 0, output
    assert "predictions at" in output  # the traffic's progress line
    assert "stopping the traffic and the API" in output
    assert "alerts:" in output
    assert "stopped." in output
    # The server and the dashboard are gone: nothing answers on their ports.
    for gone in (port, dashboard_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", gone), timeout=5).close()
    demo = load_settings(tmp_path / "home" / "demo" / "demo.toml")
    assert demo.monitor.interval == timedelta(seconds=20)
    engine = create_store_engine(demo.store.url)
    logged = count_predictions(engine)
    engine.dispose()
    assert 50 <= logged <= 400  # 25 a second for about 8 s
