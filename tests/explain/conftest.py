"""Data and models of the explain tests: each builder draws fresh rows from its own seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.schema import infer_schema
from driftwarden.training import ModelParams, binary_labels, build_pipeline, train

PLANS = ["basic", "plus", "pro"]


def interaction_frame(seed: int, n: int, *, rho: float = 0.0, shift: float = 0.0) -> pd.DataFrame:
    """Churn driven by the product ``x1 · x2``, by ``x3`` and by the plan.

    ``rho`` correlates x1 and x2 (their marginals stay standard normal); ``shift`` moves x3.
    """
    rng = np.random.default_rng(seed)
    x12 = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    x3 = rng.normal(shift, 1.0, n)
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    effect = np.select([plan == "pro", plan == "plus"], [1.0, 0.3], -0.5)
    churn = rng.random(n) < expit(2.0 * x12[:, 0] * x12[:, 1] + x3 + effect)
    return pd.DataFrame(
        {
            "x1": x12[:, 0],
            "x2": x12[:, 1],
            "x3": x3,
            "plan": plan,
            "churn": np.where(churn, "Yes", "No"),
        }
    )


@pytest.fixture(scope="session")
def interaction_data():
    """The builder :func:`interaction_frame`."""
    return interaction_frame


@pytest.fixture(scope="session")
def regression_data():
    """The builder :func:`regression_frame`."""
    return regression_frame


@pytest.fixture(scope="session")
def interaction_model():
    """A model trained by driftwarden.training on independent x1, x2 (its holdout too)."""
    frame = interaction_frame(0, 6000)
    schema = infer_schema(frame, target="churn")
    result = train(frame, schema, params=ModelParams(max_iter=150), seed=0)
    return result, schema


@pytest.fixture(scope="session")
def telco_model():
    """The training layer's pipeline fitted on the bundled Telco data (no holdout evidence)."""
    frame = load_telco()
    schema = infer_schema(frame, target=TELCO_TARGET, entity_id=TELCO_ID)
    data = schema.coerce_frame(frame)
    pipeline = build_pipeline(schema, ModelParams(max_iter=80))
    pipeline.fit(data[schema.feature_names], binary_labels(data[TELCO_TARGET], schema))
    return frame, schema, pipeline


def regression_frame(seed: int, n: int) -> pd.DataFrame:
    """A price driven by size, a region (categorical) and their interaction; noise listed first."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(4.0, 0.4, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    base = np.select([region == "east", region == "west"], [50.0, -20.0], 0.0)
    price = 2.0 * size + base + 0.5 * size * (region == "south") + rng.normal(0, 5, n)
    return pd.DataFrame(
        {"noise": rng.normal(size=n), "size": size, "region": region, "price": price}
    )


@pytest.fixture(scope="session")
def regression_model():
    """The training layer's regression pipeline (a HistGradientBoostingRegressor last)."""
    frame = regression_frame(0, 3000)
    schema = infer_schema(frame, target="price")
    data = schema.coerce_frame(frame)
    pipeline = build_pipeline(schema, ModelParams(max_iter=80))
    pipeline.fit(data[schema.feature_names], data["price"].astype(float))
    return pipeline, schema
