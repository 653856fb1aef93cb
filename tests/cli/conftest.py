"""Fixtures of the CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftwarden.cli import main


@pytest.fixture
def initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory where ``init`` has written ``driftwarden.toml`` for 800 users
    (minutes of use and a plan; whether they left), with no model trained yet."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 800
    minutes = rng.gamma(2.0, 30.0, n)
    frame = pd.DataFrame(
        {
            "user": [f"u{i}" for i in range(n)],
            "minutes": minutes,
            "plan": rng.choice(["free", "team"], n),
            "left": np.where(rng.random(n) < 1 / (1 + np.exp((minutes - 50) / 20)), "yes", "no"),
        }
    )
    frame.to_csv(tmp_path / "users.csv", index=False)
    assert main(["init", "--data", "users.csv", "--target", "left", "--id", "user"]) == 0
    return tmp_path
