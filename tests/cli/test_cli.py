"""The command line end to end: init, train, models, on real files and a real MLflow store."""

import json
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main


def _write_dataset(path, n=1200, seed=5):
    rng = np.random.default_rng(seed)
    minutes = rng.gamma(2.0, 30.0, n)
    plan = rng.choice(["free", "team", "enterprise"], n, p=[0.6, 0.3, 0.1])
    left = rng.random(n) < 1 / (1 + np.exp((minutes - 50) / 20 + (plan != "free")))
    frame = pd.DataFrame(
        {
            "user": [f"u{i}" for i in range(n)],
            "minutes": minutes.round(1),
            "plan": plan,
            "left": np.where(left, "yes", "no"),
        }
    )
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return frame


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_cli_init_writes_schema_and_data_path(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user"]) == 0
    document = tomllib.loads((workdir / "driftwarden.toml").read_text())
    assert document["training"]["data"] == "users.csv"
    assert document["schema"]["target"] == "left"
    assert document["schema"]["entity_id"] == "user"
    assert document["schema"]["features"]["plan"]["kind"] == "categorical"
    assert document["schema"]["features"]["minutes"]["kind"] == "numeric"
    assert "2 features (1 numeric, 1 categorical)" in capsys.readouterr().out


def test_cli_init_refuses_to_overwrite_without_force(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    (workdir / "driftwarden.toml").write_text("# mine\n")
    assert main(["init", "--data", "users.csv", "--target", "left"]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main(["init", "--data", "users.csv", "--target", "left", "--force"]) == 0
    assert "[schema]" in (workdir / "driftwarden.toml").read_text()


def test_cli_init_without_data_describes_the_bundled_dataset(workdir, capsys):
    assert main(["init"]) == 0
    document = tomllib.loads((workdir / "driftwarden.toml").read_text())
    assert document["schema"]["target"] == "Churn"
    assert "training" not in document
    assert "7,043 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["init", "--data", "users.csv"], "--data needs --target"),
        (["init", "--target", "left"], "--target needs --data"),
        (["init", "--data", "nope.csv", "--target", "left"], "does not exist"),
        (["init", "--data", "users.csv", "--target", "missing"], "missing"),
    ],
)
def test_cli_init_bad_input_is_a_clear_error(workdir, capsys, argv, message):
    _write_dataset(workdir / "users.csv")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error:")
    assert message in err


def test_cli_train_and_models_lifecycle(workdir, capsys):
    _write_dataset(workdir / "users.parquet")
    assert main(["init", "--data", "users.parquet", "--target", "left", "--id", "user"]) == 0
    capsys.readouterr()
    assert main(["train"]) == 0
    captured = capsys.readouterr()
    assert "version 1 as champion" in captured.out
    assert "fitting on 960 rows" in captured.err
    assert main(["train", "--seed", "3"]) == 0
    assert "version 2 as challenger" in capsys.readouterr().out

    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].split()[:2] == ["2", "challenger"]
    assert listing[2].split()[:2] == ["1", "champion"]

    assert main(["models", "promote", "2", "--reason", "better recall"]) == 0
    assert "version 2 is now the champion (was 1)" in capsys.readouterr().out
    assert main(["models", "rollback"]) == 0
    assert "version 1 is the champion again (was 2)" in capsys.readouterr().out

    assert main(["models", "history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["to_version"]) for e in history] == [
        ("promote", 1),
        ("promote", 2),
        ("rollback", 1),
    ]
    assert history[1]["reason"] == "better recall"
    assert main(["models", "history"]) == 0
    assert "rollback champion: 2 -> 1" in capsys.readouterr().out

    assert main(["models", "list", "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert {v["version"] for v in versions} == {1, 2}
    assert all(0.5 < v["metrics"]["roc_auc"] <= 1 for v in versions)
    assert (workdir / ".driftwarden" / "mlflow.db").exists()


def test_cli_models_errors_name_the_problem(workdir, capsys):
    assert main(["models", "list"]) == 0
    assert "no versions yet" in capsys.readouterr().out
    assert main(["models", "promote", "4"]) == 1
    assert "no version 4" in capsys.readouterr().err
    assert main(["models", "rollback"]) == 1
    assert "no earlier champion" in capsys.readouterr().err


def test_cli_train_gate_registers_nothing_below_min_auc(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    main(["init", "--data", "users.csv", "--target", "left"])
    with (workdir / "driftwarden.toml").open("a") as config:
        config.write("\n[training.gate]\n")  # an unknown key is rejected first
    assert main(["train"]) == 1
    assert "gate" in capsys.readouterr().err
    main(["init", "--data", "users.csv", "--target", "left", "--force"])
    text = (workdir / "driftwarden.toml").read_text()
    (workdir / "driftwarden.toml").write_text(
        text.replace("[training]\n", "[training]\nmin_roc_auc = 0.999\n")
    )
    assert main(["train"]) == 1
    assert "nothing was registered" in capsys.readouterr().err
    assert main(["models", "list"]) == 0
    assert "no versions yet" in capsys.readouterr().out


def test_cli_train_without_target_says_to_run_init(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    assert main(["train", "--data", "users.csv"]) == 1
    assert "driftwarden init" in capsys.readouterr().err


def test_cli_version_and_module_entry_point(workdir):
    done = subprocess.run(
        [sys.executable, "-m", "driftwarden", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stdout.startswith("driftwarden ")
    done = subprocess.run([sys.executable, "-m", "driftwarden"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "COMMAND" in done.stderr


def test_cli_train_defaults_to_the_bundled_telco_data(workdir, capsys):
    assert main(["train"]) == 0
    captured = capsys.readouterr()
    assert "loading the bundled IBM Telco Customer Churn dataset" in captured.err
    assert "version 1 as champion" in captured.out
    auc = float(captured.out.split("holdout ROC AUC ")[1].split(",")[0])
    assert auc >= 0.83
