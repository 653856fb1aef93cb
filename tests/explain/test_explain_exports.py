"""The explain package's public names: sorted, importable, and its modules' public APIs."""

from __future__ import annotations

import importlib

import pytest

import driftwarden.explain as explain

MODULES = [
    "driftwarden.explain",
    "driftwarden.explain._frames",
    "driftwarden.explain._treeshap",
    "driftwarden.explain.adversarial",
    "driftwarden.explain.attributions",
    "driftwarden.explain.drift",
    "driftwarden.explain.version",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_explain_all_is_sorted_and_importable(module_name):
    module = importlib.import_module(module_name)
    names = list(module.__all__)

    constants = [n for n in names if n.isupper()]
    classes = [n for n in names if n[:1].isupper() and not n.isupper()]
    functions = [n for n in names if n[:1].islower()]
    assert names == sorted(constants) + sorted(classes) + sorted(functions)
    for name in names:
        assert getattr(module, name) is not None


def test_explain_reexports_every_public_name_of_its_modules():
    public = set()
    for module_name in MODULES[3:]:
        public |= set(importlib.import_module(module_name).__all__)

    assert public == set(explain.__all__)
