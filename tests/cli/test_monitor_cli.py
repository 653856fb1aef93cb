"""`driftwarden monitor --once` and `driftwarden alerts` on a real store and MLflow registry."""

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.store import (
    PredictionRow,
    create_store_engine,
    insert_rows,
    record_labels,
    upgrade,
)


@pytest.fixture
def trained_workdir(tmp_path, monkeypatch):
    """A working directory with a trained champion, as `init` and `train` leave it."""
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    rng = np.random.default_rng(4)
    n = 1500
    minutes = rng.gamma(2.0, 30.0, n)
    frame = pd.DataFrame(
        {
            "user": [f"u{i}" for i in range(n)],
            "minutes": minutes.round(1),
            "plan": rng.choice(["free", "team"], n),
            "left": np.where(rng.random(n) < 1 / (1 + np.exp((minutes - 50) / 20)), "yes", "no"),
        }
    )
    frame.to_csv(tmp_path / "users.csv", index=False)
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user"]) == 0
    assert main(["train"]) == 0
    return tmp_path, frame


def _log(frame, *, end, minutes_shift=0.0):
    """Log the frame's rows, scored by the champion, as predictions of version 1 in the hour
    before ``end``."""
    settings = load_settings()
    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    model = ModelRegistry(settings.registry, home=settings.home).load().model
    features = frame[["minutes", "plan"]].assign(minutes=frame["minutes"] + minutes_shift)
    scores = model.predict_proba(features)[:, 1]
    step = timedelta(hours=1) / len(frame)
    rows = [
        PredictionRow(
            request_id=f"r{end.hour}-{i}",
            created_at=end - timedelta(hours=1) + i * step,
            model_version=1,
            variant="champion",
            features={"minutes": float(m) + minutes_shift, "plan": p},
            score=float(score),
            label=int(score >= 0.5),
            latency_ms=2.0,
        )
        for i, (m, p, score) in enumerate(zip(frame["minutes"], frame["plan"], scores, strict=True))
    ]
    insert_rows(engine, rows)
    engine.dispose()


def test_cli_monitor_once_finds_drift_and_alerts_lists_it(trained_workdir, capsys):
    _, frame = trained_workdir
    end = datetime(2024, 5, 1, 12, tzinfo=UTC)
    _log(frame.iloc[:500], end=end, minutes_shift=80.0)
    capsys.readouterr()
    assert main(["monitor", "--once", "--end", end.isoformat(), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_rows"] == 500
    [version] = summary["results"]
    assert version["drifted_features"] == ["minutes"]
    assert {"rule": "feature_drift", "subject": "minutes"}.items() <= summary["firing"][0].items()

    assert main(["alerts", "list"]) == 0
    listing = capsys.readouterr().out
    assert "CRITICAL" in listing
    assert "feature drift on minutes" in listing
    assert main(["alerts", "list", "--json", "--status", "open"]) == 0
    [alert] = [a for a in json.loads(capsys.readouterr().out) if a["rule"] == "feature_drift"]
    assert main(["alerts", "ack", str(alert["id"])]) == 0
    assert main(["alerts", "mute", str(alert["id"]), "--minutes", "15"]) == 0
    assert main(["alerts", "show", str(alert["id"])]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 2)[-1])
    assert [e["kind"] for e in shown["events"]][-2:] == ["acknowledged", "muted"]


def test_cli_monitor_once_prints_a_readable_summary(trained_workdir, capsys):
    _, frame = trained_workdir
    end = datetime(2024, 5, 1, 12, tzinfo=UTC)
    _log(frame.iloc[:400], end=end)
    engine = create_store_engine(load_settings().store.url)
    churned = (frame["left"].iloc[:400] == "yes").astype(int)
    record_labels(engine, {f"r12-{i}": int(y) for i, y in enumerate(churned)}, received_at=end)
    engine.dispose()
    capsys.readouterr()
    assert main(["monitor", "--once", "--end", end.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "400 predictions" in out
    assert "version 1: 400 rows, drift ok" in out
    realised = re.search(r"400 labelled, realised roc_auc (\S+)\n", out)
    assert realised is not None, out
    assert 0.6 < float(realised.group(1)) < 1.0
    assert "alerts: 0 opened" in out
    assert main(["alerts", "list"]) == 0
    assert capsys.readouterr().out == "no alerts\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["monitor", "--once", "--end", "yesterday"], "--end: expected an ISO 8601 time"),
        (["monitor", "--once", "--end", "2024-05-01T12:00:00"], "with a zone"),
        (["alerts", "ack", "999"], "no alert has id 999"),
        (["monitor", "--end", "2024-05-01T12:00:00Z"], "--end only goes with --once"),
    ],
)
def test_cli_monitor_and_alerts_refuse_bad_input(trained_workdir, capsys, argv, message):
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_monitor_deploy_needs_a_prefect_server_and_an_interval(tmp_path, capsys, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from driftwarden.core import ConfigError
    from driftwarden.retraining.deploy import deploy_monitor

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["monitor", "deploy", "--pool", "p"]) == 1
    assert "set PREFECT_API_URL" in capsys.readouterr().err
    # Refused before the server is asked anything: nothing listens there.
    with (
        temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        pytest.raises(ConfigError, match="interval must be positive, got 0:00:00"),
    ):
        deploy_monitor("p", timedelta(0))


def test_the_monitor_flow_runs_a_pass_or_stands_by_for_the_lease_holder(trained_workdir):
    # The flow's body, in this process (a worker runs the same in a process of its own:
    # tests/monitoring/test_retraining_processes.py).
    from driftwarden.retraining.monitor_flow import monitor_flow
    from driftwarden.store import acquire_lease, lease_holder, release_lease

    folder, frame = trained_workdir
    now = datetime.now(UTC)
    _log(frame.iloc[:300], end=now)
    engine = create_store_engine(load_settings().store.url)
    upgrade(engine)
    lease = "monitor:driftwarden"
    assert acquire_lease(engine, lease, "elsewhere", ttl=timedelta(minutes=5), now=now)
    settings_file = str(folder / "driftwarden.toml")
    assert monitor_flow.fn(settings_file) == {"status": "standby", "holder": "elsewhere"}
    release_lease(engine, lease, "elsewhere", now=datetime.now(UTC))
    found = monitor_flow.fn(settings_file)
    start = datetime.fromisoformat(found["window_start"])
    logged = [now - timedelta(hours=1) + i * timedelta(hours=1) / 300 for i in range(300)]
    assert (found["status"], found["n_rows"]) == ("ok", sum(t >= start for t in logged))
    assert found["n_rows"] >= 250
    assert found["results"][0]["model_version"] == 1
    assert lease_holder(engine, lease, now=datetime.now(UTC)) is None
    engine.dispose()
