"""Every page of the dashboard through Streamlit's AppTest, against a real API seeded with five
simulated days (see conftest). What a page shows is checked against what the API itself says."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from driftwarden.dashboard.common import parse_time

pytestmark = pytest.mark.slow


def figures(at):
    """The Plotly figures a run drew, as their JSON."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def titles(at):
    return [f["layout"]["title"]["text"] for f in figures(at)]


def texts(at):
    """Every piece of text a run drew (markdown, captions, alerts, metrics)."""
    found = [el.value for kind in ("markdown", "caption", "info", "error", "warning", "success")
             for el in getattr(at, kind)]  # fmt: skip
    found += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(x) for x in found)


def test_overview_shows_the_versions_alerts_verdicts_traffic_and_latency(seeded_api, dashboard):
    at = dashboard(seeded_api)
    client = seeded_api.client
    versions = client.models()["versions"]
    champion = next(v["version"] for v in versions if "champion" in v["aliases"])
    open_alerts = client.alerts(status="open", limit=500)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Champion"] == f"v{champion}"
    assert metrics["Open alerts"] == str(len(open_alerts))
    latest = client.monitoring_runs(limit=1)[0]
    assert metrics["Last monitor run"] == latest["status"]
    assert metrics["Last retraining"] == client.retraining_runs(limit=1)[0]["status"]
    counts = Counter(a["severity"] for a in open_alerts)
    assert f"critical {counts['critical']}" in texts(at)
    # Each area's verdict is the worst open alert among its rules.
    drift_alerts = [a for a in open_alerts if a["rule"].endswith("drift")]
    assert drift_alerts, "the seeded concept change leaves drift alerts open"
    assert any(a["title"] in texts(at) for a in drift_alerts)
    volume, latency = figures(at)
    runs = client.monitoring_runs(limit=200)
    # Stacked volume bars add up to the rows of each window.
    total = sum(sum(bar["y"]) for bar in volume["data"])
    assert total == sum(r["n_rows"] for r in runs)
    assert [t["name"] for t in latency["data"]] == ["p50", "p95", "p99"]
    arms = [max(r["results"], key=lambda res: res["n_rows"])
            for r in sorted(runs, key=lambda r: r["window_end"]) if r["results"]]  # fmt: skip
    assert latency["data"][2]["y"] == pytest.approx([arm["latency_p99_ms"] for arm in arms])


def test_drift_page_draws_bars_heatmap_distribution_and_prediction_drift(seeded_api, dashboard):
    at = dashboard(seeded_api, "drift")
    client = seeded_api.client
    run = next(r for r in client.monitoring_runs(limit=10) if r["results"])
    latest = [p for p in client.drift(start=parse_time(run["window_end"]))
              if p["window_end"] == run["window_end"]]  # fmt: skip
    bars, distribution, heatmap, prediction, multivariate = figures(at)
    assert bars["layout"]["title"]["text"].startswith("Drift per feature")
    shown = dict(zip(bars["data"][0]["x"], bars["data"][0]["y"], strict=True))
    # With several versions in the window the bar is one of theirs; each is a real statistic.
    for feature, statistic in shown.items():
        assert statistic in [p["statistic"] for p in latest if p["feature"] == feature]
    # The feature chosen first is the most drifted one, of the version that served most rows;
    # its verdict is printed beside its distribution.
    feature = at.selectbox(key="drift_feature").value
    version = at.selectbox(key="drift_version").value
    assert feature == max(latest, key=lambda p: p["statistic"] or 0.0)["feature"]
    assert version == max(run["results"], key=lambda r: r["n_rows"])["model_version"]
    point = next(p for p in latest if p["feature"] == feature and p["model_version"] == version)
    assert f"{point['statistic']:.4f}" in texts(at)
    reference, current = distribution["data"]
    assert sum(reference["y"]) == pytest.approx(1.0)
    assert sum(current["y"]) == pytest.approx(1.0)
    assert f"{point['n_current']:,} current rows" in texts(at)
    assert heatmap["data"][0]["type"] == "heatmap"
    assert set(heatmap["data"][0]["y"]) == {p["feature"] for p in latest}
    assert prediction["layout"]["title"]["text"].startswith("Prediction drift")
    # Adversarial validation's AUC per window, as the API stores it, and the latest
    # explanation drift of every feature.
    measured = sorted(
        (r["window_end"], res["multivariate"]["auc"])
        for r in client.monitoring_runs(limit=120)
        for res in r["results"]
        if res["multivariate"] and res["model_version"] == 1
    )
    assert measured
    line = next(t for t in multivariate["data"] if t["name"] == "version 1")
    assert line["y"] == [auc for _, auc in measured]
    explained = next(
        res["explanation"]
        for r in client.monitoring_runs(limit=25, detail=True)
        for res in r["results"]
        if res["explanation"]
    )
    [table] = [t for t in at.dataframe if "share of attribution (window)" in t.value.columns]
    assert set(table.value["feature"]) == set(explained["features"])

    # Choosing another feature redraws its distribution.
    other = next(f for f in at.selectbox(key="drift_feature").options if f != feature)
    at.selectbox(key="drift_feature").set_value(other).run()
    assert not at.exception
    assert figures(at)[1]["layout"]["title"]["text"].startswith(f"{other}:")


