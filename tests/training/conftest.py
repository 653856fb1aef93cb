"""Data the training tests share."""

import numpy as np
import pandas as pd
import pytest


def _spend_frame(n=600, seed=11):
    """Monthly spend of customers: a categorical plan, usage with missing values, a time."""
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 10.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    spend = 5.0 + 0.8 * usage + np.select([plan == "plus", plan == "pro"], [10.0, 30.0], 0.0)
    spend = spend + rng.normal(0.0, 3.0, n)
    usage[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer": [f"C{i:04d}" for i in range(n)],
            "month": pd.date_range("2024-01-01", periods=n, freq="D"),
            "usage": usage,
            "plan": plan,
            "spend": spend.round(2),
        }
    )


@pytest.fixture(scope="session")
def spend_frame():
    """``spend_frame(n=600, seed=11)``: a regression dataset (target ``spend``) with a
    categorical feature, missing values, an entity id (``customer``) and a time (``month``)."""
    return _spend_frame
