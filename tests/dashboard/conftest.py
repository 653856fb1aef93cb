"""A real API seeded with simulated traffic, for the dashboard's tests.

Five simulated days of the Telco churn model with a concept change: monitor runs, drift and
quality history, labelled windows, alerts, retraining runs and an A/B test, all recorded by the
real system (``simulate``), once per test run however many pytest-xdist workers need it. Each
worker serves its own copy with a real ``driftwarden serve`` process on a free port, which the
dashboard reads over HTTP as it does in production.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import tomli_w
from fastapi.testclient import TestClient

from driftwarden.client import DriftwardenClient
from driftwarden.core import SimulatedClock, load_settings
from driftwarden.dashboard import APP, SETTINGS_FILE_ENV
from driftwarden.data import generate_houses
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.simulation.simulate import SimulationOptions, simulate
from driftwarden.training import ModelParams, train

ADMIN_KEY = "dashboard-admin"
READ_KEY = "dashboard-reader"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Api:
    """A served API: its URL, its settings file (which the dashboard reads too) and a client
    with the admin key, for the tests' own reads of what the dashboard should show."""

    url: str
    config: Path
    client: DriftwardenClient


def write_config(
    path: Path, home: Path, port: int, *, api_key: str | None = None, cache_ttl: str = "PT0S"
) -> Path:
    """Settings of an API and of the dashboard that reads it (which, by default, reads what the
    API holds right now, not an answer cached a moment ago)."""
    serving = {"port": port, "admin_api_key": ADMIN_KEY, "run_monitor": False}
    if api_key is not None:
        serving["api_key"] = api_key
    config = {
        "home": str(home),
        "log_level": "WARNING",
        "serving": serving,
        "alerts": {"log": False},
        "dashboard": {"cache_ttl": cache_ttl},
    }
    path.write_text(tomli_w.dumps(config), "utf-8")
    return path


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, and whatever it started (the API's Prefect
    server, a retraining in flight): SIGTERM to the group, SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Children that outlived their parent's exit go with the group too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text("utf-8", errors="replace")[-3000:]
        try:
            # /health, not /ready: an API without a model is a state the dashboard must show.
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the API at {url} did not start; its log: {log}")


@contextmanager
def serve(config: Path, port: int, log: Path) -> Iterator[str]:
    """``driftwarden serve`` on ``config`` until the block ends."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "driftwarden", "--config", str(config), "serve"],
            env={k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_ready(url, server, log)
        yield url
    finally:
        stop(server)


def _simulated_state(folder: Path) -> None:
    settings = load_settings(
        None,
        home=str(folder.parent / "home"),
        alerts={"log": False},
        ab_test={"share": 0.5, "min_duration": "P1D"},
        # Once a simulated day: enough for the drift page's chart and table, at a fifth of
        # the cost of every run.
        monitor={
            "multivariate": {"enabled": True, "every": "P1D"},
            "explanation": {"enabled": True, "every": "P1D"},
        },
    )
    options = SimulationOptions(
        scenarios=("concept",), days=5, rate=800, label_delay=timedelta(hours=6), seed=1
    )
    simulate(settings, options, folder)


def _shared_state(tmp_path_factory: pytest.TempPathFactory, worker: str) -> Path:
    """The simulated state, made once per test run: the first pytest-xdist worker to need it
    simulates under a lock in the run's shared temporary folder, the others wait and reuse it.
    Each worker then serves its own copy, so their actions never meet."""
    if worker == "master":  # one process: nothing to share
        folder = tmp_path_factory.mktemp("simulated") / "state"
        _simulated_state(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent / "dashboard-simulated"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "done").exists():
            _simulated_state(shared / "state")
            (shared / "done").touch()
    return shared / "state"


@pytest.fixture(scope="session")
def seeded_api(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Api]:
    """The API over five simulated days with a concept change (see the module notes)."""
    root = tmp_path_factory.mktemp("seeded")
    # The copy keeps the registry's artifact locations pointing into the shared state, which
    # only ever gains files (new versions are new runs).
    shutil.copytree(_shared_state(tmp_path_factory, worker_id), root / "state")
    port = free_port()
    config = write_config(root / "driftwarden.toml", root / "state", port)
    with (
        serve(config, port, root / "serve.log") as url,
        DriftwardenClient(url, admin_key=ADMIN_KEY, timeout=30) as client,
    ):
        yield Api(url, config, client)


@pytest.fixture(scope="session")
def empty_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The API with nothing in it: no model, no traffic, no monitor run; reads need a key."""
    root = tmp_path_factory.mktemp("empty")
    port = free_port()
    config = write_config(root / "driftwarden.toml", root / "home", port, api_key=READ_KEY)
    with (
        serve(config, port, root / "serve.log") as url,
        DriftwardenClient(url, api_key=READ_KEY, admin_key=ADMIN_KEY) as client,
    ):
        yield Api(url, config, client)