def test_performance_page_draws_realised_and_estimated_then_confusion_and_roc(
    seeded_api, dashboard
):
    at = dashboard(seeded_api, "performance")
    timeline, confusion, roc = figures(at)
    names = [t["name"] for t in timeline["data"]]
    assert any(n.endswith("realised (labelled rows above each point)") for n in names)
    assert any(n.endswith("estimated") for n in names)
    # The numbers above the realised points are the labelled rows the API reports.
    points = seeded_api.client.performance(limit=120)
    labelled = {p["n_labelled"] for p in points if (p["realised"] or {}).get("accuracy")}
    shown = {int(t.replace(",", "")) for tr in timeline["data"] for t in tr.get("text") or []}
    assert shown == labelled
    start, end = at.selectbox(key="perf_window").value
    found = seeded_api.client.classification(start=parse_time(start), end=parse_time(end))
    cells = confusion["data"][0]["z"]
    assert sum(map(sum, cells)) == found["n_labelled"] > 0
    assert cells[1][1] == found["confusion"]["tp"]
    assert roc["data"][1]["x"] == found["roc"]["fpr"]
    assert f"AUC {found['roc_auc']:.3f}" in roc["layout"]["title"]["text"]

    at.radio(key="performance_metric").set_value("roc_auc").run()
    assert figures(at)[0]["layout"]["title"]["text"].startswith("roc_auc")


def test_quality_page_draws_rates_over_time_and_the_latest_window(seeded_api, dashboard):
    at = dashboard(seeded_api, "quality")
    [rates] = figures(at)
    assert rates["layout"]["title"]["text"] == "Missing rate per feature"
    [latest] = at.dataframe
    points = seeded_api.client.quality(start=parse_time(seeded_api.client.monitoring_runs(
        limit=1)[0]["window_start"]))  # fmt: skip
    last = max(p["window_end"] for p in points)
    assert len(latest.value) == sum(p["window_end"] == last for p in points)
    at.radio(key="quality_rate").set_value("unseen_rate").run()
    assert figures(at)[0]["layout"]["title"]["text"] == "Unseen category rate per feature"


def test_models_page_shows_versions_the_running_test_and_history(seeded_api, dashboard):
    at = dashboard(seeded_api, "models")
    versions = seeded_api.client.models()["versions"]
    table = at.dataframe[0].value
    assert sorted(table["version"]) == sorted(v["version"] for v in versions)
    for v in versions:
        row = table[table["version"] == v["version"]].iloc[0]
        assert row["aliases"] == ", ".join(v["aliases"])
        assert row["accuracy"] == pytest.approx(v["metrics"]["accuracy"])
    tests = seeded_api.client.ab_tests()
    running = [t for t in tests if t["status"] == "running"]
    if running:
        assert f"**Test {running[0]['id']}**" in texts(at)
    else:
        assert "No A/B test is running" in texts(at)
    assert len(at.dataframe[1].value) == len(tests)


