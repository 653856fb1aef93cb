"""The API end to end in process: real registry, real SQLite store, real micro-batching."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from driftwarden.core import RegistrySettings
from driftwarden.core.errors import RegistryError
from driftwarden.registry import ModelRegistry
from driftwarden.serving.app import create_app
from driftwarden.store import (
    count_predictions,
    create_store_engine,
    predictions_between,
    upgrade,
)

ROW = {"usage": 12.5, "plan": "basic", "account": "A1"}


def test_predict_one_row_answers_and_logs_it(client):
    http, app, _ = client
    response = http.post("/v1/predict", json={**ROW, "request_id": "r-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == "r-1"
    assert 0.0 <= body["probability"] <= 1.0
    assert body["label"] == int(body["probability"] >= 0.5)
    assert (body["model_version"], body["variant"]) == (1, "champion")
    engine = app.state.serving.engine
    now = datetime.now(UTC)
    [stored] = predictions_between(engine, now - timedelta(hours=1), now + timedelta(hours=1))
    assert stored.request_id == "r-1"
    assert stored.entity_id == "A1"
    assert (stored.model_version, stored.variant) == (1, "champion")
    assert stored.score == body["probability"]
    assert stored.features == {"usage": 12.5, "plan": "basic"}


def test_predict_batch_keeps_order_and_generates_ids(client):
    http, app, _ = client
    rows = [{"usage": float(u), "plan": "pro"} for u in range(5)]
    response = http.post("/v1/predict", json={"rows": rows})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 5
    ids = [p["request_id"] for p in predictions]
    assert len(set(ids)) == 5
    # Generated ids are UUIDv7: they sort by the time they were made.
    assert {uuid.UUID(hex=i).version for i in ids} == {7}
    assert count_predictions(app.state.serving.engine) == 5


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"plan": "basic"}, 422, "usage"),
        ({"usage": "lots", "plan": "basic"}, 422, "usage"),
        ({"usage": 1.0, "plan": "basic", "colour": "red"}, 422, "colour"),
        ({"rows": [{"usage": 1.0, "plan": "pro"}, {"plan": "pro"}]}, 422, "rows.1.usage"),
        ({"rows": []}, 422, "rows"),
    ],
)
def test_predict_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    client, body, status, field
):
    http, app, _ = client
    response = http.post("/v1/predict", json=body)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert set(response.json()) == {"error", "detail", "field"}
    assert count_predictions(app.state.serving.engine) == 0


def test_predict_malformed_json_and_oversized_batch(client, make_settings):
    http, _, _ = client
    response = http.post(
        "/v1/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


def test_predict_accepts_an_unseen_category_and_counts_it(client):
    http, _, _ = client
    response = http.post("/v1/predict", json={"usage": 3.0, "plan": "platinum"})
    assert response.status_code == 200
    metrics = http.get("/metrics").text
    assert 'driftwarden_unseen_categories_total{feature="plan"} 1.0' in metrics


def test_predict_retry_with_the_same_request_id_is_logged_once(client):
    http, app, _ = client
    for _ in range(2):
        assert http.post("/v1/predict", json={**ROW, "request_id": "same"}).status_code == 200
    assert count_predictions(app.state.serving.engine) == 1


def test_feedback_records_labels_idempotently_and_reports_unknown_ids(client):
    http, _, _ = client
    http.post("/v1/predict", json={**ROW, "request_id": "known"})
    body = {"labels": [{"request_id": "known", "label": 1}, {"request_id": "ghost", "label": 0}]}
    first = http.post("/v1/feedback", json=body).json()
    assert [r["status"] for r in first["results"]] == ["recorded", "unknown"]
    assert (first["recorded"], first["unknown"]) == (1, 1)
    again = http.post("/v1/feedback", json=body).json()
    assert [r["status"] for r in again["results"]] == ["unchanged", "unknown"]
    bad = http.post("/v1/feedback", json={"labels": [{"request_id": "known", "label": 7}]})
    assert bad.status_code == 422
    assert bad.json()["field"] == "labels.0.label"


def test_routing_split_sends_a_share_to_the_challenger(client):
    http, _, _ = client
    assert http.put("/v1/admin/routing", json={"mode": "split", "share": 0.5}).status_code == 401
    headers = {"Authorization": "Bearer s3cret"}
    response = http.put("/v1/admin/routing", json={"mode": "split", "share": 0.5}, headers=headers)
    assert response.json()["share"] == 0.5
    rows = [{"usage": 10.0, "plan": "plus", "account": f"C{i}"} for i in range(200)]
    predictions = http.post("/v1/predict", json={"rows": rows}).json()["predictions"]
    variants = {p["variant"] for p in predictions}
    assert variants == {"champion", "challenger"}
    by_account = {r["account"]: p["variant"] for r, p in zip(rows, predictions, strict=True)}
    again = http.post("/v1/predict", json={"rows": rows}).json()["predictions"]
    assert by_account == {r["account"]: p["variant"] for r, p in zip(rows, again, strict=True)}
    assert all(
        p["model_version"] == (2 if p["variant"] == "challenger" else 1) for p in predictions
    )


def test_models_health_ready_and_metrics(client):
    http, _, _ = client
    models = http.get("/v1/models").json()
    assert models["loaded"] == {"champion": 1, "challenger": 2}
    assert models["task"] == "binary_classification"
    assert [v["version"] for v in models["versions"]] == [2, 1]
    assert http.get("/health").json() == {"status": "ok"}
    ready = http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["champion"] == 1
    http.post("/v1/predict", json=ROW)
    text = http.get("/metrics").text
    assert 'driftwarden_requests_total{endpoint="predict",status="200"} 1.0' in text
    assert 'driftwarden_predictions_total{variant="champion",version="1"} 1.0' in text
    assert "driftwarden_request_duration_seconds_bucket" in text
    assert "driftwarden_log_spool_rows 0.0" in text


def test_openapi_shows_the_feature_fields(client):
    http, _, _ = client
    spec = http.get("/openapi.json").json()
    body = spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    row = body["schema"]["oneOf"][0]
    assert {"usage", "plan", "account", "request_id"} <= set(row["properties"])


def test_promotion_is_picked_up_without_a_restart(client, registry_with_models):
    http, _, _ = client
    registry_with_models.promote(2)
    reload = http.post("/v1/admin/reload", headers={"X-API-Key": "s3cret"}).json()
    assert reload["loaded"]["champion"] == 2
    assert http.post("/v1/predict", json=ROW).json()["model_version"] == 2


def test_a_promotion_and_the_poller_together_load_the_new_version_once(
    make_settings, registry_with_models
):
    settings = make_settings()
    app = create_app(settings, registry=registry_with_models)
    models = app.state.serving.models
    with TestClient(app) as http:
        assert http.post("/v1/predict", json=ROW).json()["model_version"] == 1
        registry_with_models.promote(2)
        before = models.swaps

        async def both() -> list[bool]:
            # What the promote route's own refresh and the alias poller do at the same moment.
            return list(
                await asyncio.gather(models.refresh("champion"), models.refresh("champion"))
            )

        assert sorted(http.portal.call(both)) == [False, True]
        assert models.swaps == before + 1
        assert http.post("/v1/predict", json=ROW).json()["model_version"] == 2


def test_a_registry_that_goes_away_leaves_the_served_models_in_place(
    make_settings, registry_with_models, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    app = create_app(make_settings(), registry=registry_with_models)
    models = app.state.serving.models
    with TestClient(app) as http:
        assert http.post("/v1/predict", json=ROW).json()["model_version"] == 1
        # The tracking server is down: every read of an alias fails.
        down = ModelRegistry(
            RegistrySettings(tracking_uri="http://127.0.0.1:1", model_name="churn")
        )
        models.registry = down
        with pytest.raises(RegistryError):
            http.portal.call(models.refresh, "champion")
        assert http.post("/v1/predict", json=ROW).json()["model_version"] == 1
        assert http.get("/ready").json()["champion"] == 1


def test_a_server_started_while_the_registry_is_down_answers_503_not_nothing(
    make_settings, monkeypatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    settings = make_settings(registry={"tracking_uri": "http://127.0.0.1:1"})
    with TestClient(create_app(settings)) as http:
        assert http.get("/health").status_code == 200
        response = http.post("/v1/predict", json={"x": 1})
        assert response.status_code == 503
        assert response.json()["error"] == "no_model"


def test_server_without_a_champion_is_not_ready(make_settings):
    app = create_app(make_settings())
    with TestClient(app) as http:
        assert http.get("/ready").status_code == 503
        response = http.post("/v1/predict", json={"x": 1})
        assert response.status_code == 503
        assert response.json()["error"] == "no_model"


def test_alias_poller_swaps_the_champion_by_itself(make_settings, registry_with_models):
    import time

    settings = make_settings(serving={"alias_poll_interval": 0.2})
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/predict", json=ROW).json()["model_version"] == 1
        registry_with_models.promote(2)
        deadline = time.monotonic() + 30
        version = 1
        while version != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            version = http.post("/v1/predict", json=ROW).json()["model_version"]
        assert version == 2


def test_predict_key_is_required_when_configured(make_settings, registry_with_models):
    settings = make_settings(serving={"api_key": "k1", "admin_api_key": "k2"})
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/predict", json=ROW).status_code == 401
        assert http.post("/v1/predict", json=ROW, headers={"X-API-Key": "nope"}).status_code == 401
        assert http.post("/v1/predict", json=ROW, headers={"X-API-Key": "k1"}).status_code == 200
        admin = {"Authorization": "Bearer k2"}
        assert http.post("/v1/predict", json=ROW, headers=admin).status_code == 200
        assert http.get("/health").status_code == 200


def test_admin_routes_are_disabled_without_an_admin_key(make_settings, registry_with_models):
    with TestClient(create_app(make_settings(), registry=registry_with_models)) as http:
        response = http.post("/v1/admin/reload")
        assert response.status_code == 403
        assert "admin_api_key" in response.json()["detail"]


def test_shadow_mode_answers_with_the_champion_and_logs_the_challenger_too(client):
    import time

    http, app, _ = client
    headers = {"Authorization": "Bearer s3cret"}
    assert (
        http.put("/v1/admin/routing", json={"mode": "shadow"}, headers=headers).status_code == 200
    )
    answer = http.post("/v1/predict", json={**ROW, "request_id": "shadowed"}).json()
    assert (answer["variant"], answer["model_version"]) == ("champion", 1)
    engine = app.state.serving.engine
    now = datetime.now(UTC)
    deadline = time.monotonic() + 20
    stored = []
    while len(stored) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        stored = predictions_between(engine, now - timedelta(hours=1), now + timedelta(hours=1))
    by_id = {row.request_id: row for row in stored}
    assert by_id["shadowed"].variant == "champion"
    assert (by_id["shadowed:shadow"].variant, by_id["shadowed:shadow"].model_version) == (
        "shadow",
        2,
    )


def test_server_starts_and_answers_while_the_store_is_down(make_settings, registry_with_models):
    # Port 1 on loopback refuses connections: a real, unreachable PostgreSQL.
    settings = make_settings(
        store={
            "url": "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "connect_timeout_seconds": 1,
        }
    )
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        response = http.post("/v1/predict", json={**ROW, "request_id": "kept"})
        assert response.status_code == 200
        ready = http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["store"]["reachable"] is False
        assert ready.json()["store"]["spooled_rows"] == 1
        assert ready.json()["store"]["degraded"] is True
    spool = (settings.store.spool_dir).glob("*")
    assert any("kept" in path.read_text() for path in spool if path.is_file())


def test_a_full_spool_is_a_503_to_retry_and_the_rows_it_kept_stay(
    make_settings, registry_with_models
):
    settings = make_settings(
        store={
            "url": "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "connect_timeout_seconds": 1,
            "spool_max_bytes": 400,  # one row's line (260 bytes), not two
        }
    )
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/predict", json={**ROW, "request_id": "kept"}).status_code == 200
        refused = http.post("/v1/predict", json={**ROW, "request_id": "refused"})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        body = refused.json()
        assert body["error"] == "spool_full"
        assert "store.spool_max_bytes = 400 bytes" in body["detail"]
        assert http.get("/ready").json()["store"]["spooled_rows"] == 1
    kept = (settings.store.spool_dir / "predictions.jsonl").read_text()
    assert '"kept"' in kept
    assert '"refused"' not in kept


def test_a_migration_that_failed_for_good_does_not_stop_the_shut_down_flush(
    make_settings, registry_with_models, caplog
):
    settings = make_settings()
    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    # A store stamped with a revision this version does not know: the migration fails, and
    # not as an outage it would retry.
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'unknown'"))
    with TestClient(create_app(settings, registry=registry_with_models)) as http:
        assert http.post("/v1/predict", json={**ROW, "request_id": "kept"}).status_code == 200
    assert count_predictions(engine) == 1
    assert "a background task of the server had failed" in caplog.text
    engine.dispose()


def test_error_rate_counts_server_errors_since_the_last_call():
    from driftwarden.serving.metrics import ServerMetrics

    metrics = ServerMetrics()
    assert metrics.error_rate() is None  # no request yet
    metrics.predict_requests.labels("1", "champion", "200").inc(7)
    metrics.predict_requests.labels("none", "none", "503").inc(3)
    assert metrics.error_rate() == pytest.approx(0.3)
    assert metrics.error_rate() is None  # nothing new since
    metrics.predict_requests.labels("1", "champion", "200").inc(4)
    assert metrics.error_rate() == 0.0
