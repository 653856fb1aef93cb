"""``POST /v1/feedback`` in process: which labels it takes, store outages, and its metrics."""

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.store import count_predictions, labelled_predictions
from driftwarden.training import ModelParams, train

ROW = {"usage": 12.5, "plan": "basic", "account": "A1"}


def _stored_labels(app):
    now = datetime.now(UTC)
    rows = labelled_predictions(
        app.state.serving.engine, now - timedelta(hours=1), now + timedelta(hours=1)
    )
    return {row.prediction.request_id: row.true_label for row in rows}


def _predict(http, *request_ids):
    rows = [{**ROW, "request_id": rid} for rid in request_ids]
    assert http.post("/v1/predict", json={"rows": rows}).status_code == 200


def _requests_total(http):
    """``driftwarden_requests_total`` as ``{(endpoint, status): count}``."""
    families = text_string_to_metric_families(http.get("/metrics").text)
    [family] = [f for f in families if f.name == "driftwarden_requests"]
    return {
        (s.labels["endpoint"], s.labels["status"]): s.value
        for s in family.samples
        if s.name == "driftwarden_requests_total"
    }


SPELLINGS = [(True, 1), (False, 0), (1, 1), (0, 0), ("1", 1), ("0", 0), ("True", 1)]
REFUSED = ["banana", "true", "yes", "", " 1", "2", 2, -1, 1.0, None, [], {"value": 1}]


def test_feedback_accepts_binary_spellings_and_the_positive_class(client):
    # The fixture's target is boolean, so its positive class is named "True".
    http, app, _ = client
    ids = [f"r-{i}" for i in range(len(SPELLINGS))]
    _predict(http, *ids)
    labels = [{"request_id": f"r-{i}", "label": label} for i, (label, _) in enumerate(SPELLINGS)]
    response = http.post("/v1/feedback", json={"labels": labels})
    assert response.status_code == 200
    assert response.json()["recorded"] == len(SPELLINGS)
    assert _stored_labels(app) == {f"r-{i}": value for i, (_, value) in enumerate(SPELLINGS)}


def test_feedback_refuses_any_other_label_naming_it_and_records_nothing(client):
    http, app, _ = client
    _predict(http, "r-0", "r-1", "r-2", "r-3")
    for label in REFUSED:
        labels = [{"request_id": f"r-{i}", "label": 1} for i in range(3)]
        labels.append({"request_id": "r-3", "label": label})
        response = http.post("/v1/feedback", json={"labels": labels})
        assert response.status_code == 422, label
        body = response.json()
        assert set(body) == {"error", "detail", "field"}
        assert body["field"] == "labels.3.label", label
        assert body["detail"].startswith("labels.3.label: expected 0, 1"), body["detail"]
    assert _stored_labels(app) == {}


@pytest.fixture(scope="module")
def yes_no_model():
    rng = np.random.default_rng(5)
    usage = rng.gamma(2.0, 10.0, 600)
    frame = pd.DataFrame(
        {
            "account": [f"A{i}" for i in range(600)],
            "usage": usage,
            "plan": rng.choice(["basic", "plus", "pro"], 600),
            "churned": np.where(rng.random(600) < usage / usage.max(), "Yes", "No"),
        }
    )
    schema = infer_schema(frame, target="churned", entity_id="account")
    return train(frame, schema, params=ModelParams(max_iter=20))


