"""The dashboard's figures on edge cases of the API's answers (no Streamlit, no API)."""

from __future__ import annotations

import pytest

from driftwarden.dashboard import charts


def run(end, *results):
    return {"window_start": "2024-01-01T00:00:00Z", "window_end": end, "n_rows": 0,
            "results": list(results)}  # fmt: skip


def result(version, n, p99, *, statistic=0.1, severity="ok"):
    return {"model_version": version, "n_rows": n, "latency_p50_ms": p99 / 3,
            "latency_p95_ms": p99 / 2, "latency_p99_ms": p99,
            "prediction_statistic": statistic, "prediction_severity": severity}  # fmt: skip


def test_volume_stacks_versions_and_latency_follows_the_largest_arm_in_time_order():
    runs = [run("2024-01-02T00:00:00Z", result(1, 80, 9.0), result(2, 20, 30.0)),
            run("2024-01-01T00:00:00Z", result(1, 10, 3.0), result(2, 50, 6.0)),
            run("2024-01-03T00:00:00Z")]  # fmt: skip
    volume = charts.volume_chart(runs)
    assert [(t.name, list(t.y)) for t in volume.data] == [
        ("version 1", [10, 80]), ("version 2", [50, 20])
    ]  # fmt: skip
    latency = charts.latency_chart(runs)
    assert list(latency.data[2].y) == [6.0, 9.0]
    assert list(latency.data[2].x) == ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]


def point(feature, end, statistic, *, version=1, critical=0.25, severity="ok"):
    return {"feature": feature, "window_end": end, "statistic": statistic, "critical": critical,
            "warning": 0.1, "severity": severity, "method": "psi", "p_value": None,
            "n_current": 10, "model_version": version}  # fmt: skip


def test_heatmap_shows_the_worst_version_of_a_window_and_leaves_gaps_empty():
    points = [point("a", "t1", 0.5), point("a", "t1", 0.05, version=2),
              point("b", "t1", None), point("b", "t2", 0.125)]  # fmt: skip
    [heat] = charts.drift_heatmap(points).data
    assert list(heat.y) == ["a", "b"]
    assert [list(row) for row in heat.z] == [[2.0, None], [None, 0.5]]


def test_drift_bars_put_the_largest_statistic_first_and_missing_ones_last():
    figure = charts.drift_bars([point("a", "t", None), point("b", "t", 0.3, severity="critical"),
                                point("c", "t", 0.01)])  # fmt: skip
    bars = figure.data[0]
    assert list(bars.x) == ["b", "c", "a"]
    assert bars.marker.color[0] == charts.SEVERITY_COLOURS["critical"]


def test_distribution_bars_sit_on_their_bins():
    numeric = charts.distribution_chart({
        "feature": "usage", "kind": "numeric", "model_version": 2, "edges": [0.0, 1.0, 3.0],
        "reference": [0.5, 0.5], "current": [0.25, 0.75], "n_reference": 4, "n_current": 4,
    })  # fmt: skip
    assert list(numeric.data[0].x) == [0.5, 2.0]
    assert list(numeric.data[0].width) == [1.0, 2.0]
    categorical = charts.distribution_chart({
        "feature": "plan", "kind": "categorical", "model_version": 1,
        "categories": ["a", "(unseen)"], "reference": [1.0, 0.0], "current": [0.5, 0.5],
        "n_reference": 2, "n_current": 2,
    })  # fmt: skip
    assert list(categorical.data[1].x) == ["a", "(unseen)"]
    assert categorical.data[1].width is None


def test_performance_skips_windows_without_a_figure():
    points = [
        {"window_end": "t1", "model_version": 1, "n_labelled": 0, "realised": None,
         "estimated": {"accuracy": 0.8}},
        {"window_end": "t2", "model_version": 1, "n_labelled": 1200,
         "realised": {"accuracy": 0.7}, "estimated": None},
    ]  # fmt: skip
    realised, estimated = charts.performance_chart(points, "accuracy").data
    assert list(realised.y) == [0.7]
    assert list(realised.text) == ["1,200"]
    assert list(estimated.x) == ["t1"]


