"""Named scenarios for any data, `driftwarden simulate` end to end, and `traffic` against a live
server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main
from driftwarden.core import ConfigError, load_settings
from driftwarden.data import RowGenerator
from driftwarden.simulation import SCENARIOS, build_scenarios
from driftwarden.store import count_predictions, create_store_engine

START = datetime(2024, 1, 1, tzinfo=UTC)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def loans():
    """Data that is not Telco: the scenarios must pick their columns from it."""
    rng = np.random.default_rng(0)
    n = 2000
    income = rng.lognormal(10, 0.5, n)
    debt = rng.beta(2, 5, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    logit = -1 + 4 * debt - 0.2 * (np.log(income) - 10)
    frame = pd.DataFrame(
        {
            "loan": [f"L{i}" for i in range(n)],
            "income": income.round(2),
            "debt_ratio": debt.round(4),
            "region": region,
            "defaulted": np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    )
    generator = RowGenerator.fit(frame, target="defaulted", entity_id="loan", seed=0)
    return frame, generator


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"none"}))
def test_every_scenario_is_built_for_the_data_at_hand(loans, name):
    frame, generator = loans
    scenario = build_scenarios([name], generator, frame, start=START, length=timedelta(days=10))
    [injection] = scenario.injections
    assert injection.start == pd.Timestamp(START + timedelta(days=5))
    expected = {
        "sudden": ("debt_ratio",),
        "gradual": ("debt_ratio",),
        "seasonal": ("debt_ratio",),
        "new_category": ("region",),
        "concept": ("defaulted",),
        "class_balance": ("defaulted",),
    }[name]
    assert injection.columns == expected
    rows = generator.generate(400, seed=1)
    times = np.array([np.datetime64("2024-01-09T00:00")] * len(rows))
    changed = scenario.apply(rows, times, np.random.default_rng(0))
    assert not changed.equals(rows)


def test_scenarios_in_sequence_start_one_after_another(loans):
    frame, generator = loans
    both = build_scenarios(
        ["sudden", "concept"], generator, frame, start=START, length=timedelta(days=9)
    )
    assert [i.start for i in both.injections] == [
        pd.Timestamp(START + timedelta(days=3)),
        pd.Timestamp(START + timedelta(days=6)),
    ]
    assert build_scenarios(["none"], generator, frame, start=START, length=timedelta(1)) is None
    with pytest.raises(ConfigError, match="unknown scenario 'tsunami'"):
        build_scenarios(["tsunami"], generator, frame, start=START, length=timedelta(1))
    with pytest.raises(ConfigError, match="cannot be combined"):
        build_scenarios(["none", "sudden"], generator, frame, start=START, length=timedelta(1))


@pytest.mark.slow
def test_simulate_writes_a_report_of_a_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "sim" / "report"
    status = main(["simulate", "--scenario", "new_category", "--days", "2", "--rate", "1200",
                   "--label-delay", "6h", "--out", str(out)])  # fmt: skip
    assert status == 0
    printed = capsys.readouterr()
    assert f"report: {out / 'index.html'}" in printed.out
    summary = json.loads((out / "summary.json").read_text())
    [injection] = summary["injections"]
    assert injection["kind"] == "new_category"
    assert injection["columns"] == ["PaymentMethod"]
    assert injection["detected_at"] is not None
    for name in ("index.html", "drift.png", "performance.png", "timeline.png", "result.json"):
        assert (out / name).stat().st_size > 1000
    assert (tmp_path / "sim" / "state" / "driftwarden.db").exists()
    # The real state is untouched.
    assert not (tmp_path / ".driftwarden" / "driftwarden.db").exists()
    assert main(["simulate", "--days", "1", "--out", str(out)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err


def test_simulate_and_traffic_say_they_do_not_generate_regression_targets(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert main(["example", "houses", "--rows", "300", "--out", "houses.csv"]) == 0
    assert main(["init", "--data", "houses.csv", "--target", "price", "--id", "house_id"]) == 0
    capsys.readouterr()
    for command in (["simulate", "--days", "1"], ["traffic", "--count", "1"]):
        assert main(command) == 1
        error = capsys.readouterr().err
        assert "'price' is a regression target" in error
        assert "generate labels for binary targets only" in error
    assert not (tmp_path / ".driftwarden" / "simulations").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_traffic_paces_predictions_and_pays_every_label(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("DRIFTWARDEN_HOME", "DRIFTWARDEN_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    assert main(["train"]) == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env["DRIFTWARDEN_SERVING__RUN_MONITOR"] = "false"
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [str(BIN / "driftwarden"), "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.3)
        capsys.readouterr()
        status = main(["traffic", "--url", f"http://127.0.0.1:{port}", "--rate", "40",
                       "--count", "80", "--batch", "2", "--label-delay", "1s",
                       "--scenario", "sudden", "--drift-after", "1s"])  # fmt: skip
        assert status == 0
        line = capsys.readouterr().out
        assert "80 predictions at" in line
        assert "0 errors" in line
        assert "80 labels sent" in line
    finally:
        server.terminate()
        server.wait(60)
    engine = create_store_engine(load_settings().store.url)
    assert count_predictions(engine) == 80
    engine.dispose()
