"""`driftwarden serve` as a real process on a real port, driven over HTTP."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import httpx

from driftwarden.cli import main


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serve_answers_predictions_and_logs_them(initialised):
    tmp_path = initialised
    assert main(["train"]) == 0

    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "driftwarden", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "DRIFTWARDEN_LOG_LEVEL": "WARNING"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        response = httpx.post(
            f"{base}/v1/predict", json={"minutes": 42.0, "plan": "team", "user": "u1"}, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["model_version"] == 1
        assert "driftwarden_requests_total" in httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    with closing(sqlite3.connect(tmp_path / ".driftwarden" / "driftwarden.db")) as db:
        assert db.execute("select count(*) from predictions").fetchone() == (1,)
