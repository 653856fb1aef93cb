"""`driftwarden retrain` and `driftwarden ab-tests` on a real store, registry and Prefect flow."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.core import load_settings
from driftwarden.store import (
    PredictionRow,
    create_store_engine,
    insert_rows,
    record_labels,
    upgrade,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A trained champion and 800 labelled production rows from the last hours."""
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    rng = np.random.default_rng(5)

    def users(n, offset):
        minutes = rng.gamma(2.0, 30.0, n)
        return pd.DataFrame(
            {
                "user": [f"u{offset + i}" for i in range(n)],
                "minutes": minutes.round(1),
                "plan": rng.choice(["free", "team"], n),
                "left": np.where(
                    rng.random(n) < 1 / (1 + np.exp((minutes - 50) / 20)), "yes", "no"
                ),
            }
        )

    users(1500, 0).to_csv(tmp_path / "users.csv", index=False)
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user"]) == 0
    with (tmp_path / "driftwarden.toml").open("a") as toml:
        toml.write("\n[retraining]\nmin_new_rows = 300\n")
    assert main(["train"]) == 0
    settings = load_settings()
    engine = create_store_engine(settings.store.url)
    upgrade(engine)
    # Production sent a plan the training data never had.
    live = users(800, 10_000).assign(plan=lambda f: np.where(np.arange(len(f)) % 10, f.plan, "edu"))
    start = datetime.now(UTC) - timedelta(hours=3)
    insert_rows(
        engine,
        [
            PredictionRow(
                request_id=f"r{i}",
                created_at=start + timedelta(seconds=10 * i),
                model_version=1,
                variant="champion",
                features={"minutes": float(row.minutes), "plan": row.plan},
                score=0.5,
                label=1,
                latency_ms=2.0,
                entity_id=row.user,
            )
            for i, row in enumerate(live.itertuples())
        ],
    )
    record_labels(
        engine,
        {f"r{i}": int(y == "yes") for i, y in enumerate(live["left"])},
        received_at=datetime.now(UTC),
    )
    engine.dispose()
    return tmp_path


def test_retrain_runs_the_flow_and_the_ab_test_commands_manage_its_test(workdir, capsys):
    capsys.readouterr()
    assert main(["retrain", "--reason", "new plan", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "succeeded"
    assert run["reason"] == "new plan"
    changes = run["steps"][2]["result"]["schema_changes"]
    assert changes == [
        {"feature": "plan", "kind": "new_categories", "before": ["free", "team"],
         "after": ["edu"], "n_rows": 80}
    ]  # fmt: skip

    assert main(["retrain", "runs"]) == 0
    listing = capsys.readouterr().out
    assert f"{run['id']:>5}" in listing
    assert "succeeded" in listing
    assert main(["retrain", "show", str(run["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["candidate_version"] == 2

    assert main(["ab-tests", "list"]) == 0
    assert "v2 vs v1 (split)  running" in capsys.readouterr().out
    assert main(["ab-tests", "show", str(run["ab_test_id"])]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "running"
    # A second retraining now would stack a challenger on a running test: skipped, exit 1.
    assert main(["retrain"]) == 1
    assert "is running; a new challenger waits until it ends" in capsys.readouterr().out
    assert main(["ab-tests", "stop", str(run["ab_test_id"]), "--reason", "seen enough"]) == 0
    assert "stopped by cli: seen enough" in capsys.readouterr().out
    assert main(["ab-tests", "start", "2", "--mode", "shadow"]) == 0
    assert "(shadow)" in capsys.readouterr().out
    assert main(["ab-tests", "start", "2"]) == 1
    assert "is running already" in capsys.readouterr().err
    assert main(["models", "list"]) == 0
    assert "challenger" in capsys.readouterr().out


def test_retrain_deploy_needs_a_prefect_server(workdir, capsys, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["retrain", "deploy", "--pool", "p"]) == 1
    assert "set PREFECT_API_URL" in capsys.readouterr().err