def test_quality_keeps_the_worst_features_and_the_worst_version():
    points = [{"feature": f, "window_end": "t", "missing_rate": r}
              for f, r in (("a", 0.1), ("b", 0.3), ("c", None), ("d", 0.2))]  # fmt: skip
    points.append({"feature": "a", "window_end": "t", "missing_rate": 0.4})
    figure = charts.quality_chart(points, "missing_rate", top=2)
    assert [t.name for t in figure.data] == ["a", "b"]
    assert figure.layout.title.text == "Missing rate per feature"


def test_ab_chart_draws_only_decisions_that_compared_the_arms():
    comparison = {"difference": 0.05, "ci_low": 0.01, "ci_high": 0.09}
    test = {"metric": "accuracy", "snapshots": [
        {"at": "t1", "statistics": {"comparison": None}},
        {"at": "t2", "statistics": {"comparison": comparison}},
    ]}  # fmt: skip
    band, line = charts.ab_test_chart(test).data
    assert list(line.x) == ["t2"]
    assert list(line.y) == [0.05]
    assert list(band.y) == [0.09, 0.01]


def test_roc_title_has_the_area_only_when_there_is_one():
    found = {"roc_auc": None, "roc": {"fpr": [], "tpr": []}}
    assert charts.roc_chart(found).layout.title.text == "ROC curve"
    assert charts.roc_chart({**found, "roc_auc": 0.8125}).layout.title.text.endswith("(AUC 0.812)")


@pytest.mark.parametrize(("version", "other"), [(1, 8), (2, 9)])
def test_a_version_keeps_its_colour(version, other):
    assert charts.version_colour(version) == charts.version_colour(other)
    assert charts.version_colour(version) != charts.version_colour(version + 1)


def test_regression_performance_has_no_estimate_line_and_says_so():
    points = [{"window_end": "2024-01-01T01:00:00Z", "model_version": 1, "n_labelled": 40,
               "realised": {"rmse": 12.5}, "estimated": {}}]  # fmt: skip
    figure = charts.performance_chart(points, "rmse")
    assert figure.layout.title.text == "rmse: realised"
    assert list(figure.data[0].y) == [12.5]
    assert list(figure.data[0].text) == ["40"]
    assert list(figure.data[1].y) == []


def test_predicted_against_actual_draws_the_diagonal_over_every_value():
    found = {"n_labelled": 900, "pairs": {"actual": [1.0, 5.0, 3.0], "predicted": [2.0, 4.0, 9.0]}}
    figure = charts.predicted_actual_chart(found)
    diagonal, rows = figure.data
    assert (list(diagonal.x), list(diagonal.y)) == ([1.0, 9.0], [1.0, 9.0])
    assert (list(rows.x), list(rows.y)) == ([1.0, 5.0, 3.0], [2.0, 4.0, 9.0])
    assert "3 of 900 labelled" in figure.layout.title.text
    empty = charts.predicted_actual_chart(
        {"n_labelled": 0, "pairs": {"actual": [], "predicted": []}}
    )
    assert len(empty.data) == 1


def test_residual_bars_sit_on_their_bins_with_the_rmse_in_the_title():
    found = {"metrics": {"rmse": 2.5}, "residuals": {"edges": [-2.0, 0.0, 4.0], "counts": [3, 1]}}
    [bars] = charts.residual_chart(found).data
    assert (list(bars.x), list(bars.width), list(bars.y)) == ([-1.0, 2.0], [2.0, 4.0], [3, 1])
    assert "RMSE 2.5" in charts.residual_chart(found).layout.title.text
    assert "RMSE" not in charts.residual_chart({**found, "metrics": None}).layout.title.text
