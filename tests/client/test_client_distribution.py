"""A feature's distribution beside its reference, and the confusion matrix and ROC curve of the
labelled rows, through the client: over a real app after an hour of stable traffic (labelled), an
hour of traffic whose usage is shifted up, and an hour with a plan the model has never seen."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import httpx
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from driftwarden.client import (
    ApiNotFoundError,
    AsyncDriftwardenClient,
    InvalidRequestError,
)

HOUR = timedelta(hours=1)


def _send(server, frame, rows_of):
    """Predict ``frame`` in six batches over an hour; the answers, in order."""
    answers = []
    for part in np.array_split(np.arange(len(frame)), 6):
        answers += server.client.predict_batch(rows_of(frame.iloc[part]))
        server.clock.advance(HOUR / 6)
    return answers


@pytest.fixture(scope="module")
def traffic(server, churn_frame, rows_of):
    """(server, hour starts, frames, stable answers): three hours of traffic, the first
    labelled, the second with usage shifted up by 30, the third with an unseen plan."""
    first = server.clock.now()
    stable = churn_frame(300, seed=21)
    answers = _send(server, stable, rows_of)
    labels = zip([a.request_id for a in answers], stable["churned"].tolist(), strict=True)
    assert server.client.feedback(labels).recorded == 300
    shifted = churn_frame(300, seed=22, usage_shift=30.0)
    _send(server, shifted, rows_of)
    novel = churn_frame(60, seed=23)
    novel.loc[novel.index[:20], "plan"] = "enterprise"
    _send(server, novel, rows_of)
    starts = [first + k * HOUR for k in range(4)]
    return server, starts, (stable, shifted, novel), answers


def _hand_shares(values, edges):
    """Shares of ``values`` in ``[edges[k], edges[k+1])``, outer values in the outer bins."""
    edges = np.asarray(edges)
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, edges.size - 2)
    return np.bincount(bins, minlength=edges.size - 1) / len(values)


def _mean(found):
    edges = np.asarray(found["edges"])
    return float(np.dot((edges[:-1] + edges[1:]) / 2, found["current"]))


def _check_numeric(found):
    edges = found["edges"]
    assert found["kind"] == "numeric"
    assert 1 <= len(found["reference"]) == len(found["current"]) == len(edges) - 1 <= 40
    assert np.all(np.isfinite(edges))
    assert np.all(np.diff(edges) > 0)
    assert sum(found["reference"]) == pytest.approx(1.0)


def test_client_distribution_of_a_numeric_feature_shifts_right(traffic):
    server, starts, (stable, shifted, _), _ = traffic
    before = server.client.distribution("usage", start=starts[0], end=starts[1])
    after = server.client.distribution("usage", start=starts[1], end=starts[2], version=1)
    for found in (before, after):
        _check_numeric(found)
        assert sum(found["current"]) == pytest.approx(1.0)
        assert (found["n_current"], found["n_missing"]) == (300, 0)
        assert (found["model"], found["feature"], found["model_version"]) == ("churn", "usage", 1)
    assert datetime.fromisoformat(before["window_start"]) == starts[0]
    assert datetime.fromisoformat(before["window_end"]) == starts[1]
    # One reference, the version's, on the same edges; the windows counted exactly on them.
    assert (after["edges"], after["reference"]) == (before["edges"], before["reference"])
    np.testing.assert_allclose(before["current"], _hand_shares(stable["usage"], before["edges"]))
    np.testing.assert_allclose(after["current"], _hand_shares(shifted["usage"], after["edges"]))
    assert _mean(after) - _mean(before) > 15
    # Below the reference's median: about half of the stable window, little of the shifted one.
    lower = int(np.searchsorted(np.cumsum(before["reference"]), 0.5)) + 1
    assert sum(before["current"][:lower]) == pytest.approx(0.5, abs=0.1)
    assert sum(after["current"][:lower]) < 0.1
    assert before["n_reference"] > 500


def test_client_distribution_of_the_scores_is_named_prediction(traffic):
    server, starts, _, answers = traffic
    found = server.client.distribution("prediction", start=starts[0], end=starts[1])
    _check_numeric(found)
    assert (found["feature"], found["n_current"], found["n_missing"]) == ("prediction", 300, 0)
    scores = [a.probability for a in answers]
    np.testing.assert_allclose(found["current"], _hand_shares(scores, found["edges"]))
    later = server.client.distribution("prediction", start=starts[1], end=starts[2])
    # Higher usage, more churn: the scores move up too.
    assert _mean(later) > _mean(found) + 0.1


def test_client_distribution_of_a_categorical_feature_counts_unseen_labels(traffic):
    server, starts, (stable, _, novel), _ = traffic
    found = server.client.distribution("plan", start=starts[0], end=starts[1])
    assert found["kind"] == "categorical"
    assert sorted(found["categories"]) == ["basic", "plus", "pro"]
    shares = stable["plan"].value_counts(normalize=True)
    assert found["current"] == pytest.approx([shares[c] for c in found["categories"]])
    assert sum(found["reference"]) == pytest.approx(1.0)
    assert (found["unseen"], found["n_current"], found["n_missing"]) == ({}, 300, 0)
    assert "edges" not in found
    with_new = server.client.distribution("plan", start=starts[2], end=starts[3])
    assert with_new["categories"] == [*found["categories"], "(unseen)"]
    assert with_new["unseen"] == {"enterprise": 20}
    assert with_new["reference"][-1] == 0.0
    assert with_new["current"][-1] == pytest.approx(20 / 60)
    assert sum(with_new["current"]) == pytest.approx(1.0)
    counts = novel["plan"].value_counts()
    assert with_new["current"][:3] == pytest.approx(
        [counts.get(c, 0) / 60 for c in found["categories"]]
    )


def test_client_distribution_of_an_empty_range_is_all_zero(traffic):
    server, starts, _, _ = traffic
    found = server.client.distribution("usage", start=starts[3], end=starts[3] + HOUR)
    assert found["n_current"] == 0
    assert found["current"] == [0.0] * len(found["reference"])
    assert sum(found["reference"]) == pytest.approx(1.0)


def test_client_distribution_errors_name_the_field(traffic, monkeypatch):
    server, starts, _, _ = traffic
    window = {"start": starts[0], "end": starts[1]}
    with pytest.raises(ApiNotFoundError, match="no feature 'tenure'") as unknown:
        server.client.distribution("tenure", **window)
    assert unknown.value.field == "feature"
    assert all(name in unknown.value.detail for name in ("usage", "plan", "prediction"))
    with pytest.raises(ApiNotFoundError, match="no version 99") as missing:
        server.client.distribution("usage", **window, version=99)
    assert missing.value.field == "version"
    with pytest.raises(InvalidRequestError, match="ends before it starts") as reversed_:
        server.client.distribution("usage", start=starts[1], end=starts[0])
    assert reversed_.value.field == "end"
    with pytest.raises(ValueError, match="expected a datetime with a zone"):
        server.client.distribution("usage", start=datetime(2024, 3, 4), end=starts[1])
    path = "/v1/monitoring/distribution"
    for left_out in ("feature", "start", "end"):
        params = {"feature": "usage", "start": starts[0].isoformat(), "end": starts[1].isoformat()}
        del params[left_out]
        response = server.http.get(path, params=params)
        assert (response.status_code, response.json()["field"]) == (422, left_out)
    naive = server.http.get(path, params={"feature": "usage", "start": "2024-03-04T00:00:00",
                                          "end": starts[1].isoformat()})  # fmt: skip
    assert (naive.status_code, naive.json()["field"]) == (422, "start")
    references = server.app.state.serving.monitor.references
    # A version whose profile has no scores has no "prediction".
    profile = references.profile(1)
    no_scores = dataclasses.replace(profile, prediction=None)
    monkeypatch.setattr(references, "profile", lambda version: no_scores)
    with pytest.raises(ApiNotFoundError, match="its features are usage, plan \\(field"):
        server.client.distribution("prediction", **window)
    monkeypatch.setattr(references, "champion", lambda: None)
    with pytest.raises(ApiNotFoundError, match="has no champion; pass a version") as none:
        server.client.distribution("usage", **window)
    assert none.value.field == "version"


def test_client_classification_counts_the_labelled_rows(traffic):
    server, starts, (stable, _, _), answers = traffic
    found = server.client.classification(start=starts[0], end=starts[1])
    labels = stable["churned"].to_numpy().astype(int)
    scores = np.array([a.probability for a in answers])
    predicted = scores >= 0.5
    assert found["model"] == "churn"
    assert (found["model_version"], found["threshold"], found["n_labelled"]) == (None, 0.5, 300)
    assert found["confusion"] == {
        "tp": int(np.sum(predicted & (labels == 1))),
        "fp": int(np.sum(predicted & (labels == 0))),
        "tn": int(np.sum(~predicted & (labels == 0))),
        "fn": int(np.sum(~predicted & (labels == 1))),
    }
    assert sum(found["confusion"].values()) == 300
    assert found["accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert found["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    fpr, tpr, thresholds = sklearn_roc_curve(labels, scores)
    roc = found["roc"]
    assert len(roc["fpr"]) == len(fpr) <= 200
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    assert roc["thresholds"][0] is None
    np.testing.assert_allclose(roc["thresholds"][1:], thresholds[1:])
    # Another threshold moves the counts, not the curve; version 1 scored every row.
    loose = server.client.classification(start=starts[0], end=starts[1], version=1, threshold=0.3)
    assert loose["model_version"] == 1
    assert loose["confusion"]["tp"] + loose["confusion"]["fp"] == int(np.sum(scores >= 0.3))
    assert loose["roc"] == roc


def test_client_classification_without_labelled_rows(traffic):
    server, starts, _, _ = traffic
    empty = {
        "n_labelled": 0,
        "confusion": {"tp": 0, "fp": 0, "tn": 0, "fn": 0},
        "roc": {"fpr": [], "tpr": [], "thresholds": []},
        "roc_auc": None,
        "accuracy": None,
    }
    unlabelled = server.client.classification(start=starts[1], end=starts[2])
    assert empty.items() <= unlabelled.items()
    other_version = server.client.classification(start=starts[0], end=starts[1], version=2)
    assert empty.items() <= other_version.items()


@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan")])
def test_client_classification_refuses_a_threshold_outside_0_1(traffic, threshold):
    server, starts, _, _ = traffic
    with pytest.raises(InvalidRequestError, match="threshold") as caught:
        server.client.classification(start=starts[0], end=starts[1], threshold=threshold)
    assert caught.value.field == "threshold"


def test_async_client_distribution_and_classification(traffic):
    server, starts, _, _ = traffic
    window = {"start": starts[0], "end": starts[1]}

    async def scenario():
        transport = httpx.ASGITransport(server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            client = AsyncDriftwardenClient(http=http)
            found = await client.distribution("usage", **window, version=1)
            labelled = await client.classification(**window, threshold=0.4)
            with pytest.raises(ApiNotFoundError) as unknown:
                await client.distribution("nope", **window)
        return found, labelled, unknown.value

    found, labelled, unknown = asyncio.run(scenario())
    assert found == server.client.distribution("usage", **window)
    assert labelled == server.client.classification(**window, threshold=0.4)
    assert unknown.field == "feature"
