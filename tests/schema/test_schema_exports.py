from __future__ import annotations

import importlib

import pytest

MODULES = [
    "driftwarden.schema",
    "driftwarden.schema.features",
    "driftwarden.schema.infer",
    "driftwarden.schema.request_model",
    "driftwarden.schema.times",
    "driftwarden.schema.widen",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_schema_all_is_sorted_and_importable(module_name: str):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_schema_reexports_every_public_name_of_its_modules():
    package = importlib.import_module("driftwarden.schema")
    for module_name in MODULES[1:]:
        for name in importlib.import_module(module_name).__all__:
            assert name in package.__all__, f"{module_name}.{name} is not re-exported"