def test_models_page_opens_a_test_with_its_statistics_and_chart(seeded_api, dashboard):
    tests = seeded_api.client.ab_tests()
    details = [seeded_api.client.ab_test(t["id"]) for t in tests]
    compared = [
        d for d in details if any((s["statistics"] or {}).get("comparison") for s in d["snapshots"])
    ]
    assert compared, "the seeded days should hold an A/B test that compared its arms"
    test = compared[0]
    last = test["snapshots"][-1]
    comparison = last["statistics"]["comparison"]
    at = dashboard(seeded_api, "models")
    at.selectbox(key="ab_test_id").set_value(test["id"]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    metric = comparison["metric"]
    assert metrics[f"Champion {metric}"] == f"{comparison['champion']:.4f}"
    assert metrics[f"Challenger {metric}"] == f"{comparison['challenger']:.4f}"
    assert f"**{last['action']}**" in texts(at)
    [chart] = figures(at)
    assert chart["layout"]["title"]["text"].startswith("Challenger minus champion")
    drawn = [s for s in test["snapshots"] if (s["statistics"] or {}).get("comparison")]
    assert len(chart["data"][1]["x"]) == len(drawn)


def test_alerts_page_filters_and_acknowledges_with_the_admin_key(seeded_api, dashboard):
    client = seeded_api.client
    at = dashboard(seeded_api, "alerts", admin_key="dashboard-admin")
    everything = client.alerts(limit=500)
    assert len(at.dataframe[0].value) == len(everything)
    at.selectbox(key="alerts_severity").set_value("critical").run()
    critical = client.alerts(severity="critical", limit=500)
    if critical:
        assert set(at.dataframe[0].value["severity"]) == {"critical"}
    else:
        assert "No alert matches" in texts(at)
    at.selectbox(key="alerts_severity").set_value(None).run()
    target = next(a for a in everything if a["status"] == "open")
    at.selectbox(key="alert_id").set_value(target["id"])
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert f"Acknowledge alert {target['id']}: done." in texts(at)
    assert client.alert(target["id"])["status"] == "acknowledged"
    # The page was drawn again from the API: the table shows the change at once.
    shown = at.dataframe[0].value
    assert shown[shown["id"] == target["id"]]["status"].iloc[0] == "acknowledged"


def test_retraining_page_lists_runs_and_a_button_starts_one(seeded_api, dashboard, retraining_idle):
    client = seeded_api.client
    retraining_idle()
    before = client.retraining_runs(limit=100)
    at = dashboard(seeded_api, "retraining", admin_key="dashboard-admin")
    assert len(at.dataframe[0].value) == len(before)
    succeeded = next(r for r in before if r["status"] == "succeeded")
    assert any(e.label.startswith(f"Run {succeeded['id']}:") for e in at.expander)
    next(b for b in at.button if b.label == "Retrain now").click().run()
    assert "Retraining requested: done." in texts(at)
    after = client.retraining_runs(limit=100)
    assert len(after) == len(before) + 1
    assert after[0]["trigger"] == "manual"
    assert f"Retraining requested: done. Run {after[0]['id']} is" in texts(at)


def test_actions_without_the_admin_key_ask_for_it_and_change_nothing(seeded_api, dashboard):
    before = seeded_api.client.model_history()
    at = dashboard(seeded_api, "models")
    next(b for b in at.button if b.label == "Roll back").click().run()
    assert "Roll back: enter the admin key in the sidebar first." in texts(at)
    assert seeded_api.client.model_history() == before


def test_an_action_the_api_refuses_says_why_and_changes_nothing(seeded_api, dashboard):
    client = seeded_api.client
    champion = next(v["version"] for v in client.models()["versions"] if "champion" in v["aliases"])
    before = client.model_history()
    at = dashboard(seeded_api, "models", admin_key="dashboard-admin")
    at.selectbox(key="promote_version").set_value(champion)
    next(b for b in at.button if b.label == "Promote to champion").click().run()
    assert f"Promote version {champion}: " in texts(at)
    assert "already" in at.error[0].value
    assert "done." not in texts(at)
    # A refusal is not a refused key: the key stays for the next action.
    assert at.session_state["driftwarden_admin_key"] == "dashboard-admin"
    assert client.model_history() == before


def test_a_wrong_admin_key_is_refused_forgotten_and_never_shown(seeded_api, dashboard):
    # The sidebar form that takes the key is driven in the real browser (test_browser): AppTest
    # drops an st.navigation app's sidebar after its first run.
    at = dashboard(seeded_api, "models", admin_key="not-the-key")
    assert "not-the-key" not in texts(at)
    next(b for b in at.button if b.label == "Roll back").click().run()
    assert "Roll back: the API refused the admin key" in texts(at)
    assert "not-the-key" not in texts(at)
    assert "driftwarden_admin_key" not in at.session_state


@pytest.mark.parametrize("page", ["overview", "drift", "performance", "quality", "models",
                                  "alerts", "retraining"])  # fmt: skip
def test_every_page_of_an_empty_api_says_what_will_appear(empty_api, dashboard, page):
    at = dashboard(empty_api, None if page == "overview" else page)
    assert not at.error
    assert at.info, f"{page}: no empty state"
    assert not at.get("plotly_chart")


def test_a_key_the_api_refuses_is_a_banner_saying_which_key(wrong_key_api, dashboard):
    at = dashboard(wrong_key_api)
    [banner] = at.error
    assert f"The API at {wrong_key_api.url} refused the dashboard's key" in banner.value
    assert "serving.api_key" in banner.value


def test_settings_that_cannot_be_read_are_a_banner(tmp_path, dashboard, seeded_api):
    broken = tmp_path / "driftwarden.toml"
    broken.write_text("[serving]\nport = 'eighty'\n", "utf-8")
    at = dashboard(type(seeded_api)(seeded_api.url, broken, seeded_api.client))
    [banner] = at.error
    assert banner.value.startswith("The dashboard's settings cannot be read:")
    assert "serving.port" in banner.value


@pytest.mark.parametrize("page", ["overview", "drift", "models"])
def test_an_unreachable_api_is_a_banner_not_a_traceback(unreachable_api, dashboard, page):
    at = dashboard(unreachable_api, None if page == "overview" else page)
    [banner] = at.error
    assert f"The driftwarden API at {unreachable_api.url} cannot be reached" in banner.value
