from __future__ import annotations

import importlib
import re

import pytest

MODULES = [
    "driftwarden.monitoring",
    "driftwarden.monitoring.alerts",
    "driftwarden.monitoring.monitor",
    "driftwarden.monitoring.references",
    "driftwarden.monitoring.rules",
    "driftwarden.monitoring.run",
    "driftwarden.monitoring.window",
]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in (RUF022): CONSTANTS, then Classes, then functions."""
    if re.fullmatch(r"[A-Z0-9_]+", name) and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("module_name", MODULES)
def test_monitoring_all_is_sorted_and_importable(module_name: str):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__, key=_isort_key)
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_monitoring_reexports_every_public_name_of_its_modules():
    package = importlib.import_module("driftwarden.monitoring")
    for module_name in MODULES[1:]:
        for name in importlib.import_module(module_name).__all__:
            assert name in package.__all__, f"{module_name}.{name} is not re-exported"
