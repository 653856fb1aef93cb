"""``driftwarden.client`` round-trips against the published document.

Every request the client sends in a session that calls each of its methods is checked against
the operation it targets: the path and method exist, each query parameter and the JSON body
validate against the document's schemas; and every answer it reads, errors included, has a
status, content type and body that the document lists for that operation.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jsonschema_rs
import pytest

from driftwarden.client import (
    ApiConflictError,
    ApiNotFoundError,
    DriftwardenClient,
    FeedbackResult,
    Prediction,
)
from driftwarden.store import begin_retrain_run

ROWS = [
    {"usage": 12.0, "plan": "basic", "account": "A-1", "request_id": "c-1"},
    {"usage": 31.5, "plan": "pro", "account": "A-2"},
]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    # The document's components travel with the schema, so its $refs resolve.
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": document.get("components", {})}, validate_formats=True
    )


def _matches(template: str, path: str) -> bool:
    """Whether ``path`` is an instance of the document's path ``template``."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.fullmatch("[^/]+".join(re.escape(part) for part in parts), path) is not None


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, operations in document["paths"].items():
        if _matches(template, path) and method.lower() in operations:
            return operations[method.lower()]  # type: ignore[no-any-return]
    raise AssertionError(f"{method} {path} is not an operation of the document")


def _query_value(raw: str, schema: dict[str, Any]) -> Any:
    """A query string value as the parameter's JSON type reads it."""
    kinds = {s.get("type") for s in schema.get("anyOf", [schema])}
    if kinds & {"integer", "number", "boolean"}:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def contract_violations(document: dict[str, Any], exchange: list[httpx.Response]) -> list[str]:
    """Every way the requests and answers of ``exchange`` depart from ``document``."""
    problems: list[str] = []
    for response in exchange:
        request = response.request
        name = f"{request.method} {request.url.path}"
        operation = _operation(document, request.method, request.url.path)
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        for key, raw in request.url.params.multi_items():
            if key not in parameters:
                problems.append(f"{name}: sends the undocumented query parameter {key}")
                continue
            schema = parameters[key]["schema"]
            if not _validator(document, schema).is_valid(_query_value(raw, schema)):
                problems.append(f"{name}: query {key}={raw!r} does not match the document")
        if request.content:
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                problems.append(f"{name}: sends a body the document does not take")
            else:
                sent = json.loads(request.content)
                for error in _validator(document, body["schema"]).iter_errors(sent):
                    problems.append(f"{name}: body {error.message} at {list(error.instance_path)}")
        documented = operation["responses"].get(str(response.status_code))
        if documented is None:
            problems.append(f"{name}: answered the undocumented {response.status_code}")
            continue
        media = response.headers.get("content-type", "").split(";")[0]
        content = documented.get("content", {})
        if media not in content:
            problems.append(f"{name}: answered {media}, the document says {list(content)}")
            continue
        schema = content[media].get("schema")
        if media == "application/json" and schema is not None:
            for error in _validator(document, schema).iter_errors(response.json()):
                problems.append(
                    f"{name}: {response.status_code} body {error.message} at "
                    f"{list(error.instance_path)}"
                )
    return problems


@pytest.fixture
def recorded(client):
    """The client with the admin key over the served app, and every answer it read."""
    http, app, _ = client
    exchange: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        exchange.append(response)

    http.event_hooks["response"] = [*http.event_hooks["response"], keep]
    yield DriftwardenClient(http=http, admin_key="s3cret"), app, exchange
    http.event_hooks["response"] = [h for h in http.event_hooks["response"] if h is not keep]


def test_client_every_method_round_trips_against_the_document(recorded):
    api, app, exchange = recorded
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(hours=1)
    assert api.health()["status"] == "ok"
    assert api.ready()["ready"] is True
    assert "driftwarden_requests_total" in api.metrics()
    one = api.predict(ROWS[1])
    batch = api.predict_batch(ROWS)
    assert isinstance(one, Prediction)
    assert batch[0].request_id == "c-1"
    result = api.feedback({one.request_id: 1, "c-1": False})
    assert isinstance(result, FeedbackResult)
    assert result.recorded == 2
    api.models()
    api.model_history()
    api.monitoring_runs(start=start, end=end, limit=5, detail=True)
    api.drift(feature="usage", start=start, end=end)
    api.quality(start=start, end=end)
    api.performance(start=start, end=end)
    api.distribution("usage", start=start, end=end, version=1)
    api.classification(start=start, end=end, threshold=0.4)
    api.run_monitor()
    api.alerts(status="open", severity="warning", start=start, end=end)
    api.retraining_runs(status="running")
    api.ab_tests(status="running")
    api.set_routing(mode="split", share=0.25, salt="s")
    api.reload()
    test = api.start_ab_test(2, mode="shadow")
    assert api.ab_test(test["id"])["id"] == test["id"]
    api.stop_ab_test(test["id"], reason="done")
    api.promote(2, reason="better")
    api.rollback(reason="worse")
    # Errors are answers of the document too: each must be documented with its body.
    with pytest.raises(ApiConflictError):
        api.regression(start=start, end=end)
    for missing in (api.alert, api.acknowledge, api.retraining_run):
        with pytest.raises(ApiNotFoundError):
            missing(999)
    with pytest.raises(ApiNotFoundError):
        api.mute(999, minutes=5)
    state = app.state.serving
    begin_retrain_run(state.engine, state.model_name, trigger="manual", reason="held",
                      evidence={}, at=datetime.now(UTC))  # fmt: skip
    with pytest.raises(ApiConflictError):
        api.retrain(reason="again")
    document = app.openapi()
    assert contract_violations(document, exchange) == []
    sent = {(r.request.method, _template(document, r.request)) for r in exchange}
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    # Every operation was exercised (only the document itself is fetched by no method).
    assert operations - sent == set()


def _template(document: dict[str, Any], request: httpx.Request) -> str:
    for template in document["paths"]:
        if _matches(template, request.url.path):
            return template
    return request.url.path


def test_client_contract_check_catches_an_undocumented_answer(recorded):
    """The check above can fail: an answer the document does not list is named."""
    api, app, exchange = recorded
    api.health()
    document = app.openapi()
    trimmed = json.loads(json.dumps(document))
    trimmed["paths"]["/health"]["get"]["responses"].pop("200")
    assert contract_violations(trimmed, exchange) == ["GET /health: answered the undocumented 200"]
