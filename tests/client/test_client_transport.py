"""The client's own behaviour without an app: no answer at all, error mapping, retries, the keys
each call sends, closing, exports and doctests."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from driftwarden.client import (
    ApiConflictError,
    ApiError,
    ApiNotFoundError,
    ApiTimeoutError,
    ApiUnavailableError,
    AsyncDriftwardenClient,
    AuthError,
    DriftwardenClient,
    InvalidRequestError,
    RegistryUnavailableError,
    ServiceUnavailableError,
    _call,
    error_for_status,
)
from driftwarden.core.errors import (
    ConflictError,
    DriftwardenError,
    NotFoundError,
    RegistryError,
    StoreUnavailableError,
)

MODULES = [
    "driftwarden.client.aio",
    "driftwarden.client.api",
    "driftwarden.client.errors",
    "driftwarden.client.models",
]
PREDICTION = {
    "request_id": "r1",
    "probability": 0.25,
    "label": 0,
    "model_version": 1,
    "variant": "champion",
}


def mock_client(handler: Any, **kwargs: Any) -> DriftwardenClient:
    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api.test")
    return DriftwardenClient(http=http, **kwargs)


def answers(*responses: httpx.Response | Exception) -> tuple[Any, list[httpx.Request]]:
    """A handler giving ``responses`` in turn (raising the exceptions), and what it received."""
    received: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, received


def unavailable_503() -> httpx.Response:
    body = {"error": "store_unavailable", "detail": "the store is down", "field": None}
    return httpx.Response(503, json=body, headers={"Retry-After": "0"})


# -- no answer -----------------------------------------------------------------------------------


def test_client_connection_refused_is_api_unavailable_naming_the_url(free_port):
    url = f"http://127.0.0.1:{free_port}"
    with (
        DriftwardenClient(url, timeout=2) as client,
        pytest.raises(ApiUnavailableError, match=rf"could not reach .* at {url}/health") as c,
    ):
        client.health()
    assert isinstance(c.value, DriftwardenError)
    assert isinstance(c.value, ConnectionError)
    assert c.value.url == f"{url}/health"
    assert isinstance(c.value.__cause__, httpx.ConnectError)


def test_async_client_connection_refused_is_api_unavailable(free_port):
    url = f"http://127.0.0.1:{free_port}"

    async def call() -> None:
        async with AsyncDriftwardenClient(url, timeout=2) as client:
            await client.alerts()

    with pytest.raises(ApiUnavailableError, match=f"127.0.0.1:{free_port}/v1/alerts"):
        asyncio.run(call())


def test_client_timeout_is_api_timeout_error():
    handler, _ = answers(httpx.ReadTimeout("timed out"))
    with pytest.raises(ApiTimeoutError, match="may have handled the request") as caught:
        mock_client(handler).run_monitor()
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, ApiUnavailableError)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "kinds"),
    [
        (400, "malformed_json", (InvalidRequestError, ValueError)),
        (401, "unauthorized", (AuthError,)),
        (403, "forbidden", (AuthError,)),
        (404, "not_found", (ApiNotFoundError, NotFoundError, LookupError)),
        (409, "conflict", (ApiConflictError, ConflictError)),
        (413, "batch_too_large", (InvalidRequestError,)),
        (422, "invalid_request", (InvalidRequestError, ValueError)),
        (503, "store_unavailable", (ServiceUnavailableError, StoreUnavailableError)),
        (503, "registry_unavailable", (RegistryUnavailableError, RegistryError)),
        (500, "internal_error", (ApiError,)),
    ],
)
def test_error_for_status_maps_each_status_to_the_core_error(status, error, kinds):
    body = {"error": error, "detail": "what went wrong", "field": "rows.2.usage"}
    found = error_for_status(status, body, method="POST", url="http://h/v1/predict")
    assert isinstance(found, (ApiError, DriftwardenError, *kinds))
    assert all(isinstance(found, kind) for kind in kinds)
    assert (found.status, found.error, found.detail, found.field) == (
        status, error, "what went wrong", "rows.2.usage"
    )  # fmt: skip
    assert str(found) == (
        f"POST http://h/v1/predict answered {status} {error}: what went wrong "
        "(field 'rows.2.usage')"
    )
    assert found.body == body


def test_error_for_status_reads_a_body_that_is_not_the_apis():
    found = error_for_status(502, None, text="<html>Bad Gateway</html>", method="GET", url="u")
    assert type(found) is ApiError
    assert (found.error, found.detail, found.field, found.body) == (
        "http_error", "<html>Bad Gateway</html>", None, None
    )  # fmt: skip
    assert error_for_status(500, ["not", "an", "object"]).detail == "(empty body)"


def test_client_a_503_carries_retry_after_and_ready_returns_its_503_body():
    not_ready = {"ready": False, "champion": None, "store": {"reachable": True}}
    handler, _ = answers(unavailable_503(), httpx.Response(503, json=not_ready))
    client = mock_client(handler)
    with pytest.raises(ServiceUnavailableError, match="503 store_unavailable") as caught:
        client.models()
    assert caught.value.retry_after == 0.0
    assert client.ready() == not_ready


def test_client_an_unreadable_success_is_an_unexpected_response():
    handler, _ = answers(
        httpx.Response(200, text="not json"), httpx.Response(200, json={"alerts": "oops"})
    )
    client = mock_client(handler)
    with pytest.raises(ApiError, match=r"unexpected_response.*same version"):
        client.models()
    with pytest.raises(ApiError, match="alerts: expected a list of JSON objects"):
        client.alerts()


# -- retries -------------------------------------------------------------------------------------


def test_client_sends_each_request_once_by_default():
    handler, received = answers(unavailable_503())
    with pytest.raises(ServiceUnavailableError):
        mock_client(handler).health()
    assert len(received) == 1


def test_client_retries_idempotent_calls_after_a_503_or_no_answer(monkeypatch):
    monkeypatch.setattr(_call, "_FIRST_WAIT", 0.0)
    handler, received = answers(
        unavailable_503(),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"status": "ok"}),
        unavailable_503(),
        httpx.Response(200, json=PREDICTION),
        unavailable_503(),
        unavailable_503(),
    )
    client = mock_client(handler, retries=2)
    assert client.health() == {"status": "ok"}
    assert len(received) == 3
    # A row with its own request id is answered from the log when sent again.
    assert client.predict({"usage": 1.0, "request_id": "r1"}).request_id == "r1"
    assert len(received) == 5
    # Without one it would be scored and logged twice: sent once.
    with pytest.raises(ServiceUnavailableError):
        client.predict({"usage": 1.0})
    assert len(received) == 6


def test_client_never_retries_actions():
    handler, received = answers(unavailable_503(), httpx.ConnectError("refused"))
    client = mock_client(handler, retries=3, admin_key="k")
    with pytest.raises(ServiceUnavailableError):
        client.promote(2)
    with pytest.raises(ApiUnavailableError):
        client.retrain()
    assert len(received) == 2


def test_async_client_retries_like_the_sync_one():
    handler, received = answers(unavailable_503(), httpx.Response(200, json={"status": "ok"}))

    async def call() -> dict[str, Any]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            return await AsyncDriftwardenClient(http=http, retries=1).health()

    assert asyncio.run(call()) == {"status": "ok"}
    assert len(received) == 2


def test_client_refuses_a_negative_retry_count():
    with pytest.raises(ValueError, match="retries: expected an integer >= 0, got -1"):
        DriftwardenClient(retries=-1)


# -- what goes out -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "read", "admin"),
    [
        ({}, None, None),
        ({"api_key": "r"}, "Bearer r", None),
        ({"admin_key": "a"}, "Bearer a", "Bearer a"),
        ({"api_key": "r", "admin_key": "a"}, "Bearer r", "Bearer a"),
    ],
)
def test_client_sends_the_api_key_on_reads_and_the_admin_key_on_actions(keys, read, admin):
    handler, received = answers(
        httpx.Response(200, json={"model": "m", "alerts": []}), httpx.Response(200, json={})
    )
    client = mock_client(handler, **keys)
    client.alerts()
    client.reload()
    assert [r.headers.get("authorization") for r in received] == [read, admin]


def test_client_sends_times_with_their_zone_and_only_the_filters_given():
    handler, received = answers(httpx.Response(200, json={"model": "m", "alerts": []}))
    start = datetime(2024, 3, 4, 12, tzinfo=timezone(timedelta(hours=2)))
    mock_client(handler).alerts(start=start, severity="critical")
    assert dict(received[0].url.params) == {
        "severity": "critical",
        "start": "2024-03-04T12:00:00+02:00",
        "limit": "100",
    }


def test_client_request_bodies():
    handler, received = answers(*(httpx.Response(200, json={}) for _ in range(4)))
    client = mock_client(handler, admin_key="k")
    client.set_routing(share=0.5)
    client.start_ab_test(3, mode="shadow")
    client.mute(7, minutes=15)
    client.acknowledge(7)
    bodies = [json.loads(r.content) if r.content else None for r in received]
    assert bodies == [{"share": 0.5}, {"version": 3, "mode": "shadow"}, {"minutes": 15}, None]
    assert [(r.method, r.url.path) for r in received] == [
        ("PUT", "/v1/admin/routing"),
        ("POST", "/v1/ab-tests"),
        ("POST", "/v1/alerts/7/mute"),
        ("POST", "/v1/alerts/7/ack"),
    ]
    with pytest.raises(TypeError, match="alert_id: expected an integer id"):
        client.alert("7/ack")  # type: ignore[arg-type]


def test_client_encodes_numpy_scalars():
    np = pytest.importorskip("numpy")
    handler, received = answers(httpx.Response(200, json=PREDICTION))
    mock_client(handler).predict({"usage": np.float32(1.5), "n": np.int64(3), "ok": np.bool_(True)})
    assert json.loads(received[0].content) == {"usage": 1.5, "n": 3, "ok": True}


# -- lifetime, exports, doctests -----------------------------------------------------------------


def test_client_closes_only_the_http_client_it_created():
    http = httpx.Client(base_url="http://api.test")
    with DriftwardenClient(http=http) as client:
        assert client.base_url == "http://api.test"
        assert repr(client) == "DriftwardenClient('http://api.test')"
    assert not http.is_closed
    http.close()
    own = DriftwardenClient("http://127.0.0.1:1", api_key="secret")
    assert "secret" not in repr(own)
    own.close()
    assert own._http.is_closed


def test_client_exports(check_exports):
    check_exports("driftwarden.client", MODULES)


@pytest.mark.parametrize(
    "module_name",
    ["driftwarden.client", *MODULES, "driftwarden.client._call", "driftwarden.client._routes"],
)
def test_client_doctests_pass(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_client_refuses_naive_datetimes_before_any_request():
    handler, received = answers()
    with pytest.raises(ValueError, match=r"start: expected a datetime with a zone, got the naive"):
        mock_client(handler).monitoring_runs(start=datetime(2024, 3, 4))
    assert received == []
    assert datetime(2024, 3, 4, tzinfo=UTC).isoformat() == "2024-03-04T00:00:00+00:00"
