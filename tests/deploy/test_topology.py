"""The topology of ``deploy/compose.yaml``, run from real processes on this machine.

One PostgreSQL server holds the prediction store and, in a database of its own, the MLflow
tracking store; ``mlflow server`` keeps the model files and serves them; a one-shot step migrates
the store and trains the first champion through the CLI (the Compose ``init`` service); two
``driftwarden serve`` replicas, each with a working folder (spool) of its own, share the store
and the registry. What the Compose file promises is checked end to end: both replicas answer, a
promotion made through one replica is served by the other, and every answered row of both is in
the one store exactly once.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL

from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.store import Prediction

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIN = Path(sys.executable).parent
ADMIN_KEY = "topology-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
# Far below the 10 s default, so a promotion made through one replica reaches the other within
# the test's patience; the replicas read ISO 8601 durations.
POLL_INTERVAL = "PT0.5S"
# Generous: on two cores shared with other work, importing the stack alone takes several seconds.
START_SECONDS = 120.0
TRAIN_SECONDS = 120.0
STOP_SECONDS = 30.0
# Rows of the bundled Telco data the models learn from: enough for a model, few enough that a
# training is dominated by the CLI's start-up rather than by fitting.
TRAINING_ROWS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def plain_url(url: URL) -> str:
    """The URL as a child process is given it (a password, if the server has one, included)."""
    return url.render_as_string(hide_password=False)


class Children:
    """The processes a test started: each in a session of its own, so that a finalizer can end
    it with every process it started itself (``mlflow server`` runs its web server as a child);
    output goes to a file per process, which is shown when the test fails."""

    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._logs.mkdir(parents=True)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        with (self._logs / f"{name}.log").open("wb") as log:
            self._processes[name] = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def log(self, name: str) -> str:
        raw = (self._logs / f"{name}.log").read_text(errors="replace")
        # Progress bars redraw with carriage returns; keep what each line ended as.
        return "\n".join(line.rsplit("\r", 1)[-1] for line in raw.splitlines())

    def alive(self, name: str) -> bool:
        return self._processes[name].poll() is None

    def finish(self, name: str, timeout: float) -> str:
        """Wait for a one-shot command; return its output, or fail with it."""
        try:
            code = self._processes[name].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not finish within {timeout:.0f} s:\n{self.log(name)}")
        assert code == 0, f"{name} exited with {code}:\n{self.log(name)}"
        return self.log(name)

    def terminate(self, *names: str, timeout: float) -> dict[str, int | None]:
        """SIGTERM to each process (a graceful stop), then wait for all of them together."""
        for name in names:
            if self.alive(name):
                self._processes[name].send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[str, int | None] = {}
        for name in names:
            try:
                remaining = max(deadline - time.monotonic(), 0.1)
                codes[name] = self._processes[name].wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                codes[name] = None
        return codes

    def kill_all(self) -> None:
        """End whatever still runs, with the processes it started: SIGTERM, then SIGKILL."""
        running = [p for p in self._processes.values() if p.poll() is None]
        for process in running:
            self._signal_group(process, signal.SIGTERM)
        # Short: whatever still runs here is past its use, and a graceful end proves nothing.
        deadline = time.monotonic() + 3
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        # Every group, the finished leaders' too: a leader's children (mlflow's web server) may
        # outlive it, and its group id stays theirs, never another process's, while they run.
        for process in self._processes.values():
            self._signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)

    def signal_group(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to a process and every process it started, without waiting."""
        self._signal_group(self._processes[name], sig)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # start_new_session made the child the leader of a group whose id is its pid; the group
        # is gone once all of its members are.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def all_logs(self) -> str:
        return "".join(
            f"\n===== {name} (exit code {process.poll()}) =====\n{self.log(name)}\n"
            for name, process in self._processes.items()
        )


@pytest.fixture
def databases(postgres_admin: URL) -> Iterator[dict[str, URL]]:
    """Two fresh databases on the test server, the store's and MLflow's, dropped afterwards."""
    admin = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
    stem = f"dw_topology_{uuid.uuid4().hex[:10]}"
    names = {"store": f"{stem}_store", "mlflow": f"{stem}_mlflow"}
    created: list[str] = []
    try:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f'CREATE DATABASE "{name}"'))
                created.append(name)
        yield {role: postgres_admin.set(database=name) for role, name in names.items()}
    finally:
        with admin.connect() as connection:
            for name in created:
                # A process killed mid-way may leave sessions behind, and DROP refuses a
                # database that has any.
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def children(
    databases: dict[str, URL], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Children]:
    """The test's processes, ended before its databases are dropped; their output is written
    to the test's captured output when it failed (pytest shows it beside the failure)."""
    failed_before = request.session.testsfailed
    processes = Children(tmp_path / "logs")
    try:
        yield processes
    finally:
        processes.kill_all()
        if request.session.testsfailed > failed_before:
            sys.stderr.write(processes.all_logs())


