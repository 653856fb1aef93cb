"""The OpenAPI document holds every route to one contract, and the server keeps the body limit.

``contract_problems`` walks every route of an app and names each way its operation falls short
of the rules of ``serving/openapi.py``: the error answers it can give, each with the shared error
body, its keys under ``security``, and the statuses its kind of route answers. A route added
later is held to the same rules; the last test of this group shows a bare route being caught.
"""

import asyncio
import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from driftwarden.serving.app import create_app
from driftwarden.serving.openapi import api_routes, key_scope

ROW = {"usage": 12.0, "plan": "basic", "account": "A-1"}
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture
def serving_overrides():
    return {"api_key": "p-key"}


def contract_problems(app: FastAPI) -> list[str]:
    """Every way an operation of ``app`` breaks the document's rules, as sentences."""
    settings = app.state.serving.settings
    document = app.openapi()
    problems: list[str] = []
    for path, route in api_routes(app):
        if not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            name = f"{method} {path}"
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is None:
                problems.append(f"{name}: not in the document")
                continue
            responses = operation["responses"]
            errors = {int(code): body for code, body in responses.items() if int(code) >= 400}
            needed = {413}
            if route.dependant.query_params or route.dependant.path_params:
                needed.add(422)
            if "requestBody" in operation:
                needed |= {400, 422}
            scope = key_scope(route)
            if path.startswith("/v1/"):
                needed.add(503)
                if scope is None:
                    problems.append(f"{name}: guarded by no key")
            if scope == "admin":
                needed.add(401 if settings.serving.admin_api_key is not None else 403)
                if operation.get("security") != [{"AdminKey": []}]:
                    problems.append(f"{name}: does not name the admin key under security")
            if scope == "predict" and settings.serving.api_key is not None:
                needed.add(401)
                if {"PredictKey": []} not in operation.get("security", []):
                    problems.append(f"{name}: does not name the predict key under security")
            for status in sorted(needed - set(errors)):
                problems.append(f"{name}: does not document {status}")
            for status, body in errors.items():
                schema = body.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != ERROR_REF and path != "/ready":
                    problems.append(f"{name}: {status} is not the shared error body")
            if 503 in errors and path != "/ready" and "Retry-After" not in errors[503]["headers"]:
                problems.append(f"{name}: 503 does not document Retry-After")
    return problems


def test_contract_every_route_documents_its_errors_and_keys(client):
    _, app, _ = client
    assert contract_problems(app) == []


def test_contract_a_route_added_without_a_key_is_caught(make_settings, registry_with_models):
    app = create_app(make_settings(), registry=registry_with_models)
    bare = APIRouter()

    @bare.get("/v1/bare")
    async def read_bare(page: int = 1) -> dict[str, int]:
        return {"page": page}

    app.include_router(bare)
    assert contract_problems(app) == ["GET /v1/bare: guarded by no key"]


def test_contract_documents_the_keys_as_api_key_headers(client):
    http, _, _ = client
    schemes = http.get("/openapi.json").json()["components"]["securitySchemes"]
    for name in ("PredictKey", "AdminKey"):
        assert schemes[name] | {"description": ""} == {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "",
        }


def test_contract_admin_routes_document_403_while_admin_actions_are_disabled(
    make_settings, registry_with_models
):
    app = create_app(make_settings(), registry=registry_with_models)
    with TestClient(app) as http:
        document = http.get("/openapi.json").json()
        responses = document["paths"]["/v1/admin/routing"]["put"]["responses"]
        assert "403" in responses
        assert "401" not in responses
        answer = http.put("/v1/admin/routing", json={"share": 0.1})
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


def test_contract_metrics_are_documented_and_answered_as_text(client):
    http, _, _ = client
    document = http.get("/openapi.json").json()
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]
    assert http.get("/metrics").headers["content-type"].startswith("text/plain")


def test_contract_the_predict_body_lists_categories_and_the_batch_limit(client):
    http, _, settings = client
    document = http.get("/openapi.json").json()
    body = document["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    row, batch = body["application/json"]["schema"]["oneOf"]
    assert {"enum": ["basic", "plus", "pro"]} in row["properties"]["plan"]["anyOf"]
    assert batch["properties"]["rows"]["maxItems"] == settings.serving.max_request_rows


def test_contract_feedback_documents_the_labels_the_model_takes(client):
    http, _, _ = client
    document = http.get("/openapi.json").json()
    body = document["paths"]["/v1/feedback"]["post"]["requestBody"]["content"]
    item = body["application/json"]["schema"]["properties"]["labels"]["items"]
    # The churn model's positive class is True, which a label may also name as "True".
    assert item["properties"]["label"]["enum"] == [0, 1, "0", "1", True, False, "True"]
    refused = http.post("/v1/feedback", json={"labels": [{"request_id": "r", "label": ""}]},
                        headers={"X-API-Key": "p-key"})  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["field"] == "labels.0.label"


@pytest.mark.parametrize("account", [True, 1.5, ["A"], {"id": 1}])
def test_contract_a_wrongly_typed_entity_id_is_refused_naming_it(client, account: Any):
    http, _, _ = client
    answer = http.post("/v1/predict", json={"rows": [{**ROW, "account": account}]},
                       headers={"X-API-Key": "p-key"})  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["field"] == "rows.0.account"


def test_contract_an_integer_entity_id_is_its_decimal_text(client):
    http, app, _ = client
    answer = http.post("/v1/predict", json={**ROW, "account": 42}, headers={"X-API-Key": "p-key"})
    assert answer.status_code == 200
    assert (
        app.state.serving.request_model.model_validate({**ROW, "account": 42}).entity_value()
        == "42"
    )


def test_contract_a_405_lists_every_method_of_the_path(client):
    http, _, _ = client
    answer = http.delete("/v1/ab-tests", headers={"X-API-Key": "s3cret"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"


# -- the request-size limit --------------------------------------------------------------------


@pytest.fixture
def small_limit(make_settings, registry_with_models):
    settings = make_settings(serving={"max_request_bytes": 2048, "admin_api_key": "s3cret"})
    return create_app(settings, registry=registry_with_models)


def test_limit_a_body_announced_too_large_is_refused_unread(small_limit):
    body = json.dumps({"rows": [ROW] * 60}).encode()
    assert len(body) > 2048
    with TestClient(small_limit) as http:
        answer = http.post(
            "/v1/predict", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
        found = answer.json()
        assert found["error"] == "request_too_large"
        assert f"{len(body)} bytes sent" in found["detail"]
        assert "at most 2048 bytes (serving.max_request_bytes)" in found["detail"]
        # The limit is for every route; a body that fits is parsed as before.
        assert http.post("/v1/feedback", content=body).status_code == 413
        assert http.post("/v1/predict", json=ROW).status_code == 200


def test_limit_a_streamed_body_is_refused_once_it_passes_the_limit(small_limit):
    """A body without Content-Length is counted as it arrives: reading stops at the first
    chunk past the limit, and the rest is never asked for."""
    chunks = [b'{"rows": [' + b" " * 1000] + [b" " * 1000] * 20 + [b"]}"]
    asked: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append(len(asked))
        index = len(asked) - 1
        return {"type": "http.request", "body": chunks[index], "more_body": index + 1 < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/predict",
        "raw_path": b"/v1/predict",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "app": small_limit,
    }
    with TestClient(small_limit):  # started, as a server runs it
        asyncio.run(small_limit(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert start["status"] == 413
    assert body["error"] == "request_too_large"
    assert "2048 bytes" in body["detail"]
    assert len(asked) == 3  # 1,000 + 1,000 + 1,000 bytes: the third passes 2,048
