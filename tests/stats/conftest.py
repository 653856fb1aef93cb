"""Fixtures of the statistics tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=range(100), ids=lambda seed: f"seed{seed}")
def global_random_seed(request: pytest.FixtureRequest) -> int:
    """Every seed 0-99: a test taking this fixture must pass for each of them (scikit-learn)."""
    seed: int = request.param
    return seed
