"""Admin actions through the client against a real app: models, promotion and rollback, the
routing, A/B tests, retraining runs, and which key each call needs."""

from __future__ import annotations

import pytest

from driftwarden.client import (
    ApiConflictError,
    ApiNotFoundError,
    AuthError,
    DriftwardenClient,
    InvalidRequestError,
)
from driftwarden.core.errors import ConflictError, NotFoundError
from driftwarden.store import begin_retrain_run


def test_client_promotes_rolls_back_and_runs_an_ab_test(make_server, trained_model):
    server = make_server("flow")
    client = server.client
    server.registry.register(trained_model, alias=None)
    models = client.models()
    assert [v["version"] for v in models["versions"]] == [2, 1]
    assert models["loaded"] == {"champion": 1}

    promoted = client.promote(2, reason="hand-picked")
    assert promoted["loaded"]["champion"] == 2
    assert promoted["event"]["reason"] == "hand-picked"
    with pytest.raises(ApiConflictError, match="409 conflict") as again:
        client.promote(2)
    assert isinstance(again.value, ConflictError)
    assert client.rollback(reason="back to one")["loaded"]["champion"] == 1
    history = client.model_history()
    assert [(e["action"], e["to_version"]) for e in history[-2:]] == [
        ("promote", 2), ("rollback", 1)
    ]  # fmt: skip
    assert history[-1]["reason"] == "back to one"
    with pytest.raises(ApiNotFoundError):
        client.rollback()  # no champion before version 1

    test = client.start_ab_test(2, mode="split", share=0.5)
    assert (test["status"], test["challenger_version"], test["share"]) == ("running", 2, 0.5)
    assert [t["id"] for t in client.ab_tests()] == [test["id"]]
    assert client.ab_tests(status="aborted") == []
    one = client.ab_test(test["id"])
    assert (one["snapshots"], one["schema_changes"]) == ([], [])
    assert client.models()["routing"]["mode"] == "split"
    with pytest.raises(ApiConflictError):
        client.start_ab_test(2)
    stopped = client.stop_ab_test(test["id"], reason="enough")
    assert stopped["status"] == "aborted"
    with pytest.raises(ApiConflictError, match="not running"):
        client.stop_ab_test(test["id"])
    with pytest.raises(ApiNotFoundError, match="no A/B test has id 999") as missing:
        client.ab_test(999)
    assert isinstance(missing.value, NotFoundError)


def test_client_changes_the_routing_and_reloads(server):
    client = server.client
    changed = client.set_routing(mode="shadow", share=0.2, salt="pepper")
    assert (changed["mode"], changed["share"], changed["salt"]) == ("shadow", 0.2, "pepper")
    assert client.set_routing(share=0.3) == {**changed, "share": 0.3}
    reloaded = client.reload()
    assert reloaded["loaded"] == {"champion": 1}
    assert reloaded["routing"]["share"] == 0.3
    with pytest.raises(InvalidRequestError, match="mode") as bad:
        client.set_routing(mode="sideways")  # type: ignore[arg-type]
    assert bad.value.field == "mode"
    client.set_routing(mode="off")


def test_client_retrain_while_one_runs_is_a_conflict_carrying_the_skipped_run(server):
    running, started = begin_retrain_run(
        server.engine, "churn", trigger="drift", reason="r", evidence={}, at=server.clock.now()
    )
    assert started
    with pytest.raises(ApiConflictError, match=f"retraining run {running} is running") as caught:
        server.client.retrain(reason="now")
    assert caught.value.body is not None
    skipped = caught.value.body["run"]
    assert (skipped["status"], skipped["reason"]) == ("skipped", "now")
    assert skipped["evidence"]["running_run"] == running
    runs = server.client.retraining_runs()
    assert [(r["id"], r["status"]) for r in runs] == [
        (skipped["id"], "skipped"),
        (running, "running"),
    ]
    assert [r["id"] for r in server.client.retraining_runs(status="running", limit=1)] == [running]
    assert server.client.retraining_run(running)["trigger"] == "drift"
    with pytest.raises(ApiNotFoundError, match="999"):
        server.client.retraining_run(999)


ADMIN_CALLS = [
    ("promote", lambda c: c.promote(1)),
    ("rollback", lambda c: c.rollback()),
    ("set_routing", lambda c: c.set_routing(mode="off")),
    ("reload", lambda c: c.reload()),
    ("run_monitor", lambda c: c.run_monitor()),
    ("acknowledge", lambda c: c.acknowledge(1)),
    ("mute", lambda c: c.mute(1, minutes=5)),
    ("retrain", lambda c: c.retrain()),
    ("start_ab_test", lambda c: c.start_ab_test(1)),
    ("stop_ab_test", lambda c: c.stop_ab_test(1)),
]


@pytest.mark.parametrize(("name", "call"), ADMIN_CALLS, ids=[name for name, _ in ADMIN_CALLS])
def test_client_admin_calls_without_the_admin_key_are_auth_errors(server, name, call):
    anonymous = DriftwardenClient(http=server.http)
    with pytest.raises(AuthError, match=r"401 unauthorized.*pass admin_key=") as caught:
        call(anonymous)
    assert caught.value.status == 401
    wrong = DriftwardenClient(http=server.http, admin_key="not-it", api_key="reader")
    with pytest.raises(AuthError, match="needs the admin API key") as refused:
        call(wrong)
    assert refused.value.hint is None


def test_client_reads_need_no_key_when_the_server_sets_none(server):
    anonymous = DriftwardenClient(http=server.http)
    assert anonymous.models()["model"] == "churn"
    assert anonymous.alerts() == []
    assert anonymous.ab_tests(limit=1) == []


def test_client_with_a_predict_key_and_admin_actions_disabled(make_server):
    server = make_server("locked", serving={"api_key": "reader", "admin_api_key": None})
    row = {"account": "A1", "usage": 3.0, "plan": "pro"}
    anonymous = DriftwardenClient(http=server.http)
    with pytest.raises(AuthError, match="pass api_key=") as caught:
        anonymous.predict(row)
    assert (caught.value.status, caught.value.error) == (401, "unauthorized")
    reader = DriftwardenClient(http=server.http, api_key="reader", admin_key="anything")
    assert reader.predict(row).model_version == 1
    assert reader.models()["loaded"] == {"champion": 1}
    with pytest.raises(AuthError, match="admin actions are disabled") as disabled:
        reader.reload()
    assert (disabled.value.status, disabled.value.error) == (403, "forbidden")