@pytest.fixture(scope="session")
def dashboard_url(seeded_api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``driftwarden dashboard`` on a free port, reading the seeded API."""
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard") / "dashboard.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "driftwarden", "--config", str(seeded_api.config),
             "dashboard", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text("utf-8", errors="replace")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text("utf-8", errors="replace")
            time.sleep(0.2)
        yield url
    finally:
        stop(process)


@pytest.fixture
def retraining_idle(seeded_api: Api) -> Callable[[], None]:
    """A function that waits until no retraining runs on the seeded API: one runs at a time,
    and a request made while another runs is recorded, not started."""

    def wait() -> None:
        deadline = time.monotonic() + 180
        while seeded_api.client.retraining_runs(status="running"):
            assert time.monotonic() < deadline, "a retraining ran for three minutes"
            time.sleep(0.5)

    return wait


@pytest.fixture
def wrong_key_api(empty_api: Api, tmp_path: Path) -> Api:
    """The empty API, read with a key it does not accept (and the default answer cache)."""
    port = int(empty_api.url.rsplit(":", 1)[1])
    config = write_config(
        tmp_path / "driftwarden.toml", tmp_path / "home", port, api_key="wrong", cache_ttl="PT5S"
    )
    return Api(empty_api.url, config, empty_api.client)


@pytest.fixture
def unreachable_api(tmp_path: Path) -> Iterator[Api]:
    """Settings that name an API nothing listens on (read through the answer cache)."""
    port = free_port()
    config = write_config(tmp_path / "driftwarden.toml", tmp_path / "home", port, cache_ttl="PT5S")
    url = f"http://127.0.0.1:{port}"
    with DriftwardenClient(url) as client:
        yield Api(url, config, client)


HOUSES_START = datetime(2024, 5, 6, tzinfo=UTC)


def _seed_houses(config: Path) -> None:
    """A house-price model with three monitored hours of labelled traffic, in simulated time."""
    settings = load_settings(config)
    frame = generate_houses(2000, seed=3)
    schema = infer_schema(frame, target="price", entity_id="house_id")
    registry = ModelRegistry(settings.registry)
    registry.register(train(frame, schema, params=ModelParams(max_iter=40, task="regression")))
    clock = SimulatedClock(HOUSES_START)
    with TestClient(create_app(settings, registry=registry, clock=clock)) as http:
        for hour in range(3):
            batch = generate_houses(150, seed=10 + hour)
            rows = batch.drop(columns=["price"]).replace({np.nan: None}).to_dict("records")
            answers = http.post("/v1/predict", json={"rows": rows}).json()["predictions"]
            labels = [{"request_id": a["request_id"], "label": float(p)}
                      for a, p in zip(answers, batch["price"], strict=True)]  # fmt: skip
            clock.advance(timedelta(minutes=50))
            assert http.post("/v1/feedback", json={"labels": labels}).status_code == 200
            clock.advance(timedelta(minutes=10))
            http.app.state.serving.monitor.run_once()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def houses_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("houses")
    port = free_port()
    config = root / "driftwarden.toml"
    document = {
        "home": str(root / "home"),
        "log_level": "WARNING",
        "registry": {"model_name": "houses"},
        "serving": {"port": port, "admin_api_key": ADMIN_KEY, "run_monitor": False},
        "monitor": {"min_samples": 100, "min_labelled": 100},
        "retraining": {"policy": {"enabled": False}},
        "alerts": {"log": False},
        "dashboard": {"cache_ttl": "PT0S"},
    }
    config.write_text(tomli_w.dumps(document), "utf-8")
    _seed_houses(config)
    with (
        serve(config, port, root / "serve.log") as url,
        DriftwardenClient(url, admin_key=ADMIN_KEY, timeout=30) as client,
    ):
        yield Api(url, config, client)


@pytest.fixture
def dashboard(monkeypatch: pytest.MonkeyPatch) -> object:
    """A factory of Streamlit ``AppTest`` runs of the dashboard against an API's settings."""
    from streamlit.testing.v1 import AppTest

    def start(api: Api, page: str | None = None, *, admin_key: str | None = None) -> AppTest:
        monkeypatch.setenv(SETTINGS_FILE_ENV, str(api.config))
        at = AppTest.from_file(str(APP), default_timeout=60)
        if admin_key is not None:
            at.session_state["driftwarden_admin_key"] = admin_key
        at.run()
        if page is not None:
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return start
