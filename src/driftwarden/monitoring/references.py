"""What each model version is measured against: its reference profile and holdout metrics, and
for multivariate and explanation drift its samples, attributions and model.

Registered versions never change, so both are read from the registry once per version and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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
        profile: ReferenceProfile = self._cached(
            self._profiles, version, self.registry.load_profile
        )
        return profile

    def _cached(self, cache: dict[int, Any], version: int, load: Callable[[int], Any]) -> Any:
        """``cache[version]``, loaded once (None included: a version never gains artifacts)."""
        with self._lock:
            if version in cache:
                return cache[version]
        found = load(version)
        with self._lock:
            cache[version] = found
        return found

    def _info(self, version: int) -> ModelVersionInfo:
        info: ModelVersionInfo = self._cached(self._infos, version, self.registry.get_version)
        return info

    def holdout_metrics(self, version: int) -> dict[str, float]:
        """The version's metrics on its holdout (``roc_auc``, ``accuracy``, ... of a
        classifier; ``rmse``, ``mae``, ... of a regression model)."""
        return dict(self._info(version).metrics)

    def task(self, version: int) -> str:
        """The version's learning task (``binary_classification`` or ``regression``)."""
        return self._info(version).task

    def loaded(self, version: int) -> LoadedModel:
        """The version's model and schema (downloaded once)."""
        loaded: LoadedModel = self._cached(self._loaded, version, self.registry.load)
        return loaded

    def reference_sample(self, version: int) -> pd.DataFrame | None:
        """The sample of training rows kept with the version, or None without one."""
        return self._cached(  # type: ignore[no-any-return]
            self._samples, version, lambda v: self.registry.load_sample(v, "reference")
        )

    def attributions(self, version: int) -> dict[str, Any] | None:
        """The version's holdout attribution profile (JSON), or None without one."""
        return self._cached(  # type: ignore[no-any-return]
            self._attributions, version, self.registry.load_attributions
        )

    def champion(self) -> int | None:
        """The version the champion alias points to now (read each time: it moves)."""
        return self.registry.alias_version(self.registry.champion)