def wait_until_ready(children: Children, name: str, url: str) -> None:
    """Wait for ``url`` to answer 200, failing at once if the process has exited."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert children.alive(name), f"{name} exited before {url} answered:\n{children.log(name)}"
        assert time.monotonic() < deadline, f"{url} did not answer 200 within {START_SECONDS} s"
        time.sleep(0.2)


def registered_version(output: str) -> int:
    """The version ``driftwarden train`` registered, read from its result line."""
    for line in output.splitlines():
        if line.startswith("registered "):
            return int(line.split(" version ", 1)[1].split()[0].rstrip(":"))
    raise AssertionError(f"driftwarden train printed no result line:\n{output}")


def test_replicas_share_one_store_and_one_registry(
    databases: dict[str, URL], children: Children, tmp_path: Path
) -> None:
    # The caller's own DRIFTWARDEN_* settings (a predict key, another store) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    mlflow_port = free_port()
    store_url = plain_url(databases["store"])
    shared = {
        **env,
        # What x-driftwarden-env gives every driftwarden process of the Compose file.
        "DRIFTWARDEN_STORE__URL": store_url,
        "DRIFTWARDEN_REGISTRY__TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
        # Model downloads draw progress bars in the logs otherwise.
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }

    children.start(
        "mlflow",
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
         "--backend-store-uri", plain_url(databases["mlflow"]),
         "--serve-artifacts", "--artifacts-destination", str(tmp_path / "mlflow-artifacts"),
         "--workers", "1"],
        cwd=tmp_path,
        # Otherwise the server starts job workers (about 2 GB) that nothing here uses.
        env={**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )  # fmt: skip

    # The init service: the store is migrated before any replica starts, because replicas
    # starting together on an empty database race to create its tables; then the first model
    # is trained as champion. Here on a sample of the bundled data, named by settings.
    trainer = tmp_path / "init"
    trainer.mkdir()
    sample = load_telco().sample(TRAINING_ROWS, random_state=0)
    sample.to_csv(trainer / "telco.csv", index=False)
    trainer_env = {
        **shared,
        "DRIFTWARDEN_HOME": str(trainer / ".driftwarden"),
        "DRIFTWARDEN_TRAINING__DATA": str(trainer / "telco.csv"),
        "DRIFTWARDEN_SCHEMA__TARGET": TELCO_TARGET,
        "DRIFTWARDEN_SCHEMA__ENTITY_ID": TELCO_ID,
    }
    cli = str(BIN / "driftwarden")
    children.start("migrate", [cli, "store", "migrate"], cwd=trainer, env=trainer_env)
    children.finish("migrate", TRAIN_SECONDS)
    wait_until_ready(children, "mlflow", f"http://127.0.0.1:{mlflow_port}/health")
    train = [cli, "train"]
    children.start("train-1", [*train, "--alias", "champion", "--unless-champion"], cwd=trainer,
                   env=trainer_env)  # fmt: skip
    first = registered_version(children.finish("train-1", TRAIN_SECONDS))

    urls: dict[str, str] = {}
    for name in ("a", "b"):
        home = tmp_path / f"replica-{name}"
        home.mkdir()
        port = free_port()
        urls[name] = f"http://127.0.0.1:{port}"
        replica_env = {
            **shared,
            # Its own home, so its spool and any other local state are its alone.
            "DRIFTWARDEN_HOME": str(home / ".driftwarden"),
            "DRIFTWARDEN_SERVING__ADMIN_API_KEY": ADMIN_KEY,
            "DRIFTWARDEN_SERVING__ALIAS_POLL_INTERVAL": POLL_INTERVAL,
            "DRIFTWARDEN_SERVING__ROUTING_POLL_INTERVAL": POLL_INTERVAL,
        }
        # One worker process per replica: the replicas are the processes of this topology.
        children.start(
            name,
            [str(BIN / "driftwarden"), "serve", "--port", str(port), "--workers", "1"],
            cwd=home,
            env=replica_env,
        )
    # The version to promote, trained while the replicas start; registered without an alias,
    # so that neither replica serves it before the promotion.
    children.start("train-2", [*train, "--seed", "1", "--alias", "none"], cwd=trainer,
                   env=trainer_env)  # fmt: skip
    for name, url in urls.items():
        wait_until_ready(children, name, f"{url}/ready")
    second = registered_version(children.finish("train-2", TRAIN_SECONDS))
    assert second != first

    features = sample.drop(columns=[TELCO_TARGET])
    rows: list[dict[str, Any]] = json.loads(features.to_json(orient="records"))
    next_row = iter(rows)
    answered: dict[str, dict[str, int]] = {"a": {}, "b": {}}  # request id -> model version

    def predict(client: httpx.Client, name: str, n: int) -> list[dict[str, Any]]:
        batch = [next(next_row) for _ in range(n)]
        response = client.post(
            f"{urls[name]}/v1/predict", json=batch[0] if n == 1 else {"rows": batch}
        )
        assert response.status_code == 200, (name, response.text)
        answers: list[dict[str, Any]] = (
            [response.json()] if n == 1 else response.json()["predictions"]
        )
        assert len(answers) == n
        for answer in answers:
            assert answer["request_id"] not in answered[name]
            answered[name][answer["request_id"]] = answer["model_version"]
        return answers

    with httpx.Client(timeout=30) as client:
        # 1. Both replicas answer, with the champion the init step trained.
        for name in ("a", "b"):
            for n in (1, 5):
                answers = predict(client, name, n)
                assert {(a["model_version"], a["variant"]) for a in answers} == {
                    (first, "champion")
                }

        # 2. A promotion made through replica A's API...
        response = client.post(
            f"{urls['a']}/v1/models/promote",
            json={"version": second, "reason": "topology test"},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text
        moved = response.json()
        assert (moved["event"]["from_version"], moved["event"]["to_version"]) == (first, second)
        assert moved["loaded"]["champion"] == second
        assert {a["model_version"] for a in predict(client, "a", 3)} == {second}

        # ...is served by replica B, which finds it in the registry by itself at its next
        # alias poll (a model load after the poll, so allow well over one interval).
        deadline = time.monotonic() + 30
        while True:
            loaded = client.get(f"{urls['b']}/v1/models").json()["loaded"]
            if loaded.get("champion") == second:
                break
            assert time.monotonic() < deadline, f"replica B still serves {loaded}"
            time.sleep(0.2)
        assert {a["model_version"] for a in predict(client, "b", 3)} == {second}
        # A reload on B finds nothing more to swap: it serves what the registry says.
        response = client.post(f"{urls['b']}/v1/admin/reload", headers=ADMIN)
        assert response.status_code == 200, response.text
        reloaded = response.json()
        assert reloaded["swapped"] == {"champion": False, "challenger": False}
        assert reloaded["loaded"] == {"champion": second}
        assert {a["model_version"] for a in predict(client, "b", 1)} == {second}

        # Every row went to the database, none waits in a replica's spool.
        for name, url in urls.items():
            store = client.get(f"{url}/ready").json()["store"]
            assert (store["reachable"], store["spooled_rows"]) == (True, 0), (name, store)

    # 3. Stopped as Compose stops them (SIGTERM), both replicas shut down gracefully: uvicorn
    # finishes the lifespan (the writer commits what is queued) and then re-raises the signal,
    # so the exit status is the signal's.
    codes = children.terminate("a", "b", timeout=STOP_SECONDS)
    for name in ("a", "b"):
        assert codes[name] in (0, -signal.SIGTERM), (name, codes[name])
        assert "Application shutdown complete." in children.log(name), name
    # Nothing else needs the registry now; its server stops while the store is read.
    children.signal_group("mlflow", signal.SIGTERM)

    # ...and the one store holds every row either of them answered, each exactly once, with
    # the version that answered it.
    engine = create_engine(store_url)
    try:
        with engine.connect() as connection:
            logged = connection.execute(
                select(Prediction.request_id, Prediction.model_version)
            ).all()
    finally:
        engine.dispose()
    counts = collections.Counter(request_id for request_id, _ in logged)
    assert len(logged) == len(answered["a"]) + len(answered["b"])
    for name in ("a", "b"):
        assert {counts[request_id] for request_id in answered[name]} == {1}, name
    assert dict(logged) == answered["a"] | answered["b"]
