"""The report folder: one self-contained page, three PNGs, the figures and the result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from driftwarden.simulation.report import CHARTS, _drift_chart, write_report
from driftwarden.simulation.result import SimulationResult
from driftwarden.simulation.summary import summarise

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FILES = (
    "index.html",
    "drift.png",
    "performance.png",
    "timeline.png",
    "summary.json",
    "result.json",
)


@pytest.fixture(scope="module")
def written(tmp_path_factory, shared_result):
    """The report of the hand-written result, written once for the module's tests, into a
    folder whose parents do not exist yet."""
    folder = tmp_path_factory.mktemp("reports") / "nested" / "run-1"
    return shared_result, folder, write_report(shared_result, folder)


def _pngs_are_real(folder: Path) -> None:
    for chart in CHARTS:
        data = (folder / f"{chart}.png").read_bytes()
        assert data.startswith(PNG_MAGIC), chart
        assert len(data) > 10_000, chart


def test_write_report_creates_the_folder_and_returns_the_page(written):
    _, folder, page = written
    assert page == folder / "index.html"
    assert sorted(path.name for path in folder.iterdir()) == sorted(FILES)


def test_write_report_page_holds_every_chart(written):
    _, _, page = written
    text = page.read_text("utf-8")
    for chart in CHARTS:
        assert f'id="{chart}-chart"' in text
        assert f'href="{chart}.png"' in text
    assert text.count("Plotly.newPlot(") == 3


def test_write_report_page_is_self_contained(written):
    _, _, page = written
    text = page.read_text("utf-8")
    assert '<script src="http' not in text
    assert not re.search(r"<script[^>]*\ssrc=", text)
    assert "<link" not in text
    assert "<iframe" not in text
    # plotly.js itself is embedded once, before the first chart.
    assert text.count("window.PlotlyConfig = ") == 1
    assert text.index("window.PlotlyConfig = ") < text.index('id="drift-chart"')


def test_write_report_headline(written):
    _, _, page = written
    text = page.read_text("utf-8")
    assert "<title>driftwarden simulation: sudden</title>" in text
    assert "<td>injections detected</td><td>1 of 1</td>" in text
    assert "2 (2 warning, 0 critical)" in text
    assert "+3.79 points" in text  # the last week's gain over the frozen model


def test_write_report_pngs(written):
    _, folder, _ = written
    _pngs_are_real(folder)


def test_write_report_summary_json_is_the_summary(written):
    result, folder, _ = written
    saved = json.loads((folder / "summary.json").read_text("utf-8"))
    assert saved == json.loads(json.dumps(summarise(result)))
    assert saved == summarise(result)


def test_write_report_result_json_round_trips(written):
    result, folder, _ = written
    assert SimulationResult.load(folder / "result.json") == result


def test_write_report_renders_a_saved_result_again(written, tmp_path):
    result, folder, _ = written
    loaded = SimulationResult.load(folder / "result.json")
    page = write_report(loaded, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text("utf-8")) == summarise(result)
    assert page.read_text("utf-8").count("Plotly.newPlot(") == 3


def test_write_report_escapes_text_from_the_run(make_result, make_alert, day_time, tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    base = make_result()
    drift = [{**point, "feature": "<b>tenure</b>"} for point in base.drift]
    injection = {**base.injections[0], "columns": ["<b>tenure</b>"]}
    alert = make_alert(7, "feature_drift", "<b>tenure</b>", "critical", day_time(4, 6), evil)
    result = make_result(
        config={**base.config, "model": evil},
        drift=drift,
        injections=[injection],
        alerts=[*base.alerts, alert],
    )
    text = write_report(result, tmp_path).read_text("utf-8")
    assert "<script>alert('x')</script>" not in text  # the title of alert 5
    assert evil not in text
    assert "<b>tenure</b>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text  # the configuration table
    assert "&lt;b&gt;tenure&lt;/b&gt;" in text  # the injections table


def test_write_report_of_an_empty_result(tmp_path):
    page = write_report(SimulationResult(config={}), tmp_path / "empty")
    assert sorted(path.name for path in page.parent.iterdir()) == sorted(FILES)
    assert "Nothing was injected" in page.read_text("utf-8")
    _pngs_are_real(page.parent)


def test_write_report_seasonal_drift_and_a_running_test(make_result, day_time, tmp_path):
    base = make_result()
    seasonal = {**base.injections[0], "kind": "seasonal", "end": None, "start": day_time(2)}
    running = {**base.ab_tests[0], "status": "running", "ended_at": None, "decision": None}
    result = make_result(injections=[seasonal], ab_tests=[running])
    page = write_report(result, tmp_path)
    text = page.read_text("utf-8")
    assert "seasonal: tenure" in text
    assert (
        json.loads((tmp_path / "summary.json").read_text("utf-8"))["injections"][0]["end"] is None
    )
    _pngs_are_real(tmp_path)


def test_drift_chart_draws_the_champion_of_each_window(result):
    chart = _drift_chart(result)
    tenure = next(trace for trace in chart.traces if trace.name == "tenure")
    # Windows 5 and 6 also have version 2's points (the challenger), which are left out.
    assert tenure.y == [0.02] * 4 + [0.6] * 6
    names = [trace.name for trace in chart.traces]
    assert "warning 0.1: Contract, MonthlyCharges, tenure" in names
    assert "critical 0.25: MonthlyCharges, tenure" in names
    assert [span.label for span in chart.spans] == ["sudden: tenure"]
