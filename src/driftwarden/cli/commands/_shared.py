"""Pieces several verbs share: progress output and the training data named by the settings."""

from __future__ import annotations

import sys
import time

import pandas as pd

from driftwarden.core import Settings
from driftwarden.core.errors import DataError
from driftwarden.data.files import read_table
from driftwarden.data.telco import TELCO_ID, TELCO_TARGET, load_telco
from driftwarden.schema import FeatureSchema, infer_schema

__all__ = ["Progress", "training_data"]


class Progress:
    """Prints numbered steps with elapsed time to standard error."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self._start
        print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def training_data(settings: Settings, progress: Progress) -> tuple[pd.DataFrame, FeatureSchema]:
    """The frame to train on and its schema: the configured file, or the bundled Telco data."""
    overrides = settings.feature_schema or None
    if settings.training.data is None:
        progress("loading the bundled IBM Telco Customer Churn dataset")
        frame = load_telco()
        target = None if overrides and "target" in overrides else TELCO_TARGET
        entity = None if overrides and "entity_id" in overrides else TELCO_ID
        return frame, infer_schema(frame, target=target, entity_id=entity, overrides=overrides)
    progress(f"reading {settings.training.data}")
    frame = read_table(settings.training.data)
    schema = infer_schema(frame, overrides=overrides)
    if schema.target is None:
        raise DataError(
            "the settings name no target column; run `driftwarden init --data PATH --target "
            "COLUMN` to write driftwarden.toml, or set [schema] target"
        )
    return frame, schema
