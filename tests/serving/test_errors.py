"""The error format of the API: bodies that are not JSON objects, unknown keys, store outages."""

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import InterfaceError, OperationalError

from driftwarden.serving.errors import install_error_handlers

ADMIN = {"Authorization": "Bearer s3cret", "content-type": "application/json"}
ENDPOINTS = [("post", "/v1/predict"), ("post", "/v1/feedback"), ("put", "/v1/admin/routing")]


def _send(http, method, path, raw):
    return http.request(method, path, content=raw, headers=ADMIN)


def test_errors_body_that_is_not_an_object_is_a_422_naming_the_body(client):
    http, _, _ = client
    cases = {b"[]": "an array", b"3": "a number", b'"hi"': "a string", b"null": None}
    for method, path in ENDPOINTS:
        for raw, kind in cases.items():
            response = _send(http, method, path, raw)
            assert response.status_code == 422, (path, raw)
            body = response.json()
            assert set(body) == {"error", "detail", "field"}
            assert (body["error"], body["field"]) == ("invalid_request", "body"), (path, raw)
            assert body["detail"].startswith("body: expected a JSON object"), body["detail"]
            if kind is not None:
                assert f"got {kind}" in body["detail"], body["detail"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_errors_malformed_json_is_a_400_naming_the_body(client, method, path):
    http, _, _ = client
    response = _send(http, method, path, b'{"labels": [')
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "detail", "field"}
    assert (body["error"], body["field"]) == ("malformed_json", "body")
    assert body["detail"].startswith("the body is not valid JSON")


def test_errors_routing_refuses_an_unknown_key_naming_it(client):
    http, app, _ = client
    before = app.state.serving.router.config
    response = http.put("/v1/admin/routing", json={"mode": "split", "shares": 0.5}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["field"] == "shares"
    assert response.json()["detail"].startswith("shares: unknown key")
    assert app.state.serving.router.config == before


@pytest.mark.parametrize("kind", [OperationalError, InterfaceError])
def test_errors_driver_outage_is_a_503_to_retry_without_the_sql(kind):
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/write")
    async def write():
        raise kind("INSERT INTO labels VALUES ('secret')", {}, sqlite3.OperationalError("locked"))

    with TestClient(app) as http:
        response = http.get("/write")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert (body["error"], body["field"]) == ("store_unavailable", None)
    assert "secret" not in body["detail"]
    assert "send the request again" in body["detail"]
