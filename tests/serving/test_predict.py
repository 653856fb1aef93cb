"""``POST /v1/predict`` in process: validation of the body, limits, and idempotent retries."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from driftwarden.serving.app import create_app
from driftwarden.serving.model_router import RoutingConfig, hash_point
from driftwarden.store import count_predictions, labelled_predictions, predictions_between

MAX_ROWS = 4
ADMIN = {"Authorization": "Bearer s3cret"}
ROW = {"usage": 12.5, "plan": "basic", "account": "A1"}


@pytest.fixture
def serving_overrides():
    return {"max_request_rows": MAX_ROWS}


def _stored(app):
    now = datetime.now(UTC)
    engine = app.state.serving.engine
    return predictions_between(engine, now - timedelta(hours=1), now + timedelta(hours=1))


def _assert_refused(response, status, field, app):
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "detail", "field"}
    assert body["field"] == field
    assert field in body["detail"]
    assert count_predictions(app.state.serving.engine) == 0


def test_predict_oversized_batch_is_413_naming_rows_and_writes_nothing(client):
    http, app, _ = client
    rows = [{"usage": float(i), "plan": "pro"} for i in range(MAX_ROWS + 1)]
    response = http.post("/v1/predict", json={"rows": rows})
    _assert_refused(response, 413, "rows", app)
    assert response.json()["error"] == "batch_too_large"
    assert f"at most {MAX_ROWS}" in response.json()["detail"]
    assert http.post("/v1/predict", json={"rows": rows[:MAX_ROWS]}).status_code == 200


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"usage": NaN, "plan": "basic"}', "usage"),
        (b'{"usage": Infinity, "plan": "basic"}', "usage"),
        (b'{"usage": -Infinity, "plan": "basic"}', "usage"),
        (b'{"usage": 1.0, "plan": NaN}', "plan"),
        (
            b'{"rows": [{"usage": 1.0, "plan": "pro"}, {"usage": NaN, "plan": "pro"}]}',
            "rows.1.usage",
        ),
    ],
)
def test_predict_non_finite_literals_are_422_naming_the_field_and_write_nothing(client, raw, field):
    http, app, _ = client
    response = http.post("/v1/predict", content=raw, headers={"content-type": "application/json"})
    _assert_refused(response, 422, field, app)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": [ROW], "junk": 1}, "junk"),
        ({"usage": True, "plan": "basic"}, "usage"),
        ({"rows": [ROW, {"usage": False, "plan": "pro"}]}, "rows.1.usage"),
        ({"usage": 1.0, "plan": "  "}, "plan"),
        ({"usage": 1.0, "plan": ""}, "plan"),
        ({**ROW, "account": "a" * 257}, "account"),
        ({**ROW, "request_id": "r-1:shadow"}, "request_id"),
    ],
)
def test_predict_loose_values_are_422_naming_the_field_and_write_nothing(client, body, field):
    http, app, _ = client
    _assert_refused(http.post("/v1/predict", json=body), 422, field, app)


def test_predict_accepts_numbers_as_text_and_the_longest_entity_id(client):
    http, app, _ = client
    account = "a" * 256
    response = http.post("/v1/predict", json={"usage": "29.85", "plan": "pro", "account": account})
    assert response.status_code == 200
    [stored] = _stored(app)
    assert stored.features == {"usage": 29.85, "plan": "pro"}
    assert stored.entity_id == account


def test_predict_refuses_a_request_id_repeated_in_a_batch(client):
    http, app, _ = client
    rows = [{**ROW, "request_id": rid} for rid in ("a", "b", "a")]
    response = http.post("/v1/predict", json={"rows": rows})
    _assert_refused(response, 422, "rows.2.request_id", app)
    assert "rows.0" in response.json()["detail"]


def test_predict_retry_is_answered_from_the_log_by_the_model_that_scored_it(
    client, registry_with_models
):
    http, app, _ = client
    first = http.post("/v1/predict", json={**ROW, "request_id": "r-1"}).json()
    assert (first["model_version"], first["variant"]) == (1, "champion")
    # A new champion must not re-score a request that was already answered.
    registry_with_models.promote(2)
    assert http.post("/v1/admin/reload", headers=ADMIN).json()["loaded"]["champion"] == 2
    again = http.post("/v1/predict", json={**ROW, "usage": 99.0, "request_id": "r-1"})
    assert again.status_code == 200
    assert again.json() == first
    assert http.post("/v1/predict", json=ROW).json()["model_version"] == 2
    assert [s.request_id for s in _stored(app)].count("r-1") == 1
    metrics = http.get("/metrics").text
    assert 'driftwarden_predictions_total{variant="champion",version="1"} 1.0' in metrics


def test_predict_retry_keeps_the_variant_that_answered(client):
    http, app, _ = client
    http.put("/v1/admin/routing", json={"mode": "split", "share": 1.0}, headers=ADMIN)
    first = http.post("/v1/predict", json={**ROW, "request_id": "c-1"}).json()
    assert (first["model_version"], first["variant"]) == (2, "challenger")
    http.put("/v1/admin/routing", json={"mode": "off"}, headers=ADMIN)
    assert http.post("/v1/predict", json={**ROW, "request_id": "c-1"}).json() == first
    assert count_predictions(app.state.serving.engine) == 1


def test_predict_batch_answers_retried_rows_from_the_log_and_scores_the_rest(client):
    http, app, _ = client
    first = http.post("/v1/predict", json={"rows": [{**ROW, "request_id": "old"}]}).json()
    rows = [
        {"usage": 40.0, "plan": "pro", "request_id": "new"},
        {**ROW, "usage": 1.0, "request_id": "old"},
        {"usage": 3.0, "plan": "plus"},
    ]
    answers = http.post("/v1/predict", json={"rows": rows}).json()["predictions"]
    assert [a["request_id"] for a in answers[:2]] == ["new", "old"]
    assert answers[1] == first["predictions"][0]
    assert answers[0] != answers[1]
    stored = {s.request_id: s for s in _stored(app)}
    assert len(stored) == 3
    assert stored["new"].features == {"usage": 40.0, "plan": "pro"}
    assert stored["old"].features == {"usage": 12.5, "plan": "basic"}
    assert answers[2]["request_id"] in stored


def test_predict_looks_up_the_log_only_for_client_request_ids(client):
    http, app, _ = client
    engine = app.state.serving.engine
    lookups: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if "FROM predictions" in statement:
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        rows = [{"usage": float(i), "plan": "pro"} for i in range(MAX_ROWS)]
        assert http.post("/v1/predict", json={"rows": rows}).status_code == 200
        assert http.post("/v1/predict", json=ROW).status_code == 200
        assert lookups == []
        with_ids = [{**row, "request_id": f"id-{i}"} for i, row in enumerate(rows)]
        assert http.post("/v1/predict", json={"rows": with_ids}).status_code == 200
        assert len(lookups) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert count_predictions(engine) == 2 * MAX_ROWS + 1


def _counts(http, name, *labels):
    """The samples of counter ``name`` as ``{(label values...): count}``."""
    families = text_string_to_metric_families(http.get("/metrics", headers=ADMIN).text)
    [family] = [f for f in families if f.name == name]
    return {
        tuple(s.labels[label] for label in labels): s.value
        for s in family.samples
        if s.name == f"{name}_total"
    }


def test_predict_requests_are_counted_by_version_variant_and_status(
    make_settings, registry_with_models
):
    settings = make_settings(serving={"api_key": "k1", "admin_api_key": "s3cret"})
    user = {"X-API-Key": "k1"}
    # Two entities on either side of share 0.5 under the default salt.
    salt = RoutingConfig().salt
    accounts = [f"A{i}" for i in range(100)]
    low = next(a for a in accounts if hash_point(salt, a) < 0.5)
    high = next(a for a in accounts if hash_point(salt, a) >= 0.5)
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/predict", json=ROW).status_code == 401
        assert http.post("/v1/predict", json={"usage": 1.0}, headers=user).status_code == 422
        assert http.post("/v1/predict", json=ROW, headers=user).status_code == 200
        routing = {"mode": "split", "share": 0.5}
        assert http.put("/v1/admin/routing", json=routing, headers=ADMIN).status_code == 200
        both = {"rows": [{**ROW, "account": low}, {**ROW, "account": high}]}
        answer = http.post("/v1/predict", json=both, headers=user).json()
        assert [p["variant"] for p in answer["predictions"]] == ["challenger", "champion"]
        one = {**ROW, "account": low}
        assert http.post("/v1/predict", json=one, headers=user).json()["variant"] == "challenger"
        by_arm = _counts(http, "driftwarden_predict_requests", "version", "variant", "status")
        by_endpoint = _counts(http, "driftwarden_requests", "endpoint", "status")
    assert by_arm == {
        ("none", "none", "401"): 1,
        ("none", "none", "422"): 1,
        ("1", "champion", "200"): 1,
        ("mixed", "mixed", "200"): 1,
        ("2", "challenger", "200"): 1,
    }
    assert by_endpoint[("predict", "401")] == 1
    assert by_endpoint[("predict", "200")] == 3


def _wait_for_stored(app, count, timeout=20.0):
    """The logged rows once there are ``count``; polls, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while len(stored := _stored(app)) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{count} rows expected in the log within {timeout} s, got {stored}")
        time.sleep(0.02)
    return stored


