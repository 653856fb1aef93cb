"""The routing experiment kept in the store: restarts, several replicas, store outages."""

import asyncio
import sqlite3
import time
from typing import get_args

import pytest
from fastapi.testclient import TestClient

from driftwarden.core import SystemClock
from driftwarden.serving.app import create_app
from driftwarden.serving.model_router import Mode, ModelRouter, RoutingConfig
from driftwarden.serving.shared_routing import SharedRouting
from driftwarden.store import ROUTING_MODES, create_store_engine, routing_history

ADMIN = {"Authorization": "Bearer s3cret"}
DEFAULT = {"mode": "off", "share": 0.0, "salt": "experiment-1"}
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def _routing(http):
    return http.get("/v1/models").json()["routing"]


def _history(app):
    state = app.state.serving
    return routing_history(state.engine, state.models.registry.name)


@pytest.fixture
def replica_settings(make_settings):
    """Settings of replicas sharing one store; they poll the routing rarely unless told."""

    def build(**serving):
        return make_settings(
            serving={"admin_api_key": "s3cret", "routing_poll_interval": 3600, **serving}
        )

    return build


def test_shared_routing_modes_are_the_ones_the_store_keeps():
    assert get_args(Mode) == ROUTING_MODES


def test_shared_routing_put_survives_a_restart_on_the_same_store(
    replica_settings, registry_with_models
):
    settings = replica_settings()
    change = {"mode": "split", "share": 0.5, "salt": "exp-2"}
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        response = http.put("/v1/admin/routing", json=change, headers=ADMIN)
        assert response.status_code == 200
        assert response.json() == change
    restarted = create_app(settings, registry=registry_with_models)
    with TestClient(restarted) as http:
        assert _routing(http) == change
        rows = [{"usage": 10.0, "plan": "plus", "account": f"C{i}"} for i in range(200)]
        predictions = http.post("/v1/predict", json={"rows": rows}).json()["predictions"]
        assert {p["variant"] for p in predictions} == {"champion", "challenger"}
        [stored] = _history(restarted)
    assert (stored.mode, stored.share, stored.salt) == ("split", 0.5, "exp-2")
    assert stored.changed_by == "admin API key from testclient"


def test_shared_routing_without_a_stored_experiment_serves_the_default_and_writes_nothing(
    replica_settings, registry_with_models
):
    app = create_app(replica_settings(), registry=registry_with_models)
    with TestClient(app) as http:
        assert _routing(http) == DEFAULT
        reload = http.post("/v1/admin/reload", headers=ADMIN)
        assert reload.status_code == 200
        assert reload.json()["routing"] == DEFAULT
        assert _history(app) == []


def test_shared_routing_history_records_each_change_with_its_time_and_author(
    replica_settings, registry_with_models
):
    app = create_app(replica_settings(), registry=registry_with_models)
    with TestClient(app) as http:
        http.put("/v1/admin/routing", json={"mode": "shadow"}, headers=ADMIN)
        http.put("/v1/admin/routing", json={"mode": "split", "share": 0.2}, headers=ADMIN)
        # The same experiment again is no change: nothing is appended.
        assert http.put("/v1/admin/routing", json={"share": 0.2}, headers=ADMIN).status_code == 200
        history = _history(app)
    assert [(h.mode, h.share) for h in history] == [("shadow", 0.0), ("split", 0.2)]
    assert history[0].changed_at <= history[1].changed_at
    assert {h.changed_by for h in history} == {"admin API key from testclient"}


def test_shared_routing_change_on_one_replica_reaches_another_on_reload(
    replica_settings, registry_with_models
):
    settings = replica_settings()
    first = TestClient(create_app(settings, registry=registry_with_models))
    second = TestClient(create_app(settings, registry=registry_with_models))
    with first as a, second as b:
        change = {"mode": "split", "share": 0.3, "salt": "exp-3"}
        assert a.put("/v1/admin/routing", json=change, headers=ADMIN).status_code == 200
        assert _routing(b) == DEFAULT  # its next poll is an hour away
        reload = b.post("/v1/admin/reload", headers=ADMIN)
        assert reload.json()["routing"] == change
        assert _routing(b) == change
        # A partial change completes the stored experiment, even on a replica a poll behind.
        assert a.put("/v1/admin/routing", json={"mode": "shadow"}, headers=ADMIN).status_code == 200
        response = b.put("/v1/admin/routing", json={"share": 0.6}, headers=ADMIN)
        assert response.json() == {"mode": "shadow", "share": 0.6, "salt": "exp-3"}
        a.post("/v1/admin/reload", headers=ADMIN)
        assert _routing(a) == _routing(b) == response.json()


