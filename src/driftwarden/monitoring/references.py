"""What each model version is measured against: its reference profile and holdout metrics, and
for multivariate and explanation drift its samples, attributions and model.

Registered versions never change, so both are read from the registry once per version and kept.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd

from driftwarden.registry import LoadedModel, ModelRegistry, ModelVersionInfo
from driftwarden.stats import ReferenceProfile

__all__ = ["References"]


class References:
    """Reference profiles and holdout metrics of the versions of one registered model."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._profiles: dict[int, ReferenceProfile] = {}
        self._infos: dict[int, ModelVersionInfo] = {}
        self._loaded: dict[int, LoadedModel] = {}
        self._samples: dict[int, pd.DataFrame | None] = {}
        self._attributions: dict[int, dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        """The registered model's name."""
        return self.registry.name

    def profile(self, version: int) -> ReferenceProfile:
        """The profile of the version's training data (and holdout scores).

        Raises
        ------
        NotFoundError
            The version does not exist.
        """
        with self._lock:
            found = self._profiles.get(version)
        if found is None:
            found = self.registry.load_profile(version)
            with self._lock:
                self._profiles[version] = found
        return found

    def _info(self, version: int) -> ModelVersionInfo:
        with self._lock:
            found = self._infos.get(version)
        if found is None:
            found = self.registry.get_version(version)
            with self._lock:
                self._infos[version] = found
        return found

    def holdout_metrics(self, version: int) -> dict[str, float]:
        """The version's metrics on its holdout (``roc_auc``, ``accuracy``, ... of a
        classifier; ``rmse``, ``mae``, ... of a regression model)."""
        return dict(self._info(version).metrics)

    def task(self, version: int) -> str:
        """The version's learning task (``binary_classification`` or ``regression``)."""
        return self._info(version).task

    def loaded(self, version: int) -> LoadedModel:
        """The version's model and schema (downloaded once)."""
        with self._lock:
            found = self._loaded.get(version)
        if found is None:
            found = self.registry.load(version)
            with self._lock:
                self._loaded[version] = found
        return found

    def reference_sample(self, version: int) -> pd.DataFrame | None:
        """The sample of training rows kept with the version, or None without one."""
        with self._lock:
            if version in self._samples:
                return self._samples[version]
        found = self.registry.load_sample(version, "reference")
        with self._lock:
            self._samples[version] = found
        return found

    def attributions(self, version: int) -> dict[str, Any] | None:
        """The version's holdout attribution profile (JSON), or None without one."""
        with self._lock:
            if version in self._attributions:
                return self._attributions[version]
        found = self.registry.load_attributions(version)
        with self._lock:
            self._attributions[version] = found
        return found

    def champion(self) -> int | None:
        """The version the champion alias points to now (read each time: it moves)."""
        return self.registry.alias_version(self.registry.champion)
