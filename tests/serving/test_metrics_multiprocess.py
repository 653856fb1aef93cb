"""The metrics of several worker processes, added up in the client's multiprocess mode.

prometheus_client picks its multiprocess mode when it is imported, from the environment, so each
process here is a fresh interpreter, as each worker of ``serve --workers`` is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_WORKER = """
import os
from driftwarden.serving.metrics import ServerMetrics
metrics = ServerMetrics()
metrics.in_flight.inc(3)
metrics.predict_requests.labels("1", "champion", "200").inc(4)
metrics.predict_requests.labels("1", "champion", "500").inc(1)
metrics.scoring_calls.labels("champion", "ok").inc(4)
metrics.scoring_calls.labels("champion", "error").inc(1)
metrics.alerts_opened.labels("feature_drift", "critical").inc(int(os.environ["ALERTS"]))
print(os.getpid())
"""

_READER = """
import json
from driftwarden.serving.metrics import ServerMetrics
metrics = ServerMetrics()
metrics.model.info({"champion": "1"})
before = metrics.render().decode()
rates = (metrics.error_rate(), metrics.arm_error_rates())
dead = metrics.forget_dead_processes()
after = metrics.render().decode()
metrics.close()
print(json.dumps({"before": before, "after": after, "rates": rates, "dead": dead}))
"""


def _run(code: str, folder: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in:\n{text}")


def test_every_scrape_adds_up_the_workers_and_forgets_the_dead_ones_live_gauges(tmp_path: Path):
    # Two workers that ended without a clean shut-down (as kill -9 leaves them).
    workers = sorted(int(_run(_WORKER, tmp_path, ALERTS=str(alerts))) for alerts in (2, 7))
    read = json.loads(_run(_READER, tmp_path))
    before, after = read["before"], read["after"]
    total = 'driftwarden_predict_requests_total{status="200",variant="champion",version="1"}'
    assert _value(before, total) == 8.0
    assert _value(before, "driftwarden_requests_in_flight") == 6.0
    opened = 'driftwarden_alerts_opened_total{rule="feature_drift",severity="critical"}'
    assert _value(before, opened) == 9.0
    assert _value(before, 'driftwarden_model_info{champion="1"}') == 1.0
    # The monitor's guardrails see every worker's requests, not the reader's own (none).
    error_rate, arm_rates = read["rates"]
    assert error_rate == 2 / 10
    assert arm_rates == {"champion": 2 / 10, "challenger": None}
    assert sorted(read["dead"]) == workers
    # Counters keep what the dead answered; their requests are no longer in flight.
    assert _value(after, total) == 8.0
    assert _value(after, "driftwarden_requests_in_flight") == 0.0


def test_a_single_process_server_keeps_its_metrics_to_itself(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    from driftwarden.serving.metrics import ServerMetrics

    one, two = ServerMetrics(), ServerMetrics()
    one.in_flight.inc()
    one.model.info({"champion": "3"})
    assert one.multiprocess is None
    assert one.forget_dead_processes() == []
    one.close()
    text = one.render().decode()
    assert "driftwarden_requests_in_flight 1.0" in text
    assert 'driftwarden_model_info{champion="3"} 1.0' in text
    assert "driftwarden_requests_in_flight 0.0" in two.render().decode()


_FIGURES = {
    "run_id": 3, "read_seconds": 0.5, "stats_seconds": 0.25, "duration_seconds": 1.0,
    "results": [{
        "model_version": 2, "n_rows": 40, "share_drifted": 0.5,
        "prediction": {"method": "psi", "statistic": 0.3},
        "features": [{"feature": "tenure", "method": "psi", "statistic": 0.2}],
    }],
    "alerts_open": {"critical": 1},
}  # fmt: skip


def test_the_monitors_figures_are_read_when_scraped_and_kept_while_the_store_fails(
    monkeypatch, caplog
):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    from driftwarden.serving.metrics import ServerMetrics

    metrics = ServerMetrics()
    # Before a store is named: the families, with no figures.
    assert "driftwarden_feature_drift{" not in metrics.render().decode()
    answers: list[object] = [_FIGURES]
    given: list[object] = []

    def read(previous):
        given.append(previous)
        answer = answers[-1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    metrics.monitor_figures.read_from(read)
    text = metrics.render().decode()
    assert (
        _value(text, 'driftwarden_feature_drift{feature="tenure",method="psi",version="2"}') == 0.2
    )
    assert _value(text, 'driftwarden_prediction_drift{method="psi",version="2"}') == 0.3
    assert _value(text, 'driftwarden_drifted_features_share{version="2"}') == 0.5
    assert _value(text, 'driftwarden_monitor_window_rows{version="2"}') == 40.0
    assert _value(text, 'driftwarden_monitor_run_seconds{phase="statistics"}') == 0.25
    assert _value(text, 'driftwarden_alerts_open{severity="critical"}') == 1.0
    assert _value(text, 'driftwarden_alerts_open{severity="warning"}') == 0.0
    # Read again only once max_age has passed, or a pass of this process expired the read.
    answers.append({**_FIGURES, "alerts_open": {"critical": 4}})
    assert _value(metrics.render().decode(), 'driftwarden_alerts_open{severity="critical"}') == 1
    metrics.monitor_figures.expire()
    assert _value(metrics.render().decode(), 'driftwarden_alerts_open{severity="critical"}') == 4
    # Each read is handed the figures of the one before.
    assert given == [None, _FIGURES]
    # A store that fails leaves the last figures, and says so once.
    answers.append(RuntimeError("store down"))
    metrics.monitor_figures.max_age = metrics.monitor_figures.retry_after = 0.0
    for _ in range(3):
        text = metrics.render().decode()
        assert _value(text, 'driftwarden_alerts_open{severity="critical"}') == 4
    warned = [r for r in caplog.records if "monitor's latest figures" in r.getMessage()]
    assert [r.getMessage() for r in warned] == [
        "could not read the monitor's latest figures: store down"
    ]
    # No pass yet: nothing to show.
    answers.append(None)
    assert "driftwarden_feature_drift{" not in metrics.render().decode()
