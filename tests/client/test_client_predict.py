"""Predictions and labels through the client against a real app: typed answers, errors that
name the field, labels in chunks, and the asyncio client on an ASGI transport."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

import httpx
import pytest

from driftwarden.client import (
    AsyncDriftwardenClient,
    DriftwardenClient,
    FeedbackOutcome,
    FeedbackResult,
    InvalidRequestError,
    Prediction,
    api,
)
from driftwarden.client.errors import ApiNotFoundError
from driftwarden.core.errors import DriftwardenError, NotFoundError

ROW = {"account": "A1", "usage": 12.5, "plan": "basic"}


def test_client_predict_returns_a_typed_prediction(server):
    answer = server.client.predict(ROW)
    assert isinstance(answer, Prediction)
    assert 0.0 <= answer.probability <= 1.0
    assert answer.label in (0, 1)
    assert (answer.model_version, answer.variant) == (1, "champion")
    assert len(answer.request_id) == 32


def test_client_predict_with_a_request_id_is_answered_again_from_the_log(server):
    first = server.client.predict({**ROW, "request_id": "order-1"})
    again = server.client.predict({**ROW, "usage": 99.0, "request_id": "order-1"})
    assert first.request_id == "order-1"
    assert again == first


def test_client_predict_batch_answers_in_order(server, churn_frame, rows_of):
    rows = rows_of(churn_frame(5, seed=1))
    answers = server.client.predict_batch(
        [{**r, "request_id": f"b{i}"} for i, r in enumerate(rows)]
    )
    assert [a.request_id for a in answers] == ["b0", "b1", "b2", "b3", "b4"]
    assert all(isinstance(a, Prediction) for a in answers)
    assert server.client.predict_batch([]) == []


def test_client_feedback_records_then_reports_unchanged_and_unknown(server):
    ids = [a.request_id for a in server.client.predict_batch([ROW, ROW, ROW])]
    first = server.client.feedback({ids[0]: 1, ids[1]: False})
    assert first == FeedbackResult(
        results=(FeedbackOutcome(ids[0], "recorded"), FeedbackOutcome(ids[1], "recorded")),
        recorded=2,
        unknown=0,
    )
    again = server.client.feedback([(ids[0], 1), (ids[2], "1"), ("nobody", 0)])
    assert [r.status for r in again.results] == ["unchanged", "recorded", "unknown"]
    assert (again.recorded, again.unknown, again.unchanged) == (1, 1, 1)
    assert again.unknown_ids == ("nobody",)
    assert server.client.feedback({}) == FeedbackResult(results=(), recorded=0, unknown=0)


def test_client_feedback_whose_every_id_is_unknown_is_not_found_naming_the_field(server):
    with pytest.raises(ApiNotFoundError, match="unknown_request_id") as caught:
        server.client.feedback({"ghost-1": 1, "ghost-2": 0})
    error = caught.value
    assert isinstance(error, NotFoundError)
    assert isinstance(error, LookupError)
    assert (error.status, error.error, error.field) == (
        404,
        "unknown_request_id",
        "labels.0.request_id",
    )
    assert "ghost-1" in error.detail


def test_client_feedback_refuses_a_label_naming_its_position(server):
    [answer] = server.client.predict_batch([ROW])
    with pytest.raises(InvalidRequestError, match=r"labels\.1\.label") as caught:
        server.client.feedback([(answer.request_id, 1), (answer.request_id, "maybe")])
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 422
    with pytest.raises(TypeError, match="label of 'x'"):
        server.client.feedback({"x": [0.5]})
    with pytest.raises(TypeError, match=r"\(request_id, label\) pairs"):
        server.client.feedback(["just-an-id"])  # type: ignore[list-item]


def test_client_feedback_goes_in_chunks_in_order(server, requests_sent, monkeypatch):
    monkeypatch.setattr(api, "FEEDBACK_CHUNK_SIZE", 2)
    known = [a.request_id for a in server.client.predict_batch([ROW] * 3)]
    requests_sent.clear()
    # The second chunk has no known id at all: as one request, it counts as unknown.
    labels = [(known[0], 1), (known[1], 0), ("ghost-1", 1), ("ghost-2", 0), (known[2], 1)]
    result = server.client.feedback(labels)
    assert [r.request_id for r in result.results] == [rid for rid, _ in labels]
    assert [r.status for r in result.results] == [
        "recorded", "recorded", "unknown", "unknown", "recorded"
    ]  # fmt: skip
    assert (result.recorded, result.unknown) == (3, 2)
    assert [(r.method, r.url.path) for r in requests_sent] == [("POST", "/v1/feedback")] * 3


def test_client_feedback_chunk_errors_name_the_position_in_everything_sent(server, monkeypatch):
    monkeypatch.setattr(api, "FEEDBACK_CHUNK_SIZE", 2)
    known = [a.request_id for a in server.client.predict_batch([ROW] * 3)]
    labels = [(known[0], 1), (known[1], 0), (known[2], 1), (known[2], "maybe")]
    with pytest.raises(InvalidRequestError, match=r"labels\.3\.label") as caught:
        server.client.feedback(labels)
    assert caught.value.field == "labels.3.label"
    assert caught.value.detail.startswith("labels.3.label:")
    # Nothing known in any chunk: the first chunk's 404, as one request would answer.
    with pytest.raises(ApiNotFoundError, match=r"labels\.0\.request_id"):
        server.client.feedback([("g1", 1), ("g2", 1), ("g3", 0)])


def test_client_predict_missing_feature_is_invalid_request_naming_the_field(server):
    with pytest.raises(InvalidRequestError, match="answered 422 invalid_request") as caught:
        server.client.predict({"account": "A1", "plan": "basic"})
    assert (caught.value.status, caught.value.field) == (422, "usage")
    assert isinstance(caught.value, DriftwardenError)
    with pytest.raises(InvalidRequestError, match=r"rows\.1\.usage") as in_batch:
        server.client.predict_batch([ROW, {"account": "A2", "plan": "pro"}])
    assert in_batch.value.field == "rows.1.usage"
    with pytest.raises(InvalidRequestError, match="unknown key") as extra:
        server.client.predict({**ROW, "usgae": 1.0})
    assert extra.value.field == "usgae"


def test_client_sends_nan_as_null_and_refuses_infinity_before_sending(server, requests_sent):
    with pytest.raises(InvalidRequestError) as caught:
        server.client.predict({**ROW, "usage": math.nan})
    assert caught.value.field == "usage"
    assert b'"usage":null' in requests_sent[-1].content
    requests_sent.clear()
    with pytest.raises(ValueError, match=r"row\.usage: expected a finite number"):
        server.client.predict({**ROW, "usage": math.inf})
    assert requests_sent == []


def test_async_client_on_an_asgi_transport(app):
    async def scenario() -> tuple[Prediction, FeedbackResult, list, dict]:
        # ASGITransport does not run the lifespan: run it on this event loop.
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                async with AsyncDriftwardenClient(http=http, admin_key="s3cret") as client:
                    assert await client.health() == {"status": "ok"}
                    answer = await client.predict({**ROW, "request_id": "async-1"})
                    [batch] = await client.predict_batch([{**ROW, "request_id": "async-2"}])
                    labels = await client.feedback({answer.request_id: 1, batch.request_id: 0})
                    alerts = await client.alerts(status="open")
                    models = await client.models()
                    with pytest.raises(ApiNotFoundError, match="no alert has id 999"):
                        await client.alert(999)
                    with pytest.raises(InvalidRequestError, match="usage") as caught:
                        await client.predict({"plan": "pro", "account": "A9"})
                    assert caught.value.field == "usage"
                    with pytest.raises(ValueError, match="naive"):
                        await client.monitoring_runs(start=datetime(2024, 3, 4))
                # A client passed in is the caller's to close.
                assert not http.is_closed
            return answer, labels, alerts, models

    answer, labels, alerts, models = asyncio.run(scenario())
    assert answer.request_id == "async-1"
    assert labels.recorded == 2
    assert alerts == []
    assert models["loaded"] == {"champion": 1}


def test_client_requests_carry_no_key_when_none_is_set(server, requests_sent):
    anonymous = DriftwardenClient(http=server.http)
    anonymous.predict(ROW)
    assert "authorization" not in requests_sent[-1].headers
    server.client.predict(ROW)
    assert requests_sent[-1].headers["authorization"] == f"Bearer {server.admin_key}"
