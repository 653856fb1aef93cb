"""What each model version is measured against: its reference profile and holdout metrics.

Registered versions never change, so both are read from the registry once per version and kept.
"""

from __future__ import annotations

import threading

from driftwarden.registry import ModelRegistry, ModelVersionInfo
from driftwarden.stats import ReferenceProfile

__all__ = ["References"]


class References:
    """Reference profiles and holdout metrics of the versions of one registered model."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._profiles: dict[int, ReferenceProfile] = {}
        self._infos: dict[int, ModelVersionInfo] = {}
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

    def champion(self) -> int | None:
        """The version the champion alias points to now (read each time: it moves)."""
        return self.registry.alias_version(self.registry.champion)
