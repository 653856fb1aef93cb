"""``driftwarden example houses``: a readable example file, and the commands to run on it."""

import tomllib

import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.data import HOUSE_COLUMNS, HOUSE_TIME, generate_houses, read_table


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_example_houses_writes_a_readable_csv_and_says_what_next(workdir, capsys):
    assert main(["example", "houses", "--rows", "500", "--seed", "7"]) == 0
    frame = read_table(workdir / "houses.csv")
    assert list(frame.columns) == list(HOUSE_COLUMNS)
    assert len(frame) == 500
    expected = generate_houses(500, seed=7)
    pd.testing.assert_series_equal(frame["price"], expected["price"])
    pd.testing.assert_series_equal(frame["house_id"], expected["house_id"], check_dtype=False)
    out = capsys.readouterr().out
    assert out.startswith("wrote houses.csv: 500 houses, 10 columns (house_id, neighbourhood, ")
    assert "target 'price' (sale price, a regression target), entity id 'house_id', seed 7" in out
    assert out.endswith(
        "next:\n"
        "  driftwarden init --data houses.csv --target price --id house_id\n"
        "  driftwarden train\n"
        "  driftwarden serve\n"
    )


def test_example_houses_output_is_what_init_reads(workdir, capsys):
    assert main(["example", "houses", "--rows", "400", "--out", "data/h.csv"]) == 0
    assert "driftwarden init --data data/h.csv --target price --id house_id" in (
        capsys.readouterr().out
    )
    assert main(["init", "--data", "data/h.csv", "--target", "price", "--id", "house_id"]) == 0
    assert "target 'price' (regression)" in capsys.readouterr().out
    schema = tomllib.loads((workdir / "driftwarden.toml").read_text())["schema"]
    assert schema["task"] == "regression"
    assert schema["entity_id"] == "house_id"
    assert set(schema["features"]) == set(HOUSE_COLUMNS) - {"house_id", "price"}
    assert schema["features"]["lot_sqft"]["nullable"] is True
    assert schema["features"]["neighbourhood"]["kind"] == "categorical"


def test_example_houses_with_scenarios_lists_the_drift_and_a_time_column(workdir, capsys):
    argv = ["example", "houses", "--rows", "3000", "--out", "drift.csv"]
    argv += ["--scenario", "market_shift", "--scenario", "new_neighbourhood"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "drift injected, by listed_at:\n  concept: price x1.15 (+15%)" in out
    assert "new_category: neighbourhood = 'Harbour View' in 20% of rows from 2024-08-31" in out
    init = "driftwarden init --data drift.csv --target price --id house_id --time listed_at"
    assert f"  {init}\n" in out
    frame = read_table(workdir / "drift.csv")
    assert list(frame.columns) == ["house_id", HOUSE_TIME, *HOUSE_COLUMNS[1:]]
    listed = pd.to_datetime(frame[HOUSE_TIME])
    harbour = frame["neighbourhood"] == "Harbour View"
    assert listed[harbour].min() >= pd.Timestamp("2024-08-31 08:00")
    assert harbour[listed >= pd.Timestamp("2024-10-01")].mean() == pytest.approx(0.2, abs=0.05)
    argv = ["init", "--data", "drift.csv", "--target", "price", "--id", "house_id"]
    assert main([*argv, "--time", HOUSE_TIME]) == 0


def test_example_refuses_to_overwrite_without_force(workdir, capsys):
    (workdir / "houses.csv").write_text("mine\n")
    assert main(["example", "houses", "--rows", "10"]) == 1
    assert "houses.csv exists; pass --force to overwrite it" in capsys.readouterr().err
    assert (workdir / "houses.csv").read_text() == "mine\n"
    assert main(["example", "houses", "--rows", "10", "--force"]) == 0
    assert len(read_table(workdir / "houses.csv")) == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rows", "0"], "rows must be a positive integer, got 0"),
        (["--seed", "-1"], "seed must be a non-negative integer, got -1"),
        (["--out", "houses.xlsx"], "use a .csv, .csv.gz or .parquet file name"),
        (
            ["--scenario", "market_shift", "--scenario", "market_shift"],
            "scenario 'market_shift' is given twice",
        ),
    ],
)
def test_example_explains_bad_arguments(workdir, capsys, argv, message):
    assert main(["example", "houses", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("driftwarden: error: ")
    assert message in err


@pytest.mark.parametrize(
    "argv", [["example", "flats"], ["example", "houses", "--scenario", "crash"]]
)
def test_example_rejects_unknown_choices_as_usage_errors(workdir, capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_example_help_lists_the_scenarios(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["example", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for name in ("bigger_houses", "market_shift", "new_neighbourhood"):
        assert name in out


def test_the_house_example_trains_and_serves_with_the_readme_commands(workdir, capsys):
    from fastapi.testclient import TestClient

    from driftwarden.core import load_settings
    from driftwarden.serving.app import create_app

    assert main(["example", "houses", "--rows", "1500", "--out", "houses.csv"]) == 0
    assert main(["init", "--data", "houses.csv", "--target", "price", "--id", "house_id"]) == 0
    assert main(["train"]) == 0
    printed = capsys.readouterr().out
    assert "holdout RMSE" in printed
    assert "R²" in printed
    houses = pd.read_csv("houses.csv").head(3)
    rows = houses.drop(columns=["price"]).astype(object).where(houses.notna(), None)
    with TestClient(create_app(load_settings("driftwarden.toml"))) as http:
        answer = http.post("/v1/predict", json={"rows": rows.to_dict("records")})
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert all(p["probability"] is None and p["label"] is None for p in predictions)
        # Predicted prices are in the range of the prices the model learned from.
        prices = pd.read_csv("houses.csv")["price"]
        assert all(prices.min() / 2 < p["prediction"] < prices.max() * 2 for p in predictions)
        labels = [{"request_id": p["request_id"], "label": float(y)}
                  for p, y in zip(predictions, houses["price"], strict=True)]  # fmt: skip
        recorded = http.post("/v1/feedback", json={"labels": labels})
        assert recorded.json()["recorded"] == 3
    capsys.readouterr()
    assert main(["monitor", "--once"]) == 0
    assert "3 labelled, too few for realised performance" in capsys.readouterr().out
