"""A served model on a simulated clock, and traffic to log through its API.

The model is trained on a small churn frame (a numeric ``usage`` and a categorical ``plan``)
and registered in a real MLflow registry under tmp_path; predictions and labels go through the
real API (``create_app`` with a :class:`SimulatedClock`), so every row the monitor reads was
logged the way a server logs it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient

from driftwarden.core import SimulatedClock, load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.training import ModelParams, train

START = datetime(2024, 3, 4, tzinfo=UTC)
ADMIN = {"Authorization": "Bearer s3cret"}


def churn_probability(usage: np.ndarray, plan: np.ndarray, *, flipped: bool = False) -> Any:
    """The true P(churn): high usage churns less; ``flipped``, the concept reversed."""
    logit = (usage - 20) / 8 - 1.0 * (plan == "basic")
    return 1 / (1 + np.exp(logit if flipped else -logit))


def churn_frame(
    n: int, seed: int, *, usage_shift: float = 0.0, flipped: bool = False
) -> pd.DataFrame:
    """``n`` customers; ``usage_shift`` moves usage (covariate drift), ``flipped`` the concept."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 10.0, n) + usage_shift
    plan = rng.choice(["basic", "plus", "pro"], n)
    churned = rng.random(n) < churn_probability(usage, plan, flipped=flipped)
    return pd.DataFrame(
        {
            "account": [f"S{seed}-{i}" for i in range(n)],
            "usage": usage.round(2),
            "plan": plan,
            "churned": churned,
        }
    )


@pytest.fixture(scope="session")
def trained_model():
    frame = churn_frame(4000, seed=100)
    schema = infer_schema(frame, target="churned", entity_id="account")
    return train(frame, schema, params=ModelParams(max_iter=40))


@pytest.fixture
def make_settings(tmp_path):
    def build(**overrides):
        base: dict[str, Any] = {
            "home": str(tmp_path / "home"),
            "registry": {
                "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
                "artifact_location": str(tmp_path / "artifacts"),
                "model_name": "churn",
            },
            "store": {
                "url": f"sqlite:///{tmp_path}/store.db",
                "spool_dir": str(tmp_path / "spool"),
            },
            "serving": {"admin_api_key": "s3cret", "run_monitor": False},
            "monitor": {"min_samples": 100, "min_labelled": 50},
            "alerts": {"log": False},
        }
        for key, value in overrides.items():
            base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
        return load_settings(None, **base)

    return build


@pytest.fixture
def registry(make_settings, trained_model):
    registry = ModelRegistry(make_settings().registry)
    registry.register(trained_model)
    return registry


class Served:
    """A server on a simulated clock, with helpers to send traffic and labels and to run the
    monitor."""

    def __init__(self, http: TestClient, app: Any, clock: SimulatedClock) -> None:
        self.http = http
        self.app = app
        self.clock = clock
        self.sent: list[tuple[str, bool]] = []

    @property
    def monitor(self) -> Any:
        return self.app.state.serving.monitor

    @property
    def engine(self) -> Any:
        return self.app.state.serving.engine

    def traffic(self, frame: pd.DataFrame, *, over: timedelta, requests: int = 10) -> list[str]:
        """Send ``frame`` in ``requests`` batches spread evenly over ``over`` of simulated time;
        returns the request ids, and remembers each row's true label."""
        ids: list[str] = []
        step = over / requests
        for part in np.array_split(np.arange(len(frame)), requests):
            rows = frame.iloc[part].drop(columns=["churned"]).to_dict(orient="records")
            response = self.http.post("/v1/predict", json={"rows": rows})
            assert response.status_code == 200, response.text
            answered = [p["request_id"] for p in response.json()["predictions"]]
            ids += answered
            self.sent += list(zip(answered, frame["churned"].iloc[part].tolist(), strict=True))
            self.clock.advance(step)
        return ids

    def label(self, ids_and_labels: list[tuple[str, bool]]) -> None:
        """Send true labels now."""
        for start in range(0, len(ids_and_labels), 500):
            chunk = ids_and_labels[start : start + 500]
            body = {"labels": [{"request_id": rid, "label": bool(y)} for rid, y in chunk]}
            response = self.http.post("/v1/feedback", json=body)
            assert response.status_code == 200, response.text


@pytest.fixture
def make_served(make_settings, registry) -> Iterator[Any]:
    """``make_served(**overrides)``: a served model at START on a simulated clock."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> Served:
        clock = SimulatedClock(START)
        app = create_app(make_settings(**overrides), registry=registry, clock=clock)
        http = TestClient(app)
        http.__enter__()
        clients.append(http)
        return Served(http, app, clock)

    yield build
    for http in clients:
        http.__exit__(None, None, None)


@pytest.fixture(name="churn_frame")
def churn_frame_fixture() -> Any:
    """The frame factory (see ``churn_frame``)."""
    return churn_frame


# -- real receivers: an HTTP server and an SMTP server (aiosmtpd) -------------------------------

SMTP_USER = "alerts"
SMTP_PASSWORD = "pa55-w0rd-never-shown"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- a real HTTP receiver ------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers 500 to the first `fail_first`, and can hold answers back."""

    # Joined on close, so no handler thread outlives its test.
    daemon_threads = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.requests: list[dict] = []
        self.fail_first = 0
        self.failure_body: bytes | None = None  # None: echo the path
        self.hold = threading.Event()
        self.hold.set()
        self.lock = threading.Lock()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request, client_address):
        # A client that timed out has hung up before the answer; that is the point of the test.
        pass


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "headers": self.headers, "body": body})
            failing = len(self.server.requests) <= self.server.fail_first
        self.server.hold.wait(5)
        # Echo the path, as some services do, to check that the error text hides it.
        echo = f"boom at {self.path}".encode()
        failure = echo if self.server.failure_body is None else self.server.failure_body
        status, answer = (500, failure) if failing else (200, b"ok")
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.hold.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


# -- a real SMTP server --------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: refuses nobody@..., records every accepted message."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
                "tls": session.ssl is not None,
                "login": session.auth_data,
            }
        )
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    accepted = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers a failure itself (535) instead of leaving the client hanging.
    return AuthResult(success=accepted, handled=False, auth_data=SMTP_USER if accepted else None)


@pytest.fixture
def smtp_server():
    """Start aiosmtpd servers on free ports; each is stopped after the test."""
    started: list[Controller] = []

    def start(*, tls: ssl.SSLContext | None = None) -> tuple[Inbox, int]:
        inbox = Inbox()
        port = free_port()
        extra: dict[str, Any] = {}
        if tls is not None:
            extra = {
                "tls_context": tls,
                "require_starttls": True,
                "authenticator": authenticate,
                "auth_required": True,
                # smtplib would pick PLAIN first; the test is about AUTH LOGIN.
                "auth_exclude_mechanism": ["PLAIN"],
            }
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **extra
        )
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()
