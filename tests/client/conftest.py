"""A real API in this process, driven through ``DriftwardenClient``.

A small churn model (a numeric ``usage``, a categorical ``plan``, an ``account`` id) is trained
once per session and registered in a real MLflow registry under each test's folder; the app
comes from ``create_app`` on a :class:`SimulatedClock` and runs inside a ``TestClient``, which the
client uses as its ``http``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from driftwarden.client import DriftwardenClient
from driftwarden.core import Settings, SimulatedClock, load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.training import ModelParams, train

START = datetime(2024, 3, 4, tzinfo=UTC)
ADMIN_KEY = "s3cret"
HOUR = timedelta(hours=1)


def churn_frame(n: int, seed: int, *, usage_shift: float = 0.0) -> pd.DataFrame:
    """``n`` customers; ``usage_shift`` moves usage (covariate drift)."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 10.0, n) + usage_shift
    plan = rng.choice(["basic", "plus", "pro"], n)
    logit = (usage - 20) / 8 - 1.0 * (plan == "basic")
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "account": [f"S{seed}-{i}" for i in range(n)],
            "usage": usage.round(2),
            "plan": plan,
            "churned": churned,
        }
    )


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The feature rows of ``frame``, as a client sends them."""
    return [
        {str(k): v for k, v in row.items()}
        for row in frame.drop(columns=["churned"]).to_dict(orient="records")
    ]


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="churn_frame", scope="session")
def churn_frame_fixture() -> Any:
    """The frame factory (see ``churn_frame``)."""
    return churn_frame


@pytest.fixture(name="rows_of", scope="session")
def rows_of_fixture() -> Any:
    """Feature rows of a frame (see ``rows_of``)."""
    return rows_of


def settings_for(root: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "home": str(root / "home"),
        "registry": {
            "tracking_uri": f"sqlite:///{root}/mlflow.db",
            "artifact_location": str(root / "artifacts"),
            "model_name": "churn",
        },
        "store": {"url": f"sqlite:///{root}/store.db", "spool_dir": str(root / "spool")},
        "serving": {"admin_api_key": ADMIN_KEY, "run_monitor": False},
        "monitor": {"min_samples": 100, "min_labelled": 50},
        "alerts": {"log": False},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return load_settings(None, **base)


@dataclass
class Server:
    """A running app, its TestClient, its clock and registry, and a client with the admin key."""

    admin_key = ADMIN_KEY

    app: FastAPI
    http: TestClient
    clock: SimulatedClock
    registry: ModelRegistry
    client: DriftwardenClient

    @property
    def settings(self) -> Settings:
        return self.app.state.serving.settings  # type: ignore[no-any-return]

    @property
    def engine(self) -> Any:
        return self.app.state.serving.engine

    def traffic(self, frame: pd.DataFrame, *, over: timedelta, requests: int = 6) -> list[str]:
        """Predict ``frame`` in ``requests`` batches spread over ``over``; returns the ids."""
        ids: list[str] = []
        for part in np.array_split(np.arange(len(frame)), requests):
            answers = self.client.predict_batch(rows_of(frame.iloc[part]))
            ids += [answer.request_id for answer in answers]
            self.clock.advance(over / requests)
        return ids


@pytest.fixture(scope="session")
def trained_model() -> Any:
    frame = churn_frame(1500, seed=100)
    schema = infer_schema(frame, target="churned", entity_id="account")
    return train(frame, schema, params=ModelParams(max_iter=30))


def build_app(root: Path, model: Any, **overrides: Any) -> tuple[FastAPI, ModelRegistry, Any]:
    """An app (not started) on a registry holding ``model`` as champion, and its clock."""
    root.mkdir(parents=True, exist_ok=True)
    settings = settings_for(root, **overrides)
    registry = ModelRegistry(settings.registry)
    registry.register(model)
    clock = SimulatedClock(START)
    return create_app(settings, registry=registry, clock=clock), registry, clock


@contextmanager
def serve(root: Path, model: Any, **overrides: Any) -> Iterator[Server]:
    """An app on a registry holding ``model`` as champion, served in this process."""
    app, registry, clock = build_app(root, model, **overrides)
    with TestClient(app) as http:
        yield Server(app, http, clock, registry, DriftwardenClient(http=http, admin_key=ADMIN_KEY))


@pytest.fixture
def app(tmp_path: Path, trained_model: Any) -> FastAPI:
    """An app that is not started (for transports that do not run its lifespan)."""
    return build_app(tmp_path, trained_model)[0]


@pytest.fixture(scope="session")
def serve_model(trained_model: Any) -> Any:
    """``serve_model(root, **overrides)``: the context manager ``serve`` with the trained model."""
    return lambda root, **overrides: serve(root, trained_model, **overrides)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_model: Any) -> Iterator[Server]:
    """One server per test module (starting one takes a second or two): tests that share it
    use request ids and labels of their own."""
    with serve(tmp_path_factory.mktemp("server"), trained_model) as running:
        yield running


@pytest.fixture
def make_server(tmp_path: Path, trained_model: Any) -> Iterator[Any]:
    """``make_server(name, **overrides)``: another server with its own folder and settings."""
    with_stack: list[Any] = []

    def build(name: str, **overrides: Any) -> Server:
        context = serve(tmp_path / name, trained_model, **overrides)
        with_stack.append(context)
        return context.__enter__()

    yield build
    for context in reversed(with_stack):
        context.__exit__(None, None, None)


@pytest.fixture
def requests_sent(server: Server) -> Iterator[list[Any]]:
    """Every request the server's TestClient sends during the test."""
    sent: list[Any] = []
    hooks = server.http.event_hooks
    hooks["request"] = [*hooks["request"], sent.append]
    yield sent
    hooks["request"] = [hook for hook in hooks["request"] if hook != sent.append]
