from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from driftwarden.data import TELCO_ID, TELCO_TARGET, RowGenerator, load_telco

START = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture(scope="session")
def telco_frame() -> pd.DataFrame:
    """The cleaned Telco frame; tests that change it work on a copy."""
    return load_telco()


@pytest.fixture(scope="session")
def telco_generator(telco_frame: pd.DataFrame) -> RowGenerator:
    return RowGenerator.fit(telco_frame, target=TELCO_TARGET, entity_id=TELCO_ID, seed=0)


@pytest.fixture(scope="session")
def generated(telco_generator: RowGenerator) -> pd.DataFrame:
    """20,000 generated rows (seed 11); treat as read-only."""
    return telco_generator.generate(20_000, seed=11)


@pytest.fixture(scope="session")
def traffic(telco_generator: RowGenerator) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """12,000 generated rows spread evenly over 30 days from START, in time order."""
    frame = telco_generator.generate(12_000, seed=5)
    times = pd.date_range(START, START + pd.Timedelta(days=30), periods=len(frame))
    return frame, times


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
