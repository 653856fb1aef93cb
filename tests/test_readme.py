"""The README's settings examples are valid settings."""

import re
import tomllib
from pathlib import Path

import pytest

from driftwarden.core import load_settings

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text("utf-8"), re.S)


def test_readme_has_settings_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.splitlines()[0])
def test_readme_settings_example_loads(block, tmp_path):
    path = tmp_path / "driftwarden.toml"
    path.write_text(block, "utf-8")
    settings = load_settings(path)  # an unknown key or a bad value raises ConfigError
    for section, values in tomllib.loads(block).items():
        assert set(values) <= getattr(settings, section).model_fields_set