def test_shared_routing_change_on_one_replica_reaches_another_by_polling(
    replica_settings, registry_with_models
):
    first = TestClient(create_app(replica_settings(), registry=registry_with_models))
    polling = replica_settings(routing_poll_interval=0.2)
    second = TestClient(create_app(polling, registry=registry_with_models))
    with first as a, second as b:
        change = {"mode": "split", "share": 0.4, "salt": "exp-4"}
        assert a.put("/v1/admin/routing", json=change, headers=ADMIN).status_code == 200
        deadline = time.monotonic() + 20
        while _routing(b) != change and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _routing(b) == change


def test_shared_routing_put_while_the_store_is_locked_is_a_503_and_changes_nothing(
    make_settings, registry_with_models
):
    settings = make_settings(
        serving={"admin_api_key": "s3cret"}, store={"connect_timeout_seconds": 0.2}
    )
    app = create_app(settings, registry=registry_with_models)
    with TestClient(app) as http:
        assert (
            http.put("/v1/admin/routing", json={"mode": "shadow"}, headers=ADMIN).status_code == 200
        )
        before = _routing(http)
        holder = sqlite3.connect(settings.store.url.removeprefix("sqlite:///"))
        holder.isolation_level = None
        holder.execute("BEGIN EXCLUSIVE")
        try:
            change = {"mode": "split", "share": 0.5}
            response = http.put("/v1/admin/routing", json=change, headers=ADMIN)
        finally:
            holder.close()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        body = response.json()
        assert set(body) == {"error", "detail", "field"}
        assert (body["error"], body["field"]) == ("store_unavailable", None)
        assert "could not store the routing of 'churn'; it was not changed" in body["detail"]
        assert "not reachable" in body["detail"]
        assert _routing(http) == before
        assert [h.mode for h in _history(app)] == ["shadow"]


def test_shared_routing_put_with_the_store_down_is_a_503_and_reload_keeps_the_routing(
    make_settings, registry_with_models, caplog
):
    # Port 1 on loopback refuses connections: a real, unreachable PostgreSQL.
    settings = make_settings(
        serving={"admin_api_key": "s3cret"},
        store={"url": UNREACHABLE, "connect_timeout_seconds": 1},
    )
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        response = http.put(
            "/v1/admin/routing", json={"mode": "split", "share": 0.5}, headers=ADMIN
        )
        assert response.status_code == 503
        assert response.json()["error"] == "store_unavailable"
        assert "could not read the routing of 'churn'" in response.json()["detail"]
        assert _routing(http) == DEFAULT
        with caplog.at_level("WARNING", logger="driftwarden.serving.shared_routing"):
            reload = http.post("/v1/admin/reload", headers=ADMIN)
        assert reload.status_code == 200
        assert reload.json()["routing"] == DEFAULT
        assert "could not re-read the routing experiment" in caplog.text
        assert http.post("/v1/predict", json={"usage": 1.0, "plan": "pro"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({"share": 1.5}, "share"), ({"share": -0.1}, "share"), ({"salt": ""}, "salt")],
)
def test_shared_routing_invalid_change_is_a_422_naming_the_field_and_stores_nothing(
    replica_settings, registry_with_models, body, field
):
    app = create_app(replica_settings(), registry=registry_with_models)
    with TestClient(app) as http:
        response = http.put("/v1/admin/routing", json=body, headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_request"
        assert response.json()["field"] == field
        assert response.json()["detail"].startswith(f"{field}: ")
        assert _routing(http) == DEFAULT
        assert _history(app) == []


def test_shared_routing_poll_with_the_store_down_keeps_the_routing_and_warns(caplog):
    config = RoutingConfig(mode="split", share=0.3, salt="kept")
    router = ModelRouter(config)
    engine = create_store_engine(UNREACHABLE, connect_timeout=1)
    routing = SharedRouting(router, engine, "churn", SystemClock())

    async def poll_a_while():
        routing.start_polling(0.05)
        await asyncio.sleep(0.5)
        await routing.stop()

    try:
        with caplog.at_level("WARNING", logger="driftwarden.serving.shared_routing"):
            asyncio.run(poll_a_while())
    finally:
        engine.dispose()
    assert router.config == config
    warnings = [r for r in caplog.records if "could not re-read the routing" in r.getMessage()]
    assert warnings
    assert all(r.levelname == "WARNING" for r in warnings)
    assert "keeping mode=split share=0.3 salt=kept" in warnings[0].getMessage()
