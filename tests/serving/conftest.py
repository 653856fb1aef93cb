"""A registry with a trained champion (and a challenger) in a temporary folder, per module."""

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from driftwarden.core import load_settings
from driftwarden.registry import ModelRegistry
from driftwarden.schema import infer_schema
from driftwarden.serving.app import create_app
from driftwarden.training import ModelParams, train


def churn_frame(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    usage = rng.gamma(2.0, 10.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = rng.random(n) < 1 / (1 + np.exp(-(usage - 20) / 8 - (plan == "basic")))
    return pd.DataFrame(
        {"account": [f"A{i}" for i in range(n)], "usage": usage, "plan": plan, "churned": churn}
    )


@pytest.fixture(scope="module")
def trained():
    frame = churn_frame()
    schema = infer_schema(frame, target="churned", entity_id="account")
    first = train(frame, schema, params=ModelParams(max_iter=30))
    second = train(frame, schema, seed=1, params=ModelParams(max_iter=60, random_state=1))
    return first, second


@pytest.fixture
def make_settings(tmp_path):
    def build(**overrides):
        base = {
            "home": str(tmp_path / "home"),
            "registry": {
                "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
                "artifact_location": str(tmp_path / "artifacts"),
                "model_name": "churn",
            },
            "store": {
                "url": f"sqlite:///{tmp_path}/store.db",
                "spool_dir": str(tmp_path / "spool"),
            },
        }
        for key, value in overrides.items():
            base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
        return load_settings(None, **base)

    return build


@pytest.fixture
def registry_with_models(make_settings, trained):
    settings = make_settings()
    registry = ModelRegistry(settings.registry)
    registry.register(trained[0])
    registry.register(trained[1])
    return registry


@pytest.fixture
def serving_overrides():
    """Serving settings a test module wants on top of the defaults (override it there)."""
    return {}


@pytest.fixture
def client(make_settings, registry_with_models, serving_overrides):
    """An app on a registry with two versions, with an admin key, served in process."""
    settings = make_settings(serving={"admin_api_key": "s3cret", **serving_overrides})
    app = create_app(settings, registry=registry_with_models)
    with TestClient(app) as http:
        yield http, app, settings