def test_predict_shadow_rows_are_labelled_by_the_request_they_shadow(client):
    http, app, _ = client
    assert http.put("/v1/admin/routing", json={"mode": "shadow"}, headers=ADMIN).status_code == 200
    body = {"rows": [{**ROW, "request_id": "client-1"}, {"usage": 40.0, "plan": "pro"}]}
    response = http.post("/v1/predict", json=body)
    assert response.status_code == 200
    answers = response.json()["predictions"]
    assert [(a["variant"], a["model_version"]) for a in answers] == [("champion", 1)] * 2
    client_id, generated = (a["request_id"] for a in answers)
    assert client_id == "client-1"
    # The shadow rows are logged off the response path, after the answer.
    stored = _wait_for_stored(app, 4)
    assert {(p.request_id, p.variant, p.parent_request_id) for p in stored} == {
        ("client-1", "champion", None),
        ("client-1:shadow", "shadow", "client-1"),
        (generated, "champion", None),
        (f"{generated}:shadow", "shadow", generated),
    }

    labels = [{"request_id": client_id, "label": 1}, {"request_id": generated, "label": 0}]
    feedback = http.post("/v1/feedback", json={"labels": labels})
    assert feedback.status_code == 200
    assert feedback.json()["results"] == [
        {"request_id": client_id, "status": "recorded"},
        {"request_id": generated, "status": "recorded"},
    ]
    # An id the client never saw stays unknown, though a shadow row is stored under it.
    stray = http.post(
        "/v1/feedback", json={"labels": [{"request_id": "client-1:shadow", "label": 0}]}
    )
    assert (stray.status_code, stray.json()["error"]) == (404, "unknown_request_id")

    now = datetime.now(UTC)
    engine = app.state.serving.engine
    labelled = labelled_predictions(engine, now - timedelta(hours=1), now + timedelta(hours=1))
    assert {
        (
            item.prediction.request_id,
            item.prediction.variant,
            item.prediction.model_version,
            item.prediction.parent_request_id,
            item.true_label,
        )
        for item in labelled
    } == {
        ("client-1", "champion", 1, None, 1),
        ("client-1:shadow", "shadow", 2, "client-1", 1),
        (generated, "champion", 1, None, 0),
        (f"{generated}:shadow", "shadow", 2, generated, 0),
    }


def test_predict_without_a_champion_loaded_is_503_and_logs_nothing(client, registry_with_models):
    http, app, _ = client
    assert http.post("/v1/predict", json=ROW).status_code == 200
    # The champion alias removed from the registry: the server unloads that model at reload,
    # while the request model it was built from stays.
    registry_with_models._client.delete_registered_model_alias(
        registry_with_models.name, registry_with_models.champion
    )
    assert "champion" not in http.post("/v1/admin/reload", headers=ADMIN).json()["loaded"]
    response = http.post("/v1/predict", json={"rows": [ROW, {**ROW, "request_id": "late"}]})
    assert response.status_code == 503
    assert response.json()["error"] == "no_model"
    assert count_predictions(app.state.serving.engine) == 1