def test_feedback_takes_the_name_of_a_text_target_positive_class(make_settings, yes_no_model):
    settings = make_settings()
    registry = ModelRegistry(settings.registry)
    registry.register(yes_no_model)
    with TestClient(create_app(settings, registry=registry)) as http:
        _predict(http, "r-1", "r-2")
        labels = [{"request_id": "r-1", "label": "Yes"}, {"request_id": "r-2", "label": "0"}]
        assert http.post("/v1/feedback", json={"labels": labels}).status_code == 200
        assert _stored_labels(http.app) == {"r-1": 1, "r-2": 0}
        wrong_case = {"labels": [{"request_id": "r-1", "label": "yes"}]}
        response = http.post("/v1/feedback", json=wrong_case)
        assert response.status_code == 422
        assert response.json()["field"] == "labels.0.label"
        assert '"Yes"' in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"labels": [{"request_id": "r-1", "lable": 1}]}, "labels.0.lable"),
        ({"labels": [{"request_id": "r-1", "label": 1}], "label": 1}, "label"),
    ],
)
def test_feedback_refuses_unknown_keys_naming_them(client, body, field):
    http, app, _ = client
    _predict(http, "r-1")
    response = http.post("/v1/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert "unknown key" in response.json()["detail"]
    assert _stored_labels(app) == {}


@pytest.fixture
def locked_store(make_settings, registry_with_models):
    """A server whose store another connection can lock, as a real SQLite outage."""
    settings = make_settings(store={"connect_timeout_seconds": 0.2})
    holder = []

    def lock():
        connection = sqlite3.connect(settings.store.url.removeprefix("sqlite:///"))
        connection.isolation_level = None
        connection.execute("BEGIN EXCLUSIVE")
        holder.append(connection)

    def unlock():
        holder.pop().close()

    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        yield http, lock, unlock
        for connection in holder:
            connection.close()


def test_feedback_while_the_store_is_locked_is_a_503_to_retry(locked_store):
    http, lock, unlock = locked_store
    _predict(http, "r-1")
    assert count_predictions(http.app.state.serving.engine) == 1
    body = {"labels": [{"request_id": "r-1", "label": 1}]}
    lock()
    response = http.post("/v1/feedback", json=body)
    unlock()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "store_unavailable"
    assert response.json()["field"] is None
    assert "send them again" in response.json()["detail"]
    assert _stored_labels(http.app) == {}
    retried = http.post("/v1/feedback", json=body)
    assert retried.status_code == 200
    assert retried.json()["recorded"] == 1
    assert _stored_labels(http.app) == {"r-1": 1}
    counts = _requests_total(http)
    assert counts[("feedback", "503")] == 1
    assert counts[("feedback", "200")] == 1


def test_requests_total_counts_feedback_models_and_admin_outcomes(
    make_settings, registry_with_models
):
    settings = make_settings(serving={"api_key": "k1", "admin_api_key": "k2"})
    user, admin = {"X-API-Key": "k1"}, {"X-API-Key": "k2"}
    label = {"labels": [{"request_id": "r-1", "label": 1}]}
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/feedback", json=label).status_code == 401
        assert http.post("/v1/feedback", json=label, headers=user).status_code == 404
        assert http.post("/v1/feedback", json={"labels": []}, headers=user).status_code == 422
        assert http.get("/v1/models", headers=user).status_code == 200
        assert http.put("/v1/admin/routing", json={"share": 0.2}, headers=user).status_code == 401
        assert http.put("/v1/admin/routing", json={"share": 2}, headers=admin).status_code == 422
        assert http.put("/v1/admin/routing", json={"share": 0.2}, headers=admin).status_code == 200
        assert http.post("/v1/admin/reload", headers=admin).status_code == 200
        counts = _requests_total(http)
    assert counts == {
        ("feedback", "401"): 1,
        ("feedback", "404"): 1,
        ("feedback", "422"): 1,
        ("models", "200"): 1,
        ("admin_routing", "401"): 1,
        ("admin_routing", "422"): 1,
        ("admin_routing", "200"): 1,
        ("admin_reload", "200"): 1,
    }


def test_requests_total_counts_admin_routes_refused_without_an_admin_key(
    make_settings, registry_with_models
):
    with TestClient(create_app(make_settings(), registry=registry_with_models)) as http:
        assert http.post("/v1/admin/reload").status_code == 403
        text = http.get("/metrics").text
    assert 'driftwarden_requests_total{endpoint="admin_reload",status="403"} 1.0' in text


def test_feedback_whose_every_id_is_unknown_is_a_404_naming_the_field(client):
    http, _, _ = client
    response = http.post("/v1/feedback", json={"labels": [{"request_id": "ghost", "label": 1}]})
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "unknown_request_id"
    assert body["field"] == "labels.0.request_id"
    assert '"ghost"' in body["detail"]
    two = [{"request_id": "ghost", "label": 1}, {"request_id": "phantom", "label": 0}]
    response = http.post("/v1/feedback", json={"labels": two})
    assert response.status_code == 404
    assert "nor any of the other 1" in response.json()["detail"]
    assert _requests_total(http)[("feedback", "404")] == 2


def test_feedback_unknown_labels_are_kept_and_join_a_prediction_written_later(client):
    # A label may overtake its prediction (still in a server's spool): the 404 must not lose it.
    http, app, _ = client
    response = http.post("/v1/feedback", json={"labels": [{"request_id": "late", "label": 1}]})
    assert response.status_code == 404
    _predict(http, "late")
    assert _stored_labels(app) == {"late": 1}
