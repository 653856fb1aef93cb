"""The performance page of a regression model: its errors over time, then one window's
predicted values against the true ones and its residuals, read from a real API."""

from __future__ import annotations

import json

import pytest

from driftwarden.dashboard.common import parse_time

pytestmark = pytest.mark.slow


def test_performance_page_of_a_regression_model(houses_api, dashboard):
    at = dashboard(houses_api, "performance")
    assert at.radio(key="performance_metric").options == ["rmse", "mae", "r2", "mape"]
    timeline, predicted, residuals = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert timeline["layout"]["title"]["text"] == "rmse: realised"
    points = houses_api.client.performance(limit=120)
    realised = sorted((p["window_end"], p["realised"]["rmse"]) for p in points if p["realised"])
    assert len(realised) == 3
    assert timeline["data"][0]["y"] == [rmse for _, rmse in realised]

    start, end = at.selectbox(key="perf_window").value
    found = houses_api.client.regression(start=parse_time(start), end=parse_time(end))
    assert found["n_labelled"] == 150
    assert predicted["data"][1]["x"] == found["pairs"]["actual"]
    assert predicted["data"][1]["y"] == found["pairs"]["predicted"]
    assert sum(residuals["data"][0]["y"]) == 150
    assert f"RMSE {found['metrics']['rmse']:,.4g}" in residuals["layout"]["title"]["text"]

    at.radio(key="performance_metric").set_value("r2").run()
    [timeline, *_] = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert timeline["layout"]["title"]["text"] == "r2: realised"
    assert all(0.3 < r2 <= 1.0 for r2 in timeline["data"][0]["y"])
