"""`driftwarden serve --workers 2`: two worker processes behind one port, sharing the store,
the registry, the monitor's lease and the metrics."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from driftwarden.cli import main
from driftwarden.cli.commands.serve import _metrics_dir, _migrate_first, cores
from driftwarden.core import load_settings
from driftwarden.serving.worker import CONFIG_ENV, create_worker_app
from driftwarden.store import create_store_engine, lease_holder

ADMIN = {"Authorization": "Bearer admin-key"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def project(initialised: Path) -> Path:
    assert main(["train"]) == 0
    return initialised


@pytest.fixture
def server(project: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = _free_port()
    log_path = project / "server.log"
    env = {
        **os.environ,
        "DRIFTWARDEN_SERVING__ADMIN_API_KEY": "admin-key",
        "DRIFTWARDEN_SERVING__ALIAS_POLL_INTERVAL": "PT0.5S",
        "DRIFTWARDEN_MONITOR__INTERVAL": "PT1S",
        "DRIFTWARDEN_LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "driftwarden", "serve", "--port", str(port), "--workers", "2"],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, "/ready", 120)
        yield base, process, log_path
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _predict(base: str, ids: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/v1/predict", json={"minutes": 20 + i % 50, "plan": "free", "request_id": rid}
                )
                for i, rid in enumerate(ids)
            )
        )


async def _processes(base: str, calls: int = 64) -> set[int]:
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        answers = await asyncio.gather(*(client.get("/ready") for _ in range(calls)))
    return {answer.json()["process"] for answer in answers}


def _worker_processes(base: str) -> set[int]:
    seen: set[int] = set()
    for _ in range(20):
        seen |= asyncio.run(_processes(base))
        if len(seen) >= 2:
            break
    return seen


def _predict_total(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("driftwarden_predict_requests_total{")
    )


def test_two_workers_share_one_port_the_store_the_aliases_and_the_metrics(server, project):
    base, process, log_path = server
    pids = _worker_processes(base)
    assert len(pids) == 2, pids

    first = [f"a{i:04d}" for i in range(240)]
    answers = asyncio.run(_predict(base, first))
    assert [a.status_code for a in answers] == [200] * len(first)
    assert {a.json()["model_version"] for a in answers} == {1}

    # Each scrape reaches one worker, and every one reports the whole server's requests.
    assert {_predict_total(base) for _ in range(12)} == {float(len(first))}

    # A promotion through the API reaches both workers (each polls the registry's aliases).
    assert main(["train"]) == 0  # version 2
    promoted = httpx.post(f"{base}/v1/models/promote", json={"version": 2}, headers=ADMIN)
    assert promoted.status_code == 200, promoted.text
    second: list[str] = []

    def all_on_version_2() -> bool:
        time.sleep(1.0)
        # Fresh ids each time: a request id seen before is answered from the log, as it was.
        ids = [f"b{len(second) + i:04d}" for i in range(120)]
        second.extend(ids)
        return {a.json()["model_version"] for a in asyncio.run(_predict(base, ids))} == {2}

    _wait(all_on_version_2, "every worker to serve version 2", 30)

    # One process of the two runs the monitor: the lease holder is a worker.
    settings = load_settings(project / "driftwarden.toml")
    engine = create_store_engine(settings.store.url)

    def holder() -> str | None:
        return lease_holder(
            engine, f"monitor:{settings.registry.model_name}", now=datetime.now(UTC)
        )

    _wait(lambda: holder() is not None, "a monitor lease holder", 30)
    assert int(str(holder()).split(":")[1]) in pids

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    engine.dispose()
    with sqlite3.connect(project / ".driftwarden" / "driftwarden.db") as connection:
        stored = [row[0] for row in connection.execute("SELECT request_id FROM predictions")]
    answered_ids = set(first) | set(second)
    assert answered_ids <= set(stored)
    assert len(stored) == len(set(stored))  # nothing doubled
    # Both workers wrote rows, and both stopped cleanly, flushing what they held.
    written = [
        int(n)
        for n in re.findall(
            r"prediction writer stopped: (\d+) rows", log_path.read_text(errors="replace")
        )
    ]
    assert len(written) == 2
    assert all(n > 0 for n in written)
    assert sum(written) == len(stored)


def test_a_worker_builds_its_app_from_the_settings_serve_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(CONFIG_ENV, str(project / "driftwarden.toml"))
    monkeypatch.setenv("DRIFTWARDEN_SERVING__ADMIN_API_KEY", "from-the-environment")
    app = create_worker_app()
    state = app.state.serving
    assert state.settings.serving.admin_api_key.get_secret_value() == "from-the-environment"
    assert state.settings.training.data == Path("users.csv")
    with TestClient(app) as http:
        ready = http.get("/ready").json()
    assert ready["ready"] is True
    assert ready["process"] == os.getpid()


def test_serve_refuses_fewer_than_one_worker(initialised: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["serve", "--workers", "0"]) == 1
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err


def test_the_store_is_migrated_once_before_the_workers_start(
    initialised: Path, caplog: pytest.LogCaptureFixture
):
    settings = load_settings(initialised / "driftwarden.toml")
    _migrate_first(settings)
    engine = create_store_engine(settings.store.url)
    assert lease_holder(engine, "monitor:any", now=datetime.now(UTC)) is None  # tables exist
    engine.dispose()
    down = load_settings(
        initialised / "driftwarden.toml",
        store={
            "url": "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "connect_timeout_seconds": 1,
        },
    )
    _migrate_first(down)  # an unreachable store does not stop the start
    assert "the workers will migrate it when it is back" in caplog.text


def test_the_metrics_folder_starts_empty_and_a_made_one_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "notes.txt").write_text("kept")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    with _metrics_dir() as folder:
        assert folder == given
        assert not (given / "counter_123.db").exists()
    assert (given / "notes.txt").exists()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with _metrics_dir() as folder:
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
        assert folder.is_dir()
    assert not folder.exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert cores() >= 1
