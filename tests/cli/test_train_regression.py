"""``driftwarden train`` and ``models list`` on a regression target, on a real MLflow store."""

import json

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.training import ModelParams, train


def _spend(n=500, seed=2):
    rng = np.random.default_rng(seed)
    minutes = rng.gamma(2.0, 30.0, n)
    plan = rng.choice(["free", "team", "enterprise"], n, p=[0.6, 0.3, 0.1])
    spend = 20.0 + 0.5 * minutes + np.where(plan == "enterprise", 40.0, 0.0)
    return pd.DataFrame(
        {
            "user": [f"u{i}" for i in range(n)],
            "minutes": minutes.round(1),
            "plan": plan,
            "spend": (spend + rng.normal(0.0, 5.0, n)).round(2),
        }
    )


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    _spend().to_csv(tmp_path / "spend.csv", index=False)
    assert main(["init", "--data", "spend.csv", "--target", "spend", "--id", "user"]) == 0
    return tmp_path


def test_cli_train_prints_the_regression_metrics(workdir, capsys):
    capsys.readouterr()
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert "version 1 as champion: holdout RMSE " in out
    assert "on 100 rows (trained on 400)" in out
    rmse = float(out.split("RMSE ")[1].split(",")[0])
    mae = float(out.split("MAE ")[1].split(",")[0])
    r2 = float(out.split("R\N{SUPERSCRIPT TWO} ")[1].split(",")[0])
    mape = float(out.split("MAPE ")[1].split("%")[0]) / 100
    assert 0 < mae <= rmse < 15
    assert r2 > 0.8
    assert 0 < mape < 0.2
    assert "ROC AUC" not in out

    loaded = ModelRegistry(load_settings().registry).load()
    assert loaded.task == "regression"


def test_cli_models_list_shows_the_regression_columns(workdir, capsys):
    assert main(["train"]) == 0
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["version", "aliases", "rmse", "mae", "r2", "mape", "trained", "at"]
    cells = row.split()
    assert cells[:2] == ["1", "champion"]
    assert float(cells[4]) > 0
    assert cells[5].endswith("%")

    assert main(["models", "list", "--json"]) == 0
    [version] = json.loads(capsys.readouterr().out)
    assert version["tags"]["task"] == "regression"
    assert set(version["metrics"]) >= {"rmse", "mae", "r2", "mape"}
    assert "roc_auc" not in version["metrics"]


def test_cli_models_list_shows_both_tasks_columns_side_by_side(workdir, capsys):
    registry = ModelRegistry(load_settings().registry)
    spend = _spend()
    regression = infer_schema(spend, target="spend", entity_id="user")
    registry.register(train(spend, regression, params=ModelParams(max_iter=20)))
    churn = spend.assign(big=np.where(spend["spend"] > 60, "yes", "no")).drop(columns="spend")
    classes = infer_schema(churn, target="big", entity_id="user")
    registry.register(train(churn, classes, params=ModelParams(max_iter=20)))
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    header, second, first = capsys.readouterr().out.splitlines()
    assert header.split()[2:8] == ["roc_auc", "accuracy", "rmse", "mae", "r2", "mape"]
    # The classifier has no RMSE, the regressor no ROC AUC: a dash each.
    assert second.split()[:2] == ["2", "challenger"]
    assert second.split()[4:8] == ["-", "-", "-", "-"]
    assert first.split()[2:4] == ["-", "-"]


def test_cli_train_refuses_a_roc_auc_gate_on_a_regression_target(workdir, capsys):
    config = workdir / "driftwarden.toml"
    config.write_text(config.read_text().replace("[training]\n", "[training]\nmin_roc_auc = 0.7\n"))
    capsys.readouterr()
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert (
        "training.min_roc_auc = 0.7 gates on ROC AUC, which a regression model does not have "
        "(its holdout metrics are rmse, mae, r2, mape)"
    ) in err
    assert "remove training.min_roc_auc" in err
    # Refused before any training.
    assert "fitting" not in err
    assert main(["models", "list"]) == 0
    assert "no versions yet" in capsys.readouterr().out
