"""The registry against a real MLflow tracking server: model files go to the server's store."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.training import ModelParams, predict_scores, train

pytestmark = pytest.mark.slow

_STARTUP_SECONDS = 120


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process):
    if process.poll() is None:
        # The server runs its workers as children: end the whole session it leads.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A tracking server on a free port, with its own database and artifact destination."""
    root = tmp_path_factory.mktemp("mlflow-server")
    destination = root / "server-artifacts"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    }
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        "--artifacts-destination", destination.as_posix(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            pytest.skip(f"cannot start `mlflow server` in this environment: {exc}")
    try:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                pytest.skip(
                    f"`mlflow server` exited with status {process.returncode} before answering "
                    f"{url}/health; its log ends:\n{tail}"
                )
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-1500:]
                pytest.skip(
                    f"`mlflow server` did not answer {url}/health within {_STARTUP_SECONDS} s; "
                    f"its log ends:\n{tail}"
                )
            time.sleep(0.5)
        yield url, destination
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(11)
    n = 800
    usage = rng.gamma(2.0, 10.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = rng.random(n) < 1 / (1 + np.exp(-(usage - 20) / 8 - (plan == "basic")))
    frame = pd.DataFrame({"usage": usage, "plan": plan, "churned": churn})
    schema = infer_schema(frame, target="churned")
    return train(frame, schema, params=ModelParams(max_iter=20))


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_registry_on_a_tracking_server_stores_model_files_on_the_server(
    mlflow_server, trained, tmp_path, monkeypatch, capsys
):
    url, destination = mlflow_server
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "client-home"
    settings = load_settings(None, home=home, registry={"tracking_uri": url, "model_name": "m1"})
    assert settings.registry.artifact_location == home / "mlartifacts"
    registry = ModelRegistry(settings.registry, home=settings.home)

    info = registry.register(trained)

    assert "View run" not in capsys.readouterr().out
    files = _files(destination)
    assert any(f.endswith(f"{info.run_id}/artifacts/model/MLmodel") for f in files), files
    assert any(f.endswith(f"{info.run_id}/artifacts/driftwarden/schema.json") for f in files)
    assert not (home / "mlartifacts").exists()
    assert not (tmp_path / "mlruns").exists()

    # Another machine knows only the server's address.
    remote = load_settings(None, registry={"tracking_uri": url, "model_name": "m1"})
    loaded = ModelRegistry(remote.registry).load()
    assert loaded.version == info.version
    assert loaded.schema == trained.schema
    rows = trained.schema.coerce_frame(
        pd.DataFrame({"usage": [5.0, 40.0], "plan": ["pro", "basic"]})
    )
    np.testing.assert_allclose(
        predict_scores(loaded.model, rows), predict_scores(trained.model, rows)
    )


def test_registry_on_a_tracking_server_keeps_an_explicit_artifact_location(
    mlflow_server, trained, tmp_path
):
    url, destination = mlflow_server
    shared = tmp_path / "shared-mount"
    settings = load_settings(
        None,
        home=tmp_path / "client-home",
        registry={"tracking_uri": url, "model_name": "m2", "artifact_location": str(shared)},
    )
    registry = ModelRegistry(settings.registry, home=settings.home)

    info = registry.register(trained)

    assert any(f.endswith("model/MLmodel") for f in _files(shared))
    assert not any(info.run_id in f for f in _files(destination))
    assert registry.load(info.version).schema == trained.schema
