"""The command line end to end: init, train, models, on real files and a real MLflow store."""

import json
import re
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry


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
    printed = capsys.readouterr().out
    assert "2 features (1 numeric, 1 categorical)" in printed
    assert f"(binary classification, positive class {document['schema']['positive_label']!r})" in (
        printed
    )


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


def _with_signup(frame):
    return frame.assign(
        signup=pd.date_range("2025-01-01", periods=len(frame), freq="h").strftime("%Y-%m-%d %H:%M")
    )


def test_cli_init_refuses_a_time_column_that_is_not_times(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    argv = ["init", "--data", "users.csv", "--target", "left", "--time", "plan"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error: time column 'plan' holds values that are not times")
    assert re.search(r"such as '(free|team|enterprise)'", err)
    assert "driftwarden init --time" in err
    assert not (workdir / "driftwarden.toml").exists()


def test_cli_init_accepts_a_time_column(workdir, capsys):
    _with_signup(_write_dataset(workdir / "users.csv")).to_csv(workdir / "users.csv", index=False)
    assert main(["init", "--data", "users.csv", "--target", "left", "--time", "signup"]) == 0
    document = tomllib.loads((workdir / "driftwarden.toml").read_text())
    assert document["schema"]["time_column"] == "signup"
    assert "signup" not in document["schema"]["features"]


def test_cli_train_time_holdout_with_a_bad_timestamp_is_a_clear_error(workdir, capsys):
    frame = _with_signup(_write_dataset(workdir / "users.csv"))
    frame.to_csv(workdir / "users.csv", index=False)
    main(["init", "--data", "users.csv", "--target", "left", "--id", "user", "--time", "signup"])
    text = (workdir / "driftwarden.toml").read_text()
    (workdir / "driftwarden.toml").write_text(
        text.replace("[training]\n", '[training]\nholdout = "time"\n')
    )
    frame.loc[5, "signup"] = "2025-13-45 99:99"
    frame.to_csv(workdir / "users.csv", index=False)
    capsys.readouterr()
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert "time column 'signup' holds values that are not times, such as '2025-13-45 99:99'" in err
    assert "Traceback" not in err


def _init_users(workdir, capsys):
    frame = _write_dataset(workdir / "users.csv")
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user"]) == 0
    capsys.readouterr()
    return frame


def test_cli_train_ignores_and_names_columns_the_schema_does_not_list(workdir, capsys):
    frame = _init_users(workdir, capsys)
    frame.assign(referrer="ads", churn_score=0.5).to_csv(workdir / "users.csv", index=False)
    assert main(["train"]) == 0
    err = capsys.readouterr().err
    assert "ignoring 2 columns that the schema does not list: 'referrer', 'churn_score'" in err
    loaded = ModelRegistry(load_settings().registry).load()
    assert loaded.schema.feature_names == ["minutes", "plan"]


def test_cli_train_refuses_data_outside_the_declared_categories(workdir, capsys):
    frame = _init_users(workdir, capsys)
    frame.loc[frame.index[:7], "plan"] = "startup"
    frame.to_csv(workdir / "users.csv", index=False)
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert "plan: values not in its categories: 'startup' (7 rows)" in err
    assert "re-run `driftwarden init --force`" in err
    assert main(["models", "list"]) == 0
    assert "no versions yet" in capsys.readouterr().out
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user", "--force"]) == 0
    assert main(["train"]) == 0


def test_cli_train_refuses_missing_values_and_out_of_range_values_it_was_told_not_to_expect(
    workdir, capsys
):
    frame = _init_users(workdir, capsys)
    top = frame["minutes"].max()
    frame.loc[frame.index[:3], "minutes"] = np.nan
    frame.loc[frame.index[3], "minutes"] = top + 100
    frame.to_csv(workdir / "users.csv", index=False)
    assert main(["train"]) == 1
    err = capsys.readouterr().err
    assert "minutes: 3 missing values, but nullable = false" in err
    assert f"minutes: 1 value above max = {top:.10g} (highest {top + 100:.10g})" in err
    assert "edit them in driftwarden.toml" in err


def test_cli_train_on_a_hand_written_partial_schema_infers_the_other_columns(workdir, capsys):
    _write_dataset(workdir / "users.csv")
    (workdir / "driftwarden.toml").write_text(
        '[training]\ndata = "users.csv"\n\n[schema]\ntarget = "left"\nentity_id = "user"\n'
        "[schema.features.minutes]\nnullable = true\n"
    )
    assert main(["train"]) == 0
    assert "ignoring" not in capsys.readouterr().err
