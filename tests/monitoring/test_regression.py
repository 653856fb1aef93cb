"""A regression model through the real API and monitor: its answers, labels, realised RMSE
and the alert when its error rises against the holdout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from driftwarden.client import ApiConflictError, DriftwardenClient
from driftwarden.core import ConfigError, SimulatedClock
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.store import labelled_predictions, list_alerts
from driftwarden.training import ModelParams, train

START = datetime(2024, 3, 4, tzinfo=UTC)  # the clock of conftest.py
HOUR = timedelta(hours=1)


def price_frame(n: int, seed: int, *, level: float = 1.0, size_shift: float = 0.0) -> pd.DataFrame:
    """Houses whose price rises with size and differs by area; ``level`` multiplies every price
    (a market shift: the features stay), ``size_shift`` moves the sizes."""
    rng = np.random.default_rng(seed)
    size = rng.gamma(9.0, 15.0, n) + size_shift
    area = rng.choice(["north", "centre", "south"], n)
    premium = np.select([area == "centre", area == "south"], [1.3, 0.85], 1.0)
    price = level * (50_000 + 2_000 * size) * premium * rng.lognormal(0.0, 0.08, n)
    return pd.DataFrame(
        {
            "house": [f"H{seed}-{i}" for i in range(n)],
            "size": size.round(1),
            "area": area,
            "price": price.round(0),
        }
    )


@pytest.fixture(scope="module")
def price_model() -> Any:
    frame = price_frame(3000, seed=1)
    schema = infer_schema(frame, target="price", entity_id="house")
    assert schema.task == "regression"
    return train(frame, schema, params=ModelParams(max_iter=60, task="regression"))


class Priced:
    def __init__(self, http: TestClient, app: Any, clock: SimulatedClock) -> None:
        self.http, self.app, self.clock = http, app, clock

    @property
    def monitor(self) -> Any:
        return self.app.state.serving.monitor

    def traffic(
        self, frame: pd.DataFrame, *, over: timedelta = HOUR, requests: int = 5
    ) -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = []
        for part in np.array_split(np.arange(len(frame)), requests):
            rows = frame.iloc[part].drop(columns=["price"]).to_dict(orient="records")
            response = self.http.post("/v1/predict", json={"rows": rows})
            assert response.status_code == 200, response.text
            answers += response.json()["predictions"]
            self.clock.advance(over / requests)
        return answers

    def label(self, answers: list[dict[str, Any]], prices: pd.Series) -> None:
        body = {
            "labels": [
                {"request_id": a["request_id"], "label": float(p)}
                for a, p in zip(answers, prices, strict=True)
            ]
        }
        response = self.http.post("/v1/feedback", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["recorded"] == len(answers)


@pytest.fixture
def make_priced(make_settings, price_model, tmp_path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(**overrides: Any) -> Priced:
        settings = make_settings(registry={"model_name": "prices"}, **overrides)
        registry = ModelRegistry(settings.registry)
        if registry.alias_version(registry.champion) is None:
            registry.register(price_model)
        clock = SimulatedClock(START)
        app = create_app(settings, registry=registry, clock=clock)
        http = TestClient(app)
        http.__enter__()
        clients.append(http)
        return Priced(http, app, clock)

    yield build
    for http in clients:
        http.__exit__(None, None, None)


def test_a_regression_model_answers_a_number_and_takes_numeric_labels(make_priced):
    served = make_priced()
    assert served.http.get("/v1/models").json()["task"] == "regression"
    frame = price_frame(20, seed=5)
    answers = served.traffic(frame, requests=1)
    for answer in answers:
        assert answer["probability"] is None
        assert answer["label"] is None
        assert answer["prediction"] > 10_000
    # A retried request gets its stored answer, the same number.
    retried = served.http.post(
        "/v1/predict",
        json={**frame.drop(columns=["price"]).iloc[0].to_dict(), "request_id": "again"},
    )
    again = served.http.post(
        "/v1/predict",
        json={**frame.drop(columns=["price"]).iloc[0].to_dict(), "request_id": "again"},
    )
    assert retried.json() == again.json()
    served.label(answers, frame["price"])
    stored = labelled_predictions(served.app.state.serving.engine, START, served.clock.now())
    assert [p.true_label for p in stored] == frame["price"].astype(float).tolist()
    assert {p.prediction.label for p in stored} == {None}
    assert [p.prediction.score for p in stored] == [a["prediction"] for a in answers]

    bad = served.http.post(
        "/v1/feedback", json={"labels": [{"request_id": answers[0]["request_id"], "label": "high"}]}
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "labels.0.label"
    assert "regression model" in bad.json()["detail"]
    assert "finite number" in bad.json()["detail"]
    as_text = served.http.post(
        "/v1/feedback",
        json={"labels": [{"request_id": answers[1]["request_id"], "label": "250000.5"}]},
    )
    assert as_text.status_code == 200, as_text.text


def test_realised_rmse_is_tracked_and_a_market_shift_raises_its_alert(make_priced, price_model):
    served = make_priced(monitor={"min_samples": 100, "min_labelled": 100})
    holdout_rmse = price_model.metrics.rmse
    for hour in range(2):
        frame = price_frame(300, seed=10 + hour)
        served.label(served.traffic(frame), frame["price"])
        report = served.monitor.run_once()
        [result] = report.outcome.results
        assert result.task == "regression"
        assert result.estimated == {}
        assert result.n_labelled == 300
        # Realised RMSE of fresh rows of the same market is near the holdout's.
        assert result.performance["rmse"] < 1.3 * holdout_rmse
        assert result.performance["n"] == 300
        assert not [c for c in report.firing if c.rule == "performance_drop"]

    shifted = price_frame(300, seed=30, level=1.4)  # prices 40 % up, the houses the same
    served.label(served.traffic(shifted), shifted["price"])
    report = served.monitor.run_once()
    [result] = report.outcome.results
    realised = result.performance["rmse"]
    expected = float(np.sqrt(np.mean((shifted["price"].to_numpy() - _predicted(served)) ** 2)))
    assert realised == pytest.approx(expected, rel=1e-9)
    [check] = [c for c in report.firing if c.rule == "performance_drop"]
    assert check.severity == "critical"
    assert check.subject == "rmse"
    assert "above the holdout's" in check.message
    assert check.value == pytest.approx((realised - holdout_rmse) / holdout_rmse)
    assert check.threshold == 0.10
    [alert] = list_alerts(
        served.app.state.serving.engine, model_name="prices", rule="performance_drop"
    )
    assert alert["evidence"]["holdout"] == pytest.approx(holdout_rmse)
    # No feature moved: only the labels did.
    assert not [c for c in report.firing if c.rule == "feature_drift"]


def _predicted(served: Priced) -> np.ndarray:
    """The last 300 predictions the server logged, oldest first."""
    stored = labelled_predictions(served.app.state.serving.engine, START, served.clock.now())
    return np.array([p.prediction.score for p in stored[-300:]])


def test_prediction_drift_is_measured_on_predicted_values(make_priced):
    served = make_priced(monitor={"min_samples": 100})
    served.traffic(price_frame(400, seed=40))
    assert not served.monitor.run_once().firing
    served.traffic(price_frame(400, seed=41, size_shift=80.0))
    report = served.monitor.run_once()
    fired = {(c.rule, c.subject): c.severity for c in report.firing}
    assert fired[("feature_drift", "size")] == "critical"
    assert fired[("prediction_drift", "")] == "critical"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (
            {"alerts": {"rules": {"performance_drop": {"metric": "roc_auc"}}}},
            "alerts.rules.performance_drop.metric",
        ),
        ({"retraining": {"policy": {"metric": "accuracy"}}}, "retraining.policy.metric"),
        ({"retraining": {"metric": "roc_auc"}}, "retraining.metric"),
        ({"ab_test": {"metric": "accuracy"}}, "ab_test.metric"),
    ],
)
def test_a_classification_metric_for_a_regression_model_is_refused_at_start(
    make_priced, overrides, key
):
    with pytest.raises(
        ConfigError, match=r"a regression model; use one of (rmse|mse), mae"
    ) as info:
        make_priced(**overrides)
    assert info.value.key == key


def test_the_regression_read_and_the_classification_read_refuse_each_others_models(
    make_priced, make_served
):
    served = make_priced()
    frame = price_frame(120, seed=60)
    answers = served.traffic(frame)
    served.label(answers[:100], frame["price"].iloc[:100])
    client = DriftwardenClient(http=served.http)
    found = client.regression(start=START, end=served.clock.now())
    predicted = np.array([a["prediction"] for a in answers[:100]])
    actual = frame["price"].to_numpy()[:100]
    assert found["n_labelled"] == 100
    assert found["metrics"]["n"] == 100
    assert found["metrics"]["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - actual) ** 2)))
    assert found["metrics"]["mae"] == pytest.approx(np.mean(np.abs(predicted - actual)))
    assert found["pairs"] == {"predicted": predicted.tolist(), "actual": actual.tolist()}
    residuals = found["residuals"]
    assert sum(residuals["counts"]) == 100
    assert len(residuals["edges"]) == len(residuals["counts"]) + 1
    assert residuals["edges"][0] == pytest.approx((predicted - actual).min())
    empty = client.regression(start=START - 2 * HOUR, end=START)
    assert (empty["n_labelled"], empty["metrics"]) == (0, None)
    with pytest.raises(ApiConflictError, match="regression model; read /v1/monitoring/regression"):
        client.classification(start=START, end=served.clock.now())

    classifier = DriftwardenClient(http=make_served().http)
    with pytest.raises(ApiConflictError, match="classification model; read /v1/monitoring/class"):
        classifier.regression(start=START, end=served.clock.now())
