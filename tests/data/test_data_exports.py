from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "driftwarden.data",
    "driftwarden.data.generator",
    "driftwarden.data.labels",
    "driftwarden.data.scenarios",
    "driftwarden.data.scenarios.base",
    "driftwarden.data.scenarios.features",
    "driftwarden.data.scenarios.label_shifts",
    "driftwarden.data.telco",
]


def isort_key(name: str) -> tuple[int, str]:
    """The order of ruff's RUF022: CONSTANTS, then Classes, then functions, each sorted."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize("module_name", MODULES)
def test_data_all_is_sorted_and_importable(module_name: str):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__, key=isort_key)
    for name in module.__all__:
        assert getattr(module, name) is not None


@pytest.mark.parametrize(
    "module_name",
    [
        "driftwarden.data.generator",
        "driftwarden.data.labels",
        "driftwarden.data.scenarios",
        "driftwarden.data.telco",
    ],
)
def test_data_reexports_every_public_name_of_its_modules(module_name: str):
    package = importlib.import_module("driftwarden.data")
    for name in importlib.import_module(module_name).__all__:
        assert name in package.__all__, f"{module_name}.{name} is not re-exported"


@pytest.mark.parametrize("module_name", MODULES)
def test_data_docstring_examples_run(module_name: str):
    # The data modules are outside the doctest paths of the suite; their examples run here.
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
