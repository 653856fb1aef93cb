"""Retraining across real processes: the flow as a Prefect deployment run by a worker against a
Prefect server started here on loopback, and a retraining killed mid-way.

Both use the system clock (other processes cannot share a simulated one), so the production rows
are logged just before the test runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import tomli_w

from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.retraining import Retrainer
from driftwarden.store import (
    PredictionRow,
    create_store_engine,
    get_retrain_run,
    insert_rows,
    lease_holder,
    list_retrain_runs,
    list_runs,
    record_labels,
    upgrade,
)

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(tmp_path, churn_frame, trained_model):
    """A settings file with absolute paths, a champion, and 600 labelled production rows."""
    base = tmp_path / "training.csv"
    churn_frame(4000, seed=100).to_csv(base, index=False)
    config = {
        "home": str(tmp_path / "home"),
        "store": {"url": f"sqlite:///{tmp_path}/store.db", "spool_dir": str(tmp_path / "spool")},
        "registry": {
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": str(tmp_path / "artifacts"),
            "model_name": "churn",
        },
        "training": {"data": str(base)},
        "retraining": {"min_new_rows": 300, "stale_after": "PT2S"},
    }
    path = tmp_path / "driftwarden.toml"
    path.write_text(tomli_w.dumps(config))
    settings = load_settings(path)
    ModelRegistry(settings.registry).register(trained_model)
    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    frame = churn_frame(600, seed=42)
    now = datetime.now(UTC) - timedelta(minutes=30)
    rows = [
        PredictionRow(
            request_id=f"r{i}",
            created_at=now + timedelta(seconds=i),
            model_version=1,
            variant="champion",
            features={"usage": float(row.usage), "plan": row.plan},
            score=0.5,
            label=1,
            latency_ms=1.0,
            entity_id=row.account,
        )
        for i, row in enumerate(frame.itertuples())
    ]
    insert_rows(engine, rows)
    record_labels(
        engine,
        {f"r{i}": int(y) for i, y in enumerate(frame["churned"])},
        received_at=datetime.now(UTC),
    )
    yield path, settings, engine
    engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def prefect_server(tmp_path):
    """A Prefect server on loopback with its own home and database; yields its API URL."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-server"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        # Runs start only when a test asks: scheduled ones would race the worker's one poll.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "prefect-server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    try:
        while True:
            assert server.poll() is None, (tmp_path / "prefect-server.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the Prefect server did not start in 120 s"
            time.sleep(0.2)
        yield url
    finally:
        _stop(server)
        log.close()


def _run_worker_once(pool: str, prefect_server: str, tmp_path: Path) -> str:
    """Run a process worker of ``pool`` until the runs it finds at its first poll end; its
    log."""
    worker_env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_HOME": str(tmp_path / "prefect-worker"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process",
             "--run-once", "--install-policy", "never"],
            env=worker_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            worker.wait(240)
        finally:
            _stop(worker)
    return log.read_text("utf-8", errors="replace")


def test_the_same_flow_runs_as_a_deployment_on_a_work_pool(project, prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from driftwarden.retraining.deploy import deploy

    path, settings, engine = project
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        name = deploy("driftwarden-test", settings_file=path)
        assert name == "driftwarden-retrain/driftwarden"
        settings = settings.model_copy(
            update={"retraining": settings.retraining.model_copy(update={"deployment": name})}
        )
        registry = ModelRegistry(settings.registry)
        from driftwarden.core import SystemClock

        retrainer = Retrainer(settings, engine, registry, SystemClock(), settings_file=path)
        submitted = retrainer.request("manual", "on the pool")
    assert submitted["status"] == "running"
    assert submitted["flow_run_id"]
    log = _run_worker_once("driftwarden-test", prefect_server, tmp_path)
    run = get_retrain_run(engine, submitted["id"])
    assert run["status"] == "succeeded", (run, log[-3000:])
    assert run["flow_run_id"] == submitted["flow_run_id"]
    assert [s["step"] for s in run["steps"]][-1] == "start_ab_test"
    assert ModelRegistry(settings.registry).alias_version("challenger") == run["candidate_version"]


def test_a_retraining_killed_mid_way_leaves_the_champion_and_is_failed_later(project, tmp_path):
    path, settings, engine = project
    log = tmp_path / "retrain.log"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-killed")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "driftwarden"), "--config", str(path), "retrain"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        try:
            # Killed once it is training: the data step is recorded, the model not yet.
            while "fitting on" not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            _stop(process)
    runs = list_retrain_runs(engine, model_name="churn")
    assert [r["status"] for r in runs] == ["running"]
    registry = ModelRegistry(settings.registry)
    assert registry.alias_version("champion") == 1
    assert registry.alias_version("challenger") is None
    assert [v.version for v in registry.list_versions()] == [1]
    time.sleep(2.5)  # past retraining.stale_after
    from driftwarden.core import SystemClock

    fresh = Retrainer(settings, engine, registry, SystemClock()).request("manual", "again")
    assert fresh["status"] == "succeeded", fresh
    killed = get_retrain_run(engine, runs[0]["id"])
    assert killed["status"] == "failed"
    assert "the process running it stopped" in killed["error"]
    assert np.isin(["decide", "fetch_data"], [s["step"] for s in killed["steps"]]).all()


def test_the_monitor_runs_as_a_scheduled_deployment_on_a_work_pool(
    project, prefect_server, tmp_path, capsys
):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from driftwarden.cli import main

    path, _, engine = project
    # The pass alone: its retraining policy is what the in-process tests cover.
    config = tomllib.loads(path.read_text())
    config["retraining"]["policy"] = {"enabled": False}
    config["monitor"] = {"window": "PT2H", "interval": "PT5M"}
    path.write_text(tomli_w.dumps(config))
    assert list_runs(engine, "churn") == []
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        command = ["--config", str(path), "monitor", "deploy", "--pool", "driftwarden-monitor-test"]
        assert main(command) == 0
        name = "driftwarden-monitor/driftwarden"
        assert f"deployed {name} on work pool 'driftwarden-monitor-test'" in capsys.readouterr().out
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(name)
            [schedule] = deployment.schedules
            assert schedule.schedule.interval == timedelta(minutes=5)
            assert deployment.parameters == {"settings_file": str(path.resolve())}
            flow_run = run_deployment(name=name, timeout=0)
            log = _run_worker_once("driftwarden-monitor-test", prefect_server, tmp_path)
            finished = client.read_flow_run(flow_run.id)
            assert finished.state is not None
            assert finished.state.is_completed(), log[-3000:]
    [run] = list_runs(engine, "churn")
    assert run["status"] == "ok"
    assert run["n_rows"] == 600
    # The pass gave the monitor's lease back for the next one.
    assert lease_holder(engine, "monitor:churn", now=datetime.now(UTC)) is None
